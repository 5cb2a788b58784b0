//! The SDK's typed in-guest loop (ABI.md §11) running radCAD's model natively, without the
//! engine or WebAssembly: what the loop's own bookkeeping costs per substep, against the
//! hand-written model (`benches/native_radcad.rs`) and the engine (`benches/radcad_ratio.sh`).
//!
//!   cargo run --release -p radcad-bench-plugin --example native_loop -- [TIMESTEPS] [--values]
//!
//! One job (`params.a = 2`), the engine's program as `engine run --format none` sends it (no
//! values read, unless `--values`); prints the time per substep.

use distroduce_sdk::native::TestHost;
use radcad_bench_plugin::{program, typed_direct_loop};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let values = args.iter().any(|a| a == "--values");
    let timesteps: u64 = match args.iter().find(|a| !a.starts_with("--")) {
        Some(t) => t.parse().unwrap_or_else(|_| {
            eprintln!("native_loop: TIMESTEPS must be a positive integer, got `{t}`");
            std::process::exit(2)
        }),
        None => 1_000_000,
    };
    // The functions called through the direct table, as the plugin runs them in the guest (the
    // boxed table, `typed_functions`, is slower and only a reference for tests).
    let mut l = typed_direct_loop(&program(values)).expect("the model's program loads");
    let mut host = TestHost::new(0, 0);
    let started = std::time::Instant::now();
    let mut bytes = 0;
    for t in 1..=timesteps {
        assert_eq!(l.run_timestep(t, 0, &mut host), 0, "timestep {t} failed");
        bytes += l.output().len();
    }
    let s = started.elapsed().as_secs_f64();
    let substeps = 2 * timesteps;
    println!(
        "{{\"substeps\": {substeps}, \"seconds\": {s}, \"ns_per_substep\": {:.1}, \"record_bytes\": {bytes}}}",
        s * 1e9 / substeps as f64
    );
}
