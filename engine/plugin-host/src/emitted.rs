//! The messages a job's plugin calls emitted, parsed at `emit` time: each payload is read where
//! the guest wrote it (its memory, or a native plugin's buffer) straight into a recycled
//! [`OutMessage`], so that a value is copied once on its way to the producer, not first into a
//! buffer of raw payloads and then into its message.

use distroduce_model::message::{parse_emit_into, OutMessage};
use distroduce_model::TopicPlan;
use std::ops::Range;
use std::sync::Arc;

/// The messages emitted since the executor last took them, in emission order.
///
/// A payload that does not parse is kept as an error at its position; the payloads after it are
/// counted (the in-guest loop's marks count them) but not parsed: the executor fails the call
/// that sent the bad one, and none of that call's messages are published.
#[derive(Debug)]
pub struct Emitted {
    /// The run's topics, which payloads name by alias (set by the executor for each job).
    topics: Arc<[TopicPlan]>,
    /// The timestep whose schema version values of `format: avro` and `protobuf` take; the
    /// executor sets it before its calls (the in-guest loop's cursor moves it in a batch).
    pub timestep: u64,
    msgs: Vec<OutMessage>,
    /// How many messages at the start of `msgs` were moved out by [`Emitted::take`] (left empty).
    moved: usize,
    /// Sent messages whose buffers the next ones reuse.
    spare: Vec<OutMessage>,
    /// Payloads emitted, a bad one and those after it included.
    count: usize,
    /// Their total size in bytes.
    bytes: usize,
    /// The first payload that did not parse: its position and why.
    error: Option<(usize, String)>,
}

impl Default for Emitted {
    fn default() -> Self {
        Self {
            topics: Arc::from(Vec::new()),
            timestep: 0,
            msgs: Vec::new(),
            moved: 0,
            spare: Vec::new(),
            count: 0,
            bytes: 0,
            error: None,
        }
    }
}

impl Emitted {
    /// The topics payloads may name.
    pub fn set_topics(&mut self, topics: Arc<[TopicPlan]>) {
        self.topics = topics;
    }

    /// One `emit` payload of a call whose virtual clock is `now_ns`.
    pub fn push(&mut self, payload: &[u8], now_ns: i64) {
        let at = self.count;
        self.count += 1;
        self.bytes += payload.len();
        if self.error.is_some() {
            return;
        }
        let mut m = self.spare.pop().unwrap_or_default();
        match parse_emit_into(payload, &self.topics, now_ns, self.timestep, &mut m) {
            Ok(()) => self.msgs.push(m),
            Err(e) => {
                self.spare.push(m);
                self.error = Some((at, e));
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Payloads emitted since the last [`Emitted::clear`].
    pub fn len(&self) -> usize {
        self.count
    }

    /// Their size in bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Move the messages at positions `range` to the end of `out`, in order. If one of them did
    /// not parse, only those before it are moved, and the error is its position and why.
    /// Positions are those of [`Emitted::push`] since the last clear; ranges are taken in order,
    /// each after the one before.
    pub fn take(&mut self, range: Range<usize>, out: &mut Vec<OutMessage>) -> Result<(), (usize, String)> {
        let end = range.end.min(self.msgs.len());
        let start = range.start.max(self.moved).min(end);
        if start == 0 && end == self.msgs.len() && out.is_empty() {
            // All of them into an empty vector: no message moves.
            std::mem::swap(&mut self.msgs, out);
        } else {
            out.extend(self.msgs[start..end].iter_mut().map(std::mem::take));
            self.moved = end;
        }
        match &self.error {
            Some((at, e)) if range.contains(at) => Err((*at, e.clone())),
            _ => Ok(()),
        }
    }

    /// Forget what was emitted (messages not taken keep their buffers for the next ones).
    pub fn clear(&mut self) {
        self.spare.extend(self.msgs.drain(self.moved..));
        self.msgs.clear();
        self.moved = 0;
        self.count = 0;
        self.bytes = 0;
        self.error = None;
    }

    /// Hand back spent messages, whose buffers the next payloads are parsed into.
    pub fn recycle(&mut self, spent: &mut Vec<OutMessage>) {
        if self.spare.is_empty() {
            std::mem::swap(&mut self.spare, spent);
        } else {
            self.spare.append(spent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use distroduce_model::types::ValueFormat;

    fn topics() -> Arc<[TopicPlan]> {
        let t = TopicPlan {
            alias: "t".into(),
            name: "t".into(),
            partitions: 1,
            replication: 1,
            format: ValueFormat::Raw,
            key: None,
            headers: vec![("h".into(), b"v".to_vec())],
            partition: None,
            disorder: None,
            schemas: Vec::new(),
            encoder: None,
        };
        Arc::from(vec![t])
    }

    /// `{topic: "t", value: bin(v)}` as the SDKs write it.
    fn payload(v: &[u8]) -> Vec<u8> {
        let mut b = b"\x82\xa5topic\xa1t\xa5value\xc4".to_vec();
        b.push(v.len() as u8);
        b.extend_from_slice(v);
        b
    }

    #[test]
    fn parses_at_emit_and_takes_ranges_in_order() {
        let mut e = Emitted::default();
        e.set_topics(topics());
        for v in [b"a", b"b", b"c"] {
            e.push(&payload(v), 5_000_000);
        }
        assert_eq!((e.len(), e.bytes()), (3, 3 * payload(b"a").len()));
        let mut out = Vec::new();
        e.take(0..1, &mut out).unwrap();
        e.take(1..3, &mut out).unwrap();
        let values: Vec<&[u8]> = out.iter().map(|m| m.value.as_slice()).collect();
        assert_eq!(values, [b"a", b"b", b"c"]);
        assert!(out.iter().all(|m| m.event_time_ms == Some(5) && m.headers == [("h".to_string(), b"v".to_vec())]));
        // Spent messages come back and are parsed into again, with nothing of the old left.
        e.clear();
        e.recycle(&mut out);
        e.push(&payload(b"d"), 0);
        e.take(0..1, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].value, b"d");
    }

    #[test]
    fn a_bad_payload_stops_the_parse_at_its_position() {
        let mut e = Emitted::default();
        e.set_topics(topics());
        e.push(&payload(b"a"), 0);
        e.push(b"\xc1", 0);
        e.push(&payload(b"c"), 0);
        assert_eq!(e.len(), 3);
        let mut out = Vec::new();
        assert_eq!(e.take(0..1, &mut out), Ok(()));
        let (at, why) = e.take(1..3, &mut out).unwrap_err();
        assert_eq!(at, 1);
        assert!(why.contains("MessagePack"), "{why}");
        assert_eq!(out.len(), 1);
        e.clear();
        assert!(e.is_empty());
        e.push(&payload(b"z"), 0);
        assert_eq!(e.take(0..1, &mut out), Ok(()));
    }
}
