//! Messages emitted by plugins (`distroduce.emit`, ABI.md §5), decoded into what a producer sends.

use crate::plan::{KeyPart, KeyTemplate, TopicPlan};
use crate::types::ValueFormat;
use crate::value::json_text::{write_json_text, Style};
use crate::value::{as_num, as_str, kind, map_entries, value_len, Kind, Num};

/// Where a message came from: job, timestep, substep, and its sequence number within the job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MsgMeta {
    pub job: usize,
    pub timestep: u64,
    pub substep: u32,
    pub seq: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutMessage {
    /// Index into the scenario's topic aliases.
    pub topic: usize,
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    /// A fixed partition, else the partitioner decides.
    pub partition: Option<i32>,
    /// Event time in ms since the epoch: the virtual clock when it was emitted, or the `time_ns`
    /// the plugin gave. The Kafka timestamp with `kafka.timestamps: event`; `None` leaves the
    /// producer's wall clock.
    pub event_time_ms: Option<i64>,
    pub meta: MsgMeta,
}

/// Nanoseconds to whole milliseconds, rounding towards the past (so that a window boundary in
/// ns maps onto the same boundary in ms).
pub fn ns_to_ms(ns: i64) -> i64 {
    ns.div_euclid(1_000_000)
}

/// [`parse_emit`] into `out`, reusing its buffers (value, key, headers), so that a job that emits
/// millions of messages stops allocating once its first blocks have been sent. The layout the
/// SDKs write for bytes (`{topic, value: bin, key?}`, in that order) is read in one pass
/// ([`parse_fixed`]); anything else goes through [`parse_emit`], which also words every error.
pub fn parse_emit_into(
    b: &[u8],
    topics: &[TopicPlan],
    now_ns: i64,
    timestep: u64,
    out: &mut OutMessage,
) -> Result<(), String> {
    if fixed_into(b, topics, now_ns, out) {
        return Ok(());
    }
    parse_emit_to(b, topics, now_ns, timestep, out).map(drop)
}

/// `out` from a payload in the SDKs' layout for bytes, read in one pass ([`parse_fixed`]);
/// `false` (and `out` untouched) for any other payload.
pub(crate) fn fixed_into(b: &[u8], topics: &[TopicPlan], now_ns: i64, out: &mut OutMessage) -> bool {
    let Some((topic, value, key)) = parse_fixed(b, topics) else {
        return false;
    };
    fill_fixed(topics, topic, value, key, now_ns, out);
    true
}

/// What [`parse_emit_into`] makes of the map `{topic, value: bin, key?: str}` (the SDKs' layout
/// for bytes) when its parts come separately (the `emit_bytes` import), or `None` when its fast
/// reading does not apply: an alias that is not declared, a key that is not UTF-8, a topic whose
/// format does not send binary values as they are, or no key for a topic with a key template. The
/// caller then encodes the map and gives it to [`parse_emit_into`], which also words every error.
pub fn bytes_emit_into(
    alias: &[u8],
    key: Option<&[u8]>,
    value: &[u8],
    topics: &[TopicPlan],
    now_ns: i64,
    out: &mut OutMessage,
) -> Option<()> {
    let topic = topics.iter().position(|t| t.alias.as_bytes() == alias)?;
    let plan = &topics[topic];
    if !matches!(plan.format, ValueFormat::Json | ValueFormat::Raw) {
        return None;
    }
    match key {
        Some(k) if !k.is_ascii() => {
            std::str::from_utf8(k).ok()?;
        }
        Some(_) => {}
        None if plan.key.is_some() => return None,
        None => {}
    }
    fill_fixed(topics, topic, value, key, now_ns, out);
    Some(())
}

