//! One job (simulation × subset × run), following cadCAD 0.5.3 step by step:
//!
//! * row 0 is the initial state with `substep = 0, timestep = 0`;
//! * for each timestep t = 1..=T and block k = 1..=K, the policies run on the previous record in the
//!   block's precomputed `policy_order` (cadCAD's name order with its identity policies, or radCAD's
//!   declaration order), their signals are aggregated in that order, and every state update reads
//!   the same previous record (never a sibling's output); variables no update writes are carried
//!   over;
//! * the previous record a block sees carries that record's bookkeeping: block k ≥ 2 sees
//!   `substep = k−1, timestep = t`; block 1 sees `substep = K, timestep = t−1` (`0, 0` at t = 1),
//!   except that with K = 1 cadCAD shows `substep = 0` at every timestep (radCAD shows 1).

use super::input::{encode_ctx, encode_record, Keys, SignalProjector, Stamp, StateProjector};
use super::JobFailure;
use distroduce_model::message::{MsgMeta, OutMessage};
use distroduce_model::record::{Record, Row};
use distroduce_model::rng::derive;
use distroduce_model::types::Semantics;
use distroduce_model::types::{admits, type_label};
use distroduce_model::value::aggregate::AggScratch;
use distroduce_model::value::{check_one, kind, write_array_len, write_map_len, write_str, Val};
use distroduce_model::{Clock, HistoryMode, JobId, Model, PolicyStep};
use distroduce_plugin_host::host::Emitted;
use distroduce_plugin_host::{CallFailure, CallSetup, JobBackend, Resolved, Slot};

/// What a job hands back as it goes.
pub trait JobSink {
    /// A new record; an error (from publishing it) fails the job.
    fn record(&mut self, r: Record) -> Result<(), String>;
    /// A new record whose values are the caller's buffers (the in-guest loop's state, kept
    /// without a shared value per variable); as [`JobSink::record`].
    fn record_row(&mut self, r: Row<'_, Vec<u8>>) -> Result<(), String>;
    /// Messages of a completed block, in emission order; an error fails the job. The sink takes
    /// out of `m` what it keeps (`std::mem::take`); the buffers of what it leaves are reused.
    fn messages(&mut self, m: &mut [OutMessage]) -> Result<(), FailKind>;
    /// Which loop runs this job (called once, before its first record): the plugin's in-guest
    /// loop or the host's.
    fn loop_used(&mut self, _fused: bool) {}
    /// Whether records must carry the state's values. When nothing writes or publishes them
    /// (`--format none`, no records topic) a loop that does not need the values itself may send
    /// records with empty `vals`, and skip building them.
    fn wants_values(&self) -> bool {
        true
    }
    /// Called once per finished timestep `t` (every block succeeded and was recorded) with its
    /// virtual clock (progress, held messages, transaction boundaries).
    fn timestep_done(&mut self, _t: u64, _now_ns: i64) -> Result<(), FailKind> {
        Ok(())
    }
    /// Whether the run was cancelled (a long wait stops early).
    fn cancelled(&self) -> bool {
        false
    }
    /// Blocks `k .. k + n` of timestep `t` succeeded, emitted nothing and their records carry no
    /// values (a quiet run, ABI.md §10; only when [`JobSink::wants_values`] is false): as `n`
    /// [`JobSink::record`]s with empty `vals`, in one call.
    fn quiet_blocks(&mut self, t: u64, k: u32, n: u32) -> Result<(), String> {
        (k..k + n).try_for_each(|k| self.record(Record { substep: k, timestep: t, vals: Vec::new() }))
    }
    /// Timesteps `t .. t + n` succeeded, each of `blocks` quiet blocks: as
    /// [`JobSink::quiet_blocks`] and [`JobSink::timestep_done`] for each in turn (the default),
    /// in one call. On failure: the timestep and block it stopped at.
    fn quiet_timesteps(&mut self, t: u64, n: u64, blocks: u32, clock: &Clock) -> Result<(), (u64, u32, FailKind)> {
        quiet_timesteps_one_by_one(self, t, n, blocks, clock)
    }
}

/// [`JobSink::quiet_timesteps`] one timestep at a time.
pub(crate) fn quiet_timesteps_one_by_one<S: JobSink + ?Sized>(
    sink: &mut S,
    t: u64,
    n: u64,
    blocks: u32,
    clock: &Clock,
) -> Result<(), (u64, u32, FailKind)> {
    for t in t..t + n {
        sink.quiet_blocks(t, 1, blocks).map_err(|e| (t, blocks, FailKind::Sink(e)))?;
        sink.timestep_done(t, clock.at(t)).map_err(|e| (t, blocks, e))?;
    }
    Ok(())
}

/// Seed of a job: depends only on the scenario seed and the job's identity.
pub fn job_seed(model: &Model, job: &JobId) -> u64 {
    derive(&[model.seed, job.simulation as u64, job.subset as u64, job.mc_run as u64])
}

/// The output of cadCAD's identity policy, `{"identity": 0}`, encoded.
const IDENTITY_SIGNAL: &[u8] = b"\x81\xa8identity\x00";

pub struct JobCtx<'a> {
    pub model: &'a Model,
    pub resolved: &'a Resolved,
    pub keys: &'a Keys,
    /// The run's topics, which the plugins' emits name (parsed at emit time, in the host).
    pub topics: std::sync::Arc<[distroduce_model::TopicPlan]>,
    /// The plugin whose in-guest loop runs the jobs (ABI.md §10), if any.
    pub fused: Option<usize>,
    /// A job whose plugin declines the loop fails instead of falling back to the host loop.
    pub fused_required: bool,
}

