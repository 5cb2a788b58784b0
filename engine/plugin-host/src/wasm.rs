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
use super::{Backend, CallFailure, CallSetup, FusedOutcome, FusedSetup, JobBackend, Resolved, Slot};
use distroduce_abi::export;
use distroduce_model::diag::{ConfigErrors, Diagnostic};
use distroduce_model::{Model, PluginSource};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::{Config, Engine, InstancePre, Linker, Memory, Store, TypedFunc};

mod check;
mod epoch;
mod fused;
use check::{check_component_functions, check_module, load_component};
pub use epoch::CHECK_TIMEOUT;
pub(crate) use epoch::{deadline_ticks, timed_out, Ticker, EPOCH_TICK};
use fused::FusedFuncs;

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
            let fused = match p.fused {
                true => Some(Box::new(FusedFuncs::get(&inst, &mut store, p.fused_many).map_err(fail)?)),
                false => None,
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
        self.fused_batch_impl(plugin)
    }

    fn fused_run(&mut self, plugin: usize, setup: FusedSetup, out: &mut Vec<u8>) -> FusedOutcome {
        self.fused_run_impl(plugin, setup, out)
    }
}
