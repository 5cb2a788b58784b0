//! Event time, deliberate disorder and expected records (issue 6), on scenarios/chat-windows.yaml:
//! expected.jsonl is what an independent count of the emitted messages gives, whatever the
//! threads or sharding; disorder is reproducible from the seed, changes no record, and really
//! delivers late, reordered and duplicated messages.

use crate::common::*;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

const WINDOW_MS: i64 = 10_000;
const LATE_BY_MS: i64 = 15_000;
const JITTER_MS: i64 = 2_000;
/// 2019-10-03T00:00:00Z, the scenario's clock start.
const START_MS: i64 = 1_570_060_800_000;

/// scenarios/chat-windows.yaml with the prebuilt chat plugin and `edits` applied.
fn chat_windows(dir: &Path, edits: &[(&str, &str)]) -> PathBuf {
    let mut y = read(&repo().join("scenarios/chat-windows.yaml"));
    let plugin_line = format!("{{wasm: {}}}", plugin("chat_plugin"));
    for (from, to) in [("{crate: ../plugins/chat}", plugin_line.as_str())].iter().chain(edits) {
        assert!(y.contains(from), "scenarios/chat-windows.yaml changed: no `{from}`");
        y = y.replace(from, to);
    }
    scenario(dir, &y)
}

fn run(scenario: &Path, out: &Path, extra: &[&str]) {
    let mut args =
        vec!["run", scenario.to_str().unwrap(), "--kafka", "none", "--write-messages", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = engine(&args);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn lines(p: &Path) -> Vec<Value> {
    read(p).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn id(m: &Value) -> String {
    m["headers"]["distroduce-id"].as_str().expect("id_header is on").to_string()
}

#[test]
fn expected_counts_equal_an_independent_count_and_do_not_depend_on_threads() {
    let dir = tempfile::tempdir().unwrap();
    let sc = chat_windows(dir.path(), &[]);
    let (a, b) = (dir.path().join("t1"), dir.path().join("t2"));
    run(&sc, &a, &["--threads", "1", "--runs", "3"]);
    run(&sc, &b, &["--threads", "2", "--runs", "3"]);
    for f in ["expected.jsonl", "messages.jsonl", "records.jsonl"] {
        assert_eq!(read(&a.join(f)), read(&b.join(f)), "{f} differs between 1 and 2 threads");
    }

    // Count distinct messages (by id) per room and 10 s event-time window, from what was sent.
    let mut seen = std::collections::HashSet::new();
    let mut counts: BTreeMap<(String, i64), u64> = BTreeMap::new();
    for m in lines(&a.join("messages.jsonl")) {
        if seen.insert(id(&m)) {
            let room: Value = serde_json::from_str(m["value"].as_str().unwrap()).unwrap();
            let t = m["event_time_ms"].as_i64().expect("every message has an event time");
            *counts
                .entry((room["room"].as_str().unwrap().to_string(), t.div_euclid(WINDOW_MS) * WINDOW_MS))
                .or_default() += 1;
        }
    }
    let expected = lines(&a.join("expected.jsonl"));
    for name in ["room_counts", "room_counts_spark"] {
        let got: BTreeMap<(String, i64), u64> = expected
            .iter()
            .filter(|r| r["expectation"] == name)
            .map(|r| {
                let ws = r["window_start"].as_i64().unwrap();
                assert_eq!(r["window_end"].as_i64().unwrap(), ws + WINDOW_MS);
                assert_eq!(r["value"], r["messages"], "a count is the number of messages");
                ((r["key"].as_str().unwrap().to_string(), ws), r["value"].as_u64().unwrap())
            })
            .collect();
        assert_eq!(got, counts, "{name}");
    }
    // 3 runs × 4 messages per timestep at t = start + 1 s ..= start + 60 s: windows aligned on the
    // clock, the first with timesteps 1..=9, the last with timestep 60 alone.
    let per_window: Vec<(i64, u64)> = counts
        .iter()
        .map(|((room, ws), n)| {
            assert_eq!(room, "room_1");
            ((ws - START_MS) / 1000, *n)
        })
        .collect();
    assert_eq!(per_window, [(0, 108), (10, 120), (20, 120), (30, 120), (40, 120), (50, 120), (60, 12)]);
    let summary: Value = serde_json::from_str(&read(&a.join("summary.json"))).unwrap();
    assert_eq!(summary["expected_records"], 14);
}

#[test]
fn disorder_is_reproducible_from_the_seed_and_changes_no_record() {
    let dir = tempfile::tempdir().unwrap();
    let sc = chat_windows(dir.path(), &[]);
    let d = |n: &str| dir.path().join(n);
    run(&sc, &d("a"), &[]);
    run(&sc, &d("b"), &["--threads", "1"]);
    run(&sc, &d("seed2"), &["--seed", "2"]);
    assert_eq!(read(&d("a").join("messages.jsonl")), read(&d("b").join("messages.jsonl")), "same seed, same disorder");
    assert_ne!(
        read(&d("a").join("messages.jsonl")),
        read(&d("seed2").join("messages.jsonl")),
        "another seed, other disorder"
    );

    let calm_dir = d("calm");
    std::fs::create_dir_all(&calm_dir).unwrap();
    let calm = chat_windows(
        &calm_dir,
        &[
            ("late: {fraction: 0.05, by: 15s}", "late: {fraction: 0, by: 15s}"),
            ("jitter: 2s", "jitter: 0s"),
            ("duplicate: 0.02", "duplicate: 0"),
        ],
    );
    run(&calm, &d("c"), &[]);
    assert_eq!(read(&d("a").join("records.jsonl")), read(&d("c").join("records.jsonl")), "disorder changes no record");
    assert_eq!(read(&d("a").join("expected.jsonl")), read(&d("c").join("expected.jsonl")), "nor the expected records");
    // The same distinct messages, with the same content and event time; only order and copies differ.
    let by_id = |dir: &Path| -> BTreeMap<String, Value> {
        lines(&dir.join("messages.jsonl")).into_iter().map(|m| (id(&m), m)).collect()
    };
    let (disordered, calm) = (by_id(&d("a")), by_id(&d("c")));
    assert_eq!(disordered, calm);
    let calm_lines = lines(&d("c").join("messages.jsonl"));
    let times: Vec<i64> = calm_lines.iter().map(|m| m["event_time_ms"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "without disorder, messages go out in event order");
    assert_eq!(times[0], START_MS + 1000, "timestep 1 is one clock step after the start");
}

#[test]
fn late_messages_arrive_after_later_ones_and_duplicates_keep_their_id() {
    let dir = tempfile::tempdir().unwrap();
    let sc = chat_windows(dir.path(), &[]);
    let out = dir.path().join("o");
    run(&sc, &out, &[]);
    let msgs = lines(&out.join("messages.jsonl"));
    let last_clock = START_MS + 60_000;

    // How far behind the newest message sent before it each message is.
    let (mut newest, mut late, mut jittered) = (i64::MIN, 0, 0);
    for m in &msgs {
        let t = m["event_time_ms"].as_i64().unwrap();
        let lag = newest.saturating_sub(t);
        newest = newest.max(t);
        if t + LATE_BY_MS + JITTER_MS <= last_clock {
            // Released while the job ran: either late (by at least `by`) or within the jitter
            // (plus the clock step it waits for).
            assert!(lag <= JITTER_MS + 1000 || lag >= LATE_BY_MS, "{} lags {lag} ms", id(m));
        }
        late += (lag >= LATE_BY_MS) as u32;
        jittered += (lag > 0 && lag <= JITTER_MS + 1000) as u32;
    }
    assert!(late >= 3, "about 5% of 240 messages are late, saw {late}");
    assert!(jittered > 0, "jitter reorders neighbours");

    // Duplicates: the same line twice in a row (same id, key, value, event time).
    let mut count: HashMap<String, u32> = HashMap::new();
    msgs.iter().for_each(|m| *count.entry(id(m)).or_default() += 1);
    let dups: Vec<&String> = count.iter().filter(|(_, n)| **n == 2).map(|(k, _)| k).collect();
    assert!(!dups.is_empty() && count.values().all(|n| *n <= 2), "some messages twice, none more");
    for w in msgs.windows(2).filter(|w| id(&w[0]) == id(&w[1])) {
        assert_eq!(w[0], w[1], "a duplicate is an exact copy");
    }
    assert_eq!(msgs.windows(2).filter(|w| id(&w[0]) == id(&w[1])).count(), dups.len(), "copies are adjacent");
    assert_eq!(count.len(), 240);
}

#[test]
fn merged_shards_give_the_local_expected_records() {
    let dir = tempfile::tempdir().unwrap();
    let sc = chat_windows(dir.path(), &[]);
    run(&sc, &dir.path().join("local"), &["--runs", "4"]);
    for i in 0..3 {
        run(&sc, &dir.path().join(format!("s{i}")), &["--runs", "4", "--shard", &format!("{i}/3")]);
        assert!(!dir.path().join(format!("s{i}/expected.jsonl")).exists(), "a shard writes partial totals only");
    }
    let merged = dir.path().join("merged");
    let shards: Vec<String> = (0..3).rev().map(|i| dir.path().join(format!("s{i}")).display().to_string()).collect();
    let mut args = vec!["merge", "--out", merged.to_str().unwrap()];
    args.extend(shards.iter().map(String::as_str));
    let o = engine(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read(&merged.join("expected.jsonl")), read(&dir.path().join("local/expected.jsonl")));
    assert_eq!(read(&merged.join("messages.jsonl")), read(&dir.path().join("local/messages.jsonl")));
}

#[test]
fn an_unreadable_field_fails_the_run_naming_expectation_job_and_timestep() {
    let dir = tempfile::tempdir().unwrap();
    let sc = chat_windows(
        dir.path(),
        &[(
            "expectations:\n",
            "expectations:\n  total:\n    from: chat\n    key: \"{room}\"\n    aggregate: sum\n    field: input\n",
        )],
    );
    let out = dir.path().join("o");
    let o = engine(&["run", sc.to_str().unwrap(), "--kafka", "none", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("expectation `total` (sum): the message has no numeric field `input`")
            && err.contains("simulation 0 subset 0 run 1 at timestep 1"),
        "{err}"
    );
}

#[test]
fn oracle_topics_need_the_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let sc = chat_windows(
        dir.path(),
        &[
            ("      key: \"{room}\"\n      disorder:", "      key: \"{room}\"\n      disorder:"),
            (
                "    aggregate: count\n    output: {topic: room-counts,",
                "    aggregate: count\n    oracle_topic: chat\n    output: {topic: room-counts,",
            ),
        ],
    );
    let out = dir.path().join("o");
    let o = engine(&["run", sc.to_str().unwrap(), "--kafka", "none", "--shard", "0/2", "--out", out.to_str().unwrap()]);
    // A command line that cannot work is bad input (exit 2), like a bad --slo.
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expectation `room_counts` publishes to an oracle topic"), "{}", stderr(&o));
}
