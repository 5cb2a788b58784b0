//! The fuzz targets (issue 12): every decoder of untrusted input gets its seed corpus and a fixed
//! budget of mutants, and must not panic on any of them. `cargo test --release --workspace` runs
//! them (in CI too); the budgets keep the whole suite within a minute or so on one core.
//! `DISTRODUCE_FUZZ_CASES=100000 cargo test --release -p distroduce-fuzz` runs longer.

use distroduce_fuzz::{budget, corpus, run};
use distroduce_model::types::AggOp;
use distroduce_model::value::aggregate::{combine, Aggregator};
use distroduce_model::value::json_text::{write_json_text, Style};
use distroduce_model::value::{self, json::to_json};
use std::path::{Path, PathBuf};

/// A scenario in a temp dir whose plugin file `p.wasm` exists, compiled from `yaml`.
fn model(dir: &Path, yaml: &str) -> distroduce_model::Model {
    std::fs::write(dir.join("p.wasm"), b"\0asm\x01\0\0\0").unwrap();
    distroduce_scenario::load_str(&dir.join("scenario.yaml"), yaml).unwrap_or_else(|e| panic!("{e}"))
}

const SCENARIO_TOKENS: &[&[u8]] = &[
    b"\n",
    b": ",
    b"- ",
    b"[",
    b"]",
    b"{",
    b"}",
    b", ",
    b"&a ",
    b"*a",
    b"!!str ",
    b"~",
    b".nan",
    b".inf",
    b"-.inf",
    b"1e309",
    b"-1",
    b"0",
    b"4294967296",
    b"18446744073709551616",
    b"\"",
    b"'",
    b"#",
    b"|\n",
    b">\n",
    b"? ",
    b"\t",
    b"\xef\xbb\xbf",
    b"runs: ",
    b"timesteps: ",
    b"params: ",
    b"sweep: ",
    b"state: ",
    b"blocks: ",
    b"policies: ",
    b"updates: ",
    b"plugins: ",
    b"kafka: ",
    b"topics: ",
    b"expectations: ",
    b"limits: ",
    b"clock: ",
    b"history: ",
    b"aggregation: ",
    b"name: ",
    b"fn: ",
    b"args: ",
    b"window: ",
    b"key: \"{",
    b"0s",
    b"1ns",
    b"999999999999h",
    b"2019-10-03T00:00:00Z",
    b"256MiB",
    b"18446744073709551615GiB",
    b"{wasm: p.wasm}",
    b"p.f",
    b"..",
    b"/",
    b"cartesian",
    b"zip",
    b"radcad",
];

#[test]
fn scenario_loader_and_compiler() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let path = dir.path().join("scenario.yaml");
    let mut seeds = corpus("scenario");
    // The shipped scenarios are seeds too.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for sub in ["scenarios", "scenarios/conformance"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(sub))
            .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "yaml")).collect())
            .unwrap_or_default();
        files.sort();
        seeds.extend(files.iter().map(|p| std::fs::read(p).unwrap()));
    }
    run("scenario", &seeds, SCENARIO_TOKENS, budget(50_000), |b| {
        let _ = distroduce_scenario::load_str(&path, &String::from_utf8_lossy(b));
    });
    // The file path as well (it checks the bytes are UTF-8 and positions the first bad one).
    run("scenario-file", &seeds, &[b"\xff", b"\xc3", b"\xe2\x82"], budget(5_000), |b| {
        std::fs::write(&path, b).unwrap();
        let _ = distroduce_scenario::load(&path);
    });
}

const MSGPACK_TOKENS: &[&[u8]] = &[
    b"\xa1s",
    b"\xa2da",
    b"\x81\xa1s\x01",
    b"\x91",
    b"\x81\xa1k",
    b"\xdc\xff\xff",
    b"\xde\xff\xff",
    b"\xdd\xff\xff\xff\xff",
    b"\xdf\xff\xff\xff\xff",
    b"\xd9\xff",
    b"\xda\xff\xff",
    b"\xdb\xff\xff\xff\xff",
    b"\xc4\xff",
    b"\xc6\xff\xff\xff\xff",
    b"\xcb\x7f\xf8\0\0\0\0\0\x01",
    b"\xcb\x7f\xf0\0\0\0\0\0\0",
    b"\xcf\xff\xff\xff\xff\xff\xff\xff\xff",
    b"\xd3\x80\0\0\0\0\0\0\0",
    b"\xc7\x01\x05x",
    b"\xd4\xff\x00",
    b"\xa2\xed\xa0",
    b"\xa1\xff",
];

/// `b` cut in two at the position its first byte names (mod its length).
fn split(b: &[u8]) -> (&[u8], &[u8]) {
    match b.split_first() {
        Some((n, rest)) => rest.split_at(*n as usize % (rest.len() + 1)),
        None => (b, b),
    }
}

