//! `engine plugin check` describes a usable plugin and rejects modules that cannot work, saying why.

use crate::common::*;

fn check(path: &str) -> (i32, serde_json::Value, String) {
    let o = engine(&["plugin", "check", "--json", path]);
    (o.status.code().unwrap_or(-1), serde_json::from_slice(&o.stdout).unwrap(), stderr(&o))
}

#[test]
fn a_plugin_is_described_function_by_function() {
    let (code, v, err) = check(&plugin("conformance_plugin"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["abi_version"], 1);
    let f =
        |name: &str| v["functions"].as_array().unwrap().iter().find(|f| f["name"] == name).unwrap()["describe"].clone();
    assert_eq!(f("p_inc_b")["kind"], "policy");
    assert_eq!(f("p_inc_b")["reads"]["state"], serde_json::json!(["a"]));
    assert_eq!(f("s_a")["kind"], "state_update");
    assert_eq!(f("s_a")["output"], "int");
    let (_, m, _) = check(&plugin("misbehave_plugin"));
    let wrong = m["functions"].as_array().unwrap().iter().find(|f| f["name"] == "wrong_type").unwrap();
    assert_eq!(wrong["describe"]["output"], "str");
}

#[test]
fn broken_modules_are_rejected_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let abi = r#"(func (export "distroduce_abi_version") (result i32) i32.const 1)
                 (func (export "distroduce_alloc") (param i32) (result i32) i32.const 0)"#;
    let cases = [
        (
            r#"(module (memory (export "memory") 1) (func (export "f") (param i32 i32) (result i64) i64.const 0))"#
                .to_string(),
            "does not export `distroduce_abi_version`",
        ),
        (
            format!(
                r#"(module (import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32))) (memory (export "memory") 1) {abi} (func (export "f") (param i32 i32) (result i64) i64.const 0))"#
            ),
            "no filesystem and no network",
        ),
        (
            format!(
                r#"(module (import "env" "now" (func (result i64))) (memory (export "memory") 1) {abi} (func (export "f") (param i32 i32) (result i64) i64.const 0))"#
            ),
            "not module `env`",
        ),
        (
            format!(
                r#"(module (memory (export "memory") 1) {abi} (func (export "f") (param i32) (result i32) i32.const 0))"#
            ),
            "exports no plugin function",
        ),
        ("(module)".to_string(), "does not export `memory`"),
        ("not wasm at all".to_string(), "not a WebAssembly module"),
    ];
    for (i, (wat, want)) in cases.iter().enumerate() {
        let p = dir.path().join(format!("m{i}.wat"));
        std::fs::write(&p, wat).unwrap();
        let (code, v, err) = check(p.to_str().unwrap());
        assert_eq!(code, 2, "case {i}");
        assert!(
            v["problems"].as_array().unwrap().iter().any(|x| x.as_str().unwrap().contains(want)),
            "case {i}: want {want:?} in {v}"
        );
        assert!(err.contains(want), "{err}");
    }
}

#[test]
fn a_component_that_does_not_implement_the_plugin_world_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    // The smallest valid component: the preamble of the component binary format, nothing else.
    let p = dir.path().join("empty-component.wasm");
    std::fs::write(&p, b"\0asm\x0d\x00\x01\x00").unwrap();
    let o = engine(&["plugin", "check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    for export in ["abi-version", "functions", "call", "describe"] {
        assert!(err.contains(&format!("does not export `{export}:")), "{export}: {err}");
    }
    assert!(err.contains("distroduce:plugin"), "{err}");
    // And a scenario using it fails before any run, naming the plugin.
    let yaml = format!(
        "name: t\nruns: 1\ntimesteps: 1\nstate: {{a: 0}}\nplugins:\n  p: {{wasm: {}}}\nblocks:\n  - updates: {{a: p.s_a}}\n",
        p.display()
    );
    let o = engine(&["validate", scenario(dir.path(), &yaml).to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("plugin `p`") || stderr(&o).contains("plugin p"), "{}", stderr(&o));
}
