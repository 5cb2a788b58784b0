//! `engine plugin check FILE.wasm`: what a module offers (ABI version, functions with their kind,
//! output and reads, imports) and everything that keeps it from working as a distroduce plugin,
//! without a scenario.

use super::host::{add_imports, StoreData, HOST_IMPORTS};
use super::wasm::{deadline_ticks, timed_out, Ticker, CHECK_TIMEOUT};
use distroduce_abi::{export, ABI_VERSION, IMPORT_MODULE, WASI_MODULE};
use distroduce_model::value::json::to_json;
use std::path::Path;
use wasmtime::{Engine, ExternType, Linker, Module, Store, ValType};

/// WASI calls that reach files or the network. The engine never grants either (no preopened
/// directories, no sockets), so a plugin that needs them cannot work.
/// What `plugin check` calls its deadline in messages.
pub(crate) const CHECK_SETTING: &str = "the default limits.call_timeout";

const WASI_FORBIDDEN: [&str; 3] = ["path_", "sock_", "fd_readdir"];

#[derive(Debug, Default, serde::Serialize)]
pub struct Inspection {
    /// `component` for a component (ABI.md §9); `module` otherwise.
    pub container: &'static str,
    pub abi_version: Option<i32>,
    pub functions: Vec<Function>,
    pub imports: Vec<String>,
    /// What is wrong, each with the reason; empty means the module is a usable plugin.
    pub problems: Vec<String>,
}

#[derive(Debug, serde::Serialize)]
pub struct Function {
    pub name: String,
    /// The describe map (kind, output, reads), if the module has one for this function.
    pub describe: Option<serde_json::Value>,
}

/// The parameter and result types of a function export.
pub(crate) fn sig(module: &Module, name: &str) -> Option<(Vec<ValType>, Vec<ValType>)> {
    match module.get_export(name) {
        Some(ExternType::Func(f)) => Some((f.params().collect(), f.results().collect())),
        _ => None,
    }
}

pub(crate) fn is(v: &[ValType], want: &[ValType]) -> bool {
    v.len() == want.len() && v.iter().zip(want).all(|(a, b)| ValType::eq(a, b))
}

/// Whether an export has the plugin function type `(i32, i32) -> i64`.
pub(crate) fn is_plugin_fn(module: &Module, name: &str) -> bool {
    sig(module, name).is_some_and(|(p, r)| is(&p, &[ValType::I32, ValType::I32]) && is(&r, &[ValType::I64]))
}

/// Whether the module offers the in-guest run loop (ABI.md §10): all three exports, with their
/// types. A module with only some of them, or other types, is run through the host loop.
pub(crate) fn has_fused_loop(module: &Module) -> bool {
    use distroduce_abi::fused::{CURSOR, LOAD, RUN};
    let has = |name: &str, p: &[ValType], r: &[ValType]| sig(module, name).is_some_and(|(a, b)| is(&a, p) && is(&b, r));
    has(LOAD, &[ValType::I32, ValType::I32], &[ValType::I32])
        && has(RUN, &[ValType::I64, ValType::I64], &[ValType::I32])
        && has(CURSOR, &[], &[ValType::I32])
}

/// Whether the module's loop also runs many timesteps per call (ABI.md §10): the export with its
/// type, and no WASI import (WASI's clocks are set once per guest call, so a batch would show one
/// timestep's clock to all its timesteps).
pub(crate) fn has_fused_many(module: &Module) -> bool {
    use distroduce_abi::fused::RUN_MANY;
    let want = [ValType::I64, ValType::I32, ValType::I64, ValType::I64];
    let typed = sig(module, RUN_MANY).is_some_and(|(p, r)| is(&p, &want) && is(&r, &[ValType::I32]));
    typed && has_fused_loop(module) && module.imports().all(|i| i.module() != WASI_MODULE)
}

/// Function exports that are neither ABI plumbing (`distroduce_*`) nor runtime hooks (`_*`), sorted.
pub(crate) fn user_exports(module: &Module) -> Vec<String> {
    let mut names: Vec<String> = module
        .exports()
        .filter(|e| {
            matches!(e.ty(), ExternType::Func(_)) && !e.name().starts_with("distroduce_") && !e.name().starts_with('_')
        })
        .map(|e| e.name().to_string())
        .collect();
    names.sort();
    names
}

