//! The cost of encoding one chat message value (7 string fields, as the chat plugin emits it)
//! from the emitted MessagePack: `format: json` against `format: avro` and `format: protobuf`
//! (Confluent wire format), through `parse_emit`, the function every emitted message goes through.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use distroduce::model::message::parse_emit;
use distroduce::model::types::ValueFormat;
use distroduce::model::value::json::from_json;
use distroduce::model::TopicPlan;
use distroduce::registry::avro::AvroSchema;
use distroduce::registry::protobuf::ProtoSchema;
use distroduce::registry::{AvroEncoder, ProtobufEncoder};
use std::sync::Arc;

const SCHEMA: &str = r#"{"type": "record", "name": "Message", "namespace": "chat", "fields": [
  {"name": "client", "type": "string"}, {"name": "room", "type": "string"},
  {"name": "action", "type": "string"}, {"name": "sender", "type": "string"},
  {"name": "receiver", "type": ["null", "string"], "default": null},
  {"name": "input", "type": "string"}, {"name": "created", "type": "string"}]}"#;

const PROTO: &str = r#"syntax = "proto3";
package chat;
message Message {
  string client = 1; string room = 2; string action = 3; string sender = 4;
  optional string receiver = 5; string input = 6; string created = 7;
}"#;

fn topic(format: ValueFormat) -> TopicPlan {
    let encoder: Option<Arc<dyn distroduce::model::plan::ValueEncoder>> = match format {
        ValueFormat::Avro => {
            let s = AvroSchema::parse(SCHEMA).unwrap();
            Some(Arc::new(AvroEncoder::new(vec![(0, 1, "bench".into(), s)])))
        }
        ValueFormat::Protobuf => {
            let s = ProtoSchema::parse(PROTO, None).unwrap();
            Some(Arc::new(ProtobufEncoder::new(vec![(0, 1, "bench".into(), s)])))
        }
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

fn bench(c: &mut Criterion) {
    let payload = from_json(&serde_json::json!({"topic": "chat", "key": "room_1", "value": {
        "client": "client_A", "room": "room_1", "action": "send", "sender": "A", "receiver": "B",
        "input": "Hi B", "created": "2019-10-03 00:00:00"}}));
    let mut g = c.benchmark_group("value_encoding");
    g.throughput(Throughput::Elements(1));
    for (name, format) in
        [("json", ValueFormat::Json), ("avro", ValueFormat::Avro), ("protobuf", ValueFormat::Protobuf)]
    {
        let topics = [topic(format)];
        let m = parse_emit(&payload, &topics, 0, 1).unwrap();
        eprintln!("{name}: {} bytes per value", m.value.len());
        g.bench_function(name, |b| b.iter(|| parse_emit(&payload, &topics, 0, 1).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
