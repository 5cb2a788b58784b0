//! The chat model end to end through the executor, messages generated but not published (null
//! sink) and no record files: substeps/s through WASM and with the plugins compiled natively.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use distroduce::model::types::RecordFormat;
use distroduce::{run_loaded, KafkaTarget, RunArgs};
use distroduce_benches::{model, native, repo, wasm};
use std::time::Instant;

const RUNS: u64 = 1;
const TIMESTEPS: u64 = 500;

fn bench(c: &mut Criterion) {
    let mut m = model("scenarios/chat.yaml", RUNS, TIMESTEPS);
    m.output.formats = vec![RecordFormat::None];
    let mut args = RunArgs::new(repo().join("scenarios/chat.yaml"));
    args.kafka = KafkaTarget::None;
    args.threads = 1;
    args.out = Some(std::env::temp_dir().join("distroduce-bench-chat"));
    m.output.dir = args.out.clone().unwrap();
    let mut g = c.benchmark_group("chat_substeps");
    g.throughput(Throughput::Elements(RUNS * TIMESTEPS * 4));
    g.sample_size(20);
    for (name, (backend, resolved)) in [("wasm", wasm(&m)), ("native", native(&m))] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let s = run_loaded(&m, backend.as_ref(), &resolved, &args, None, Instant::now()).unwrap();
                assert_eq!(s.substeps, RUNS * TIMESTEPS * 4);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
