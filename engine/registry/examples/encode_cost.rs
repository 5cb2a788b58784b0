//! Per-message encoding cost of one chat message value (7 strings, as the chat plugin emits it)
//! through `parse_emit`, as every emitted message goes: `format: json`, `avro` and `protobuf`,
//! interleaved rounds, the median of the rounds' ns per message. Built in the release profile (the
//! criterion bench `benches/value_encoding.rs` measures the same in the bench profile):
//!
//!   cargo run -j1 --release -p distroduce-registry --example encode_cost [ROUNDS] [MESSAGES]

use distroduce_model::message::parse_emit;
use distroduce_model::plan::{TopicPlan, ValueEncoder};
use distroduce_model::types::ValueFormat;
use distroduce_model::value::json::from_json;
use distroduce_registry::avro::AvroSchema;
use distroduce_registry::protobuf::ProtoSchema;
use distroduce_registry::{AvroEncoder, ProtobufEncoder};
use std::sync::Arc;
use std::time::Instant;

const AVRO: &str = r#"{"type": "record", "name": "Message", "namespace": "chat", "fields": [
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
    let encoder: Option<Arc<dyn ValueEncoder>> = match format {
        ValueFormat::Avro => {
            Some(Arc::new(AvroEncoder::new(vec![(0, 1, "v1".into(), AvroSchema::parse(AVRO).unwrap())])))
        }
        ValueFormat::Protobuf => {
            Some(Arc::new(ProtobufEncoder::new(vec![(0, 1, "v1".into(), ProtoSchema::parse(PROTO, None).unwrap())])))
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

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().expect("ROUNDS and MESSAGES are numbers"));
    let (rounds, n) = (args.next().unwrap_or(15), args.next().unwrap_or(200_000));
    let payload = from_json(&serde_json::json!({"topic": "chat", "key": "room_1", "value": {
        "client": "client_A", "room": "room_1", "action": "send", "sender": "A", "receiver": "B",
        "input": "Hi B", "created": "2019-10-03 00:00:00"}}));
    let formats = [("json", ValueFormat::Json), ("avro", ValueFormat::Avro), ("protobuf", ValueFormat::Protobuf)];
    let topics: Vec<[TopicPlan; 1]> = formats.iter().map(|(_, f)| [topic(*f)]).collect();
    let mut ns: Vec<Vec<f64>> = vec![Vec::new(); formats.len()];
    for _ in 0..rounds {
        for (i, t) in topics.iter().enumerate() {
            let start = Instant::now();
            for _ in 0..n {
                std::hint::black_box(parse_emit(std::hint::black_box(&payload), t, 0, 1).unwrap());
            }
            ns[i].push(start.elapsed().as_nanos() as f64 / n as f64);
        }
    }
    let json = median(&mut ns[0].clone());
    println!("format    ns/msg (median of {rounds} rounds x {n})  min    max    bytes/value  vs json");
    for (i, (name, _)) in formats.iter().enumerate() {
        let bytes = parse_emit(&payload, &topics[i], 0, 1).unwrap().value.len();
        let v = &mut ns[i];
        let m = median(v);
        let (lo, hi) = (v[0], v[v.len() - 1]);
        println!("{name:9} {m:8.0} {lo:30.0} {hi:6.0} {bytes:12} {:7.0} %", 100.0 * m / json);
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
