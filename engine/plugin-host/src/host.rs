//! What the host gives a plugin call: the `distroduce` imports (random numbers, the virtual clock,
//! logs, message emission, failure reports) and a locked-down WASI.
//!
//! [`HostCalls`] is the backend-neutral part, shared by the WASM and the native backends; the
//! WASM-only part ([`StoreData`]) adds the WASI context, the memory limiter and captured stderr.

pub use crate::emitted::Emitted;
use distroduce_abi::{export, import};
pub use distroduce_model::rng::{derive, mix, SplitMix64};
pub use imports::add_imports;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::ResourceTable;
use wasmtime::{Caller, StoreLimits};

use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

mod imports;

/// How many log lines of a job are kept for failure reports.
const LOG_TAIL: usize = 20;

/// Each log line (and each line of captured guest stderr in a failure report) is cut to this
/// many bytes.
pub const LOG_LINE_MAX: usize = 4096;

/// A per-call or per-store limit a plugin ran into. Host functions trap with it; the backend turns
/// it into [`crate::CallFailure::Limit`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LimitExceeded {
    #[error("the plugin emitted more than {} in one call (limits.emit_bytes); its further messages were refused", size(*.0))]
    EmitBytes(usize),
    #[error("the plugin logged more than {} in one call (limits.log_bytes)", size(*.0))]
    LogBytes(usize),
    #[error("the plugin tried to grow a table to {elements} elements, past its limit of {limit} ({} at 8 bytes each, limits.memory)", size(limit * 8))]
    TableElements { elements: usize, limit: usize },
    #[error("the plugin's memories and tables together would exceed {} (limits.memory per plugin instance)", size(*.0))]
    StoreBytes(usize),
}

/// `n` bytes for people: `64 MiB`, `4 KiB`, `100 bytes`.
fn size(n: usize) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// `text` cut to at most [`LOG_LINE_MAX`] bytes (at a character boundary), saying how long it was.
pub fn truncate_line(text: &str, full_len: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= LOG_LINE_MAX && full_len <= LOG_LINE_MAX {
        return text.into();
    }
    let mut end = text.len().min(LOG_LINE_MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{full_len} bytes, cut to {end}]", &text[..end]).into()
}

/// The memory limiter of a job's store (issue 12, defect 3): linear memories *and* tables count.
/// Each memory may grow to `limits.memory` (as before); each table to `limits.memory / 8`
/// elements; all memories and tables of the store together to `limits.memory` per plugin; and the
/// numbers of instances, memories and tables are bounded. Past a limit the growth traps with a
/// [`LimitExceeded`] (or wasmtime's memory error), which fails the call or the instantiation.
pub struct Limiter {
    memory: usize,
    table_elements: usize,
    total: usize,
    used: usize,
    counts: usize,
    inner: StoreLimits,
}

impl Limiter {
    /// Limits for a store holding `plugins` plugin instances, each allowed `memory` bytes.
    pub fn new(memory: usize, plugins: usize) -> Self {
        let plugins = plugins.max(1);
        let counts = 100 * plugins;
        let inner = wasmtime::StoreLimitsBuilder::new()
            .memory_size(memory)
            .table_elements(memory / 8)
            .instances(counts)
            .memories(counts)
            .tables(counts)
            .trap_on_grow_failure(true)
            .build();
        Self { memory, table_elements: memory / 8, total: memory.saturating_mul(plugins), used: 0, counts, inner }
    }

