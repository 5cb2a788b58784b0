//! Emitted payloads that repeat, parsed once: [`EmitCache::parse_into`] gives what
//! [`parse_emit_into`](crate::message::parse_emit_into) gives, but a payload byte-equal to one it
//! parsed successfully earlier (same topics) is not checked, decoded or turned into JSON text
//! again: its message is copied from the one kept, with the event time of the call's clock.
//!
//! A model that publishes the same message from timestep to timestep (chat under a frozen clock:
//! the same four messages every timestep) otherwise walks and transcodes identical bytes millions
//! of times. What a parsed message depends on, and so what a kept one is keyed on:
//! - the payload's bytes, compared in full (never a hash);
//! - the topics' settings (format, key template, headers, partition): the cache is for one set of
//!   topics; [`EmitCache::clear`] when they change;
//! - the call's clock, which is the event time unless the payload gives its own `time_ns`: a kept
//!   message remembers which, and takes the clock of the call that emits it again;
//! - the timestep, which picks the schema version of a topic whose values a schema registry
//!   encodes (`avro`, `protobuf`): such a message is kept with its timestep and matches only
//!   that one.
//!
//! Only payloads that parsed are kept; a payload that fails is parsed in full every time, with
//! the same error. Payloads that never repeat (a clock that moves, a counter in every message)
//! cost one comparison per kept message, and after [`KEEP_MISSES`] misses in a row only one
//! miss in [`BACKOFF`] is kept.

use crate::message::{fixed_into, ns_to_ms, parse_emit_to, MsgMeta, OutMessage};
use crate::plan::TopicPlan;

/// Messages kept at most.
const SLOTS: usize = 8;
/// Payloads larger than this are not kept (a comparison costs what it saves, and memory).
const MAX_PAYLOAD: usize = 16 * 1024;
/// Misses in a row that are all kept; after them, one in [`BACKOFF`].
const KEEP_MISSES: u32 = 32;
const BACKOFF: u32 = 64;

/// A payload that parsed, and its message.
#[derive(Debug, Default)]
struct Kept {
    payload: Vec<u8>,
    msg: OutMessage,
    /// The event time is the emitting call's clock (the payload gave no `time_ns`).
    clock: bool,
    /// The timestep it was parsed at, for a topic whose encoding depends on it.
    timestep: Option<u64>,
}

/// Recently parsed payloads of one job (one set of topics).
#[derive(Debug, Default)]
pub struct EmitCache {
    kept: Vec<Kept>,
    /// The slot the next kept message replaces once all are used.
    next: usize,
    /// Misses since the last hit.
    misses: u32,
}

impl EmitCache {
    /// Forget every kept message (the topics changed).
    pub fn clear(&mut self) {
        self.kept.clear();
        self.next = 0;
        self.misses = 0;
    }

    /// [`parse_emit_into`](crate::message::parse_emit_into) with repeated payloads parsed once:
    /// the same result, the same errors.
    pub fn parse_into(
        &mut self,
        b: &[u8],
        topics: &[TopicPlan],
        now_ns: i64,
        timestep: u64,
        out: &mut OutMessage,
    ) -> Result<(), String> {
        // The SDKs' layout for bytes is read in one pass that copies the value: nothing to save.
        if fixed_into(b, topics, now_ns, out) {
            return Ok(());
        }
        if let Some(k) = self.kept.iter().find(|k| k.payload == b && k.timestep.is_none_or(|t| t == timestep)) {
            copy_into(&k.msg, out);
            if k.clock {
                out.event_time_ms = Some(ns_to_ms(now_ns));
            }
            self.misses = 0;
            return Ok(());
        }
        let clock = parse_emit_to(b, topics, now_ns, timestep, out)?;
        self.misses = self.misses.saturating_add(1);
        if b.len() <= MAX_PAYLOAD && (self.misses <= KEEP_MISSES || self.misses.is_multiple_of(BACKOFF)) {
            let registry = topics[out.topic].format.uses_registry();
            self.keep(b, out, clock, registry.then_some(timestep));
        }
        Ok(())
    }

    fn keep(&mut self, b: &[u8], msg: &OutMessage, clock: bool, timestep: Option<u64>) {
        let slot = if self.kept.len() < SLOTS {
            self.kept.push(Kept::default());
            self.kept.len() - 1
        } else {
            let s = self.next;
            self.next = (s + 1) % SLOTS;
            s
        };
        let k = &mut self.kept[slot];
        k.payload.clear();
        k.payload.extend_from_slice(b);
        copy_into(msg, &mut k.msg);
        k.clock = clock;
        k.timestep = timestep;
    }
}

