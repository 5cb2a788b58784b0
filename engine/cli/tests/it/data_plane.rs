//! The plugin's in-guest loop (ABI.md §10, `--data-plane fused`) gives exactly what the engine's
//! host loop gives: the same records and messages byte for byte, the same failures blamed on the
//! same function, job, timestep and substep. `auto` uses it wherever the scenario allows.

use crate::common::*;
use distroduce::sim::DataPlane;
use distroduce::{run, KafkaTarget, RunArgs, RunError};

/// A change to a scenario's run arguments (smaller runs for the big models).
type Tweak<'a> = &'a dyn Fn(&mut RunArgs);

struct Outcome {
    records: String,
    messages: String,
    data_plane: String,
}

fn run_with(scenario: &std::path::Path, plane: DataPlane, tweak: Tweak) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let mut args = RunArgs::new(scenario);
    args.out = Some(dir.path().to_path_buf());
    args.threads = 2;
    args.kafka = KafkaTarget::None;
    args.write_messages = true;
    args.data_plane = plane;
    tweak(&mut args);
    let s = run(&args, None).unwrap_or_else(|e| panic!("{}: {e}", scenario.display()));
    Outcome {
        records: read(&dir.path().join("records.jsonl")),
        messages: read(&dir.path().join("messages.jsonl")),
        data_plane: s.data_plane,
    }
}

#[test]
fn both_loops_give_the_same_records_and_messages() {
    let small = |a: &mut RunArgs| {
        a.runs = Some(2);
        a.timesteps = Some(30);
    };
    let cases: Vec<(&str, Tweak)> = vec![
        ("scenarios/conformance/ref1_policy_agg.yaml", &|_| {}),
        ("scenarios/conformance/ref2_param_sweep.yaml", &|_| {}),
        ("scenarios/conformance/ref4_list_signals.yaml", &|_| {}),
        ("scenarios/conformance/sem_identity.yaml", &|_| {}),
        ("scenarios/conformance/sem_no_policies.yaml", &|_| {}),
        ("scenarios/conformance/sem_policy_order.yaml", &|_| {}),
        ("scenarios/conformance/sem_prev_substep_k1.yaml", &|_| {}),
        ("scenarios/conformance/sem_run_numbering.yaml", &|_| {}),
        ("scenarios/conformance/sem_run_order.yaml", &|_| {}),
        ("scenarios/bench/radcad.yaml", &small),
        ("scenarios/chat.yaml", &small),
        ("scenarios/chat-windows.yaml", &small),
        ("scenarios/randomwalk.yaml", &small),
        ("scenarios/iot.yaml", &|a| {
            a.runs = Some(1);
            a.timesteps = Some(5);
        }),
    ];
    for (scenario, tweak) in cases {
        let path = repo().join(scenario);
        let host = run_with(&path, DataPlane::Host, tweak);
        let fused = run_with(&path, DataPlane::Fused, tweak);
        assert_eq!(host.data_plane, "host", "{scenario}");
        assert_eq!(fused.data_plane, "fused", "{scenario}");
        assert!(host.records.lines().count() > 1, "{scenario} wrote records");
        assert!(host.records == fused.records, "{scenario}: the loops' records differ");
        assert!(host.messages == fused.messages, "{scenario}: the loops' messages differ");
        // `auto` picks the in-guest loop for a scenario held by one Rust plugin.
        assert_eq!(run_with(&path, DataPlane::Auto, tweak).data_plane, "fused", "{scenario}");
    }
}

#[test]
fn history_keeps_the_host_loop_and_fused_says_why_not() {
    let path = repo().join("scenarios/conformance/history.yaml");
    assert_eq!(run_with(&path, DataPlane::Auto, &|_| {}).data_plane, "host");
    let mut args = RunArgs::new(&path);
    let dir = tempfile::tempdir().unwrap();
    args.out = Some(dir.path().to_path_buf());
    args.kafka = KafkaTarget::None;
    args.data_plane = DataPlane::Fused;
    let e = run(&args, None).expect_err("refused");
    assert!(matches!(e, RunError::Sim { .. }), "{e}");
    let text = e.to_string();
    assert!(text.contains("--data-plane fused") && text.contains("history"), "{text}");
}

