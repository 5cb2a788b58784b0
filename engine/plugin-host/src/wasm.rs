//! The wasmtime backend.
//!
//! Following wasmtime's embedding examples: one `Engine`, one `Module` and one `InstancePre` per
//! plugin, compiled once and shared by every thread; a fresh `Store` per job, carrying a memory cap
//! (`StoreLimits`), an epoch deadline that is reset before each call (a ticker thread advances the
//! epoch), and a locked-down WASI context.
//!
//! A plugin file may be a core module or a component (ABI.md §9, [`super::component`]); both are
//! compiled through the machine-wide [`super::cache`] and live in the same per-job `Store`.

use super::component::{ComponentInstance, ComponentPlugin};
use super::describe;
use super::host::{add_imports, HostCalls, LimitExceeded, Limiter, StoreData};
use super::{
    Backend, CallFailure, CallSetup, FusedFailKind, FusedFailure, FusedOutcome, FusedSetup, JobBackend, Resolved, Slot,
};
use distroduce_abi::export;
use distroduce_model::diag::{ConfigErrors, Diagnostic};
use distroduce_model::{Model, PluginSource};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::{Config, Engine, InstancePre, Linker, Memory, Module, Store, TypedFunc, ValType};

/// How often the epoch advances; call deadlines are counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The call deadline of `engine plugin check`, which has no scenario: the default
/// `limits.call_timeout`.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// Epoch ticks in `timeout`.
pub(crate) fn deadline_ticks(timeout: Duration) -> u64 {
    (timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

/// A thread advancing an engine's epoch every [`EPOCH_TICK`] until dropped, so that epoch
/// deadlines (call timeouts) fire.
pub(crate) struct Ticker(Arc<AtomicBool>);

impl Ticker {
    pub(crate) fn start(engine: &Engine) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, flag) = (engine.clone(), stop.clone());
        std::thread::Builder::new().name("epoch-ticker".into()).spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })?;
        Ok(Ticker(stop))
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// If `e` is the epoch deadline firing, what ran out of time: `what` (the start function,
/// `_initialize`) did not finish within `timeout`.
pub(crate) fn timed_out(e: &wasmtime::Error, what: &str, timeout: Duration, setting: &str) -> Option<String> {
    (e.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt)).then(|| {
        format!(
            "{what} did not finish within {} ({setting}); is there an endless loop?",
            humantime::format_duration(timeout)
        )
    })
}

/// The ABI version this engine speaks (see plugin-sdk/ABI.md).
pub use distroduce_abi::ABI_VERSION;

struct Plugin {
    name: Arc<str>,
    code: Code,
    exports: Vec<String>,
    /// Whether it exports the in-guest run loop (ABI.md §10) with the right types.
    fused: bool,
    /// Whether that loop runs many timesteps per call (`distroduce_fused_run_many`).
    fused_many: bool,
}

/// What a plugin file turned out to be.
enum Code {
    Core { pre: InstancePre<StoreData>, has_initialize: bool },
    Component(ComponentPlugin),
}

/// The engine settings every compile uses (and so the compiled-artifact cache's key): epoch
/// interruption for the call watchdog, and no component-model concurrency, which plugins do not
/// use and which makes each component call about 3x cheaper (reference/wasm-plugins.md).
pub fn engine_config() -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.concurrency_support(false);
    // `DISTRODUCE_PERFMAP=1` writes /tmp/perf-<pid>.map so `perf report` names guest functions.
    if std::env::var_os("DISTRODUCE_PERFMAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    config
}

/// Compiled plugins for one model.
pub struct WasmBackend {
    engine: Engine,
    plugins: Vec<Plugin>,
    memory_bytes: usize,
    emit_bytes: usize,
    log_bytes: usize,
    deadline_ticks: u64,
    timeout: Duration,
    _ticker: Ticker,
}

/// Why plugins could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Problems with the scenario's use of the plugins, each with its position.
    #[error("{0}")]
    Scenario(#[from] ConfigErrors),
    #[error("cannot create the WebAssembly engine: {0}")]
    Engine(String),
}

fn diag(model: &Model, pos: Option<distroduce_model::types::Pos>, message: String, hint: Option<&str>) -> Diagnostic {
    Diagnostic { file: model.file.clone(), pos, message, hint: hint.map(str::to_string) }
}

