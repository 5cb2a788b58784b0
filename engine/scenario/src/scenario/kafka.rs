//! The scenario file's `kafka:` section: brokers, producer settings, security, topics and their
//! value formats and schemas. Field docs become `engine schema` descriptions, as in the parent.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::{DisorderConfig, SubjectStrategy, TimestampMode, TransactionMode, ValueFormat};

/// Kafka output. With no `brokers` the engine starts an embedded broker (librdkafka's in-process
/// mock cluster) so that a scenario runs on any machine and still exercises the real produce path.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// `host:port[,host:port…]` of a real cluster. Overridden by `engine run --brokers`.
    #[serde(default)]
    pub brokers: Option<String>,
    /// Topic aliases that plugins emit to.
    #[serde(default)]
    pub topics: IndexMap<String, TopicConfig>,
    /// TLS to the brokers (`security.protocol` SSL, or SASL_SSL with `sasl`). `tls: {}` trusts the
    /// system's CA certificates.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// SASL authentication (`security.protocol` SASL_SSL with `tls`, else SASL_PLAINTEXT), e.g.
    /// `{mechanism: SCRAM-SHA-512, username: alice, password: {env: KAFKA_PASSWORD}}`.
    #[serde(default)]
    pub sasl: Option<SaslConfig>,
    /// librdkafka producer properties, passed through unchanged (e.g. `linger.ms: 5`,
    /// `compression.type: lz4`, `partitioner: murmur2_random`). Connection settings set here
    /// (`security.protocol`, `sasl.*`, `ssl.*`) also apply to `engine verify`; they cannot be
    /// combined with `tls`/`sasl`. Credentials given here (`sasl.password`, ...) are accepted but
    /// never shown; prefer `sasl.password: {env: ...}` or `{file: ...}`.
    #[serde(default)]
    pub producer: IndexMap<String, Json>,
    /// Also publish every record (state variables plus bookkeeping, as JSON) to this topic alias,
    /// keyed by `simulation-subset-run` so each job's records stay ordered within a partition.
    #[serde(default)]
    pub records_topic: Option<String>,
    /// Where `format: avro` topics register their schemas, e.g.
    /// `{url: http://127.0.0.1:18081/apis/ccompat/v7}` (scripts/schema-registry url).
    #[serde(default)]
    pub schema_registry: Option<SchemaRegistryConfig>,
    /// Add a `distroduce-id: <simulation>-<subset>-<run>-<seq>` header to every message, so that a
    /// consumer can check each message arrived exactly once.
    #[serde(default)]
    pub id_header: bool,
    /// Open-loop target rate in messages per second over the whole run. Message i is due at
    /// `start + i / rate`; a sender that is early waits, one that is late sends at once, and
    /// latency is also reported from the due time (corrected for coordinated omission). Default:
    /// as fast as possible.
    #[serde(default)]
    pub rate: Option<f64>,
    /// Leave the first part of the run out of throughput and latency figures, e.g. `5s`.
    /// Messages acknowledged during the warm-up still count as delivered.
    #[serde(default)]
    pub warmup: Option<String>,
    /// Which timestamp messages carry: the event time from the virtual clock (default), or the
    /// producer's wall clock.
    #[serde(default)]
    pub timestamps: TimestampMode,
    /// Kafka transactions aligned to the model: `timestep` commits each job's messages once per
    /// timestep, `block` once per block, and a failed substep aborts the open transaction, so a
    /// `read_committed` consumer sees whole timesteps (blocks) or nothing. Each job produces with
    /// its own transactional producer. Needs `acks: all` and idempotence (librdkafka's defaults).
    #[serde(default)]
    pub transactions: TransactionMode,
    /// Start of every job's `transactional.id`: `<prefix>-<simulation>-<subset>-<run>`. Default:
    /// the scenario's `name`. Two runs at the same time with the same prefix fence each other: give
    /// concurrent runs of one scenario different prefixes.
    #[serde(default)]
    pub transactional_id_prefix: Option<String>,
}

/// TLS to the brokers.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// CA certificate(s), PEM, that the brokers' certificates must chain to (relative to the
    /// scenario file). Default: the system's trust store.
    #[serde(default)]
    pub ca: Option<String>,
    /// Check the broker's certificate and that it names the host connected to (default `true`).
    /// `false` accepts any certificate, including a forged one: only for throwaway test clusters.
    #[serde(default = "yes")]
    pub verify: bool,
}

fn yes() -> bool {
    true
}

