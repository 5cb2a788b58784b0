//! `engine plugin check` and `engine plugin new`.

use crate::exit::Exit;
use crate::scaffold::{new_plugin, NewPlugin};
use std::path::Path;

pub fn check(file: &Path, json: bool) -> Exit {
    let r = distroduce::plugin_host::inspect::inspect(file);
    if json {
        match serde_json::to_string_pretty(&r) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: cannot encode the inspection as JSON: {e}");
                return Exit::Failed;
            }
        }
    } else {
        let container = if r.container == "component" { " (component)" } else { "" };
        println!(
            "{}: ABI version {}{container}",
            file.display(),
            r.abi_version.map_or("unknown".into(), |v| v.to_string())
        );
        for f in &r.functions {
            let d = f.describe.as_ref();
            let get = |k: &str| {
                d.and_then(|d| d.get(k)).map_or("?".into(), |v| v.as_str().map_or(v.to_string(), String::from))
            };
            let reads = d.and_then(|d| d.get("reads")).map_or("?".into(), |v| v.to_string());
            let output = if get("kind") == "state_update" { get("output") } else { "-".into() };
            println!("  function {:<24} kind {:<13} output {output:<6} reads {reads}", f.name, get("kind"));
        }
        for i in &r.imports {
            println!("  import   {i}");
        }
    }
    for p in &r.problems {
        eprintln!("error: {}: {p}", file.display());
    }
    if r.problems.is_empty() {
        Exit::Ok
    } else {
        Exit::BadInput
    }
}

pub fn new(req: NewPlugin) -> Exit {
    match new_plugin(&req) {
        Ok((root, files)) => {
            println!("created {} ({} plugin, {} files)", root.display(), req.lang, files.len());
            println!("next:   cd {} && ./test", root.display());
            Exit::Ok
        }
        Err(e) => {
            eprintln!("error: plugin new: {e}");
            if let Some(h) = e.hint() {
                eprintln!("  hint: {h}");
            }
            Exit::BadInput
        }
    }
}