    fn charge(&mut self, bytes: usize) -> wasmtime::Result<()> {
        match self.used.checked_add(bytes) {
            Some(u) if u <= self.total => {
                self.used = u;
                Ok(())
            }
            _ => Err(LimitExceeded::StoreBytes(self.total).into()),
        }
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|m| desired > m) {
            return Ok(false);
        }
        // The per-memory cap, with wasmtime's own error (the call reports `limits.memory`).
        if desired > self.memory {
            return self.inner.memory_growing(current, desired, maximum);
        }
        self.charge(desired.saturating_sub(current))?;
        Ok(true)
    }
    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|m| desired > m) {
            return Ok(false);
        }
        if desired > self.table_elements {
            return Err(LimitExceeded::TableElements { elements: desired, limit: self.table_elements }.into());
        }
        self.charge(desired.saturating_sub(current).saturating_mul(8))?;
        Ok(true)
    }
    fn instances(&self) -> usize {
        self.counts
    }
    fn tables(&self) -> usize {
        self.counts
    }
    fn memories(&self) -> usize {
        self.counts
    }
}

/// Per-call host state, the same for every backend.
#[derive(Debug)]
pub struct HostCalls {
    pub rng: SplitMix64,
    pub now_ns: i64,
    /// Set by the `fail` import (or a panic hook in the guest).
    pub fail: Option<String>,
    pub logs: VecDeque<String>,
    /// The emitted messages, parsed at `emit` time, until the executor takes them.
    pub emitted: Emitted,
    /// Name of the plugin being called, for log lines.
    pub plugin: Arc<str>,
    /// Per call: bytes emitted and logged so far, and their limits.
    emit_bytes: usize,
    log_bytes: usize,
    emit_cap: usize,
    log_cap: usize,
}

impl Default for HostCalls {
    fn default() -> Self {
        Self {
            rng: SplitMix64(0),
            now_ns: 0,
            fail: None,
            logs: VecDeque::new(),
            emitted: Emitted::default(),
            plugin: Arc::from(""),
            emit_bytes: 0,
            log_bytes: 0,
            emit_cap: usize::MAX,
            log_cap: usize::MAX,
        }
    }
}

impl HostCalls {
    pub fn begin_call(&mut self, seed: u64, now_ns: i64, plugin: &Arc<str>) {
        self.rng = SplitMix64(seed);
        self.now_ns = now_ns;
        self.fail = None;
        self.emit_bytes = 0;
        self.log_bytes = 0;
        if !Arc::ptr_eq(&self.plugin, plugin) {
            self.plugin = plugin.clone();
        }
    }

    /// Bytes one call may emit (`limits.emit_bytes`) and log (`limits.log_bytes`).
    pub fn set_limits(&mut self, emit_bytes: usize, log_bytes: usize) {
        self.emit_cap = emit_bytes;
        self.log_cap = log_bytes;
    }

    /// Record an emitted message (parsed from `payload` at once, see [`Emitted`]), unless the
    /// call's emits would pass `limits.emit_bytes`.
    pub fn emit(&mut self, payload: &[u8]) -> Result<(), LimitExceeded> {
        self.charge_emit(payload.len())?;
        self.emitted.push(payload, self.now_ns);
        Ok(())
    }

    /// An `emit_bytes` (ABI.md §5): the message whose `emit` map is `{topic: alias, value, key?}`,
    /// given by its parts and counted as that map's bytes.
    pub fn emit_bytes(&mut self, alias: &[u8], key: Option<&[u8]>, value: &[u8]) -> Result<(), LimitExceeded> {
        self.charge_emit(distroduce_abi::emit::encoded_len(alias.len(), key.map(<[u8]>::len), value.len()))?;
        self.emitted.push_bytes(alias, key, value, self.now_ns);
        Ok(())
    }

    /// Count `len` emitted bytes against the call's limit.
    pub fn charge_emit(&mut self, len: usize) -> Result<(), LimitExceeded> {
        match self.emit_bytes.checked_add(len) {
            Some(n) if n <= self.emit_cap => {
                self.emit_bytes = n;
                Ok(())
            }
            _ => Err(LimitExceeded::EmitBytes(self.emit_cap)),
        }
    }

    /// A log line of the guest. Plugin logs go to the `plugin` tracing target, which the CLI shows
    /// only with `-v`; each line is cut to [`LOG_LINE_MAX`] bytes.
    pub fn log(&mut self, level: i32, msg: &str) {
        // Native plugins have no limit to report to; the WASM imports use `log_limited`.
        let _ = self.log_limited(level, msg, msg.len());
    }

