//! A job through the plugin's in-guest run loop (ABI.md §10): one guest call per timestep instead
//! of one per function, with the state kept in the guest between calls.
//!
//! The engine still owns the semantics: it computes the program the guest follows (policy order,
//! identity policies, what each function reads, aggregation, call positions that seed each call's
//! random stream), and it checks every value the guest returns exactly as the host loop checks a
//! call's output (one well-formed MessagePack value, the variable's type), records each block,
//! and publishes the block's messages once the block has succeeded. The records and messages are
//! the host loop's, byte for byte; `engine run --data-plane host` runs the same job through the
//! host loop to compare.

use super::job::{send, sink_failure, Emits, FailKind, JobCtx, JobSink};
use super::JobFailure;
use distroduce_abi::fused::{OMITTED, QUIET_RUN, UPDATE_POS};
use distroduce_model::record::{Record, Row};
use distroduce_model::types::{admits, type_label};
use distroduce_model::value::{check_one, kind, Val};
use distroduce_model::{HistoryMode, JobId, Model};
use distroduce_plugin_host::host::Emitted;
use distroduce_plugin_host::{CallFailure, FusedFailKind, FusedSetup, JobBackend, Resolved};

mod program;
use program::program;

/// Values shorter than this are checked again rather than compared with the last one checked
/// (the comparison and the copy kept would cost about what the check does).
const SAME_MIN_LEN: usize = 32;

/// The plugin whose in-guest loop can run every job of `model`, if there is one: every function
/// of every block in that one plugin, the plugin offering the loop, and no `history` (the loop
/// does not keep it).
pub fn fused_plugin(model: &Model, resolved: &Resolved, capable: impl Fn(usize) -> bool) -> Option<usize> {
    if model.history != HistoryMode::Off {
        return None;
    }
    let mut slots = resolved.blocks.iter().flat_map(|b| b.policies.iter().chain(b.updates.iter().map(|(_, s)| s)));
    let first = slots.next()?.plugin;
    (slots.all(|s| s.plugin == first) && capable(first)).then_some(first)
}
/// Reads the little-endian records of completed blocks (ABI.md §10).
struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| format!("the loop's records end early (at byte {})", self.at))?;
        let s = &self.buf[self.at..end];
        self.at = end;
        Ok(s)
    }
}

/// Run `job` through the plugin's loop. `None` if the plugin declined the program (the caller
/// then runs the job through the host loop, on the same instances: nothing ran yet).
pub fn run_job_fused(
    cx: &JobCtx,
    plugin: usize,
    backend: &mut dyn JobBackend,
    job: JobId,
    sink: &mut dyn JobSink,
) -> Option<Result<u64, Box<JobFailure>>> {
    let model = cx.model;
    let fail_at = |t: u64, k: u32, function: String, error: FailKind, backend: &mut dyn JobBackend| {
        Box::new(JobFailure {
            job,
            timestep: t,
            substep: k,
            block: match k {
                0 => "loading the in-guest loop".into(),
                k => model.blocks.get(k as usize - 1).map(|b| b.label.clone()).unwrap_or_default(),
            },
            function,
            error,
            log_tail: backend.host().logs.iter().cloned().collect(),
            stderr_tail: backend.stderr_tail(),
        })
    };
    match backend.fused_load(plugin, &program(cx, plugin, &job, sink.wants_values())) {
        Ok(true) => sink.loop_used(true),
        Ok(false) => return None,
        Err(e) => return Some(Err(fail_at(0, 0, String::new(), FailKind::Call(e), backend))),
    }
    Some(run_loaded(cx, plugin, backend, job, sink, &fail_at))
}

/// What a failure of the loop itself (not of one of its functions) is blamed on.
fn loop_name(model: &Model, plugin: usize) -> String {
    format!("{}.{}", model.plugins[plugin].name, distroduce_abi::fused::RUN)
}

/// The display name (`plugin.export`) of the function at `pos` of block `k` (1-based).
fn function_at(model: &Model, k: u32, pos: u32) -> String {
    let Some(plan) = model.blocks.get(k.saturating_sub(1) as usize) else { return String::new() };
    let f = if pos >= UPDATE_POS {
        plan.updates.get((pos - UPDATE_POS) as usize).map(|(_, f)| f)
    } else {
        plan.policies.get(pos as usize)
    };
    f.map(|f| f.display.clone()).unwrap_or_default()
}

