//! Every class of bad scenario is reported before anything runs, at `file:line:col`, with what to
//! do, and `engine` exits with code 2.

use crate::common::*;

/// Run `engine validate` on `yaml` and return (exit code, stderr).
fn validate(yaml: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), yaml);
    let out = engine(&["validate", path.to_str().unwrap()]);
    (out.status.code().unwrap_or(-1), stderr(&out).replace(&format!("{}/", dir.path().display()), ""))
}

fn base(blocks: &str) -> String {
    format!(
        "name: t\nruns: 1\ntimesteps: 2\nstate: {{a: 0, b: 0, c: 0, d: 1}}\nplugins:\n  ref: {{wasm: {}}}\nblocks:\n{blocks}",
        plugin("conformance_plugin")
    )
}

const GOOD: &str = "  - policies: [ref.p_inc_a, ref.p_inc_b]\n    updates: {a: ref.s_a, b: ref.s_b1, c: ref.s_c}\n";

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

#[test]
fn sizes_past_the_resource_limits_are_refused_at_their_position() {
    let started = std::time::Instant::now();
    let (code, err) = validate(&base(GOOD).replace("runs: 1", "runs: 4294967296"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("scenario.yaml:2:7: `runs: 4294967296` is more than 4294967295"), "{err}");
    let (code, err) = validate(&base(GOOD).replace("runs: 1", "runs: 2000000"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("scenario.yaml:2:7: 1 parameter subsets × 2000000 runs = 2000000 jobs; the limit is 1000000"),
        "{err}"
    );
    let (code, err) = validate(&base(GOOD).replace("timesteps: 2", "timesteps: 1000000000000"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("scenario.yaml:3:12: `timesteps: 1000000000000` is more than the limit of 100000000"),
        "{err}"
    );
    let (code, err) =
        validate(&base(GOOD).replace("runs: 1", "runs: 1000").replace("timesteps: 2", "timesteps: 10000000"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("scenario.yaml:3:12: 1000 jobs × (1 + 10000000 timesteps × 1 blocks) = 10000001000 records; the limit is 10000000000"), "{err}");
    // Six params of 100 values, crossed: 10^12 subsets, refused before expanding (was 5.8 GB).
    let hundred = format!("[{}]", (0..100).map(|i| i.to_string()).collect::<Vec<_>>().join(", "));
    let params: String = ["a", "b", "c", "d", "e", "f"].iter().map(|p| format!("  {p}: {hundred}\n")).collect();
    let (code, err) =
        validate(&base(GOOD).replace("timesteps: 2\n", &format!("timesteps: 2\nsweep: cartesian\nparams:\n{params}")));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("scenario.yaml:8:3: the sweep expands into 1000000000000 parameter subsets; the limit is 100000"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "{:?}", started.elapsed());
}

#[test]
fn yaml_nested_100k_deep_is_refused_early_at_its_position() {
    // Was 44 s before serde_yaml's "recursion limit exceeded".
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let started = std::time::Instant::now();
    let (code, err) = validate(&format!("name: t\nruns: 1\ntimesteps: 1\nstate: {{a: {deep}}}\nblocks: []\n"));
    assert_eq!(code, 2, "{err}");
    // The YAML scanner reads a run of flow openers ahead and stops at 256 levels: it is refused there.
    assert!(
        err.contains("scenario.yaml:4:266: lists and maps nest more than 64 levels deep here (the limit)"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
}

#[test]
fn a_name_that_is_not_one_path_component_is_refused() {
    for name in ["/abs/path", "/", "../x", "a/b", ".", ".."] {
        let (code, err) = validate(&base(GOOD).replace("name: t", &format!("name: {name}")));
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains(&format!("scenario.yaml:1:7: `name: {name}` is not a plain file name")), "{name}: {err}");
    }
    assert_eq!(validate(&base(GOOD).replace("name: t", "name: my-model_2.v1")).0, 0);
}

#[test]
fn a_scenario_that_is_not_utf8_is_refused_at_the_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.yaml");
    std::fs::write(&path, b"name: t\nruns: 1\n# caf\xe9 in Latin-1\n").unwrap();
    let out = engine(&["validate", path.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("scenario.yaml:3:6: the scenario is not UTF-8 text: byte 0xe9"), "{err}");
    assert!(err.contains("save the file as UTF-8") && !err.contains("check the path"), "{err}");
}

#[test]
fn nan_in_state_is_refused_not_turned_into_null() {
    let (code, err) = validate(&base(GOOD).replace("d: 1}", "d: .nan}"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("scenario.yaml:4:30: `.nan` is not a number values can carry"), "{err}");
}

#[test]
fn producer_properties_librdkafka_refuses_are_reported_at_their_key_by_validate_and_run() {
    let kafka = "kafka:\n  producer:\n    acks: banana\n    lingr.ms: 5\n    linger.ms: 5\nstate:";
    let y = base(GOOD).replace("state:", kafka);
    let (code, err) = validate(&y);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("scenario.yaml:6:5: producer property `acks`: Invalid value for configuration property"),
        "{err}"
    );
    assert!(
        err.contains("scenario.yaml:7:5: producer property `lingr.ms`: No such configuration property: \"lingr.ms\""),
        "{err}"
    );
    assert!(!err.contains("`linger.ms`"), "a valid property is not reported: {err}");
    // `run` refuses it the same way, before any job (it used to fail creating the producer).
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), &y);
    let o =
        engine(&["run", path.to_str().unwrap(), "--kafka", "none", "--out", dir.path().join("out").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(":6:5: producer property `acks`"), "{}", stderr(&o));
    // Properties that are each valid but conflict: reported at `producer`.
    let y = base(GOOD).replace("state:", "kafka:\n  producer: {enable.idempotence: true, acks: 1}\nstate:");
    let (code, err) = validate(&y);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("scenario.yaml:5:3: the producer properties do not work together:"), "{err}");
}

#[test]
fn topic_names_kafka_refuses_are_reported_at_their_position() {
    let long = "x".repeat(250);
    let kafka = format!(
        "kafka:\n  topics:\n    \"bad topic\": {{partitions: 1}}\n    dots: {{name: \"..\"}}\n    long: {{name: {long}}}\n    fine: {{name: a.b_c-D9}}\nexpectations:\n  e: {{from: fine, key: \"{{room}}\", window: 1s, aggregate: count, output: {{topic: \"out/x\", key: key, window_start: key}}}}\nstate:"
    );
    let (code, err) = validate(&base(GOOD).replace("state:", &kafka));
    assert_eq!(code, 2, "{err}");
    for (at, want) in [
        (":6:5:", "the topic name `bad topic` contains ' ', which Kafka does not allow in topic names (the alias is the topic name when `name` is absent)"),
        (":7:18:", "`..` cannot be a Kafka topic name"),
        (":8:18:", "the topic name is 250 characters long; Kafka allows at most 249"),
        (":11:", "the topic name `out/x` contains '/'"),
    ] {
        let line = err.lines().find(|l| l.contains(want)).unwrap_or_else(|| panic!("want {want:?} in:\n{err}"));
        assert!(line.starts_with("error: scenario.yaml") && line.contains(at), "at {at}: {line}");
    }
    assert!(!err.contains("a.b_c-D9"), "a valid name is not reported: {err}");
}

/// A path a scenario names may lead to something endless: a scenario, schema or plugin file that is
/// a symlink to `/dev/zero` is refused once past its kind's limit (exit 2, naming the file and the
/// limit), not read until memory runs out.
#[test]
fn files_that_never_end_are_refused_at_their_limit() {
    let dir = tempfile::tempdir().unwrap();
    let zeros = |name: &str| {
        let p = dir.path().join(name);
        std::os::unix::fs::symlink("/dev/zero", &p).unwrap();
        p
    };
    let check = |what: &str, scenario: &std::path::Path, want: &[&str]| {
        let o = engine(&["validate", scenario.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{what}: {err}");
        for w in want {
            assert!(err.contains(w), "{what}: want {w:?} in: {err}");
        }
    };
    let s = zeros("endless.yaml");
    check("scenario", &s, &[&format!("{}: cannot read scenario", s.display()), "larger than the limit of 16 MiB"]);

    zeros("endless.avsc");
    let s = crate::avro::registry_chat(
        dir.path(),
        "avro",
        "endless",
        "      schema: {file: endless.avsc}\n",
        "  schema_registry: {url: http://127.0.0.1:1}\n",
    );
    check("schema", &s, &[&format!("{}:", s.display()), "cannot read schema file", "larger than the limit of 16 MiB"]);

    let wasm = zeros("endless.wasm");
    let s = scenario(dir.path(), &base(GOOD).replace(&plugin("conformance_plugin"), wasm.to_str().unwrap()));
    check("plugin", &s, &["plugin `ref`: expected a .wasm file, but this is not a regular file"]);
    // `plugin check` reads the file it is given, whatever it is.
    let o = engine(&["plugin", "check", wasm.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("larger than the limit of 256 MiB"), "{}", stderr(&o));
}

/// Numbers that used to abort, wrap or exhaust the machine are refused before anything runs:
/// a topic's partitions (the embedded broker allocated them all; `i32::MAX` aborted), a clock
/// whose times do not fit 64-bit nanoseconds (it wrapped: year 9999 stamped records in 1816),
/// `--threads` (one OS thread each, 100000 made the machine unusable) and waits that overflowed
/// the clock (`--flush-timeout 500000000000y` panicked after the run).
#[test]
fn numbers_past_what_the_engine_can_hold_are_refused_up_front() {
    let topic = "kafka:\n  topics:\n    t: {partitions: 2147483647}\nstate:";
    let (code, err) = validate(&base(GOOD).replace("state:", topic));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("scenario.yaml:6:21: 2147483647 partitions is more than the limit of 100000"), "{err}");
    for (clock, want) in [
        ("{start: \"9999-12-31T23:59:59Z\"}", "clock start is after 2262-04-11T23:47:16Z"),
        ("{step: 300y}", "2 timesteps of `300y` from `2020-01-01T00:00:00Z` end after 2262-04-11T23:47:16Z"),
    ] {
        let (code, err) = validate(&base(GOOD).replace("state:", &format!("clock: {clock}\nstate:")));
        assert_eq!(code, 2, "{err}");
        let line = err.lines().find(|l| l.contains(want)).unwrap_or_else(|| panic!("want {want:?} in:\n{err}"));
        assert!(line.starts_with("error: scenario.yaml:4:"), "positioned: {line}");
    }
    let dir = tempfile::tempdir().unwrap();
    let p = scenario(dir.path(), &base(GOOD));
    let p = p.to_str().unwrap();
    for (flags, want) in [
        (&["--threads", "100000"][..], "100000 is not in 1..=1024"),
        (&["--threads", "0"][..], "0 is not in 1..=1024"),
        (&["--flush-timeout", "500000000000y"][..], "longer than the limit of one day"),
    ] {
        let o = engine(&[&["run", p, "--kafka", "none"][..], flags].concat());
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{flags:?}: {}", stderr(&o));
    }
    // The most threads a run may ask for, on one job: one thread starts, and the summary says so.
    let out = dir.path().join("out");
    let o = engine(&["run", p, "--kafka", "none", "--threads", "1024", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s: serde_json::Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    assert_eq!((s["jobs"].as_u64(), s["threads"].as_u64()), (Some(1), Some(1)), "{s}");
}

/// `engine bench --vary` is held to the scenario's limits, and its matrix to a size, before any
/// cell runs: `runs=18446744073709551615` aborted allocating 103 GB, seven axes of 30 values grew
/// past 5.6 GB building the matrix, and a setting that cannot apply used to fail only its cells.
#[test]
fn bench_settings_past_the_limits_are_refused_before_any_cell_runs() {
    let dir = tempfile::tempdir().unwrap();
    let p = scenario(dir.path(), &base(GOOD));
    let p = p.to_str().unwrap();
    let thirty = (0..30).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let axes: Vec<String> = ["a", "b", "c", "d", "e", "f", "g"].iter().map(|k| format!("x.{k}={thirty}")).collect();
    let mut big = vec!["bench", p, "--kafka", "none"];
    axes.iter().for_each(|a| big.extend(["--vary", a.as_str()]));
    for (flags, want) in [
        (vec!["bench", p, "--kafka", "none", "--vary", "runs=18446744073709551615"], "the limits are 1000000 jobs"),
        (vec!["bench", p, "--kafka", "none", "--vary", "partitions=0,3"], "partitions=0: between 1 and 100000"),
        (vec!["bench", p, "--kafka", "none", "--vary", "param.nope=1"], "the scenario has no param `nope`"),
        (big, "the --vary matrix has 21870000000 cells"),
    ] {
        let started = std::time::Instant::now();
        let o = engine(&flags);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{flags:?}: {}", stderr(&o));
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "{:?}", started.elapsed());
    }
}
