//! Plugin runtimes. The executor talks to a [`Backend`] (compiled once, shared by all threads) that
//! makes one [`JobBackend`] per job (a fresh set of instances, so nothing leaks between runs).
//!
//! * [`wasm`]: wasmtime. Engine, modules and `InstancePre`s are built once; each job gets its own
//!   `Store` with a memory cap, an epoch deadline per call and a locked-down WASI.
//! * [`component`]: the same contract carried by a WebAssembly component (Python plugins), used
//!   by the wasmtime backend when a plugin file is a component.
//! * [`cache`]: compiled plugins, kept per machine so that each is compiled once.
//! * [`native`]: the same plugin code compiled into the host, called through the same MessagePack
//!   contract. It exists to measure what the WASM boundary costs.

pub mod build;
mod build_stamp;
pub mod cache;
pub mod component;
pub mod describe;
pub mod emitted;
pub mod host;
pub mod inspect;
mod inspect_component;
pub mod native;
pub mod wasm;

use distroduce_model::Model;
use host::HostCalls;
use std::fmt;

/// Bytes of a plugin file (module or component). The largest plugin here, the Python chat
/// component (an interpreter inside), is about 40 MB; a path to `/dev/zero` must not be read forever.
pub const MAX_PLUGIN_FILE_BYTES: u64 = 256 << 20;

/// A function resolved at load time: plugin index and function index within that plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub plugin: usize,
    pub func: usize,
}

/// The blocks of a model with every function use resolved to a [`Slot`].
#[derive(Debug, Clone)]
pub struct Resolved {
    pub blocks: Vec<ResolvedBlock>,
    /// Per plugin, the export names in slot order.
    pub exports: Vec<Vec<String>>,
    /// Per plugin and slot, what the function reads (from its describe export).
    pub reads: Vec<Vec<FnReads>>,
}

/// What a function reads, so the executor sends only that: decoding input is most of a call's
/// cost, and a state update that reads one counter should not decode every chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FnReads {
    /// State variables by index; `None` means unknown, so everything is sent.
    pub state: Option<Vec<usize>>,
    /// Whether the bookkeeping fields are read (always sent when `state` is unknown).
    pub bookkeeping: bool,
    /// Signal names; `None` means all.
    pub signals: Option<Vec<String>>,
}

impl Default for FnReads {
    fn default() -> Self {
        Self { state: None, bookkeeping: true, signals: None }
    }
}

