//! The typed in-guest run loop (ABI.md §11): the §10 loop with the state kept as the plugin's
//! `#[distroduce_sdk::state]` struct for the whole job.
//!
//! Per block, exactly as [`crate::fused::Loop`] (and the engine's host loop): policies in the
//! program's order on the pre-block state, their outputs aggregated in policy order, every state
//! update reading the pre-block state and the aggregated signals, the new values held until the
//! block is complete and only then written into the state. What changes is the representation:
//! functions read `&State` directly; params and args are decoded once per job; a block whose
//! policies all return one `#[distroduce_sdk::signals]` struct aggregates typed, otherwise the
//! outputs are encoded and aggregated as MessagePack. The host receives the same records (each
//! value encoded from the typed result, the bytes the function's MessagePack output would have)
//! (which the engine checks against the variables' types as before).

mod agg;
mod paths;

use crate::fused::{
    aggregator, decode_program, signal_projection, Counting, Cursor, ProgramIn, RunLoop, IDENTITY_SIGNAL,
};
use crate::input::FusedCtx;
use crate::native::Host;
use crate::typed::{Held, SignalsRef, TypedCall, TypedFactory, TypedFn, TypedPolicy, TypedState, TypedUse};
use agg::{typed_fold, TypedAgg};
use distroduce_abi::fused::status;
use distroduce_values::aggregate::{AggScratch, Aggregator};
use paths::{aggregate_failed, call_failed, msgpack_policies, quiet_block, stop, write_record};
use std::any::TypeId;

/// The empty signals map a policy's call carries.
const NO_SIGNALS: &[u8] = &[0x80];

struct Policy<D> {
    pos: u32,
    /// A policy ([`TypedUse::policy`] is `Some`; `build` checked), boxed: its address is fixed.
    f: Box<D>,
}

impl<D> Policy<D> {
    /// The policy behind the use, for everything but the hot calls.
    fn dyn_ref<S>(&self) -> &dyn TypedPolicy<S>
    where
        D: TypedUse<S>,
    {
        self.f.policy().expect("a policy's use (checked when the program was bound)")
    }
}

struct Update<D> {
    var: usize,
    /// The state field the variable is.
    field: usize,
    pos: u32,
    /// Index of the function's signal projection, if it reads signals.
    sig: Option<usize>,
    /// Whether its values may be left out of the records (ABI.md §10, `values: false`): the
    /// engine reads none, and the value's type fixes its MessagePack kind (`FixedKind`).
    omit: bool,
    /// Whether a value of it was sent in this job (the engine checks that one's kind).
    sent: bool,
    /// `f.held()`, taken once: the block commits through it without a dynamic call.
    held: (*mut (), std::any::TypeId),
    /// A state update ([`TypedUse::update`] is `Some`; `build` checked), boxed.
    f: Box<D>,
}

struct Block<D> {
    /// In the order they run; `None` is cadCAD's identity policy.
    policies: Vec<Option<Policy<D>>>,
    updates: Vec<Update<D>>,
    /// Typed aggregation: every policy returns one `#[signals]` type and every update reads that
    /// type or no signals. `None`: MessagePack aggregation.
    fold: Option<TypedAgg>,
    /// Only identity policies (or none): the aggregate is the same every timestep, computed once.
    constant: Option<Vec<u8>>,
    /// With typed aggregation: the policies as runs of uses of one function, each called
    /// through one dynamic call ([`TypedPolicy::call_run`]).
    runs: Vec<Run>,
    /// Every update's values may be left out (`Update::omit`), and every update's value was
    /// sent (`Update::sent`): with both, a block that emitted nothing is quiet (ABI.md §10).
    all_omit: bool,
    all_sent: bool,
    /// Some update reads a projection of MessagePack signals (`sig_cache`).
    projects: bool,
}

/// Uses of one function next to each other in a block's policy order.
struct Run {
    /// The first one's index in the block's policies.
    first: usize,
    /// The others (boxed: their addresses are fixed while the block lives).
    rest: Vec<*mut ()>,
    /// Every use's position, the first's first.
    pos: Vec<u32>,
}

/// The runs of `policies` (typed aggregation: no identity policies).
fn runs<S, D: TypedUse<S>>(policies: &mut [Option<Policy<D>>]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    let mut last: Option<TypeId> = None;
    for (i, p) in policies.iter_mut().enumerate() {
        let Some(p) = p else { continue };
        let ty = p.dyn_ref().call_type();
        match runs.last_mut() {
            Some(run) if ty.is_some() && ty == last => {
                let Some(f) = p.f.policy_mut() else { continue };
                run.rest.push(f as *mut dyn TypedPolicy<S> as *mut ());
                run.pos.push(p.pos);
            }
            _ => runs.push(Run { first: i, rest: Vec::new(), pos: vec![p.pos] }),
        }
        last = ty;
    }
    runs
}

