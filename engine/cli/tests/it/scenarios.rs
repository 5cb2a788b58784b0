//! Every scenario shipped in scenarios/ validates, and the demo models run: the IoT fleet both at
//! full speed and paced in real time, with telemetry and alerts fanned out to their two topics.

use crate::common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

#[test]
fn every_shipped_scenario_validates() {
    let mut files: Vec<_> = std::fs::read_dir(repo().join("scenarios")).unwrap().map(|e| e.unwrap().path()).collect();
    for sub in ["scenarios/conformance", "scenarios/bench"] {
        files.extend(std::fs::read_dir(repo().join(sub)).unwrap().map(|e| e.unwrap().path()));
    }
    let yamls: Vec<_> = files.into_iter().filter(|p| p.extension().is_some_and(|e| e == "yaml")).collect();
    assert!(yamls.len() >= 8, "{yamls:?}");
    for p in yamls {
        let o = engine(&["validate", p.to_str().unwrap()]);
        assert!(o.status.success(), "{}: {}", p.display(), stderr(&o));
    }
}

/// A `crate:` plugin whose sources have not changed since the engine last built it is used as
/// built, without running cargo (whose no-op check took most of a short run): with `CARGO`
/// naming no program, the second validation still succeeds.
#[test]
fn an_unchanged_plugin_crate_is_not_handed_to_cargo_again() {
    let chat = repo().join("scenarios/chat.yaml");
    let o = engine(&["validate", chat.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_engine"))
        .args(["validate", chat.to_str().unwrap()])
        .env("CARGO", "/nonexistent/cargo")
        .output()
        .unwrap();
    assert!(o.status.success(), "cargo was run for an up-to-date plugin: {}", stderr(&o));
}

fn iot(dir: &std::path::Path, clock: &str, timesteps: &str) -> (Value, Duration) {
    let y = read(&repo().join("scenarios/iot.yaml"))
        .replace("devices: 10000", "devices: 500")
        .replace("  step: 1s\n", clock)
        .replace("{crate: ../plugins/iot}", &format!("{{wasm: {}}}", plugin("iot_plugin")));
    let p = scenario(dir, &y);
    let out = dir.join("out");
    let started = Instant::now();
    let o = engine(&[
        "run",
        p.to_str().unwrap(),
        "--timesteps",
        timesteps,
        "--format",
        "none",
        "--write-messages",
        "--out",
        out.to_str().unwrap(),
    ]);
    let took = started.elapsed();
    assert!(o.status.success(), "{}", stderr(&o));
    let mut summary: Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    let topics: std::collections::BTreeSet<String> = read(&out.join("messages.jsonl"))
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["topic"].as_str().unwrap().to_string())
        .collect();
    summary["topics_seen"] = serde_json::json!(topics);
    (summary, took)
}

#[test]
fn iot_fleet_runs_at_full_speed_and_paced_in_real_time() {
    let dir = tempfile::tempdir().unwrap();
    let (fast, _) = iot(dir.path(), "  step: 1s\n", "30");
    let sent = fast["messages_emitted"].as_u64().unwrap();
    // 500 devices reporting every 5-15 s for 30 s, plus alerts.
    assert!(sent > 500, "{fast}");
    assert_eq!(fast["delivery"]["acked"].as_u64().unwrap(), sent);
    assert_eq!(fast["topics_seen"], serde_json::json!(["alerts", "telemetry"]), "alerts fan out to their own topic");

    let paced_dir = tempfile::tempdir().unwrap();
    let (paced, took) = iot(paced_dir.path(), "  step: 250ms\n  realtime: true\n", "8");
    assert!(took >= Duration::from_secs(2), "8 timesteps of 250 ms in real time took {took:?}");
    assert!(paced["messages_emitted"].as_u64().unwrap() > 0);
}
