//! The hand-written radCAD model (benches/native_radcad.rs), the floor of benches/radcad_ratio.sh,
//! computes exactly what the engine computes from scenarios/bench/radcad.yaml: a speed floor for a
//! different model would be no floor.

#[test]
fn the_native_loop_gives_the_engines_records() {
    let dir = tempfile::tempdir().unwrap();
    let native = dir.path().join("native.jsonl");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_native-radcad"))
        .args(["2", "200", "--jsonl", native.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["substeps"], 2 * 2 * 200 * 2);

    let e = distroduce_benches::engine_records("scenarios/bench/radcad.yaml", 2, 200, &dir.path().join("engine"));
    let n = distroduce_benches::read_jsonl(&native);
    assert_eq!(n.len(), e.len());
    for (i, (a, b)) in n.iter().zip(&e).enumerate() {
        assert_eq!(a, b, "record {i}");
    }
}