/// A job's typed state and program, kept in the guest between timesteps. `D` holds one use of a
/// function: the boxed trait objects of [`TypedFn`] (bound with [`TypedLoop::load`]), or the
/// `enum` that `native_table!(state = S; ...)` generates, whose `match` calls the functions
/// directly ([`TypedLoop::load_direct`]).
pub struct TypedLoop<S, D = TypedFn<S>> {
    state: S,
    var_names: Vec<String>,
    job: [u64; 3],
    seed: u64,
    aggregator: Aggregator,
    blocks: Vec<Block<D>>,
    sig_projections: Vec<Option<Vec<String>>>,
    sig_cache: Vec<(bool, Vec<u8>)>,
    outputs: Vec<Vec<u8>>,
    signals: Vec<u8>,
    agg_scratch: AggScratch,
    marks: Vec<(u32, u32)>,
    out: Vec<u8>,
    /// Whether blocks may be written as quiet runs (the engine reads them and no values).
    quiet_runs: bool,
    /// The count word of the quiet run that ends `out`, if one does.
    quiet_at: Option<usize>,
    /// Whether an emitted `Shared` keeps its bytes ([`FusedCtx::keep_shared`]): only if the
    /// loop may encode it again, in record values or in MessagePack policy outputs.
    keep_shared: bool,
    msg: String,
    pub cursor: Cursor,
}

impl<S: TypedState> TypedLoop<S> {
    /// Decode a program and bind it to `table` (export name, factory); see [`TypedLoop::build`].
    pub fn load(program: &[u8], table: &[(&str, TypedFactory<S>)]) -> Result<Self, String> {
        Self::build(&decode_program(program)?, table)
    }

    /// [`TypedLoop::build_direct`] with the factories' boxed trait objects.
    pub(crate) fn build(p: &ProgramIn, table: &[(&str, TypedFactory<S>)]) -> Result<Self, String> {
        let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
        Self::build_direct(p, &names, |i, params, args| (table[i].1)(params, args))
    }
}

impl<S: TypedState, D: TypedUse<S>> TypedLoop<S, D> {
    /// Decode a program and bind it to the functions `names` (export names), `make(i, params,
    /// args)` making a use of `names[i]`; see [`TypedLoop::build_direct`].
    pub fn load_direct(
        program: &[u8],
        names: &[&str],
        make: impl Fn(usize, &[u8], Option<&[u8]>) -> Result<D, String>,
    ) -> Result<Self, String> {
        Self::build_direct(&decode_program(program)?, names, make)
    }