impl WasmBackend {
    /// Build (for `crate:` plugins), compile and check every plugin the model uses. All problems are
    /// reported together, before any job starts.
    pub fn load(model: &Model) -> Result<(Self, Resolved), LoadError> {
        let mut resolved = Resolved::of(model);
        let engine = Engine::new(&engine_config()).map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        let mut linker: Linker<StoreData> = Linker::new(&engine);
        add_imports(&mut linker).map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        let comp_linker = super::component::linker(&engine).map_err(|e| LoadError::Engine(format!("{e:#}")))?;

        let mut diags = Vec::new();
        let mut plugins = Vec::new();
        for (pi, spec) in model.plugins.iter().enumerate() {
            let path = match &spec.source {
                PluginSource::Wasm(p) => p.clone(),
                PluginSource::Crate(dir) => match super::build::build_crate(dir) {
                    Ok(p) => p,
                    Err(e) => {
                        diags.push(diag(model, spec.pos, format!("plugin `{}`: {e}", spec.name), None));
                        continue;
                    }
                },
            };
            let bytes = match distroduce_model::files::read_capped(&path, crate::MAX_PLUGIN_FILE_BYTES) {
                Ok(b) => b,
                Err(e) => {
                    diags.push(diag(
                        model,
                        spec.pos,
                        format!("plugin `{}`: cannot read {}: {e}", spec.name, path.display()),
                        None,
                    ));
                    continue;
                }
            };
            if super::cache::is_component(&bytes) {
                if let Some(p) =
                    load_component(model, pi, &comp_linker, &bytes, &path, &resolved.exports[pi], &mut diags)
                {
                    plugins.push(p);
                }
                continue;
            }
            let module = match super::cache::module(&engine, &bytes).map_err(|e| format!("{e:#}")) {
                Ok(m) => m,
                Err(e) => {
                    diags.push(diag(
                        model,
                        spec.pos,
                        format!("plugin `{}`: cannot load {}: {e}", spec.name, path.display()),
                        Some("is it a WebAssembly core module built for wasm32?"),
                    ));
                    continue;
                }
            };
            let before = diags.len();
            check_module(model, pi, &module, &resolved.exports[pi], &mut diags);
            if diags.len() > before {
                continue;
            }
            match linker.instantiate_pre(&module) {
                Ok(pre) => plugins.push(Plugin {
                    name: Arc::from(spec.name.as_str()),
                    code: Code::Core { pre, has_initialize: module.get_export(export::INITIALIZE).is_some() },
                    exports: resolved.exports[pi].clone(),
                    fused: super::inspect::has_fused_loop(&module),
                    fused_many: super::inspect::has_fused_many(&module),
                }),
                Err(e) => diags.push(diag(model, spec.pos, format!("plugin `{}`: {e:#}", spec.name), None)),
            }
        }
        if !diags.is_empty() {
            return Err(ConfigErrors(diags).into());
        }

        let ticker = Ticker::start(&engine).map_err(|e| LoadError::Engine(e.to_string()))?;
        let timeout = model.limits.call_timeout;
        let backend = WasmBackend {
            engine,
            plugins,
            memory_bytes: model.limits.memory_bytes,
            emit_bytes: model.limits.emit_bytes,
            log_bytes: model.limits.log_bytes,
            deadline_ticks: deadline_ticks(timeout),
            timeout,
            _ticker: ticker,
        };
        backend.check_abi(model, &mut resolved)?;
        Ok((backend, resolved))
    }