    /// A log line whose first bytes are `msg` and whose full length is `full_len`, counted against
    /// `limits.log_bytes`.
    pub fn log_limited(&mut self, level: i32, msg: &str, full_len: usize) -> Result<(), LimitExceeded> {
        match self.log_bytes.checked_add(full_len) {
            Some(n) if n <= self.log_cap => self.log_bytes = n,
            _ => return Err(LimitExceeded::LogBytes(self.log_cap)),
        }
        let msg = truncate_line(msg, full_len);
        let plugin = &*self.plugin;
        match level {
            i32::MIN..=0 => tracing::trace!(target: "plugin", plugin, "{msg}"),
            1 => tracing::debug!(target: "plugin", plugin, "{msg}"),
            2 => tracing::info!(target: "plugin", plugin, "{msg}"),
            3 => tracing::warn!(target: "plugin", plugin, "{msg}"),
            _ => tracing::error!(target: "plugin", plugin, "{msg}"),
        }
        if self.logs.len() == LOG_TAIL {
            self.logs.pop_front();
        }
        self.logs.push_back(format!("[{plugin}] {msg}"));
        Ok(())
    }

    pub fn fail(&mut self, msg: &str) {
        // Keep the first message: a panic hook may report again on the way down.
        if self.fail.is_none() {
            self.fail = Some(msg.to_string());
        }
    }
}

impl distroduce_sdk::native::Host for HostCalls {
    fn rng_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }
    fn rng_f64(&mut self) -> f64 {
        self.rng.next_f64()
    }
    fn now_ns(&mut self) -> i64 {
        self.now_ns
    }
    fn log(&mut self, level: i32, msg: &str) {
        HostCalls::log(self, level, msg)
    }
    fn emit(&mut self, msgpack: &[u8]) {
        if let Err(e) = HostCalls::emit(self, msgpack) {
            self.fail(&e.to_string());
        }
    }
    fn emit_bytes(&mut self, topic: &str, key: Option<&str>, value: &[u8]) -> bool {
        if let Err(e) = HostCalls::emit_bytes(self, topic.as_bytes(), key.map(str::as_bytes), value) {
            self.fail(&e.to_string());
        }
        true
    }
    fn fail(&mut self, msg: &str) {
        HostCalls::fail(self, msg)
    }
}

/// Everything one WASM store carries.
pub struct StoreData {
    pub host: HostCalls,
    pub wasi: WasiP1Ctx,
    /// WASI preview 2, for components only; built on first use so that core-only jobs do not pay
    /// for a second context.
    wasi_p2: Option<(WasiCtx, ResourceTable)>,
    job_seed: u64,
    pub limits: Limiter,
    pub stderr: MemoryOutputPipe,
    /// The virtual clock as WASI sees it; updated before every call.
    pub clock: Arc<AtomicI64>,
    /// Set while a plugin runs its in-guest loop (ABI.md §10): where its cursor is, so that each
    /// call inside a timestep draws from its own random stream, as it would through the host loop.
    pub fused: Option<FusedSync>,
    /// What the WASI monotonic clock has advanced beyond the virtual clock: reads and sleeps.
    mono_extra: Arc<AtomicU64>,
    /// The memory of the core instance being called, set by the backend around each call, so that
    /// `emit` (called once per message) finds the guest's bytes without looking the export up by
    /// name: that lookup (a hash of `"memory"` per call) was ~7 % of the job threads' cycles in the
    /// profile of `scenarios/loadgen.yaml` (benches/results/publish-efficiency.md).
    pub calling_memory: Option<wasmtime::Memory>,
}

