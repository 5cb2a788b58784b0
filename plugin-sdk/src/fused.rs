//! The in-guest run loop (ABI.md §10).
//!
//! When every function of a scenario lives in one plugin, the engine can hand the plugin the
//! job's program once (blocks, policy order, what each function reads, aggregation, initial state
//! and params) and then call it once per timestep instead of once per function. The loop here
//! keeps the state between calls, runs the blocks with cadCAD's rules exactly as the engine's own
//! loop does (policies in the order the program gives, signals aggregated with the engine's own
//! code from `distroduce-values`, every state update reading the pre-block record), and returns
//! the new values of each completed block for the engine to check, record and publish.
//!
//! Nothing here decides semantics: the engine computes the policy order, identity policies and
//! positions; the loop follows them. It is generic over [`Host`] so native tests drive it too.

use crate::input::{FusedCtx, Input};
use crate::native::Host;
use distroduce_abi::fused::status;
use distroduce_values::aggregate::{AggError, AggOp, AggScratch, Aggregator};
use distroduce_values::{as_str, check_one, map_entries, write_map_len, write_str, write_uint};
use serde::Deserialize;
use std::collections::HashMap;

/// A generated function body taking its input already split into parts.
pub type PartsFn = for<'a> fn(&Input<'a>, &mut dyn Host, &mut Vec<u8>) -> Result<(), String>;

/// cadCAD's identity policy output, `{"identity": 0}`.
pub(crate) const IDENTITY_SIGNAL: &[u8] = b"\x81\xa8identity\x00";

/// Where the loop is, at a fixed address the host reads (layout: `distroduce_abi::fused::cursor`).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct Cursor {
    pub timestep: u64,
    pub substep: u32,
    pub pos: u32,
    pub status: u32,
    pub blocks_done: u32,
    pub out_ptr: u32,
    pub out_len: u32,
    pub msg_ptr: u32,
    pub msg_len: u32,
}

/// MessagePack `bin` holding an encoded value.
#[derive(Clone)]
pub(crate) struct Bytes(pub(crate) Vec<u8>);

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("binary (an encoded value)")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

/// The program as the host encodes it (ABI.md §10).
#[derive(Deserialize)]
pub(crate) struct ProgramIn {
    pub(crate) fns: Vec<String>,
    pub(crate) reads: Vec<ReadsIn>,
    pub(crate) vars: Vec<String>,
    pub(crate) state: Vec<Bytes>,
    pub(crate) params: Bytes,
    pub(crate) job: [u64; 3],
    pub(crate) seed: u64,
    pub(crate) zero_lone: bool,
    pub(crate) agg_default: String,
    pub(crate) agg: Vec<(String, String)>,
    pub(crate) blocks: Vec<BlockIn>,
    /// `false`: the engine reads no values (ABI.md §10); a loop may then leave out those whose
    /// kind is fixed by their type. Absent in older engines' programs: values are read.
    #[serde(default = "yes")]
    pub(crate) values: bool,
    /// The engine reads quiet runs (ABI.md §10); absent in older engines' programs: it does not.
    #[serde(default)]
    pub(crate) quiet_runs: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, Clone, PartialEq)]
pub(crate) struct ReadsIn {
    pub(crate) state: Option<Vec<u32>>,
    pub(crate) bookkeeping: bool,
    pub(crate) signals: Option<Vec<String>>,
}

#[derive(Deserialize, Clone)]
pub(crate) struct BlockIn {
    /// In the order they run; `None` is cadCAD's identity policy.
    pub(crate) policies: Vec<Option<CallIn>>,
    pub(crate) updates: Vec<UpdateIn>,
}

#[derive(Deserialize, Clone)]
pub(crate) struct CallIn {
    pub(crate) f: u32,
    pub(crate) pos: u32,
    pub(crate) args: Option<Bytes>,
}