    /// Instantiate each plugin once: check its ABI version and what it says about its functions.
    fn check_abi(&self, model: &Model, resolved: &mut Resolved) -> Result<(), ConfigErrors> {
        let mut diags = Vec::new();
        let mut job = match self.new_job(0) {
            Ok(j) => j,
            Err(e) => return Err(ConfigErrors(vec![diag(model, None, e.to_string(), None)])),
        };
        for (pi, p) in self.plugins.iter().enumerate() {
            let spec = &model.plugins[pi];
            let v = job.instances[pi].version();
            if v != ABI_VERSION {
                diags.push(diag(
                    model,
                    spec.pos,
                    format!("plugin `{}` speaks distroduce ABI version {v}, this engine speaks {ABI_VERSION}", p.name),
                    Some("rebuild the plugin against a matching plugin SDK"),
                ));
                continue;
            }
            if let Instance::Component(c) = &job.instances[pi] {
                check_component_functions(model, pi, &p.exports, &c.functions, &mut diags);
            }
            for export in p.exports.clone() {
                let bytes = match job.describe(pi, &export) {
                    Ok(Some(b)) => b,
                    Ok(None) => continue,
                    Err(e) => {
                        diags.push(diag(
                            model,
                            spec.pos,
                            format!("plugin `{}`: distroduce_describe_{export} failed: {e}", p.name),
                            None,
                        ));
                        continue;
                    }
                };
                describe::check(model, resolved, pi, &export, &bytes, &mut diags);
            }
        }
        if diags.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(diags))
        }
    }

    fn new_job(&self, job_seed: u64) -> Result<WasmJob, CallFailure> {
        let limits = Limiter::new(self.memory_bytes, self.plugins.len());
        let mut store = Store::new(&self.engine, StoreData::new(job_seed, limits));
        store.data_mut().host.set_limits(self.emit_bytes, self.log_bytes);
        store.limiter(|d| &mut d.limits);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(self.deadline_ticks);
        let mut instances = Vec::with_capacity(self.plugins.len());
        for p in &self.plugins {
            let fail = |e: wasmtime::Error| CallFailure::Instantiate(format!("plugin `{}`: {e:#}", p.name));
            let timeout = self.timeout;
            let start_fail =
                |e: wasmtime::Error| match timed_out(&e, "its start function", timeout, "limits.call_timeout") {
                    Some(m) => CallFailure::Instantiate(format!("plugin `{}`: {m}", p.name)),
                    None => fail(e),
                };
            let (pre, has_initialize) = match &p.code {
                Code::Core { pre, has_initialize } => (pre, *has_initialize),
                Code::Component(c) => {
                    store.set_epoch_deadline(self.deadline_ticks);
                    let inst = c.instantiate(&mut store, &p.exports).map_err(|e| {
                        if let Some(m) = timed_out(&e, "its start function", timeout, "limits.call_timeout") {
                            return CallFailure::Instantiate(format!("plugin `{}`: {m}", p.name));
                        }
                        let tail = store.data().stderr_tail();
                        let tail = if tail.is_empty() { String::new() } else { format!("\n{tail}") };
                        CallFailure::Instantiate(format!("plugin `{}`: {e:#}{tail}", p.name))
                    })?;
                    instances.push(Instance::Component(Box::new(inst)));
                    continue;
                }
            };
            store.set_epoch_deadline(self.deadline_ticks);
            let inst = pre.instantiate(&mut store).map_err(start_fail)?;
            if has_initialize {
                store.set_epoch_deadline(self.deadline_ticks);
                // What the guest printed while it failed (a Go runtime's `fatal error: ...`) is
                // usually the only statement of the cause.
                inst.get_typed_func::<(), ()>(&mut store, export::INITIALIZE)
                    .and_then(|f| f.call(&mut store, ()))
                    .map_err(|e| {
                        if let Some(m) = timed_out(&e, "_initialize", timeout, "limits.call_timeout") {
                            return CallFailure::Instantiate(format!("plugin `{}`: {m}", p.name));
                        }
                        let tail = store.data().stderr_tail();
                        let tail = if tail.is_empty() { String::new() } else { format!("\nguest output:\n{tail}") };
                        CallFailure::Instantiate(format!("plugin `{}`: _initialize failed: {e:#}{tail}", p.name))
                    })?;
            }
            let memory = inst
                .get_memory(&mut store, export::MEMORY)
                .ok_or_else(|| CallFailure::Instantiate(format!("plugin `{}` exports no memory", p.name)))?;
            let alloc = inst.get_typed_func::<i32, i32>(&mut store, export::ALLOC).map_err(fail)?;
            let version = inst
                .get_typed_func::<(), i32>(&mut store, export::ABI_VERSION)
                .and_then(|f| f.call(&mut store, ()))
                .map_err(fail)?;
            let funcs = p
                .exports
                .iter()
                .map(|e| inst.get_typed_func::<(i32, i32), i64>(&mut store, e))
                .collect::<Result<Vec<_>, _>>()
                .map_err(fail)?;
            let fused = if p.fused {
                use distroduce_abi::fused::{CURSOR, LOAD, RUN, RUN_MANY};
                Some(Box::new(FusedFuncs {
                    load: inst.get_typed_func(&mut store, LOAD).map_err(fail)?,
                    run: inst.get_typed_func(&mut store, RUN).map_err(fail)?,
                    run_many: match p.fused_many {
                        true => Some(inst.get_typed_func(&mut store, RUN_MANY).map_err(fail)?),
                        false => None,
                    },
                    cursor: inst.get_typed_func(&mut store, CURSOR).map_err(fail)?,
                }))
            } else {
                None
            };
            instances.push(Instance::Core(CoreInstance { instance: inst, memory, alloc, funcs, version, fused }));
        }
        Ok(WasmJob {
            store,
            instances,
            names: self.plugins.iter().map(|p| p.name.clone()).collect(),
            deadline_ticks: self.deadline_ticks,
            memory_bytes: self.memory_bytes,
            job_seed,
        })
    }
}

