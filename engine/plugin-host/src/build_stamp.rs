//! Knowing, without running cargo, that a plugin crate's `.wasm` is up to date.
//!
//! Even when nothing changed, `cargo build` costs 0.2–0.5 s of wall time (it loads the workspace,
//! resolves it and fingerprints every unit), which is most of a short `engine run` (chat: 0.25 s
//! against 0.01 s with a prebuilt module) and shows in every benchmark's CPU column. After each
//! successful build the engine writes a *stamp*: the module's size and modification time, when the
//! build started, the build-relevant environment, and every input of the build — the source files
//! cargo's dep-info (`.d`) lists for the module (the crate's and its path dependencies'; registry
//! sources never change) plus the manifests, lock file and configuration that can change a build
//! without touching a source. The next run skips cargo when the stamp still holds: the same
//! environment, the module untouched, and every input older than the build's start, as cargo's own
//! mtime check does (a file edited while the build ran is newer than its start, so it rebuilds).
//!
//! What it does not see, and cargo would: a new toolchain installed under the same name (`rustup
//! update`; the module is then one compiled by the previous compiler, still valid), and what a
//! plugin's own build script watches beyond its sources (`rerun-if-env-changed` of other
//! variables). Touch the crate's `Cargo.toml` to rebuild. Any doubt (no stamp, an unreadable
//! input) means running cargo.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Stamps are small; a larger file is not one of ours.
const MAX_STAMP_BYTES: u64 = 4 << 20;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct Stamp {
    wasm: PathBuf,
    wasm_len: u64,
    wasm_mtime_ns: u128,
    /// When cargo was started for the build this stamp describes.
    started_ns: u128,
    env: Vec<(String, String)>,
    inputs: Vec<PathBuf>,
}

/// Variables that can change what cargo builds: its own (`CARGO_*`: profiles, flags, target
/// settings) and the compiler's (`RUSTFLAGS`, `RUSTC`, `RUSTC_WRAPPER`, `RUSTUP_TOOLCHAIN`, ...).
/// Logging and backtrace settings do not.
pub(crate) fn build_env() -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.starts_with("CARGO_") || (k.starts_with("RUST") && k != "RUST_LOG" && k != "RUST_BACKTRACE"))
        .collect();
    env.sort();
    env
}

pub(crate) fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

fn mtime_ns(path: &Path) -> Option<(u64, u128)> {
    let m = std::fs::metadata(path).ok()?;
    let t = m.modified().ok()?.duration_since(UNIX_EPOCH).ok()?.as_nanos();
    Some((m.len(), t))
}

/// Where the stamp of the crate whose manifest is `manifest` lives, under the build's target dir.
pub(crate) fn path(target_dir: &Path, manifest: &Path) -> PathBuf {
    let canonical = manifest.canonicalize().unwrap_or_else(|_| manifest.to_path_buf());
    let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
    let name: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    target_dir.join("distroduce-stamps").join(format!("{name}.json"))
}

/// The module the stamp at `stamp` vouches for, if it still holds.
pub(crate) fn fresh(stamp: &Path) -> Option<PathBuf> {
    let bytes = distroduce_model::files::read_capped(stamp, MAX_STAMP_BYTES).ok()?;
    let s: Stamp = serde_json::from_slice(&bytes).ok()?;
    if s.env != build_env() || mtime_ns(&s.wasm)? != (s.wasm_len, s.wasm_mtime_ns) || s.inputs.is_empty() {
        return None;
    }
    for input in &s.inputs {
        if mtime_ns(input)?.1 >= s.started_ns {
            return None;
        }
    }
    Some(s.wasm)
}

/// Record that `wasm` was built from `manifest`'s crate by a cargo started at `started_ns`. A
/// stamp that cannot be written only costs the next run a cargo check.
pub(crate) fn record(stamp: &Path, manifest: &Path, workspace: &Path, wasm: &Path, started_ns: u128) {
    let Some(s) = describe(manifest, workspace, wasm, started_ns) else {
        return;
    };
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(stamp.parent().unwrap_or(Path::new(".")))?;
        // Written aside and renamed: runs building the same crate at once never read half a stamp.
        let tmp = stamp.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, serde_json::to_vec(&s).map_err(std::io::Error::other)?)?;
        std::fs::rename(&tmp, stamp)
    };
    if let Err(e) = write() {
        tracing::debug!("cannot write the build stamp {}: {e}", stamp.display());
    }
}

