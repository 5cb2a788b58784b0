//! The minimal scenario of the peer comparison: each call emits `count` messages of `size` bytes to
//! the topic alias `load`, with no key (as `kafka-producer-perf-test` sends them); `emit_keyed`
//! keys message `i` of the call with the decimal text of `i % keys`, the scheme
//! `benches/bare_producer.rs --keys` uses too. The payload is random alphanumeric text drawn once
//! per call from the engine's RNG, so it does not compress unrealistically and the model costs next
//! to nothing.

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

#[derive(Deserialize)]
pub struct KeyedLoad {
    /// Messages per call.
    pub count: u32,
    /// Payload bytes per message.
    pub size: u32,
    /// Distinct keys: `0` .. `keys - 1`, as decimal text.
    pub keys: u32,
}

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Emit `count` messages of `size` bytes and report how many as the `sent` signal.
#[policy]
pub fn emit(ctx: &Ctx, args: &Load) -> BTreeMap<String, i64> {
    send(ctx, args.count, args.size, 0)
}

/// [`emit`] with message `i` of the call keyed `i % keys` (decimal text).
#[policy]
pub fn emit_keyed(ctx: &Ctx, args: &KeyedLoad) -> BTreeMap<String, i64> {
    send(ctx, args.count, args.size, args.keys.max(1))
}

/// `count` messages of `size` bytes; unkeyed when `keys` is 0.
fn send(ctx: &Ctx, count: u32, size: u32, keys: u32) -> BTreeMap<String, i64> {
    let mut payload: Vec<u8> = (0..size).map(|_| ALPHABET[(ctx.rng_u64() % ALPHABET.len() as u64) as usize]).collect();
    let mut buf = [0u8; 10];
    for i in 0..count {
        // Vary the first bytes so consecutive messages differ.
        let tag = (i as u64).to_le_bytes();
        for (b, t) in payload.iter_mut().zip(tag) {
            *b = ALPHABET[(t as usize) % ALPHABET.len()];
        }
        let key = (keys > 0).then(|| decimal(i % keys, &mut buf));
        ctx.emit_bytes("load", key, &payload);
    }
    [("sent".to_string(), count as i64)].into_iter().collect()
}

/// `n` as decimal text in `buf`, without allocating.
fn decimal(mut n: u32, buf: &mut [u8; 10]) -> &str {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[at..]).expect("digits are ASCII")
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

distroduce_sdk::native_table!(emit, emit_keyed, count);

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_decimal_text() {
        let mut buf = [0u8; 10];
        assert_eq!(super::decimal(0, &mut buf), "0");
        assert_eq!(super::decimal(999, &mut buf), "999");
        assert_eq!(super::decimal(u32::MAX, &mut buf), "4294967295");
    }
}
