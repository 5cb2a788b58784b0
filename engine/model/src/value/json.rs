//! Conversions between JSON (scenario files, record files, Kafka message values) and MessagePack.

use super::{header, kind, Kind, Malformed, MAX_DEPTH, TOO_DEEP};
use serde_json::{Map, Number, Value as Json};

/// Encode a JSON value as MessagePack. Integers stay integers and floats stay floats, so `0` and
/// `0.0` in a scenario keep their Python meaning.
pub fn from_json(v: &Json) -> Vec<u8> {
    let mut out = Vec::new();
    write_json(&mut out, v);
    out
}

pub fn write_json(out: &mut Vec<u8>, v: &Json) {
    match v {
        Json::Null => out.push(0xc0),
        Json::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                super::write_int(out, i);
            } else if let Some(u) = n.as_u64() {
                super::write_uint(out, u);
            } else {
                let _ = rmp::encode::write_f64(out, n.as_f64().unwrap_or(f64::NAN));
            }
        }
        Json::String(s) => super::write_str(out, s),
        Json::Array(a) => {
            super::write_array_len(out, a.len());
            a.iter().for_each(|x| write_json(out, x));
        }
        Json::Object(m) => {
            super::write_map_len(out, m.len());
            for (k, x) in m {
                super::write_str(out, k);
                write_json(out, x);
            }
        }
    }
}

/// Decode MessagePack into JSON. Non-string map keys become their JSON text; binary becomes a
/// string when it is UTF-8 and an array of byte values otherwise; NaN and infinities become null
/// (JSON cannot carry them). Values nested deeper than [`MAX_DEPTH`] are refused.
pub fn to_json(b: &[u8]) -> Result<Json, Malformed> {
    let (v, n) = decode(b, 0, 0)?;
    if n != b.len() {
        return Err(Malformed { offset: n, what: "trailing bytes after the value" });
    }
    Ok(v)
}

/// How long a map key that is not a string may be as JSON text. Unbounded, keys that are maps
/// whose keys are maps... escape their inner keys again at every level: 100 levels of them in a
/// few hundred bytes made 2^100 bytes of text (found by the fuzz suite, engine/fuzz).
pub const MAX_KEY_TEXT: usize = 4096;

