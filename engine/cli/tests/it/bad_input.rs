//! Every class of bad scenario is reported before anything runs, at `file:line:col`, with what to
//! do, and `engine` exits with code 2.

use crate::common::*;

/// Run `engine validate` on `yaml` and return (exit code, stderr).
pub(crate) fn validate(yaml: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), yaml);
    let out = engine(&["validate", path.to_str().unwrap()]);
    (out.status.code().unwrap_or(-1), stderr(&out).replace(&format!("{}/", dir.path().display()), ""))
}

pub(crate) fn base(blocks: &str) -> String {
    format!(
        "name: t\nruns: 1\ntimesteps: 2\nstate: {{a: 0, b: 0, c: 0, d: 1}}\nplugins:\n  ref: {{wasm: {}}}\nblocks:\n{blocks}",
        plugin("conformance_plugin")
    )
}

pub(crate) const GOOD: &str =
    "  - policies: [ref.p_inc_a, ref.p_inc_b]\n    updates: {a: ref.s_a, b: ref.s_b1, c: ref.s_c}\n";

#[test]
fn a_good_scenario_validates() {
    let (code, err) = validate(&base(GOOD));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn yaml_syntax_error_points_at_line_and_column() {
    let (code, err) = validate("name: t\nruns: [1\n");
    assert_eq!(code, 2);
    assert!(err.starts_with("error: scenario.yaml:"), "{err}");
}

#[test]
fn unknown_field_is_named_with_its_position() {
    let (code, err) = validate(&base(GOOD).replace("timesteps: 2", "timestep: 2"));
    assert_eq!(code, 2);
    assert!(err.contains("scenario.yaml:3:1: unknown field `timestep`"), "{err}");
}

#[test]
fn wrong_value_type_is_reported() {
    let (code, err) = validate(&base(GOOD).replace("runs: 1", "runs: many"));
    assert_eq!(code, 2);
    assert!(err.contains("scenario.yaml:2:7: runs: invalid type"), "{err}");
}

#[test]
fn unknown_state_variable_in_updates_points_at_the_key() {
    let (code, err) = validate(&base("  - policies: [ref.p_inc_a]\n    updates: {a: ref.s_a, zz: ref.s_c}\n"));
    assert_eq!(code, 2);
    assert!(err.contains("scenario.yaml:9:27: block 1 updates `zz`, which is not a state variable"), "{err}");
    assert!(err.contains("declared: a, b, c, d"), "{err}");
}

#[test]
fn unknown_plugin_and_malformed_function_names() {
    let (code, err) = validate(&base("  - policies: [nope.p, justaname]\n"));
    assert_eq!(code, 2);
    assert!(err.contains("scenario.yaml:8:16: unknown plugin `nope` in `nope.p`"), "{err}");
    assert!(err.contains("`justaname` does not name a plugin function"), "{err}");
}

#[test]
fn missing_export_lists_what_the_plugin_has() {
    let (code, err) = validate(&base("  - policies: [ref.p_typo]\n"));
    assert_eq!(code, 2);
    assert!(err.contains("scenario.yaml:8:16: plugin `ref` has no export `p_typo`"), "{err}");
    assert!(err.contains("p_inc_a"), "{err}");
}

#[test]
fn runs_zero_sweep_mismatch_and_bad_limits() {
    let y = base(GOOD)
        .replace("runs: 1", "runs: 0")
        .replace("state:", "params: {x: [1, 2], y: [1, 2, 3]}\nlimits: {memory: lots}\nstate:");
    let (code, err) = validate(&y);
    assert_eq!(code, 2);
    assert!(err.contains("`runs` must be at least 1"), "{err}");
    assert!(err.contains("param `x` has 2 values but `y` has 3"), "{err}");
    assert!(err.contains("cannot read `lots` as a size"), "{err}");
}

#[test]
fn initial_value_must_match_declared_type() {
    let y = base(GOOD).replace("state:", "state_types: {a: str}\nstate:");
    let (code, err) = validate(&y);
    assert_eq!(code, 2);
    assert!(err.contains("initial value of `a` is int but its declared type is str"), "{err}");
}

#[test]
fn plugin_file_missing() {
    let (code, err) = validate(&base(GOOD).replace(&plugin("conformance_plugin"), "/nonexistent/x.wasm"));
    assert_eq!(code, 2);
    assert!(err.contains("no such file /nonexistent/x.wasm") && err.contains("scripts/build-plugins"), "{err}");
}

#[test]
fn a_plugin_path_that_is_a_directory_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let (code, err) = validate(&base(GOOD).replace(&plugin("conformance_plugin"), &d));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("scenario.yaml:6:8: plugin `ref`: expected a .wasm file, but this is a directory: {d}")),
        "{err}"
    );
}