/// The in-guest loop's cursor, as the `rng_*` imports read it.
#[derive(Debug, Clone, Copy)]
pub struct FusedSync {
    pub memory: wasmtime::Memory,
    /// Address of the cursor in the guest's memory.
    pub cursor: usize,
    pub job_seed: u64,
    /// The `(timestep, substep, position)` the current stream was seeded for.
    pub seeded: Option<(u64, u32, u32)>,
    /// During a call running many timesteps: the timestep `now_ns` and the per-timestep emit and
    /// log limits were last set for, and the clock (`start_ns`, `step_ns`).
    pub batch: Option<(u64, (i64, i64))>,
}

/// The locked-down WASI both preview 1 and preview 2 are built from: no preopens, env, args or
/// sockets (a plugin sees nothing of the machine), random seeded from the job, clocks following
/// the virtual clock, stdout and stderr captured.
fn locked_wasi(
    job_seed: u64,
    clock: &Arc<AtomicI64>,
    mono_extra: &Arc<AtomicU64>,
    stderr: &MemoryOutputPipe,
) -> WasiCtxBuilder {
    let mut b = WasiCtxBuilder::new();
    b.allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false);
    b.stderr(stderr.clone()).stdout(stderr.clone());
    let mut rng = SplitMix64(job_seed);
    let bytes: Vec<u8> = (0..1024).flat_map(|_| rng.next_u64().to_le_bytes()).collect();
    b.secure_random(wasmtime_wasi::Deterministic::new(bytes.clone()));
    b.insecure_random(wasmtime_wasi::Deterministic::new(bytes));
    b.insecure_random_seed(job_seed as u128);
    b.wall_clock(VirtualWall(clock.clone()));
    b.monotonic_clock(VirtualMono { clock: clock.clone(), extra: mono_extra.clone() });
    b
}

impl StoreData {
    pub fn new(job_seed: u64, limits: Limiter) -> Self {
        let clock = Arc::new(AtomicI64::new(0));
        let mono_extra = Arc::new(AtomicU64::new(0));
        let stderr = MemoryOutputPipe::new(64 * 1024);
        let wasi = locked_wasi(job_seed, &clock, &mono_extra, &stderr).build_p1();
        Self {
            host: HostCalls::default(),
            wasi,
            wasi_p2: None,
            job_seed,
            limits,
            stderr,
            clock,
            fused: None,
            mono_extra,
            calling_memory: None,
        }
    }

    pub fn set_time(&mut self, now_ns: i64) {
        self.clock.store(now_ns, Ordering::Relaxed);
    }

    /// The last lines the guest wrote to stdout/stderr.
    pub fn stderr_tail(&self) -> String {
        let all = self.stderr.contents();
        let text = String::from_utf8_lossy(&all);
        let lines: Vec<&str> = text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(10)..];
        tail.iter().map(|l| truncate_line(l, l.len())).collect::<Vec<_>>().join("\n")
    }
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let (seed, clock, extra, stderr) = (self.job_seed, &self.clock, &self.mono_extra, &self.stderr);
        let (ctx, table) =
            self.wasi_p2.get_or_insert_with(|| (locked_wasi(seed, clock, extra, stderr).build(), ResourceTable::new()));
        WasiCtxView { ctx, table }
    }
}

struct VirtualWall(Arc<AtomicI64>);
impl wasmtime_wasi::HostWallClock for VirtualWall {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Relaxed).max(0) as u64)
    }
}

/// The monotonic clock: the virtual clock, plus 1 s so that it is never zero (Go's runtime aborts
/// on a zero `nanotime`, and `_initialize` runs before the first call sets the clock), plus 1 µs
/// per read so that it advances even while the virtual clock is frozen (runtimes that wait for time
/// to pass would otherwise spin), plus whatever the guest slept ([`poll_oneoff`]). Deterministic:
/// the reads and sleeps are the guest's own.
struct VirtualMono {
    clock: Arc<AtomicI64>,
    extra: Arc<AtomicU64>,
}
impl wasmtime_wasi::HostMonotonicClock for VirtualMono {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        mono_now(&self.clock, advance(&self.extra, 1_000))
    }
}

