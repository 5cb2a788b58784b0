//! The engine's integration tests, one binary with a module per theme: they run the `engine`
//! binary (or the library's `run`) the way a user does, on real files, real plugins and, where a
//! test says so, a real Kafka broker, Spark or moto.
//!
//! Tests that need a service are marked `#[ignore = "needs ..."]`: a plain `cargo test` runs every
//! other test and lists those it did not run with the reason. `scripts/test` starts the services
//! and runs them all (`--include-ignored`), so CI never skips one.

mod avro;
mod bad_input;
mod bad_input_limits;
mod bench;
mod common;
mod conformance;
mod containment;
mod data_plane;
#[cfg(feature = "emr")]
mod emr;
#[cfg(feature = "emr")]
mod emr_submit;
mod expect_kafka;
mod expectations;
mod hostile;
mod import_cadcad;
mod interrupt;
mod kafka_broker;
mod kafka_embedded;
mod kafka_restart;
mod kafka_secure;
mod kafka_txn;
mod languages;
mod metrics;
mod outputs;
mod parquet;
mod plugin_check;
mod plugin_new;
mod protobuf;
mod python_plugin;
mod report_browser;
mod scenarios;
mod semantics;
mod semantics_modes;
mod shards;
mod spark;
mod streaming;
mod txn;
mod verify;
