//! distroduce: cadCAD-style simulations whose policies and state updates are WASM plugins, with the
//! messages they emit published to Kafka and measured like a benchmark.
//!
//! The data path, one module per stage: [`config`] (YAML → validated [`model::Model`]) →
//! [`runtime`] (plugins compiled once, instantiated per job) → [`exec`] (jobs in parallel, cadCAD
//! semantics) → [`sink`] (records to files, messages to Kafka). [`app`] wires them for the CLI;
//! [`verify`] checks a downstream stream job's output against the model's [`expect`]ations.

pub mod app;
pub mod bench;
pub mod config;
pub mod emr;
pub mod exec;
pub mod expect;
pub mod merge;
pub mod model;
pub mod report;
pub mod runtime;
pub mod scaffold;
pub mod sink;
pub mod value;
pub mod verify;