/// `out` for a message of the SDKs' layout for bytes, read by [`parse_fixed`] or
/// [`bytes_emit_into`].
fn fill_fixed(topics: &[TopicPlan], topic: usize, value: &[u8], key: Option<&[u8]>, now_ns: i64, out: &mut OutMessage) {
    let plan = &topics[topic];
    out.topic = topic;
    out.value.clear();
    out.value.extend_from_slice(value);
    match key {
        Some(k) => {
            let buf = out.key.get_or_insert_with(Vec::new);
            buf.clear();
            buf.extend_from_slice(k);
        }
        None => out.key = None,
    }
    out.headers.clear();
    // Most topics declare no headers: no calls per message for them.
    if !plan.headers.is_empty() {
        out.headers.extend(plan.headers.iter().cloned());
    }
    out.partition = plan.partition;
    out.event_time_ms = Some(ns_to_ms(now_ns));
    out.meta = MsgMeta::default();
}

/// What [`parse_fixed`] reads: the topic index, the value and the key.
type Fixed<'a> = (usize, &'a [u8], Option<&'a [u8]>);

/// The topic index, value and key of a payload in the SDKs' layout for bytes: a map of 2 or 3
/// entries, `topic` (a declared alias), `value` (binary) and optionally `key` (a UTF-8 string or
/// nil), in that order and nothing after it, for a topic whose format sends binary values as they
/// are (`json`, `raw`) and, when the key is absent, has no key template. `None` for anything else.
/// It accepts only what [`parse_emit`] accepts, with the same result.
fn parse_fixed<'a>(b: &'a [u8], topics: &[TopicPlan]) -> Option<Fixed<'a>> {
    let entries = match *b.first()? {
        m @ 0x82..=0x83 => (m & 0x0f) as usize,
        _ => return None,
    };
    let at = literal(b, 1, b"\xa5topic")?;
    let (alias, at) = str_at(b, at)?;
    let topic = topics.iter().position(|t| t.alias.as_bytes() == alias)?;
    let plan = &topics[topic];
    if !matches!(plan.format, ValueFormat::Json | ValueFormat::Raw) {
        return None;
    }
    let at = literal(b, at, b"\xa5value")?;
    let (value, mut at) = bin_at(b, at)?;
    let mut key = None;
    if entries == 3 {
        at = literal(b, at, b"\xa3key")?;
        if *b.get(at)? == 0xc0 {
            at += 1;
        } else {
            let (k, end) = str_at(b, at)?;
            if !k.is_ascii() {
                std::str::from_utf8(k).ok()?;
            }
            key = Some(k);
            at = end;
        }
    } else if plan.key.is_some() {
        return None;
    }
    (at == b.len()).then_some((topic, value, key))
}

/// The position after `lit` if `b` has it at `at`.
fn literal(b: &[u8], at: usize, lit: &[u8]) -> Option<usize> {
    b.get(at..)?.starts_with(lit).then_some(at + lit.len())
}

/// The payload of the string at `at` and the position after it.
fn str_at(b: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let (h, n) = match *b.get(at)? {
        m @ 0xa0..=0xbf => (1, (m & 0x1f) as usize),
        0xd9 => (2, *b.get(at + 1)? as usize),
        0xda => (3, u16::from_be_bytes([*b.get(at + 1)?, *b.get(at + 2)?]) as usize),
        _ => return None,
    };
    let end = at + h + n;
    Some((b.get(at + h..end)?, end))
}

/// The payload of the binary value at `at` and the position after it.
fn bin_at(b: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let (h, n) = match *b.get(at)? {
        0xc4 => (2, *b.get(at + 1)? as usize),
        0xc5 => (3, u16::from_be_bytes([*b.get(at + 1)?, *b.get(at + 2)?]) as usize),
        0xc6 => (5, u32::from_be_bytes(b.get(at + 1..at + 5)?.try_into().ok()?) as usize),
        _ => return None,
    };
    let end = (at + h).checked_add(n)?;
    Some((b.get(at + h..end)?, end))
}

