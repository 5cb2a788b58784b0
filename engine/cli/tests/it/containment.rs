//! A plugin that traps, loops forever, eats memory or returns garbage is contained: the job fails
//! with an error naming plugin, export, job, timestep and substep; other jobs and the records
//! produced before the failure are kept; the CLI exits with 1. WASI is locked down.

use crate::common::*;
use distroduce::{run, KafkaTarget, RunArgs, RunError};

fn scenario_with(dir: &std::path::Path, extra: &str, blocks: &str) -> std::path::PathBuf {
    scenario(
        dir,
        &format!(
            "name: t\nruns: 2\ntimesteps: 5\nstate: {{a: 0}}\n{extra}\nplugins:\n  bad: {{wasm: {}}}\n  ref: {{wasm: {}}}\nkafka: {{topics: {{out: {{partitions: 1}}}}}}\nblocks:\n{blocks}",
            plugin("misbehave_plugin"),
            plugin("conformance_plugin")
        ),
    )
}

fn fail(extra: &str, blocks: &str) -> (Vec<String>, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = RunArgs::new(scenario_with(dir.path(), extra, blocks));
    args.out = Some(dir.path().join("out"));
    args.kafka = KafkaTarget::None;
    match run(&args, None) {
        Err(RunError::JobsFailed { failures, .. }) => {
            let records = read(&dir.path().join("out/records.jsonl"));
            (failures.iter().map(|f| f.to_string()).collect(), records, dir)
        }
        other => panic!("expected failed jobs, got {other:?}"),
    }
}

#[test]
fn a_panic_names_plugin_export_job_timestep_and_keeps_earlier_records() {
    let (errs, records, _d) = fail("", "  - policies: [{fn: bad.panic_policy, args: {at: 3}}]\n");
    assert_eq!(errs.len(), 2, "both runs fail");
    assert!(
        errs[0].starts_with("plugin `bad` export `panic_policy` failed in simulation 0 subset 0 run 1 at timestep 4, substep 1 (block 1): the plugin reported:"),
        "{}",
        errs[0]
    );
    // The policy sees the previous record (timestep 3) and panics on it.
    assert!(errs[0].contains("panicked at timestep 3"), "the guest's own panic message is kept: {}", errs[0]);
    // Initial row plus timesteps 1 to 3, for each of the two runs.
    assert_eq!(records.lines().count(), 8, "{records}");
}

#[test]
fn an_endless_loop_hits_the_call_timeout() {
    let started = std::time::Instant::now();
    let (errs, _, _d) = fail("limits: {call_timeout: 300ms}", "  - policies: [bad.spin_forever]\n");
    assert!(errs[0].contains("did not finish within 300ms"), "{}", errs[0]);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn eating_memory_hits_the_memory_cap() {
    let (errs, _, _d) = fail("limits: {memory: 32MiB}", "  - policies: [bad.eat_memory]\n");
    assert!(errs[0].contains("32 MiB") || errs[0].contains("memory"), "{}", errs[0]);
    assert!(errs[0].contains("export `eat_memory`"), "{}", errs[0]);
}

#[test]
fn garbage_outputs_and_bad_emits_are_reported() {
    for (blocks, want) in [
        ("  - policies: [bad.bad_output]\n", "not one MessagePack value"),
        ("  - policies: [bad.fail_policy]\n", "the plugin reported:"),
        ("  - policies: [bad.not_a_map]\n", "policy output is not a map of signals (got int)"),
        (
            "  - policies: [bad.emit_unknown_topic]\n",
            "emitted to topic alias `nope`, which `kafka.topics` does not declare (declared: out)",
        ),
    ] {
        let (errs, _, _d) = fail("", blocks);
        assert!(errs[0].contains(want), "want {want:?} in {}", errs[0]);
    }
}

#[test]
fn a_type_change_at_run_time_is_caught() {
    // A hand-written plugin without describe exports: the engine cannot check it before the run,
    // so the check happens on its first output (a string for a number variable).
    let dir = tempfile::tempdir().unwrap();
    let wat = dir.path().join("w.wat");
    std::fs::write(
        &wat,
        r#"(module (memory (export "memory") 1) (data (i32.const 16) "\a1x")
            (func (export "distroduce_abi_version") (result i32) i32.const 1)
            (func (export "distroduce_alloc") (param i32) (result i32) i32.const 1024)
            (func (export "f") (param i32 i32) (result i64) i64.const 0x1000000002))"#,
    )
    .unwrap();
    let p = scenario(dir.path(), &format!("name: t\nruns: 1\ntimesteps: 3\nstate: {{a: 0}}\nplugins:\n  w: {{wasm: {}}}\nblocks:\n  - updates: {{a: w.f}}\n", wat.display()));
    let mut args = RunArgs::new(&p);
    args.out = Some(dir.path().join("out"));
    args.kafka = KafkaTarget::None;
    match run(&args, None) {
        Err(RunError::JobsFailed { failures, .. }) => {
            let e = failures[0].to_string();
            assert!(e.contains("export `f` failed in simulation 0 subset 0 run 1 at timestep 1, substep 1"), "{e}");
            assert!(e.contains("the update of `a` returned str, but `a` is number"), "{e}");
        }
        other => panic!("expected a failed job, got {other:?}"),
    }
}

