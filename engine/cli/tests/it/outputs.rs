//! Record files are real files pandas reads: JSONL and CSV, with the cadCAD columns in order.

use crate::common::*;
use distroduce::model::types::RecordFormat;
use distroduce::{run, KafkaTarget, RunArgs};

#[test]
#[ignore = "needs Python with pandas (DISTRODUCE_PYTHON): scripts/test sets it up"]
fn pandas_reads_jsonl_and_csv_records() {
    let python = std::env::var("DISTRODUCE_PYTHON")
        .expect("DISTRODUCE_PYTHON must point at a python with pandas: run the tests with scripts/test");
    let dir = tempfile::tempdir().unwrap();
    let mut args = RunArgs::new(repo().join("scenarios/randomwalk.yaml"));
    args.out = Some(dir.path().to_path_buf());
    args.kafka = KafkaTarget::None;
    args.formats = Some(vec![RecordFormat::Jsonl, RecordFormat::Csv]);
    let s = run(&args, None).unwrap();
    let script = r#"
import json, sys, pandas as pd
d = sys.argv[1]
j = pd.read_json(f"{d}/records.jsonl", lines=True)
c = pd.read_csv(f"{d}/records.csv")
assert list(j.columns) == list(c.columns) == ["prices", "crossings", "simulation", "subset", "run", "substep", "timestep"], (list(j.columns), list(c.columns))
assert (j["crossings"] == c["crossings"]).all()
assert (j[["subset", "run", "timestep"]].values == c[["subset", "run", "timestep"]].values).all()
assert j["prices"].iloc[-1] == json.loads(c["prices"].iloc[-1])
print(len(j))
"#;
    let out = std::process::Command::new(python).args(["-c", script, dir.path().to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), s.records.to_string());
}

/// Jobs hand their records and `messages.jsonl` lines to the writers in 1 MiB batches as they
/// run (the first unfinished job's are written at once, later jobs' wait, in memory up to
/// `--record-window`, then in a temporary file): with jobs of several batches each, running side
/// by side on two threads, the files are the bytes of a one-thread run, in job order, whether
/// the waiting batches stayed in memory or went to disk, and no temporary file is left.
#[test]
fn records_written_as_jobs_run_are_in_job_order_whatever_the_threads() {
    let dir = tempfile::tempdir().unwrap();
    let files = |threads: usize, window: usize| {
        let out = dir.path().join(format!("{threads}-{window}"));
        let mut args = RunArgs::new(repo().join("scenarios/chat.yaml"));
        args.out = Some(out.clone());
        args.kafka = KafkaTarget::None;
        args.formats = Some(vec![RecordFormat::Jsonl, RecordFormat::Csv]);
        args.write_messages = true;
        (args.runs, args.timesteps, args.threads, args.record_window) = (Some(4), Some(1200), threads, window);
        let s = run(&args, None).unwrap();
        assert_eq!(s.records, 4 * (1 + 1200 * 4));
        assert!(s.records_held_peak_bytes <= window as u64, "{} held", s.records_held_peak_bytes);
        let mut names: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(
            names,
            ["messages.jsonl", "metrics.json", "records.csv", "records.jsonl", "summary.json"],
            "files left in {}",
            out.display()
        );
        let f = |name: &str| std::fs::read(out.join(name)).unwrap();
        ((f("records.jsonl"), f("records.csv"), f("messages.jsonl")), s.records_spilled_bytes)
    };
    let default = distroduce::sim::DEFAULT_RECORD_WINDOW;
    let ((one, spilled_one), (two, _), (on_disk, spilled)) = (files(1, 0), files(2, default), files(2, 0));
    // Each job's values are several batches (about 0.8 KB per record).
    assert!(one.0.len() > 12 << 20, "{} bytes", one.0.len());
    assert!(one.2.len() > 4 << 20, "{} bytes of messages", one.2.len());
    assert!(one == two, "the record or message files differ between 1 and 2 threads");
    // One thread: no job is ever ahead of its turn. Two with no window: the second job's waited
    // on disk.
    assert_eq!(spilled_one, 0);
    assert!(spilled > 0, "nothing waited on disk with a window of 0");
    assert!(one == on_disk, "the record or message files differ when waiting batches went to disk");
    for file in [&one.0, &one.2] {
        let runs: Vec<u64> = read_runs(file);
        assert!(runs.windows(2).all(|w| w[0] <= w[1]) && runs.first() == Some(&1) && runs.last() == Some(&4));
    }
}

/// The `run` of each JSONL line.
fn read_runs(jsonl: &[u8]) -> Vec<u64> {
    let text = String::from_utf8_lossy(jsonl);
    text.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["run"].as_u64().unwrap()).collect()
}