#[test]
fn guest_output_decoder_checker_and_aggregation() {
    let ops = [AggOp::Add, AggOp::Mul, AggOp::Max, AggOp::Min, AggOp::First, AggOp::Last, AggOp::Merge];
    run("value", &corpus("value"), MSGPACK_TOKENS, budget(200_000), |b| {
        // What the engine does with any guest output: check it, then read it.
        // Every reader must stand unchecked bytes too (describe maps go straight to `to_json`).
        let _ = value::check_one(b);
        let _ = value::kind(b);
        let _ = value::value_len(b, 0);
        // The one-pass JSON writer of records and message values writes the tree's bytes.
        let tree = to_json(b).map(|v| serde_json::to_vec(&v).unwrap());
        let mut text = Vec::new();
        let one_pass = write_json_text(&mut text, b, Style::Compact).map(|()| text);
        assert_eq!(one_pass, tree, "MessagePack to JSON text");
        let _ = value::map_entries(b);
        let _ = value::as_num(b);
        let _ = value::as_str(b);
        let _ = value::map_get(b, "s");
        // Two policy outputs, each checked first as the executor does, aggregated.
        let (x, y) = split(b);
        if value::check_one(x).is_ok() && value::check_one(y).is_ok() {
            for op in ops {
                let agg = Aggregator { default: op, per_signal: Default::default() };
                let _ = agg.aggregate(&[x, y]);
                let _ = agg.aggregate(&[x, y, x]);
                let _ = combine(op, "s", x, y);
            }
        }
    });
}

const EMIT_SCENARIO: &str = "name: e\nruns: 1\ntimesteps: 1\nstate: {a: 0}\nplugins: {p: {wasm: p.wasm}}\nblocks: [{policies: [p.f]}]\nkafka:\n  id_header: true\n  topics:\n    chat: {key: \"{room}-{user.name}\", headers: {h: v}}\n    raw: {format: raw}\n";

#[test]
fn emit_decoder() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path(), EMIT_SCENARIO);
    let mut tokens = MSGPACK_TOKENS.to_vec();
    tokens.extend_from_slice(&[
        b"\xa5topic",
        b"\xa5value",
        b"\xa3key",
        b"\xa7headers",
        b"\xa7time_ns",
        b"\xa4chat",
        b"\xa3raw",
        // The SDKs' layout for bytes, which `parse_emit_into` reads in one pass.
        b"\x82\xa5topic\xa3raw\xa5value\xc4\x01",
        b"\x83\xa5topic\xa4chat\xa5value\xc5\x00\x02",
        b"\xc4\xff",
        b"\xc6\xff\xff\xff\xff",
    ]);
    let mut i = 0i64;
    // A recycled message, as the executor reuses them.
    let mut reused = distroduce_model::message::OutMessage::default();
    run("emit", &corpus("emit"), &tokens, budget(200_000), |b| {
        i += 1;
        let now = [0, -1, i64::MAX, i64::MIN, 1_570_060_800_000_000_000][(i % 5) as usize];
        let want = distroduce_model::message::parse_emit(b, &m.kafka.topics, now, 1);
        let got = distroduce_model::message::parse_emit_into(b, &m.kafka.topics, now, 1, &mut reused);
        // The one-pass reading accepts exactly what the general one accepts, with the same result.
        match (&want, got) {
            (Ok(w), Ok(())) => assert_eq!(w, &reused, "{b:02x?}"),
            (Err(w), Err(g)) => assert_eq!(w, &g, "{b:02x?}"),
            (w, g) => panic!("{b:02x?}: parse_emit {w:?}, parse_emit_into {g:?}"),
        }
    });
}

const DESCRIBE_SCENARIO: &str = "name: d\nruns: 1\ntimesteps: 1\nparams: {alpha: 1}\nstate: {a: 0, log: [], c: {n: 1}}\nplugins: {p: {wasm: p.wasm}}\nblocks:\n  - policies: [{fn: p.f, args: {user: B}}]\n    updates: {a: p.g, log: p.g}\n";

#[test]
fn describe_decoder() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path(), DESCRIBE_SCENARIO);
    let mut tokens = MSGPACK_TOKENS.to_vec();
    tokens.extend_from_slice(&[
        b"\xa4kind",
        b"\xa6policy",
        b"\xacstate_update",
        b"\xa6output",
        b"\xa5reads",
        b"\xa5state",
        b"\xa7signals",
        b"\xa6params",
        b"\xa4args",
        b"\xa3int",
        b"\xa3map",
        b"\xa4list",
        b"\xa1a",
        b"\xa3log",
        b"\xa8timestep",
    ]);
    run("describe", &corpus("describe"), &tokens, budget(200_000), |b| {
        let mut resolved = distroduce_plugin_host::Resolved::of(&m);
        let mut diags = Vec::new();
        for export in ["f", "g", "nope"] {
            distroduce_plugin_host::describe::check(&m, &mut resolved, 0, export, b, &mut diags);
        }
    });
}