/// Decode one `emit` payload and apply its topic's settings (format, key template, headers,
/// partition). `now_ns` is the virtual clock of the emitting call: the event time unless the
/// payload gives its own `time_ns`.
/// `timestep` chooses the schema version of `format: avro` and `protobuf` topics.
pub fn parse_emit(b: &[u8], topics: &[TopicPlan], now_ns: i64, timestep: u64) -> Result<OutMessage, String> {
    let mut out = OutMessage::default();
    parse_emit_to(b, topics, now_ns, timestep, &mut out)?;
    Ok(out)
}

/// [`parse_emit`] into `out`, whose value, key and headers buffers it reuses (after an error
/// `out` holds parts of the message: the caller discards it). `Ok(true)` when the event time is
/// the call's clock (`now_ns`), `Ok(false)` when the payload gave its own `time_ns`: everything
/// else in `out` is a function of `b`, the topics and (for a topic whose values a schema registry
/// encodes) `timestep` alone.
pub(crate) fn parse_emit_to(
    b: &[u8],
    topics: &[TopicPlan],
    now_ns: i64,
    timestep: u64,
    out: &mut OutMessage,
) -> Result<bool, String> {
    let (mut topic_v, mut value_v, mut key_v, mut headers_v, mut time_v) = (None, None, None, None, None);
    crate::value::check_one(b).map_err(|e| format!("emit payload: {e}"))?;
    let (n, mut at) = crate::value::map_header(b)
        .map_err(|e| format!("emit payload is not a MessagePack map: {e}"))?
        .ok_or("emit payload is not a MessagePack map")?;
    for _ in 0..n {
        let kl = value_len(b, at).map_err(|e| e.to_string())?;
        let key = str_payload(&b[at..at + kl]);
        at += kl;
        let vl = value_len(b, at).map_err(|e| e.to_string())?;
        let v = &b[at..at + vl];
        at += vl;
        match key {
            Some(b"topic") => topic_v = Some(v),
            Some(b"value") => value_v = Some(v),
            Some(b"key") => key_v = Some(v),
            Some(b"headers") => headers_v = Some(v),
            Some(b"time_ns") => time_v = Some(v),
            _ => {}
        }
    }
    let get = |k: &str| match k {
        "value" => value_v,
        "key" => key_v,
        _ => headers_v,
    };
    let alias = topic_v.and_then(as_str).ok_or("emit payload has no string `topic`")?;
    let topic = topics.iter().position(|t| t.alias == alias).ok_or_else(|| {
        let names: Vec<&str> = topics.iter().map(|t| t.alias.as_str()).collect();
        format!(
            "emitted to topic alias `{alias}`, which `kafka.topics` does not declare (declared: {})",
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        )
    })?;
    let plan = &topics[topic];
    let raw_value = get("value").ok_or("emit payload has no `value`")?;
    out.value.clear();
    match &plan.encoder {
        Some(enc) if plan.format.uses_registry() => enc.encode(raw_value, timestep).map(|v| out.value = v),
        _ => encode_value(raw_value, plan.format, &mut out.value),
    }
    .map_err(|e| format!("message value for `{alias}`: {e}"))?;
    let key = match get("key") {
        None => match &plan.key {
            Some(t) => Some(render_key(t, raw_value)?),
            None => None,
        },
        Some(k) => match kind(k).map_err(|e| e.to_string())? {
            Kind::Nil => None,
            Kind::Str | Kind::Bin => {
                let mut buf = out.key.take().unwrap_or_default();
                buf.clear();
                buf.extend_from_slice(raw_payload(k));
                Some(buf)
            }
            Kind::Int => match as_num(k) {
                Some(Num::Int(i)) => Some(i.to_string().into_bytes()),
                _ => return Err("message key is an integer out of range".into()),
            },
            other => return Err(format!("message key must be a string, binary or integer, not {}", other.name())),
        },
    };
    let headers = &mut out.headers;
    headers.clear();
    headers.extend(plan.headers.iter().cloned());
    if let Some(h) = get("headers") {
        for (k, v) in map_entries(h).map_err(|_| "message headers must be a map")? {
            let name = as_str(k).ok_or("header names must be strings")?;
            match kind(v).map_err(|e| e.to_string())? {
                Kind::Str | Kind::Bin => headers.push((name.to_string(), raw_bytes(v))),
                other => return Err(format!("header `{name}` must be a string or binary, not {}", other.name())),
            }
        }
    }
    let time_ns = match time_v {
        None => now_ns,
        Some(t) => match as_num(t) {
            Some(Num::Int(i)) => i,
            _ => return Err("`time_ns` must be an integer (nanoseconds since the Unix epoch)".into()),
        },
    };
    out.topic = topic;
    out.key = key;
    out.partition = plan.partition;
    out.event_time_ms = Some(ns_to_ms(time_ns));
    out.meta = MsgMeta::default();
    Ok(time_v.is_none())
}

