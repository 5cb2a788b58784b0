//! Inputs past what the engine can hold — sizes, nesting, numbers, endless files, names Kafka or
//! the file system refuse, bytes that are not UTF-8 — are refused before anything runs, at their
//! position, with exit code 2: never an abort, a wrapped number or a machine out of memory.

use crate::bad_input::{base, validate, GOOD};
use crate::common::*;

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