/// A failing function is reported the same way by both loops, and the records before it are kept.
#[test]
fn failures_are_blamed_alike_in_both_loops() {
    let wasm = plugin("misbehave_plugin");
    let cases = [
        ("bad.fail_policy", "misbehave: fail_policy refuses on purpose"),
        ("{fn: bad.panic_policy, args: {at: 2}}", "panic_policy panicked at timestep 2"),
        ("bad.bad_output", "not one MessagePack value"),
        ("bad.not_a_map", "not a map of signals"),
        ("bad.emit_unknown_topic", "nope"),
    ];
    for (policy, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let yaml = format!(
            "name: t\nruns: 2\ntimesteps: 4\nstate: {{calls: 0}}\nplugins:\n  bad: {{wasm: {wasm}}}\n\
             kafka:\n  topics:\n    out: {{name: out}}\nblocks:\n  - policies: [bad.count_calls]\n    updates: {{calls: bad.s_calls}}\n  - policies: [bad.count_calls, {policy}]\n    updates: {{calls: bad.s_calls}}\n"
        );
        let path = scenario(dir.path(), &yaml);
        let outs: Vec<(i32, String, String)> = ["host", "fused"]
            .iter()
            .map(|plane| {
                let out = dir.path().join(plane);
                let o = engine(&[
                    "run",
                    path.to_str().unwrap(),
                    "--kafka",
                    "none",
                    "--threads",
                    "1",
                    "--data-plane",
                    plane,
                    "--out",
                    out.to_str().unwrap(),
                ]);
                (o.status.code().unwrap_or(-1), stderr(&o), read(&out.join("records.jsonl")))
            })
            .collect();
        let (host, fused) = (&outs[0], &outs[1]);
        assert_eq!(host.0, 1, "{policy}: {}", host.1);
        assert_eq!(fused.0, host.0, "{policy}");
        assert!(host.1.contains(want), "{policy}: {}", host.1);
        // The failure lines (plugin, export, job, timestep, substep, block, reason) are the same.
        let failures = |s: &str| s.lines().filter(|l| l.contains(" failed in ")).map(String::from).collect::<Vec<_>>();
        assert!(!failures(&host.1).is_empty(), "{policy}: {}", host.1);
        assert_eq!(failures(&fused.1), failures(&host.1), "{policy}");
        assert_eq!(fused.2, host.2, "{policy}: records kept up to the failure");
    }
}

/// A failure in the middle of a call that runs many timesteps (ABI.md §10,
/// `distroduce_fused_run_many`) is blamed on the same job, timestep, substep and function as in
/// the host loop, and every record and message before it is kept, whether the guest traps or
/// reports the failure.
#[test]
fn a_failure_inside_a_batch_of_timesteps_keeps_everything_before_it() {
    let wasm = plugin("misbehave_plugin");
    for (policy, want) in [
        ("{fn: bad.panic_policy, args: {at: 150}}", "panic_policy panicked at timestep 150"),
        ("{fn: bad.fail_from, args: {at: 123}}", "fail_from refuses at timestep 123"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        // Every timestep emits one message (to the alias `nope`, declared here) before the
        // failing block, so the batch's messages are split at the failure too.
        let yaml = format!(
            "name: t\nruns: 2\ntimesteps: 300\nstate: {{calls: 0}}\nplugins:\n  bad: {{wasm: {wasm}}}\n\
             kafka:\n  topics:\n    nope: {{name: nope}}\nblocks:\n  - policies: [bad.count_calls, bad.emit_unknown_topic]\n    updates: {{calls: bad.s_calls}}\n  - policies: [bad.count_calls, {policy}]\n    updates: {{calls: bad.s_calls}}\n"
        );
        let path = scenario(dir.path(), &yaml);
        let outs: Vec<(i32, String, String, String)> = ["host", "fused"]
            .iter()
            .map(|plane| {
                let out = dir.path().join(plane);
                let args = ["run", path.to_str().unwrap(), "--kafka", "none", "--threads", "1", "--write-messages"];
                let o = engine(&[&args[..], &["--data-plane", plane, "--out", out.to_str().unwrap()]].concat());
                let (records, messages) = (read(&out.join("records.jsonl")), read(&out.join("messages.jsonl")));
                (o.status.code().unwrap_or(-1), stderr(&o), records, messages)
            })
            .collect();
        let (host, fused) = (&outs[0], &outs[1]);
        assert_eq!((host.0, fused.0), (1, 1), "{policy}: {}\n{}", host.1, fused.1);
        assert!(fused.1.contains(want), "{policy}: {}", fused.1);
        let failures = |s: &str| s.lines().filter(|l| l.contains(" failed in ")).map(String::from).collect::<Vec<_>>();
        assert!(!failures(&host.1).is_empty(), "{policy}: {}", host.1);
        assert_eq!(failures(&fused.1), failures(&host.1), "{policy}");
        assert!(fused.2.lines().count() > 200, "{policy}: the records before the failure are kept");
        assert_eq!(fused.2, host.2, "{policy}: records kept up to the failure");
        assert!(fused.3.lines().count() > 100, "{policy}: the messages before the failure are kept");
        assert_eq!(fused.3, host.3, "{policy}: messages kept up to the failure");
    }
}

/// A module with a constant state update `one` (returns 1) and an in-guest loop whose exports
/// are given as WAT.
fn loop_module(load: &str, run: &str, cursor: &str) -> String {
    format!(
        r#"(module
  (memory (export "memory") 1)
  (data (i32.const 16) "\01")
  (data (i32.const 64) "\00\00\00\00\00\00\00\00\01\00\00\00\00\00\00\00\00\00\00\00\01\00\00\00\00\ff\ff\ff\64\00\00\00")
  (func (export "distroduce_abi_version") (result i32) i32.const 1)
  (func (export "distroduce_alloc") (param i32) (result i32) i32.const 1024)
  (func (export "one") (param i32 i32) (result i64) i64.const 0x0000001000000001)
  (func (export "distroduce_fused_load") (param i32 i32) (result i32) {load})
  (func (export "distroduce_fused_run") (param i64 i64) (result i32) {run})
  (func (export "distroduce_fused_cursor") (result i32) {cursor}))"#
    )
}

