//! Small vocabulary types shared by the scenario format and the compiled model. They are written
//! in scenario files (hence serde and JSON Schema), and read by every later stage.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A state-variable type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TypeName {
    Number,
    Int,
    Float,
    Str,
    Bool,
    List,
    Map,
    Any,
}

pub use distroduce_values::aggregate::AggOp;

/// Whose execution rules apply where cadCAD 0.5.3 and radCAD 0.14 differ (run numbering, job
/// order, the identity policy, policy order, the previous substep with one block). Everything else
/// is the same in both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Semantics {
    /// cadCAD 0.5.3, quirks included: with `runs: 1` the run of subset s is numbered s + 1; jobs in
    /// subset-major order; a block lacking a policy name that another block declares (or any block,
    /// when no block has policies) also receives the signal `identity: 0`; every block runs its
    /// policies in the order their names first appear across all blocks; with one block, the
    /// previous record shows `substep = 0`.
    #[default]
    Cadcad,
    /// radCAD 0.14: runs numbered 1..N in every subset; jobs in run-major order (for each run, all
    /// subsets); no identity signal; each block runs its policies in its own order; with one block,
    /// the previous record shows its true `substep` (1) from timestep 2 on.
    Radcad,
}

/// Encoding of message values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ValueFormat {
    /// JSON text of the emitted value (binary values are sent as-is).
    #[default]
    Json,
    /// Strings as their UTF-8 bytes, binary as-is; other values are an error.
    Raw,
    /// Avro binary in the Confluent wire format (magic byte 0, 4-byte schema id, Avro datum), with
    /// the topic's `schema`/`schemas` registered in `kafka.schema_registry`.
    Avro,
    /// Protobuf binary in the Confluent wire format (magic byte 0, 4-byte schema id, message
    /// indexes, the message), with the topic's `.proto` `schema`/`schemas` registered in
    /// `kafka.schema_registry` and its `message` type.
    Protobuf,
}

impl ValueFormat {
    /// Avro and Protobuf: values encoded against schemas registered in a schema registry.
    pub fn uses_registry(self) -> bool {
        matches!(self, ValueFormat::Avro | ValueFormat::Protobuf)
    }

    /// The name written in a scenario (`format: NAME`).
    pub fn name(self) -> &'static str {
        match self {
            ValueFormat::Json => "json",
            ValueFormat::Raw => "raw",
            ValueFormat::Avro => "avro",
            ValueFormat::Protobuf => "protobuf",
        }
    }
}

/// How the registry subject of a topic's schema is named (Confluent's subject name strategies).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectStrategy {
    /// `<topic>-value` (Confluent's default, TopicNameStrategy).
    #[default]
    Topic,
    /// The record's full name, e.g. `chat.Message` (RecordNameStrategy).
    Record,
    /// `<topic>-<record full name>` (TopicRecordNameStrategy).
    TopicRecord,
}

/// A record file format. All are readable by pandas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RecordFormat {
    /// One JSON object per record (`pandas.read_json(path, lines=True)`).
    Jsonl,
    /// Comma-separated; nested values are JSON text.
    Csv,
    /// Apache Parquet with typed columns (`pandas.read_parquet`): ints int64, floats double,
    /// strings, booleans; lists, maps and mixed values as JSON text (README: Parquet records).
    Parquet,
    /// No record files (benchmarks).
    None,
}

/// Which timestamp Kafka messages carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TimestampMode {
    /// The event time: the virtual clock when the message was emitted (`clock.start + timestep ×
    /// clock.step`), or the `time_ns` the plugin gave in `emit`. Windowed stream jobs read it as
    /// the record's CreateTime. Note that a broker's time-based retention also reads it: messages
    /// stamped far in the past can be deleted at the next retention check.
    #[default]
    Event,
    /// The producer's wall clock at send time (Kafka's default).
    Produce,
}

/// How the messages of a job are grouped into Kafka transactions (`kafka.transactions`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransactionMode {
    /// No transactions: every message is visible as soon as the broker has it.
    #[default]
    Off,
    /// One transaction per timestep of each job: a `read_committed` consumer sees a job's
    /// timestep whole or not at all; a failed substep aborts its timestep.
    Timestep,
    /// One transaction per block (substep) of each job: smaller transactions, whole blocks.
    Block,
}

impl TransactionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionMode::Off => "off",
            TransactionMode::Timestep => "timestep",
            TransactionMode::Block => "block",
        }
    }
}

impl std::str::FromStr for TransactionMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(Self::Off),
            "timestep" => Ok(Self::Timestep),
            "block" => Ok(Self::Block),
            _ => Err(format!("unknown transaction mode `{s}`; expected off, timestep or block")),
        }
    }
}

/// An aggregate over a group's messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AggregateKind {
    /// Number of distinct messages.
    #[default]
    Count,
    Sum,
    Mean,
    Min,
    Max,
}

/// Whether a value of kind `k` may be stored in a variable of type `t`.
pub fn admits(t: TypeName, k: crate::value::Kind) -> bool {
    use crate::value::Kind as K;
    match t {
        TypeName::Any => true,
        TypeName::Number => matches!(k, K::Int | K::Float),
        TypeName::Int => k == K::Int,
        TypeName::Float => matches!(k, K::Float | K::Int),
        TypeName::Str => k == K::Str,
        TypeName::Bool => k == K::Bool,
        TypeName::List => k == K::List,
        TypeName::Map => k == K::Map,
    }
}

pub fn type_label(t: TypeName) -> &'static str {
    match t {
        TypeName::Number => "number",
        TypeName::Int => "int",
        TypeName::Float => "float",
        TypeName::Str => "str",
        TypeName::Bool => "bool",
        TypeName::List => "list",
        TypeName::Map => "map",
        TypeName::Any => "any",
    }
}

pub fn agg_name(a: AggregateKind) -> &'static str {
    match a {
        AggregateKind::Count => "count",
        AggregateKind::Sum => "sum",
        AggregateKind::Mean => "mean",
        AggregateKind::Min => "min",
        AggregateKind::Max => "max",
    }
}

/// A 1-based line and column in a scenario file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl std::fmt::Display for Semantics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Cadcad => "cadcad",
            Self::Radcad => "radcad",
        })
    }
}

impl std::str::FromStr for Semantics {
    type Err = String;
    /// The names scenario files use (`cadcad`, `radcad`), for command-line flags.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cadcad" => Ok(Self::Cadcad),
            "radcad" => Ok(Self::Radcad),
            other => Err(format!("unknown semantics `{other}` (cadcad, radcad)")),
        }
    }
}

impl std::str::FromStr for RecordFormat {
    type Err = String;
    /// The names scenario files use (`jsonl`, `csv`, `parquet`, `none`), for command-line flags.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "jsonl" => Ok(Self::Jsonl),
            "csv" => Ok(Self::Csv),
            "parquet" => Ok(Self::Parquet),
            "none" => Ok(Self::None),
            other => Err(format!("unknown record format `{other}` (jsonl, csv, parquet, none)")),
        }
    }
}
