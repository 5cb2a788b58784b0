//! The cost of encoding one chat message value (7 string fields, as the chat plugin emits it)
//! from the emitted MessagePack: `format: json` against `format: avro` and `format: protobuf`
//! (Confluent wire format), through `parse_emit`, the function every emitted message goes through.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use distroduce::model::message::parse_emit;
use distroduce::model::types::ValueFormat;
use distroduce::registry::sample::{chat_payload, chat_topic};

fn bench(c: &mut Criterion) {
    let payload = chat_payload();
    let mut g = c.benchmark_group("value_encoding");
    g.throughput(Throughput::Elements(1));
    for (name, format) in
        [("json", ValueFormat::Json), ("avro", ValueFormat::Avro), ("protobuf", ValueFormat::Protobuf)]
    {
        let topics = [chat_topic(format)];
        let m = parse_emit(&payload, &topics, 0, 1).unwrap();
        eprintln!("{name}: {} bytes per value", m.value.len());
        g.bench_function(name, |b| b.iter(|| parse_emit(&payload, &topics, 0, 1).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