/// Static checks of a module against the ABI and the functions the scenario uses.
fn check_module(model: &Model, pi: usize, module: &Module, used: &[String], diags: &mut Vec<Diagnostic>) {
    let spec = &model.plugins[pi];
    for p in super::inspect::abi_problems(module, false) {
        diags.push(diag(model, spec.pos, format!("plugin `{}`: {}", spec.name, p.message), Some(p.hint)));
    }
    let uses: Vec<&distroduce_model::FnRef> = model
        .blocks
        .iter()
        .flat_map(|b| b.policies.iter().chain(b.updates.iter().map(|(_, f)| f)))
        .filter(|f| f.plugin == pi)
        .collect();
    for export in used {
        let pos = uses.iter().find(|f| &f.export == export).and_then(|f| f.pos);
        match super::inspect::sig(module, export) {
            Some(_) if super::inspect::is_plugin_fn(module, export) => {}
            Some((p, r)) => diags.push(diag(
                model,
                pos,
                format!(
                    "`{}.{export}` has type ({}) -> ({}), but plugin functions must be (i32, i32) -> i64",
                    spec.name,
                    types(&p),
                    types(&r)
                ),
                Some("see plugin-sdk/ABI.md §1"),
            )),
            None => {
                let have = super::inspect::user_exports(module);
                diags.push(diag(
                    model,
                    pos,
                    format!("plugin `{}` has no export `{export}`", spec.name),
                    Some(&format!(
                        "its functions are: {}",
                        if have.is_empty() { "none".into() } else { have.join(", ") }
                    )),
                ));
            }
        }
    }
}

/// Compile (or load from the cache) and check a component; `None` after pushing diagnostics.
fn load_component(
    model: &Model,
    pi: usize,
    linker: &wasmtime::component::Linker<StoreData>,
    bytes: &[u8],
    path: &std::path::Path,
    exports: &[String],
    diags: &mut Vec<Diagnostic>,
) -> Option<Plugin> {
    let spec = &model.plugins[pi];
    let engine = linker.engine();
    let component = match super::cache::component(engine, bytes) {
        Ok(c) => c,
        Err(e) => {
            diags.push(diag(
                model,
                spec.pos,
                format!("plugin `{}`: cannot load the component {}: {e:#}", spec.name, path.display()),
                None,
            ));
            return None;
        }
    };
    let problems = super::component::abi_problems(engine, &component);
    if !problems.is_empty() {
        for p in problems {
            diags.push(diag(model, spec.pos, format!("plugin `{}`: {}", spec.name, p.message), Some(p.hint)));
        }
        return None;
    }
    match ComponentPlugin::new(linker, &component) {
        Ok(c) => Some(Plugin {
            name: Arc::from(spec.name.as_str()),
            code: Code::Component(c),
            exports: exports.to_vec(),
            fused: false,
            fused_many: false,
        }),
        Err(e) => {
            diags.push(diag(model, spec.pos, format!("plugin `{}`: {e:#}", spec.name), None));
            None
        }
    }
}

