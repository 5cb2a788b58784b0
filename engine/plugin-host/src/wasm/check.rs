//! Load-time checks of a plugin against the ABI and the functions its scenario uses: core
//! modules by their imports and exports, components by the functions they register.

use super::{diag, Code, Plugin};
use crate::component::ComponentPlugin;
use crate::host::StoreData;
use distroduce_model::diag::Diagnostic;
use distroduce_model::Model;
use std::sync::Arc;
use wasmtime::{Module, ValType};

/// Static checks of a module against the ABI and the functions the scenario uses.
pub(super) fn check_module(model: &Model, pi: usize, module: &Module, used: &[String], diags: &mut Vec<Diagnostic>) {
    let spec = &model.plugins[pi];
    for p in crate::inspect::abi_problems(module, false) {
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
        match crate::inspect::sig(module, export) {
            Some(_) if crate::inspect::is_plugin_fn(module, export) => {}
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
                let have = crate::inspect::user_exports(module);
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
pub(super) fn load_component(
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
    let component = match crate::cache::component(engine, bytes) {
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
    let problems = crate::component::abi_problems(engine, &component);
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
pub(super) fn check_component_functions(
    model: &Model,
    pi: usize,
    used: &[String],
    have: &[String],
    diags: &mut Vec<Diagnostic>,
) {
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