pub fn run_job(
    cx: &JobCtx,
    backend: &mut dyn JobBackend,
    job: JobId,
    sink: &mut dyn JobSink,
) -> Result<u64, Box<JobFailure>> {
    backend.host().emitted.set_topics(cx.topics.clone());
    if let Some(plugin) = cx.fused {
        match super::fused::run_job_fused(cx, plugin, backend, job, sink) {
            Some(result) => return result,
            None if cx.fused_required => {
                return Err(Box::new(JobFailure {
                    job,
                    timestep: 0,
                    substep: 0,
                    block: "loading the in-guest loop".into(),
                    function: String::new(),
                    error: FailKind::Call(distroduce_plugin_host::CallFailure::BadOutput(
                        "the plugin declined the program (--data-plane fused); run with -v to see why".into(),
                    )),
                    log_tail: Vec::new(),
                    stderr_tail: String::new(),
                }))
            }
            None => {}
        }
    }
    sink.loop_used(false);
    let model = cx.model;
    let seed = job_seed(model, &job);
    let k_total = model.blocks.len() as u32;
    // cadCAD shows the previous record of a lone block with `substep = 0`.
    let zero_lone_substep = k_total == 1 && model.semantics == Semantics::Cadcad;
    let mut state: Vec<Val> = model.vars.iter().map(|v| v.initial.clone()).collect();
    let mut stamp = Stamp { substep: 0, timestep: 0 };
    let sink_failure = |t: u64, k: u32, error: FailKind| sink_failure(job, t, k, error);
    let record_failure = |t: u64, k: u32, e: String| sink_failure(t, k, FailKind::Sink(e));
    sink.record(Record { substep: 0, timestep: 0, vals: state.clone() }).map_err(|e| record_failure(0, 0, e))?;

    let keep_history = model.history != HistoryMode::Off;
    let mut history: Vec<Vec<Vec<u8>>> = Vec::new();
    if keep_history {
        let mut b = Vec::new();
        encode_record(&mut b, cx.keys, &state, &job, stamp);
        history.push(vec![b]);
    }

    let params = &model.subsets[job.subset as usize].encoded;
    let (mut common, mut tail, mut out, mut head) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut outputs: Vec<Vec<u8>> = Vec::new();
    let (mut agg_scratch, mut signals) = (AggScratch::default(), Vec::new());
    let mut substeps = 0u64;
    let mut emits = Emits::new(job, model.kafka.id_header);

    let job_start = std::time::Instant::now();
    for t in 1..=model.timesteps {
        let now = model.clock.at(t);
        backend.host().emitted.timestep = t;
        let mut this_ts: Vec<Vec<u8>> = Vec::new();
        for (bi, block) in cx.resolved.blocks.iter().enumerate() {
            let k = bi as u32 + 1;
            let plan = &model.blocks[bi];
            let fail = |slot: Slot, e: FailKind, backend: &mut dyn JobBackend| {
                let f = plan
                    .policies
                    .iter()
                    .chain(plan.updates.iter().map(|(_, f)| f))
                    .find(|f| f.plugin == slot.plugin && cx.resolved.exports[slot.plugin][slot.func] == f.export);
                Box::new(JobFailure {
                    job,
                    timestep: t,
                    substep: k,
                    block: plan.label.clone(),
                    function: f.map(|f| f.display.clone()).unwrap_or_default(),
                    error: e,
                    log_tail: backend.host().logs.iter().cloned().collect(),
                    stderr_tail: backend.stderr_tail(),
                })
            };
            // cadCAD's view of the previous record (see module docs).
            let prev = if zero_lone_substep && stamp.timestep > 0 { Stamp { substep: 0, ..stamp } } else { stamp };

            // Shared input: params and history; state and signals are projected per function.
            common.clear();
            write_str(&mut common, "params");
            common.extend_from_slice(params);
            let mut entries = 3; // params, state, ctx
            if keep_history {
                write_str(&mut common, "history");
                let from = match model.history {
                    HistoryMode::Window(n) => history.len().saturating_sub(n as usize),
                    _ => 0,
                };
                write_array_len(&mut common, history.len() - from);
                for ts in &history[from..] {
                    write_array_len(&mut common, ts.len());
                    ts.iter().for_each(|r| common.extend_from_slice(r));
                }
                entries += 1;
            }
            let mut states = StateProjector::new(cx.keys, &job, prev, &state);

            // Policies.
            outputs.clear();
            emits.discard(backend);
            for step in &plan.policy_order {
                let PolicyStep::Policy(pi) = *step else { continue };
                let (slot, f) = (&block.policies[pi], &plan.policies[pi]);
                let call_seed = derive(&[seed, t, k as u64, pi as u64]);
                tail.clear();
                encode_ctx(&mut tail, &job, t, k, call_seed, now, None);
                push_args(&mut tail, f.args.as_deref());
                head.clear();
                write_map_len(&mut head, entries + f.args.is_some() as usize);
                let state_entry = states.entry(&cx.resolved.reads[slot.plugin][slot.func]);
                let parts = [&head[..], &common, state_entry, &tail];
                call_checked(backend, *slot, &parts, CallSetup { seed: call_seed, now_ns: now }, &mut out)
                    .and_then(|()| emits.collect(backend, (t, k)))
                    .map_err(|e| fail(*slot, e, backend))?;
                outputs.push(std::mem::take(&mut out));
            }
            // Outputs in policy order, with cadCAD's identity signals at their names' positions.
            let mut called = outputs.iter();
            let refs: Vec<&[u8]> = plan
                .policy_order
                .iter()
                .map(|step| match step {
                    PolicyStep::Policy(_) => called.next().expect("one output per call").as_slice(),
                    PolicyStep::Identity => IDENTITY_SIGNAL,
                })
                .collect();
            model.aggregator.aggregate_into(&refs, &mut agg_scratch, &mut signals).map_err(|e| {
                // A duplicate signal is one policy's fault: blame that one.
                // The error counts policies in run order; blame the one at that place.
                let which = match &e {
                    distroduce_model::value::aggregate::AggError::DuplicateSignal { policy, .. } => {
                        match plan.policy_order.get(*policy) {
                            Some(PolicyStep::Policy(pi)) => *pi,
                            _ => 0,
                        }
                    }
                    _ => 0,
                };
                let slot = block.policies.get(which).copied().unwrap_or(Slot { plugin: 0, func: 0 });
                fail(slot, FailKind::Aggregate(e.to_string()), backend)
            })?;
            let mut sigs = SignalProjector::new(&signals);
            entries += 1;

            // State updates, all reading the pre-block state.
            let mut next = state.clone();
            for (ui, (vi, slot)) in block.updates.iter().enumerate() {
                let (_, f) = &plan.updates[ui];
                let var = &model.vars[*vi];
                let call_seed = derive(&[seed, t, k as u64, 0x8000_0000 + ui as u64]);
                tail.clear();
                encode_ctx(&mut tail, &job, t, k, call_seed, now, Some(&var.name));
                push_args(&mut tail, f.args.as_deref());
                head.clear();
                write_map_len(&mut head, entries + f.args.is_some() as usize);
                let reads = &cx.resolved.reads[slot.plugin][slot.func];
                let state_entry = states.entry(reads);
                let signal_entry = sigs.entry(reads);
                let parts = [&head[..], &common, state_entry, signal_entry, &tail];
                call_checked(backend, *slot, &parts, CallSetup { seed: call_seed, now_ns: now }, &mut out)
                    .and_then(|()| emits.collect(backend, (t, k)))
                    .map_err(|e| fail(*slot, e, backend))?;
                let got = kind(&out).expect("checked above");
                if !admits(var.ty, got) {
                    return Err(fail(
                        *slot,
                        FailKind::Type { var: var.name.clone(), want: type_label(var.ty), got: got.name() },
                        backend,
                    ));
                }
                next[*vi] = Val::from(out.as_slice());
            }
            drop(states);

            // Messages of this block, now that it has succeeded.
            emits.hand_off(backend, sink).map_err(|e| {
                let slot = block.policies.first().copied().unwrap_or(Slot { plugin: 0, func: 0 });
                fail(slot, e, backend)
            })?;

            state = next;
            stamp = Stamp { substep: k, timestep: t };
            if keep_history {
                let mut b = Vec::new();
                encode_record(&mut b, cx.keys, &state, &job, stamp);
                this_ts.push(b);
            }
            sink.record(Record { substep: k, timestep: t, vals: state.clone() })
                .map_err(|e| record_failure(t, k, e))?;
            substeps += 1;
        }
        if keep_history {
            history.push(this_ts);
        }
        sink.timestep_done(t, now).map_err(|e| sink_failure(t, k_total, e))?;
        crate::pace::keep_pace(model, t, job_start, &*sink).map_err(|e| sink_failure(t, k_total, e))?;
    }
    Ok(substeps)
}