/// A way a module breaks ABI.md, with what to do about it.
pub(crate) struct AbiProblem {
    pub message: String,
    pub hint: &'static str,
}

/// Import and export checks shared by `engine plugin check` and plugin loading. With
/// `forbid_wasi_io`, WASI filesystem and network imports count too (loading allows them: the
/// calls simply fail under the locked-down WASI).
pub(crate) fn abi_problems(module: &Module, forbid_wasi_io: bool) -> Vec<AbiProblem> {
    let mut out = Vec::new();
    for imp in module.imports() {
        let name = format!("{}::{}", imp.module(), imp.name());
        match imp.module() {
            IMPORT_MODULE if !HOST_IMPORTS.contains(&imp.name()) => out.push(AbiProblem {
                message: format!("imports `{name}`, which the engine does not provide"),
                hint: "the `distroduce` host functions are rng_u64, rng_f64, now_ns, log, emit and fail (ABI.md §5)",
            }),
            WASI_MODULE if forbid_wasi_io && WASI_FORBIDDEN.iter().any(|p| imp.name().starts_with(p)) => {
                out.push(AbiProblem {
                    message: format!("imports `{name}`: plugins get no filesystem and no network, so it would always fail"),
                    hint: "compute from the call input instead",
                })
            }
            IMPORT_MODULE | WASI_MODULE => {}
            other => out.push(AbiProblem {
                message: format!(
                    "imports `{name}`, which the engine does not provide: only the `distroduce` host functions and WASI preview 1 are provided, not module `{other}`"
                ),
                hint: "plugins may import only the `distroduce` host functions of ABI.md and WASI preview 1",
            }),
        }
    }
    if !matches!(module.get_export(export::MEMORY), Some(ExternType::Memory(_))) {
        out.push(AbiProblem { message: "does not export `memory`".into(), hint: "see plugin-sdk/ABI.md §1" });
    }
    for (name, params, results) in
        [(export::ABI_VERSION, vec![], vec![ValType::I32]), (export::ALLOC, vec![ValType::I32], vec![ValType::I32])]
    {
        match sig(module, name) {
            Some((p, q)) if is(&p, &params) && is(&q, &results) => {}
            Some(_) => out.push(AbiProblem {
                message: format!("`{name}` has the wrong signature"),
                hint: "see plugin-sdk/ABI.md §1",
            }),
            None => out.push(AbiProblem {
                message: format!("does not export `{name}`; it is not a distroduce plugin"),
                hint: "build it with distroduce-sdk, or implement plugin-sdk/ABI.md §1",
            }),
        }
    }
    out
}

/// Inspect the module or component at `path` (binary or text format).
pub fn inspect(path: &Path) -> Inspection {
    let mut r = Inspection::default();
    let engine = match Engine::new(&super::wasm::engine_config()) {
        Ok(e) => e,
        Err(e) => {
            r.problems.push(format!("cannot create the WebAssembly engine: {e:#}"));
            return r;
        }
    };
    let bytes = match distroduce_model::files::read_capped(path, crate::MAX_PLUGIN_FILE_BYTES) {
        Ok(b) => b,
        Err(e) => {
            r.problems.push(format!("cannot read {}: {e}", path.display()));
            return r;
        }
    };
    if super::cache::is_component(&bytes) {
        r.container = "component";
        super::inspect_component::inspect(&engine, &bytes, &mut r);
        return r;
    }
    r.container = "module";
    let module = match super::cache::module(&engine, &bytes) {
        Ok(m) => m,
        Err(e) => {
            r.problems.push(format!("not a WebAssembly module: {e:#}"));
            return r;
        }
    };
    r.imports = module.imports().map(|i| format!("{}::{}", i.module(), i.name())).collect();
    r.problems.extend(abi_problems(&module, true).into_iter().map(|p| format!("{} ({})", p.message, p.hint)));
    for name in user_exports(&module) {
        if !is_plugin_fn(&module, &name) {
            if module.get_export(&format!("{}{name}", export::DESCRIBE_PREFIX)).is_some() {
                r.problems.push(format!("`{name}` is described as a plugin function but is not (i32, i32) -> i64"));
            }
            continue;
        }
        r.functions.push(Function { name, describe: None });
    }
    if r.functions.is_empty() {
        r.problems.push("exports no plugin function (an export of type (i32, i32) -> i64)".into());
    }
    if r.problems.iter().any(|p| p.contains("memory") || p.contains("distroduce_")) {
        return r;
    }
    describe(&engine, &module, &mut r);
    r
}

