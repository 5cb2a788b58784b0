//! Hostile plugins (issue 12): whatever bytes a plugin hands back — values nested 10k levels deep,
//! strings that are not UTF-8, describe maps 200k levels deep, start functions that never return —
//! the engine neither crashes nor hangs. The call fails with an error naming plugin, export, job
//! and timestep; the other jobs' records are complete.
//!
//! The plugins are inline WAT. [`picky`] builds one whose function `f` misbehaves only in run 1:
//! it finds the `run` entry of its input's `ctx` (bytes `a3 'r' 'u' 'n'`, then a fixint).

use crate::common::*;
use std::time::{Duration, Instant};

/// `bytes` as a WAT data string.
fn wat_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// A module whose export `f` returns `good` in every run but run 1, where it returns `bad`, or,
/// with `emit_bad`, emits `bad` and returns `good`. `extra` is spliced into the module.
fn picky(good: &[u8], bad: &[u8], emit_bad: bool, extra: &str) -> String {
    let (gl, bl) = (good.len(), bad.len());
    let bad_call = if emit_bad {
        format!("(call $emit (i32.const 4096) (i32.const {bl})) (i64.const {})", (256u64 << 32) | gl as u64)
    } else {
        format!("(i64.const {})", (4096u64 << 32) | bl as u64)
    };
    picky_code(good, bad, &bad_call, 4, extra)
}

