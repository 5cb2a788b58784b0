//! `engine bench` runs every combination of producer settings and writes the results matrix (CSV,
//! JSON) and an HTML report whose charts show every configuration.

use crate::common::*;

#[test]
fn bench_writes_matrix_and_report_for_every_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let y = read(&repo().join("scenarios/chat.yaml"))
        .replace("{crate: ../plugins/chat}", &format!("{{wasm: {}}}", plugin("chat_plugin")));
    let p = scenario(dir.path(), &y);
    let out = dir.path().join("bench");
    let o = engine(&[
        "bench",
        p.to_str().unwrap(),
        "--timesteps",
        "50",
        "--vary",
        "linger.ms=0,5",
        "--vary",
        "compression.type=none,lz4,bogus",
        "--out",
        out.to_str().unwrap(),
    ]);
    // The bogus compression cells fail (exit 1) but do not stop the others.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let csv = read(&out.join("bench.csv"));
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 6, "{csv}");
    for r in &rows {
        let acked: u64 = r[4].parse().unwrap_or(0);
        if r[1] == "bogus" {
            assert!(r.last().unwrap().contains("compression.type"), "the error names the setting: {r:?}");
        } else {
            assert_eq!(acked, 200, "50 timesteps x 4 messages: {r:?}");
            assert!(r[6].parse::<f64>().unwrap() > 0.0, "msgs/s: {r:?}");
        }
    }
    let json: serde_json::Value = serde_json::from_str(&read(&out.join("bench.json"))).unwrap();
    assert_eq!(json["cells"].as_array().unwrap().len(), 6);
    let html = read(&out.join("report.html"));
    assert_eq!(html.matches("<svg").count(), 2, "a throughput and a latency chart");
    for label in ["linger.ms=0 compression.type=none", "linger.ms=5 compression.type=lz4"] {
        // Each configuration appears in both charts and in the table.
        assert!(html.matches(label).count() >= 3, "{label} in the report");
    }
}
