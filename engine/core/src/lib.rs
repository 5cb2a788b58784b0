//! distroduce: cadCAD-style simulations whose policies and state updates are WASM plugins, with the
//! messages they emit published to Kafka and measured like a benchmark.
//!
//! This crate is the operations the `engine` command runs ([`run()`], [`validate`], [`bench`],
//! [`merge`], [`import`]), with typed errors ([`RunError`]) and the output directory's layout in one place
//! ([`layout`]). The stages it wires live in their own crates, re-exported here:
//! [`scenario`] (YAML → validated [`model::Model`]) → [`plugin_host`] (plugins compiled once,
//! instantiated per job) → [`sim`] (jobs in parallel, cadCAD semantics) → [`sink`] (records to
//! files, messages to Kafka).

pub mod bench;
pub mod import;
pub mod maxrate;
pub use distroduce_model::layout;
pub mod merge;
pub mod metrics;
pub mod report;
mod run;

pub use distroduce_model as model;
pub use distroduce_plugin_host as plugin_host;
pub use distroduce_registry as registry;
pub use distroduce_registry::RegistryError;
pub use distroduce_scenario as scenario;
pub use distroduce_sim as sim;
pub use distroduce_sink as sink;
pub use run::{run, run_loaded, validate, KafkaTarget, RunArgs, RunError, ShardMetrics, Summary};