fn run_module(wat: &str, plane: &str) -> (i32, String, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w.wat");
    std::fs::write(&w, wat).unwrap();
    let yaml = format!(
        "name: t\nruns: 2\ntimesteps: 3\nstate: {{a: 0}}\nplugins:\n  w: {{wasm: {}}}\nblocks:\n  - updates: {{a: w.one}}\n",
        w.display()
    );
    let p = scenario(dir.path(), &yaml);
    let out = dir.path().join("out");
    let o =
        engine(&["run", p.to_str().unwrap(), "--kafka", "none", "--data-plane", plane, "--out", out.to_str().unwrap()]);
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap_or_default();
    (o.status.code().unwrap_or(-1), stderr(&o), read(&out.join("records.jsonl")), summary)
}

/// A plugin may decline the program (an SDK that does not know something in it): `auto` runs the
/// jobs through the host loop and says so; `fused` fails them, saying why.
#[test]
fn a_declined_program_falls_back_to_the_host_loop() {
    let declines = loop_module("i32.const 3", "i32.const 3", "i32.const 0");
    let (code, err, records, summary) = run_module(&declines, "auto");
    assert_eq!(code, 0, "{err}");
    assert_eq!(records.lines().count(), 2 * 4);
    assert!(summary.contains(r#""data_plane": "host""#), "{summary}");
    let (code, err, _, _) = run_module(&declines, "fused");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("declined the program"), "{err}");
}

/// A loop that lies about its records (pointer past its memory) or stops without an error fails
/// its job with a named reason; the engine neither panics nor records anything it did not check.
#[test]
fn a_lying_loop_fails_cleanly() {
    // The cursor at 64 points its records past the memory; the one at 128 is all zeros (done,
    // no block completed).
    for (cursor, want) in [("i32.const 64", "lie outside its memory"), ("i32.const 128", "completed 0 of 1 blocks")] {
        let liar = loop_module("i32.const 0", "i32.const 0", cursor);
        let (code, err, records, _) = run_module(&liar, "fused");
        assert_eq!(code, 1, "{cursor}: {err}");
        assert!(err.contains("plugin `w` export `distroduce_fused_run`"), "{cursor}: {err}");
        assert!(err.contains(want), "{cursor}: {err}");
        assert_eq!(records.lines().count(), 2, "{cursor}: only the initial records");
    }
}

/// Without a record writer (`--format none`) the engine keeps no values from the in-guest loop,
/// but it still checks each one: a value of the wrong type fails the job exactly as with records.
#[test]
fn values_are_checked_without_a_record_writer() {
    // A loop whose one block returns the string "x" for the int variable `a`: at 256 the records
    // (no emits, one value of 2 bytes), at 128 the cursor (block 1 done, records at 256, 10 bytes).
    let wat = r#"(module
  (memory (export "memory") 1)
  (data (i32.const 128) "\00\00\00\00\00\00\00\00\01\00\00\00\00\00\00\00\00\00\00\00\01\00\00\00\00\01\00\00\0a\00\00\00\00\00\00\00\00\00\00\00")
  (data (i32.const 256) "\00\00\00\00\02\00\00\00\a1x")
  (func (export "distroduce_abi_version") (result i32) i32.const 1)
  (func (export "distroduce_alloc") (param i32) (result i32) i32.const 1024)
  (func (export "one") (param i32 i32) (result i64) i64.const 0x0000001000000001)
  (func (export "distroduce_fused_load") (param i32 i32) (result i32) i32.const 0)
  (func (export "distroduce_fused_run") (param i64 i64) (result i32) i32.const 0)
  (func (export "distroduce_fused_cursor") (result i32) i32.const 128))"#;
    let failures = |format: &str| {
        let o = run_fused(wat, format);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "--format {format}: {err}");
        err.lines().filter(|l| l.contains(" failed in ")).map(String::from).collect::<Vec<_>>()
    };
    let with_records = failures("jsonl");
    assert!(with_records.iter().any(|l| l.contains("export `one`") && l.contains("returned str")), "{with_records:?}");
    assert_eq!(failures("none"), with_records);
}

