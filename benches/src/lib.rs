//! Shared setup for the benchmarks: load a scenario and build its WASM or native backend.

use distroduce::model::Model;
use distroduce::plugin_host::native::{NativeBackend, NativeTable};
use distroduce::plugin_host::wasm::WasmBackend;
use distroduce::plugin_host::{Backend, Resolved};
use std::path::Path;

pub fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Load `scenarios/<rel>` with `runs` and `timesteps` overridden.
pub fn model(rel: &str, runs: u64, timesteps: u64) -> Model {
    let mut m = distroduce::scenario::load(&repo().join(rel)).unwrap_or_else(|e| panic!("{e}"));
    m.runs = runs;
    m.timesteps = timesteps;
    m
}

pub fn wasm(m: &Model) -> (Box<dyn Backend>, Resolved) {
    let (b, r) = WasmBackend::load(m).unwrap_or_else(|e| panic!("{e}"));
    (Box::new(b), r)
}

/// The same plugins compiled into this binary.
pub fn native(m: &Model) -> (Box<dyn Backend>, Resolved) {
    let tables: Vec<(&str, NativeTable)> =
        vec![("chat", chat_plugin::native_exports()), ("ref", conformance_plugin::native_exports())];
    let (b, r) = NativeBackend::new(m, &tables).unwrap_or_else(|e| panic!("{e}"));
    (Box::new(b), r)
}

/// The command line of the hand-written models (`NAME RUNS TIMESTEPS [--jsonl FILE]`): runs,
/// timesteps and the records file to write, if any. Exits 2 with the usage on anything else, 1
/// when the file cannot be created.
pub fn native_args(name: &str) -> (u32, u64, Option<std::io::BufWriter<std::fs::File>>) {
    let args: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        eprintln!("usage: {name} RUNS TIMESTEPS [--jsonl FILE]");
        std::process::exit(2)
    };
    let (Some(runs), Some(timesteps)) =
        (args.get(1).and_then(|s| s.parse::<u32>().ok()), args.get(2).and_then(|s| s.parse::<u64>().ok()))
    else {
        usage()
    };
    let file = match (args.get(3).map(String::as_str), args.get(4), args.len()) {
        (None, _, _) => None,
        (Some("--jsonl"), Some(p), 5) => Some(std::io::BufWriter::new(std::fs::File::create(p).unwrap_or_else(|e| {
            eprintln!("{name}: cannot create {p}: {e}");
            std::process::exit(1)
        }))),
        _ => usage(),
    };
    (runs, timesteps, file)
}

/// The records the engine writes for `scenarios/<rel>` with `runs` and `timesteps`, without Kafka:
/// what a hand-written model must reproduce.
pub fn engine_records(rel: &str, runs: u64, timesteps: u64, dir: &Path) -> Vec<serde_json::Value> {
    let mut args = distroduce::RunArgs::new(repo().join(rel));
    args.runs = Some(runs);
    args.timesteps = Some(timesteps);
    args.kafka = distroduce::KafkaTarget::None;
    args.out = Some(dir.to_path_buf());
    distroduce::run(&args, None).unwrap_or_else(|e| panic!("{e}"));
    read_jsonl(&dir.join("records.jsonl"))
}

/// Every line of a JSON-lines file.
pub fn read_jsonl(p: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).collect()
}