#[derive(Deserialize, Clone)]
pub(crate) struct UpdateIn {
    pub(crate) var: u32,
    pub(crate) f: u32,
    pub(crate) pos: u32,
    pub(crate) args: Option<Bytes>,
}

/// Decodes a program (ABI.md §10) and checks its lengths.
pub(crate) fn decode_program(program: &[u8]) -> Result<ProgramIn, String> {
    let p: ProgramIn = rmp_serde::from_slice(program).map_err(|e| format!("malformed program: {e}"))?;
    if p.state.len() != p.vars.len() || p.reads.len() != p.fns.len() {
        return Err("malformed program: lengths of `vars`/`state` or `fns`/`reads` differ".into());
    }
    Ok(p)
}

/// The aggregation of a program.
pub(crate) fn aggregator(p: &ProgramIn) -> Result<Aggregator, String> {
    let mut per_signal = HashMap::new();
    for (name, op) in &p.agg {
        per_signal.insert(name.clone(), agg_op(op)?);
    }
    Ok(Aggregator { default: agg_op(&p.agg_default)?, per_signal })
}

/// What `distroduce_fused_run` and `distroduce_fused_run_many` drive: the MessagePack loop here
/// or the typed one ([`crate::typed_loop`]).
pub trait RunLoop {
    /// Run every block of `timestep`, appending its records to the output; returns a status
    /// code (ABI.md §10).
    fn step(&mut self, timestep: u64, time_ns: i64, host: &mut dyn Host) -> u32;
    /// Forget the records of earlier calls.
    fn clear_output(&mut self);
    /// The records since the last [`RunLoop::clear_output`].
    fn output(&self) -> &[u8];
    /// The cursor, at an address fixed for the loop's life.
    fn cursor(&self) -> &Cursor;
    /// [`run_many`] with this loop's `step` called directly (one dynamic call per
    /// `distroduce_fused_run_many`, not one per timestep).
    fn run_many(&mut self, t0: u64, n: u32, clock: (i64, i64), host: &mut dyn Host) -> u32 {
        run_many_of(self, t0, n, clock, host)
    }
}

/// `distroduce_fused_run_many` (ABI.md §10): timesteps `t0 .. t0 + n`, timestep `t` at the clock
/// `start_ns + step_ns * t`, their records back to back; stops at the first failure, the cursor
/// then naming the timestep, block and call, and covering the records of everything before.
pub fn run_many(l: &mut dyn RunLoop, t0: u64, n: u32, clock: (i64, i64), host: &mut dyn Host) -> u32 {
    run_many_of(l, t0, n, clock, host)
}

/// [`run_many`] of one kind of loop.
fn run_many_of<L: RunLoop + ?Sized>(
    l: &mut L,
    t0: u64,
    n: u32,
    (start_ns, step_ns): (i64, i64),
    host: &mut dyn Host,
) -> u32 {
    l.clear_output();
    for t in t0..t0.saturating_add(n as u64) {
        let code = l.step(t, distroduce_abi::fused::clock_at(start_ns, step_ns, t), host);
        if code != status::OK {
            return code;
        }
    }
    status::OK
}

impl RunLoop for Loop {
    fn step(&mut self, timestep: u64, time_ns: i64, host: &mut dyn Host) -> u32 {
        Loop::step(self, timestep, time_ns, host)
    }
    fn clear_output(&mut self) {
        self.out.clear();
    }
    fn output(&self) -> &[u8] {
        &self.out
    }
    fn cursor(&self) -> &Cursor {
        &self.cursor
    }
}

impl Cursor {
    /// Before a timestep: where the loop is; the records published so far stay (ABI.md §10).
    pub(crate) fn begin(&mut self, timestep: u64) {
        *self = Cursor { timestep, out_ptr: self.out_ptr, out_len: self.out_len, ..Cursor::default() };
    }
}