#[test]
fn merge_inputs() {
    const FILES: [&str; 5] =
        ["records.jsonl", "records.csv", "messages.jsonl", "expected.partial.jsonl", "metrics.json"];
    let shard = |i: usize| -> Vec<Vec<u8>> {
        FILES
            .iter()
            .map(|f| std::fs::read(distroduce_fuzz::corpus_dir("merge").join(format!("s{i}")).join(f)).unwrap())
            .collect()
    };
    let shards = [shard(0), shard(1)];
    // Each input is one file of one shard: its first byte says which (shard, file).
    let seeds: Vec<Vec<u8>> = (0..2)
        .flat_map(|s| (0..FILES.len()).map(move |f| (s, f)))
        .map(|(s, f)| [vec![(s * FILES.len() + f) as u8], shards[s][f].clone()].concat())
        .collect();
    let tokens: &[&[u8]] = &[
        b"\n",
        b"{",
        b"}",
        b"\"run\":",
        b"\"subset\":",
        b"\"simulation\":",
        b"18446744073709551616",
        b"-1",
        b",",
        b"null",
        b"\"latency_buckets\":",
        b"\"produced\":",
        b"[[",
        b"1e999",
        b"\xff",
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    run("merge", &seeds, tokens, budget(1_000), |b| {
        let Some((which, content)) = b.split_first() else { return };
        let (s, f) = ((*which as usize / FILES.len()) % 2, *which as usize % FILES.len());
        n += 1;
        let case = dir.path().join(n.to_string());
        let dirs: Vec<PathBuf> = (0..2).map(|i| case.join(format!("s{i}"))).collect();
        for (i, d) in dirs.iter().enumerate() {
            std::fs::create_dir_all(d).unwrap();
            for (j, name) in FILES.iter().enumerate() {
                let bytes = if (i, j) == (s, f) { content } else { &shards[i][j][..] };
                std::fs::write(d.join(name), bytes).unwrap();
            }
        }
        let _ = distroduce::merge::merge(&dirs, &case.join("out"));
        let _ = std::fs::remove_dir_all(&case);
    });
}

#[test]
fn verify_record_and_expected_parsing() {
    use distroduce_model::expect::{ExpectedRecord, JobOutput, Locator};
    use distroduce_verify::extract::{Num, Record};
    use distroduce_verify::matching::{Matcher, Position};
    let dir = tempfile::tempdir().unwrap();
    let yaml = std::fs::read_to_string(distroduce_fuzz::corpus_dir("scenario").join("every_section.yaml")).unwrap();
    let m = model(dir.path(), &yaml.replace("sums:", "_sums:").replace("oracle_topic: raw, ", ""));
    let loc = |s: &str| Locator::parse(s).unwrap();
    let outputs = [
        JobOutput {
            topic: "t".into(),
            key: loc("key"),
            window_start: Some(loc("value.window_start")),
            value: loc("value.count"),
        },
        JobOutput {
            topic: "t".into(),
            key: loc("key.room"),
            window_start: Some(loc("key.window.start")),
            value: loc("value"),
        },
        JobOutput { topic: "t".into(), key: loc("value.k"), window_start: None, value: loc("value.count") },
    ];
    let expected_seed: Vec<ExpectedRecord> = corpus("verify")
        .iter()
        .filter(|b| b.first() == Some(&0xff))
        .filter_map(|b| serde_json::from_slice(&b[1..]).ok())
        .collect();
    let tokens: &[&[u8]] = &[
        b"\"window_start\":",
        b"\"count\":",
        b"\"room\":",
        b"{",
        b"}",
        b"[",
        b"]",
        b"null",
        b"1e400",
        b"-0",
        b"NaN",
        b"2019-10-03T00:00:00Z",
        b"+99999-12-31T23:59:60.999999999+23:59",
        b"\"",
        b"\\u0000",
        b"\xff",
    ];
    let mut at = 0i64;
    run("verify", &corpus("verify"), tokens, budget(100_000), |b| {
        let (k, v) = split(b);
        for out in &outputs {
            for windowed in [true, false] {
                let _ = Record::new(Some(k), Some(v)).read(out, windowed);
                let _ = Record::new(None, Some(v)).read(out, windowed);
                let _ = Record::new(Some(k), None).read(out, windowed);
            }
        }
        let text = String::from_utf8_lossy(b);
        let _ = distroduce_verify::time::parse_time(&text);
        let _ = Num::parse(&text);
        // An expected.jsonl line, then the matcher with it and the seeds' records.
        let mut expected = expected_seed.clone();
        if let Ok(r) = serde_json::from_slice::<ExpectedRecord>(v) {
            expected.push(r);
        }
        if let Ok(mut matcher) = Matcher::new(&m.expectations, &expected) {
            at += 1;
            for i in 0..matcher.count() {
                matcher.observe(i, Some(k), Some(v), Position { partition: 0, offset: at });
            }
            let _ = matcher.finish();
        }
    });
}
