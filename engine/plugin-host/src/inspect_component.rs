//! `engine plugin check` for a component: the same report as for a core module (ABI version,
//! functions with their describe maps, imports, problems), from the `distroduce:plugin` world's
//! exports instead of core exports.

use super::component::{self, ComponentPlugin};
use super::inspect::{Function, Inspection, CHECK_SETTING};
use super::wasm::{deadline_ticks, timed_out, CHECK_TIMEOUT};
use distroduce_model::value::json::to_json;
use wasmtime::Engine;

pub fn inspect(engine: &Engine, bytes: &[u8], r: &mut Inspection) {
    let comp = match super::cache::component(engine, bytes) {
        Ok(c) => c,
        Err(e) => {
            r.problems.push(format!("not a valid WebAssembly component: {e:#}"));
            return;
        }
    };
    r.imports = component::imports(engine, &comp);
    let problems = component::abi_problems(engine, &comp);
    if !problems.is_empty() {
        r.problems.extend(problems.into_iter().map(|p| format!("{} ({})", p.message, p.hint)));
        return;
    }
    let plugin = match component::linker(engine).and_then(|l| ComponentPlugin::new(&l, &comp)) {
        Ok(p) => p,
        Err(e) => {
            r.problems.push(format!("cannot link the component: {e:#}"));
            return;
        }
    };
    let (_ticker, mut store) = match super::inspect::check_store(engine) {
        Ok(s) => s,
        Err(e) => return r.problems.push(e),
    };
    // Each later guest call gets the same timeout again.
    let ticks = deadline_ticks(CHECK_TIMEOUT);
    let inst = match plugin.instantiate(&mut store, &[]) {
        Ok(i) => i,
        Err(e) if timed_out(&e, "its start function", CHECK_TIMEOUT, CHECK_SETTING).is_some() => {
            let m = timed_out(&e, "its start function", CHECK_TIMEOUT, CHECK_SETTING).unwrap_or_default();
            r.problems.push(format!("cannot be instantiated: {m}"));
            return;
        }
        Err(e) => {
            let tail = store.data().stderr_tail();
            r.problems.push(format!("cannot be instantiated: {e:#}{}", if tail.is_empty() { "" } else { "\n" }));
            if !tail.is_empty() {
                r.problems.last_mut().expect("just pushed").push_str(&tail);
            }
            return;
        }
    };
    let version = i32::try_from(inst.version).unwrap_or(i32::MAX);
    r.abi_version = Some(version);
    if version != distroduce_abi::ABI_VERSION {
        r.problems.push(format!("speaks ABI version {version}; this engine speaks {}", distroduce_abi::ABI_VERSION));
    }
    let mut names = inst.functions.clone();
    names.sort();
    for name in names {
        store.set_epoch_deadline(ticks);
        let describe = match inst.describe(&mut store, &name) {
            Ok(None) => None,
            Ok(Some(b)) => match to_json(&b) {
                Ok(v) if v.is_object() => Some(v),
                Err(e) => {
                    r.problems.push(format!("describe(\"{name}\") returned malformed MessagePack: {e}"));
                    None
                }
                _ => {
                    r.problems.push(format!("describe(\"{name}\") does not return a MessagePack map (ABI.md §2)"));
                    None
                }
            },
            Err(e) => {
                r.problems.push(format!("describe(\"{name}\") trapped: {e:#}"));
                None
            }
        };
        r.functions.push(Function { name, describe });
    }
    if r.functions.is_empty() {
        r.problems.push("exports no plugin function (its `functions` export returned an empty list)".into());
    }
}