/// A map key as JSON object keys must be: a string as it is, anything else as its JSON text.
pub(crate) fn key_text(k: Json, at: usize) -> Result<String, Malformed> {
    struct Bounded(Vec<u8>);
    impl std::io::Write for Bounded {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if self.0.len() + b.len() > MAX_KEY_TEXT {
                return Err(std::io::Error::other("too long"));
            }
            self.0.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    match k {
        Json::String(s) => Ok(s),
        other => {
            let mut w = Bounded(Vec::new());
            serde_json::to_writer(&mut w, &other).map_err(|_| Malformed {
                offset: at,
                what: "a map key that is not a string is longer than 4096 bytes as JSON text",
            })?;
            // serde_json writes UTF-8.
            Ok(String::from_utf8_lossy(&w.0).into_owned())
        }
    }
}

/// `depth`: how many containers enclose this value.
pub(crate) fn decode(b: &[u8], at: usize, depth: usize) -> Result<(Json, usize), Malformed> {
    let (h, payload, children) = header(b, at)?;
    let s = &b[at..];
    if children > 0 && depth >= MAX_DEPTH {
        return Err(Malformed { offset: at, what: TOO_DEEP });
    }
    let body = b.get(at + h..at + h + payload).ok_or(Malformed { offset: at, what: "value runs past the end" })?;
    let end = at + h + payload;
    Ok(match kind(s)? {
        Kind::Nil => (Json::Null, end),
        Kind::Bool => (Json::Bool(s[0] == 0xc3), end),
        Kind::Int | Kind::Float => {
            let n = match super::as_num(&s[..h + payload]) {
                Some(super::Num::Int(i)) => Json::Number(i.into()),
                Some(super::Num::Float(f)) => Number::from_f64(f).map(Json::Number).unwrap_or(Json::Null),
                None => {
                    // u64 above i64::MAX
                    let mut r = s;
                    let u: u64 =
                        rmp::decode::read_int(&mut r).map_err(|_| Malformed { offset: at, what: "bad integer" })?;
                    Json::Number(u.into())
                }
            };
            (n, end)
        }
        Kind::Str => {
            let t = std::str::from_utf8(body).map_err(|_| Malformed { offset: at, what: "string is not UTF-8" })?;
            (Json::String(t.to_string()), end)
        }
        Kind::Bin | Kind::Ext => match std::str::from_utf8(body) {
            Ok(t) => (Json::String(t.to_string()), end),
            Err(_) => (Json::Array(body.iter().map(|x| Json::Number((*x).into())).collect()), end),
        },
        Kind::List => {
            let mut pos = end;
            // Each item takes at least one byte: a length prefix that lies must not reserve 77 GB.
            let mut items = Vec::with_capacity(children.min(b.len().saturating_sub(end)));
            for _ in 0..children {
                let (v, next) = decode(b, pos, depth + 1)?;
                items.push(v);
                pos = next;
            }
            (Json::Array(items), pos)
        }
        Kind::Map => {
            let mut pos = end;
            let mut m = Map::with_capacity((children / 2).min(b.len().saturating_sub(end) / 2));
            for _ in 0..children / 2 {
                let (k, next) = decode(b, pos, depth + 1)?;
                let (v, after) = decode(b, next, depth + 1)?;
                let key = key_text(k, pos)?;
                m.insert(key, v);
                pos = after;
            }
            (Json::Object(m), pos)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Found by the fuzz suite (engine/fuzz, `value` target): maps as keys of maps as keys...,
    /// 100 levels deep, used to take exponential time and memory; now an error at once.
    #[test]
    fn nested_non_string_keys_are_bounded() {
        let mut key = vec![0xa1, b'"'];
        for _ in 0..100 {
            key = [&[0x81][..], &key, &[0xc0]].concat();
        }
        let b = [&[0x81][..], &key, &[0xc0]].concat();
        let started = std::time::Instant::now();
        assert_eq!(
            to_json(&b).unwrap_err().what,
            "a map key that is not a string is longer than 4096 bytes as JSON text"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // Short ones are still their JSON text.
        assert_eq!(to_json(&[0x81, 0x01, 0xc0]).unwrap(), serde_json::json!({"1": null}));
    }

    /// Found by the fuzz suite (engine/fuzz, `describe` target): a list or map header claiming 2^32
    /// items made `to_json` reserve them all up front and abort the process.
    #[test]
    fn a_lying_length_prefix_is_an_error_not_an_abort() {
        for b in [&[0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0][..], &[0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, b'a', 0x01]] {
            assert!(to_json(b).is_err());
        }
    }

    #[test]
    fn round_trips_json_keeping_int_float_distinction() {
        let v = json!({"a": 0, "b": 0.0, "c": [1, "x", null, true], "d": {"e": -3}, "big": u64::MAX});
        assert_eq!(to_json(&from_json(&v)).unwrap(), v);
        assert_eq!(serde_json::to_string(&to_json(&from_json(&json!(0.0))).unwrap()).unwrap(), "0.0");
    }

    #[test]
    fn deep_values_are_refused_not_a_stack_overflow() {
        // A describe map 200k levels deep, as a hostile plugin may return.
        let mut deep = [0x81u8, 0xa1, b'k'].repeat(200_000);
        deep.push(0xc0);
        assert_eq!(to_json(&deep).unwrap_err().what, TOO_DEEP);
        let mut lists = vec![0x91u8; 10_000];
        lists.push(0xc0);
        assert_eq!(to_json(&lists).unwrap_err().what, TOO_DEEP);
        let mut ok = vec![0x91u8; MAX_DEPTH];
        ok.push(0xc0);
        assert!(to_json(&ok).is_ok());
    }
}
