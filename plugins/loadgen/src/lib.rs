//! The minimal scenario of the peer comparison: each call emits `count` messages of `size` bytes to
//! the topic alias `load`, with no key (as `kafka-producer-perf-test` sends them). The payload is
//! random alphanumeric text drawn once per call from the engine's RNG, so it does not compress
//! unrealistically and the model costs next to nothing.

use distroduce_sdk::{policy, state_update, Ctx};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
pub struct Load {
    /// Messages per call.
    pub count: u32,
    /// Payload bytes per message.
    pub size: u32,
}

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Emit `count` messages of `size` bytes and report how many as the `sent` signal.
#[policy]
pub fn emit(ctx: &Ctx, args: &Load) -> BTreeMap<String, i64> {
    let mut payload: Vec<u8> =
        (0..args.size).map(|_| ALPHABET[(ctx.rng_u64() % ALPHABET.len() as u64) as usize]).collect();
    for i in 0..args.count {
        // Vary the first bytes so consecutive messages differ.
        let tag = (i as u64).to_le_bytes();
        for (b, t) in payload.iter_mut().zip(tag) {
            *b = ALPHABET[(t as usize) % ALPHABET.len()];
        }
        ctx.emit_bytes("load", None, &payload);
    }
    [("sent".to_string(), args.count as i64)].into_iter().collect()
}

#[derive(Deserialize)]
pub struct Sent {
    pub sent: i64,
}

#[derive(Deserialize)]
pub struct Total {
    pub total: i64,
}

/// `total <- total + sent`.
#[state_update]
pub fn count(state: &Total, signals: &Sent) -> i64 {
    state.total.saturating_add(signals.sent)
}

distroduce_sdk::native_table!(emit, count);