fn agg_op(name: &str) -> Result<AggOp, String> {
    Ok(match name {
        "add" => AggOp::Add,
        "mul" => AggOp::Mul,
        "max" => AggOp::Max,
        "min" => AggOp::Min,
        "first" => AggOp::First,
        "last" => AggOp::Last,
        "merge" => AggOp::Merge,
        other => return Err(format!("unknown aggregation `{other}`")),
    })
}

struct Call {
    f: usize,
    pos: u32,
    args: Option<Vec<u8>>,
    /// Index of the function's state projection.
    proj: usize,
}

struct Update {
    var: usize,
    call: Call,
}

struct Block {
    policies: Vec<Option<Call>>,
    updates: Vec<Update>,
}

/// A job's state and program, kept in the guest between timesteps.
pub struct Loop {
    fns: Vec<PartsFn>,
    /// Per projection: which variables (None: all) and whether bookkeeping is read.
    projections: Vec<(Option<Vec<usize>>, bool)>,
    var_names: Vec<String>,
    var_keys: Vec<Vec<u8>>,
    state: Vec<Vec<u8>>,
    params: Vec<u8>,
    job: [u64; 3],
    seed: u64,
    zero_lone: bool,
    aggregator: Aggregator,
    blocks: Vec<Block>,
    /// The previous record's `(substep, timestep)`.
    stamp: (u32, u64),
    /// Per function: index of its signal projection.
    fn_sig: Vec<usize>,
    /// The distinct signal projections (None: all signals).
    sig_projections: Vec<Option<Vec<String>>>,
    // Buffers reused from block to block; the flags say which are current.
    proj_cache: Vec<(bool, Vec<u8>)>,
    /// Policy outputs in run order; an identity policy's slot holds `{"identity": 0}` for good.
    outputs: Vec<Vec<u8>>,
    new_vals: Vec<Vec<u8>>,
    signals: Vec<u8>,
    sig_cache: Vec<(bool, Vec<u8>)>,
    agg_scratch: AggScratch,
    marks: Vec<(u32, u32)>,
    /// Records of the completed blocks of the current timestep.
    out: Vec<u8>,
    msg: String,
    pub cursor: Cursor,
}

/// Counts `emit`s so that the engine can tell which call sent which message.
#[doc(hidden)]
pub struct Counting<'h> {
    pub(crate) inner: &'h mut dyn Host,
    pub(crate) emits: u32,
}

impl Host for Counting<'_> {
    fn rng_u64(&mut self) -> u64 {
        self.inner.rng_u64()
    }
    fn rng_f64(&mut self) -> f64 {
        self.inner.rng_f64()
    }
    fn now_ns(&mut self) -> i64 {
        self.inner.now_ns()
    }
    fn log(&mut self, level: i32, msg: &str) {
        self.inner.log(level, msg)
    }
    fn emit(&mut self, msgpack: &[u8]) {
        self.emits += 1;
        self.inner.emit(msgpack)
    }
    fn emit_bytes(&mut self, topic: &str, key: Option<&str>, value: &[u8]) -> bool {
        let sent = self.inner.emit_bytes(topic, key, value);
        self.emits += u32::from(sent);
        sent
    }
    fn claim_direct_emit(&mut self) -> bool {
        let direct = self.inner.claim_direct_emit();
        self.emits += u32::from(direct);
        direct
    }
    fn fail(&mut self, msg: &str) {
        self.inner.fail(msg)
    }
}

impl Loop {
    /// Decode a program and bind its function names to `table` (name, body).
    pub fn load(program: &[u8], table: &[(&str, PartsFn)]) -> Result<Self, String> {
        Self::build(decode_program(program)?, table)
    }

