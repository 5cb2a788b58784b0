//! Cost of one plugin call, host to guest and back, with a realistic small input: the conformance
//! model's `p_inc_b` (reads `state.a`, returns two signals). WASM vs the same code compiled natively.

use criterion::{criterion_group, criterion_main, Criterion};
use distroduce::model::value::json::from_json;
use distroduce::plugin_host::CallSetup;
use distroduce_benches::{model, native, wasm};

fn bench(c: &mut Criterion) {
    let m = model("scenarios/conformance/ref1_policy_agg.yaml", 1, 1);
    let input = from_json(&serde_json::json!({
        "params": {}, "state": {"a": 11, "b": 13, "c": 0, "d": 6, "simulation": 0, "subset": 0, "run": 1, "substep": 2, "timestep": 1},
        "ctx": {"simulation": 0, "subset": 0, "run": 1, "timestep": 2, "substep": 1, "seed": 99, "time_ns": 0},
    }));
    let mut g = c.benchmark_group("plugin_call");
    for (name, (backend, resolved)) in [("wasm", wasm(&m)), ("native", native(&m))] {
        let slot = resolved.blocks[0].policies[1];
        let mut job = backend.instantiate(1).unwrap();
        let mut out = Vec::new();
        g.bench_function(name, |b| {
            b.iter(|| {
                job.call(slot, &[&input], CallSetup { seed: 1, now_ns: 0 }, &mut out).unwrap();
                std::hint::black_box(&out);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