/// [`picky`] with the instructions run 1 executes (`bad_call`, leaving the packed output as an
/// i64; `bad` is at 4096) and the memory size in pages. `$emit` and `$log` are imported.
fn picky_code(good: &[u8], bad: &[u8], bad_call: &str, pages: u32, extra: &str) -> String {
    let (g, b) = (wat_bytes(good), wat_bytes(bad));
    let gl = good.len();
    format!(
        r#"(module
  (import "distroduce" "emit" (func $emit (param i32 i32)))
  (import "distroduce" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") {pages})
  (data (i32.const 256) "{g}")
  (data (i32.const 4096) "{b}")
  (func (export "distroduce_abi_version") (result i32) i32.const 1)
  (func (export "distroduce_alloc") (param i32) (result i32) i32.const 65536)
  {extra}
  (func (export "f") (param $ptr i32) (param $len i32) (result i64)
    (local $i i32) (local $end i32) (local $run i32)
    (local.set $i (local.get $ptr))
    (local.set $end (i32.sub (i32.add (local.get $ptr) (local.get $len)) (i32.const 4)))
    (block $found
      (loop $scan
        (br_if $found (i32.ge_u (local.get $i) (local.get $end)))
        (if (i32.eq (i32.load (local.get $i)) (i32.const 0x6e7572a3))
          (then (local.set $run (i32.load8_u offset=4 (local.get $i))) (br $found)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scan)))
    (if (result i64) (i32.eq (local.get $run) (i32.const 1))
      (then {bad_call})
      (else (i64.const {good_ret})))))"#,
        good_ret = (256u64 << 32) | gl as u64,
    )
}

/// Run a scenario using `wat` as plugin `w` with 2 runs of 3 timesteps; `blocks` uses `w.f`.
/// Returns (exit code, stderr, records.jsonl, elapsed).
fn run_hostile(wat: &str, state: &str, blocks: &str) -> (i32, String, String, Duration) {
    let h = run_measured(wat, "", state, blocks);
    (h.code, h.err, h.records, h.elapsed)
}

/// What a hostile run left: exit code, stderr, records.jsonl, wall time, the engine's peak RSS.
struct Hostile {
    code: i32,
    err: String,
    records: String,
    elapsed: Duration,
    peak_rss: u64,
}

/// [`run_hostile`] with `extra` (e.g. a `limits:` line) in the scenario, measuring the engine's
/// peak RSS.
fn run_measured(wat: &str, extra: &str, state: &str, blocks: &str) -> Hostile {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w.wat");
    std::fs::write(&w, wat).unwrap();
    let p = scenario(
        dir.path(),
        &format!(
            "name: t\nruns: 2\ntimesteps: 3\n{extra}\nstate: {state}\nplugins:\n  w: {{wasm: {}}}\nkafka: {{topics: {{out: {{partitions: 1}}}}}}\nblocks:\n{blocks}",
            w.display()
        ),
    );
    let out = dir.path().join("out");
    let m = engine_measured(&["run", p.to_str().unwrap(), "--kafka", "none", "--out", out.to_str().unwrap()]);
    let records = std::fs::read_to_string(out.join("records.jsonl")).unwrap_or_default();
    Hostile {
        code: m.output.status.code().unwrap_or(-1),
        err: stderr(&m.output),
        records,
        elapsed: m.elapsed,
        peak_rss: m.peak_rss,
    }
}

/// Records of run `run`, one per line.
fn records_of_run(records: &str, run: u64) -> usize {
    records.lines().filter(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["run"] == run).count()
}

/// 10 KB of `0x91` (a one-element list) ending in nil: 10k levels deep.
fn deep_list() -> Vec<u8> {
    let mut b = vec![0x91u8; 10_000];
    b.push(0xc0);
    b
}

fn assert_contained(what: &str, (code, err, records, elapsed): (i32, String, String, Duration), want: &str) {
    assert_eq!(code, 1, "{what}: the run fails with exit code 1 (no abort): {err}");
    assert!(
        err.contains("plugin `w` export `f` failed in simulation 0 subset 0 run 1 at timestep 1, substep 1"),
        "{what}: the failure names plugin, export, job and timestep: {err}"
    );
    assert!(err.contains(want), "{what}: want {want:?} in {err}");
    assert_eq!(records_of_run(&records, 2), 4, "{what}: run 2 is complete (initial row + 3 timesteps): {records}");
    assert!(elapsed < Duration::from_secs(30), "{what}: took {elapsed:?}");
}

#[test]
fn deep_messagepack_outputs_and_emits_fail_the_call_not_the_process() {
    let deep = deep_list();
    // A state update returning a 10k-deep list.
    assert_contained(
        "update output",
        run_hostile(&picky(&[0x00], &deep, false, ""), "{a: 0}", "  - updates: {a: w.f}\n"),
        "nested more than 128 levels deep",
    );
    // A policy returning a signal map whose value is 10k deep.
    let mut signal = vec![0x81, 0xa1, b's'];
    signal.extend_from_slice(&deep);
    assert_contained(
        "policy output",
        run_hostile(&picky(&[0x80], &signal, false, ""), "{a: 0}", "  - policies: [w.f]\n"),
        "nested more than 128 levels deep",
    );
    // An emit whose value is 10k deep.
    let mut msg =
        vec![0x82, 0xa5, b't', b'o', b'p', b'i', b'c', 0xa3, b'o', b'u', b't', 0xa5, b'v', b'a', b'l', b'u', b'e'];
    msg.extend_from_slice(&deep);
    assert_contained(
        "emit",
        run_hostile(&picky(&[0x80], &msg, true, ""), "{a: 0}", "  - policies: [w.f]\n"),
        "bad emitted message: emit payload: malformed MessagePack",
    );
}

#[test]
fn a_describe_map_200k_deep_is_refused_by_validate_and_plugin_check() {
    let mut deep = [0x81u8, 0xa1, b'k'].repeat(200_000);
    deep.push(0xc0);
    let describe = format!(
        r#"(data (i32.const 65536) "{}")
  (func (export "distroduce_describe_f") (result i64) i64.const {})"#,
        wat_bytes(&deep),
        (65536u64 << 32) | deep.len() as u64
    );
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w.wat");
    std::fs::write(
        &w,
        picky(&[0x80], &[0x80], false, &describe)
            .replace("(memory (export \"memory\") 4)", "(memory (export \"memory\") 16)"),
    )
    .unwrap();
    let p = scenario(
        dir.path(),
        &format!("name: t\nruns: 1\ntimesteps: 1\nstate: {{a: 0}}\nplugins:\n  w: {{wasm: {}}}\nblocks:\n  - policies: [w.f]\n", w.display()),
    );
    let o = engine(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("plugin `w`: distroduce_describe_f returned malformed MessagePack")
            && stderr(&o).contains("nested more than 128 levels deep"),
        "{}",
        stderr(&o)
    );
    let o = engine(&["plugin", "check", w.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("distroduce_describe_f returned malformed MessagePack"), "{}", stderr(&o));
}

#[test]
fn strings_that_are_not_utf8_fail_the_call_naming_the_plugin() {
    let want = "string is not UTF-8";
    // A state update returning a str whose bytes are not UTF-8.
    assert_contained(
        "update output",
        run_hostile(&picky(&[0xa1, b'x'], &[0xa2, b'o', 0xff], false, ""), "{a: x}", "  - updates: {a: w.f}\n"),
        want,
    );
    // A policy whose signal name (a map key) is not UTF-8.
    assert_contained(
        "signal key",
        run_hostile(&picky(&[0x80], &[0x81, 0xa1, 0xc3, 0x01], false, ""), "{a: 0}", "  - policies: [w.f]\n"),
        want,
    );
    // An emitted message whose value is a non-UTF-8 string.
    let msg = [
        0x82, 0xa5, b't', b'o', b'p', b'i', b'c', 0xa3, b'o', b'u', b't', 0xa5, b'v', b'a', b'l', b'u', b'e', 0xa1,
        0xfe,
    ];
    assert_contained("emit", run_hostile(&picky(&[0x80], &msg, true, ""), "{a: 0}", "  - policies: [w.f]\n"), want);
}

/// A plugin whose start function (`start`) or `_initialize` (`init`) never returns.
fn looping(how: &str) -> String {
    let looper = match how {
        "start" => r#"(func $spin (loop $l (br $l))) (start $spin)"#,
        _ => r#"(func (export "_initialize") (loop $l (br $l)))"#,
    };
    picky(&[0x80], &[0x80], false, looper)
}

#[test]
fn a_start_function_or_initialize_that_loops_hits_the_call_timeout() {
    for how in ["start", "init"] {
        let dir = tempfile::tempdir().unwrap();
        let w = dir.path().join("w.wat");
        std::fs::write(&w, looping(how)).unwrap();
        let p = scenario(
            dir.path(),
            &format!(
                "name: t\nruns: 1\ntimesteps: 1\nstate: {{a: 0}}\nlimits: {{call_timeout: 300ms}}\nplugins:\n  w: {{wasm: {}}}\nblocks:\n  - policies: [w.f]\n",
                w.display()
            ),
        );
        let what = if how == "start" { "its start function" } else { "_initialize" };
        for cmd in ["validate", "run"] {
            let started = Instant::now();
            let o = engine(&[cmd, p.to_str().unwrap(), "--kafka", "none"][..if cmd == "run" { 4 } else { 2 }]);
            assert_eq!(o.status.code(), Some(2), "{how} {cmd}: {}", stderr(&o));
            assert!(
                stderr(&o).contains(&format!("plugin `w`: {what} did not finish within 300ms (limits.call_timeout)")),
                "{how} {cmd}: {}",
                stderr(&o)
            );
            assert!(started.elapsed() < Duration::from_secs(20), "{how} {cmd}: {:?}", started.elapsed());
        }
    }
    // `plugin check` has no scenario: the default call timeout (10 s) bounds it.
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w.wat");
    std::fs::write(&w, looping("start")).unwrap();
    let started = Instant::now();
    let o = engine(&["plugin", "check", w.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("its start function did not finish within 10s (the default limits.call_timeout)"),
        "{}",
        stderr(&o)
    );
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
}

#[test]
fn a_policy_output_with_a_signal_twice_fails_naming_the_plugin() {
    assert_contained(
        "duplicate signal",
        run_hostile(
            &picky(&[0x80], &[0x82, 0xa1, b's', 0x01, 0xa1, b's', 0x02], false, ""),
            "{a: 0}",
            "  - policies: [w.f]\n",
        ),
        "the policy's output map has the signal `s` twice",
    );
}

/// A module whose `f` (a policy returning `{}`) runs `body` with `$sleep (ns)` (a WASI
/// `poll_oneoff` on the monotonic clock, relative) and `$now` (the monotonic clock) at hand.
fn sleeper(body: &str) -> String {
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (memory (export "memory") 4)
  (data (i32.const 256) "\80")
  (func (export "distroduce_abi_version") (result i32) i32.const 1)
  (func (export "distroduce_alloc") (param i32) (result i32) i32.const 65536)
  (func $sleep_on (param $clock i32) (param $ns i64)
    (i32.store8 (i32.const 1032) (i32.const 0))
    (i32.store (i32.const 1040) (local.get $clock))
    (i64.store (i32.const 1048) (local.get $ns))
    (i32.store16 (i32.const 1064) (i32.const 0))
    (if (call $poll (i32.const 1024) (i32.const 2048) (i32.const 1) (i32.const 3072)) (then unreachable))
    (if (i32.ne (i32.load (i32.const 3072)) (i32.const 1)) (then unreachable)))
  (func $sleep (param $ns i64) (call $sleep_on (i32.const 1) (local.get $ns)))
  (func $now (result i64)
    (if (call $clock (i32.const 1) (i64.const 1) (i32.const 3080)) (then unreachable))
    (i64.load (i32.const 3080)))
  (func (export "f") (param i32 i32) (result i64)
    (local $t0 i64)
    {body}
    (i64.const {ret})))"#,
        ret = (256u64 << 32) | 1,
    )
}

#[test]
fn a_wasi_sleep_advances_the_plugins_clock_instead_of_blocking_the_call() {
    // Each call sleeps 30 s on the monotonic clock and 30 s on the realtime clock, with a 1 s call
    // timeout: 6 calls used to take 6 minutes in the host, where the epoch deadline never fires.
    // Sleeps are virtual now: they return at once and the monotonic clock moves by what was slept
    // (the module traps if it did not), so the run succeeds in far less than one sleep.
    let wat = sleeper(
        "(local.set $t0 (call $now))
    (call $sleep (i64.const 30000000000))
    (call $sleep_on (i32.const 0) (i64.const 30000000000))
    (if (i64.lt_u (i64.sub (call $now) (local.get $t0)) (i64.const 60000000000)) (then unreachable))",
    );
    let h = run_measured(&wat, "limits: {call_timeout: 1s}", "{a: 0}", "  - policies: [w.f]\n");
    assert_eq!(h.code, 0, "{}", h.err);
    assert_eq!(h.records.lines().count(), 8, "both runs complete: {}", h.records);
    assert!(h.elapsed < Duration::from_secs(20), "took {:?}", h.elapsed);
    eprintln!("peak RSS, 30 s WASI sleeps: {} MiB", h.peak_rss >> 20);
}

#[test]
fn a_plugin_sleeping_forever_hits_the_call_timeout() {
    // A loop of 300 s sleeps: it used to hang the run for 300 s per iteration; now the loop spins
    // in WebAssembly, where the call timeout stops it.
    let wat = sleeper("(loop $l (call $sleep (i64.const 300000000000)) (br $l))");
    let h = run_measured(&wat, "limits: {call_timeout: 1s}", "{a: 0}", "  - policies: [w.f]\n");
    assert_eq!(h.code, 1, "{}", h.err);
    assert!(
        h.err.contains("plugin `w` export `f` failed in simulation 0 subset 0 run 1 at timestep 1, substep 1")
            && h.err.contains("did not finish within 1s (limits.call_timeout)"),
        "{}",
        h.err
    );
    assert!(h.elapsed < Duration::from_secs(30), "took {:?}", h.elapsed);
    eprintln!("peak RSS, endless 300 s WASI sleeps: {} MiB", h.peak_rss >> 20);
}

/// `times` calls of `import` (`emit` or `log` at error level) with a 16 MiB argument at 65536,
/// then `ret` (the packed output).
fn flood(import: &str, times: u32, ret: u64) -> String {
    let call = match import {
        "emit" => "(call $emit (i32.const 65536) (i32.const 16777216))",
        _ => "(call $log (i32.const 4) (i32.const 65536) (i32.const 16777216))",
    };
    format!(
        "(local.set $i (i32.const 0))
        (block $done (loop $l
          (br_if $done (i32.ge_u (local.get $i) (i32.const {times})))
          {call}
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
        (i64.const {ret})"
    )
}

/// Pages for 16 MiB at 65536 and a bit.
const FLOOD_PAGES: u32 = 260;

/// Each hostile case may use its limit plus this much: the engine itself (wasmtime, the compiled
/// plugin, librdkafka, buffers) stays well under it; the unfixed engine reached 1.8 to 2.1 GB.
const RSS_MARGIN: u64 = 128 << 20;

fn assert_rss(what: &str, h: &Hostile, limit: u64) {
    eprintln!(
        "peak RSS, {what}: {} MiB (limit {} MiB + margin {} MiB)",
        h.peak_rss >> 20,
        limit >> 20,
        RSS_MARGIN >> 20
    );
    assert!(h.peak_rss < limit + RSS_MARGIN, "{what}: peak RSS {} MiB", h.peak_rss >> 20);
}

#[test]
fn growing_a_table_in_a_loop_hits_the_memory_limit() {
    let code = "(loop $l (drop (table.grow $t (ref.null func) (i32.const 65536))) (br $l)) (i64.const 0)";
    let wat = picky_code(&[0x80], &[0x80], code, 4, "(table $t 0 funcref)");
    let h = run_measured(&wat, "limits: {memory: 16MiB, call_timeout: 20s}", "{a: 0}", "  - policies: [w.f]\n");
    assert_contained(
        "table.grow",
        (h.code, h.err.clone(), h.records.clone(), h.elapsed),
        // The table's 8-byte elements and the 256 KiB memory pass 16 MiB together before the
        // table alone passes its 2097152 elements.
        "the plugin's memories and tables together would exceed 16 MiB (limits.memory per plugin instance)",
    );
    assert_rss("table.grow loop, limits.memory 16 MiB", &h, 16 << 20);
}

#[test]
fn emitting_more_than_emit_bytes_in_one_call_fails_it() {
    // 64 messages of 16 MiB in one call, under a 64 MiB memory limit and the default emit_bytes
    // (64 MiB): the fifth is refused and the call fails; what was emitted is dropped with it.
    let wat = picky_code(&[0x80], &[0x80], &flood("emit", 64, 0), FLOOD_PAGES, "");
    let h = run_measured(&wat, "limits: {memory: 64MiB}", "{a: 0}", "  - policies: [w.f]\n");
    assert_contained(
        "emit flood",
        (h.code, h.err.clone(), h.records.clone(), h.elapsed),
        "the plugin emitted more than 64 MiB in one call (limits.emit_bytes); its further messages were refused",
    );
    assert_rss("64 emits of 16 MiB, limits.memory 64 MiB, emit_bytes 64 MiB", &h, (64 + 64) << 20);
}

/// A [`picky_code`] module that also imports `emit_bytes` as `$eb`; topic alias `out` is at 4096.
fn with_emit_bytes(bad_call: &str, pages: u32) -> String {
    picky_code(&[0x80], b"out", bad_call, pages, "").replace(
        "  (import \"distroduce\" \"log\"",
        "  (import \"distroduce\" \"emit_bytes\" (func $eb (param i32 i32 i32 i32 i32 i32)))\n  (import \"distroduce\" \"log\"",
    )
}

/// `emit_bytes` (the optional import that passes topic, key and value as byte ranges) is held to
/// `emit`'s rules: a range past the guest's memory, or a key length other than -1 (no key) that
/// is negative, fails the call naming plugin, job and timestep; 64 values of 16 MiB in one call
/// hit `limits.emit_bytes` without the memory growing past it.
#[test]
fn emit_bytes_ranges_and_sizes_are_held_to_emits_rules() {
    let ret = (256u64 << 32) | 1;
    for (what, call) in [
        (
            "value past the memory",
            "(i32.const 4096) (i32.const 3) (i32.const 0) (i32.const -1) (i32.const 260000) (i32.const 100000)",
        ),
        (
            "topic past the memory",
            "(i32.const 262100) (i32.const 1000) (i32.const 0) (i32.const -1) (i32.const 0) (i32.const 1)",
        ),
        ("key length -2", "(i32.const 4096) (i32.const 3) (i32.const 0) (i32.const -2) (i32.const 0) (i32.const 1)"),
    ] {
        let wat = with_emit_bytes(&format!("(call $eb {call}) (i64.const {ret})"), 4);
        let (code, err, records, elapsed) = run_hostile(&wat, "{a: 0}", "  - policies: [w.f]\n");
        assert_contained(what, (code, err, records, elapsed), "emit_bytes: pointer out of bounds");
    }
    let flood = flood("emit", 64, 0).replace(
        "(call $emit (i32.const 65536) (i32.const 16777216))",
        "(call $eb (i32.const 4096) (i32.const 3) (i32.const 0) (i32.const -1) (i32.const 65536) (i32.const 16777216))",
    );
    assert!(flood.contains("$eb") && !flood.contains("$emit"), "the flood calls emit_bytes: {flood}");
    let h = run_measured(
        &with_emit_bytes(&flood, FLOOD_PAGES),
        "limits: {memory: 64MiB}",
        "{a: 0}",
        "  - policies: [w.f]\n",
    );
    assert_contained(
        "emit_bytes flood",
        (h.code, h.err.clone(), h.records.clone(), h.elapsed),
        "the plugin emitted more than 64 MiB in one call (limits.emit_bytes); its further messages were refused",
    );
    assert_rss("64 emit_bytes of 16 MiB, limits.memory 64 MiB, emit_bytes 64 MiB", &h, (64 + 64) << 20);
}

#[test]
fn logging_more_than_log_bytes_in_one_call_fails_it_and_prints_nothing() {
    // 40 lines of 16 MiB under the default log_bytes (4 MiB): the first is refused.
    let wat = picky_code(&[0x80], &[0x80], &flood("log", 40, 0), FLOOD_PAGES, "");
    let h = run_measured(&wat, "limits: {memory: 64MiB}", "{a: 0}", "  - policies: [w.f]\n");
    assert_contained(
        "log flood",
        (h.code, h.err.clone(), h.records.clone(), h.elapsed),
        "the plugin logged more than 4 MiB in one call (limits.log_bytes)",
    );
    assert!(h.err.len() < 64 << 10, "stderr has {} bytes", h.err.len());
    assert_rss("40 log lines of 16 MiB, default log_bytes", &h, 64 << 20);
}

#[test]
fn long_log_lines_are_cut_in_the_failure_report() {
    // With log_bytes raised, 40 lines of 16 MiB are accepted; the call then returns a value that is
    // not MessagePack. The report's log tail holds 20 lines of at most 4 KiB each, not 320 MiB.
    let call = format!("{} (drop) (i64.const {})", flood("log", 40, 0), (4096u64 << 32) | 1);
    let wat = picky_code(&[0x80], &[0xc1], &call, FLOOD_PAGES, "");
    let h = run_measured(&wat, "limits: {memory: 64MiB, log_bytes: 1GiB}", "{a: 0}", "  - policies: [w.f]\n");
    assert_contained(
        "long log lines",
        (h.code, h.err.clone(), h.records.clone(), h.elapsed),
        "the plugin returned bytes that are not one MessagePack value",
    );
    assert!(
        h.err.contains("last log lines:") && h.err.contains("[16777216 bytes, cut to 4096]"),
        "{}",
        &h.err[..h.err.len().min(4000)]
    );
    assert!(h.err.len() < 256 << 10, "stderr has {} bytes", h.err.len());
    assert_rss("40 log lines of 16 MiB, log_bytes 1 GiB, failure report", &h, 64 << 20);
}

#[test]
fn plugin_logs_are_printed_only_with_verbose() {
    let marker = b"plugin-log-marker";
    let call = format!(
        "(call $log (i32.const 4) (i32.const 8192) (i32.const {})) (i64.const {})",
        marker.len(),
        (256u64 << 32) | 1
    );
    let wat = picky_code(&[0x80], &[0x80], &call, 4, &format!("(data (i32.const 8192) \"{}\")", wat_bytes(marker)));
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w.wat");
    std::fs::write(&w, wat).unwrap();
    let p = scenario(
        dir.path(),
        &format!("name: t\nruns: 2\ntimesteps: 1\nstate: {{a: 0}}\nplugins:\n  w: {{wasm: {}}}\nblocks:\n  - policies: [w.f]\n", w.display()),
    );
    let out = dir.path().join("out");
    let run = |v: &[&str]| {
        let o = engine(&[&["run", p.to_str().unwrap(), "--kafka", "none", "--out", out.to_str().unwrap()], v].concat());
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        stderr(&o)
    };
    let quiet = run(&[]);
    assert!(!quiet.contains("plugin-log-marker"), "an error-level plugin log printed without -v: {quiet}");
    let verbose = run(&["-v"]);
    assert!(verbose.contains("plugin-log-marker"), "with -v the plugin's log is shown: {verbose}");
}

/// A schema file nested 20,000 levels deep (Avro records in records, Protobuf messages in
/// messages) is refused at its place in the scenario, exit 2; the parsers' recursion limits hold,
/// so the engine does not overflow its stack. No registry is asked (its address is closed).
#[test]
fn schemas_nested_20k_deep_are_refused_at_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let n = 20_000;
    let mut avsc = r#""string""#.to_string();
    for i in 0..n {
        avsc = format!(r#"{{"type":"record","name":"R{i}","fields":[{{"name":"f","type":{avsc}}}]}}"#);
    }
    std::fs::write(dir.path().join("deep.avsc"), avsc).unwrap();
    let proto = format!(
        "syntax = \"proto3\";\npackage deep;\n{}string x = 1; {}\n",
        (0..n).map(|i| format!("message M{i} {{ ")).collect::<String>(),
        "}".repeat(n)
    );
    std::fs::write(dir.path().join("deep.proto"), proto).unwrap();
    let reg = "  schema_registry: {url: http://127.0.0.1:1}\n";
    for (format, file, want) in
        [("avro", "deep.avsc", "recursion limit"), ("protobuf", "deep.proto", "maximum recursion limit")]
    {
        let s =
            crate::avro::registry_chat(dir.path(), format, "deep", &format!("      schema: {{file: {file}}}\n"), reg);
        let o = engine(&["validate", s.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{format}: {err}");
        assert!(
            err.lines().next().unwrap_or("").contains(&format!("{}:", s.display())),
            "at its place: {format}: {err}"
        );
        assert!(err.contains(want), "{format}: {err}");
    }
}
