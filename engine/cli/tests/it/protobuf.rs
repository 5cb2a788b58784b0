//! `format: protobuf` against the real broker and a real schema registry (Apicurio Registry's
//! Confluent API, scripts/schema-registry): the consumer fetches each message's schema from the
//! registry by its id, compiles it with `grpcio-tools` (protoc) into its own descriptor pool, picks
//! the message type by the message indexes on the wire and decodes with confluent-kafka's
//! ProtobufDeserializer, never with our own decoder.

use crate::avro::{
    consume_decoding, evolved_messages, misfit_fails_its_job, refused_at_its_place, refused_at_validate_and_run,
    registry, registry_chat, run_to_broker, CHAT_INPUTS,
};
use crate::common::kafka::{fresh, shared};
use std::path::{Path, PathBuf};

/// Every field the chat plugin emits (a field the message does not declare is an error).
const V1: &str = r#"syntax = "proto3";
package chat;

// A chat message as the chat plugin emits it.
message Message {
  string client = 1;
  string room = 2;
  string action = 3;
  string sender = 4;
  optional string receiver = 5;
  string input = 6;
  string created = 7;
}
"#;
/// Another message declared first (values of chat.Message now carry message index [1]) and a new
/// field: BACKWARD compatible.
const V2: &str = r#"syntax = "proto3";
package chat;

message Room {
  string name = 1;
}

message Message {
  string client = 1;
  string room = 2;
  string action = 3;
  string sender = 4;
  optional string receiver = 5;
  string input = 6;
  string created = 7;
  int32 priority = 8;
}
"#;

/// `format: protobuf` chat with the schema files written beside it.
fn proto_chat(dir: &Path, topic: &str, topic_extra: &str, kafka_extra: &str) -> PathBuf {
    std::fs::write(dir.join("v1.proto"), V1).unwrap();
    std::fs::write(dir.join("v2.proto"), V2).unwrap();
    std::fs::write(dir.join("v2-bad.proto"), V1.replace("string input = 6;", "int32 input = 6;")).unwrap();
    registry_chat(dir, "protobuf", topic, topic_extra, kafka_extra)
}

/// Fetch the writer's schema by the id on the wire, compile it with protoc, find the message by the
/// indexes on the wire, decode with confluent-kafka's ProtobufDeserializer.
const DECODER: &str = r#"
import os, tempfile
from grpc_tools import protoc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer
gen = tempfile.mkdtemp()
classes = {}
def zigzag_varint(raw, pos):
    n = shift = 0
    while True:
        b = raw[pos]
        pos += 1
        n |= (b & 0x7f) << shift
        shift += 7
        if b < 0x80:
            return (n >> 1) ^ -(n & 1), pos
def indexes(raw):
    count, pos = zigzag_varint(raw, 5)
    if count == 0:
        return (0,)
    out = []
    for _ in range(count):
        i, pos = zigzag_varint(raw, pos)
        out.append(i)
    return tuple(out)
def decode(raw, ctx):
    sid, idx = int.from_bytes(raw[1:5], "big"), indexes(raw)
    if (sid, idx) not in classes:
        schema = sr.get_schema(sid)
        assert schema.schema_type == "PROTOBUF", schema.schema_type
        name = "s%d.proto" % sid
        with open(os.path.join(gen, name), "w") as f:
            f.write(schema.schema_str)
        out = os.path.join(gen, name + ".pb")
        assert protoc.main(["protoc", "-I" + gen, "--descriptor_set_out=" + out, os.path.join(gen, name)]) == 0
        proto = descriptor_pb2.FileDescriptorSet.FromString(open(out, "rb").read()).file[0]
        pool = descriptor_pool.DescriptorPool()  # one per schema version: versions share type names
        pool.AddSerializedFile(proto.SerializeToString())
        fd = pool.FindFileByName(name)
        p = proto.message_type[idx[0]]
        desc = fd.message_types_by_name[p.name]
        for i in idx[1:]:
            p = p.nested_type[i]
            desc = desc.nested_types_by_name[p.name]
        cls = message_factory.GetMessageClass(desc)
        classes[(sid, idx)] = (desc.full_name, ProtobufDeserializer(cls, {"use.deprecated.format": False}))
    name, de = classes[(sid, idx)]
    msg = de(raw, ctx)
    return {"type": name, "indexes": list(idx),
            "fields": json_format.MessageToDict(msg, preserving_proto_field_name=True,
                                                always_print_fields_with_no_presence=True)}
"#;

#[test]
#[ignore = "needs Apache Kafka (DISTRODUCE_KAFKA_BROKERS), the schema registry (DISTRODUCE_SCHEMA_REGISTRY) and the Python venv (DISTRODUCE_PYTHON): scripts/test starts them"]
fn every_message_decodes_with_the_registry_and_the_schema_evolves_at_its_timestep() {
    let _broker = shared();
    let dir = tempfile::tempdir().unwrap();
    let topic = fresh("proto-evolve");
    // Version 1 inline (a YAML block string), version 2 from a file, from timestep 6.
    let v1_inline: String = V1.lines().map(|l| format!("              {l}\n")).collect();
    let s = proto_chat(
        dir.path(),
        &topic,
        &format!("      message: chat.Message\n      schemas:\n        - from_timestep: 0\n          schema: |\n{v1_inline}        - {{from_timestep: 6, schema: {{file: v2.proto}}}}\n"),
        &format!("  schema_registry: {{url: {}}}\n", registry()),
    );
    for (t, m) in evolved_messages(&s, &dir.path().join("out"), &topic, DECODER) {
        let (v, f) = (&m["value"], &m["value"]["fields"]);
        assert_eq!(v["type"], "chat.Message");
        assert_eq!(f["room"], "room_1");
        assert_eq!(f["action"], "send");
        assert!(CHAT_INPUTS.contains(&f["input"].as_str().unwrap()), "{v}");
        let other = if f["sender"] == "A" { "B" } else { "A" };
        assert_eq!(f["receiver"], other, "{v}");
        assert!(f["created"].as_str().unwrap().starts_with("20"), "{v}");
        if t < 6 {
            assert_eq!(v["indexes"], serde_json::json!([0]), "{m}");
            assert!(f.get("priority").is_none(), "version 1 has no priority: {v}");
        } else {
            assert_eq!(v["indexes"], serde_json::json!([1]), "chat.Message is version 2's second message: {m}");
            assert_eq!(f["priority"], 0, "a field the plugin does not emit decodes as its default: {v}");
        }
    }
}

