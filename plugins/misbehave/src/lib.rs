//! Plugin functions that break the rules on purpose, one way each, so that the engine's tests
//! can check that every failure is contained and reported with the plugin, export, job,
//! timestep and substep. Built for `wasm32-unknown-unknown`.

use distroduce_sdk::{policy, state_update, Ctx, RawOutput};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::hint::black_box;

type Signals = BTreeMap<String, i64>;

#[derive(Debug, Deserialize)]
pub struct Timestep {
    pub timestep: i64,
}

#[derive(Debug, Deserialize)]
pub struct At {
    pub at: i64,
}

/// Panics (a trap on WASM, after the panic hook has sent the message to `fail`) once the
/// record read is at or after `args.at`; returns `{}` before.
#[policy]
pub fn panic_policy(state: &Timestep, args: &At) -> Signals {
    if state.timestep >= args.at {
        panic!("misbehave: panic_policy panicked at timestep {}", state.timestep);
    }
    Signals::new()
}

/// Never returns; only the host's time limit ends it. `black_box` keeps the optimizer from
/// proving the loop useless.
#[policy]
pub fn spin_forever() -> Signals {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

/// Allocates 1 MiB blocks and writes to every page of each until the allocator fails (which
/// aborts, i.e. traps, once the host refuses to grow the memory).
#[policy]
pub fn eat_memory() -> Signals {
    const BLOCK: usize = 1 << 20;
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; BLOCK];
        for page in block.chunks_mut(4096) {
            page[0] = 1;
        }
        blocks.push(black_box(block));
    }
}

/// Returns `0xc1`, the one byte MessagePack never uses.
#[policy]
pub fn bad_output() -> RawOutput {
    RawOutput(vec![0xc1])
}

/// Fails through `fail` with this message.
#[policy]
pub fn fail_policy() -> Result<Signals, String> {
    Err("misbehave: fail_policy refuses on purpose".to_string())
}

/// Fails through `fail` once the record read is at or after `args.at`; returns `{}` before.
#[policy]
pub fn fail_from(state: &Timestep, args: &At) -> Result<Signals, String> {
    match state.timestep >= args.at {
        true => Err(format!("misbehave: fail_from refuses at timestep {}", state.timestep)),
        false => Ok(Signals::new()),
    }
}

/// A policy whose output is an integer instead of a map of signals.
#[policy]
pub fn not_a_map() -> i64 {
    42
}

/// Emits to a topic alias no scenario declares.
#[policy]
pub fn emit_unknown_topic(ctx: &Ctx) -> Signals {
    ctx.emit("nope", None, "misbehave: nobody listens here");
    Signals::new()
}

/// A state update whose describe map declares a string output, for variables of other types.
#[state_update]
pub fn wrong_type() -> String {
    "misbehave: a string".to_string()
}

static CALLS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Counts its own calls in a global. Under the engine every run gets a fresh instance, so the
/// count restarts with each run; a leak between runs would show up as larger numbers.
#[policy]
pub fn count_calls() -> std::collections::BTreeMap<String, i64> {
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    [("calls".to_string(), n)].into_iter().collect()
}

/// Stores the `calls` signal.
#[state_update]
pub fn s_calls(signals: &std::collections::BTreeMap<String, i64>) -> i64 {
    signals.get("calls").copied().unwrap_or(0)
}

// `spin_forever` and `eat_memory` are left out: natively nothing would stop them but the
// engine's own process dying. Everything else fails natively just as it does in WASM.
distroduce_sdk::native_table!(
    panic_policy,
    bad_output,
    fail_policy,
    fail_from,
    not_a_map,
    emit_unknown_topic,
    wrong_type,
    count_calls,
    s_calls,
);
