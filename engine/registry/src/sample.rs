//! One chat message topic per format and the chat plugin's emitted message, for the encoding
//! benchmarks (`benches/value_encoding.rs`, `examples/encode_cost.rs`).

use crate::avro::AvroSchema;
use crate::protobuf::ProtoSchema;
use crate::{AvroEncoder, ProtobufEncoder};
use distroduce_model::plan::{TopicPlan, ValueEncoder};
use distroduce_model::types::ValueFormat;
use std::sync::Arc;

/// The chat message (7 strings) as an Avro record.
pub const AVRO: &str = r#"{"type": "record", "name": "Message", "namespace": "chat", "fields": [
  {"name": "client", "type": "string"}, {"name": "room", "type": "string"},
  {"name": "action", "type": "string"}, {"name": "sender", "type": "string"},
  {"name": "receiver", "type": ["null", "string"], "default": null},
  {"name": "input", "type": "string"}, {"name": "created", "type": "string"}]}"#;

/// The chat message as a Protobuf message.
pub const PROTO: &str = r#"syntax = "proto3";
package chat;
message Message {
  string client = 1; string room = 2; string action = 3; string sender = 4;
  optional string receiver = 5; string input = 6; string created = 7;
}"#;

/// Topic `chat` in `format`, with its encoder (schema id 1) for Avro and Protobuf.
pub fn chat_topic(format: ValueFormat) -> TopicPlan {
    let encoder: Option<Arc<dyn ValueEncoder>> = match format {
        ValueFormat::Avro => {
            Some(Arc::new(AvroEncoder::new(vec![(0, 1, "v1".into(), AvroSchema::parse(AVRO).expect("valid Avro"))])))
        }
        ValueFormat::Protobuf => Some(Arc::new(ProtobufEncoder::new(vec![(
            0,
            1,
            "v1".into(),
            ProtoSchema::parse(PROTO, None).expect("valid .proto"),
        )]))),
        _ => None,
    };
    TopicPlan {
        alias: "chat".into(),
        name: "chat".into(),
        partitions: 1,
        replication: 1,
        format,
        key: None,
        headers: vec![],
        partition: None,
        disorder: None,
        schemas: vec![],
        encoder,
    }
}

/// The emit payload (MessagePack) of one chat message, as the chat plugin sends it.
pub fn chat_payload() -> Vec<u8> {
    distroduce_model::value::json::from_json(&serde_json::json!({"topic": "chat", "key": "room_1", "value": {
        "client": "client_A", "room": "room_1", "action": "send", "sender": "A", "receiver": "B",
        "input": "Hi B", "created": "2019-10-03 00:00:00"}}))
}
