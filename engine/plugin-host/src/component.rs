//! The component container of the plugin ABI (ABI.md §9): the same MessagePack contract as core
//! modules, carried by the `distroduce:plugin` WIT world, for languages whose only route to
//! WebAssembly is the Component Model (Python through componentize-py).
//!
//! A component is compiled once ([`super::cache`]) and instantiated per job in the same `Store`
//! as core plugins, so the memory cap, the epoch watchdog, the host state and the captured stderr
//! work the same; only the imports differ (`distroduce:plugin/host` and WASI preview 2, locked
//! down like preview 1, see [`super::host::add_component_imports`]).

use super::host::{add_component_imports, StoreData, COMPONENT_HOST};
use super::inspect::AbiProblem;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, InstancePre, Linker, TypedFunc};
use wasmtime::{Engine, Store};

/// The world's exports, with their WIT signatures for error messages.
pub const EXPORTS: [(&str, &str); 4] = [
    ("abi-version", "func() -> u32"),
    ("functions", "func() -> list<string>"),
    ("call", "func(name: string, input: list<u8>) -> list<u8>"),
    ("describe", "func(name: string) -> option<list<u8>>"),
];

/// A compiled component, ready to instantiate.
pub struct ComponentPlugin {
    pre: InstancePre<StoreData>,
}

/// A linker with the host interface and WASI preview 2.
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<StoreData>> {
    let mut linker = Linker::new(engine);
    add_component_imports(&mut linker)?;
    Ok(linker)
}

impl ComponentPlugin {
    pub fn new(linker: &Linker<StoreData>, component: &Component) -> wasmtime::Result<Self> {
        Ok(Self { pre: linker.instantiate_pre(component)? })
    }

    /// Instantiate into `store` and look the exports up once; `exports` are the function names
    /// the scenario uses, in slot order.
    pub fn instantiate(&self, store: &mut Store<StoreData>, exports: &[String]) -> wasmtime::Result<ComponentInstance> {
        let inst = self.pre.instantiate(&mut *store)?;
        let version = inst.get_typed_func::<(), (u32,)>(&mut *store, "abi-version")?.call(&mut *store, ())?.0;
        let (functions,) =
            inst.get_typed_func::<(), (Vec<String>,)>(&mut *store, "functions")?.call(&mut *store, ())?;
        Ok(ComponentInstance {
            call: inst.get_typed_func(&mut *store, "call")?,
            describe: inst.get_typed_func(&mut *store, "describe")?,
            version,
            functions,
            exports: exports.to_vec(),
            input: Vec::new(),
        })
    }
}

/// One job's instance of a component.
pub struct ComponentInstance {
    call: TypedFunc<(String, Vec<u8>), (Vec<u8>,)>,
    describe: TypedFunc<(String,), (Option<Vec<u8>>,)>,
    pub version: u32,
    /// What the component's `functions` export returned.
    pub functions: Vec<String>,
    exports: Vec<String>,
    /// The input buffer, reused: the lowered call copies it into the guest.
    input: Vec<u8>,
}

impl ComponentInstance {
    /// Call the function in slot `func` with the concatenation of `parts`.
    pub fn call(
        &mut self,
        store: &mut Store<StoreData>,
        func: usize,
        parts: &[&[u8]],
        out: &mut Vec<u8>,
    ) -> wasmtime::Result<()> {
        let mut input = std::mem::take(&mut self.input);
        input.clear();
        for p in parts {
            input.extend_from_slice(p);
        }
        let (result,) = self.call.call(&mut *store, (self.exports[func].clone(), input))?;
        *out = result;
        Ok(())
    }

    pub fn describe(&self, store: &mut Store<StoreData>, name: &str) -> wasmtime::Result<Option<Vec<u8>>> {
        Ok(self.describe.call(store, (name.to_string(),))?.0)
    }
}

/// Import and export checks of a component, shared by `engine plugin check` and plugin loading:
/// it must export the four functions of the `distroduce:plugin` world and import nothing but the
/// host interface and WASI.
pub(crate) fn abi_problems(engine: &Engine, component: &Component) -> Vec<AbiProblem> {
    let ty = component.component_type();
    let mut out = Vec::new();
    for (name, sig) in EXPORTS {
        match ty.get_export(engine, name).map(|e| e.ty) {
            Some(ComponentItem::ComponentFunc(_)) => {}
            Some(_) => out.push(AbiProblem {
                message: format!("export `{name}` is not a function; the world wants `{name}: {sig}`"),
                hint: "build it against plugin-sdk/wit/distroduce.wit, world `plugin` (ABI.md §9)",
            }),
            None => out.push(AbiProblem {
                message: format!(
                    "is a component but does not export `{name}: {sig}`; it does not implement the `distroduce:plugin` world"
                ),
                hint: "build it against plugin-sdk/wit/distroduce.wit, world `plugin` (ABI.md §9)",
            }),
        }
    }
    for (name, _) in ty.imports(engine) {
        if name != COMPONENT_HOST && !name.starts_with("wasi:") {
            out.push(AbiProblem {
                message: format!("imports `{name}`, which the engine does not provide"),
                hint: "components may import only `distroduce:plugin/host@1.0.0` and WASI preview 2",
            });
        }
    }
    out
}

/// The component's imports, for `engine plugin check`.
pub fn imports(engine: &Engine, component: &Component) -> Vec<String> {
    component.component_type().imports(engine).map(|(n, _)| n.to_string()).collect()
}
