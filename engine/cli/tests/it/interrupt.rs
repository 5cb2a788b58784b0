//! Ctrl-C (SIGINT) or SIGTERM in the middle of a run stops it cleanly: exit 130 or 143, every
//! record line complete, the summary and metrics written and marked interrupted.

use crate::common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn interrupt(signal: &str, code: i32) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let chat = format!("chat={}", plugin("chat_plugin"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_engine"))
        .args(["run", repo().join("scenarios/chat.yaml").to_str().unwrap(), "--plugin", &chat])
        .args(["--kafka", "none", "--runs", "6", "--timesteps", "100000000", "--threads", "2"])
        .args(["--format", "jsonl,csv", "--write-messages", "--out", out.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let the jobs get going (plugin compilation is cached after the first test run).
    std::thread::sleep(Duration::from_secs(3));
    let sent = Instant::now();
    assert!(Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap().success());
    let status = wait_or_kill_group(&mut child, Duration::from_secs(60)).expect("the engine stops within 60 s");
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(status.code(), Some(code), "{err}");
    assert!(sent.elapsed() < Duration::from_secs(30), "took {:?} to stop", sent.elapsed());
    assert!(err.contains("interrupted"), "{err}");
    let summary: serde_json::Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    assert_eq!(summary["interrupted"], true, "{summary}");
    assert_eq!(summary["jobs"], 6);
    assert!(summary["jobs_interrupted"].as_u64().unwrap() >= 1, "{summary}");
    assert!(out.join("metrics.json").is_file());
    // Every record line is whole, and the records stop at a timestep boundary of each job.
    let records = read(&out.join("records.jsonl"));
    assert!(records.ends_with('\n') && records.lines().count() > 1);
    for line in records.lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(r["timestep"].is_u64());
    }
    assert_eq!(summary["records"].as_u64().unwrap() as usize, records.lines().count());
    let csv = read(&out.join("records.csv"));
    assert_eq!(csv.lines().count(), records.lines().count() + 1, "a header and the same rows");
    for line in read(&out.join("messages.jsonl")).lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
}

#[test]
fn ctrl_c_mid_run_writes_whole_records_and_an_interrupted_summary() {
    interrupt("-INT", 130);
}

#[test]
fn sigterm_mid_run_does_the_same_with_exit_143() {
    interrupt("-TERM", 143);
}
