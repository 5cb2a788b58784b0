//! `format: avro` against the real broker and a real schema registry (Apicurio Registry's
//! Confluent API, scripts/schema-registry): consumers decode with the registry (Confluent's Python
//! client, `confluent_kafka.schema_registry` with fastavro), never with our own decoder.

use crate::common::kafka::{brokers, fresh, shared};
use crate::common::*;
use serde_json::Value as Json;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

const V1: &str = r#"{"type": "record", "name": "Message", "namespace": "chat", "fields": [
  {"name": "room", "type": "string"}, {"name": "sender", "type": "string"},
  {"name": "input", "type": "string"}, {"name": "created", "type": "string"}]}"#;
/// V1 plus two fields with defaults: BACKWARD compatible.
const V2: &str = r#"{"type": "record", "name": "Message", "namespace": "chat", "fields": [
  {"name": "room", "type": "string"}, {"name": "sender", "type": "string"},
  {"name": "input", "type": "string"}, {"name": "created", "type": "string"},
  {"name": "receiver", "type": ["null", "string"], "default": null},
  {"name": "action", "type": "string", "default": "send"}]}"#;
/// V1 plus a field without a default: a BACKWARD registry refuses it.
const V2_BAD: &str = r#"{"type": "record", "name": "Message", "namespace": "chat", "fields": [
  {"name": "room", "type": "string"}, {"name": "sender", "type": "string"},
  {"name": "input", "type": "string"}, {"name": "created", "type": "string"},
  {"name": "mood", "type": "string"}]}"#;

pub(crate) fn registry() -> String {
    std::env::var("DISTRODUCE_SCHEMA_REGISTRY")
        .expect("DISTRODUCE_SCHEMA_REGISTRY must name a running registry: run the tests with scripts/test (scripts/schema-registry start)")
}

/// The chat scenario publishing `format: avro` to `topic`, with `topic_extra` under the topic
/// (its `schema`/`schemas`) and `kafka_extra` under `kafka:`.
fn avro_chat(dir: &Path, topic: &str, topic_extra: &str, kafka_extra: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("v1.avsc"), V1).unwrap();
    std::fs::write(dir.join("v2.avsc"), V2).unwrap();
    std::fs::write(dir.join("v2-bad.avsc"), V2_BAD).unwrap();
    registry_chat(dir, "avro", topic, topic_extra, kafka_extra)
}

/// The chat scenario publishing `format: FORMAT` to `topic` (3 partitions, id headers).
pub(crate) fn registry_chat(
    dir: &Path,
    format: &str,
    topic: &str,
    topic_extra: &str,
    kafka_extra: &str,
) -> std::path::PathBuf {
    let y = read(&repo().join("scenarios/chat.yaml"))
        .replace("{crate: ../plugins/chat}", &format!("{{wasm: {}}}", plugin("chat_plugin")))
        .replace(
            "kafka:\n  topics:\n    chat: {name: chat, partitions: 8}\n",
            &format!("kafka:\n  id_header: true\n{kafka_extra}  topics:\n    chat:\n      name: {topic}\n      partitions: 3\n      format: {format}\n{topic_extra}"),
        );
    assert!(y.contains(&format!("format: {format}")), "the chat scenario's kafka section changed");
    scenario(dir, &y)
}