/// A component lists its functions at run time: check the scenario's uses against that list.
fn check_component_functions(model: &Model, pi: usize, used: &[String], have: &[String], diags: &mut Vec<Diagnostic>) {
    let spec = &model.plugins[pi];
    for export in used.iter().filter(|e| !have.contains(e)) {
        let pos = model
            .blocks
            .iter()
            .flat_map(|b| b.policies.iter().chain(b.updates.iter().map(|(_, f)| f)))
            .find(|f| f.plugin == pi && &f.export == export)
            .and_then(|f| f.pos);
        let mut sorted = have.to_vec();
        sorted.sort();
        diags.push(diag(
            model,
            pos,
            format!("plugin `{}` has no function `{export}`", spec.name),
            Some(&format!("its functions are: {}", if sorted.is_empty() { "none".into() } else { sorted.join(", ") })),
        ));
    }
}

fn types(v: &[ValType]) -> String {
    v.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
}

impl Backend for WasmBackend {
    fn plugin_names(&self) -> Vec<String> {
        self.plugins.iter().map(|p| p.name.to_string()).collect()
    }
    fn instantiate(&self, job_seed: u64) -> Result<Box<dyn JobBackend>, CallFailure> {
        Ok(Box::new(self.new_job(job_seed)?))
    }
    fn fused_capable(&self, plugin: usize) -> bool {
        self.plugins.get(plugin).is_some_and(|p| p.fused)
    }
}

enum Instance {
    Core(CoreInstance),
    /// Boxed: it holds the reusable input buffer and function names.
    Component(Box<ComponentInstance>),
}

impl Instance {
    fn version(&self) -> i32 {
        match self {
            Instance::Core(c) => c.version,
            Instance::Component(c) => i32::try_from(c.version).unwrap_or(i32::MAX),
        }
    }
}

struct CoreInstance {
    instance: wasmtime::Instance,
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    funcs: Vec<TypedFunc<(i32, i32), i64>>,
    version: i32,
    fused: Option<Box<FusedFuncs>>,
}

/// The exports of the in-guest run loop (ABI.md §10).
struct FusedFuncs {
    load: TypedFunc<(i32, i32), i32>,
    run: TypedFunc<(i64, i64), i32>,
    /// `(t0, n, start_ns, step_ns)`: many timesteps per call.
    run_many: Option<TypedFunc<(i64, i32, i64, i64), i32>>,
    cursor: TypedFunc<(), i32>,
}

struct WasmJob {
    store: Store<StoreData>,
    instances: Vec<Instance>,
    names: Vec<Arc<str>>,
    deadline_ticks: u64,
    memory_bytes: usize,
    job_seed: u64,
}

impl WasmJob {
    /// Call `distroduce_describe_<export>` (or a component's `describe`) if the plugin has it.
    fn describe(&mut self, pi: usize, export: &str) -> Result<Option<Vec<u8>>, CallFailure> {
        self.store.set_epoch_deadline(self.deadline_ticks);
        let inst = match &self.instances[pi] {
            Instance::Core(c) => c.instance,
            Instance::Component(c) => {
                let r = c.describe(&mut self.store, export);
                return r.map_err(|e| self.classify(e));
            }
        };
        let Ok(f) = inst.get_typed_func::<(), i64>(&mut self.store, &format!("{}{export}", export::DESCRIBE_PREFIX))
        else {
            return Ok(None);
        };
        let packed = f.call(&mut self.store, ()).map_err(|e| self.classify(e))?;
        let mut out = Vec::new();
        self.read_output(pi, packed, &mut out)?;
        Ok(Some(out))
    }

    fn classify(&mut self, e: wasmtime::Error) -> CallFailure {
        classify(&mut self.store, e, self.deadline_ticks, self.memory_bytes)
    }

    fn read_output(&mut self, pi: usize, packed: i64, out: &mut Vec<u8>) -> Result<(), CallFailure> {
        let (ptr, len) = distroduce_abi::unpack(packed);
        let (ptr, len) = (ptr as usize, len as usize);
        let Instance::Core(inst) = &self.instances[pi] else {
            return Err(CallFailure::BadOutput("a component has no packed output".into()));
        };
        let data = inst.memory.data(&self.store);
        let bytes = data.get(ptr..ptr.saturating_add(len)).ok_or_else(|| {
            CallFailure::BadOutput(format!(
                "output at {ptr}+{len} lies outside the plugin's {} bytes of memory",
                data.len()
            ))
        })?;
        out.clear();
        out.extend_from_slice(bytes);
        Ok(())
    }
}