/// A job stopped because its records or messages could not be handed on.
pub(crate) fn sink_failure(job: JobId, timestep: u64, substep: u32, error: FailKind) -> Box<JobFailure> {
    Box::new(JobFailure {
        job,
        timestep,
        substep,
        block: "record output".into(),
        function: String::new(),
        error,
        log_tail: Vec::new(),
        stderr_tail: String::new(),
    })
}

/// One plugin call whose output must be a single well-formed MessagePack value.
fn call_checked(
    backend: &mut dyn JobBackend,
    slot: Slot,
    parts: &[&[u8]],
    setup: CallSetup,
    out: &mut Vec<u8>,
) -> Result<(), FailKind> {
    backend.call(slot, parts, setup, out).map_err(FailKind::Call)?;
    check_one(out).map_err(|e| FailKind::Output(e.to_string()))
}

/// The messages of the current block, which the host parsed at emit time: checked and stamped
/// (job, timestep, substep, sequence number) right after each call, so that a bad message is
/// blamed on the function that sent it, and handed to the sink in place once the block succeeded.
pub(crate) struct Emits {
    /// How many of the host's messages were stamped (host loop).
    stamped: usize,
    /// Sequence number within the job.
    seq: u64,
    job: JobId,
    id_header: bool,
}

impl Emits {
    pub(crate) fn new(job: JobId, id_header: bool) -> Self {
        Self { stamped: 0, seq: 0, job, id_header }
    }