fn describe(manifest: &Path, workspace: &Path, wasm: &Path, started_ns: u128) -> Option<Stamp> {
    let (wasm_len, wasm_mtime_ns) = mtime_ns(wasm)?;
    let depinfo = std::fs::read_to_string(wasm.with_extension("d")).ok()?;
    let sources = depinfo_sources(&depinfo)?;
    let mut inputs: Vec<PathBuf> = Vec::new();
    // The manifest of every package a source belongs to: a dependency or feature can change
    // there without any source changing.
    for src in &sources {
        if let Some(m) = src.ancestors().skip(1).map(|d| d.join("Cargo.toml")).find(|m| m.is_file()) {
            inputs.push(m);
        }
    }
    inputs.push(manifest.to_path_buf());
    for extra in
        ["Cargo.toml", "Cargo.lock", ".cargo/config.toml", ".cargo/config", "rust-toolchain.toml", "rust-toolchain"]
    {
        let p = workspace.join(extra);
        if p.is_file() {
            inputs.push(p);
        }
    }
    inputs.extend(sources);
    inputs.sort();
    inputs.dedup();
    Some(Stamp { wasm: wasm.to_path_buf(), wasm_len, wasm_mtime_ns, started_ns, env: build_env(), inputs })
}

/// The prerequisites of a one-rule Makefile dep-info file (`target: a.rs b\ c.rs`), as cargo
/// writes it. `None` if it is not one.
fn depinfo_sources(depinfo: &str) -> Option<Vec<PathBuf>> {
    let line = depinfo.lines().find(|l| !l.trim().is_empty())?;
    // The target ends at the first unescaped `: ` (paths may hold an escaped space).
    let mut deps = None;
    let bytes = line.as_bytes();
    for i in 0..bytes.len() {
        if bytes[i] == b':' && bytes.get(i + 1).is_none_or(|&c| c == b' ') && (i == 0 || bytes[i - 1] != b'\\') {
            deps = Some(&line[i + 1..]);
            break;
        }
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = deps?.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some() => cur.push(chars.next()?),
            ' ' => {
                if !cur.is_empty() {
                    out.push(PathBuf::from(std::mem::take(&mut cur)));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(PathBuf::from(cur));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn dir(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("distroduce-stamp-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("ws/plug/src")).unwrap();
        Dir(d)
    }

    /// A workspace with one crate, a "built" module with its dep-info, and the stamp of a build
    /// started before the module was written.
    fn built(d: &Path) -> (PathBuf, PathBuf) {
        let ws = d.join("ws");
        std::fs::write(ws.join("Cargo.toml"), "[workspace]\n").unwrap();
        std::fs::write(ws.join("plug/Cargo.toml"), "[package]\n").unwrap();
        std::fs::write(ws.join("plug/src/my lib.rs"), "//").unwrap();
        let started = now_ns();
        std::thread::sleep(Duration::from_millis(20));
        let wasm = ws.join("plug.wasm");
        std::fs::write(&wasm, b"\0asm").unwrap();
        let src = ws.join("plug/src/my lib.rs").display().to_string().replace(' ', "\\ ");
        std::fs::write(wasm.with_extension("d"), format!("{}: {src}\n", wasm.display())).unwrap();
        let stamp = path(&d.join("target"), &ws.join("plug/Cargo.toml"));
        record(&stamp, &ws.join("plug/Cargo.toml"), &ws, &wasm, started);
        (stamp, wasm)
    }

    #[test]
    fn an_untouched_build_is_fresh() {
        let d = dir("fresh");
        let (stamp, wasm) = built(&d.0);
        assert_eq!(fresh(&stamp), Some(wasm));
        let s: Stamp = serde_json::from_slice(&std::fs::read(&stamp).unwrap()).unwrap();
        let names: Vec<String> = s.inputs.iter().map(|p| p.strip_prefix(&d.0).unwrap().display().to_string()).collect();
        assert_eq!(names, ["ws/Cargo.toml", "ws/plug/Cargo.toml", "ws/plug/src/my lib.rs"]);
    }

    #[test]
    fn an_edited_source_or_manifest_or_a_replaced_module_is_not() {
        for touched in ["plug/src/my lib.rs", "plug/Cargo.toml", "Cargo.toml", "plug.wasm"] {
            let d = dir(&format!("stale-{}", touched.len()));
            let (stamp, _) = built(&d.0);
            std::thread::sleep(Duration::from_millis(20));
            std::fs::write(d.0.join("ws").join(touched), "changed").unwrap();
            assert_eq!(fresh(&stamp), None, "{touched} changed after the build");
        }
    }

    #[test]
    fn a_missing_input_or_a_broken_stamp_is_not() {
        let d = dir("missing");
        let (stamp, _) = built(&d.0);
        std::fs::remove_file(d.0.join("ws/plug/src/my lib.rs")).unwrap();
        assert_eq!(fresh(&stamp), None);
        std::fs::write(&stamp, "{not json").unwrap();
        assert_eq!(fresh(&stamp), None);
        assert_eq!(fresh(&d.0.join("no-such-stamp.json")), None);
    }

    #[test]
    fn dep_info_paths_keep_their_escaped_spaces() {
        let got = depinfo_sources("/t/a\\ b.wasm: /s/x.rs /s/y\\ z.rs\n").unwrap();
        assert_eq!(got, [PathBuf::from("/s/x.rs"), PathBuf::from("/s/y z.rs")]);
        assert_eq!(depinfo_sources("no rule here"), None);
    }
}
