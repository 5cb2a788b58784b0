//! Python plugins, as components (ABI.md §9): the Python port of the chat model gives records and
//! messages byte-identical to the Rust chat plugin, and a Python exception's traceback reaches the
//! engine's error output.
//!
//! Builds the Python plugins with plugins/chat-py/build and componentize-py (set up by
//! scripts/setup-python-wasm, which needs PyPI the first time). Compiled components are cached in
//! target/wasm-cache, so only the first run pays Cranelift's ~10 s per component.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn cache_dir() -> PathBuf {
    repo().join("target").join("wasm-cache")
}

fn run_engine(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_engine"))
        .args(args)
        .env("DISTRODUCE_WASM_CACHE", cache_dir())
        .output()
        .expect("engine binary runs")
}

/// Build plugins/chat-py into `out` and return the component's path.
fn build_chat_py(out: &Path) -> PathBuf {
    let o = Command::new(repo().join("plugins/chat-py/build")).arg(out).output().expect("build script runs");
    assert!(o.status.success(), "plugins/chat-py/build failed:\n{}", String::from_utf8_lossy(&o.stderr));
    out.join("chat_py.wasm")
}

/// scenarios/chat.yaml with the chat plugin at `wasm` and the clock step `step`.
fn chat_scenario(dir: &Path, name: &str, wasm: &str, step: &str) -> PathBuf {
    let yaml = read(&repo().join("scenarios/chat.yaml"))
        .replace("chat: {crate: ../plugins/chat}", &format!("chat: {{wasm: {wasm}}}"))
        .replace("step: 0s}", &format!("step: {step}}}"));
    assert!(yaml.contains(wasm) && yaml.contains(step), "scenarios/chat.yaml changed shape");
    let p = dir.join(format!("{name}.yaml"));
    std::fs::write(&p, yaml).unwrap();
    p
}

#[test]
fn python_chat_matches_the_rust_chat_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let py = build_chat_py(dir.path());
    let rust = plugin("chat_plugin");
    let o = run_engine(&["plugin", "check", py.to_str().unwrap()]);
    assert!(o.status.success(), "plugin check: {}", stderr(&o));
    let listing = String::from_utf8_lossy(&o.stdout);
    assert!(listing.contains("(component)") && listing.contains("send_message"), "{listing}");
    for step in ["0s", "1500ms"] {
        let mut outs = Vec::new();
        for (name, wasm) in [("py", py.to_str().unwrap()), ("rust", rust.as_str())] {
            let sc = chat_scenario(dir.path(), &format!("{name}-{step}"), wasm, step);
            let out = dir.path().join(format!("out-{name}-{step}"));
            let o = run_engine(&[
                "run",
                sc.to_str().unwrap(),
                "--kafka",
                "none",
                "--write-messages",
                "--runs",
                "3",
                "--timesteps",
                "20",
                "--out",
                out.to_str().unwrap(),
            ]);
            assert!(o.status.success(), "{name} with step {step}: {}", stderr(&o));
            outs.push(out);
        }
        for file in ["records.jsonl", "messages.jsonl"] {
            let (a, b) = (read(&outs[0].join(file)), read(&outs[1].join(file)));
            assert!(!a.is_empty(), "{file} is empty");
            assert!(a == b, "{file} differs between the Python and the Rust chat plugin (clock step {step})");
        }
    }
}

#[test]
fn a_python_exception_reaches_the_error_output() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(
        app.join("app.py"),
        "from distroduce import policy, state_update\n\
         from distroduce.component import WitWorld  # noqa: F401\n\n\
         def helper(x):\n    raise ValueError(f'boom from python at {x}')\n\n\
         @policy\ndef explode(ctx):\n    return helper(ctx.timestep)\n\n\
         @state_update(output='int')\ndef keep(state):\n    return state['n']\n",
    )
    .unwrap();
    let venv = Command::new(repo().join("scripts/setup-python-wasm")).output().expect("setup script runs");
    assert!(venv.status.success(), "{}", String::from_utf8_lossy(&venv.stderr));
    let venv = String::from_utf8_lossy(&venv.stdout).trim().to_string();
    let wasm = dir.path().join("explode.wasm");
    let o = Command::new(format!("{venv}/bin/componentize-py"))
        .current_dir(&app)
        .args(["-d", repo().join("plugin-sdk/wit").to_str().unwrap(), "-w", "plugin", "componentize", "app", "-p"])
        .arg(&app)
        .arg("-p")
        .arg(repo().join("plugin-sdk/python"))
        .arg("-o")
        .arg(&wasm)
        .output()
        .unwrap();
    assert!(o.status.success(), "componentize-py: {}", String::from_utf8_lossy(&o.stderr));
    let sc = scenario(
        dir.path(),
        &format!(
            "name: boom\nseed: 1\nruns: 1\ntimesteps: 3\nstate: {{n: 0}}\nplugins: {{py: {{wasm: {}}}}}\n\
             blocks:\n  - policies: [py.explode]\n    updates: {{n: py.keep}}\n",
            wasm.display()
        ),
    );
    let o = run_engine(&["run", sc.to_str().unwrap(), "--kafka", "none", "--format", "none"]);
    assert!(!o.status.success(), "the run should fail");
    let err = stderr(&o);
    assert!(err.contains("ValueError: boom from python at 1"), "{err}");
    assert!(err.contains("Traceback") && err.contains("in helper"), "{err}");
    assert!(err.contains("explode"), "the report names the function: {err}");
}
