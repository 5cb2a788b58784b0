//! Reading a cadCAD model by importing it with the host's CPython and the embedded
//! `introspect.py`, which prints one JSON object after a marker line (the model may print too).

use super::ImportError;
use serde::Deserialize;
use serde_json::Value as Json;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// The most the model and the script may print to standard output: the result is one JSON
/// object of the model's initial state, params and blocks; past this the model is printing
/// something else without end.
const STDOUT_LIMIT: usize = 256 << 20;
/// The end of standard error kept for the error message.
const STDERR_TAIL: usize = 64 << 10;

/// Import `module` from `root` with `python` and read what it holds, within `limit`.
pub fn run(python: &str, root: &Path, module: &str, shown_as: &Path, limit: Duration) -> Result<Model, ImportError> {
    let mut child = Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .arg(root)
        .arg(module)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| ImportError::Python { python: python.to_string(), source })?;
    // Both pipes are drained by threads so that a model printing much cannot stall on a full pipe;
    // the threads are not joined after a kill (a process the model started may hold a pipe open).
    let out = drain(child.stdout.take(), STDOUT_LIMIT, false);
    let err = drain(child.stderr.take(), STDERR_TAIL, true);
    let model = shown_as.display().to_string();
    let deadline = Instant::now() + limit;
    let stop = |child: &mut std::process::Child| {
        let _ = child.kill();
        let _ = child.wait();
    };
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if out.1.load(Ordering::Relaxed) => {
                stop(&mut child);
                return Err(ImportError::Chatty { model, limit: STDOUT_LIMIT });
            }
            Ok(None) if Instant::now() >= deadline => {
                stop(&mut child);
                let stderr = err
                    .0
                    .recv_timeout(Duration::from_millis(500))
                    .map(|e| tail(&String::from_utf8_lossy(&e), 30))
                    .unwrap_or_default();
                return Err(ImportError::Timeout { model, python: python.to_string(), secs: limit, stderr });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(source) => return Err(ImportError::Python { python: python.to_string(), source }),
        }
    }
    // The pipes end when the interpreter exits, unless a process the model started keeps them
    // open: wait for that no longer than the time left, as for the import itself.
    let left = || deadline.saturating_duration_since(Instant::now()).max(Duration::from_secs(1));
    let (stdout, stderr) = match (out.0.recv_timeout(left()), err.0.recv_timeout(left())) {
        (Ok(o), Ok(e)) => (o, String::from_utf8_lossy(&e).into_owned()),
        _ => return Err(ImportError::HeldOpen { model, secs: limit }),
    };
    if out.1.load(Ordering::Relaxed) {
        return Err(ImportError::Chatty { model, limit: STDOUT_LIMIT });
    }
    let stdout = String::from_utf8_lossy(&stdout);
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

/// Read `pipe` to its end on a thread: everything up to `limit` bytes (then the flag is set and
/// the rest is read and dropped), or with `keep_tail` the last `limit` bytes. The bytes arrive on
/// the channel at the end of the pipe; the flag is shared at once.
fn drain(
    pipe: Option<impl Read + Send + 'static>,
    limit: usize,
    keep_tail: bool,
) -> (Receiver<Vec<u8>>, Arc<AtomicBool>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let over = Arc::new(AtomicBool::new(false));
    let flag = over.clone();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = vec![0u8; 64 << 10];
        if let Some(mut pipe) = pipe {
            loop {
                let n = match pipe.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if keep_tail {
                    kept.extend_from_slice(&buf[..n]);
                    if kept.len() > 2 * limit {
                        kept.drain(..kept.len() - limit);
                    }
                } else if kept.len() + n <= limit {
                    kept.extend_from_slice(&buf[..n]);
                } else {
                    flag.store(true, Ordering::Relaxed);
                }
            }
        }
        let _ = tx.send(kept);
    });
    (rx, over)
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
