//! `engine import cadcad`: turn an existing cadCAD model (Python) into a scenario and a Python
//! plugin that calls the model's own functions, unchanged.
//!
//! The model is read by running it: a host CPython imports the module with an introspection script
//! embedded in this crate ([`introspect`]), which prints its `initial_state`, `params`, blocks and
//! functions as JSON. From that, [`scenario`] writes `DIR/scenario.yaml` and [`plugin`] writes
//! `DIR/plugin/` (an `app.py` registering every function through the SDK's `distroduce.cadcad`
//! adapters, a copy of the Python SDK, and a `build` script) and builds the component with
//! componentize-py, so that `engine run DIR/scenario.yaml` needs nothing else. Reading the model by
//! running it, not by parsing it, is what lets closures, lambdas and sweeps built by code work:
//! the plugin re-imports the same module and reaches every function the way the model does.

mod introspect;
mod plugin;
mod scenario;

pub use introspect::{Model, ModelFunction, Problem};

use std::path::{Path, PathBuf};
use thiserror::Error;

/// What to import and where to.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// A `.py` file, or a directory holding `model.py` or a package (`__init__.py`).
    pub path: PathBuf,
    /// Output directory (default: `distroduce-<name>` in the current directory).
    pub out: Option<PathBuf>,
    /// Monte Carlo runs (default: the model's `sim_config` N, else 1).
    pub runs: Option<u64>,
    /// Timesteps (default: the model's `sim_config` T, else 100).
    pub timesteps: Option<u64>,
    /// The host Python that imports the model (default: `$VIRTUAL_ENV/bin/python`, else `python3`).
    pub python: Option<PathBuf>,
    /// Overwrite an existing `DIR/scenario.yaml`.
    pub force: bool,
    /// Build the component (otherwise only the files are written; `DIR/plugin/build` builds it).
    pub build: bool,
    /// How long importing the model may take: its module-level code runs, and a model that
    /// starts its simulation (or waits for input) there would otherwise hold the import forever.
    pub read_timeout: std::time::Duration,
}

impl ImportRequest {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            out: None,
            runs: None,
            timesteps: None,
            python: None,
            force: false,
            build: true,
            read_timeout: std::time::Duration::from_secs(120),
        }
    }
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Imported {
    pub dir: PathBuf,
    pub scenario: PathBuf,
    /// The component, when built.
    pub wasm: Option<PathBuf>,
    /// Things the user should know (defaults taken, history enabled, ...).
    pub notes: Vec<String>,
}

/// Why an import failed. [`ImportError::is_bad_input`] separates the model's problems from the
/// machine's.
#[derive(Debug, Error)]
pub enum ImportError {
    #[error("{0} does not exist")]
    NotFound(PathBuf),
    #[error("{0} holds neither model.py nor a Python package (__init__.py)")]
    NoModel(PathBuf),
    #[error("the model's module is called `{0}`, which the plugin needs for itself")]
    ReservedName(String),
    #[error("cannot run the Python interpreter `{python}`: {source}")]
    Python { python: String, source: std::io::Error },
    #[error("{model} cannot be imported as it is:{}", problems.iter().map(|p| format!("\n  - {}", p.to_string().replace('\n', "\n    "))).collect::<String>())]
    Model { model: String, problems: Vec<Problem> },
    #[error("importing {model} with `{python}` did not finish within {} s; it was stopped{}", secs.as_secs(), if stderr.is_empty() { String::new() } else { format!(". Its last output:\n{stderr}") })]
    Timeout { model: String, python: String, secs: std::time::Duration, stderr: String },
    #[error("importing {model}: a process it started still held the import's output open after {} s", secs.as_secs())]
    HeldOpen { model: String, secs: std::time::Duration },
    #[error("importing {model} printed more than {} MiB to standard output; it was stopped", limit >> 20)]
    Chatty { model: String, limit: usize },
    #[error("introspecting {model} with `{python}` gave no result:\n{stderr}")]
    Introspection { model: String, python: String, stderr: String },
    #[error("{0} already exists (from an earlier import?); --force overwrites it")]
    Exists(PathBuf),
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("building the plugin failed ({script}):\n{output}")]
    Build { script: PathBuf, output: String },
}