/// The bytes of a MessagePack string, without UTF-8 validation (keys are compared as bytes).
fn str_payload(v: &[u8]) -> Option<&[u8]> {
    let (h, n) = match *v.first()? {
        m @ 0xa0..=0xbf => (1, (m & 0x1f) as usize),
        0xd9 => (2, *v.get(1)? as usize),
        0xda => (3, u16::from_be_bytes([*v.get(1)?, *v.get(2)?]) as usize),
        0xdb => (5, u32::from_be_bytes(v.get(1..5)?.try_into().ok()?) as usize),
        _ => return None,
    };
    v.get(h..h + n)
}

/// Fill a key template from the message value's fields.
fn render_key(t: &KeyTemplate, value: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for part in &t.parts {
        match part {
            KeyPart::Text(s) => out.extend_from_slice(s.as_bytes()),
            KeyPart::Field(path) => {
                let mut v = value;
                for name in path {
                    v = crate::value::map_get(v, name).ok().flatten().ok_or_else(|| {
                        format!("key template `{}`: the message value has no field `{}`", t.source, path.join("."))
                    })?;
                }
                match kind(v).map_err(|e| e.to_string())? {
                    Kind::Str | Kind::Bin => out.extend_from_slice(&raw_bytes(v)),
                    _ => write_json_text(&mut out, v, Style::Compact).map_err(|e| e.to_string())?,
                }
            }
        }
    }
    Ok(out)
}

/// Append the message value `v` in `format` to `out`.
fn encode_value(v: &[u8], format: ValueFormat, out: &mut Vec<u8>) -> Result<(), String> {
    match format {
        ValueFormat::Json => bytes_or_json(v, out),
        ValueFormat::Raw => match kind(v).map_err(|e| e.to_string())? {
            Kind::Str | Kind::Bin => {
                out.extend_from_slice(raw_payload(v));
                Ok(())
            }
            other => {
                Err(format!("the topic's format is `raw`, which takes a string or binary value, not {}", other.name()))
            }
        },
        f @ (ValueFormat::Avro | ValueFormat::Protobuf) => Err(format!(
            "the topic's format is `{}` but its schemas were not registered (no schema registry client)",
            f.name()
        )),
    }
}

/// The payload bytes of a str or bin value.
fn raw_bytes(v: &[u8]) -> Vec<u8> {
    raw_payload(v).to_vec()
}

/// The payload of a str or bin value, in place.
fn raw_payload(v: &[u8]) -> &[u8] {
    let n = crate::value::value_len(v, 0).unwrap_or(v.len());
    let payload_len = match v[0] {
        0xa0..=0xbf => (v[0] & 0x1f) as usize,
        _ => {
            let hl = match v[0] {
                0xc4 | 0xd9 => 2,
                0xc5 | 0xda => 3,
                _ => 5,
            };
            n - hl
        }
    };
    &v[n - payload_len..n]
}