impl FnReads {
    /// From a describe map (ABI.md §2). Names the model does not declare are left out here; the
    /// scenario check reports them.
    pub fn from_describe(model: &Model, d: &serde_json::Value) -> Self {
        let names = |k: &str| -> Option<Vec<String>> {
            d.get("reads")?.get(k)?.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
        };
        let state = names("state");
        Self {
            bookkeeping: state
                .as_ref()
                .is_none_or(|s| s.iter().any(|n| distroduce_model::BOOKKEEPING.contains(&n.as_str()))),
            state: state.map(|s| s.iter().filter_map(|n| model.var_index(n)).collect()),
            signals: names("signals"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ResolvedBlock {
    pub policies: Vec<Slot>,
    pub updates: Vec<(usize, Slot)>,
}

impl Resolved {
    /// Give every distinct (plugin, export) a slot.
    pub fn of(model: &Model) -> Self {
        let mut exports: Vec<Vec<String>> = vec![Vec::new(); model.plugins.len()];
        let mut slot = |f: &distroduce_model::FnRef| {
            let list = &mut exports[f.plugin];
            let func = list.iter().position(|e| e == &f.export).unwrap_or_else(|| {
                list.push(f.export.clone());
                list.len() - 1
            });
            Slot { plugin: f.plugin, func }
        };
        let blocks = model
            .blocks
            .iter()
            .map(|b| ResolvedBlock {
                policies: b.policies.iter().map(&mut slot).collect(),
                updates: b.updates.iter().map(|(v, f)| (*v, slot(f))).collect(),
            })
            .collect();
        let reads = exports.iter().map(|e| vec![FnReads::default(); e.len()]).collect();
        Resolved { blocks, exports, reads }
    }
}

/// Per-call settings from the executor.
#[derive(Debug, Clone, Copy)]
pub struct CallSetup {
    pub seed: u64,
    pub now_ns: i64,
}

/// Why a plugin call produced no output.
#[derive(Debug, Clone, PartialEq)]
pub enum CallFailure {
    /// The guest reported an error (`fail`, a returned `Err`, or a panic message).
    Guest(String),
    /// The call ran past `limits.call_timeout`.
    Timeout(std::time::Duration),
    /// The instance tried to grow its memory past `limits.memory`.
    OutOfMemory(usize),
    /// A table, the store's total memory, emitted bytes or log bytes went past their limit.
    Limit(String),
    /// Any other trap, with wasmtime's description and backtrace.
    Trap(String),
    /// The output pointer or length does not fit in guest memory.
    BadOutput(String),
    /// Instantiating the plugin for this job failed.
    Instantiate(String),
}

impl fmt::Display for CallFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallFailure::Guest(m) => write!(f, "the plugin reported: {m}"),
            CallFailure::Timeout(d) => write!(
                f,
                "the call did not finish within {} (limits.call_timeout); is there an endless loop?",
                humantime::format_duration(*d)
            ),
            CallFailure::OutOfMemory(b) if *b >= 1 << 20 => {
                write!(f, "the plugin exceeded its memory limit of {} MiB (limits.memory)", b >> 20)
            }
            CallFailure::OutOfMemory(b) => {
                write!(f, "the plugin exceeded its memory limit of {b} bytes (limits.memory)")
            }
            CallFailure::Limit(m) => write!(f, "{m}"),
            CallFailure::Trap(m) => write!(f, "the plugin trapped: {m}"),
            CallFailure::BadOutput(m) => write!(f, "the plugin returned an invalid result: {m}"),
            CallFailure::Instantiate(m) => write!(f, "the plugin could not be instantiated: {m}"),
        }
    }
}

/// One guest call of the in-guest run loop (ABI.md §10): `timesteps` timesteps from `timestep`.
#[derive(Debug, Clone, Copy)]
pub struct FusedSetup {
    pub timestep: u64,
    /// The virtual clock of `timestep`.
    pub now_ns: i64,
    /// Function calls in a timestep: the call deadline is this many times `limits.call_timeout`
    /// per timestep.
    pub calls: u32,
    /// How many timesteps (more than 1 only if [`JobBackend::fused_batch`] says the plugin can).
    pub timesteps: u32,
    /// The clock of timestep `t` is `clock.0 + clock.1 * t` (saturating).
    pub clock: (i64, i64),
}

/// How far a call of the in-guest loop got. The records of the completed timesteps and blocks
/// are in the output buffer handed to [`JobBackend::fused_run`], back to back; the messages they
/// emitted in [`HostCalls::emitted`], in order.
#[derive(Debug, Clone, PartialEq)]
pub struct FusedOutcome {
    /// The timestep the loop was in when it returned (the last one, if all went well).
    pub timestep: u64,
    /// Completed blocks of `timestep`; the timesteps before it in the call completed.
    pub blocks_done: u32,
    pub failure: Option<FusedFailure>,
}

/// Where and why a timestep of the in-guest loop stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct FusedFailure {
    /// The block (1-based) and the function's position in it (ABI.md §10).
    pub substep: u32,
    pub pos: u32,
    pub kind: FusedFailKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FusedFailKind {
    Call(CallFailure),
    /// The policies' signals could not be aggregated; `pos` is the policy's index in run order.
    Aggregate(String),
    /// A policy's output is not one well-formed MessagePack value.
    Output(String),
}

/// Compiled plugins, shared by all worker threads.
pub trait Backend: Send + Sync {
    /// Plugin names, by plugin index.
    fn plugin_names(&self) -> Vec<String>;
    /// Whether plugin `plugin` offers the in-guest run loop (ABI.md §10).
    fn fused_capable(&self, _plugin: usize) -> bool {
        false
    }
    /// Fresh instances of every plugin for one job.
    fn instantiate(&self, job_seed: u64) -> Result<Box<dyn JobBackend>, CallFailure>;
}

/// The instances of one job.
pub trait JobBackend {
    /// Call `slot` with the concatenation of `parts` as input; the output replaces `out`.
    fn call(&mut self, slot: Slot, parts: &[&[u8]], setup: CallSetup, out: &mut Vec<u8>) -> Result<(), CallFailure>;
    /// Host-side state: emitted messages, log tail.
    fn host(&mut self) -> &mut HostCalls;
    /// What the guest wrote to stdout/stderr lately, for failure reports.
    fn stderr_tail(&self) -> String {
        String::new()
    }
    /// Hand plugin `plugin` a job's program for its in-guest run loop (ABI.md §10). `Ok(false)`:
    /// the plugin declined it (the engine then runs the job through `call`).
    fn fused_load(&mut self, _plugin: usize, _program: &[u8]) -> Result<bool, CallFailure> {
        Ok(false)
    }
    /// Whether plugin `plugin`'s loop runs many timesteps per call (`distroduce_fused_run_many`).
    fn fused_batch(&self, _plugin: usize) -> bool {
        false
    }
    /// Run the timesteps of `setup` of the loaded program; the completed blocks' records replace
    /// `out`.
    fn fused_run(&mut self, _plugin: usize, setup: FusedSetup, _out: &mut Vec<u8>) -> FusedOutcome {
        FusedOutcome {
            timestep: setup.timestep,
            blocks_done: 0,
            failure: Some(FusedFailure {
                substep: 1,
                pos: 0,
                kind: FusedFailKind::Call(CallFailure::BadOutput("this backend has no in-guest run loop".into())),
            }),
        }
    }
}
