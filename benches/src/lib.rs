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
