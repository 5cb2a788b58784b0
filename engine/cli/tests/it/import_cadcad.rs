//! `engine import cadcad`: a cadCAD model runs unchanged, as a scenario plus a Python plugin calling
//! its own functions, and gives cadCAD 0.5.3's records; what cannot be imported gets a clear error.
//!
//! Builds components with componentize-py, set up by scripts/setup-python-wasm (which needs PyPI
//! the first time), as tests/it/python_plugin.rs does. The model is read with the host's `python3`.
//! Compiled components are cached in target/wasm-cache.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The componentize-py venv of scripts/setup-python-wasm, made once per test process.
fn wasm_venv() -> PathBuf {
    static VENV: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    VENV.get_or_init(|| {
        let o = Command::new(repo().join("scripts/setup-python-wasm")).output().expect("setup script runs");
        assert!(o.status.success(), "setup-python-wasm: {}", String::from_utf8_lossy(&o.stderr));
        PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
    })
    .clone()
}

fn engine(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_engine"))
        .args(args)
        .env("DISTRODUCE_WASM_CACHE", repo().join("target").join("wasm-cache"))
        .env("DISTRODUCE_PY_WASM_VENV", wasm_venv())
        .output()
        .expect("engine binary runs")
}

/// `engine import cadcad MODEL --out DIR [extra]`.
fn import(model: &Path, dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["import", "cadcad", model.to_str().unwrap(), "--out", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    engine(&args)
}

fn run(scenario: &Path, out: &Path) -> Output {
    engine(&["run", scenario.to_str().unwrap(), "--kafka", "none", "--out", out.to_str().unwrap()])
}

/// A model directory holding `model.py` with this text.
fn model_dir(parent: &Path, name: &str, text: &str) -> PathBuf {
    let d = parent.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("model.py"), text).unwrap();
    d
}

/// The two public models of scenarios/cadcad, imported as they are (robot_marbles builds its
/// policies with a closure), give the records cadCAD 0.5.3 wrote from the same model.py. Then, as
/// docs/coming-from-cadcad.md shows, one policy and one state update of the imported
/// robot_marbles move to the Rust port (plugins/robot-marbles) while the rest stay in Python:
/// still cadCAD's records.
#[test]
fn imported_cadcad_models_give_cadcads_records_byte_for_byte() {
    for (m, runs, timesteps, records) in [("predator_prey", "2", "250", 502), ("robot_marbles", "2", "20", 126)] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("imported");
        let o = import(&repo().join("scenarios/cadcad").join(m), &dir, &["--runs", runs, "--timesteps", timesteps]);
        assert!(o.status.success(), "{m}: import failed: {}", stderr(&o));
        let yaml = read(&dir.join("scenario.yaml"));
        assert!(yaml.contains(&format!("runs: {runs}")) && yaml.contains("model: {wasm: plugin/"), "{yaml}");
        let out = tmp.path().join("out");
        let r = run(&dir.join("scenario.yaml"), &out);
        assert!(r.status.success(), "{m}: run failed: {}", stderr(&r));
        let got = read(&out.join("records.jsonl"));
        assert_eq!(got.lines().count(), records, "{m}");
        assert!(got == read(&fixture(&format!("{m}.cadcad.jsonl"))), "{m}: records differ from cadCAD's");
        if m == "robot_marbles" {
            let swaps = [
                (
                    "  model: {wasm: plugin/",
                    format!("  rust: {{wasm: {}}}\n  model: {{wasm: plugin/", plugin("robot_marbles_plugin")),
                ),
                (
                    "{fn: model.p_robot_arm_1, name: robot_arm_1}",
                    "{fn: rust.robot_arm, args: {robot: 1}, name: robot_arm_1}".into(),
                ),
                ("box_A: model.s_box_A", "box_A: rust.s_box_a".into()),
            ];
            let mut mixed = yaml.clone();
            for (from, to) in swaps {
                assert!(mixed.contains(from), "`{from}` not in the imported scenario:\n{yaml}");
                mixed = mixed.replacen(from, &to, 1);
            }
            std::fs::write(dir.join("mixed.yaml"), &mixed).unwrap();
            let out = tmp.path().join("out-mixed");
            let r = run(&dir.join("mixed.yaml"), &out);
            assert!(r.status.success(), "mixed Python and Rust: {}", stderr(&r));
            assert!(read(&out.join("records.jsonl")) == got, "mixed Python and Rust: records differ from cadCAD's");
        }
    }
}

