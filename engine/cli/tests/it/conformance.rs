//! The engine reproduces cadCAD 0.5.3 record for record (and byte for byte in JSONL) on the
//! published conformance models and on the distroduce chat model.

use crate::common::*;
use distroduce::{run, KafkaTarget, RunArgs};

fn run_to(
    scenario: &str,
    out: &std::path::Path,
    threads: usize,
    tweak: impl FnOnce(&mut RunArgs),
) -> distroduce::Summary {
    let mut args = RunArgs::new(repo().join(scenario));
    args.out = Some(out.to_path_buf());
    args.threads = threads;
    tweak(&mut args);
    run(&args, None).unwrap_or_else(|e| panic!("{scenario}: {e}"))
}

#[test]
fn conformance_models_match_cadcad_byte_for_byte() {
    for m in ["ref1_policy_agg", "ref2_param_sweep", "ref4_list_signals"] {
        let dir = tempfile::tempdir().unwrap();
        let s = run_to(&format!("scenarios/conformance/{m}.yaml"), dir.path(), 2, |_| {});
        let want = read(&fixture(&format!("{m}.cadcad.jsonl")));
        assert_eq!(read(&dir.path().join("records.jsonl")), want, "{m}");
        assert_eq!(s.records as usize, want.lines().count());
    }
}

/// radCAD's own benchmark model (scenarios/bench/radcad.yaml, the speed benchmark of
/// benches/radcad_ratio.sh) gives radCAD 0.14's records, floats and all (a prefix: 2 runs x 50
/// timesteps x 2 subsets; radCAD's run-major job order put back in cadCAD's order).
#[test]
fn radcad_benchmark_model_matches_radcad_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let s = run_to("scenarios/bench/radcad.yaml", dir.path(), 2, |a| {
        a.runs = Some(2);
        a.timesteps = Some(50);
        a.kafka = KafkaTarget::None;
    });
    let want = read(&fixture("radcad_bench_n2_t50.radcad.jsonl"));
    assert_eq!(read(&dir.path().join("records.jsonl")), want);
    assert_eq!(s.records, 404);
}

/// cadCAD's robots-and-marbles tutorial, ported to a Rust plugin as docs/coming-from-cadcad.md
/// shows, gives cadCAD 0.5.3's records (scenarios/cadcad/robot_marbles: model.py is the cadCAD
/// original the fixture comes from).
#[test]
fn the_ported_robots_and_marbles_tutorial_matches_cadcad_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let s = run_to("scenarios/cadcad/robot_marbles/scenario.yaml", dir.path(), 2, |a| a.kafka = KafkaTarget::None);
    let want = read(&fixture("robot_marbles.cadcad.jsonl"));
    assert_eq!(read(&dir.path().join("records.jsonl")), want);
    assert_eq!(s.records, 126);
}

#[test]
fn chat_matches_cadcad_with_a_frozen_clock() {
    for (runs, t, fixture_name) in [(2, 3, "chat_n2_t3.cadcad.jsonl"), (1, 10, "chat_n1_t10.cadcad.jsonl")] {
        let dir = tempfile::tempdir().unwrap();
        let s = run_to("scenarios/chat.yaml", dir.path(), 2, |a| {
            a.runs = Some(runs);
            a.timesteps = Some(t);
        });
        assert_eq!(read(&dir.path().join("records.jsonl")), read(&fixture(fixture_name)), "{fixture_name}");
        // Only "send" actions are published: 2 blocks x 2 policies per timestep.
        assert_eq!(s.messages_emitted, runs * t * 4);
        assert_eq!(s.delivery.acked, runs * t * 4);
    }
}

#[test]
fn same_seed_same_records_and_messages_whatever_the_thread_count() {
    let outs: Vec<_> = [1, 2]
        .into_iter()
        .map(|threads| {
            let dir = tempfile::tempdir().unwrap();
            run_to("scenarios/randomwalk.yaml", dir.path(), threads, |a| {
                a.kafka = KafkaTarget::None;
                a.write_messages = true;
            });
            (read(&dir.path().join("records.jsonl")), read(&dir.path().join("messages.jsonl")))
        })
        .collect();
    assert!(outs[0].1.lines().count() > 10, "the scenario emits messages");
    assert_eq!(outs[0], outs[1]);
}

#[test]
fn different_runs_draw_different_numbers_and_seeds_change_them() {
    let dir = tempfile::tempdir().unwrap();
    run_to("scenarios/randomwalk.yaml", dir.path(), 2, |a| a.kafka = KafkaTarget::None);
    let recs: Vec<serde_json::Value> =
        read(&dir.path().join("records.jsonl")).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let last_of =
        |subset: u64, run: u64| recs.iter().rfind(|r| r["subset"] == subset && r["run"] == run).unwrap().clone();
    let strip = |mut v: serde_json::Value| {
        for k in ["run", "subset", "simulation"] {
            v.as_object_mut().unwrap().remove(k);
        }
        v
    };
    assert_ne!(strip(last_of(0, 1)), strip(last_of(0, 2)), "Monte Carlo runs differ");
    let other = tempfile::tempdir().unwrap();
    run_to("scenarios/randomwalk.yaml", other.path(), 2, |a| {
        a.kafka = KafkaTarget::None;
        a.seed = Some(12345);
    });
    assert_ne!(read(&dir.path().join("records.jsonl")), read(&other.path().join("records.jsonl")));
}