type FailAt<'a> = dyn Fn(u64, u32, String, FailKind, &mut dyn JobBackend) -> Box<JobFailure> + 'a;

/// Timesteps per guest call at most (`distroduce_fused_run_many`), and about how many bytes of
/// records and messages one call should return: the window the engine holds before the writers
/// have it, so memory stays flat in the number of timesteps.
const MAX_BATCH: u32 = 4096;
const BATCH_BYTES: usize = 256 * 1024;

/// The output of one guest call: its records, its messages and how many of them are taken.
struct Batch<'b> {
    r: Reader<'b>,
    /// The call's messages, parsed at emit time; `taken` of them were read.
    emitted: &'b mut Emitted,
    taken: usize,
    /// Blocks left in the quiet run being read (ABI.md §10).
    quiet: u32,
}

/// What a job's records are read into, call after call.
struct Taker<'a, 'c> {
    cx: &'a JobCtx<'c>,
    plugin: usize,
    fail_at: &'a FailAt<'a>,
    job: JobId,
    /// Whether the sink keeps the values (else they are only checked, and the loop may leave
    /// out those whose kind its types fix, once it sent one).
    values: bool,
    /// Per block and update, whether a value of it was checked in this job.
    checked: Vec<Vec<bool>>,
    /// Per block, whether every update of it had a value checked in this job (a quiet block's
    /// condition, ABI.md §10).
    ready: Vec<bool>,
    /// Each variable's value as it stands (with `values`), in buffers reused all job.
    state: Vec<Vec<u8>>,
    /// Where in the call's records the values checked in the block being read are.
    seen: Vec<(usize, usize)>,
    /// Per block and update, the last value of it checked in this job, if it was at least
    /// [`SAME_MIN_LEN`] bytes long (else empty): bytes equal to it are not checked again.
    last: Vec<Vec<Vec<u8>>>,
    emits: Emits,
    substeps: u64,
}