/// Add `by` to `a`, saturating; the value before.
fn advance(a: &AtomicU64, by: u64) -> u64 {
    a.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| Some(v.saturating_add(by))).unwrap_or_default()
}

fn mono_now(clock: &AtomicI64, extra: u64) -> u64 {
    (clock.load(Ordering::Relaxed).max(0) as u64).saturating_add(1_000_000_000).saturating_add(extra)
}

/// WASI preview 1 `poll_oneoff` without the wall clock (issue 12, defect 2). wasmtime-wasi's own
/// sleeps in the host, where the epoch deadline never interrupts, so a plugin sleeping 300 s
/// escaped `limits.call_timeout`. Here a sleep returns at once and advances the plugin's monotonic
/// clock by what it asked for: time inside a plugin is virtual, like every clock it can read. A
/// plugin that waits for time to pass in a loop therefore still spins in WebAssembly, where the
/// call timeout stops it. Stdin (always empty) and stdout/stderr (captured) are always ready.
fn poll_oneoff(mut c: Caller<'_, StoreData>, subs: i32, events: i32, n: i32, nevents: i32) -> i32 {
    const SUCCESS: i32 = 0;
    const BADF: i32 = 8;
    const FAULT: i32 = 21;
    const INVAL: i32 = 28;
    const NOTSUP: i32 = 58;
    const SUB: usize = 48;
    const EVENT: usize = 32;
    let Some(mem) = c.get_export(export::MEMORY).and_then(|e| e.into_memory()) else {
        return NOTSUP;
    };
    let n = n as u32 as usize;
    if n == 0 {
        return INVAL;
    }
    let (data, store) = mem.data_and_store_mut(&mut c);
    let at = |ptr: i32, len: usize| {
        let start = ptr as u32 as usize;
        start.checked_add(len).map(|end| start..end)
    };
    let (Some(subs_at), Some(events_at), Some(nevents_at)) = (at(subs, n * SUB), at(events, n * EVENT), at(nevents, 4))
    else {
        return FAULT;
    };
    if data.get(events_at.clone()).is_none() || data.get(nevents_at.clone()).is_none() {
        return FAULT;
    }
    let Some(sub_bytes) = data.get(subs_at) else {
        return FAULT;
    };
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or_default());
    let u32_at = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap_or_default());
    let wall_now = store.clock.load(Ordering::Relaxed).max(0) as u64;
    let mono = mono_now(&store.clock, store.mono_extra.load(Ordering::Relaxed));
    // (userdata, event type, nanoseconds to wait: 0 = ready now, flags of an fd event)
    let mut pending: Vec<(u64, u8, u64, u16)> = Vec::with_capacity(n.min(64));
    for s in sub_bytes.chunks_exact(SUB) {
        let userdata = u64_at(s, 0);
        match s[8] {
            0 => {
                let (id, timeout, abs) = (u32_at(s, 16), u64_at(s, 24), u16::from_le_bytes([s[40], s[41]]) & 1 == 1);
                let wait = match (id, abs) {
                    (0 | 1, false) => timeout,
                    (0, true) => timeout.saturating_sub(wall_now),
                    (1, true) => timeout.saturating_sub(mono),
                    _ => return INVAL,
                };
                pending.push((userdata, 0, wait, 0));
            }
            1 if u32_at(s, 16) == 0 => pending.push((userdata, 1, 0, 1)), // stdin: at its end
            2 if matches!(u32_at(s, 16), 1 | 2) => pending.push((userdata, 2, 0, 0)),
            1 | 2 => return BADF,
            _ => return INVAL,
        }
    }
    let slept = pending.iter().map(|p| p.2).min().unwrap_or(0);
    advance(&store.mono_extra, slept);
    let mut count = 0usize;
    let out = &mut data[events_at];
    for (userdata, ty, _, flags) in pending.into_iter().filter(|p| p.2 <= slept) {
        let e = &mut out[count * EVENT..(count + 1) * EVENT];
        e.fill(0);
        e[0..8].copy_from_slice(&userdata.to_le_bytes());
        e[10] = ty;
        if ty != 0 {
            e[16..24].copy_from_slice(&(if ty == 2 { 65536u64 } else { 0 }).to_le_bytes());
            e[24..26].copy_from_slice(&flags.to_le_bytes());
        }
        count += 1;
    }
    data[nevents_at].copy_from_slice(&(count as u32).to_le_bytes());
    SUCCESS
}

