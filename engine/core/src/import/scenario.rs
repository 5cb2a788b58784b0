//! `scenario.yaml` for an imported model: written as text, not serialized, so that it can carry
//! comments telling the user what each part came from and how to swap a function for Rust.
//! Values are written as JSON, which YAML reads as flow collections and scalars.

use super::introspect::Model;
use serde_json::Value as Json;
use std::fmt::Write as _;
use std::path::Path;

pub struct Inputs<'a> {
    pub name: &'a str,
    /// The model as the user named it (absolute).
    pub source: &'a Path,
    pub runs: u64,
    pub timesteps: u64,
    /// The component, relative to the scenario.
    pub wasm: &'a str,
}

/// The alias of the model's plugin in the scenario (`model.<function>`).
pub const ALIAS: &str = "model";

pub fn render(i: &Inputs, m: &Model) -> String {
    let mut y = String::new();
    let src = i.source.display();
    let _ = writeln!(y, "# The cadCAD model {src}, imported by `engine import cadcad`.");
    y.push_str(
        "# Its functions run unchanged from the Python plugin plugin/ (app.py registers them); the\n\
         # state, params and blocks below were read from the model's own objects.\n\
         #   engine run scenario.yaml --kafka none          # records in out/<name>/records.jsonl\n\
         # After changing a function: plugin/build. After changing initial_state, params or the\n\
         # blocks: import again (--force overwrites this file).\n",
    );
    let _ = writeln!(y, "name: {}", key(i.name));
    let _ = writeln!(y, "{:<21}# cadCAD N", format!("runs: {}", i.runs));
    let _ = writeln!(y, "{:<21}# cadCAD T = range({})", format!("timesteps: {}", i.timesteps), i.timesteps);
    y.push_str("semantics: cadcad    # cadCAD 0.5.3's rules (run numbering, policy order, ...)\n");
    if m.history {
        let readers: Vec<&str> = m.functions.iter().filter(|f| f.reads_history).map(|f| f.label.as_str()).collect();
        let _ = writeln!(y, "history: true        # read by {}", readers.join(", "));
    } else {
        y.push_str("# history: true      # no function reads state_history (sH); enable it if one does\n");
    }
    if m.params.is_empty() {
        y.push_str("params: {}\n");
    } else {
        y.push_str("params:              # cadCAD's sweep lists, zipped as cadCAD does\n");
        write_map(&mut y, &m.params);
    }
    y.push_str("state:               # initial_state\n");
    write_map(&mut y, &m.initial_state);
    y.push_str("plugins:\n");
    y.push_str("  # The model's functions in a WebAssembly component (CPython inside, via componentize-py).\n");
    let _ = writeln!(y, "  {ALIAS}: {{wasm: {}}}", i.wasm);
    y.push_str("  # To run a hot function in Rust: `engine plugin new --lang rust fast`, write it there, add\n");
    y.push_str("  #   fast: {crate: fast}\n");
    y.push_str("  # here and point its use below at it (e.g. `fast.my_update` instead of `model.my_update`).\n");
    y.push_str("blocks:\n");
    for (bi, b) in m.blocks.iter().enumerate() {
        let _ = writeln!(y, "  # partial_state_update_blocks[{bi}]");
        let label = format!("block {bi}");
        let _ = writeln!(y, "  - name: {}", key(&label));
        if b.policies.is_empty() {
            y.push_str("    policies: []\n");
        } else {
            y.push_str("    policies:        # {fn: plugin.function, name: the key in cadCAD's policies dict}\n");
            for p in &b.policies {
                let _ =
                    writeln!(y, "      - {{fn: {ALIAS}.{}, name: {}}}{}", p.export, key(&p.key), origin(m, &p.export));
            }
        }
        if b.variables.is_empty() {
            y.push_str("    updates: {}\n");
        } else {
            y.push_str("    updates:\n");
            for u in &b.variables {
                let _ = writeln!(y, "      {}: {ALIAS}.{}{}", key(&u.variable), u.export, origin(m, &u.export));
            }
        }
    }
    y
}