impl Taker<'_, '_> {
    /// Read the records of the first `blocks` blocks of timestep `t` from the call's output:
    /// check, record and publish each block as the host loop does.
    fn timestep(
        &mut self,
        t: u64,
        blocks: u32,
        batch: &mut Batch,
        backend: &mut dyn JobBackend,
        sink: &mut dyn JobSink,
    ) -> Result<(), Box<JobFailure>> {
        let (model, plugin, fail_at) = (self.cx.model, self.plugin, self.fail_at);
        let (r, emitted, taken, quiet) = (&mut batch.r, &mut *batch.emitted, &mut batch.taken, &mut batch.quiet);
        // Marks count the messages of their timestep.
        let base = *taken;
        let mut bi = 0;
        while bi < blocks as usize {
            let k = bi as u32 + 1;
            let plan = &model.blocks[bi];
            let bad = |e: String, backend: &mut dyn JobBackend| {
                fail_at(t, k, loop_name(model, plugin), FailKind::Call(CallFailure::BadOutput(e)), backend)
            };
            match quiet_block(quiet, r, self.values, self.ready[bi]) {
                Ok(false) => {}
                // Nothing emitted, no value read: the block's record only, and so for the run's
                // next blocks of this timestep that may be quiet (the first that may not is
                // read next, and fails there).
                Ok(true) => {
                    let mut n = 1;
                    while bi + n < blocks as usize && *quiet > 0 && self.ready[bi + n] {
                        *quiet -= 1;
                        n += 1;
                    }
                    let job = self.job;
                    sink.quiet_blocks(t, k, n as u32).map_err(|e| sink_failure(job, t, k, FailKind::Sink(e)))?;
                    self.substeps += n as u64;
                    bi += n;
                    continue;
                }
                Err(e) => return Err(bad(e, backend)),
            }
            let marks = match read_marks(r) {
                Ok(m) => m,
                Err(e) => return Err(bad(e, backend)),
            };
            self.seen.clear();
            for (ui, (vi, _)) in self.cx.resolved.blocks[bi].updates.iter().enumerate() {
                let value = match r.u32() {
                    // Left out: the same kind as the value of this update checked before.
                    Ok(OMITTED) if !self.values && self.checked[bi][ui] => continue,
                    Ok(OMITTED) => return Err(bad("the loop left out a value the engine reads".into(), backend)),
                    Ok(n) => r.bytes(n as usize),
                    Err(e) => Err(e),
                };
                let value = match value {
                    Ok(v) => v,
                    Err(e) => return Err(bad(e, backend)),
                };
                let blame = || function_at(model, k, UPDATE_POS + ui as u32);
                // A value byte for byte equal to one checked earlier in this block (two variables
                // given the same value, as chat's two clients are) is one well-formed value too.
                let end = r.at;
                let start = end - value.len();
                let seen = self.seen.iter().any(|&(s, e)| e - s == value.len() && &r.buf[s..e] == value);
                if !seen {
                    // Or equal to this update's value checked last (a model whose values repeat
                    // from timestep to timestep, as chat's do under a frozen clock).
                    let last = &mut self.last[bi][ui];
                    if value.len() < SAME_MIN_LEN || last.as_slice() != value {
                        if let Err(e) = check_one(value) {
                            return Err(fail_at(t, k, blame(), FailKind::Output(e.to_string()), backend));
                        }
                        if value.len() >= SAME_MIN_LEN {
                            last.clear();
                            last.extend_from_slice(value);
                        }
                    }
                    self.seen.push((start, end));
                }
                let var = &model.vars[*vi];
                let got = kind(value).expect("checked above");
                if !admits(var.ty, got) {
                    let error = FailKind::Type { var: var.name.clone(), want: type_label(var.ty), got: got.name() };
                    return Err(fail_at(t, k, blame(), error, backend));
                }
                self.checked[bi][ui] = true;
                // In place: a failure later in the block fails the job, which reads no more state.
                if self.values {
                    let s = &mut self.state[*vi];
                    s.clear();
                    s.extend_from_slice(value);
                }
            }
            self.ready[bi] = self.checked[bi].iter().all(|&c| c);
            // This block's messages: up to the last mark, each blamed on the call that sent it.
            let end = marks.last().map_or(*taken, |m| base.saturating_add(m.1 as usize));
            if end < *taken || end > emitted.len() {
                return Err(bad(format!("the loop counted {end} messages, the host has {}", emitted.len()), backend));
            }
            if let Err((at, e)) = self.emits.stamp(emitted, *taken..end, (t, k)) {
                let pos = marks.iter().find(|m| at < base + m.1 as usize).map_or(0, |m| m.0);
                return Err(fail_at(t, k, function_at(model, k, pos), FailKind::Emit(e), backend));
            }
            if end > *taken {
                let first = plan.policies.first().map(|f| f.display.clone()).unwrap_or_default();
                send(sink, emitted, *taken..end).map_err(|e| fail_at(t, k, first, e, backend))?;
            }
            *taken = end;
            let vals: &[Vec<u8>] = if self.values { &self.state } else { &[] };
            let job = self.job;
            sink.record_row(Row { substep: k, timestep: t, vals })
                .map_err(|e| sink_failure(job, t, k, FailKind::Sink(e)))?;
            self.substeps += 1;
            bi += 1;
        }
        Ok(())
    }

    /// Whole timesteps from `t` (before `stop`, the call's last) that the quiet run at the
    /// reader covers, each block of them quiet: counted and told to the sink in one call,
    /// finished (the clock does not run in real time). How many; 0 if the next blocks are not
    /// such a run (they are then read block by block, which blames whatever is wrong exactly).
    fn quiet_timesteps(
        &mut self,
        t: u64,
        stop: u64,
        batch: &mut Batch,
        sink: &mut dyn JobSink,
    ) -> Result<u64, Box<JobFailure>> {
        let nblocks = self.ready.len() as u64;
        if self.values || nblocks == 0 || self.cx.model.clock.realtime || !self.ready.iter().all(|&r| r) {
            return Ok(0);
        }
        if batch.quiet == 0 {
            // A run that starts here (the word and a count that is not 0).
            let r = &mut batch.r;
            let Some(head) = r.buf.get(r.at..r.at + 8) else { return Ok(0) };
            let count = u32::from_le_bytes(head[4..].try_into().expect("4 bytes"));
            if head[..4] != QUIET_RUN.to_le_bytes() || count == 0 {
                return Ok(0);
            }
            r.at += 8;
            batch.quiet = count;
        }
        let n = (batch.quiet as u64 / nblocks).min(stop - t);
        if n == 0 {
            return Ok(0);
        }
        batch.quiet -= (n * nblocks) as u32;
        let job = self.job;
        sink.quiet_timesteps(t, n, nblocks as u32, &self.cx.model.clock)
            .map_err(|(t, k, e)| sink_failure(job, t, k, e))?;
        self.substeps += n * nblocks;
        Ok(n)
    }
}

