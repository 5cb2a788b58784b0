//! The hand-written radCAD model (benches/native_radcad.rs), the floor of benches/radcad_ratio.sh,
//! computes exactly what the engine computes from scenarios/bench/radcad.yaml: a speed floor for a
//! different model would be no floor.

use std::path::Path;

#[test]
fn the_native_loop_gives_the_engines_records() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let native = dir.path().join("native.jsonl");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_native-radcad"))
        .args(["2", "200", "--jsonl", native.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["substeps"], 2 * 2 * 200 * 2);

    let mut args = distroduce::RunArgs::new(root.join("scenarios/bench/radcad.yaml"));
    args.runs = Some(2);
    args.timesteps = Some(200);
    args.kafka = distroduce::KafkaTarget::None;
    args.out = Some(dir.path().join("engine"));
    distroduce::run(&args, None).unwrap();

    let parse = |p: &Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(p).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let (n, e) = (parse(&native), parse(&dir.path().join("engine/records.jsonl")));
    assert_eq!(n.len(), e.len());
    for (i, (a, b)) in n.iter().zip(&e).enumerate() {
        assert_eq!(a, b, "record {i}");
    }
}
