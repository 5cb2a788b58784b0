//! Plugins declared as `crate:` are built by the engine with cargo, so that `engine run` on a fresh
//! checkout needs no separate build step. A repeat run whose build inputs are unchanged does not
//! run cargo at all ([`super::build_stamp`]).

use super::build_stamp;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Build the plugin crate at `dir` for `wasm32-unknown-unknown` and return the `.wasm` path.
///
/// Builds go to `target/wasm` of the crate's workspace (a directory of their own, so a build started
/// from inside `cargo test` never waits on the test's own build lock).
pub fn build_crate(dir: &Path) -> Result<PathBuf, String> {
    let manifest = dir.join("Cargo.toml");
    let workspace = workspace_root(dir);
    let target_dir = workspace.join("target").join("wasm");
    let stamp = build_stamp::path(&target_dir, &manifest);
    if let Some(wasm) = build_stamp::fresh(&stamp) {
        tracing::debug!("{} is up to date with its sources; cargo not run", wasm.display());
        return Ok(wasm);
    }
    let started = build_stamp::now_ns();
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "--message-format=json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .output()
        .map_err(|e| format!("cannot run cargo to build {}: {e}", dir.display()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let hint = if stderr.contains("wasm32-unknown-unknown") && stderr.contains("target may not be installed") {
            "\n  hint: run `rustup target add wasm32-unknown-unknown` (scripts/build-plugins does this)"
        } else {
            ""
        };
        return Err(format!("cargo build of {} failed:\n{}{hint}", dir.display(), tail(&stderr, 30)));
    }
    // The last compiler-artifact message with a .wasm file is the plugin itself.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let wasm = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && same_file(m["manifest_path"].as_str(), &manifest))
        .flat_map(|m| m["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(PathBuf::from))
        .rfind(|p| p.extension().is_some_and(|e| e == "wasm"));
    let wasm =
        wasm.ok_or_else(|| format!("cargo built {} but produced no .wasm; is it a `cdylib` crate?", dir.display()))?;
    build_stamp::record(&stamp, &manifest, &workspace, &wasm, started);
    Ok(wasm)
}

fn same_file(a: Option<&str>, b: &Path) -> bool {
    match (a.map(Path::new).and_then(|p| p.canonicalize().ok()), b.canonicalize().ok()) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// The nearest ancestor with a `[workspace]` manifest, or the crate itself.
fn workspace_root(dir: &Path) -> PathBuf {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    dir.ancestors()
        .find(|a| std::fs::read_to_string(a.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]")))
        .unwrap_or(&dir)
        .to_path_buf()
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
