//! The compiled model of a scenario, and the data that flows through a run.
//!
//! Every later stage of the engine reads only these types: the scenario compiler produces a
//! [`Model`] ([`plan`]); the plugin host and the simulation move [`value`]s (MessagePack bytes);
//! a run produces [`record::Record`]s and [`message::OutMessage`]s and hands them to the
//! [`output`] interfaces that the sinks implement; [`expect`] computes what a correct downstream
//! stream job must output from those messages. Nothing here touches WebAssembly or Kafka, and files
//! only through [`files::read_capped`] (secrets, and the reader the other crates use).

pub mod diag;
pub mod emit_cache;
pub mod expect;
pub mod files;
pub mod layout;
pub mod message;
pub mod messages_jsonl;
pub mod output;
pub mod plan;
pub mod record;
/// The RNG, shared with the Rust SDK (`distroduce-values`).
pub use distroduce_values::rng;
pub mod secret;
pub mod types;
pub mod value;

pub use diag::{ConfigErrors, Diagnostic};
pub use plan::*;
pub use types::Pos;