#[test]
fn the_cli_exits_1_on_a_failed_run_and_2_on_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let p = scenario_with(dir.path(), "", "  - policies: [bad.fail_policy]\n");
    let out_dir = dir.path().join("out");
    let out = engine(&["run", p.to_str().unwrap(), "--kafka", "none", "--out", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(out_dir.join("summary.json").is_file());
    std::fs::write(&p, "name: [").unwrap();
    assert_eq!(engine(&["run", p.to_str().unwrap()]).status.code(), Some(2));
}

#[test]
fn wasi_is_locked_down_and_follows_the_virtual_clock() {
    let dir = tempfile::tempdir().unwrap();
    let p = scenario(
        dir.path(),
        &format!(
            "name: probe\nruns: 2\ntimesteps: 2\nclock: {{start: \"2019-10-03T00:00:00Z\", step: 1s}}\nstate: {{seen: {{}}}}\nstate_types: {{seen: any}}\nplugins:\n  w: {{wasm: {}}}\nblocks:\n  - policies: [w.probe]\n    updates: {{}}\n",
            plugin("wasi_probe_plugin")
        ),
    );
    let model = distroduce::scenario::load(&p).unwrap();
    let (backend, _resolved) = distroduce::plugin_host::wasm::WasmBackend::load(&model).unwrap();
    use distroduce::plugin_host::{Backend, CallSetup, Slot};
    let call = |seed: u64, now: i64| {
        let mut job = backend.instantiate(seed).unwrap();
        let input = distroduce::model::value::json::from_json(
            &serde_json::json!({"ctx": {"simulation": 0, "subset": 0, "run": 1, "timestep": 1, "substep": 1, "seed": 1, "time_ns": now}, "params": {}, "state": {}}),
        );
        let mut out = Vec::new();
        job.call(Slot { plugin: 0, func: 0 }, &[&input], CallSetup { seed: 1, now_ns: now }, &mut out).unwrap();
        distroduce::model::value::json::to_json(&out).unwrap()
    };
    let t = 1_570_060_801_000_000_000i64;
    let a = call(42, t);
    assert_eq!(a["env_count"], 0, "{a}");
    assert_eq!(a["args_count"], 0, "{a}");
    assert_eq!(a["time_ns"], t, "the wall clock is the virtual clock: {a}");
    assert!(a["read_dir"].as_str().unwrap().starts_with("err"), "{a}");
    assert!(a["open_passwd"].as_str().unwrap().starts_with("err"), "{a}");
    assert_eq!(a, call(42, t), "same job seed, same random bytes");
    assert_ne!(a["random_hex"], call(43, t)["random_hex"], "another job, other random bytes");
}

/// A record file that cannot be written (here /dev/full: "No space left on device") stops the
/// run with the file named, and the messages produced before are still flushed and counted.
#[test]
fn a_full_output_disk_names_the_file_and_still_flushes_the_messages() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::os::unix::fs::symlink("/dev/full", out.join("records.jsonl")).unwrap();
    let chat = format!("chat={}", plugin("chat_plugin"));
    let o = engine(&[
        "run",
        repo().join("scenarios/chat.yaml").to_str().unwrap(),
        "--plugin",
        &chat,
        "--runs",
        "2",
        "--timesteps",
        "20000",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("records.jsonl") && err.contains("No space left on device"), "{err}");
    assert!(err.contains("messages produced before were flushed"), "{err}");
    assert!(!err.contains(" 0 acknowledged"), "messages were dropped: {err}");
}
