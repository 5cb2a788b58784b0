//! Messages emitted by plugins (`distroduce.emit`, ABI.md §5), decoded into what a producer sends.

use crate::value::{as_num, as_str, json::to_json, kind, map_entries, Kind, Num};

/// Where a message came from: job, timestep, substep, and its sequence number within the job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MsgMeta {
    pub job: usize,
    pub timestep: u64,
    pub substep: u32,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutMessage {
    /// Index into the scenario's topic aliases.
    pub topic: usize,
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub meta: MsgMeta,
}

/// Decode one `emit` payload. `topics` are the declared aliases.
pub fn parse_emit(b: &[u8], topics: &[String]) -> Result<OutMessage, String> {
    let entries = map_entries(b).map_err(|e| format!("emit payload is not a MessagePack map: {e}"))?;
    let get = |k: &str| entries.iter().find(|(key, _)| as_str(key) == Some(k)).map(|(_, v)| *v);
    let alias = get("topic").and_then(as_str).ok_or("emit payload has no string `topic`")?;
    let topic = topics.iter().position(|t| t == alias).ok_or_else(|| {
        format!(
            "emitted to topic alias `{alias}`, which `kafka.topics` does not declare (declared: {})",
            if topics.is_empty() { "none".to_string() } else { topics.join(", ") }
        )
    })?;
    let value = get("value").ok_or("emit payload has no `value`")?;
    let value = bytes_or_json(value).map_err(|e| format!("message value: {e}"))?;
    let key = match get("key") {
        None => None,
        Some(k) => match kind(k).map_err(|e| e.to_string())? {
            Kind::Nil => None,
            Kind::Str | Kind::Bin => Some(raw_bytes(k)),
            Kind::Int => match as_num(k) {
                Some(Num::Int(i)) => Some(i.to_string().into_bytes()),
                _ => return Err("message key is an integer out of range".into()),
            },
            other => return Err(format!("message key must be a string, binary or integer, not {}", other.name())),
        },
    };
    let mut headers = Vec::new();
    if let Some(h) = get("headers") {
        for (k, v) in map_entries(h).map_err(|_| "message headers must be a map")? {
            let name = as_str(k).ok_or("header names must be strings")?;
            match kind(v).map_err(|e| e.to_string())? {
                Kind::Str | Kind::Bin => headers.push((name.to_string(), raw_bytes(v))),
                other => return Err(format!("header `{name}` must be a string or binary, not {}", other.name())),
            }
        }
    }
    Ok(OutMessage { topic, key, value, headers, meta: MsgMeta::default() })
}

/// The payload bytes of a str or bin value.
fn raw_bytes(v: &[u8]) -> Vec<u8> {
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
    v[n - payload_len..n].to_vec()
}

/// Binary values pass through; anything else is JSON-encoded.
fn bytes_or_json(v: &[u8]) -> Result<Vec<u8>, String> {
    if kind(v).map_err(|e| e.to_string())? == Kind::Bin {
        return Ok(raw_bytes(v));
    }
    let j = to_json(v).map_err(|e| e.to_string())?;
    serde_json::to_vec(&j).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::json::from_json;
    use serde_json::json;

    #[test]
    fn parses_topic_key_value_and_headers() {
        let b = from_json(&json!({"topic": "chat", "key": "room_1", "value": {"a": 1}, "headers": {"h": "v"}}));
        let m = parse_emit(&b, &["x".into(), "chat".into()]).unwrap();
        assert_eq!(m.topic, 1);
        assert_eq!(m.key.as_deref(), Some(&b"room_1"[..]));
        assert_eq!(m.value, br#"{"a":1}"#);
        assert_eq!(m.headers, vec![("h".to_string(), b"v".to_vec())]);
    }

    #[test]
    fn unknown_alias_names_the_declared_ones() {
        let b = from_json(&json!({"topic": "nope", "value": 1}));
        let e = parse_emit(&b, &["chat".into()]).unwrap_err();
        assert!(e.contains("`nope`") && e.contains("declared: chat"), "{e}");
    }
}