/// A store for inspecting a plugin, and the watchdog that bounds every guest call in it (start
/// function, `_initialize`, describe) by the default call timeout, for modules and components.
pub(crate) fn check_store(engine: &Engine) -> Result<(Ticker, Store<StoreData>), String> {
    let ticker = Ticker::start(engine).map_err(|e| format!("cannot start the call watchdog: {e}"))?;
    let mut store = Store::new(engine, StoreData::new(0, super::host::Limiter::new(256 << 20, 1)));
    store.limiter(|d| &mut d.limits);
    store.set_epoch_deadline(deadline_ticks(CHECK_TIMEOUT));
    Ok((ticker, store))
}

/// Instantiate once: the ABI version and each function's describe map.
fn describe(engine: &Engine, module: &Module, r: &mut Inspection) {
    let mut linker: Linker<StoreData> = Linker::new(engine);
    if let Err(e) = add_imports(&mut linker) {
        r.problems.push(format!("cannot set up the host functions: {e:#}"));
        return;
    }
    let (_ticker, mut store) = match check_store(engine) {
        Ok(s) => s,
        Err(e) => return r.problems.push(e),
    };
    // Each later guest call gets the same timeout again.
    let ticks = deadline_ticks(CHECK_TIMEOUT);
    let inst = match linker.instantiate(&mut store, module) {
        Ok(i) => i,
        Err(e) => {
            r.problems.push(match timed_out(&e, "its start function", CHECK_TIMEOUT, CHECK_SETTING) {
                Some(m) => format!("cannot be instantiated: {m}"),
                None => format!("cannot be instantiated: {e:#}"),
            });
            return;
        }
    };
    if let Ok(f) = inst.get_typed_func::<(), ()>(&mut store, export::INITIALIZE) {
        store.set_epoch_deadline(ticks);
        if let Err(e) = f.call(&mut store, ()) {
            r.problems.push(match timed_out(&e, "_initialize", CHECK_TIMEOUT, CHECK_SETTING) {
                Some(m) => m,
                None => format!("_initialize failed: {e:#}"),
            });
            return;
        }
    }
    store.set_epoch_deadline(ticks);
    match inst.get_typed_func::<(), i32>(&mut store, export::ABI_VERSION).and_then(|f| f.call(&mut store, ())) {
        Ok(v) => {
            r.abi_version = Some(v);
            if v != ABI_VERSION {
                r.problems.push(format!("speaks ABI version {v}; this engine speaks {}", ABI_VERSION));
            }
        }
        Err(e) => r.problems.push(format!("distroduce_abi_version trapped: {e:#}")),
    }
    let memory = inst.get_memory(&mut store, export::MEMORY);
    for f in &mut r.functions {
        let Ok(d) = inst.get_typed_func::<(), i64>(&mut store, &format!("{}{}", export::DESCRIBE_PREFIX, f.name))
        else {
            continue;
        };
        store.set_epoch_deadline(ticks);
        let packed = match d.call(&mut store, ()) {
            Ok(p) => p,
            Err(e) => {
                r.problems.push(format!("distroduce_describe_{} trapped: {e:#}", f.name));
                continue;
            }
        };
        let (ptr, len) = (((packed as u64) >> 32) as usize, (packed as u64 & 0xffff_ffff) as usize);
        let bytes = memory.and_then(|m| m.data(&store).get(ptr..ptr + len).map(<[u8]>::to_vec));
        match bytes.as_deref().map(to_json) {
            Some(Ok(v)) if v.is_object() => f.describe = Some(v),
            Some(Err(e)) => {
                r.problems.push(format!("distroduce_describe_{} returned malformed MessagePack: {e}", f.name))
            }
            _ => {
                r.problems.push(format!("distroduce_describe_{} does not return a MessagePack map (ABI.md §2)", f.name))
            }
        }
    }
}