fn misbehave(blocks: &str) -> String {
    format!(
        "name: t\nruns: 1\ntimesteps: 1\nstate: {{a: 0}}\nplugins:\n  bad: {{wasm: {}}}\nblocks:\n{blocks}",
        plugin("misbehave_plugin")
    )
}

#[test]
fn policy_used_as_update_and_wrong_output_type() {
    let (code, err) = validate(&misbehave("  - updates: {a: bad.fail_policy}\n  - updates: {a: bad.wrong_type}\n"));
    assert_eq!(code, 2);
    assert!(err.contains("`bad.fail_policy` is a policy but block 1 uses it to update `a`"), "{err}");
    assert!(err.contains("`bad.wrong_type` returns str but state variable `a` is number"), "{err}");
}

#[test]
fn plugin_reading_undeclared_state_or_missing_args() {
    // p_inc_b reads state `a`, which this scenario does not declare; panic_policy needs args.at.
    let y = format!(
        "name: t\nruns: 1\ntimesteps: 1\nstate: {{b: 0}}\nplugins:\n  ref: {{wasm: {}}}\n  bad: {{wasm: {}}}\nblocks:\n  - policies: [ref.p_inc_b, bad.panic_policy]\n",
        plugin("conformance_plugin"),
        plugin("misbehave_plugin")
    );
    let (code, err) = validate(&y);
    assert_eq!(code, 2);
    assert!(err.contains("`ref.p_inc_b` reads state variable `a`, which the scenario does not declare"), "{err}");
    assert!(err.contains("`bad.panic_policy` needs argument `at`"), "{err}");
}

fn wat_plugin(dir: &std::path::Path, wat: &str) -> String {
    let p = dir.join("p.wat");
    std::fs::write(&p, wat).unwrap();
    p.display().to_string()
}

#[test]
fn modules_that_do_not_fit_the_abi_are_rejected_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        // Not a distroduce plugin at all.
        (
            r#"(module (memory (export "memory") 1) (func (export "f") (param i32 i32) (result i64) i64.const 0))"#,
            "does not export `distroduce_abi_version`",
        ),
        // A forbidden import.
        (
            r#"(module (import "env" "socket" (func)) (memory (export "memory") 1))"#,
            "imports `env::socket`, which the engine does not provide",
        ),
        // Wrong function signature.
        (
            r#"(module (memory (export "memory") 1) (func (export "distroduce_abi_version") (result i32) i32.const 1)
                (func (export "distroduce_alloc") (param i32) (result i32) i32.const 0) (func (export "f") (param i32) (result i32) i32.const 0))"#,
            "`w.f` has type (i32) -> (i32), but plugin functions must be (i32, i32) -> i64",
        ),
        // Another ABI version.
        (
            r#"(module (memory (export "memory") 1) (func (export "distroduce_abi_version") (result i32) i32.const 2)
                (func (export "distroduce_alloc") (param i32) (result i32) i32.const 0) (func (export "f") (param i32 i32) (result i64) i64.const 0))"#,
            "speaks distroduce ABI version 2, this engine speaks 1",
        ),
    ];
    for (wat, want) in cases {
        let y = format!("name: t\nruns: 1\ntimesteps: 1\nstate: {{a: 0}}\nplugins:\n  w: {{wasm: {}}}\nblocks:\n  - policies: [w.f]\n", wat_plugin(dir.path(), wat));
        let (code, err) = validate(&y);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(want), "want {want:?} in:\n{err}");
    }
}

