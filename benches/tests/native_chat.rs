//! The hand-written chat model (benches/native_chat.rs), the floor of benches/dataplane.sh,
//! computes exactly what the engine computes from scenarios/chat.yaml.

#[test]
fn the_native_chat_loop_gives_the_engines_records() {
    let dir = tempfile::tempdir().unwrap();
    let native = dir.path().join("native.jsonl");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_native-chat"))
        .args(["3", "25", "--jsonl", native.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["substeps"], 3 * 25 * 4);
    assert_eq!(report["messages"], 3 * 25 * 4, "two sends in each of two blocks per timestep");

    let e = distroduce_benches::engine_records("scenarios/chat.yaml", 3, 25, &dir.path().join("engine"));
    let n = distroduce_benches::read_jsonl(&native);
    assert_eq!(n.len(), e.len());
    for (i, (a, b)) in n.iter().zip(&e).enumerate() {
        assert_eq!(a, b, "record {i}");
    }
}

#[test]
fn a_bad_command_line_is_exit_2_with_the_usage_and_an_unwritable_file_exit_1() {
    let run =
        |args: &[&str]| std::process::Command::new(env!("CARGO_BIN_EXE_native-chat")).args(args).output().unwrap();
    for bad in [
        &["1"][..],
        &["x", "2"],
        &["1", "2", "--csv", "f"],
        &["1", "2", "--jsonl"],
        &["1", "2", "--jsonl", "f", "extra"],
    ] {
        let o = run(bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("usage: native-chat RUNS TIMESTEPS"), "{bad:?}");
    }
    let o = run(&["1", "2", "--jsonl", "/nonexistent-dir/records.jsonl"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot create /nonexistent-dir/records.jsonl"));
}
