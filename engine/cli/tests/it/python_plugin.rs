//! Python plugins, as components (ABI.md §9): `engine plugin check` describes them, and a Python
//! exception's traceback reaches the engine's error output.
//!
//! Builds the Python plugins with plugins/chat-py/build and componentize-py (set up by
//! scripts/setup-python-wasm, which needs PyPI the first time). Compiled components are cached in
//! target/wasm-cache, so only the first run pays Cranelift's ~10 s per component.

use crate::common::*;
use std::path::PathBuf;
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

/// `engine plugin check` describes a component: its functions with their describe maps. (That the
/// Python chat port matches the Rust one byte for byte is tests/languages.rs.)
#[test]
#[ignore = "needs the chat ports in Go, AssemblyScript, C and Python: scripts/test builds them"]
fn plugin_check_describes_the_python_chat_component() {
    let py = lang_plugin("py");
    let o = run_engine(&["plugin", "check", &py]);
    assert!(o.status.success(), "plugin check: {}", stderr(&o));
    let listing = String::from_utf8_lossy(&o.stdout);
    assert!(listing.contains("(component)"), "{listing}");
    for f in ["enter", "send", "exit", "send_message", "count_messages", "add_send_time", "current_time"] {
        assert!(listing.contains(&format!("function {f} ")), "{f} missing:\n{listing}");
    }
}

/// Build `app_py` (the source of `app.py`) into a component in `dir` with componentize-py and the
/// Python SDK; returns the .wasm path.
fn python_component(dir: &std::path::Path, name: &str, app_py: &str) -> PathBuf {
    let app = dir.join(format!("{name}-app"));
    std::fs::create_dir(&app).unwrap();
    std::fs::write(app.join("app.py"), app_py).unwrap();
    let venv = Command::new(repo().join("scripts/setup-python-wasm")).output().expect("setup script runs");
    assert!(venv.status.success(), "{}", String::from_utf8_lossy(&venv.stderr));
    let venv = String::from_utf8_lossy(&venv.stdout).trim().to_string();
    let wasm = dir.join(format!("{name}.wasm"));
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
    wasm
}

#[test]
fn a_python_exception_reaches_the_error_output() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = python_component(
        dir.path(),
        "explode",
        "from distroduce import policy, state_update\n\
         from distroduce.component import WitWorld  # noqa: F401\n\n\
         def helper(x):\n    raise ValueError(f'boom from python at {x}')\n\n\
         @policy\ndef explode(ctx):\n    return helper(ctx.timestep)\n\n\
         @state_update(output='int')\ndef keep(state):\n    return state['n']\n",
    );
    let sc = scenario(
        dir.path(),
        &format!(
            "name: boom\nseed: 1\nruns: 1\ntimesteps: 3\nstate: {{n: 0}}\nplugins: {{py: {{wasm: {}}}}}\n\
             blocks:\n  - policies: [py.explode]\n    updates: {{n: py.keep}}\n",
            wasm.display()
        ),
    );
    let out = dir.path().join("out");
    let o = run_engine(&[
        "run",
        sc.to_str().unwrap(),
        "--kafka",
        "none",
        "--format",
        "none",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success(), "the run should fail");
    let err = stderr(&o);
    assert!(err.contains("ValueError: boom from python at 1"), "{err}");
    assert!(err.contains("Traceback") && err.contains("in helper"), "{err}");
    assert!(err.contains("explode"), "the report names the function: {err}");
}

/// WASI preview 2 sleeps are virtual, as preview 1's are (issue 12, defect 2): a Python plugin that
/// sleeps 30 s per call under `call_timeout: 1s` finishes at once and sees its monotonic clock
/// move by what it slept; one that sleeps forever hits the call timeout instead of hanging the run.
#[test]
fn python_sleeps_are_virtual_and_cannot_escape_the_call_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = python_component(
        dir.path(),
        "sleepy",
        "import time\n\
         from distroduce import policy, state_update\n\
         from distroduce.component import WitWorld  # noqa: F401\n\n\
         @policy\ndef nap(ctx):\n    t0 = time.monotonic()\n    time.sleep(30)\n\
         \x20   if time.monotonic() - t0 < 30:\n        raise RuntimeError('the clock did not move')\n    return {}\n\n\
         @policy\ndef forever(ctx):\n    while True:\n        time.sleep(300)\n\n\
         @state_update(output='int')\ndef keep(state):\n    return state['n']\n",
    );
    for (policy, ok) in [("nap", true), ("forever", false)] {
        let sc = dir.path().join(format!("{policy}.yaml"));
        std::fs::write(
            &sc,
            format!(
                "name: {policy}\nruns: 1\ntimesteps: 3\nstate: {{n: 0}}\nplugins: {{py: {{wasm: {}}}}}\n\
                 limits: {{call_timeout: 1s}}\nblocks:\n  - policies: [py.{policy}]\n    updates: {{n: py.keep}}\n",
                wasm.display()
            ),
        )
        .unwrap();
        // Compile (and cache) the 18 MB component first: on a fresh machine under load that alone
        // took over a minute, and what is timed here is the run, not the compiler.
        let v = run_engine(&["validate", sc.to_str().unwrap()]);
        assert!(v.status.success(), "{policy}: {}", stderr(&v));
        let started = std::time::Instant::now();
        let out = dir.path().join(format!("{policy}-out"));
        let o = run_engine(&[
            "run",
            sc.to_str().unwrap(),
            "--kafka",
            "none",
            "--format",
            "none",
            "--out",
            out.to_str().unwrap(),
        ]);
        let elapsed = started.elapsed();
        let err = stderr(&o);
        assert!(elapsed < std::time::Duration::from_secs(60), "{policy}: took {elapsed:?}");
        if ok {
            assert!(o.status.success(), "{policy}: {err}");
        } else {
            assert_eq!(o.status.code(), Some(1), "{policy}: {err}");
            assert!(err.contains("did not finish within 1s") && err.contains("forever"), "{policy}: {err}");
        }
    }
}
