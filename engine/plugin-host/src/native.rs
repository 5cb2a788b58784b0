//! The native backend: plugin functions compiled into the host (via `distroduce-sdk`'s native
//! shims), called with exactly the MessagePack input a WASM call gets. Used by benchmarks to measure
//! what the WASM boundary costs, and by tests that want a plugin without a wasm build.

use super::host::HostCalls;
use super::{Backend, CallFailure, CallSetup, JobBackend, Resolved, Slot};
use distroduce_model::diag::{ConfigErrors, Diagnostic};
use distroduce_model::Model;
use distroduce_sdk::native::{NativeExport, NativeFn};
use std::sync::Arc;

/// One plugin's native functions (`native_exports()` of a plugin crate).
pub type NativeTable = Vec<NativeExport>;

pub struct NativeBackend {
    names: Vec<Arc<str>>,
    funcs: Vec<Vec<NativeFn>>,
}

impl NativeBackend {
    /// Resolve the model's functions in `tables` (plugin name -> table).
    pub fn new(model: &Model, tables: &[(&str, NativeTable)]) -> Result<(Self, Resolved), ConfigErrors> {
        let mut resolved = Resolved::of(model);
        let mut diags = Vec::new();
        let mut funcs = Vec::new();
        for (pi, spec) in model.plugins.iter().enumerate() {
            let table = tables.iter().find(|(n, _)| *n == spec.name).map(|(_, t)| t);
            let mut list = Vec::new();
            for (fi, export) in resolved.exports[pi].clone().iter().enumerate() {
                match table.and_then(|t| t.iter().find(|e| e.name == export)) {
                    Some(e) => {
                        list.push(e.call);
                        // Same projection as the WASM backend, so the two compare like for like.
                        if let Ok(d) = distroduce_model::value::json::to_json(&(e.describe)()) {
                            resolved.reads[pi][fi] = super::FnReads::from_describe(model, &d);
                        }
                    }
                    None => diags.push(Diagnostic {
                        file: model.file.clone(),
                        pos: spec.pos,
                        message: format!("native plugin `{}` has no function `{export}`", spec.name),
                        hint: None,
                    }),
                }
            }
            funcs.push(list);
        }
        if !diags.is_empty() {
            return Err(ConfigErrors(diags));
        }
        let names = model.plugins.iter().map(|p| Arc::from(p.name.as_str())).collect();
        Ok((Self { names, funcs }, resolved))
    }
}

impl Backend for NativeBackend {
    fn plugin_names(&self) -> Vec<String> {
        self.names.iter().map(|n| n.to_string()).collect()
    }
    fn instantiate(&self, _job_seed: u64) -> Result<Box<dyn JobBackend>, CallFailure> {
        Ok(Box::new(NativeJob {
            names: self.names.clone(),
            funcs: self.funcs.clone(),
            host: HostCalls::default(),
            input: Vec::new(),
        }))
    }
}

struct NativeJob {
    names: Vec<Arc<str>>,
    funcs: Vec<Vec<NativeFn>>,
    host: HostCalls,
    input: Vec<u8>,
}

impl JobBackend for NativeJob {
    fn call(&mut self, slot: Slot, parts: &[&[u8]], setup: CallSetup, out: &mut Vec<u8>) -> Result<(), CallFailure> {
        self.host.begin_call(setup.seed, setup.now_ns, &self.names[slot.plugin]);
        self.input.clear();
        parts.iter().for_each(|p| self.input.extend_from_slice(p));
        let f = self.funcs[slot.plugin][slot.func];
        *out = f(&self.input, &mut self.host);
        match self.host.fail.take() {
            Some(m) => Err(CallFailure::Guest(m)),
            None => Ok(()),
        }
    }
    fn host(&mut self) -> &mut HostCalls {
        &mut self.host
    }
}
