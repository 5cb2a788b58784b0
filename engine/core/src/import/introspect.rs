//! Reading a cadCAD model by importing it with the host's CPython and the embedded
//! `introspect.py`, which prints one JSON object after a marker line (the model may print too).

use super::ImportError;
use serde::Deserialize;
use serde_json::Value as Json;
use std::fmt;
use std::path::Path;
use std::process::Command;

/// The script, embedded so that the binary works anywhere.
const SCRIPT: &str = include_str!("introspect.py");
const MARKER: &str = "@@distroduce-import@@";

/// What the introspection found.
#[derive(Debug, Clone, Deserialize)]
pub struct Model {
    /// The module the plugin imports.
    pub module: String,
    /// The expression reaching `partial_state_update_blocks` from the module (for functions
    /// without a name of their own: lambdas, closures, partials).
    pub blocks_expr: String,
    pub initial_state: serde_json::Map<String, Json>,
    pub params: serde_json::Map<String, Json>,
    /// `sim_config`'s N and T, when the module has one.
    pub runs: Option<u64>,
    pub timesteps: Option<u64>,
    /// Some function reads its `sH` argument.
    pub history: bool,
    pub blocks: Vec<Block>,
    /// Every distinct function, once, in first-use order.
    pub functions: Vec<ModelFunction>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Block {
    pub policies: Vec<PolicyUse>,
    pub variables: Vec<UpdateUse>,
}

/// A policy of a block: its key in cadCAD's `policies` dict, and the plugin function.
#[derive(Debug, Clone, Deserialize)]
pub struct PolicyUse {
    pub key: String,
    pub export: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UpdateUse {
    pub variable: String,
    pub export: String,
}

/// One of the model's functions, as the plugin registers it.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelFunction {
    /// The plugin function's name (the scenario's `model.<export>`).
    pub export: String,
    /// `policy` or `state_update`.
    pub kind: String,
    /// Python expression for the function in `app.py`.
    pub expr: String,
    /// A module `app.py` must import for `expr` (a module of the model's package).
    pub import: Option<String>,
    /// How people call it: `model.p_births`, `model.robot_policy.<locals>.policy`.
    pub label: String,
    /// `file:line` of its definition.
    pub at: Option<String>,
    pub reads_history: bool,
}

/// Something in the model that engine import cannot carry over.
#[derive(Debug, Clone, Deserialize)]
pub struct Problem {
    pub what: String,
    #[serde(default)]
    pub hint: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.what)?;
        if !self.hint.is_empty() {
            write!(f, "\n  hint: {}", self.hint)?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct Output {
    #[serde(default)]
    problems: Vec<Problem>,
    #[serde(flatten)]
    rest: serde_json::Map<String, Json>,
}

/// Import `module` from `root` with `python` and read what it holds.
pub fn run(python: &str, root: &Path, module: &str, shown_as: &Path) -> Result<Model, ImportError> {
    let out = Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .arg(root)
        .arg(module)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .map_err(|source| ImportError::Python { python: python.to_string(), source })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let model = shown_as.display().to_string();
    let no_result =
        || ImportError::Introspection { model: model.clone(), python: python.to_string(), stderr: tail(&stderr, 30) };
    let json = stdout.rsplit_once(MARKER).map(|(_, j)| j.trim()).ok_or_else(no_result)?;
    let parsed: Output = serde_json::from_str(json).map_err(|_| no_result())?;
    if !parsed.problems.is_empty() {
        return Err(ImportError::Model { model, problems: parsed.problems });
    }
    serde_json::from_value(Json::Object(parsed.rest)).map_err(|e| ImportError::Model {
        model,
        problems: vec![Problem { what: format!("unexpected introspection result: {e}"), hint: String::new() }],
    })
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
