//! The scenario file as written by a user: parsed once by serde into these types, then compiled into
//! a validated [`distroduce_model::Model`] by [`super::compile`]. Field docs become the JSON Schema
//! descriptions printed by `engine schema`, so they are written for scenario authors.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

pub use super::expect::{DisorderConfig, ExpectationConfig};
pub use distroduce_model::types::{
    AggOp, RecordFormat, Semantics, SubjectStrategy, TimestampMode, TransactionMode, TypeName, ValueFormat,
};

/// A simulation scenario: state, parameters, Monte Carlo settings, the ordered partial state
/// update blocks (PSUBs) and the WASM plugins implementing them.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name of the scenario, used in logs and output file names.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Base seed. Every job and every plugin call derives its random stream from it, so the same
    /// scenario and seed give the same records and messages whatever the thread count.
    #[serde(default)]
    pub seed: u64,
    /// Monte Carlo runs per parameter subset (cadCAD `N`). Must be at least 1.
    pub runs: u64,
    /// Timesteps per run (cadCAD `T = range(timesteps)`): timesteps are labelled 1..=timesteps.
    pub timesteps: u64,
    /// Whose rules to follow where cadCAD 0.5.3 and radCAD 0.14 differ: `cadcad` (default) or
    /// `radcad`. They differ in the `run` of `runs: 1` sweeps (cadCAD: subset + 1; radCAD: 1), the
    /// order of jobs (cadCAD: subset by subset; radCAD: run by run), the `identity: 0` signal
    /// cadCAD adds to a block lacking a policy name another block declares (see a policy's `name`),
    /// the order a block's policies run in (cadCAD: the order names first appear across all
    /// blocks; radCAD: the block's own), and the previous `substep` a single block sees (cadCAD: 0).
    #[serde(default)]
    pub semantics: Semantics,
    /// How list-valued params combine into subsets.
    #[serde(default)]
    pub sweep: SweepMode,
    /// Parameters. A list value is swept; a scalar (or a one-element list) is the same in every
    /// subset. To pass a list as a single value, wrap it in another list: `w: [[1, 2, 3]]`.
    #[serde(default)]
    pub params: IndexMap<String, Json>,
    /// State variables and their initial values, in output column order.
    pub state: IndexMap<String, Json>,
    /// Optional type overrides for state variables. By default a variable's type is taken from its
    /// initial value (int and float are both `number`); `any` disables the check.
    #[serde(default)]
    pub state_types: IndexMap<String, TypeName>,
    /// Let plugins read the records of completed timesteps (cadCAD `state_history`). `true` sends
    /// all of them (memory and time grow with the run), a number sends only the last N timesteps.
    #[serde(default)]
    pub history: History,
    /// How the signals of a block's policies are combined.
    #[serde(default)]
    pub aggregation: Aggregation,
    /// The virtual clock that plugins read.
    #[serde(default)]
    pub clock: ClockConfig,
    /// Plugins by name: each is a `.wasm` file or a Rust crate the engine builds.
    pub plugins: IndexMap<String, PluginSource>,
    /// The partial state update blocks, run in order once per timestep.
    pub blocks: Vec<Block>,
    /// Where emitted messages go.
    #[serde(default)]
    pub kafka: KafkaConfig,
    /// Resource limits applied to every plugin instance.
    #[serde(default)]
    pub limits: Limits,
    /// Local record output.
    #[serde(default)]
    pub output: OutputConfig,
    /// What a correct downstream stream job must output, by name; `engine run` writes them to
    /// `expected.jsonl` and `engine verify` checks a job's output topic against them.
    #[serde(default)]
    pub expectations: IndexMap<String, ExpectationConfig>,
}

/// How list-valued params combine into parameter subsets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SweepMode {
    /// cadCAD's rule: lists are zipped position by position; scalars and one-element lists are
    /// broadcast; lists of other differing lengths are an error.
    #[default]
    Zip,
    /// Every combination of the listed values (first param varies slowest).
    Cartesian,
}

/// `false` (default), `true` (all completed timesteps) or a window of N timesteps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum History {
    Flag(bool),
    Window(u32),
    #[default]
    #[serde(skip)]
    Off,
}

/// Signal aggregation: one operator for every signal, or a default plus per-signal operators.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(
    untagged,
    expecting = "an aggregation (add, mul, max, min, first, last, merge), or `{default: OP, signals: {NAME: OP}}` (no other keys)"
)]
pub enum Aggregation {
    All(AggOp),
    PerSignal(PerSignalAggregation),
}

/// `{default: add, signals: {m: max}}`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PerSignalAggregation {
    #[serde(default)]
    pub default: AggOp,
    #[serde(default)]
    pub signals: IndexMap<String, AggOp>,
}

impl Default for Aggregation {
    fn default() -> Self {
        Aggregation::All(AggOp::Add)
    }
}

