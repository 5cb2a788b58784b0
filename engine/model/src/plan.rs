//! A scenario after validation: every name resolved to an index, every value encoded, every limit
//! parsed. The executor and the runtime only ever see this type, so they never re-check input.

use crate::types::{Pos, RecordFormat, Semantics, TypeName};
use crate::value::aggregate::Aggregator;
use crate::value::Val;
use std::path::PathBuf;
use std::time::Duration;

/// The five bookkeeping fields every record carries after the state variables (cadCAD order).
pub const BOOKKEEPING: [&str; 5] = ["simulation", "subset", "run", "substep", "timestep"];

#[derive(Debug, Clone)]
pub struct Model {
    pub name: String,
    /// The scenario file, for error messages.
    pub file: PathBuf,
    pub seed: u64,
    /// cadCAD's or radCAD's rules where they differ.
    pub semantics: Semantics,
    pub runs: u64,
    pub timesteps: u64,
    pub vars: Vec<Var>,
    pub subsets: Vec<Subset>,
    pub history: HistoryMode,
    pub aggregator: Aggregator,
    pub clock: Clock,
    pub plugins: Vec<PluginSpec>,
    pub blocks: Vec<BlockPlan>,
    pub kafka: KafkaPlan,
    pub limits: LimitsPlan,
    pub output: OutputPlan,
    /// What a correct downstream job must output (`expectations`).
    pub expectations: Vec<crate::expect::Expectation>,
}

impl Model {
    /// Jobs in output order. cadCAD: simulation, then subset, then run, and with one run per
    /// subset the run of subset s is labelled s + 1. radCAD: simulation, then run, then subset, and
    /// runs are always labelled 1..N.
    pub fn jobs(&self) -> Vec<JobId> {
        let (subsets, runs) = (self.subsets.len() as u32, self.runs as u32);
        let mut out = Vec::with_capacity(subsets as usize * runs as usize);
        let mut push = |subset: u32, mc_run: u32| {
            let run = match self.semantics {
                Semantics::Cadcad if runs == 1 => subset + 1,
                _ => mc_run,
            };
            out.push(JobId { index: out.len(), simulation: 0, subset, run, mc_run });
        };
        match self.semantics {
            Semantics::Cadcad => (0..subsets).for_each(|s| (1..=runs).for_each(|r| push(s, r))),
            Semantics::Radcad => (1..=runs).for_each(|r| (0..subsets).for_each(|s| push(s, r))),
        }
        out
    }

    /// Records each job produces: the initial row plus one per block per timestep.
    pub fn records_per_job(&self) -> u64 {
        1 + self.timesteps * self.blocks.len() as u64
    }

    pub fn var_index(&self, name: &str) -> Option<usize> {
        self.vars.iter().position(|v| v.name == name)
    }
}

/// One (simulation, subset, run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JobId {
    /// Position in output order (see [`Model::jobs`]); shards split jobs by it.
    pub index: usize,
    pub simulation: u32,
    pub subset: u32,
    /// The `run` label of records and of the state plugins see. 1-based; with cadCAD semantics and
    /// one run per subset it is `subset + 1` (cadCAD's numbering).
    pub run: u32,
    /// The Monte Carlo run, 1..=runs, whatever the label: random streams derive from it, so both
    /// semantics draw the same numbers.
    pub mc_run: u32,
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "simulation {} subset {} run {}", self.simulation, self.subset, self.run)
    }
}

#[derive(Debug, Clone)]
pub struct Var {
    pub name: String,
    pub initial: Val,
    pub ty: TypeName,
}

#[derive(Debug, Clone)]
pub struct Subset {
    /// The parameter set as JSON, for summaries.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// The same, encoded as the `params` input map.
    pub encoded: Val,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryMode {
    Off,
    All,
    Window(u32),
}

/// `time_ns(timestep) = start_ns + timestep * step_ns`.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub start_ns: i64,
    pub step_ns: i64,
    /// Sleep so that each timestep takes `step_ns` of wall time.
    pub realtime: bool,
}

impl Clock {
    pub fn at(&self, timestep: u64) -> i64 {
        self.start_ns.saturating_add(self.step_ns.saturating_mul(timestep as i64))
    }
}

#[derive(Debug, Clone)]
pub enum PluginSource {
    Wasm(PathBuf),
    Crate(PathBuf),
}

#[derive(Debug, Clone)]
pub struct PluginSpec {
    pub name: String,
    pub source: PluginSource,
    pub pos: Option<Pos>,
}

