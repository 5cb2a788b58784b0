//! The in-guest run loop's side of the wasmtime backend (ABI.md §10): loading a job's program
//! into the plugin, running one or many timesteps per call, and reading the loop's cursor and
//! records out of the guest's memory.

use super::{classify, CoreInstance, Instance, WasmJob};
use crate::host::StoreData;
use crate::{CallFailure, FusedFailKind, FusedFailure, FusedOutcome, FusedSetup};
use wasmtime::{Store, TypedFunc};

/// The exports of the in-guest run loop (ABI.md §10).
pub(super) struct FusedFuncs {
    load: TypedFunc<(i32, i32), i32>,
    run: TypedFunc<(i64, i64), i32>,
    /// `(t0, n, start_ns, step_ns)`: many timesteps per call.
    run_many: Option<TypedFunc<(i64, i32, i64, i64), i32>>,
    cursor: TypedFunc<(), i32>,
}

impl FusedFuncs {
    /// The loop's exports of a core instance; `many`: it exports `distroduce_fused_run_many`.
    pub(super) fn get(inst: &wasmtime::Instance, store: &mut Store<StoreData>, many: bool) -> wasmtime::Result<Self> {
        use distroduce_abi::fused::{CURSOR, LOAD, RUN, RUN_MANY};
        Ok(FusedFuncs {
            load: inst.get_typed_func(&mut *store, LOAD)?,
            run: inst.get_typed_func(&mut *store, RUN)?,
            run_many: match many {
                true => Some(inst.get_typed_func(&mut *store, RUN_MANY)?),
                false => None,
            },
            cursor: inst.get_typed_func(&mut *store, CURSOR)?,
        })
    }
}

impl WasmJob {
    pub(super) fn core(&self, plugin: usize) -> Result<&CoreInstance, CallFailure> {
        match self.instances.get(plugin) {
            Some(Instance::Core(c)) => Ok(c),
            _ => Err(CallFailure::BadOutput("the in-guest run loop needs a core module".into())),
        }
    }

    /// Whether the plugin's loop runs many timesteps per call.
    pub(super) fn fused_batch_impl(&self, plugin: usize) -> bool {
        self.core(plugin).ok().and_then(|c| c.fused.as_ref()).is_some_and(|f| f.run_many.is_some())
    }