fn run_loaded(
    cx: &JobCtx,
    plugin: usize,
    backend: &mut dyn JobBackend,
    job: JobId,
    sink: &mut dyn JobSink,
    fail_at: &FailAt,
) -> Result<u64, Box<JobFailure>> {
    let model = cx.model;
    let nblocks = model.blocks.len() as u32;
    let calls: u32 = cx.resolved.blocks.iter().map(|b| (b.policies.len() + b.updates.len()) as u32).sum();
    let state: Vec<Val> = model.vars.iter().map(|v| v.initial.clone()).collect();
    let sink_failure = |t: u64, k: u32, error: FailKind| sink_failure(job, t, k, error);
    sink.record(Record { substep: 0, timestep: 0, vals: state.clone() })
        .map_err(|e| sink_failure(0, 0, FailKind::Sink(e)))?;
    // Without a writer the values are only checked (type and form), not kept: the guest holds
    // the state.
    let values = sink.wants_values();
    let mut taker = Taker {
        cx,
        plugin,
        fail_at,
        job,
        values,
        checked: cx.resolved.blocks.iter().map(|b| vec![false; b.updates.len()]).collect(),
        ready: cx.resolved.blocks.iter().map(|b| b.updates.is_empty()).collect(),
        state: if values { state.iter().map(|v| v.to_vec()).collect() } else { Vec::new() },
        seen: Vec::new(),
        last: cx.resolved.blocks.iter().map(|b| vec![Vec::new(); b.updates.len()]).collect(),
        emits: Emits::new(job, model.kafka.id_header),
        substeps: 0,
    };
    let mut out = Vec::new();
    // The spent set the host parses the next call's messages into.
    let mut emitted = Emitted::default();
    emitted.set_topics(cx.topics.clone());
    let job_start = std::time::Instant::now();
    // Many timesteps per guest call where the plugin offers it and no wall clock paces the run;
    // the batch grows while a call's records and messages stay within `BATCH_BYTES`.
    let batching = backend.fused_batch(plugin) && !model.clock.realtime;
    let mut batch: u32 = if batching { 16 } else { 1 };
    let mut t = 1;
    while t <= model.timesteps {
        let n = batch.min(u32::try_from(model.timesteps - t + 1).unwrap_or(u32::MAX));
        let last = t + n as u64 - 1;
        let clock = (model.clock.start_ns, model.clock.step_ns);
        let setup = FusedSetup { timestep: t, now_ns: model.clock.at(t), calls, timesteps: n, clock };
        backend.host().emitted.timestep = t;
        let outcome = backend.fused_run(plugin, setup, &mut out);
        if !(t..=last).contains(&outcome.timestep) {
            let e = format!("the loop stopped at timestep {} in a call for timesteps {t} to {last}", outcome.timestep);
            return Err(fail_at(t, 1, loop_name(model, plugin), FailKind::Call(CallFailure::BadOutput(e)), backend));
        }
        // The messages of these timesteps, in emission order; each completed block takes its share.
        // The call's messages move out of the host while they are read (swapped with the spent set).
        std::mem::swap(&mut backend.host().emitted, &mut emitted);
        let mut call = Batch { r: Reader { buf: &out, at: 0 }, emitted: &mut emitted, taken: 0, quiet: 0 };
        let stop = outcome.timestep;
        let mut ts = t;
        loop {
            // Whole quiet timesteps: one sink call for them all.
            let quiet = if ts < stop { taker.quiet_timesteps(ts, stop, &mut call, sink)? } else { 0 };
            if quiet > 0 {
                ts += quiet;
                continue;
            }
            let blocks = if ts < stop { nblocks } else { outcome.blocks_done.min(nblocks) };
            taker.timestep(ts, blocks, &mut call, backend, sink)?;
            if ts == stop {
                break;
            }
            timestep_done(model, ts, sink, job_start).map_err(|e| sink_failure(ts, nblocks, e))?;
            ts += 1;
        }
        let quiet_left = call.quiet;
        let bytes = out.len() + emitted.bytes();
        emitted.clear();
        std::mem::swap(&mut backend.host().emitted, &mut emitted);
        if let Some(f) = outcome.failure {
            let error = match f.kind {
                FusedFailKind::Call(c) => FailKind::Call(c),
                FusedFailKind::Aggregate(m) => FailKind::Aggregate(m),
                FusedFailKind::Output(m) => FailKind::Output(m),
            };
            let mut function = function_at(model, f.substep, f.pos);
            if function.is_empty() {
                function = loop_name(model, plugin);
            }
            return Err(fail_at(stop, f.substep, function, error, backend));
        }
        if quiet_left != 0 {
            let e = format!("the loop's quiet run counts {quiet_left} blocks more than it completed");
            return Err(fail_at(
                stop,
                nblocks,
                loop_name(model, plugin),
                FailKind::Call(CallFailure::BadOutput(e)),
                backend,
            ));
        }
        if outcome.blocks_done != nblocks || stop != last {
            let e = match stop == last {
                true => format!("the loop completed {} of {} blocks", outcome.blocks_done, nblocks),
                false => format!("the loop stopped at timestep {stop} of {t} to {last} without an error"),
            };
            let k = outcome.blocks_done.min(nblocks) + 1;
            return Err(fail_at(stop, k, loop_name(model, plugin), FailKind::Call(CallFailure::BadOutput(e)), backend));
        }
        timestep_done(model, stop, sink, job_start).map_err(|e| sink_failure(stop, nblocks, e))?;
        if batching {
            let per_timestep = (bytes / n as usize).max(1);
            batch = u32::try_from(BATCH_BYTES / per_timestep).unwrap_or(MAX_BATCH).clamp(1, MAX_BATCH);
        }
        t = last + 1;
    }
    Ok(taker.substeps)
}