#[test]
fn schema_is_json_and_describes_the_scenario() {
    let out = engine(&["schema"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["properties"]["blocks"].is_object() && v["properties"]["kafka"].is_object(), "{v}");
    assert_eq!(v["required"].as_array().unwrap().len(), 6, "{v}");
}

#[test]
fn kafka_and_clock_settings_are_checked_with_positions() {
    let y = base(GOOD).replace(
        "state:",
        "clock: {step: 0s, realtime: true}\nkafka:\n  rate: -5\n  warmup: soon\n  records_topic: nowhere\n  topics:\n    t: {partitions: 2, partition: 7, key: \"{room\"}\nstate:",
    );
    let (code, err) = validate(&y);
    assert_eq!(code, 2);
    for want in [
        "`realtime: true` needs a clock `step` above 0s",
        "`rate` must be a positive number of messages per second, not -5",
        "cannot read `soon` as a duration",
        "`records_topic` names `nowhere`, which `kafka.topics` does not declare",
        "partition 7 does not exist: the topic has 2 partitions",
        "unclosed `{` in key template `{room`",
    ] {
        let line = err.lines().find(|l| l.contains(want)).unwrap_or_else(|| panic!("want {want:?} in:\n{err}"));
        assert!(line.starts_with("error: scenario.yaml:"), "positioned: {line}");
    }
}

#[test]
fn disorder_and_expectation_errors_are_positioned_with_hints() {
    let y = base(GOOD).replace(
        "state:",
        concat!(
            "clock: {step: 0s}\n",
            "kafka:\n",
            "  topics:\n",
            "    t:\n",
            "      disorder:\n",
            "        late: {fraction: 1.5, by: 15s}\n",
            "        jitter: 3s\n",
            "        duplicate: 0.1\n",
            "expectations:\n",
            "  a:\n",
            "    from: nope\n",
            "    key: \"{room\"\n",
            "    window: 0s\n",
            "    aggregate: sum\n",
            "    oracle_topic: gone\n",
            "    output: {topic: out, key: header.x, value: value}\n",
            "    tolerance: -1\n",
            "  b:\n",
            "    from: t\n",
            "    key: \"{room}\"\n",
            "    field: n\n",
            "state:"
        ),
    );
    let (code, err) = validate(&y);
    assert_eq!(code, 2, "{err}");
    for (want, hint) in [
        ("a fraction must be between 0 and 1, not 1.5", "5% of messages"),
        ("late messages need a clock that advances", "clock: {step: 1s}"),
        ("jitter needs a clock that advances", "clock: {step: 1s}"),
        ("duplicates need `kafka.id_header: true`", "distroduce-id"),
        ("`from: nope` is not a topic alias under `kafka.topics`", "declared topic aliases: t"),
        ("unclosed `{` in key template `{room`", "{field}"),
        ("a window must be longer than 0ms", "window: 10s"),
        ("`aggregate: sum` needs the numeric `field` it reads", "dotted path"),
        ("`oracle_topic: gone` is not a topic alias", "declared topic aliases: t"),
        ("`header.x` is not `key`, `value`, `key.<field>` or `value.<field>`", "key.<field>"),
        ("a windowed expectation needs `output.window_start`", "window_start: value.window_start"),
        ("a tolerance must be 0 or more", "{abs: 0.5, rel: 0.01}"),
        ("`count` counts messages and reads no field", "aggregate: sum"),
    ] {
        let i = err.lines().position(|l| l.contains(want)).unwrap_or_else(|| panic!("want {want:?} in:\n{err}"));
        let lines: Vec<&str> = err.lines().collect();
        assert!(lines[i].starts_with("error: scenario.yaml:"), "positioned: {}", lines[i]);
        assert!(lines[i + 1].contains(hint), "hint {hint:?} for {want:?}: {}", lines[i + 1]);
    }
}

#[test]
fn a_plugin_override_must_name_a_declared_plugin_and_an_existing_module() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), &base(GOOD));
    let path = path.to_str().unwrap();
    let o = engine(&["run", path, "--kafka", "none", "--plugin", "nope=x.wasm"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("declares no plugin `nope`") && stderr(&o).contains("declared: ref"), "{}", stderr(&o));
    let o = engine(&["validate", path, "--plugin", "ref=/does/not/exist.wasm"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("plugin `ref`") && stderr(&o).contains("/does/not/exist.wasm"), "{}", stderr(&o));
    let o = engine(&["validate", path, "--plugin", "ref"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("NAME=FILE"), "{}", stderr(&o));
    // The same override with a real module runs.
    let o = engine(&["validate", path, "--plugin", &format!("ref={}", plugin("conformance_plugin"))]);
    assert!(o.status.success(), "{}", stderr(&o));
}
