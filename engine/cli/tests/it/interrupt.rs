//! Ctrl-C (SIGINT) or SIGTERM in the middle of a run stops it cleanly: exit 130 or 143, every
//! record line complete, records.parquet finished with its footer, the summary and metrics written
//! and marked interrupted.

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
        .args(["--format", "jsonl,csv,parquet", "--write-messages", "--out", out.to_str().unwrap()])
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
    assert_eq!(summary["completed"], false, "{summary}");
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
    // The Parquet file was finished: a footer that counts the same rows, and no spill left.
    use ::parquet::file::reader::{FileReader, SerializedFileReader};
    let parquet = SerializedFileReader::new(std::fs::File::open(out.join("records.parquet")).unwrap()).unwrap();
    assert_eq!(parquet.metadata().file_metadata().num_rows() as usize, records.lines().count());
    assert!(!out.join("records.parquet.spill").exists());
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

/// SIGKILL gives the engine no chance to clean up. The record files are written a line boundary
/// at a time, so they hold whole lines, except that Linux stops a `write` in progress at a page
/// boundary when the process is killed: the last line may be cut short (seen in CI), never one
/// before it. `summary.json` says the run did not complete.
/// Parquet is written at the end of a run: a killed run leaves its spill and no `records.parquet`
/// (rather than a footerless file no reader opens).
#[test]
fn a_killed_run_leaves_whole_lines_and_a_summary_saying_it_did_not_complete() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let chat = format!("chat={}", plugin("chat_plugin"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_engine"))
        .args(["run", repo().join("scenarios/chat.yaml").to_str().unwrap(), "--plugin", &chat])
        .args(["--kafka", "none", "--runs", "400", "--timesteps", "2000", "--threads", "2"])
        .args(["--format", "jsonl,csv,parquet", "--out", out.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until some jobs' records are on disk, then kill.
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(out.join("records.jsonl")).map_or(0, |m| m.len()) < (2 << 20) {
        assert!(Instant::now() < deadline, "no records written within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let summary: serde_json::Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    assert_eq!(summary["completed"], false, "{summary}");
    let records = read(&out.join("records.jsonl"));
    let lines = whole_lines(&records);
    assert!(lines.len() > 1000, "the 2 MiB seen before the kill are there");
    for line in &lines {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    // The CSV lags behind (its lines are shorter); it may not have reached the disk yet.
    let csv = read(&out.join("records.csv"));
    let rows = whole_lines(&csv);
    if let Some(header) = rows.first() {
        let columns = header.split(',').count();
        assert!(rows.iter().all(|l| l.split(',').count() >= columns), "no row before the last is cut short");
    }
    assert!(!out.join("records.parquet").exists() && !out.join("records.parquet.tmp").exists());
    assert!(out.join("records.parquet.spill").is_file());
}

/// Chat (`--runs 1 --timesteps 3`) with `edit` applied to its scenario, interrupted with Ctrl-C
/// 3 s after the start, when a test's wait has begun. Asserts that the engine stopped within 30 s
/// of the signal with exit 130 and an interrupted summary; returns the output directory's
/// `summary.json` and records.
fn ctrl_c_during_a_wait(edit: impl Fn(String) -> String, kafka: &[&str]) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let y = read(&repo().join("scenarios/chat.yaml"))
        .replace("{crate: ../plugins/chat}", &format!("{{wasm: {}}}", plugin("chat_plugin")));
    let p = scenario(dir.path(), &edit(y));
    let out = dir.path().join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_engine"))
        .args(["run", p.to_str().unwrap(), "--runs", "1", "--timesteps", "3"])
        .args(kafka)
        .args(["--out", out.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let sent = Instant::now();
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let status = wait_or_kill_group(&mut child, Duration::from_secs(60)).expect("the engine stops within 60 s");
    let err = String::from_utf8_lossy(&child.wait_with_output().unwrap().stderr).into_owned();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(sent.elapsed() < Duration::from_secs(30), "took {:?} to stop", sent.elapsed());
    let summary: serde_json::Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    assert_eq!(summary["interrupted"], true, "{summary}");
    (summary, read(&out.join("records.jsonl")))
}

/// `clock.realtime` with a long step: between timesteps the job waits for the wall clock. Ctrl-C
/// ends that wait at once (it used to sleep the whole step, an hour here, before stopping).
#[test]
fn ctrl_c_ends_a_real_time_wait_between_timesteps() {
    // Timestep 1 runs at once; then the job waits an hour for timestep 2.
    let (_, records) =
        ctrl_c_during_a_wait(|y| y.replace("step: 0s}", "step: 1h, realtime: true}"), &["--kafka", "none"]);
    // The initial record and timestep 1's four blocks were written before the wait.
    assert_eq!(records.lines().count(), 5);
}

/// `kafka.rate` far below one message per second: each message waits for its due time. Ctrl-C
/// ends that wait at once (the pacer used to sleep the whole interval, 100 s here); the timestep
/// under way still sends its messages, so everything generated is delivered.
#[test]
fn ctrl_c_ends_a_paced_wait_for_the_next_message() {
    // The first message goes at once; the second is due 100 s later (embedded Kafka).
    let (summary, _) = ctrl_c_during_a_wait(
        |y| {
            let y = y.replace("kafka:\n  topics:", "kafka:\n  rate: 0.01\n  topics:");
            assert!(y.contains("rate: 0.01"), "scenarios/chat.yaml no longer has the kafka block this test extends");
            y
        },
        &[],
    );
    // Timestep 1 was under way: its four blocks' messages all went out and were acknowledged.
    let d = &summary["delivery"];
    assert!(d["produced"].as_u64().unwrap() >= 4, "{summary}");
    assert_eq!(d["acked"], d["produced"], "{summary}");
}

/// The complete lines of a record file a SIGKILL may have cut inside its last write: every line
/// that ends with a newline (a torn last one is left out), none of them empty.
fn whole_lines(text: &str) -> Vec<&str> {
    let whole = text.rfind('\n').map_or("", |end| &text[..end]);
    let lines: Vec<&str> = if whole.is_empty() { Vec::new() } else { whole.split('\n').collect() };
    assert!(lines.iter().all(|l| !l.is_empty()), "no empty line among the whole ones");
    lines
}
