//! Shared helpers for the engine's integration tests: scenario files in temp dirs, prebuilt plugin
//! paths (scripts/build-plugins builds them; scripts/test runs it first) and running the CLI.
#![allow(dead_code)]

pub mod kafka;

use std::path::{Path, PathBuf};
use std::process::Output;

pub fn repo() -> PathBuf {
    // engine/cli -> the repository root.
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A Rust plugin of plugins/, built for wasm into target/wasm as scripts/build-plugins does. A
/// plain `cargo test` builds the missing ones once (scripts/test has built them all already).
pub fn plugin(name: &str) -> String {
    let target = if name == "wasi_probe_plugin" { "wasm32-wasip1" } else { "wasm32-unknown-unknown" };
    let p = repo().join("target/wasm").join(target).join("release").join(format!("{name}.wasm"));
    if !p.is_file() {
        build_rust_plugins();
    }
    assert!(p.is_file(), "{} is missing: run scripts/build-plugins (scripts/test does)", p.display());
    p.display().to_string()
}

/// `scripts/build-plugins` without the other languages, once per test process.
fn build_rust_plugins() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let status = std::process::Command::new(repo().join("scripts/build-plugins"))
            .env("DISTRODUCE_SKIP_LANGS", "1")
            .stdout(std::process::Stdio::null())
            .status()
            .expect("scripts/build-plugins runs");
        assert!(status.success(), "scripts/build-plugins failed");
    });
}

/// Write `yaml` as `<dir>/scenario.yaml` and return its path.
pub fn scenario(dir: &Path, yaml: &str) -> PathBuf {
    let p = dir.join("scenario.yaml");
    std::fs::write(&p, yaml).unwrap();
    p
}

/// Run the `engine` binary.
pub fn engine(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_engine")).args(args).output().expect("engine binary runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The chat model ported to another language (`go`, `as`, `c`, `py`), built by
/// scripts/build-plugins into target/wasm/lang.
pub fn lang_plugin(lang: &str) -> String {
    let p = repo().join("target/wasm/lang").join(format!("chat_{lang}.wasm"));
    assert!(p.is_file(), "{} is missing: run scripts/build-plugins first (scripts/test does)", p.display());
    p.display().to_string()
}

/// Wait for a child started with `process_group(0)`; past `limit`, kill its whole group (JVMs and
/// the interpreters they start) and return None.
pub fn wait_or_kill_group(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> Option<std::process::ExitStatus> {
    let started = std::time::Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        if started.elapsed() > limit {
            let _ = std::process::Command::new("kill").args(["-KILL", &format!("-{}", child.id())]).status();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
