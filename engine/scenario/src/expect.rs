//! The scenario's stream-processor sections as written by a user: event time and deliberate
//! disorder of messages (`kafka.timestamps`, `kafka.topics.*.disorder`) and the `expectations` a
//! correct downstream job must meet. Compiled into [`distroduce_model::expect`] types by [`crate::compile`].

pub use distroduce_model::types::{AggregateKind, TimestampMode};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Deliberate, reproducible disorder on one topic, to exercise a downstream job's watermark and
/// deduplication logic. Which messages are affected is drawn from the scenario seed, so the same
/// seed disorders the same messages whatever the thread count or sharding. Event times are never
/// changed: only when a message is sent, and how often.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DisorderConfig {
    /// Send a fraction of messages late: held back and sent `by` (event time, e.g. `15s`) after
    /// later messages of the same job.
    #[serde(default)]
    pub late: Option<LateConfig>,
    /// Delay every message by a random 0..=`jitter` of event time (e.g. `3s`), so that messages
    /// of nearby timesteps arrive out of order.
    #[serde(default)]
    pub jitter: Option<String>,
    /// Fraction of messages sent twice (same key, value, headers and timestamp; with
    /// `kafka.id_header` both copies carry the same id, which is what a deduplicating job keys on).
    #[serde(default)]
    pub duplicate: Option<f64>,
}

/// Late messages: `{fraction: 0.05, by: 15s}`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LateConfig {
    /// Fraction of messages, in [0, 1].
    pub fraction: f64,
    /// How far behind the stream they arrive, in event time, e.g. `15s`.
    pub by: String,
}

/// What a correct downstream job must output, computed from the simulation's own messages: each
/// distinct message counted once at its event time, whatever disorder was applied on the way.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectationConfig {
    /// The topic alias (under `kafka.topics`) whose messages are aggregated.
    pub from: String,
    /// Group key: a template over the message value's fields, as for topic keys, e.g. `"{room}"`.
    pub key: String,
    /// Tumbling event-time window, e.g. `10s` or `1m`. Without it, one total per key.
    #[serde(default)]
    pub window: Option<String>,
    /// The aggregate per key and window.
    #[serde(default)]
    pub aggregate: AggregateKind,
    /// The numeric field of the message value that `sum`, `mean`, `min` and `max` read, as a dotted
    /// path (`reading.temperature`).
    #[serde(default)]
    pub field: Option<String>,
    /// Also publish the expected records to this topic alias (key = group key, value = the
    /// expected record as JSON), for jobs or dashboards that compare on their own.
    #[serde(default)]
    pub oracle_topic: Option<String>,
    /// Where and how `engine verify` reads the job's results.
    #[serde(default)]
    pub output: Option<JobOutputConfig>,
    /// How far a job's value may be from the expected one: a number (absolute), or
    /// `{abs: 0.01, rel: 0.001}`; a value passes if within either.
    #[serde(default)]
    pub tolerance: Option<ToleranceConfig>,
}

/// How to read one result record of the job under test. Each locator is `key` or `value` (the
/// whole record key or value: a string, or a plain number for `value`), or `key.<path>` /
/// `value.<path>` (a field of a JSON key or value).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobOutputConfig {
    /// The Kafka topic (cluster name, not an alias) the job writes its results to.
    pub topic: String,
    /// Where the group key is (default `key`: the whole record key as a string).
    #[serde(default = "default_key_locator")]
    pub key: String,
    /// Where the window start is: epoch milliseconds, or an RFC 3339 string. Required when the
    /// expectation has a window.
    #[serde(default)]
    pub window_start: Option<String>,
    /// Where the aggregate is (default `value`: the whole record value as a plain number).
    #[serde(default = "default_value_locator")]
    pub value: String,
}

fn default_key_locator() -> String {
    "key".into()
}
fn default_value_locator() -> String {
    "value".into()
}

/// `0.5` (absolute) or `{abs: 0.5, rel: 0.01}`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged, expecting = "a tolerance: a number (absolute), or `{abs: N, rel: N}` (no other keys)")]
pub enum ToleranceConfig {
    Abs(f64),
    Both(AbsRel),
}

/// `{abs: 0.5, rel: 0.01}`: a value passes if it is within either.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AbsRel {
    #[serde(default)]
    pub abs: f64,
    #[serde(default)]
    pub rel: f64,
}
