//! cadCAD details beyond the published fixtures: state history, previous-record bookkeeping with a
//! single block, and run isolation (a fresh plugin instance per run).

use crate::common::*;
use distroduce::{run, KafkaTarget, RunArgs};
use serde_json::Value;

fn records(yaml: &str, threads: usize) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let mut args = RunArgs::new(scenario(dir.path(), yaml));
    args.out = Some(dir.path().join("out"));
    args.kafka = KafkaTarget::None;
    args.threads = threads;
    run(&args, None).unwrap_or_else(|e| panic!("{e}"));
    read(&dir.path().join("out/records.jsonl")).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn history_scenario(history: &str) -> String {
    format!(
        "name: h\nruns: 1\ntimesteps: 4\nhistory: {history}\nstate:\n  x: 0\n  seen: {{hist_len: 0, last_len: 0, prev_x: 0, prev_ts: 0, prev_sub: 0}}\nplugins:\n  ref: {{wasm: {}}}\nblocks:\n  - updates: {{x: ref.s_inc_x}}\n  - policies: [ref.p_history]\n    updates: {{seen: ref.s_seen, x: ref.s_inc_x}}\n",
        plugin("conformance_plugin")
    )
}

#[test]
fn history_holds_completed_timesteps_only() {
    let recs = records(&history_scenario("true"), 1);
    // Block 2 of timestep t sees t completed timesteps: [initial], then t-1 timesteps of 2 records.
    for t in 1..=4u64 {
        let r = recs.iter().find(|r| r["timestep"] == t && r["substep"] == 2).unwrap();
        assert_eq!(r["seen"]["hist_len"], t, "{r}");
        let newest = &r["seen"];
        assert_eq!(newest["prev_ts"], t - 1, "{r}");
        assert_eq!(newest["prev_sub"], if t == 1 { 0 } else { 2 }, "{r}");
        assert_eq!(newest["prev_x"], 2 * (t - 1), "x of the previous timestep's last record: {r}");
    }
}

#[test]
fn history_window_sends_the_last_n_timesteps() {
    let recs = records(&history_scenario("2"), 1);
    let lens: Vec<u64> = (1..=4u64)
        .map(|t| {
            recs.iter().find(|r| r["timestep"] == t && r["substep"] == 2).unwrap()["seen"]["hist_len"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(lens, vec![1, 2, 2, 2]);
}

#[test]
fn every_run_gets_a_fresh_plugin_instance() {
    // count_calls keeps a global counter; with a fresh instance per run it restarts at 1.
    let y = format!(
        "name: c\nruns: 4\ntimesteps: 3\nstate: {{calls: 0}}\nplugins:\n  m: {{wasm: {}}}\nblocks:\n  - policies: [m.count_calls]\n    updates: {{calls: m.s_calls}}\n",
        plugin("misbehave_plugin")
    );
    for threads in [1, 2] {
        let recs = records(&y, threads);
        for r in recs.iter().filter(|r| r["timestep"] != 0) {
            assert_eq!(r["calls"], r["timestep"], "run {} leaked state from an earlier run: {r}", r["run"]);
        }
    }
}

fn stamps(blocks: usize) -> Vec<Value> {
    let block = "  - policies: [ref.p_prev_stamp]\n    updates: {seen: ref.s_prev_stamp}\n";
    let y = format!(
        "name: k\nruns: 1\ntimesteps: 3\nstate: {{seen: {{}}}}\nplugins:\n  ref: {{wasm: {}}}\nblocks:\n{}",
        plugin("conformance_plugin"),
        block.repeat(blocks)
    );
    records(&y, 1)
}

#[test]
fn previous_record_bookkeeping_follows_cadcad() {
    // Two blocks: block 1 at t >= 2 sees (substep 2, timestep t-1); block 2 sees (1, t).
    for r in stamps(2).iter().skip(1) {
        let (t, k) = (r["timestep"].as_i64().unwrap(), r["substep"].as_i64().unwrap());
        let want = if k == 1 { (if t == 1 { 0 } else { 2 }, t - 1) } else { (k - 1, t) };
        assert_eq!((r["seen"]["prev_sub"].as_i64().unwrap(), r["seen"]["prev_ts"].as_i64().unwrap()), want, "{r}");
    }
    // One block: cadCAD reports substep 0 for the previous record at every timestep.
    for r in stamps(1).iter().skip(1) {
        let t = r["timestep"].as_i64().unwrap();
        assert_eq!(
            (r["seen"]["prev_sub"].as_i64().unwrap(), r["seen"]["prev_ts"].as_i64().unwrap()),
            (0, t - 1),
            "{r}"
        );
    }
}

#[test]
fn one_run_per_subset_numbers_runs_subset_plus_1_like_cadcad_or_1_like_radcad() {
    use distroduce::model::types::Semantics;
    for semantics in [Semantics::Cadcad, Semantics::Radcad] {
        let dir = tempfile::tempdir().unwrap();
        let mut args = RunArgs::new(repo().join("scenarios/conformance/ref2_param_sweep.yaml"));
        args.out = Some(dir.path().to_path_buf());
        args.kafka = KafkaTarget::None;
        args.runs = Some(1);
        args.semantics = Some(semantics);
        run(&args, None).unwrap();
        let recs: Vec<Value> =
            read(&dir.path().join("records.jsonl")).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(recs.len(), 3 * 4);
        let want = |r: &Value| match semantics {
            Semantics::Cadcad => r["subset"].as_u64().unwrap() + 1,
            Semantics::Radcad => 1,
        };
        assert!(recs.iter().all(|r| r["run"] == want(r)), "{semantics:?}");
        assert_eq!(recs.iter().map(|r| r["subset"].as_u64().unwrap()).max(), Some(2));
    }
}

#[test]
fn realtime_clock_paces_timesteps_in_wall_time() {
    let y = format!(
        "name: rt\nruns: 1\ntimesteps: 4\nclock: {{start: \"2020-01-01T00:00:00Z\", step: 100ms, realtime: true}}\nstate: {{a: 0, b: 0, c: 0, d: 1}}\nplugins:\n  ref: {{wasm: {}}}\nblocks:\n  - policies: [ref.p_inc_a, ref.p_inc_b]\n    updates: {{a: ref.s_a, b: ref.s_b1, c: ref.s_c}}\n",
        plugin("conformance_plugin")
    );
    let started = std::time::Instant::now();
    let recs = records(&y, 1);
    let took = started.elapsed();
    assert_eq!(recs.len(), 5);
    assert!(took >= std::time::Duration::from_millis(400), "4 timesteps of 100ms took {took:?}");
}