    /// The messages of the call just made at `(timestep, substep)`; if one of them is bad, the
    /// call fails (and the job with it: none of the call's messages are published).
    fn collect(&mut self, backend: &mut dyn JobBackend, at: (u64, u32)) -> Result<(), FailKind> {
        let emitted = &mut backend.host().emitted;
        let end = emitted.len();
        self.stamp(emitted, self.stamped..end, at).map_err(|(_, e)| FailKind::Emit(e))?;
        self.stamped = end;
        Ok(())
    }

    /// Stamp the messages at positions `range` of `emitted`, sent at `(timestep, substep)`; if one
    /// of them is bad, its position and error.
    pub(crate) fn stamp(
        &mut self,
        emitted: &mut Emitted,
        range: std::ops::Range<usize>,
        (timestep, substep): (u64, u32),
    ) -> Result<(), (usize, String)> {
        for m in emitted.messages(range)? {
            m.meta = MsgMeta { job: self.job.index, timestep, substep, seq: self.seq };
            if self.id_header {
                let j = &self.job;
                m.headers.push((
                    "distroduce-id".into(),
                    format!("{}-{}-{}-{}", j.simulation, j.subset, j.run, self.seq).into_bytes(),
                ));
            }
            self.seq += 1;
        }
        Ok(())
    }