    /// Bind a decoded program to `table`.
    pub(crate) fn build(p: ProgramIn, table: &[(&str, PartsFn)]) -> Result<Self, String> {
        let nvars = p.vars.len();
        let aggregator = aggregator(&p)?;
        let fns = p
            .fns
            .iter()
            .map(|name| {
                table.iter().find(|(n, _)| n == name).map(|(_, f)| *f).ok_or_else(|| format!("no function `{name}`"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut projections: Vec<(Option<Vec<usize>>, bool)> = Vec::new();
        let mut fn_proj = Vec::with_capacity(p.reads.len());
        for r in &p.reads {
            let vars = match &r.state {
                Some(v) => {
                    let v: Vec<usize> = v.iter().map(|&i| i as usize).collect();
                    if v.iter().any(|&i| i >= nvars) {
                        return Err("malformed program: a read names no variable".into());
                    }
                    Some(v)
                }
                None => None,
            };
            let key = (vars, r.bookkeeping || r.state.is_none());
            let i = projections.iter().position(|k| *k == key).unwrap_or_else(|| {
                projections.push(key);
                projections.len() - 1
            });
            fn_proj.push(i);
        }
        let check_f = |f: u32| -> Result<usize, String> {
            let f = f as usize;
            if f < fns.len() {
                Ok(f)
            } else {
                Err("malformed program: a call names no function".into())
            }
        };
        let mut blocks = Vec::with_capacity(p.blocks.len());
        let mut max_policies = 0;
        let mut max_updates = 0;
        for b in p.blocks {
            let mut policies = Vec::with_capacity(b.policies.len());
            for c in b.policies {
                policies.push(match c {
                    None => None,
                    Some(c) => {
                        let f = check_f(c.f)?;
                        Some(Call { f, pos: c.pos, args: c.args.map(|a| a.0), proj: fn_proj[f] })
                    }
                });
            }
            let mut updates = Vec::with_capacity(b.updates.len());
            for u in b.updates {
                let f = check_f(u.f)?;
                if u.var as usize >= nvars {
                    return Err("malformed program: an update names no variable".into());
                }
                updates.push(Update {
                    var: u.var as usize,
                    call: Call { f, pos: u.pos, args: u.args.map(|a| a.0), proj: fn_proj[f] },
                });
            }
            max_policies = max_policies.max(policies.len());
            max_updates = max_updates.max(updates.len());
            blocks.push(Block { policies, updates });
        }
        let var_keys = p
            .vars
            .iter()
            .map(|v| {
                let mut b = Vec::new();
                write_str(&mut b, v);
                b
            })
            .collect();
        let mut sig_projections: Vec<Option<Vec<String>>> = Vec::new();
        let fn_sig = p
            .reads
            .into_iter()
            .map(|r| {
                sig_projections.iter().position(|x| *x == r.signals).unwrap_or_else(|| {
                    sig_projections.push(r.signals);
                    sig_projections.len() - 1
                })
            })
            .collect();
        Ok(Loop {
            fns,
            proj_cache: vec![(false, Vec::new()); projections.len()],
            projections,
            sig_cache: vec![(false, Vec::new()); sig_projections.len()],
            fn_sig,
            sig_projections,
            signals: Vec::new(),
            agg_scratch: AggScratch::default(),
            var_names: p.vars,
            var_keys,
            state: p.state.into_iter().map(|b| b.0).collect(),
            params: p.params.0,
            job: p.job,
            seed: p.seed,
            zero_lone: p.zero_lone,
            aggregator,
            blocks,
            stamp: (0, 0),
            outputs: vec![Vec::new(); max_policies],
            new_vals: vec![Vec::new(); max_updates],
            marks: Vec::new(),
            out: Vec::new(),
            msg: String::new(),
            cursor: Cursor::default(),
        })
    }

    /// Run every block of `timestep`. Returns a status code; the cursor says where it stopped and
    /// where the completed blocks' records are. Each completed block's record is
    /// `u32 n, n × (u32 position, u32 emits so far)` (calls that emitted) followed by
    /// `u32 len, value` per state update in block order (all little-endian).
    pub fn run_timestep(&mut self, timestep: u64, time_ns: i64, host: &mut dyn Host) -> u32 {
        self.out.clear();
        self.step(timestep, time_ns, host)
    }

    /// [`Loop::run_timestep`] without clearing the records of the timesteps before.
    fn step(&mut self, timestep: u64, time_ns: i64, host: &mut dyn Host) -> u32 {
        self.cursor.begin(timestep);
        self.publish_out();
        let mut host = Counting { inner: host, emits: 0 };
        for bi in 0..self.blocks.len() {
            let k = bi as u32 + 1;
            let prev = if self.zero_lone && self.stamp.1 > 0 { (0, self.stamp.1) } else { self.stamp };
            self.proj_cache.iter_mut().for_each(|c| c.0 = false);
            self.marks.clear();
            let nb = self.blocks[bi].policies.len();
            // Each call's context is this, with its position (and an update's variable).
            let block_ctx = FusedCtx {
                job: self.job,
                job_seed: self.seed,
                timestep,
                substep: k,
                pos: 0,
                time_ns,
                variable: None,
                keep_shared: true,
            };
            for i in 0..nb {
                let Some(call) = &self.blocks[bi].policies[i] else {
                    self.outputs[i].clear();
                    self.outputs[i].extend_from_slice(IDENTITY_SIGNAL);
                    continue;
                };
                let (f, pos, proj) = (call.f, call.pos, call.proj);
                self.begin_call(k, pos, proj, prev);
                let ctx = FusedCtx { pos, ..block_ctx };
                let call = self.blocks[bi].policies[i].as_ref().expect("checked above");
                let state = &self.proj_cache[proj].1;
                let input = Input::fused(ctx, &self.params, state, None, call.args.as_deref());
                let out = &mut self.outputs[i];
                out.clear();
                let before = host.emits;
                if let Err(m) = (self.fns[f])(&input, &mut host, out) {
                    host.fail(&m);
                    return self.stop(status::CALL_FAILED);
                }
                // The host loop checks every output before it aggregates; so does this one.
                if let Err(e) = check_one(out) {
                    self.msg = e.to_string();
                    return self.stop(status::BAD_OUTPUT);
                }
                if host.emits != before {
                    self.marks.push((pos, host.emits));
                }
            }
            let outputs = &self.outputs[..nb];
            if let Err(e) = self.aggregator.aggregate_into(outputs, &mut self.agg_scratch, &mut self.signals) {
                let which = match &e {
                    AggError::DuplicateSignal { policy, .. } => *policy,
                    _ => 0,
                };
                self.cursor.substep = k;
                // Blame the policy by its position in the block, as the host loop does.
                self.cursor.pos = self.blocks[bi].policies.get(which).and_then(|c| c.as_ref()).map_or(0, |c| c.pos);
                self.msg = e.to_string();
                return self.stop(status::AGGREGATE_FAILED);
            }
            self.sig_cache.iter_mut().for_each(|c| c.0 = false);
            for ui in 0..self.blocks[bi].updates.len() {
                let u = &self.blocks[bi].updates[ui];
                let (f, pos, proj, var) = (u.call.f, u.call.pos, u.call.proj, u.var);
                self.begin_call(k, pos, proj, prev);
                let si = self.fn_sig[f];
                signal_projection(&mut self.sig_cache[si], &self.signals, &self.sig_projections[si]);
                let ctx = FusedCtx { pos, variable: Some(&self.var_names[var]), ..block_ctx };
                let u = &self.blocks[bi].updates[ui];
                let state = &self.proj_cache[proj].1;
                let input = Input::fused(ctx, &self.params, state, Some(&self.sig_cache[si].1), u.call.args.as_deref());
                let out = &mut self.new_vals[ui];
                out.clear();
                let before = host.emits;
                if let Err(m) = (self.fns[f])(&input, &mut host, out) {
                    host.fail(&m);
                    return self.stop(status::CALL_FAILED);
                }
                if host.emits != before {
                    self.marks.push((pos, host.emits));
                }
            }
            // The block succeeded: its record, then its values become the state.
            put_u32(&mut self.out, self.marks.len() as u32);
            for &(pos, n) in &self.marks {
                put_u32(&mut self.out, pos);
                put_u32(&mut self.out, n);
            }
            for ui in 0..self.blocks[bi].updates.len() {
                let v = &self.new_vals[ui];
                put_u32(&mut self.out, v.len() as u32);
                self.out.extend_from_slice(v);
            }
            for ui in 0..self.blocks[bi].updates.len() {
                let var = self.blocks[bi].updates[ui].var;
                std::mem::swap(&mut self.state[var], &mut self.new_vals[ui]);
            }
            self.stamp = (k, timestep);
            self.cursor.blocks_done = k;
            self.publish_out();
        }
        status::OK
    }

    /// Before a call: tell the host where the loop is (its random stream follows the cursor),
    /// and encode the call's view of the pre-block record unless the block has it already.
    fn begin_call(&mut self, k: u32, pos: u32, proj: usize, prev: (u32, u64)) {
        self.cursor.substep = k;
        self.cursor.pos = pos;
        ensure_projection(&mut self.proj_cache, &self.projections, proj, &self.var_keys, &self.state, self.job, prev);
    }

    fn publish_out(&mut self) {
        self.cursor.out_ptr = self.out.as_ptr() as usize as u32;
        self.cursor.out_len = self.out.len() as u32;
    }

    fn stop(&mut self, code: u32) -> u32 {
        self.cursor.status = code;
        self.cursor.msg_ptr = self.msg.as_ptr() as usize as u32;
        self.cursor.msg_len = self.msg.len() as u32;
        self.publish_out();
        code
    }

    /// The records of the completed blocks of the last timestep (see [`Loop::run_timestep`]).
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// The message of a failed aggregation or program.
    pub fn message(&self) -> &str {
        &self.msg
    }
}

#[inline]
pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Encode projection `i` of the pre-block record unless this block already has it. The layout is
/// the host's: the read variables in program order, then the bookkeeping fields.
fn ensure_projection(
    cache: &mut [(bool, Vec<u8>)],
    projections: &[(Option<Vec<usize>>, bool)],
    i: usize,
    keys: &[Vec<u8>],
    state: &[Vec<u8>],
    job: [u64; 3],
    (substep, timestep): (u32, u64),
) {
    let (current, b) = &mut cache[i];
    if *current {
        return;
    }
    *current = true;
    b.clear();
    let (vars, bookkeeping) = &projections[i];
    let n = vars.as_ref().map_or(state.len(), Vec::len);
    write_map_len(b, n + if *bookkeeping { 5 } else { 0 });
    let mut put = |v: usize| {
        b.extend_from_slice(&keys[v]);
        b.extend_from_slice(&state[v]);
    };
    match vars {
        Some(vs) => vs.iter().for_each(|&v| put(v)),
        None => (0..state.len()).for_each(put),
    }
    if *bookkeeping {
        for (k, v) in [
            ("simulation", job[0]),
            ("subset", job[1]),
            ("run", job[2]),
            ("substep", substep as u64),
            ("timestep", timestep),
        ] {
            write_str(b, k);
            write_uint(b, v);
        }
    }
}

/// Encode the signals map holding what `reads` names (all of it for `None`) into `slot` unless
/// this block already has it, as the host encodes it.
pub(crate) fn signal_projection((current, b): &mut (bool, Vec<u8>), full: &[u8], reads: &Option<Vec<String>>) {
    if *current {
        return;
    }
    *current = true;
    b.clear();
    match reads {
        None => b.extend_from_slice(full),
        Some(names) => {
            let entries = map_entries(full).unwrap_or_default();
            let picked = entries
                .into_iter()
                .filter_map(|(k, v)| as_str(k).map(|k| (k, v)))
                .filter(|(k, _)| names.iter().any(|n| n == k));
            let n = picked.clone().count();
            write_map_len(b, n);
            for (k, v) in picked {
                write_str(b, k);
                b.extend_from_slice(v);
            }
        }
    }
}
