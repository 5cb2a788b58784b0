//! Sharding: `engine run --shard I/N` on every shard, then `engine merge`, gives exactly what one
//! local run gives (records, messages, totals); incomplete or inconsistent shard sets are refused.

use crate::common::*;
use std::path::Path;

fn run(dir: &Path, name: &str, extra: &[&str]) {
    let out = dir.join(name);
    let mut args = vec![
        "run",
        "scenarios/randomwalk.yaml",
        "--kafka",
        "none",
        "--write-messages",
        "--format",
        "jsonl,csv",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_engine")).current_dir(repo()).args(&args).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn merged_shards_equal_a_local_run() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), "local", &["--threads", "2"]);
    for i in 0..4 {
        run(dir.path(), &format!("s{i}"), &["--shard", &format!("{i}/4"), "--threads", "1"]);
    }
    // Shards are given in any order.
    let shards: Vec<String> =
        [2, 0, 3, 1].iter().map(|i| dir.path().join(format!("s{i}")).display().to_string()).collect();
    let merged = dir.path().join("merged");
    let mut args = vec!["merge", "--out", merged.to_str().unwrap()];
    args.extend(shards.iter().map(String::as_str));
    let o = engine(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["records.jsonl", "records.csv", "messages.jsonl"] {
        assert_eq!(read(&merged.join(f)), read(&dir.path().join("local").join(f)), "{f}");
    }
    let s = |d: &str| -> serde_json::Value {
        serde_json::from_str(&read(&dir.path().join(d).join("summary.json"))).unwrap()
    };
    let (m, l) = (s("merged"), s("local"));
    for k in ["jobs", "records", "substeps", "messages_emitted"] {
        assert_eq!(m[k], l[k], "{k}");
    }
    // Each shard ran a quarter of the 12 jobs.
    assert_eq!(s("s1")["jobs"], 3);
}

#[test]
fn incomplete_or_mixed_shard_sets_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3 {
        run(dir.path(), &format!("s{i}"), &["--shard", &format!("{i}/3")]);
    }
    run(dir.path(), "other", &["--shard", "0/2"]);
    let d = |n: &str| dir.path().join(n).display().to_string();
    let out = d("merged");
    let cases: [(Vec<String>, &str); 3] = [
        (vec![d("s0"), d("s1")], "missing shard(s) 2/3"),
        (vec![d("s0"), d("s1"), d("s1")], "appears twice"),
        (vec![d("s0"), d("s1"), d("other")], "split into 3"),
    ];
    for (dirs, want) in cases {
        let mut args = vec!["merge".to_string(), "--out".into(), out.clone()];
        args.extend(dirs);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = engine(&args);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains(want), "want {want:?}: {}", stderr(&o));
    }
    let bad = engine(&["run", "scenarios/randomwalk.yaml", "--shard", "3/3"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("need 0 <= I < N"), "{}", stderr(&bad));
}

#[test]
fn merged_radcad_shards_keep_radcads_run_major_order() {
    let dir = tempfile::tempdir().unwrap();
    let run_sem = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec![
            "run",
            "scenarios/conformance/sem_run_order.yaml",
            "--kafka",
            "none",
            "--semantics",
            "radcad",
            "--out",
        ];
        args.push(out.to_str().unwrap());
        args.extend_from_slice(extra);
        let o =
            std::process::Command::new(env!("CARGO_BIN_EXE_engine")).current_dir(repo()).args(&args).output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    };
    for i in 0..3 {
        run_sem(&format!("s{i}"), &["--shard", &format!("{i}/3")]);
    }
    let merged = dir.path().join("merged");
    let shards: Vec<String> = (0..3).map(|i| dir.path().join(format!("s{i}")).display().to_string()).collect();
    let mut args = vec!["merge", "--out", merged.to_str().unwrap()];
    args.extend(shards.iter().map(String::as_str));
    let o = engine(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read(&merged.join("records.jsonl")), read(&fixture("sem_run_order.radcad.jsonl")));
}

/// Shard files are merged by streaming, a job at a time; a file whose jobs go back in output order,
/// or a CSV whose header differs from the other shards', is refused at its line (exit 2), and no
/// partial merged file is left behind.
#[test]
fn shard_files_out_of_job_order_or_with_another_header_are_refused_at_their_line() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..2 {
        run(dir.path(), &format!("s{i}"), &["--shard", &format!("{i}/2")]);
    }
    let (s0, s1) = (dir.path().join("s0"), dir.path().join("s1"));
    let merge = || {
        let out = dir.path().join("merged");
        engine(&["merge", "--out", out.to_str().unwrap(), s0.to_str().unwrap(), s1.to_str().unwrap()])
    };
    let records = s1.join("records.jsonl");
    let good = read(&records);
    let lines: Vec<&str> = good.lines().collect();
    // Shard 1 has jobs 1, 3, 5, …: its last line (a later job) moved to the top.
    let n = lines.len();
    let moved = [&lines[n - 1..], &lines[..n - 1]].concat().join("\n") + "\n";
    std::fs::write(&records, moved).unwrap();
    let o = merge();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("{}:2: this job comes before the line above it", records.display())),
        "{}",
        stderr(&o)
    );
    for f in ["records.jsonl", "records.jsonl.tmp"] {
        assert!(!dir.path().join("merged").join(f).exists(), "no {f} from a refused merge");
    }
    std::fs::write(&records, good).unwrap();

    let csv = s0.join("records.csv");
    let text = read(&csv);
    std::fs::write(&csv, text.replacen(',', ";", 1)).unwrap();
    let o = merge();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("records.csv:1: the header differs from the other shards'"), "{err}");
}

/// A shard directory is the user's data: `engine merge --out` one of the shards would replace its
/// files with the merged ones, so it is refused and the shard left as it was. A `metrics.json` that
/// claims a shard count of four billion is answered with the first few missing shards, not a list
/// of all of them (that exhausted memory), and one that is a FIFO is refused rather than waited on.
#[test]
fn merging_into_a_shard_or_forged_shard_metadata_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..2 {
        run(dir.path(), &format!("s{i}"), &["--shard", &format!("{i}/2")]);
    }
    let d = |n: &str| dir.path().join(n).display().to_string();
    let before = read(&dir.path().join("s0/records.jsonl"));
    let o = engine(&["merge", "--out", &format!("{}/.", d("s0")), &d("s0"), &d("s1")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("is the shard directory"), "{}", stderr(&o));
    assert_eq!(read(&dir.path().join("s0/records.jsonl")), before);

    let metrics = dir.path().join("s1/metrics.json");
    let forged = read(&metrics).replace("\"shard\":[1,2]", "\"shard\":[1,4294967295]");
    assert_ne!(forged, read(&metrics), "the shard field was found");
    std::fs::write(&metrics, forged).unwrap();
    let started = std::time::Instant::now();
    let o = engine(&["merge", "--out", &d("m1"), &d("s1")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("missing shard(s) 0/4294967295, 2/4294967295"), "{}", stderr(&o));
    assert!(stderr(&o).contains("and 4294967284 more"), "{}", stderr(&o));
    assert!(started.elapsed() < std::time::Duration::from_secs(30));

    std::fs::remove_file(&metrics).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(&metrics).status().unwrap().success());
    let o = engine(&["merge", "--out", &d("m2"), &d("s0"), &d("s1")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("metrics.json is not a regular file"), "{}", stderr(&o));
}
