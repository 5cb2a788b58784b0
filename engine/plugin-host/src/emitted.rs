//! The messages a job's plugin calls emitted, parsed at `emit` time: each payload is read where
//! the guest wrote it (its memory, or a native plugin's buffer) straight into a recycled
//! [`OutMessage`], so that a value is copied once on its way to the producer, not first into a
//! buffer of raw payloads and then into its message.

use distroduce_abi::emit::{encode_bytes, encoded_len};
use distroduce_model::emit_cache::EmitCache;
use distroduce_model::message::{bytes_emit_into, OutMessage};
use distroduce_model::TopicPlan;
use std::ops::Range;
use std::sync::Arc;

/// The messages emitted since the executor last cleared them, in emission order.
///
/// Each payload is parsed into the next slot of one vector whose slots keep their buffers from
/// clear to clear, so messages are neither allocated nor moved on their way to the sink (which
/// reads them in place, [`Emitted::messages`]). A payload that does not parse is kept as an error
/// at its position; the payloads after it are counted (the in-guest loop's marks count them) but
/// not parsed: the executor fails the call that sent the bad one, and publishes none of its
/// messages.
#[derive(Debug)]
pub struct Emitted {
    /// The run's topics, which payloads name by alias (set by the executor for each job).
    topics: Arc<[TopicPlan]>,
    /// The timestep whose schema version values of `format: avro` and `protobuf` take; the
    /// executor sets it before its calls (the in-guest loop's cursor moves it in a batch).
    pub timestep: u64,
    /// `msgs[..parsed]` are this round's messages; the slots after them are spare buffers.
    msgs: Vec<OutMessage>,
    parsed: usize,
    /// Payloads emitted, a bad one and those after it included.
    count: usize,
    /// Their total size in bytes.
    bytes: usize,
    /// The first payload that did not parse: its position and why.
    error: Option<(usize, String)>,
    /// Payloads parsed before, so that one that repeats is not parsed again.
    cache: EmitCache,
}

impl Default for Emitted {
    fn default() -> Self {
        Self {
            topics: Arc::from(Vec::new()),
            timestep: 0,
            msgs: Vec::new(),
            parsed: 0,
            count: 0,
            bytes: 0,
            error: None,
            cache: EmitCache::default(),
        }
    }
}

impl Emitted {
    /// The topics payloads may name.
    pub fn set_topics(&mut self, topics: Arc<[TopicPlan]>) {
        self.topics = topics;
        self.cache.clear();
    }

    /// One `emit` payload of a call whose virtual clock is `now_ns`.
    pub fn push(&mut self, payload: &[u8], now_ns: i64) {
        let at = self.count;
        self.count += 1;
        self.bytes += payload.len();
        if self.error.is_some() {
            return;
        }
        if self.parsed == self.msgs.len() {
            self.msgs.push(OutMessage::default());
        }
        match self.cache.parse_into(payload, &self.topics, now_ns, self.timestep, &mut self.msgs[self.parsed]) {
            Ok(()) => self.parsed += 1,
            Err(e) => self.error = Some((at, e)),
        }
    }