/// SASL authentication.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SaslConfig {
    /// `PLAIN` (e.g. Confluent Cloud API keys), `SCRAM-SHA-256` or `SCRAM-SHA-512` (e.g. Amazon MSK).
    pub mechanism: SaslMechanism,
    /// The user (or API key): a string, `{env: VAR}` or `{file: PATH}`.
    pub username: Secret,
    /// The password (or API secret): `{env: VAR}` or `{file: PATH}` (the file's contents without a
    /// trailing newline). A string works too but puts the secret in the scenario file.
    pub password: Secret,
}

/// A SASL mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum SaslMechanism {
    #[serde(rename = "PLAIN")]
    Plain,
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

impl SaslMechanism {
    /// librdkafka's `sasl.mechanism` value.
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// A credential: the value itself, `{env: VAR}` (read from the environment) or `{file: PATH}` (read
/// from a file, relative to the scenario file). Env and file values are read when the engine
/// connects and are checked by `engine validate`; none is ever printed.
#[derive(Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged, expecting = "a string, `{env: VARIABLE}` or `{file: PATH}` (exactly one key)")]
pub enum Secret {
    Value(String),
    Env(EnvSecret),
    File(FileSecret),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Value(_) => f.write_str("Value([redacted])"),
            Secret::Env(e) => e.fmt(f),
            Secret::File(p) => p.fmt(f),
        }
    }
}

/// `{env: VARIABLE}`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvSecret {
    /// Name of the environment variable holding the value.
    pub env: String,
}

/// `{file: PATH}`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileSecret {
    /// File holding the value (a trailing newline is dropped); relative to the scenario file.
    pub file: String,
}

/// One topic that plugins can emit to under its alias.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    /// Topic name on the cluster (defaults to the alias).
    #[serde(default)]
    pub name: Option<String>,
    /// Partitions when the engine creates the topic.
    #[serde(default = "default_partitions")]
    pub partitions: i32,
    /// Replication factor when the engine creates the topic.
    #[serde(default = "default_replication")]
    pub replication: i32,
    /// How message values are encoded.
    #[serde(default)]
    pub format: ValueFormat,
    /// Key template over the message value's fields, e.g. `"{device_id}"` or `"{room}/{user}"`,
    /// used when the plugin emits no key.
    #[serde(default)]
    pub key: Option<String>,
    /// Headers added to every message of this topic.
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// Send every message to this partition instead of using the partitioner.
    #[serde(default)]
    pub partition: Option<i32>,
    /// Deliberate late, out-of-order or duplicated messages, reproducible from the seed.
    #[serde(default)]
    pub disorder: Option<DisorderConfig>,
    /// `format: avro`: the Avro schema of every value, inline (a YAML map, or JSON text) or
    /// `{file: PATH}` (relative to the scenario); `format: protobuf`: the `.proto` text, inline (a
    /// YAML string) or `{file: PATH}`. Registered in `kafka.schema_registry`.
    #[serde(default)]
    pub schema: Option<SchemaSource>,
    /// `format: avro` or `protobuf` with schema evolution: versions taking effect at timesteps, e.g.
    /// `[{from_timestep: 0, schema: {file: v1.avsc}}, {from_timestep: 50, schema: {file: v2.avsc}}]`.
    /// Each must be compatible with the one before under the registry's compatibility rule.
    #[serde(default)]
    pub schemas: Option<Vec<SchemaEntry>>,
    /// `format: protobuf`: the full name of the message type of every value, e.g. `chat.Event`
    /// (optional when the `.proto` declares one top-level message).
    #[serde(default)]
    pub message: Option<String>,
}

/// A schema: `{file: PATH}`, or the schema itself (Avro: a YAML map or list, or JSON text;
/// Protobuf: the `.proto` text).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum SchemaSource {
    File(FileSecret),
    Inline(Json),
}

/// One version of a topic's schema and the first timestep it applies to.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemaEntry {
    /// The first timestep whose messages use this schema (the first entry must be 0).
    pub from_timestep: u64,
    pub schema: SchemaSource,
}

/// A Confluent Schema Registry REST API (Confluent's own, Apicurio's `/apis/ccompat/v7`, ...).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemaRegistryConfig {
    /// Base URL, `http://host:port[/path]` (plain HTTP). Overridden by `--schema-registry`.
    pub url: String,
    /// Subject naming: `topic` (`<topic>-value`, default), `record` (the Avro record's or
    /// Protobuf message's full name) or `topic_record` (`<topic>-<record full name>`).
    #[serde(default)]
    pub subject_strategy: SubjectStrategy,
}

fn default_partitions() -> i32 {
    32
}
fn default_replication() -> i32 {
    1
}
