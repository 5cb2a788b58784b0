//! The hand-written chat model (benches/native_chat.rs), the floor of benches/dataplane.sh,
//! computes exactly what the engine computes from scenarios/chat.yaml.

use std::path::Path;

#[test]
fn the_native_chat_loop_gives_the_engines_records() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
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

    let mut args = distroduce::RunArgs::new(root.join("scenarios/chat.yaml"));
    args.runs = Some(3);
    args.timesteps = Some(25);
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