    /// One `emit_bytes` (ABI.md §5): the `emit` map `{topic, value: bin, key?: str}` given by its
    /// parts, counted as that map's bytes and read as [`Emitted::push`] reads it.
    pub fn push_bytes(&mut self, alias: &[u8], key: Option<&[u8]>, value: &[u8], now_ns: i64) {
        let at = self.count;
        self.count += 1;
        self.bytes += encoded_len(alias.len(), key.map(<[u8]>::len), value.len());
        if self.error.is_some() {
            return;
        }
        if self.parsed == self.msgs.len() {
            self.msgs.push(OutMessage::default());
        }
        let out = &mut self.msgs[self.parsed];
        if bytes_emit_into(alias, key, value, &self.topics, now_ns, out).is_some() {
            self.parsed += 1;
            return;
        }
        // Anything the fast reading leaves (another format, a key template, an error) is read as
        // the map itself would be, with the same result and the same words.
        let mut map = Vec::new();
        let parsed = match encode_bytes(&mut map, alias, key, value) {
            Some(()) => self.cache.parse_into(&map, &self.topics, now_ns, self.timestep, out),
            None => Err("emit_bytes: a length passes 32 bits".to_string()),
        };
        match parsed {
            Ok(()) => self.parsed += 1,
            Err(e) => self.error = Some((at, e)),
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

    /// The first payload that did not parse, if any: its position and why.
    pub fn error(&self) -> Option<&(usize, String)> {
        self.error.as_ref()
    }

    /// The messages at positions `range` (those of [`Emitted::push`] since the last clear), or,
    /// if one of them did not parse, its position and why. A sink may take messages out of the
    /// slice (`std::mem::take`); their slots get new buffers.
    pub fn messages(&mut self, range: Range<usize>) -> Result<&mut [OutMessage], (usize, String)> {
        match &self.error {
            Some((at, e)) if range.contains(at) => Err((*at, e.clone())),
            _ => Ok(&mut self.msgs[range.start.min(self.parsed)..range.end.min(self.parsed)]),
        }
    }

    /// Forget what was emitted; the messages' buffers are kept for the next ones.
    pub fn clear(&mut self) {
        self.parsed = 0;
        self.count = 0;
        self.bytes = 0;
        self.error = None;
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

    fn values(m: &[OutMessage]) -> Vec<&[u8]> {
        m.iter().map(|m| m.value.as_slice()).collect()
    }

    #[test]
    fn parses_at_emit_and_reuses_the_slots() {
        let mut e = Emitted::default();
        e.set_topics(topics());
        for v in [b"a", b"b", b"c"] {
            e.push(&payload(v), 5_000_000);
        }
        assert_eq!((e.len(), e.bytes()), (3, 3 * payload(b"a").len()));
        assert_eq!(values(e.messages(0..1).unwrap()), [b"a"]);
        let rest = e.messages(1..3).unwrap();
        assert_eq!(values(rest), [b"b", b"c"]);
        assert!(rest.iter().all(|m| m.event_time_ms == Some(5) && m.headers == [("h".to_string(), b"v".to_vec())]));
        // A message a sink took leaves an empty slot; the next round parses into every slot anew.
        std::mem::take(&mut rest[0]);
        e.clear();
        assert!(e.is_empty());
        e.push(&payload(b"d"), 0);
        e.push(&payload(b"e"), 0);
        assert_eq!(values(e.messages(0..2).unwrap()), [b"d", b"e"]);
    }

    /// `emit_bytes` gives what `emit` of the same map gives, on the fast reading and off it (a key
    /// template, a bad key, an unknown alias), counted as the map's bytes.
    #[test]
    fn bytes_by_parts_read_as_their_map() {
        let mut plans = topics().to_vec();
        let mut templated = plans[0].clone();
        templated.alias = "k".into();
        templated.key = Some(distroduce_model::KeyTemplate::parse("fixed-{x}").unwrap());
        let mut json = plans[0].clone();
        json.alias = "a".into();
        json.format = ValueFormat::Json;
        plans.push(templated);
        plans.push(json);
        let plans: Arc<[TopicPlan]> = Arc::from(plans);
        type Case<'a> = (&'a [u8], Option<&'a [u8]>, &'a [u8]);
        let cases: [Case; 7] = [
            (b"t", None, b"v"),
            (b"t", Some(b"key"), b"v"),
            (b"t", Some("kl\u{e9}".as_bytes()), &[0, 1, 2]),
            (b"t", Some(b"\xff"), b"v"),
            (b"k", None, b"v"),
            (b"a", Some(b""), b""),
            (b"nope", None, b"v"),
        ];
        for (alias, key, value) in cases {
            let (mut by_parts, mut by_map) = (Emitted::default(), Emitted::default());
            by_parts.set_topics(plans.clone());
            by_map.set_topics(plans.clone());
            by_parts.push_bytes(alias, key, value, 7_000_000);
            let mut map = Vec::new();
            encode_bytes(&mut map, alias, key, value).unwrap();
            by_map.push(&map, 7_000_000);
            assert_eq!(by_parts.bytes(), by_map.bytes());
            assert_eq!(by_parts.error(), by_map.error(), "{alias:?} {key:?}");
            let (a, b) = (by_parts.messages(0..1), by_map.messages(0..1));
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{alias:?} {key:?}");
        }
    }

    /// A payload emitted again (the parse cache's hit) reads as its first emit would: at the
    /// call's clock, under the topics set since (same alias, another format, key template and
    /// headers), after a sink took the earlier message out of its slot, and when it fails under
    /// the new topics.
    #[test]
    fn a_repeated_payload_reads_as_a_fresh_one() {
        use distroduce_model::message::parse_emit;
        use distroduce_model::value::json::from_json;
        let plan = |format, key: Option<&str>, headers: Vec<(String, Vec<u8>)>| {
            let mut t = topics()[0].clone();
            t.format = format;
            t.key = key.map(|k| distroduce_model::KeyTemplate::parse(k).unwrap());
            t.headers = headers;
            Arc::from(vec![t])
        };
        let first: Arc<[TopicPlan]> = plan(ValueFormat::Json, None, vec![]);
        let second: Arc<[TopicPlan]> = plan(ValueFormat::Json, Some("room-{room}"), vec![("h".into(), b"2".to_vec())]);
        // Raw sends only binary values: this payload's map value fails there.
        let third: Arc<[TopicPlan]> = plan(ValueFormat::Raw, None, vec![]);
        let p = from_json(&serde_json::json!({"topic": "t", "value": {"room": "r1", "text": "Hi B"}}));
        let mut e = Emitted::default();
        let mut now = 0;
        for topics in [&first, &second, &first, &third] {
            e.set_topics(topics.clone());
            for round in 0..3 {
                now += 1_000_000;
                e.push(&p, now);
                let want = parse_emit(&p, topics, now, 0);
                match (e.messages(0..1), want) {
                    (Ok([got]), Ok(want)) => {
                        assert_eq!(*got, want, "round {round}");
                        // A sink may take the message: the next emit is whole again.
                        std::mem::take(got);
                    }
                    (Err((0, got)), Err(want)) => assert_eq!(got, want),
                    (got, want) => panic!("{got:?} / {want:?}"),
                }
                e.clear();
            }
        }
    }

    #[test]
    fn a_bad_payload_stops_the_parse_at_its_position() {
        let mut e = Emitted::default();
        e.set_topics(topics());
        e.push(&payload(b"a"), 0);
        e.push(b"\xc1", 0);
        e.push(&payload(b"c"), 0);
        assert_eq!(e.len(), 3);
        assert_eq!(values(e.messages(0..1).unwrap()), [b"a"]);
        let (at, why) = e.messages(1..3).unwrap_err();
        assert_eq!(at, 1);
        assert!(why.contains("MessagePack"), "{why}");
        assert_eq!(e.error().map(|e| e.0), Some(1));
        e.clear();
        assert!(e.error().is_none());
        e.push(&payload(b"z"), 0);
        assert_eq!(values(e.messages(0..1).unwrap()), [b"z"]);
    }
}
