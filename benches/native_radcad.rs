//! radCAD's benchmark model written by hand in plain Rust: no engine, no plugin, no MessagePack.
//! It is the floor the engine is measured against ("within 2× of hand-written Rust"), and it
//! produces the same records as `scenarios/bench/radcad.yaml` (checked by the engine's tests).
//!
//!   native-radcad RUNS TIMESTEPS [--jsonl FILE]
//!
//! Prints `{"substeps": N, "seconds": S}`; with `--jsonl`, writes every record as the engine's
//! `records.jsonl` has them (in the engine's job order: subset-major).

use std::io::Write;

/// One row of the model's records.
#[derive(Debug, Clone, Copy)]
struct Record {
    a: f64,
    b: f64,
    subset: u32,
    run: u32,
    substep: u32,
    timestep: u64,
}

/// Params of the two subsets: `a: [1, 2]`, `b: [1]` broadcast.
const PARAM_A: [i64; 2] = [1, 2];

/// One job: block 1 `a ← a·|cos a|`; block 2 five policies `{step_size: 1}` summed, then
/// `b ← b + step_size·params.a`. Each block reads the previous record, as in cadCAD.
fn job(subset: u32, run: u32, timesteps: u64, out: &mut Vec<Record>) {
    let mut r = Record { a: 1.0, b: 2.0, subset, run, substep: 0, timestep: 0 };
    out.push(r);
    let pa = PARAM_A[subset as usize];
    for t in 1..=timesteps {
        r = Record { a: r.a * r.a.cos().abs(), substep: 1, timestep: t, ..r };
        out.push(r);
        let step_size: i64 = (0..5).map(|_| std::hint::black_box(1i64)).sum();
        let step = step_size.checked_mul(pa).expect("small numbers");
        r = Record { b: r.b + step as f64, substep: 2, ..r };
        out.push(r);
    }
}

fn main() {
    let (runs, timesteps, mut file) = distroduce_benches::native_args("native-radcad");
    let mut records = Vec::with_capacity(1 + 2 * timesteps as usize);
    let mut substeps = 0u64;
    let mut seconds = 0.0;
    for subset in 0..2u32 {
        for run in 1..=runs {
            records.clear();
            let started = std::time::Instant::now();
            job(subset, run, timesteps, &mut records);
            seconds += started.elapsed().as_secs_f64();
            substeps += records.len() as u64 - 1;
            if let Some(f) = &mut file {
                for r in &records {
                    let line = serde_json::json!({
                        "a": r.a, "b": r.b, "simulation": 0, "subset": r.subset, "run": r.run,
                        "substep": r.substep, "timestep": r.timestep,
                    });
                    writeln!(f, "{line}").expect("write records");
                }
            }
            std::hint::black_box(&records);
        }
    }
    if let Some(f) = &mut file {
        f.flush().expect("write records");
    }
    println!("{{\"substeps\": {substeps}, \"seconds\": {seconds}}}");
}