/// Runs a one-block scenario (`a: 0`, one run of 3 timesteps) on the loop module `wat` through
/// the in-guest loop, with `--format format`.
fn run_fused(wat: &str, format: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w.wat");
    std::fs::write(&w, wat).unwrap();
    let yaml = format!(
        "name: t\nruns: 1\ntimesteps: 3\nstate: {{a: 0}}\nplugins:\n  w: {{wasm: {}}}\nblocks:\n  - updates: {{a: w.one}}\n",
        w.display()
    );
    let p = scenario(dir.path(), &yaml);
    let out = dir.path().join("out");
    let args = ["run", p.to_str().unwrap(), "--kafka", "none", "--data-plane", "fused", "--format", format, "--out"];
    let mut args: Vec<&str> = args.to_vec();
    args.push(out.to_str().unwrap());
    engine(&args)
}

/// Without a record writer the engine lets the loop leave values out (ABI.md §10, `values:
/// false`), but only after it checked a value of the same update in the job; with records, never.
#[test]
fn values_are_left_out_only_after_a_checked_one_and_only_without_records() {
    // Cursor at 128: block 1 done, records at 256 (9 bytes: no emits, `a = 0`). From timestep
    // `from` on, the value's length word is 0xFFFFFFFF (left out) and the records 8 bytes.
    let wat = |from: u64| lean_wat(from, [0, -1]);
    let o = run_fused(&wat(2), "none");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for (from, format) in [(2, "jsonl"), (1, "none")] {
        let o = run_fused(&wat(from), format);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "from {from}, --format {format}: {err}");
        assert!(err.contains("left out a value the engine reads"), "from {from}, --format {format}: {err}");
        assert!(err.contains(&format!("timestep {from}")), "from {from}, --format {format}: {err}");
    }
}

/// A quiet run (ABI.md §10, `quiet_runs`: the word 0xFFFFFFFE and a count of blocks that emitted
/// nothing and left out every value) is read under the rules of a left-out value; a count of no
/// block or of more blocks than the call completed fails the job on the loop.
#[test]
fn quiet_runs_follow_the_left_out_rules_and_count_completed_blocks() {
    let o = run_fused(&lean_wat(2, [-2, 1]), "none");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let cases = [
        (2, [-2, 1], "jsonl", "left out a value the engine reads"),
        (1, [-2, 1], "none", "left out a value the engine reads"),
        (3, [-2, 0], "none", "empty quiet run"),
        (3, [-2, 2], "none", "quiet run counts 1 blocks more than it completed"),
    ];
    for (from, words, format, want) in cases {
        let o = run_fused(&lean_wat(from, words), format);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{words:?} from {from}, --format {format}: {err}");
        assert!(err.contains(want), "{words:?} from {from}, --format {format}: {err}");
        assert!(err.contains(&format!("timestep {from}")), "{words:?} from {from}, --format {format}: {err}");
    }
}

/// A one-block loop whose records (at 256, after the cursor at 128) are `a = 0` with no emits
/// until timestep `from`, and from then on the two words `words` (8 bytes).
fn lean_wat(from: u64, words: [i32; 2]) -> String {
    let [w0, w1] = words;
    format!(
        r#"(module
  (memory (export "memory") 1)
  (data (i32.const 128) "\00\00\00\00\00\00\00\00\01\00\00\00\00\00\00\00\00\00\00\00\01\00\00\00\00\01\00\00\09\00\00\00\00\00\00\00\00\00\00\00")
  (data (i32.const 256) "\00\00\00\00\01\00\00\00\00")
  (func (export "distroduce_abi_version") (result i32) i32.const 1)
  (func (export "distroduce_alloc") (param i32) (result i32) i32.const 1024)
  (func (export "one") (param i32 i32) (result i64) i64.const 0x0000001000000001)
  (func (export "distroduce_fused_load") (param i32 i32) (result i32) i32.const 0)
  (func (export "distroduce_fused_run") (param i64 i64) (result i32)
    (if (i64.ge_u (local.get 0) (i64.const {from}))
      (then (i32.store (i32.const 256) (i32.const {w0})) (i32.store (i32.const 260) (i32.const {w1}))
        (i32.store (i32.const 156) (i32.const 8))))
    i32.const 0)
  (func (export "distroduce_fused_cursor") (result i32) i32.const 128))"#
    )
}