/// The virtual clock: `time = start + timestep * step`. A zero step freezes it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockConfig {
    /// RFC 3339 start time, e.g. `2019-10-03T00:00:00Z`.
    #[serde(default = "default_clock_start")]
    pub start: String,
    /// Simulated time per timestep, e.g. `1s`, `250ms`, `0s` (frozen).
    #[serde(default = "default_clock_step")]
    pub step: String,
    /// Pace each job in real time: timestep t ends no earlier than t × `step` of wall time after
    /// the job started (an IoT fleet reporting every second). Default: as fast as possible.
    #[serde(default)]
    pub realtime: bool,
}

fn default_clock_start() -> String {
    "2020-01-01T00:00:00Z".into()
}
fn default_clock_step() -> String {
    "1s".into()
}
impl Default for ClockConfig {
    fn default() -> Self {
        Self { start: default_clock_start(), step: default_clock_step(), realtime: false }
    }
}

/// Where a plugin's module comes from: exactly one of `wasm` or `crate`. Paths are relative to the
/// scenario file.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginSource {
    /// A compiled WebAssembly module.
    #[serde(default)]
    pub wasm: Option<String>,
    /// A Rust plugin crate, built with `cargo build --release --target wasm32-unknown-unknown`.
    #[serde(default, rename = "crate")]
    pub krate: Option<String>,
}

/// One partial state update block.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// Optional label, shown in errors and logs.
    #[serde(default)]
    pub name: Option<String>,
    /// Policies, run in this order and their signals aggregated in this order (with cadCAD
    /// semantics: in the order their names first appear across all blocks).
    #[serde(default)]
    pub policies: Vec<FnUse>,
    /// State updates: state variable -> function. All read the state from before this block.
    #[serde(default)]
    pub updates: IndexMap<String, FnUse>,
}

/// A use of a plugin function: `plugin.export`, or the long form binding static `args`.
/// (The long form is a struct of its own so that a misspelt key is an error, not ignored.)
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(
    untagged,
    expecting = "a function as `plugin.export`, or `{fn: plugin.export, args: ..., name: ...}` (no other keys)"
)]
pub enum FnUse {
    Short(String),
    Long(FnWithArgs),
}

/// `{fn: plugin.export, args: ..., name: ...}`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FnWithArgs {
    /// `plugin.export`
    #[serde(rename = "fn")]
    pub func: String,
    /// Static arguments handed to the function on every call (`args` in its input).
    #[serde(default)]
    pub args: Option<Json>,
    /// Policies only: the policy's name, the key of cadCAD's `policies` dict. With cadCAD semantics
    /// names decide the order policies run in and which blocks get the `identity: 0` signal (a
    /// block lacking a name that another block declares). Default: the `fn` reference, so a
    /// function used in several blocks is one name; give names when the same role is played by
    /// different functions or args in different blocks (cadCAD's `action_1`, `action_2`).
    #[serde(default)]
    pub name: Option<String>,
}

impl FnUse {
    pub fn target(&self) -> &str {
        match self {
            FnUse::Short(s) => s,
            FnUse::Long(l) => &l.func,
        }
    }
    /// The policy name (`name`, else the `fn` reference).
    pub fn name(&self) -> &str {
        match self {
            FnUse::Long(FnWithArgs { name: Some(n), .. }) => n,
            _ => self.target(),
        }
    }
    pub fn args(&self) -> Option<&Json> {
        match self {
            FnUse::Short(_) => None,
            FnUse::Long(l) => l.args.as_ref(),
        }
    }
}

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

/// Limits applied to each plugin instance.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Maximum linear memory per instance, e.g. `256MiB`.
    #[serde(default = "default_memory")]
    pub memory: String,
    /// Wall-clock limit for one plugin call, e.g. `10s`.
    #[serde(default = "default_call_timeout")]
    pub call_timeout: String,
    /// Bytes one plugin call may emit (all its messages together), e.g. `64MiB`; past it the call
    /// fails.
    #[serde(default = "default_emit_bytes")]
    pub emit_bytes: String,
    /// Bytes of log text one plugin call may send, e.g. `4MiB`; past it the call fails. Each log
    /// line is kept to its first 4 KiB.
    #[serde(default = "default_log_bytes")]
    pub log_bytes: String,
}

fn default_memory() -> String {
    "256MiB".into()
}
fn default_call_timeout() -> String {
    "10s".into()
}
fn default_emit_bytes() -> String {
    "64MiB".into()
}
fn default_log_bytes() -> String {
    "4MiB".into()
}
impl Default for Limits {
    fn default() -> Self {
        Self {
            memory: default_memory(),
            call_timeout: default_call_timeout(),
            emit_bytes: default_emit_bytes(),
            log_bytes: default_log_bytes(),
        }
    }
}

/// Record output on local disk.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Directory for records and the run summary (default `out/<name>`).
    #[serde(default)]
    pub dir: Option<String>,
    /// Record formats to write (default `[jsonl]`).
    #[serde(default)]
    pub formats: Option<Vec<RecordFormat>>,
}