    /// Hand the block's messages to `sink`, then forget them (the host keeps their buffers).
    fn hand_off(&mut self, backend: &mut dyn JobBackend, sink: &mut dyn JobSink) -> Result<(), FailKind> {
        let emitted = &mut backend.host().emitted;
        let sent = send(sink, emitted, 0..self.stamped);
        self.discard(backend);
        sent
    }

    /// Forget the block's messages.
    fn discard(&mut self, backend: &mut dyn JobBackend) {
        backend.host().emitted.clear();
        self.stamped = 0;
    }
}

/// Hand the (stamped) messages at positions `range` of `emitted` to `sink`, in place.
pub(crate) fn send(
    sink: &mut dyn JobSink,
    emitted: &mut Emitted,
    range: std::ops::Range<usize>,
) -> Result<(), FailKind> {
    match emitted.messages(range) {
        Ok([]) => Ok(()),
        Ok(msgs) => sink.messages(msgs),
        Err((_, e)) => Err(FailKind::Emit(e)),
    }
}

fn push_args(tail: &mut Vec<u8>, args: Option<&[u8]>) {
    if let Some(a) = args {
        write_str(tail, "args");
        tail.extend_from_slice(a);
    }
}

/// What went wrong in a job.
#[derive(Debug, Clone, PartialEq)]
pub enum FailKind {
    Call(CallFailure),
    Output(String),
    Aggregate(String),
    Type {
        var: String,
        want: &'static str,
        got: &'static str,
    },
    Emit(String),
    Sink(String),
    /// A message that an expectation cannot read (missing or non-numeric field).
    Expect(String),
    /// The run was interrupted (SIGINT/SIGTERM) before this job finished; its records up to the
    /// last complete timestep are kept.
    Interrupted,
}

impl std::fmt::Display for FailKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailKind::Call(c) => write!(f, "{c}"),
            FailKind::Output(e) => write!(f, "the plugin returned bytes that are not one MessagePack value ({e})"),
            FailKind::Aggregate(e) => write!(f, "cannot aggregate the policies' signals: {e}"),
            FailKind::Type { var, want, got } => {
                write!(f, "the update of `{var}` returned {got}, but `{var}` is {want}")
            }
            FailKind::Emit(e) => write!(f, "bad emitted message: {e}"),
            FailKind::Sink(e) => write!(f, "the message sink failed: {e}"),
            FailKind::Expect(e) => write!(f, "{e}"),
            FailKind::Interrupted => write!(f, "interrupted"),
        }
    }
}