#[test]
#[ignore = "needs Apache Kafka (DISTRODUCE_KAFKA_BROKERS), the schema registry (DISTRODUCE_SCHEMA_REGISTRY) and the Python venv (DISTRODUCE_PYTHON): scripts/test starts them"]
fn the_record_strategy_names_the_subject_after_the_message() {
    let _broker = shared();
    let dir = tempfile::tempdir().unwrap();
    let topic = fresh("proto-subject");
    let subject = format!("{topic}-chat.Message");
    let s = proto_chat(
        dir.path(),
        &topic,
        "      schema: {file: v1.proto}\n",
        &format!("  schema_registry: {{url: {}, subject_strategy: topic_record}}\n", registry()),
    );
    let out = dir.path().join("out");
    run_to_broker(&s, &out, &["--timesteps", "2"]);
    let (got, subjects) = consume_decoding(&topic, &subject, 8, DECODER);
    assert!(subjects.contains(&subject), "subject {subject} not in {subjects:?}");
    assert_eq!(got.len(), 8);
    assert!(got.iter().all(|m| m["version"] == 1), "ids are versions of {subject}: {got:?}");
}

#[test]
#[ignore = "needs the schema registry (DISTRODUCE_SCHEMA_REGISTRY): scripts/test starts it"]
fn an_incompatible_version_is_refused_at_validate_and_run_with_the_registrys_reason() {
    let dir = tempfile::tempdir().unwrap();
    let topic = fresh("proto-incompatible");
    let s = proto_chat(
        dir.path(),
        &topic,
        "      schemas:\n        - {from_timestep: 0, schema: {file: v1.proto}}\n        - {from_timestep: 4, schema: {file: v2-bad.proto}}\n",
        "",
    );
    let (validate, _) = refused_at_validate_and_run(&s, "v2-bad.proto", &format!("{topic}-value"));
    assert!(validate.contains("not backward compatible"), "the registry's reason: {validate}");
    assert!(validate.contains("field 6 `input` changed from string to int32"), "what changed: {validate}");
}

#[test]
#[ignore = "needs the schema registry (DISTRODUCE_SCHEMA_REGISTRY): scripts/test starts it"]
fn a_value_the_message_cannot_hold_fails_its_job_naming_plugin_timestep_and_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("int.proto"), V1.replace("string input = 6;", "int32 input = 6;")).unwrap();
    std::fs::write(dir.path().join("short.proto"), V1.replace("  string created = 7;\n", "")).unwrap();
    for (schema, want) in [
        ("int.proto", "field `input`: expected int32, got \"Hi B\""),
        ("short.proto", "field `created`: message `chat.Message` has no such field (its fields: client, room, action, sender, receiver, input)"),
    ] {
        let topic = fresh("proto-misfit");
        let s = proto_chat(dir.path(), &topic, &format!("      schema: {{file: {schema}}}\n"), "");
        let err = misfit_fails_its_job(&s);
        assert!(err.contains("the value does not fit the Protobuf message `chat.Message`"), "{err}");
        assert!(err.contains(want), "{want}: {err}");
    }
}

/// No service needed: what the scenario file alone gets wrong is reported at its place, and a
/// `.proto` that does not parse is reported with its line in the `.proto` (the registry is not asked).
#[test]
fn protobuf_settings_are_checked_at_their_place_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.proto"), "syntax = \"proto3\";\nmessage M {\n  strng x = 1;\n}\n").unwrap();
    let reg = "  schema_registry: {url: http://127.0.0.1:1}\n";
    let cases = [
        ("      schema: {file: missing.proto}\n", reg, "cannot read schema file"),
        ("", reg, "has `format: protobuf` but no `schema`"),
        ("      schema: {file: v1.proto}\n", "", "a topic has `format: protobuf` but no schema registry is configured"),
        ("      schema: {message: 1}\n", reg, "a `.proto` schema is text"),
        (
            "      schema: {file: v2.proto}\n      message: chat.Nope\n",
            reg,
            "the schema declares no message `chat.Nope` (it declares: chat.Room, chat.Message)",
        ),
        ("      schema: {file: v2.proto}\n", reg, "declares 2 top-level messages (chat.Room, chat.Message)"),
        ("      schema: {file: broken.proto}\n", reg, "line 3, column 3 of the .proto"),
    ];
    for (topic_extra, kafka_extra, want) in cases {
        refused_at_its_place(&proto_chat(dir.path(), "proto-bad", topic_extra, kafka_extra), want);
    }
}