/// `  # model.p_births` when the export's name differs from the function's own.
fn origin(m: &Model, export: &str) -> String {
    match m.functions.iter().find(|f| f.export == export) {
        Some(f) if !f.label.ends_with(&format!(".{export}")) => format!("   # {}", f.label),
        _ => String::new(),
    }
}

fn write_map(y: &mut String, map: &serde_json::Map<String, Json>) {
    for (k, v) in map {
        let _ = writeln!(y, "  {}: {}", key(k), flow(v));
    }
}

/// A value in YAML's flow style, spaced as people write it: `[1, 2]`, `{a: 1}`. Strings are
/// JSON-quoted, which YAML reads back unchanged.
fn flow(v: &Json) -> String {
    match v {
        Json::Array(a) => format!("[{}]", a.iter().map(flow).collect::<Vec<_>>().join(", ")),
        Json::Object(o) => {
            format!("{{{}}}", o.iter().map(|(k, v)| format!("{}: {}", key(k), flow(v))).collect::<Vec<_>>().join(", "))
        }
        other => serde_json::to_string(other).expect("JSON scalars serialize"),
    }
}

/// A mapping key or plain scalar: bare when YAML reads it back as the same string, else quoted.
fn key(k: &str) -> String {
    let plain = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !matches!(
            k.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | "nan" | "inf"
        );
    if plain {
        k.to_string()
    } else {
        serde_json::to_string(k).expect("strings serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_yaml_would_read_as_something_else_are_quoted() {
        assert_eq!(key("box_A"), "box_A");
        assert_eq!(key("yes"), "\"yes\"");
        assert_eq!(key("block 0"), "\"block 0\"");
        assert_eq!(key("1st"), "\"1st\"");
        assert_eq!(key("a: b"), "\"a: b\"");
    }

    #[test]
    fn the_scenario_parses_back_to_the_model() {
        let m: Model = serde_json::from_value(serde_json::json!({
            "module": "model", "blocks_expr": "model.partial_state_update_blocks",
            "initial_state": {"box_A": 10, "on": 0.5, "s": "x: y", "l": [1, {"k": null}]},
            "params": {"cap": [1, 2, 3], "rate": [1e-10]},
            "runs": null, "timesteps": null, "history": true,
            "blocks": [{"policies": [{"key": "robot 1", "export": "p_robot_1"}],
                        "variables": [{"variable": "box_A", "export": "s_box_A"}]},
                       {"policies": [], "variables": []}],
            "functions": [
                {"export": "p_robot_1", "kind": "policy", "expr": "x", "import": null,
                 "label": "model.robot.<locals>.policy", "at": null, "reads_history": true},
                {"export": "s_box_A", "kind": "state_update", "expr": "model.s_box_A", "import": null,
                 "label": "model.s_box_A", "at": null, "reads_history": false}]
        }))
        .unwrap();
        let text = render(
            &Inputs { name: "rm", source: Path::new("/m/model.py"), runs: 2, timesteps: 20, wasm: "plugin/rm.wasm" },
            &m,
        );
        let sc: distroduce_scenario::scenario::Scenario = serde_yaml::from_str(&text).expect(&text);
        assert_eq!((sc.runs, sc.timesteps, sc.name.as_str()), (2, 20, "rm"));
        assert_eq!(serde_json::to_value(&sc.state).unwrap(), Json::Object(m.initial_state.clone()));
        assert_eq!(serde_json::to_value(&sc.params).unwrap(), Json::Object(m.params.clone()));
        assert_eq!(sc.blocks[0].policies[0].name(), "robot 1");
        assert_eq!(sc.blocks[0].policies[0].target(), "model.p_robot_1");
        assert_eq!(sc.blocks[0].updates["box_A"].target(), "model.s_box_A");
        assert!(text.contains("# model.robot.<locals>.policy"), "{text}");
        assert!(text.contains("history: true"), "{text}");
    }
}
