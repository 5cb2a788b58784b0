//! Per-message encoding cost of one chat message value (7 strings, as the chat plugin emits it)
//! through `parse_emit`, as every emitted message goes: `format: json`, `avro` and `protobuf`,
//! interleaved rounds, the median of the rounds' ns per message. Built in the release profile (the
//! criterion bench `benches/value_encoding.rs` measures the same in the bench profile):
//!
//!   cargo run -j1 --release -p distroduce-registry --example encode_cost [ROUNDS] [MESSAGES]

use distroduce_model::message::parse_emit;
use distroduce_model::plan::TopicPlan;
use distroduce_model::types::ValueFormat;
use distroduce_registry::sample::{chat_payload, chat_topic};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().expect("ROUNDS and MESSAGES are numbers"));
    let (rounds, n) = (args.next().unwrap_or(15), args.next().unwrap_or(200_000));
    let payload = chat_payload();
    let formats = [("json", ValueFormat::Json), ("avro", ValueFormat::Avro), ("protobuf", ValueFormat::Protobuf)];
    let topics: Vec<[TopicPlan; 1]> = formats.iter().map(|(_, f)| [chat_topic(*f)]).collect();
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