    /// The cursor's fields (ABI.md §10), or why it cannot be read.
    fn read_cursor(&self, plugin: usize) -> Result<[u32; distroduce_abi::fused::cursor::LEN / 4], CallFailure> {
        use distroduce_abi::fused::cursor;
        let inst = self.core(plugin)?;
        let at = self.store.data().fused.map(|f| f.cursor).unwrap_or(0);
        let data = inst.memory.data(&self.store);
        let cur = data
            .get(at..at.saturating_add(cursor::LEN))
            .ok_or_else(|| CallFailure::BadOutput(format!("the loop's cursor at {at} lies outside its memory")))?;
        let mut f = [0u32; cursor::LEN / 4];
        for (i, v) in f.iter_mut().enumerate() {
            *v = u32::from_le_bytes(cur[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
        }
        Ok(f)
    }
}

/// Indices into [`WasmJob::read_cursor`]'s array (u32 words; the timestep takes words 0 and 1).
mod word {
    use distroduce_abi::fused::cursor;
    pub const SUBSTEP: usize = cursor::SUBSTEP / 4;
    pub const POS: usize = cursor::POS / 4;
    pub const STATUS: usize = cursor::STATUS / 4;
    pub const BLOCKS_DONE: usize = cursor::BLOCKS_DONE / 4;
    pub const OUT_PTR: usize = cursor::OUT_PTR / 4;
    pub const OUT_LEN: usize = cursor::OUT_LEN / 4;
    pub const MSG_PTR: usize = cursor::MSG_PTR / 4;
    pub const MSG_LEN: usize = cursor::MSG_LEN / 4;
}

impl WasmJob {
    pub(super) fn fused_load_impl(&mut self, plugin: usize, program: &[u8]) -> Result<bool, CallFailure> {
        use distroduce_abi::fused::status;
        let (ticks, mem_cap) = (self.deadline_ticks, self.memory_bytes);
        let name = self.names[plugin].clone();
        self.store.data_mut().host.begin_call(0, 0, &name);
        self.store.set_epoch_deadline(ticks);
        let inst = self.core(plugin)?;
        let Some(f) = &inst.fused else { return Ok(false) };
        let (load, cursor_fn, alloc, memory) = (f.load.clone(), f.cursor.clone(), inst.alloc.clone(), inst.memory);
        let store = &mut self.store;
        let ptr = alloc.call(&mut *store, program.len() as i32).map_err(|e| classify(store, e, ticks, mem_cap))? as u32
            as usize;
        memory
            .data_mut(&mut *store)
            .get_mut(ptr..ptr.saturating_add(program.len()))
            .ok_or_else(|| {
                CallFailure::BadOutput(format!("distroduce_alloc returned {ptr}, outside the plugin's memory"))
            })?
            .copy_from_slice(program);
        store.data_mut().calling_memory = Some(memory);
        let code = load.call(&mut *store, (ptr as i32, program.len() as i32));
        store.data_mut().calling_memory = None;
        let code = code.map_err(|e| classify(store, e, ticks, mem_cap))?;
        if code as u32 != status::OK {
            // The plugin's loop cannot run this program (an SDK that does not know a feature):
            // the job goes through the host loop instead.
            let why = store.data_mut().host.fail.take().unwrap_or_default();
            tracing::debug!(plugin = &*name, "the plugin declined the in-guest loop: {why}");
            return Ok(false);
        }
        let at = cursor_fn.call(&mut *store, ()).map_err(|e| classify(store, e, ticks, mem_cap))? as u32 as usize;
        let job_seed = self.job_seed;
        self.store.data_mut().fused =
            Some(crate::host::FusedSync { memory, cursor: at, job_seed, seeded: None, batch: None });
        self.read_cursor(plugin)?;
        Ok(true)
    }

    pub(super) fn fused_run_impl(&mut self, plugin: usize, setup: FusedSetup, out: &mut Vec<u8>) -> FusedOutcome {
        use distroduce_abi::fused::status;
        let n = setup.timesteps.max(1);
        let ticks = self.deadline_ticks.saturating_mul(setup.calls.max(1) as u64).saturating_mul(n as u64);
        let mem_cap = self.memory_bytes;
        let name = self.names[plugin].clone();
        let data = self.store.data_mut();
        data.host.begin_call(0, setup.now_ns, &name);
        data.set_time(setup.now_ns);
        if let Some(f) = &mut data.fused {
            f.seeded = None;
            // In a batch, `now_ns` and the emit and log limits follow the cursor's timestep.
            f.batch = (n > 1).then_some((setup.timestep, setup.clock));
        }
        self.store.set_epoch_deadline(ticks);
        out.clear();
        let bad = |substep: u32, m: String| FusedOutcome {
            timestep: setup.timestep,
            blocks_done: 0,
            failure: Some(FusedFailure { substep, pos: 0, kind: FusedFailKind::Call(CallFailure::BadOutput(m)) }),
        };
        let funcs =
            self.core(plugin).map(|c| (c.fused.as_ref().map(|f| (f.run.clone(), f.run_many.clone())), c.memory));
        let ((run, run_many), memory) = match funcs {
            Ok((Some(r), m)) => (r, m),
            _ => return bad(1, "the plugin has no in-guest run loop".into()),
        };
        let store = &mut self.store;
        store.data_mut().calling_memory = Some(memory);
        let result = match (n, run_many) {
            (1, _) => run.call(&mut *store, (setup.timestep as i64, setup.now_ns)),
            (n, Some(many)) => many.call(&mut *store, (setup.timestep as i64, n as i32, setup.clock.0, setup.clock.1)),
            (_, None) => {
                store.data_mut().calling_memory = None;
                return bad(1, "the plugin's loop runs one timestep per call".into());
            }
        };
        store.data_mut().calling_memory = None;
        // The deadline covers the timestep's calls; a timeout is reported as the per-call limit.
        let per_call = self.deadline_ticks;
        let trap = result.err().map(|e| classify(store, e, per_call, mem_cap));
        let cur = match self.read_cursor(plugin) {
            Ok(c) => c,
            Err(e) => return bad(1, e.to_string()),
        };
        let (ptr, len) = (cur[word::OUT_PTR] as usize, cur[word::OUT_LEN] as usize);
        let blocks_done = cur[word::BLOCKS_DONE];
        if len > 0 {
            let Ok(inst) = self.core(plugin) else { return bad(1, "no core instance".into()) };
            match inst.memory.data(&self.store).get(ptr..ptr.saturating_add(len)) {
                Some(b) => out.extend_from_slice(b),
                None => return bad(1, format!("the loop's records at {ptr}+{len} lie outside its memory")),
            }
        }
        let (substep, pos) = (cur[word::SUBSTEP], cur[word::POS]);
        // One timestep per call: the engine knows which (and older loops need not say).
        let timestep = if n == 1 { setup.timestep } else { cur[0] as u64 | (cur[1] as u64) << 32 };
        let failure = |kind| Some(FusedFailure { substep, pos, kind });
        let failure = match (trap, cur[word::STATUS]) {
            (Some(t), _) => failure(FusedFailKind::Call(t)),
            (None, status::OK) => None,
            (None, status::CALL_FAILED) => {
                let m = self.store.data_mut().host.fail.take().unwrap_or_else(|| "the call failed".into());
                failure(FusedFailKind::Call(CallFailure::Guest(m)))
            }
            (None, code) => {
                let (mp, ml) = (cur[word::MSG_PTR] as usize, cur[word::MSG_LEN] as usize);
                let msg = self
                    .core(plugin)
                    .ok()
                    .and_then(|inst| inst.memory.data(&self.store).get(mp..mp.saturating_add(ml.min(64 * 1024))))
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                if code == status::AGGREGATE_FAILED {
                    failure(FusedFailKind::Aggregate(msg))
                } else if code == status::BAD_OUTPUT {
                    failure(FusedFailKind::Output(msg))
                } else {
                    failure(FusedFailKind::Call(CallFailure::BadOutput(format!(
                        "the in-guest loop stopped ({code}): {msg}"
                    ))))
                }
            }
        };
        FusedOutcome { timestep, blocks_done, failure }
    }
}