/// A model that is a package (tests/fixtures/cadcad_features/), with a functools.partial and a
/// lambda among its functions, a state update reading `sH` (so the import turns `history` on), two
/// blocks, an N = 1 sweep and `sim_config`, gives the records cadCAD 0.5.3 wrote from it:
///
///     benches/.venv/bin/python -c "import sys; sys.path[:0] = ['benches/cadcad', \
///       'engine/cli/tests/fixtures/cadcad_features']; import engines, cadcad_features as m; \
///       engines.write_jsonl(engines.run_cadcad(m.initial_state, m.partial_state_update_blocks, \
///       m.params, 1, 4), list(m.initial_state), \
///       'engine/cli/tests/fixtures/cadcad_features.cadcad.jsonl')"
#[test]
fn a_model_package_with_partials_lambdas_and_history_gives_cadcads_records() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("imported");
    let o = import(&fixture("cadcad_features/cadcad_features"), &dir, &[]);
    assert!(o.status.success(), "import failed: {}", stderr(&o));
    let yaml = read(&dir.join("scenario.yaml"));
    assert!(yaml.contains("history: true") && yaml.contains("runs: 1 ") && yaml.contains("timesteps: 4 "), "{yaml}");
    let out = tmp.path().join("out");
    let r = run(&dir.join("scenario.yaml"), &out);
    assert!(r.status.success(), "run failed: {}", stderr(&r));
    assert!(
        read(&out.join("records.jsonl")) == read(&fixture("cadcad_features.cadcad.jsonl")),
        "records differ from cadCAD's"
    );
}

/// What cannot be carried over is reported all at once, each with where it is, and nothing is
/// written: a policy cadCAD could not call either, a state value the scenario cannot hold, and
/// env_processes.
#[test]
fn a_model_with_constructs_import_cannot_carry_is_refused_with_exit_code_2() {
    let tmp = tempfile::tempdir().unwrap();
    let m = model_dir(
        tmp.path(),
        "unsupported",
        "initial_state = {'a': 0, 'tags': {'x', 'y'}}\n\
         params = {}\n\
         env_processes = {'a': lambda s, v: v}\n\
         def s_a(params, substep, sH, s, _input):\n    return 'a', s['a'] + 1\n\
         partial_state_update_blocks = [\n\
         \x20   {'policies': {'two_args': lambda params, s: {}}, 'variables': {'a': s_a}},\n]\n",
    );
    let dir = tmp.path().join("imported");
    let o = import(&m, &dir, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for words in [
        "block 0, policy 'two_args'",
        "policy(params, substep, sH, s)",
        "model.py:7",
        "initial_state['tags'] is a set",
        "model.env_processes is not supported",
    ] {
        assert!(err.contains(words), "missing `{words}` in:\n{err}");
    }
    assert!(!dir.join("scenario.yaml").exists(), "nothing is written for a refused model");
}

/// numpy cannot run inside the component: the user is told so, and what to do, before any build
/// (whether or not the host's Python has numpy).
#[test]
fn a_model_importing_numpy_is_told_numpy_cannot_run_in_the_component() {
    let tmp = tempfile::tempdir().unwrap();
    let m = model_dir(
        tmp.path(),
        "uses_numpy",
        "import numpy as np\n\
         initial_state = {'x': 0.0}\nparams = {}\n\
         def s_x(params, substep, sH, s, _input):\n    return 'x', float(np.sqrt(s['x'] + 1))\n\
         partial_state_update_blocks = [{'policies': {}, 'variables': {'x': s_x}}]\n",
    );
    let o = import(&m, &tmp.path().join("imported"), &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for words in ["imports numpy", "WebAssembly component", "C extensions", "Rust"] {
        assert!(err.contains(words), "missing `{words}` in:\n{err}");
    }
}

/// A state update returning another variable's name than the one its block maps it to fails the
/// run, naming the plugin, the function, the job and the timestep. (The policy is a lambda, which
/// import carries over.)
#[test]
fn a_state_update_returning_the_wrong_variable_fails_the_run_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let m = model_dir(
        tmp.path(),
        "wrong_name",
        "initial_state = {'a': 0, 'b': 0}\nparams = {'k': [1, 2]}\n\
         def s_a(params, substep, sH, s, _input):\n    return 'a', s['a'] + _input['d']\n\
         def s_b(params, substep, sH, s, _input):\n\
         \x20   return ('a' if s['timestep'] == 2 else 'b'), s['b'] + params['k']\n\
         partial_state_update_blocks = [\n\
         \x20   {'policies': {'inc': lambda params, substep, sH, s: {'d': 1}}, 'variables': {'a': s_a, 'b': s_b}},\n]\n",
    );
    let dir = tmp.path().join("imported");
    let o = import(&m, &dir, &["--runs", "1", "--timesteps", "5"]);
    assert!(o.status.success(), "import: {}", stderr(&o));
    let r = run(&dir.join("scenario.yaml"), &tmp.path().join("out"));
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(1), "{err}");
    for words in [
        "plugin `model` export `s_b`",
        "subset 0 run 1",
        "timestep 3",
        "model.s_b returned the variable 'a'",
        "update 'b'",
    ] {
        assert!(err.contains(words), "missing `{words}` in:\n{err}");
    }
}

