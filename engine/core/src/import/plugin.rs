//! The imported model's plugin: `DIR/plugin/app.py` (componentize-py's entry module, registering
//! the model's functions through `distroduce.cadcad`), a copy of the Python SDK and of
//! scripts/setup-python-wasm (embedded, so that the binary works outside a checkout), and a
//! `build` script that the engine runs once and the user runs again after editing a function.

use super::introspect::Model;
use super::ImportError;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The SDK files the plugin needs, as the Python template's MANIFEST lists them.
const SDK: &[(&str, &str)] = &[
    ("sdk/distroduce/__init__.py", include_str!("../../../../plugin-sdk/python/distroduce/__init__.py")),
    ("sdk/distroduce/cadcad.py", include_str!("../../../../plugin-sdk/python/distroduce/cadcad.py")),
    ("sdk/distroduce/component.py", include_str!("../../../../plugin-sdk/python/distroduce/component.py")),
    ("sdk/distroduce/msgpack.py", include_str!("../../../../plugin-sdk/python/distroduce/msgpack.py")),
    ("sdk/distroduce/plugin.py", include_str!("../../../../plugin-sdk/python/distroduce/plugin.py")),
    ("sdk/distroduce/time.py", include_str!("../../../../plugin-sdk/python/distroduce/time.py")),
    ("sdk/wit/distroduce.wit", include_str!("../../../../plugin-sdk/wit/distroduce.wit")),
];
const SETUP: &str = include_str!("../../../../scripts/setup-python-wasm");

/// Write the plugin directory; returns its build script.
pub fn write(
    dir: &Path,
    name: &str,
    root: &Path,
    module: &str,
    source: &Path,
    m: &Model,
) -> Result<PathBuf, ImportError> {
    for (rel, text) in SDK {
        put(&dir.join(rel), text, false)?;
    }
    put(&dir.join("tools/setup-python-wasm"), SETUP, true)?;
    put(&dir.join("app.py"), &app_py(source, m), false)?;
    let script = dir.join("build");
    put(&script, &build_sh(name, root, module), true)?;
    Ok(script)
}

/// Run the build script; returns the component.
pub fn build(script: &Path) -> Result<PathBuf, ImportError> {
    let out = Command::new("bash")
        .arg(script)
        .output()
        .map_err(|e| ImportError::Build { script: script.to_path_buf(), output: format!("cannot run bash: {e}") })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let wasm = stdout.lines().last().map(|l| PathBuf::from(l.trim()));
    match wasm {
        Some(w) if out.status.success() && w.is_file() => Ok(w),
        _ => Err(ImportError::Build {
            script: script.to_path_buf(),
            // componentize-py follows the Python traceback with its own Rust backtrace: drop that.
            output: tail(
                String::from_utf8_lossy(&out.stderr).split("\nStack backtrace:").next().unwrap_or("").trim_end(),
                40,
            ),
        }),
    }
}

fn app_py(source: &Path, m: &Model) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\"\"\"The cadCAD model {}, as a distroduce plugin (written by `engine import cadcad`).\n\n\
         Every function of its partial_state_update_blocks is registered, unchanged, under the name\n\
         scenario.yaml uses (`model.<name>`); distroduce.cadcad calls it with cadCAD's arguments.\n\
         Rebuild with ./build after changing a function.\n\"\"\"",
        source.display()
    );
    s.push_str("from distroduce import cadcad\nfrom distroduce.component import WitWorld  # noqa: F401  (the component's exports)\n\n");
    let _ = writeln!(s, "import {}", m.module);
    let mut imports: Vec<&str> = m.functions.iter().filter_map(|f| f.import.as_deref()).collect();
    imports.sort_unstable();
    imports.dedup();
    for i in imports.into_iter().filter(|i| *i != m.module) {
        let _ = writeln!(s, "import {i}");
    }
    let _ = writeln!(s, "\n_blocks = {}\n", m.blocks_expr);
    for f in &m.functions {
        let at = f.at.as_deref().map(|a| format!("  # {a}")).unwrap_or_default();
        let _ = writeln!(s, "cadcad.{}({}, {}, {}){at}", f.kind, f.expr, py_str(&f.export), py_str(&f.label));
    }
    s
}

fn build_sh(name: &str, root: &Path, module: &str) -> String {
    let root = shell_quote(&root.display().to_string());
    format!(
        r#"#!/usr/bin/env bash
# Builds the model's functions into {name}.wasm (next to this script): a WebAssembly component
# with CPython inside (componentize-py), the SDK in sdk/ and the model's own module `{module}`,
# read from {root}. Written by `engine import cadcad`; run it again after changing a function.
# componentize-py comes from a venv made by tools/setup-python-wasm (pinned, from PyPI, once):
# $DISTRODUCE_PY_WASM_VENV, default ~/.cache/distroduce/py-wasm-venv.
set -euo pipefail
here="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
cd "$here"
export DISTRODUCE_PY_WASM_VENV="${{DISTRODUCE_PY_WASM_VENV:-${{XDG_CACHE_HOME:-$HOME/.cache}}/distroduce/py-wasm-venv}}"
venv="$(tools/setup-python-wasm)"
PYTHONDONTWRITEBYTECODE=1 "$venv/bin/componentize-py" -d sdk/wit -w plugin \
  componentize app -p . -p sdk -p {root} -o {name}.wasm.tmp >&2
mv {name}.wasm.tmp {name}.wasm
echo "$here/{name}.wasm"
"#
    )
}

/// A Python string literal (JSON's escapes are Python's).
fn py_str(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn put(path: &Path, text: &str, exec: bool) -> Result<(), ImportError> {
    distroduce_model::layout::write_file(path, text.as_bytes(), exec)
        .map_err(|source| ImportError::Io { path: path.to_path_buf(), source })
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
