//! The scenario file as written by a user: parsed once by serde into these types, then compiled into
//! a validated [`distroduce_model::Model`] by [`super::compile`]. Field docs become the JSON Schema
//! descriptions printed by `engine schema`, so they are written for scenario authors.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

pub use super::expect::{DisorderConfig, ExpectationConfig};
pub use kafka::*;

mod kafka;
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