    /// Bind a program to typed functions. `Err` says why this program cannot run typed (a
    /// function without a typed form, a variable the state struct lacks, a type mismatch); the
    /// caller then runs the MessagePack loop.
    pub(crate) fn build_direct(
        p: &ProgramIn,
        names: &[&str],
        make: impl Fn(usize, &[u8], Option<&[u8]>) -> Result<D, String>,
    ) -> Result<Self, String> {
        let values: Vec<&[u8]> = p.state.iter().map(|b| b.0.as_slice()).collect();
        let state = S::decode(&p.vars, &values)?;
        let factory = |f: u32| -> Result<(&str, usize), String> {
            let name = p.fns.get(f as usize).ok_or("malformed program: a call names no function")?;
            let i = names
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| format!("`{name}` has no typed form (not in `native_table!(state = ...)`)"))?;
            Ok((name, i))
        };
        let mut sig_projections: Vec<Option<Vec<String>>> = Vec::new();
        let mut sig_of = |f: u32| {
            let r = &p.reads[f as usize].signals;
            sig_projections.iter().position(|x| x == r).unwrap_or_else(|| {
                sig_projections.push(r.clone());
                sig_projections.len() - 1
            })
        };
        let p_agg = aggregator(p)?;
        let mut blocks = Vec::with_capacity(p.blocks.len());
        let mut max_policies = 0;
        for b in &p.blocks {
            let mut policies = Vec::with_capacity(b.policies.len());
            for c in &b.policies {
                let Some(c) = c else {
                    policies.push(None);
                    continue;
                };
                let (name, i) = factory(c.f)?;
                let f = make(i, &p.params.0, c.args.as_ref().map(|a| a.0.as_slice()))?;
                if f.policy().is_none() {
                    return Err(format!("`{name}` is a state update used as a policy"));
                }
                policies.push(Some(Policy { pos: c.pos, f: Box::new(f) }));
            }
            let mut updates = Vec::with_capacity(b.updates.len());
            for u in &b.updates {
                let (name, i) = factory(u.f)?;
                let var = p.vars.get(u.var as usize).ok_or("malformed program: an update names no variable")?;
                let field = S::FIELDS
                    .iter()
                    .position(|f| f == var)
                    .ok_or_else(|| format!("the state struct has no field `{var}`, which `{name}` updates"))?;
                let mut f = Box::new(make(i, &p.params.0, u.args.as_ref().map(|a| a.0.as_slice()))?);
                let Some(up) = f.update_mut() else {
                    return Err(format!("`{name}` is a policy used as a state update"));
                };
                if S::field_type(field) != Some(up.output_type()) {
                    return Err(format!("`{name}` returns another type than the state field `{var}`"));
                }
                let sig = up.signals_type().map(|_| sig_of(u.f));
                let omit = !p.values && up.fixed_kind();
                let held = up.held().into_raw();
                updates.push(Update { var: u.var as usize, field, pos: u.pos, sig, omit, sent: false, held, f });
            }
            let fold =
                typed_fold::<S, D>(&policies, &updates).map(|fold| TypedAgg::new::<S, D>(fold, &p_agg, &policies));
            max_policies = max_policies.max(policies.len());
            let runs = if fold.is_some() { runs::<S, D>(&mut policies) } else { Vec::new() };
            let all_omit = updates.iter().all(|u| u.omit);
            let all_sent = updates.is_empty();
            let projects = fold.is_none() && updates.iter().any(|u| u.sig.is_some());
            blocks.push(Block { policies, updates, fold, constant: None, runs, all_omit, all_sent, projects });
        }
        // Identity-only blocks: aggregate once (it cannot fail: `{identity: 0}` values add up).
        let aggregator = p_agg;
        for b in &mut blocks {
            if b.policies.iter().all(Option::is_none) {
                let ids = vec![IDENTITY_SIGNAL; b.policies.len()];
                b.constant = Some(aggregator.aggregate(&ids).map_err(|e| e.to_string())?);
            }
        }
        let keep_shared = p.values || blocks.iter().any(|b| b.fold.is_none() && b.constant.is_none());
        Ok(TypedLoop {
            state,
            var_names: p.vars.clone(),
            job: p.job,
            seed: p.seed,
            aggregator,
            blocks,
            sig_cache: vec![(false, Vec::new()); sig_projections.len()],
            sig_projections,
            outputs: vec![Vec::new(); max_policies],
            signals: Vec::new(),
            agg_scratch: AggScratch::default(),
            marks: Vec::new(),
            out: Vec::new(),
            quiet_runs: p.quiet_runs && !p.values,
            quiet_at: None,
            keep_shared,
            msg: String::new(),
            cursor: Cursor::default(),
        })
    }

    /// Run every block of `timestep`; the status and the records as [`crate::fused::Loop`]'s.
    pub fn run_timestep(&mut self, timestep: u64, time_ns: i64, host: &mut dyn Host) -> u32 {
        RunLoop::clear_output(self);
        self.step(timestep, time_ns, host)
    }

    /// [`TypedLoop::run_timestep`] without clearing the records of the timesteps before. The
    /// typed path is kept small (what is rare, or needs MessagePack, is in functions of its own)
    /// so that the compiled loop keeps its values in registers.
    fn step(&mut self, timestep: u64, time_ns: i64, host: &mut dyn Host) -> u32 {
        self.cursor.begin(timestep);
        self.publish_out();
        let mut host = Counting { inner: host, emits: 0 };
        let (job, job_seed, keep_shared) = (self.job, self.seed, self.keep_shared);
        for bi in 0..self.blocks.len() {
            let k = bi as u32 + 1;
            self.marks.clear();
            // Made where a call takes it (not kept in memory for the block).
            let ctx = || FusedCtx { job, job_seed, timestep, substep: k, pos: 0, time_ns, variable: None, keep_shared };
            let block = &mut self.blocks[bi];
            // Policies, on the pre-block state.
            if !block.runs.is_empty() {
                // Typed aggregation: run by run, on one context.
                self.cursor.substep = k;
                let mut cx = TypedCall { state: &self.state, ctx: ctx(), signals: NO_SIGNALS, typed_signals: None };
                for run in &block.runs {
                    let Some(p) = &mut block.policies[run.first] else { continue };
                    // SAFETY: `rest` holds the other uses of the run, boxed in this block, of
                    // one `call_type` (see `runs`), each once; `pos` has one per use.
                    let ok = unsafe {
                        p.f.call_run(&run.rest, &run.pos, &mut cx, &mut self.cursor.pos, &mut host, &mut self.marks)
                    };
                    if !ok {
                        return stop(&mut self.cursor, &self.msg, &self.out, status::CALL_FAILED);
                    }
                }
            } else if block.constant.is_none() {
                let r = msgpack_policies(
                    block,
                    &self.state,
                    &ctx(),
                    &mut self.cursor,
                    &mut host,
                    &mut self.marks,
                    &mut self.outputs,
                );
                if let Err((code, msg)) = r {
                    if let Some(m) = msg {
                        self.msg = m;
                    }
                    return stop(&mut self.cursor, &self.msg, &self.out, code);
                }
            }
            // Aggregation: typed, constant, or on MessagePack.
            let agg = match (&mut block.fold, &block.constant) {
                (Some(fold), _) => fold.run::<S, D>(&block.policies),
                (None, Some(_)) => Ok(()),
                (None, None) => {
                    let nb = block.policies.len();
                    self.aggregator.aggregate_into(&self.outputs[..nb], &mut self.agg_scratch, &mut self.signals)
                }
            };
            if let Err(e) = agg {
                return aggregate_failed(&mut self.cursor, &mut self.msg, &self.out, &block.policies, k, e);
            }
            // SAFETY: the accumulator is an `Option<T>` of the fold's `T`, and it lives in the
            // block, which outlives this block's calls.
            let typed_signals =
                block.fold.as_ref().map(|fold| unsafe { SignalsRef::from_raw(fold.acc_ptr, fold.fold.ty) });
            // State updates, on the pre-block state; their values are held until the block ends.
            if block.projects {
                self.sig_cache.iter_mut().for_each(|c| c.0 = false);
            }
            for u in &mut block.updates {
                self.cursor.substep = k;
                self.cursor.pos = u.pos;
                let signals: &[u8] = match (u.sig, &block.constant) {
                    (None, _) => NO_SIGNALS,
                    (Some(_), _) if block.fold.is_some() => NO_SIGNALS,
                    (Some(si), constant) => {
                        let full = constant.as_deref().unwrap_or(&self.signals);
                        signal_projection(&mut self.sig_cache[si], full, &self.sig_projections[si]);
                        &self.sig_cache[si].1
                    }
                };
                let cx = TypedCall {
                    state: &self.state,
                    ctx: FusedCtx { pos: u.pos, variable: Some(&self.var_names[u.var]), ..ctx() },
                    signals,
                    typed_signals,
                };
                let before = host.emits;
                if let Err(m) = u.f.call(&cx, &mut host) {
                    call_failed(&mut host, m);
                    return stop(&mut self.cursor, &self.msg, &self.out, status::CALL_FAILED);
                }
                if host.emits != before {
                    self.marks.push((u.pos, host.emits));
                }
            }
            // The block succeeded: its record, then its values become the state.
            // A quiet block (ABI.md §10) writes nothing of its own: the run counts it.
            if self.quiet_runs && block.all_omit && block.all_sent && self.marks.is_empty() {
                quiet_block(&mut self.out, &mut self.quiet_at);
            } else if let Err(m) = write_record::<S, D>(block, &self.marks, &mut self.out, &mut self.quiet_at) {
                call_failed(&mut host, m);
                return stop(&mut self.cursor, &self.msg, &self.out, status::CALL_FAILED);
            }
            for u in &block.updates {
                // SAFETY: `held` is the boxed update's `Option` (fixed while the update lives,
                // and it lives in the block), and nothing else borrows it here.
                self.state.set(u.field, unsafe { Held::from_raw(u.held) });
            }
            self.cursor.blocks_done = k;
            self.publish_out();
        }
        status::OK
    }

    fn publish_out(&mut self) {
        self.cursor.out_ptr = self.out.as_ptr() as usize as u32;
        self.cursor.out_len = self.out.len() as u32;
    }

    /// The records of the completed blocks of the last timestep.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// Per block, whether it aggregates typed (else on MessagePack).
    pub fn typed_aggregation(&self) -> Vec<bool> {
        self.blocks.iter().map(|b| b.fold.is_some()).collect()
    }

    /// The message of a failed aggregation or output check.
    pub fn message(&self) -> &str {
        &self.msg
    }

    /// The state as it stands (after the last completed block).
    pub fn state(&self) -> &S {
        &self.state
    }
}

impl<S: TypedState, D: TypedUse<S>> RunLoop for TypedLoop<S, D> {
    fn step(&mut self, timestep: u64, time_ns: i64, host: &mut dyn Host) -> u32 {
        TypedLoop::step(self, timestep, time_ns, host)
    }
    fn clear_output(&mut self) {
        self.out.clear();
        self.quiet_at = None;
    }
    fn output(&self) -> &[u8] {
        &self.out
    }
    fn cursor(&self) -> &Cursor {
        &self.cursor
    }
}