/// A use of a plugin function at one place in the scenario.
#[derive(Debug, Clone)]
pub struct FnRef {
    pub plugin: usize,
    pub export: String,
    /// Encoded `args` bound by the scenario.
    pub args: Option<Val>,
    /// Where the scenario names it, and how (`chat.enter`), for errors.
    pub pos: Option<Pos>,
    pub display: String,
}

/// One step of a block's policy phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyStep {
    /// Call `policies[i]`.
    Policy(usize),
    /// cadCAD's identity policy: contributes the signal `identity: 0`.
    Identity,
}

#[derive(Debug, Clone)]
pub struct BlockPlan {
    pub label: String,
    pub policies: Vec<FnRef>,
    /// Policy names (`name`, else the `fn` reference), parallel to `policies`.
    pub policy_names: Vec<String>,
    /// The order in which the policies run and their signals aggregate, computed once from the
    /// semantics: radCAD's is `policies` in order; cadCAD's follows the first appearance of names
    /// across blocks, with an identity step for each name this block lacks (or one, when no block
    /// has policies).
    pub policy_order: Vec<PolicyStep>,
    /// (state variable index, function).
    pub updates: Vec<(usize, FnRef)>,
}

/// Each block's [`PolicyStep`]s, given the policy names of every block.
///
/// radCAD: every block's policies in declaration order. cadCAD 0.5.3: the names in the order they
/// first appear (blocks in order, each block's policies in order); a block runs its policies in
/// that order (policies sharing a name stay in declaration order), and gets an identity step at the
/// position of each name it lacks, or a single one when no block has policies.
pub fn policy_orders(semantics: Semantics, names: &[Vec<String>]) -> Vec<Vec<PolicyStep>> {
    if semantics == Semantics::Radcad {
        return names.iter().map(|b| (0..b.len()).map(PolicyStep::Policy).collect()).collect();
    }
    let mut global: Vec<&str> = Vec::new();
    for n in names.iter().flatten() {
        if !global.contains(&n.as_str()) {
            global.push(n);
        }
    }
    if global.is_empty() {
        return names.iter().map(|_| vec![PolicyStep::Identity]).collect();
    }
    names
        .iter()
        .map(|block| {
            let mut steps = Vec::with_capacity(global.len());
            for g in &global {
                let before = steps.len();
                steps.extend(block.iter().enumerate().filter(|(_, n)| n == g).map(|(i, _)| PolicyStep::Policy(i)));
                if steps.len() == before {
                    steps.push(PolicyStep::Identity);
                }
            }
            steps
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct TopicPlan {
    pub alias: String,
    pub name: String,
    pub partitions: i32,
    pub replication: i32,
    pub format: crate::types::ValueFormat,
    pub key: Option<KeyTemplate>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub partition: Option<i32>,
    pub disorder: Option<Disorder>,
    /// `format: avro` or `protobuf`: the schema versions in the order they take effect (the
    /// first from timestep 0). Empty for other formats.
    pub schemas: Vec<SchemaVersion>,
    /// Encodes values of `format: avro` and `protobuf`, attached once the schemas are registered (the registry
    /// client lives outside the simulation core, in `distroduce-registry`).
    pub encoder: Option<std::sync::Arc<dyn ValueEncoder>>,
}

/// One entry of a topic's `schemas` (or its single `schema`).
#[derive(Debug, Clone)]
pub struct SchemaVersion {
    /// The first timestep whose messages use this schema.
    pub from_timestep: u64,
    /// The schema's text (Avro JSON or `.proto`; read from its file when given as `{file: PATH}`).
    pub text: String,
    /// `format: protobuf`: the full name of the message type values are encoded as (the topic's
    /// `message`), if given.
    pub message: Option<String>,
    /// Where the entry is written (`kafka.topics.<alias>.schemas[i]`), for errors.
    pub path: String,
    pub pos: Option<crate::types::Pos>,
}

/// Turns an emitted value (MessagePack) into the bytes a topic sends, for formats that need state
/// prepared before the run (registered schema ids).
pub trait ValueEncoder: Send + Sync + std::fmt::Debug {
    /// Encode `value`, emitted at `timestep`; errors say which field did not fit.
    fn encode(&self, value: &[u8], timestep: u64) -> Result<Vec<u8>, String>;
}

/// `kafka.schema_registry` (or `--schema-registry URL`).
#[derive(Debug, Clone, Default)]
pub struct RegistryPlan {
    /// Base URL of the Confluent Schema Registry REST API, e.g.
    /// `http://127.0.0.1:18081/apis/ccompat/v7`.
    pub url: String,
    pub subject_strategy: crate::types::SubjectStrategy,
}

/// Compiled `kafka.topics.*.disorder`: delays in event-time milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Disorder {
    /// (fraction of messages, how far behind they arrive).
    pub late: Option<(f64, i64)>,
    /// Every message delayed by a random 0..=jitter.
    pub jitter_ms: Option<i64>,
    /// Fraction of messages sent twice.
    pub duplicate: f64,
}

/// A parsed key template: literal text and `{field.path}` references into the message value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTemplate {
    pub source: String,
    pub parts: Vec<KeyPart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPart {
    Text(String),
    Field(Vec<String>),
}

impl KeyTemplate {
    /// Parse `"{room}/{user.id}"`; `{{` and `}}` are literal braces.
    pub fn parse(src: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = src.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let mut field = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => field.push(c),
                            None => return Err(format!("unclosed `{{` in key template `{src}`")),
                        }
                    }
                    let path: Vec<String> = field.split('.').map(|s| s.trim().to_string()).collect();
                    if path.iter().any(String::is_empty) {
                        return Err(format!("empty field name in key template `{src}`"));
                    }
                    if !text.is_empty() {
                        parts.push(KeyPart::Text(std::mem::take(&mut text)));
                    }
                    parts.push(KeyPart::Field(path));
                }
                '}' => {
                    return Err(format!("unmatched `}}` in key template `{src}` (write `}}}}` for a literal brace)"))
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(KeyPart::Text(text));
        }
        Ok(Self { source: src.to_string(), parts })
    }
}