/// Turn a wasmtime error into what the user needs to know: the guest's own message if it sent one,
/// else the kind of trap.
fn classify(store: &mut Store<StoreData>, e: wasmtime::Error, deadline_ticks: u64, memory_bytes: usize) -> CallFailure {
    if let Some(m) = store.data_mut().host.fail.take() {
        return CallFailure::Guest(m);
    }
    if let Some(l) = e.downcast_ref::<LimitExceeded>() {
        return CallFailure::Limit(l.to_string());
    }
    let text = format!("{e:?}");
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => {
            CallFailure::Timeout(Duration::from_millis(deadline_ticks * EPOCH_TICK.as_millis() as u64))
        }
        _ if text.contains("forcing trap when growing memory") => CallFailure::OutOfMemory(memory_bytes),
        _ => CallFailure::Trap(text),
    }
}

impl JobBackend for WasmJob {
    fn call(&mut self, slot: Slot, parts: &[&[u8]], setup: CallSetup, out: &mut Vec<u8>) -> Result<(), CallFailure> {
        let data = self.store.data_mut();
        data.host.begin_call(setup.seed, setup.now_ns, &self.names[slot.plugin]);
        data.set_time(setup.now_ns);
        self.store.set_epoch_deadline(self.deadline_ticks);
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let (ticks, mem_cap) = (self.deadline_ticks, self.memory_bytes);
        let store = &mut self.store;
        let inst = match &mut self.instances[slot.plugin] {
            Instance::Core(c) => &*c,
            Instance::Component(c) => {
                c.call(store, slot.func, parts, out).map_err(|e| classify(store, e, ticks, mem_cap))?;
                if let Some(m) = store.data_mut().host.fail.take() {
                    return Err(CallFailure::Guest(m));
                }
                return Ok(());
            }
        };
        let ptr =
            inst.alloc.call(&mut *store, len as i32).map_err(|e| classify(store, e, ticks, mem_cap))? as u32 as usize;
        {
            let mem = inst.memory.data_mut(&mut *store);
            let dst = mem.get_mut(ptr..ptr.saturating_add(len)).ok_or_else(|| {
                CallFailure::BadOutput(format!("distroduce_alloc({len}) returned {ptr}, outside the plugin's memory"))
            })?;
            let mut at = 0;
            for p in parts {
                dst[at..at + p.len()].copy_from_slice(p);
                at += p.len();
            }
        }
        store.data_mut().calling_memory = Some(inst.memory);
        let packed = inst.funcs[slot.func].call(&mut *store, (ptr as i32, len as i32));
        store.data_mut().calling_memory = None;
        let packed = packed.map_err(|e| classify(store, e, ticks, mem_cap))?;
        if let Some(m) = self.store.data_mut().host.fail.take() {
            return Err(CallFailure::Guest(m));
        }
        self.read_output(slot.plugin, packed, out)
    }

    fn host(&mut self) -> &mut HostCalls {
        &mut self.store.data_mut().host
    }

    fn stderr_tail(&self) -> String {
        self.store.data().stderr_tail()
    }

    fn fused_load(&mut self, plugin: usize, program: &[u8]) -> Result<bool, CallFailure> {
        self.fused_load_impl(plugin, program)
    }

    fn fused_batch(&self, plugin: usize) -> bool {
        self.core(plugin).ok().and_then(|c| c.fused.as_ref()).is_some_and(|f| f.run_many.is_some())
    }

    fn fused_run(&mut self, plugin: usize, setup: FusedSetup, out: &mut Vec<u8>) -> FusedOutcome {
        self.fused_run_impl(plugin, setup, out)
    }
}

impl WasmJob {
    fn core(&self, plugin: usize) -> Result<&CoreInstance, CallFailure> {
        match self.instances.get(plugin) {
            Some(Instance::Core(c)) => Ok(c),
            _ => Err(CallFailure::BadOutput("the in-guest run loop needs a core module".into())),
        }
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
    fn fused_load_impl(&mut self, plugin: usize, program: &[u8]) -> Result<bool, CallFailure> {
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
            Some(super::host::FusedSync { memory, cursor: at, job_seed, seeded: None, batch: None });
        self.read_cursor(plugin)?;
        Ok(true)
    }

    fn fused_run_impl(&mut self, plugin: usize, setup: FusedSetup, out: &mut Vec<u8>) -> FusedOutcome {
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