/// `*to = from.clone()`, reusing `to`'s buffers.
fn copy_into(from: &OutMessage, to: &mut OutMessage) {
    to.topic = from.topic;
    to.value.clear();
    to.value.extend_from_slice(&from.value);
    match &from.key {
        Some(k) => {
            let buf = to.key.get_or_insert_with(Vec::new);
            buf.clear();
            buf.extend_from_slice(k);
        }
        None => to.key = None,
    }
    to.headers.clone_from(&from.headers);
    to.partition = from.partition;
    to.event_time_ms = from.event_time_ms;
    to.meta = MsgMeta::default();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::parse_emit;
    use crate::plan::{KeyTemplate, ValueEncoder};
    use crate::types::ValueFormat;
    use crate::value::json::from_json;
    use serde_json::json;
    use std::sync::Arc;

    fn topic(alias: &str, format: ValueFormat) -> TopicPlan {
        TopicPlan { format, ..crate::message::tests::topic(alias) }
    }

    /// An "encoder" whose output names the timestep, as a schema version would differ.
    #[derive(Debug)]
    struct ByStep;
    impl ValueEncoder for ByStep {
        fn encode(&self, value: &[u8], timestep: u64) -> Result<Vec<u8>, String> {
            if timestep == 13 {
                return Err("no schema at 13".into());
            }
            Ok([value, &timestep.to_be_bytes()].concat())
        }
    }

    fn topics() -> Vec<TopicPlan> {
        let mut keyed = topic("keyed", ValueFormat::Json);
        keyed.key = Some(KeyTemplate::parse("room-{room}").unwrap());
        keyed.headers = vec![("h".into(), b"v".to_vec())];
        keyed.partition = Some(3);
        let mut reg = topic("reg", ValueFormat::Avro);
        reg.encoder = Some(Arc::new(ByStep));
        vec![topic("chat", ValueFormat::Json), keyed, topic("raw", ValueFormat::Raw), reg]
    }

    /// Every payload, in every order and at every clock and timestep, parses through the cache
    /// as it parses without: hits, near misses (equal length, one byte apart), malformed bytes
    /// after good ones, `time_ns` given or not, registry topics at other timesteps.
    #[test]
    fn the_cache_gives_what_a_full_parse_gives() {
        let topics = topics();
        let good = from_json(&json!({"topic": "chat", "key": "room_1", "value": {"input": "Hi B", "n": 1}}));
        // Equal length, one byte apart, in the value's text.
        let at = good.windows(4).position(|w| w == b"Hi B").unwrap() - 1;
        let mut near = good.clone();
        near[at + 4] = b'C';
        // Equal length, a string marker turned into the reserved 0xc1: malformed.
        let mut malformed = good.clone();
        malformed[at] = 0xc1;
        // Equal length, a string's bytes no longer UTF-8: the JSON text takes another path.
        let mut not_utf8 = good.clone();
        not_utf8[at + 1] = 0xff;
        let mut truncated = good.clone();
        truncated.pop();
        let timed = from_json(&json!({"topic": "chat", "value": [1, 2], "time_ns": 5_000_000_123i64}));
        let keyed = from_json(&json!({"topic": "keyed", "value": {"room": "r1"}, "headers": {"x": "y"}}));
        let no_field = from_json(&json!({"topic": "keyed", "value": {"other": 1}}));
        let raw_bad = from_json(&json!({"topic": "raw", "value": {"a": 1}}));
        let reg = from_json(&json!({"topic": "reg", "value": {"a": 1}}));
        let unknown = from_json(&json!({"topic": "nope", "value": 1}));
        let payloads = [good, near, malformed, not_utf8, truncated, timed, keyed, no_field, raw_bad, reg, unknown];
        let mut cache = EmitCache::default();
        let mut out = OutMessage::default();
        let mut hits = 0;
        for round in 0..40u64 {
            for i in 0..payloads.len() {
                // The order, the clock and the timestep change from round to round.
                let b = &payloads[(i * 7 + round as usize) % payloads.len()];
                let (now, step) = (1_000_000 * round as i64 + i as i64, 10 + round % 5);
                let was_kept = cache.kept.iter().any(|k| k.payload == *b && k.timestep.is_none_or(|t| t == step));
                let want = parse_emit(b, &topics, now, step);
                let got = cache.parse_into(b, &topics, now, step, &mut out);
                match (want, got) {
                    (Ok(w), Ok(())) => assert_eq!(w, out, "{b:02x?} at {now} {step}"),
                    (Err(w), Err(g)) => {
                        assert_eq!(w, g);
                        assert!(!was_kept, "a failing payload was kept");
                    }
                    (w, g) => panic!("{b:02x?}: {w:?} / {g:?}"),
                }
                hits += usize::from(was_kept);
            }
        }
        assert!(hits > 100, "the cache was used ({hits} hits)");
        assert!(cache.kept.iter().all(|k| parse_emit(&k.payload, &topics, 0, 10).is_ok()));
    }

    /// Many payloads that never repeat, then one that does: still right, and kept again.
    #[test]
    fn a_long_run_of_misses_keeps_few_and_recovers() {
        let topics = topics();
        let mut cache = EmitCache::default();
        let mut out = OutMessage::default();
        for i in 0..1000 {
            let b = from_json(&json!({"topic": "chat", "value": {"i": i}}));
            cache.parse_into(&b, &topics, i, 0, &mut out).unwrap();
            assert_eq!(out, parse_emit(&b, &topics, i, 0).unwrap());
        }
        let b = from_json(&json!({"topic": "chat", "value": "again"}));
        for i in 0..200 {
            cache.parse_into(&b, &topics, i, 0, &mut out).unwrap();
            assert_eq!(out, parse_emit(&b, &topics, i, 0).unwrap());
        }
        assert!(cache.kept.iter().any(|k| k.payload == b));
        cache.clear();
        assert!(cache.kept.is_empty());
    }
}
