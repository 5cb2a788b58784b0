//! A scenario after validation: every name resolved to an index, every value encoded, every limit
//! parsed. The executor and the runtime only ever see this type, so they never re-check input.

use crate::config::scenario::{RecordFormat, TypeName};
use crate::config::span::Pos;
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
}

impl Model {
    /// Jobs in cadCAD order: simulation, then subset, then run.
    pub fn jobs(&self) -> Vec<JobId> {
        let mut out = Vec::with_capacity(self.subsets.len() * self.runs as usize);
        for subset in 0..self.subsets.len() as u32 {
            for run in 1..=self.runs as u32 {
                out.push(JobId { index: out.len(), simulation: 0, subset, run });
            }
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
    /// Position in cadCAD output order.
    pub index: usize,
    pub simulation: u32,
    pub subset: u32,
    /// 1-based. With one run per subset every subset's run is 1 (radCAD's numbering, not cadCAD's
    /// `run = subset + 1` quirk).
    pub run: u32,
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

#[derive(Debug, Clone)]
pub struct BlockPlan {
    pub label: String,
    pub policies: Vec<FnRef>,
    /// (state variable index, function).
    pub updates: Vec<(usize, FnRef)>,
}

#[derive(Debug, Clone)]
pub struct TopicPlan {
    pub alias: String,
    pub name: String,
    pub partitions: i32,
    pub replication: i32,
}

#[derive(Debug, Clone, Default)]
pub struct KafkaPlan {
    pub brokers: Option<String>,
    pub topics: Vec<TopicPlan>,
    pub producer: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct LimitsPlan {
    pub memory_bytes: usize,
    pub call_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct OutputPlan {
    pub dir: PathBuf,
    pub formats: Vec<RecordFormat>,
}