/// `engine run` of scenario `s` publishing to the test broker, records to `out`, with `extra`
/// arguments; the run must succeed.
pub(crate) fn run_to_broker(s: &Path, out: &Path, extra: &[&str]) {
    let b = brokers();
    let mut args = vec!["run", s.to_str().unwrap(), "--brokers", &b, "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = engine(&args);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// `engine run` of scenario `s` with `--kafka none` against the registry, records to `out`.
pub(crate) fn run_with_registry(s: &Path, out: &Path) -> std::process::Output {
    engine(&[
        "run",
        s.to_str().unwrap(),
        "--kafka",
        "none",
        "--schema-registry",
        &registry(),
        "--out",
        out.to_str().unwrap(),
    ])
}

/// Validate, then run, scenario `s` whose second schema version (the entry naming `bad_file`) the
/// registry refuses for `subject`: both exit 2, validate at that entry's file:line:col with the
/// registry's refusal and the compatibility level, and no job runs. Returns validate's and run's
/// stderr for the format's own reasons.
pub(crate) fn refused_at_validate_and_run(s: &Path, bad_file: &str, subject: &str) -> (String, String) {
    let file = s.to_str().unwrap();
    let line = read(s).lines().position(|l| l.contains(bad_file)).unwrap() + 1;
    let o = engine(&["validate", file, "--schema-registry", &registry()]);
    let validate = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{validate}");
    assert!(validate.contains(&format!("{file}:{line}:")), "at the schema entry's line {line}: {validate}");
    let refusal = format!(
        "kafka.topics.chat.schemas[1]: the schema registry refuses this schema for subject `{subject}` as incompatible"
    );
    assert!(validate.contains(&refusal), "{validate}");
    assert!(validate.contains("compatibility level is BACKWARD"), "{validate}");
    let out = s.parent().unwrap().join("refused-out");
    let o = run_with_registry(s, &out);
    let run = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{run}");
    assert!(run.contains("incompatible"), "{run}");
    assert!(!out.join("records.jsonl").exists(), "no job ran");
    (validate, run)
}

/// Every message of `topic`, decoded by confluent-kafka's AvroDeserializer with the registry:
/// `{id: distroduce-id header, schema_id, version (of `subject`), value}`; and the registry's subjects.
fn consume_with_registry(topic: &str, subject: &str, n: usize) -> (Vec<Json>, Vec<String>) {
    consume_decoding(topic, subject, n, AVRO_DECODER)
}

/// confluent-kafka's AvroDeserializer with the registry client `sr`.
const AVRO_DECODER: &str = r#"
from confluent_kafka.schema_registry.avro import AvroDeserializer
avro = AvroDeserializer(sr)
def decode(raw, ctx):
    return avro(raw, ctx)
"#;

/// Every message of `topic`, decoded by `decoder`: Python that defines `decode(raw, ctx)` with
/// `sr` (confluent-kafka's registry client) at hand.
pub(crate) fn consume_decoding(topic: &str, subject: &str, n: usize, decoder: &str) -> (Vec<Json>, Vec<String>) {
    let python = std::env::var("DISTRODUCE_PYTHON")
        .expect("DISTRODUCE_PYTHON must point at the venv's python: run scripts/test");
    let script = r#"
import json, sys, time
from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.serialization import SerializationContext, MessageField
brokers, url, topic, subject, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
sr = SchemaRegistryClient({"url": url})
versions = {sr.get_version(subject, v).schema_id: v for v in sr.get_versions(subject)}
exec(sys.argv[6])
c = Consumer({"bootstrap.servers": brokers, "group.id": "registry-" + topic, "auto.offset.reset": "earliest",
              "enable.auto.commit": False})
c.subscribe([topic])
out, deadline, quiet_until = [], time.time() + 90, None
while time.time() < deadline:
    m = c.poll(0.5)
    if m is None or m.error():
        if len(out) >= n and quiet_until is None:
            quiet_until = time.time() + 3
        if quiet_until is not None and time.time() > quiet_until:
            break
        continue
    raw = m.value()
    value = decode(raw, SerializationContext(topic, MessageField.VALUE))
    sid = int.from_bytes(raw[1:5], "big")
    out.append({"id": dict(m.headers())["distroduce-id"].decode(), "magic": raw[0], "schema_id": sid,
                "version": versions.get(sid), "value": value})
c.close()
print(json.dumps({"messages": out, "subjects": sr.get_subjects()}))
"#;
    let o = Command::new(python)
        .arg("-c")
        .arg(script)
        .args([&brokers(), &registry(), topic, subject, &n.to_string(), decoder])
        .output()
        .unwrap();
    assert!(o.status.success(), "the registry-aware consumer failed: {}", String::from_utf8_lossy(&o.stderr));
    let v: Json = serde_json::from_slice(&o.stdout).unwrap();
    let subjects = v["subjects"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
    (v["messages"].as_array().unwrap().clone(), subjects)
}

/// `messages.jsonl`: the timestep of each message by its distroduce-id.
pub(crate) fn timesteps(out: &Path) -> HashMap<String, u64> {
    read(&out.join("messages.jsonl"))
        .lines()
        .map(|l| {
            let m: Json = serde_json::from_str(l).unwrap();
            (m["headers"]["distroduce-id"].as_str().unwrap().to_string(), m["timestep"].as_u64().unwrap())
        })
        .collect()
}

/// What the chat plugin's messages say.
pub(crate) const CHAT_INPUTS: [&str; 4] = ["Hi A", "Hi B", "Bye A", "Bye B"];

/// Run scenario `s` (chat, 10 timesteps, schema version 2 from timestep 6) to the broker and read
/// `topic` back with `decoder`: every one of the 40 messages arrives once, in the Confluent wire
/// format, under a version of `{topic}-value` — 1 before timestep 6, 2 from it on. Returns each
/// message with its timestep, for the format's own checks.
pub(crate) fn evolved_messages(s: &Path, out: &Path, topic: &str, decoder: &str) -> Vec<(u64, Json)> {
    run_to_broker(s, out, &["--write-messages"]);
    let steps = timesteps(out);
    assert_eq!(steps.len(), 40, "chat sends 4 messages per timestep for 10 timesteps");
    let (got, _) = consume_decoding(topic, &format!("{topic}-value"), steps.len(), decoder);
    assert_eq!(got.len(), steps.len(), "every message arrives once and decodes");
    let got: Vec<(u64, Json)> = got.into_iter().map(|m| (steps[m["id"].as_str().unwrap()], m)).collect();
    for (t, m) in &got {
        assert_eq!(m["magic"], 0, "Confluent wire format");
        let want = if *t < 6 { 1 } else { 2 };
        assert_eq!(m["version"], want, "timestep {t}: version 2 applies from timestep 6 on: {m}");
    }
    assert_eq!(got.iter().filter(|(t, _)| *t >= 6).count(), 20, "timesteps 6..=10 are on version 2");
    got
}

/// Run scenario `s`, whose schema cannot hold what the chat plugin sends, against the registry:
/// its job fails (exit 1) naming the plugin, the export and timestep 1. Returns stderr for the
/// format's own reason.
pub(crate) fn misfit_fails_its_job(s: &Path) -> String {
    let o = run_with_registry(s, &s.parent().unwrap().join("misfit-out"));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("plugin `chat` export `send`"), "{err}");
    assert!(err.contains("timestep 1"), "{err}");
    err
}

/// `engine validate` of scenario `s` refuses it (exit 2) with `want`, at a file:line:col of `s`;
/// no service is asked.
pub(crate) fn refused_at_its_place(s: &Path, want: &str) {
    let o = engine(&["validate", s.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{want}: {err}");
    assert!(err.contains(want), "{want}: {err}");
    assert!(
        err.contains(&format!("{}:", s.display())) && err.lines().next().unwrap().matches(':').count() >= 3,
        "file:line:col: {err}"
    );
}

#[test]
#[ignore = "needs Apache Kafka (DISTRODUCE_KAFKA_BROKERS), the schema registry (DISTRODUCE_SCHEMA_REGISTRY) and the Python venv (DISTRODUCE_PYTHON): scripts/test starts them"]
fn every_message_decodes_with_the_registry_and_the_schema_evolves_at_its_timestep() {
    let _broker = shared();
    let dir = tempfile::tempdir().unwrap();
    let topic = fresh("avro-evolve");
    // Version 1 inline (a YAML map), version 2 from a file, from timestep 6.
    let v1_yaml = serde_json::from_str::<Json>(V1).unwrap().to_string();
    let s = avro_chat(
        dir.path(),
        &topic,
        &format!("      schemas:\n        - {{from_timestep: 0, schema: {v1_yaml}}}\n        - {{from_timestep: 6, schema: {{file: v2.avsc}}}}\n"),
        &format!("  schema_registry: {{url: {}}}\n", registry()),
    );
    for (t, m) in evolved_messages(&s, &dir.path().join("out"), &topic, AVRO_DECODER) {
        let v = &m["value"];
        assert_eq!(v["room"], "room_1");
        assert!(CHAT_INPUTS.contains(&v["input"].as_str().unwrap()), "{v}");
        if t < 6 {
            assert!(v.get("receiver").is_none(), "version 1 has no receiver: {v}");
        } else {
            let other = if v["sender"] == "A" { "B" } else { "A" };
            assert_eq!(v["receiver"], other, "version 2 carries the plugin's receiver: {v}");
            assert_eq!(v["action"], "send");
        }
    }
}

#[test]
#[ignore = "needs Apache Kafka (DISTRODUCE_KAFKA_BROKERS), the schema registry (DISTRODUCE_SCHEMA_REGISTRY) and the Python venv (DISTRODUCE_PYTHON): scripts/test starts them"]
fn the_record_strategies_name_the_subject_after_the_record() {
    let _broker = shared();
    for (strategy, subject) in [("record", "chat.Message".to_string()), ("topic_record", String::new())] {
        let dir = tempfile::tempdir().unwrap();
        let topic = fresh("avro-subject");
        let subject = if subject.is_empty() { format!("{topic}-chat.Message") } else { subject };
        let s = avro_chat(
            dir.path(),
            &topic,
            "      schema: {file: v1.avsc}\n",
            &format!("  schema_registry: {{url: {}, subject_strategy: {strategy}}}\n", registry()),
        );
        let out = dir.path().join("out");
        run_to_broker(&s, &out, &["--timesteps", "2"]);
        let (got, subjects) = consume_with_registry(&topic, &subject, 8);
        assert!(subjects.contains(&subject), "{strategy}: subject {subject} not in {subjects:?}");
        assert!(!subjects.contains(&format!("{topic}-value")), "{strategy}: the topic strategy's subject was used");
        assert_eq!(got.len(), 8);
        assert!(got.iter().all(|m| m["version"].as_u64().is_some()), "ids are versions of {subject}: {got:?}");
    }
}

#[test]
#[ignore = "needs the schema registry (DISTRODUCE_SCHEMA_REGISTRY): scripts/test starts it"]
fn an_incompatible_version_is_refused_at_validate_and_run_with_the_registrys_reason() {
    let dir = tempfile::tempdir().unwrap();
    let topic = fresh("avro-incompatible");
    let s = avro_chat(
        dir.path(),
        &topic,
        "      schemas:\n        - {from_timestep: 0, schema: {file: v1.avsc}}\n        - {from_timestep: 4, schema: {file: v2-bad.avsc}}\n",
        "",
    );
    let (validate, run) = refused_at_validate_and_run(&s, "v2-bad.avsc", &format!("{topic}-value"));
    assert!(validate.contains("mood"), "the registry's reason names the field: {validate}");
    assert!(run.contains("mood"), "{run}");
}

#[test]
#[ignore = "needs the schema registry (DISTRODUCE_SCHEMA_REGISTRY): scripts/test starts it"]
fn a_value_the_schema_cannot_hold_fails_its_job_naming_plugin_timestep_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let topic = fresh("avro-misfit");
    std::fs::write(
        dir.path().join("int.avsc"),
        V1.replace(r#"{"name": "input", "type": "string"}"#, r#"{"name": "input", "type": "int"}"#),
    )
    .unwrap();
    let s = avro_chat(dir.path(), &topic, "      schema: {file: int.avsc}\n", "");
    let err = misfit_fails_its_job(&s);
    assert!(err.contains("field `input`: expected int (32-bit), got \"Hi B\""), "{err}");
}

/// No service needed: a registry that is not there is a clear error before any job, exit 1.
#[test]
fn a_registry_that_is_down_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let s = avro_chat(dir.path(), "avro-down", "      schema: {file: v1.avsc}\n", "");
    let url = format!("http://127.0.0.1:{port}/apis/ccompat/v7");
    let out = dir.path().join("out");
    for args in [
        vec!["validate", s.to_str().unwrap()],
        vec!["run", s.to_str().unwrap(), "--kafka", "none", "--out", out.to_str().unwrap()],
    ] {
        let mut args = args;
        args.extend(["--schema-registry", url.as_str()]);
        let o = engine(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(&format!("cannot reach the schema registry at 127.0.0.1:{port}")), "{err}");
        assert!(err.contains("scripts/schema-registry start"), "{err}");
    }
    assert!(!out.join("records.jsonl").exists(), "no job ran");
}

/// No service needed: what the scenario file alone gets wrong is reported at its place.
#[test]
fn avro_settings_are_checked_at_their_place_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "      schema: {file: missing.avsc}\n",
            "  schema_registry: {url: http://127.0.0.1:1}\n",
            "cannot read schema file",
        ),
        ("", "  schema_registry: {url: http://127.0.0.1:1}\n", "has `format: avro` but no `schema`"),
        ("      schema: {file: v1.avsc}\n", "", "no schema registry is configured"),
        (
            "      schemas: [{from_timestep: 3, schema: {file: v1.avsc}}]\n",
            "  schema_registry: {url: http://127.0.0.1:1}\n",
            "the first schema must apply from timestep 0, not 3",
        ),
        ("      schema: 'not json'\n", "  schema_registry: {url: http://127.0.0.1:1}\n", "the schema text is not JSON"),
    ];
    for (topic_extra, kafka_extra, want) in cases {
        refused_at_its_place(&avro_chat(dir.path(), "avro-bad", topic_extra, kafka_extra), want);
    }
}
