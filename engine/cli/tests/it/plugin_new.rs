//! `engine plugin new --lang L NAME` gives a project that builds and passes its own `./test`
//! (ABI check, two seeded runs that agree, a check of the records) in every language, and refuses
//! bad names, unknown languages and non-empty directories.

use crate::common::*;
use std::process::Command;

/// Scaffold a project in a temporary directory (kept until the test ends) and run its ./test.
fn scaffold_and_test(lang: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("my-{lang}-model");
    let o = engine(&["plugin", "new", "--lang", lang, &name, "--dir", dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{lang}: {}", stderr(&o));
    let project = dir.path().join(&name);
    // No ENGINE and no `engine` on PATH: ./test must find the engine that created the project.
    let t = Command::new(project.join("test"))
        .current_dir(&project)
        .env_remove("ENGINE")
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:".to_string() + &std::env::var("PATH").unwrap_or_default())
        // Rust: reuse the plugins' compiled dependencies instead of a cold build per test.
        .env("CARGO_TARGET_DIR", repo().join("target/wasm"))
        // Python: reuse the componentize-py venv of scripts/build-plugins instead of a new one.
        .env("DISTRODUCE_PY_WASM_VENV", repo().join("target/py-wasm-venv"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&t.stdout);
    assert!(t.status.success(), "{lang}: ./test failed\n{out}\n{}", String::from_utf8_lossy(&t.stderr));
    assert!(out.contains("test: ok"), "{lang}: {out}");
    (dir, project)
}

#[test]
fn rust_project_builds_and_passes_its_test() {
    let (_dir, project) = scaffold_and_test("rust");
    // The project carries its SDK: nothing points back into this checkout.
    let manifest = read(&project.join("Cargo.toml"));
    assert!(!manifest.contains(repo().to_str().unwrap()), "{manifest}");
    assert!(project.join("sdk/distroduce-sdk/src/lib.rs").is_file());
}

#[test]
fn go_project_builds_and_passes_its_test() {
    scaffold_and_test("go");
}

#[test]
fn assemblyscript_project_builds_and_passes_its_test() {
    scaffold_and_test("assemblyscript");
}

#[test]
fn c_project_builds_and_passes_its_test() {
    scaffold_and_test("c");
}

#[test]
fn python_project_builds_and_passes_its_test() {
    scaffold_and_test("python");
}

#[test]
fn bad_requests_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let o = engine(&["plugin", "new", "--lang", "cobol", "x", "--dir", d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown language `cobol`") && stderr(&o).contains("rust"), "{}", stderr(&o));
    let o = engine(&["plugin", "new", "--lang", "c", "Bad Name", "--dir", d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is not a plugin name"), "{}", stderr(&o));
    std::fs::create_dir(dir.path().join("taken")).unwrap();
    std::fs::write(dir.path().join("taken/keep.txt"), "mine").unwrap();
    let o = engine(&["plugin", "new", "--lang", "c", "taken", "--dir", d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(read(&dir.path().join("taken/keep.txt")), "mine", "an existing project must not be touched");
}