#[derive(Debug, Clone, Default)]
pub struct KafkaPlan {
    pub brokers: Option<String>,
    pub topics: Vec<TopicPlan>,
    /// librdkafka producer properties (`kafka.producer`), without credentials (see `secrets`).
    pub producer: Vec<(String, String)>,
    /// How every client (producer, admin, `engine verify`'s consumer) reaches and authenticates to
    /// the cluster: `security.protocol`, `sasl.mechanism`, `ssl.*`, from `kafka.tls`/`kafka.sasl`.
    pub connection: Vec<(String, String)>,
    /// Credentials by librdkafka property (`sasl.username`, `sasl.password`, and any sensitive
    /// property given under `kafka.producer`), read when a client is created, for every client.
    pub secrets: Vec<(String, crate::secret::SecretSource)>,
    /// Index into `topics` of the topic that receives every record.
    pub records_topic: Option<usize>,
    pub id_header: bool,
    /// Open-loop target rate, messages per second.
    pub rate: Option<f64>,
    /// Excluded from throughput and latency figures.
    pub warmup: Duration,
    pub timestamps: crate::types::TimestampMode,
    /// `kafka.transactions`: one Kafka transaction per timestep or block of each job, or none.
    pub transactions: crate::types::TransactionMode,
    /// `kafka.transactional_id_prefix` (default: the scenario's name): job `j` produces with
    /// `transactional.id = <prefix>-<simulation>-<subset>-<run>`, the same in every rerun, so a
    /// rerun fences what is left of an earlier one.
    pub transactional_id_prefix: String,
    /// `kafka.schema_registry`: where `format: avro` and `protobuf` topics register their schemas.
    pub schema_registry: Option<RegistryPlan>,
}

#[derive(Debug, Clone)]
pub struct LimitsPlan {
    pub memory_bytes: usize,
    pub call_timeout: Duration,
    /// Bytes one plugin call may emit, all messages together.
    pub emit_bytes: usize,
    /// Bytes of log text one plugin call may send.
    pub log_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct OutputPlan {
    pub dir: PathBuf,
    pub formats: Vec<RecordFormat>,
}

#[cfg(test)]
mod tests {
    use super::PolicyStep::{Identity as I, Policy as P};
    use super::*;

    fn names(blocks: &[&[&str]]) -> Vec<Vec<String>> {
        blocks.iter().map(|b| b.iter().map(|n| n.to_string()).collect()).collect()
    }

    #[test]
    fn cadcad_orders_by_first_appearance_and_adds_identity_for_missing_names() {
        let n = names(&[&["b", "a", "c"], &["a", "c", "b"], &[], &["c"], &["x", "x"]]);
        assert_eq!(
            policy_orders(Semantics::Cadcad, &n),
            vec![
                vec![P(0), P(1), P(2), I],
                vec![P(2), P(0), P(1), I],
                vec![I, I, I, I],
                vec![I, I, P(0), I],
                vec![I, I, I, P(0), P(1)],
            ]
        );
        assert_eq!(policy_orders(Semantics::Cadcad, &names(&[&[], &[]])), vec![vec![I], vec![I]]);
    }

    #[test]
    fn radcad_keeps_each_blocks_order() {
        let n = names(&[&["b", "a"], &[]]);
        assert_eq!(policy_orders(Semantics::Radcad, &n), vec![vec![P(0), P(1)], vec![]]);
    }
}