/// Register the `distroduce:plugin/host` interface (the component form of the imports above) and
/// WASI preview 2, for components (ABI.md §9).
pub fn add_component_imports(linker: &mut wasmtime::component::Linker<StoreData>) -> wasmtime::Result<()> {
    use wasmtime::StoreContextMut as Cx;
    let mut host = linker.instance(COMPONENT_HOST)?;
    host.func_wrap("rng-u64", |mut c: Cx<'_, StoreData>, (): ()| Ok((c.data_mut().host.rng.next_u64(),)))?;
    host.func_wrap("rng-f64", |mut c: Cx<'_, StoreData>, (): ()| Ok((c.data_mut().host.rng.next_f64(),)))?;
    host.func_wrap("now-ns", |c: Cx<'_, StoreData>, (): ()| Ok((c.data().host.now_ns,)))?;
    host.func_wrap("log", |mut c: Cx<'_, StoreData>, (level, msg): (i32, String)| {
        c.data_mut().host.log_limited(level, &msg, msg.len())?;
        Ok(())
    })?;
    host.func_wrap("emit", |mut c: Cx<'_, StoreData>, (msg,): (Vec<u8>,)| {
        c.data_mut().host.emit(&msg)?;
        Ok(())
    })?;
    host.func_wrap("fail", |mut c: Cx<'_, StoreData>, (msg,): (String,)| {
        c.data_mut().host.fail(&msg);
        Ok(())
    })?;
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    // Sleeps are virtual in components too (see `poll_oneoff`): wasmtime-wasi's pollables for
    // `subscribe-duration`/`subscribe-instant` wait on the wall clock in the host, where the call
    // deadline never fires. Ours are ready at once and advance the plugin's monotonic clock.
    linker.allow_shadowing(true);
    let mut clocks = linker.instance(COMPONENT_MONOTONIC_CLOCK)?;
    clocks.func_wrap("subscribe-duration", |mut c: Cx<'_, StoreData>, (ns,): (u64,)| {
        advance(&c.data().mono_extra, ns);
        Ok((ready_pollable(c.data_mut())?,))
    })?;
    clocks.func_wrap("subscribe-instant", |mut c: Cx<'_, StoreData>, (when,): (u64,)| {
        let d = c.data();
        let now = mono_now(&d.clock, d.mono_extra.load(Ordering::Relaxed));
        advance(&d.mono_extra, when.saturating_sub(now));
        Ok((ready_pollable(c.data_mut())?,))
    })?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The monotonic-clock interface of WASI preview 2 that wasmtime-wasi defines (the component
/// linker matches a plugin's 0.2.x import to it).
const COMPONENT_MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// A pollable that is ready at once: a virtual sleep that has already elapsed.
struct Elapsed;

#[wasmtime_wasi::async_trait]
impl wasmtime_wasi::p2::Pollable for Elapsed {
    async fn ready(&mut self) {}
}

fn ready_pollable(
    d: &mut StoreData,
) -> wasmtime::Result<wasmtime::component::Resource<wasmtime_wasi::p2::DynPollable>> {
    let view = d.ctx();
    let r = view.table.push(Elapsed)?;
    wasmtime_wasi::p2::subscribe(view.table, r)
}

/// The interface name components import the host functions from.
pub const COMPONENT_HOST: &str = "distroduce:plugin/host@1.0.0";

/// Imports a plugin may use.
pub const HOST_IMPORTS: [&str; 7] = import::ALL;