/// Importing runs the model's module-level code. A model that never finishes there (it starts its
/// simulation at import, or waits for input) is stopped after `--read-timeout` with what it last
/// printed and a hint, and one that prints without end is stopped too: exit 2, nothing written.
#[test]
fn a_model_that_never_finishes_importing_is_stopped_with_a_hint() {
    use std::os::unix::process::CommandExt;
    let tmp = tempfile::tempdir().unwrap();
    let endless =
        "import sys, time\nprint('running the simulation...', file=sys.stderr, flush=True)\ntime.sleep(3600)\n";
    let chatty = "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n";
    // Imports at once, but leaves a process holding the interpreter's output open (for 15 s, past
    // the 5 s limit; it then ends by itself).
    let background = "import subprocess\nsubprocess.Popen(['sleep', '15'])\n\
                      initial_state = {'a': 0}\npartial_state_update_blocks = []\n";
    // The chatty model gets a timeout it cannot reach before its 256 MiB, even on a loaded machine.
    for (name, text, timeout, want, hint) in [
        ("endless", endless, "1", "did not finish within 1 s", "if __name__ == \"__main__\":"),
        ("chatty", chatty, "50", "printed more than 256 MiB to standard output", "if __name__ == \"__main__\":"),
        (
            "background",
            background,
            "5",
            "a process it started still held the import's output open after 5 s",
            "start background processes",
        ),
    ] {
        let m = model_dir(tmp.path(), name, text);
        let dir = tmp.path().join(format!("{name}-imported"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_engine"))
            .args(["import", "cadcad", m.to_str().unwrap(), "--out", dir.to_str().unwrap(), "--read-timeout", timeout])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let status = wait_or_kill_group(&mut child, std::time::Duration::from_secs(90));
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert_eq!(status.and_then(|s| s.code()), Some(2), "{name}: the import must stop on its own: {err}");
        assert!(err.contains(want), "{name}: {err}");
        assert!(err.contains(hint), "{name}: the hint: {err}");
        assert!(!dir.join("scenario.yaml").exists(), "{name}: nothing is written");
    }
    let m = tmp.path().join("endless");
    let err = stderr(&import(&m, &tmp.path().join("again"), &["--read-timeout", "1"]));
    assert!(err.contains("running the simulation..."), "the model's last output is shown: {err}");
}
