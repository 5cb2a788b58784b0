//! A machine-wide cache of compiled plugins. Cranelift needs about 10 s for a Python component
//! (componentize-py bundles the interpreter, ~18 MB) and 0.15 s for a small Rust module, while
//! loading the serialized artifact takes milliseconds; so each plugin is compiled once per machine,
//! not once per run.
//!
//! Artifacts live in `$DISTRODUCE_WASM_CACHE` (`off` disables the cache), else
//! `$XDG_CACHE_HOME/distroduce/wasm`, else `~/.cache/distroduce/wasm`, named by the SHA-256 of the
//! plugin bytes and of wasmtime's compatibility hash (its version and every setting that affects
//! code), so a changed plugin or engine never reads a stale artifact. Writers put a temporary file
//! next to the final one and rename it, so concurrent runs never see half an artifact.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use wasmtime::component::Component;
use wasmtime::{Engine, Module};

/// The cache directory, or `None` when caching is off or no home is known.
pub fn dir() -> Option<PathBuf> {
    match std::env::var_os("DISTRODUCE_WASM_CACHE") {
        Some(v) if v == "off" || v == "0" || v.is_empty() => None,
        Some(v) => Some(PathBuf::from(v)),
        None => {
            let base = std::env::var_os("XDG_CACHE_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
            Some(base.join("distroduce").join("wasm"))
        }
    }
}

/// Feeds `Hash` output into SHA-256, to fold wasmtime's compatibility hash into the key.
struct ShaHasher(Sha256);
impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn key(engine: &Engine, kind: &str, bytes: &[u8]) -> String {
    let mut h = ShaHasher(Sha256::new());
    h.write(kind.as_bytes());
    engine.precompile_compatibility_hash().hash(&mut h);
    h.write(&Sha256::digest(bytes));
    h.0.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Compile with `compile` unless a cached artifact loads with `load`; store what was compiled.
fn cached<T>(
    engine: &Engine,
    kind: &str,
    bytes: &[u8],
    compile: impl FnOnce() -> wasmtime::Result<T>,
    load: impl FnOnce(&std::path::Path) -> wasmtime::Result<T>,
    serialize: impl FnOnce(&T) -> wasmtime::Result<Vec<u8>>,
) -> wasmtime::Result<T> {
    let Some(dir) = dir() else { return compile() };
    let path = dir.join(format!("{}.cwasm", key(engine, kind, bytes)));
    if path.exists() {
        match load(&path) {
            Ok(t) => return Ok(t),
            Err(e) => tracing::debug!("ignoring unreadable cached artifact {}: {e:#}", path.display()),
        }
    }
    let t = compile()?;
    // A cache that cannot be written only costs time: report it at debug level and go on.
    if let Err(e) = serialize(&t).map_err(|e| e.to_string()).and_then(|b| write_atomic(&path, &b)) {
        tracing::debug!("cannot cache the compiled plugin at {}: {e}", path.display());
    }
    Ok(t)
}

fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
    let dir = path.parent().ok_or("no parent directory")?;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let tmp = dir.join(format!(
        ".{}.{}.{nonce}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("x"),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        e.to_string()
    })
}

/// A core module, compiled or from the cache.
pub fn module(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Module> {
    cached(
        engine,
        "module",
        bytes,
        || Module::new(engine, bytes),
        // SAFETY: the file was written by `Module::serialize` of this same wasmtime (its name
        // includes the compatibility hash), in a directory only this user's runs write to;
        // wasmtime still checks the header and rejects artifacts of another version or config.
        |p| unsafe { Module::deserialize_file(engine, p) },
        |m| m.serialize(),
    )
}

/// A component, compiled or from the cache.
pub fn component(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
    cached(
        engine,
        "component",
        bytes,
        || Component::new(engine, bytes),
        // SAFETY: as for modules above.
        |p| unsafe { Component::deserialize_file(engine, p) },
        |c| c.serialize(),
    )
}

/// Whether `bytes` are a component rather than a core module: the binary header's version and
/// layer fields (`0d 00 01 00` for components, `01 00 00 00` for modules).
pub fn is_component(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[6..8] == [1, 0]
}
