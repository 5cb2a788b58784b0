//! The chat model written in Go, AssemblyScript, C and Python: each port must give records and
//! messages byte-identical to the Rust plugin's, with the scenario's frozen clock and with an
//! advancing one (whose times have microseconds), over several runs. One test per language so a
//! failure names it.

use crate::common::*;
use std::path::Path;

/// records.jsonl and messages.jsonl of scenarios/chat.yaml (or `scenario`) with `plugin`.
fn outputs(scenario: &Path, plugin: &str, out: &Path) -> (String, String) {
    let o = engine(&[
        "run",
        scenario.to_str().unwrap(),
        "--plugin",
        &format!("chat={plugin}"),
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
    assert!(o.status.success(), "{plugin}: {}", stderr(&o));
    (read(&out.join("records.jsonl")), read(&out.join("messages.jsonl")))
}

fn same_as_rust(lang: &str) {
    let dir = tempfile::tempdir().unwrap();
    let chat = repo().join("scenarios/chat.yaml");
    let (rust, port) = (plugin("chat_plugin"), lang_plugin(lang));
    // The same model with a clock that advances 1.234567 s per timestep.
    let ticking = dir.path().join("chat-ticking.yaml");
    std::fs::write(
        &ticking,
        read(&chat)
            .replace(
                r#"clock: {start: "2019-10-03T00:00:00Z", step: 0s}"#,
                r#"clock: {start: "2019-10-03T00:00:00Z", step: 1234567us}"#,
            )
            .replace("{crate: ../plugins/chat}", &format!("{{wasm: {rust}}}")),
    )
    .unwrap();
    assert!(read(&ticking).contains("1234567us"), "chat.yaml's clock line changed; update this test");
    for (i, scenario) in [chat, ticking].iter().enumerate() {
        let want = outputs(scenario, &rust, &dir.path().join(format!("rust{i}")));
        let got = outputs(scenario, &port, &dir.path().join(format!("{lang}{i}")));
        assert!(
            want.1.lines().count() == 3 * 20 * 4,
            "the Rust chat plugin published {} messages",
            want.1.lines().count()
        );
        for (what, w, g) in [("records.jsonl", &want.0, &got.0), ("messages.jsonl", &want.1, &got.1)] {
            if w != g {
                let line = w
                    .lines()
                    .zip(g.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(w.lines().count().min(g.lines().count()));
                panic!(
                    "{lang}: {what} of {} differs from Rust's at line {}:\n  rust: {}\n  {lang}: {}",
                    scenario.display(),
                    line + 1,
                    w.lines().nth(line).unwrap_or("<end>"),
                    g.lines().nth(line).unwrap_or("<end>")
                );
            }
        }
    }
}

#[test]
#[ignore = "needs the chat ports in Go, AssemblyScript, C and Python: scripts/test builds them"]
fn go_chat_is_byte_identical_to_rust() {
    same_as_rust("go");
}

#[test]
#[ignore = "needs the chat ports in Go, AssemblyScript, C and Python: scripts/test builds them"]
fn assemblyscript_chat_is_byte_identical_to_rust() {
    same_as_rust("as");
}

#[test]
#[ignore = "needs the chat ports in Go, AssemblyScript, C and Python: scripts/test builds them"]
fn c_chat_is_byte_identical_to_rust() {
    same_as_rust("c");
}

#[test]
#[ignore = "needs the chat ports in Go, AssemblyScript, C and Python: scripts/test builds them"]
fn python_chat_is_byte_identical_to_rust() {
    same_as_rust("py");
}