impl ImportError {
    /// The model or the arguments are wrong (exit code 2), as opposed to the machine (1).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, ImportError::Io { .. } | ImportError::Introspection { .. })
    }

    /// What to do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            ImportError::NoModel(_) => Some("give the model's .py file, or the package directory".into()),
            ImportError::ReservedName(_) => Some("rename the module (app, distroduce and wit_world are taken)".into()),
            ImportError::Python { .. } => Some("choose the interpreter with --python".into()),
            ImportError::Timeout { .. } => Some(
                "a model that runs its simulation when imported should do so under `if __name__ == \"__main__\":`; --read-timeout SECS allows a slower import".into(),
            ),
            ImportError::HeldOpen { .. } => Some(
                "start background processes under `if __name__ == \"__main__\":`, not when the module is imported".into(),
            ),
            ImportError::Chatty { .. } => {
                Some("print less at import time (module-level code), or under `if __name__ == \"__main__\":`".into())
            }
            ImportError::Build { .. } => Some(
                "a module that imports fine on the host can still fail inside the component (no C extensions, no files, no network): docs/coming-from-cadcad.md lists what runs there".into(),
            ),
            _ => None,
        }
    }
}

/// Import the model at `req.path`: write the scenario and the plugin, and build the plugin.
pub fn cadcad(req: &ImportRequest) -> Result<Imported, ImportError> {
    let (root, module) = locate(&req.path)?;
    if matches!(module.as_str(), "app" | "distroduce" | "wit_world") {
        return Err(ImportError::ReservedName(module));
    }
    let python = req.python.clone().map_or_else(default_python, |p| p.display().to_string());
    let model = introspect::run(&python, &root, &module, &req.path, req.read_timeout)?;
    let name = scenario_name(&root, &module);
    let dir = req.out.clone().unwrap_or_else(|| PathBuf::from(format!("distroduce-{name}")));
    let scenario_path = dir.join("scenario.yaml");
    if scenario_path.exists() && !req.force {
        return Err(ImportError::Exists(scenario_path));
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ImportError::Io { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;

    let mut notes = Vec::new();
    let runs = req.runs.or(model.runs).unwrap_or_else(|| {
        notes.push("the model has no sim_config: runs: 1 (change it in scenario.yaml or with --runs)".into());
        1
    });
    let timesteps = req.timesteps.or(model.timesteps).unwrap_or_else(|| {
        notes.push(
            "the model has no sim_config: timesteps: 100 (change it in scenario.yaml or with --timesteps)".into(),
        );
        100
    });
    if model.history {
        let readers: Vec<&str> = model.functions.iter().filter(|f| f.reads_history).map(|f| f.label.as_str()).collect();
        notes.push(format!(
            "history: true, because {} read(s) state_history (sH); it costs time and memory in proportion to the run",
            readers.join(", ")
        ));
    }
    let wasm_rel = format!("plugin/{name}.wasm");
    let source = req.path.canonicalize().unwrap_or_else(|_| req.path.clone());
    let text =
        scenario::render(&scenario::Inputs { name: &name, source: &source, runs, timesteps, wasm: &wasm_rel }, &model);
    let script = plugin::write(&dir.join("plugin"), &name, &root, &module, &source, &model)?;
    let wasm = if req.build { Some(plugin::build(&script)?) } else { None };
    // Last, so that a failed build leaves no scenario behind and the import can simply be retried.
    std::fs::write(&scenario_path, text).map_err(io(&scenario_path))?;
    Ok(Imported { dir, scenario: scenario_path, wasm, notes })
}

/// The directory to put on `sys.path` and the module to import, from what the user named.
fn locate(path: &Path) -> Result<(PathBuf, String), ImportError> {
    let abs = path.canonicalize().map_err(|_| ImportError::NotFound(path.to_path_buf()))?;
    let stem = |p: &Path| p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let parent = |p: &Path| p.parent().map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    if abs.is_file() {
        if abs.file_name().is_some_and(|n| n == "__init__.py") {
            let pkg = parent(&abs);
            return Ok((parent(&pkg), dir_name(&pkg)));
        }
        return Ok((parent(&abs), stem(&abs)));
    }
    if abs.join("model.py").is_file() {
        return Ok((abs, "model".into()));
    }
    if abs.join("__init__.py").is_file() {
        return Ok((parent(&abs), dir_name(&abs)));
    }
    Err(ImportError::NoModel(path.to_path_buf()))
}

fn dir_name(p: &Path) -> String {
    p.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// `model` says nothing: name the scenario after the model's directory then.
fn scenario_name(root: &Path, module: &str) -> String {
    let raw = if module == "model" { dir_name(root) } else { module.to_string() };
    let clean: String =
        raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
    if clean.is_empty() {
        "model".into()
    } else {
        clean
    }
}

/// The active virtualenv's interpreter (where the model's own dependencies are), else `python3`.
fn default_python() -> String {
    std::env::var_os("VIRTUAL_ENV")
        .map(|v| PathBuf::from(v).join("bin").join("python"))
        .filter(|p| p.is_file())
        .map_or_else(|| "python3".into(), |p| p.display().to_string())
}