/// After timestep `t`'s records: tell the sink, and keep pace with the wall clock if asked.
fn timestep_done(model: &Model, t: u64, sink: &mut dyn JobSink, job_start: std::time::Instant) -> Result<(), FailKind> {
    sink.timestep_done(t, model.clock.at(t))?;
    crate::pace::keep_pace(model, t, job_start, &*sink)
}

/// `(position, messages emitted so far)` of the calls of a block that emitted, read in place
/// (a block without messages, the usual case, costs one word and no allocation).
fn read_marks<'a>(r: &mut Reader<'a>) -> Result<Marks<'a>, String> {
    let n = r.u32()? as usize;
    if n > r.buf.len() / 8 {
        return Err(format!("the loop claims {n} emitting calls in a block"));
    }
    Ok(Marks(r.bytes(n * 8)?))
}

/// A block's marks: `n` little-endian `(u32 position, u32 emitted)` pairs.
struct Marks<'a>(&'a [u8]);

impl Marks<'_> {
    fn iter(&self) -> impl DoubleEndedIterator<Item = (u32, u32)> + '_ {
        let word = |b: &[u8]| u32::from_le_bytes(b.try_into().expect("4 bytes"));
        self.0.chunks_exact(8).map(move |c| (word(&c[..4]), word(&c[4..])))
    }
    fn last(&self) -> Option<(u32, u32)> {
        self.iter().next_back()
    }
}

/// Whether the next block of a call's records is one of a quiet run (ABI.md §10: a word
/// `QUIET_RUN` and a count of blocks that emitted nothing and left out every value); `quiet` is
/// what is left of the run being read. Only with no values read, and each of the block's
/// updates must have had a value checked in this job (`ready`).
fn quiet_block(quiet: &mut u32, r: &mut Reader, values: bool, ready: bool) -> Result<bool, String> {
    if *quiet == 0 {
        if r.buf.get(r.at..r.at + 4) != Some(&QUIET_RUN.to_le_bytes()[..]) {
            return Ok(false);
        }
        r.u32()?;
        *quiet = r.u32()?;
        if *quiet == 0 {
            return Err("the loop wrote an empty quiet run".into());
        }
    }
    if values || !ready {
        return Err("the loop left out a value the engine reads".into());
    }
    *quiet -= 1;
    Ok(true)
}