/// Binary values pass through; anything else is JSON-encoded; appended to `out`.
fn bytes_or_json(v: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    if kind(v).map_err(|e| e.to_string())? == Kind::Bin {
        out.extend_from_slice(raw_payload(v));
        return Ok(());
    }
    write_json_text(out, v, Style::Compact).map_err(|e| e.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::value::json::from_json;
    use serde_json::json;

    #[test]
    fn parses_topic_key_value_and_headers() {
        let b = from_json(&json!({"topic": "chat", "key": "room_1", "value": {"a": 1}, "headers": {"h": "v"}}));
        let m = parse_emit(&b, &[topic("x"), topic("chat")], 0, 0).unwrap();
        assert_eq!(m.topic, 1);
        assert_eq!(m.key.as_deref(), Some(&b"room_1"[..]));
        assert_eq!(m.value, br#"{"a":1}"#);
        assert_eq!(m.headers, vec![("h".to_string(), b"v".to_vec())]);
    }

    #[test]
    fn a_payload_nested_too_deep_is_refused() {
        let mut b = from_json(&json!({"topic": "chat", "value": 1}));
        b.truncate(b.len() - 1);
        b.extend(std::iter::repeat_n(0x91u8, 10_000));
        b.push(0xc0);
        let e = parse_emit(&b, &[topic("chat")], 0, 0).unwrap_err();
        assert!(e.contains("nested more than 128 levels deep"), "{e}");
    }

    #[test]
    fn unknown_alias_names_the_declared_ones() {
        let b = from_json(&json!({"topic": "nope", "value": 1}));
        let e = parse_emit(&b, &[topic("chat")], 0, 0).unwrap_err();
        assert!(e.contains("`nope`") && e.contains("declared: chat"), "{e}");
    }

    /// A JSON topic of one partition, no key, headers or schemas: what a test changes it from.
    pub(crate) fn topic(alias: &str) -> TopicPlan {
        TopicPlan {
            alias: alias.into(),
            name: alias.into(),
            partitions: 1,
            replication: 1,
            format: ValueFormat::Json,
            key: None,
            headers: vec![],
            partition: None,
            disorder: None,
            schemas: vec![],
            encoder: None,
        }
    }

    #[test]
    fn topic_settings_apply_key_template_headers_partition_and_raw_format() {
        let mut t = topic("iot");
        t.key = Some(KeyTemplate::parse("dev-{device.id}/{n}").unwrap());
        t.headers = vec![("source".into(), b"sim".to_vec())];
        t.partition = Some(0);
        let b = from_json(&json!({"topic": "iot", "value": {"device": {"id": "d7"}, "n": 3}, "headers": {"h": "v"}}));
        let m = parse_emit(&b, &[t.clone()], 0, 0).unwrap();
        assert_eq!(m.key.as_deref(), Some(&b"dev-d7/3"[..]));
        assert_eq!(m.headers, vec![("source".to_string(), b"sim".to_vec()), ("h".to_string(), b"v".to_vec())]);
        assert_eq!(m.partition, Some(0));
        let missing = from_json(&json!({"topic": "iot", "value": {"n": 3}}));
        assert!(parse_emit(&missing, &[t.clone()], 0, 0).unwrap_err().contains("no field `device.id`"));
        t.format = ValueFormat::Raw;
        let raw = from_json(&json!({"topic": "iot", "key": "k", "value": "plain text"}));
        assert_eq!(parse_emit(&raw, &[t.clone()], 0, 0).unwrap().value, b"plain text");
        let bad = from_json(&json!({"topic": "iot", "key": "k", "value": {"a": 1}}));
        assert!(parse_emit(&bad, &[t], 0, 0).unwrap_err().contains("format is `raw`"));
    }

    #[test]
    fn event_time_is_the_clock_or_the_payloads_time_ns() {
        let clock = 1_570_060_800_123_456_789;
        let b = from_json(&json!({"topic": "chat", "value": 1}));
        assert_eq!(parse_emit(&b, &[topic("chat")], clock, 0).unwrap().event_time_ms, Some(1_570_060_800_123));
        let own = from_json(&json!({"topic": "chat", "value": 1, "time_ns": 5_999_999i64}));
        assert_eq!(parse_emit(&own, &[topic("chat")], clock, 0).unwrap().event_time_ms, Some(5));
        assert_eq!(ns_to_ms(-1), -1, "before the epoch rounds towards the past");
        let bad = from_json(&json!({"topic": "chat", "value": 1, "time_ns": "soon"}));
        assert!(parse_emit(&bad, &[topic("chat")], clock, 0).unwrap_err().contains("`time_ns` must be an integer"));
    }

    /// `{topic, value: bin, key?}` as the SDKs write it; `key: Some(None)` is an explicit nil.
    fn sdk_layout(topic: &str, value: &[u8], key: Option<Option<&[u8]>>) -> Vec<u8> {
        fn s(b: &mut Vec<u8>, t: &[u8]) {
            match t.len() {
                n @ 0..32 => b.push(0xa0 | n as u8),
                n => b.extend_from_slice(&[0xd9, n as u8]),
            }
            b.extend_from_slice(t);
        }
        let mut b = vec![if key.is_some() { 0x83 } else { 0x82 }];
        s(&mut b, b"topic");
        s(&mut b, topic.as_bytes());
        s(&mut b, b"value");
        match value.len() {
            n @ 0..256 => b.extend_from_slice(&[0xc4, n as u8]),
            n => b.extend_from_slice(&[0xc5, (n >> 8) as u8, n as u8]),
        }
        b.extend_from_slice(value);
        if let Some(k) = key {
            s(&mut b, b"key");
            match k {
                Some(k) => s(&mut b, k),
                None => b.push(0xc0),
            }
        }
        b
    }

    #[test]
    fn the_one_pass_reading_gives_what_the_general_one_gives() {
        let mut raw = topic("raw");
        raw.format = ValueFormat::Raw;
        let mut keyed = topic("keyed");
        keyed.key = Some(KeyTemplate::parse("k").unwrap());
        keyed.headers = vec![("h".into(), b"v".to_vec())];
        keyed.partition = Some(2);
        let topics = [topic("json"), raw, keyed];
        let big = vec![b'x'; 300];
        let cases: Vec<(Vec<u8>, bool)> = vec![
            (sdk_layout("json", b"payload", None), true),
            (sdk_layout("raw", &big, Some(Some(b"42"))), true),
            (sdk_layout("json", b"p", Some(None)), true),
            (sdk_layout("keyed", b"p", Some(Some("ключ".as_bytes()))), true),
            // The template fills a missing key: the general reading.
            (sdk_layout("keyed", b"p", None), false),
            (sdk_layout("nope", b"p", None), false),
            (sdk_layout("json", b"p", Some(Some(&[0xff]))), false),
            ([sdk_layout("json", b"p", None), vec![0xc0]].concat(), false),
            (from_json(&json!({"topic": "json", "value": {"a": 1}})), false),
        ];
        for (b, fast) in cases {
            assert_eq!(parse_fixed(&b, &topics).is_some(), fast, "{b:02x?}");
            let want = parse_emit(&b, &topics, 5_000_000, 0);
            // A recycled message, full of another one's bytes.
            let mut got = OutMessage {
                key: Some(b"old key".to_vec()),
                value: b"old value".to_vec(),
                headers: vec![("old".into(), vec![1])],
                meta: MsgMeta { seq: 9, ..MsgMeta::default() },
                ..OutMessage::default()
            };
            match parse_emit_into(&b, &topics, 5_000_000, 0, &mut got) {
                Ok(()) => assert_eq!(Ok(got), want, "{b:02x?}"),
                Err(e) => assert_eq!(Err(e), want, "{b:02x?}"),
            }
        }
    }

    #[test]
    fn key_templates_parse_and_reject_bad_braces() {
        assert_eq!(KeyTemplate::parse("{{x}}").unwrap().parts, vec![KeyPart::Text("{x}".into())]);
        assert!(KeyTemplate::parse("{a").is_err());
        assert!(KeyTemplate::parse("a}").is_err());
        assert!(KeyTemplate::parse("{}").is_err());
    }
}
