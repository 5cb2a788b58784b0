//! `semantics: cadcad | radcad`: each tiny model of `benches/cadcad/semantics_fixtures.py`, run in
//! both modes, equals what cadCAD 0.5.3 and radCAD 0.14 wrote, byte for byte
//! (`engine/cli/tests/fixtures/sem_<name>.{cadcad,radcad}.jsonl`, `benches/cadcad/SEMANTICS.md`).

use crate::common::*;
use distroduce::model::types::Semantics;
use distroduce::{run, KafkaTarget, RunArgs};

const MODELS: [&str; 6] = ["run_numbering", "run_order", "identity", "no_policies", "policy_order", "prev_substep_k1"];

fn records(model: &str, semantics: Option<Semantics>, threads: usize, shard: Option<(u32, u32)>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut args = RunArgs::new(repo().join(format!("scenarios/conformance/sem_{model}.yaml")));
    args.out = Some(dir.path().to_path_buf());
    args.kafka = KafkaTarget::None;
    args.threads = threads;
    args.semantics = semantics;
    args.shard = shard;
    run(&args, None).unwrap_or_else(|e| panic!("sem_{model}: {e}"));
    read(&dir.path().join("records.jsonl"))
}

#[test]
fn semantics_models_match_cadcad_and_radcad_byte_for_byte() {
    for m in MODELS {
        for (semantics, engine) in [(Semantics::Cadcad, "cadcad"), (Semantics::Radcad, "radcad")] {
            let want = read(&fixture(&format!("sem_{m}.{engine}.jsonl")));
            for threads in [1, 2] {
                assert_eq!(records(m, Some(semantics), threads, None), want, "sem_{m} as {engine}, {threads} threads");
            }
        }
    }
}

#[test]
fn semantics_default_is_cadcad() {
    // The scenarios say `semantics: cadcad`; without the key the default must be the same.
    let dir = tempfile::tempdir().unwrap();
    let yaml = std::fs::read_to_string(repo().join("scenarios/conformance/sem_run_numbering.yaml")).unwrap();
    let yaml = yaml.replace("semantics: cadcad\n", "").replace("../../plugins/conformance", "PLUGIN");
    assert!(!yaml.contains("semantics:"));
    let path =
        scenario(dir.path(), &yaml.replace("{crate: PLUGIN}", &format!("{{wasm: {}}}", plugin("conformance_plugin"))));
    let mut args = RunArgs::new(path);
    args.out = Some(dir.path().join("out"));
    args.kafka = KafkaTarget::None;
    run(&args, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read(&dir.path().join("out/records.jsonl")), read(&fixture("sem_run_numbering.cadcad.jsonl")));
}

#[test]
fn semantics_radcad_job_order_shards_by_output_position() {
    // Job j belongs to shard j % N in output order; with radCAD's run-major order shard 0 of 2
    // holds (subset 0, run 1) and (subset 0, run 2), shard 1 the jobs of subset 1.
    let shard = |i| records("run_order", Some(Semantics::Radcad), 1, Some((i, 2)));
    let jobs = |text: String| -> Vec<(u64, u64)> {
        text.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|r| r["timestep"] == 0)
            .map(|r| (r["subset"].as_u64().unwrap(), r["run"].as_u64().unwrap()))
            .collect()
    };
    assert_eq!(jobs(shard(0)), vec![(0, 1), (0, 2)]);
    assert_eq!(jobs(shard(1)), vec![(1, 1), (1, 2)]);
}
