//! Checks based on what a plugin says about its functions (`distroduce_describe_<f>`, ABI.md §2):
//! kind, output type and the names it reads, compared with how the scenario uses each function.

use super::{FnReads, Resolved};
use distroduce_model::diag::Diagnostic;
use distroduce_model::types::TypeName;
use distroduce_model::types::{admits, type_label};
use distroduce_model::value::{json::to_json, Kind};
use distroduce_model::{FnRef, Model, BOOKKEEPING};
use serde_json::Value as Json;

/// Check the scenario's uses of `export` against its describe map, and record what it reads.
pub fn check(
    model: &Model,
    resolved: &mut Resolved,
    pi: usize,
    export: &str,
    bytes: &[u8],
    diags: &mut Vec<Diagnostic>,
) {
    let spec = &model.plugins[pi];
    let d = match to_json(bytes) {
        Ok(Json::Object(m)) => m,
        other => {
            let what = match other {
                Err(e) => format!("malformed MessagePack ({e})"),
                Ok(_) => "something that is not a MessagePack map".into(),
            };
            diags.push(Diagnostic {
                file: model.file.clone(),
                pos: spec.pos,
                message: format!("plugin `{}`: distroduce_describe_{export} returned {what}", spec.name),
                hint: Some("see plugin-sdk/ABI.md §2".into()),
            });
            return;
        }
    };
    if let Some(fi) = resolved.exports[pi].iter().position(|e| e == export) {
        resolved.reads[pi][fi] = FnReads::from_describe(model, &Json::Object(d.clone()));
    }
    let kind = d.get("kind").and_then(Json::as_str).unwrap_or("");
    let output = d.get("output").and_then(Json::as_str).and_then(output_kind);
    let reads = |k: &str| -> Option<Vec<String>> {
        d.get("reads")?.get(k)?.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
    };
    let params: Vec<&String> = model.subsets.first().map(|s| s.params.keys().collect()).unwrap_or_default();
    let mut push = |f: &FnRef, message: String, hint: String| {
        diags.push(Diagnostic { file: model.file.clone(), pos: f.pos, message, hint: Some(hint) });
    };

    for block in &model.blocks {
        for f in block.policies.iter().filter(|f| f.plugin == pi && f.export == export) {
            if kind == "state_update" {
                push(
                    f,
                    format!("`{}` is a state update but {} uses it as a policy", f.display, block.label),
                    "move it under `updates:` of a state variable".into(),
                );
            }
        }
        for (vi, f) in block.updates.iter().filter(|(_, f)| f.plugin == pi && f.export == export) {
            let var = &model.vars[*vi];
            if kind == "policy" {
                push(
                    f,
                    format!("`{}` is a policy but {} uses it to update `{}`", f.display, block.label, var.name),
                    "list it under `policies:`".into(),
                );
            }
            if let Some(k) = output {
                // `number` outputs are reported as float; an int variable accepts them too.
                if !(admits(var.ty, k) || k == Kind::Float && var.ty == TypeName::Int) {
                    push(
                        f,
                        format!(
                            "`{}` returns {} but state variable `{}` is {}",
                            f.display,
                            k.name(),
                            var.name,
                            type_label(var.ty)
                        ),
                        format!(
                            "update `{}` with a function returning {}, or change its initial value / `state_types`",
                            var.name,
                            type_label(var.ty)
                        ),
                    );
                }
            }
        }
        let uses = block
            .policies
            .iter()
            .chain(block.updates.iter().map(|(_, f)| f))
            .filter(|f| f.plugin == pi && f.export == export);
        for f in uses {
            for name in reads("state").unwrap_or_default() {
                if model.var_index(&name).is_none() && !BOOKKEEPING.contains(&name.as_str()) {
                    push(
                        f,
                        format!("`{}` reads state variable `{name}`, which the scenario does not declare", f.display),
                        format!(
                            "declare `{name}` under `state:` (declared: {})",
                            model.vars.iter().map(|v| v.name.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    );
                }
            }
            for name in reads("params").unwrap_or_default() {
                if !params.contains(&&name) {
                    push(
                        f,
                        format!("`{}` reads param `{name}`, which the scenario does not declare", f.display),
                        format!("add `{name}` under `params:`"),
                    );
                }
            }
            let args = f.args.as_deref().map(to_json).and_then(Result::ok);
            for name in reads("args").unwrap_or_default() {
                let has = matches!(&args, Some(Json::Object(m)) if m.contains_key(&name));
                if !has {
                    push(
                        f,
                        format!("`{}` needs argument `{name}`, which this use does not bind", f.display),
                        format!("write it as `{{fn: {}, args: {{{name}: ...}}}}`", f.display),
                    );
                }
            }
        }
    }
}

fn output_kind(s: &str) -> Option<Kind> {
    Some(match s {
        "int" => Kind::Int,
        "float" | "number" => Kind::Float,
        "str" => Kind::Str,
        "bool" => Kind::Bool,
        "list" => Kind::List,
        "map" => Kind::Map,
        _ => return None,
    })
}
