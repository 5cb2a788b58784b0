//! MessagePack straight to JSON text, with no value tree: the bytes of record files
//! (records.jsonl, a `records_topic`) and of JSON message values.
//!
//! [`write_json_text`] writes exactly what [`to_json`] followed by serde_json's serializer writes
//! (with Python's separators for [`Style::Python`]): the same number and float text (serde_json's
//! own formatter writes them), the same string escapes, NaN and infinities as `null`, UTF-8 binary
//! as a string and other binary as a list of byte values, non-string map keys as their JSON text.
//! Whenever the one-pass writer meets something it does not handle itself (a map with two equal
//! keys, which the tree collapses onto the first one's place with the last one's value; malformed
//! input of any kind), it drops what it wrote and takes the tree's path, so the output and the
//! error are always the tree's. `tests/json_text.rs` compares both on generated and mutated values.

use super::json::{decode, key_text, to_json};
use super::{as_num, header, Malformed, Num, MAX_DEPTH};
use serde::Serializer as _;
use serde_json::ser::{CompactFormatter, Formatter};
use serde_json::Value as Json;
use std::io::{self, Write};

/// Which separators: serde_json's (`,` and `:`) or Python's `json.dumps` (`, ` and `: `), which
/// record files use so that they compare byte for byte with cadCAD output dumped by Python.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Compact,
    Python,
}

impl Style {
    fn item(self) -> &'static [u8] {
        match self {
            Style::Compact => b",",
            Style::Python => b", ",
        }
    }
    fn colon(self) -> &'static [u8] {
        match self {
            Style::Compact => b":",
            Style::Python => b": ",
        }
    }
}

/// JSON with Python's `json.dumps` separators, for serde_json's serializer.
pub struct PyFormatter;

impl Formatter for PyFormatter {
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

/// Write a JSON value in `style`.
pub fn write_tree<W: Write>(w: &mut W, v: &Json, style: Style) -> io::Result<()> {
    use serde::Serialize;
    match style {
        Style::Compact => v.serialize(&mut serde_json::Serializer::new(w)),
        Style::Python => v.serialize(&mut serde_json::Serializer::with_formatter(w, PyFormatter)),
    }
    .map_err(io::Error::other)
}

/// Append the MessagePack value `b` to `out` as JSON text in `style`: the bytes (or the error) of
/// `to_json(b)` serialized, in one pass without a tree for every value a run normally writes.
pub fn write_json_text(out: &mut Vec<u8>, b: &[u8], style: Style) -> Result<(), Malformed> {
    let start = out.len();
    let mut t = Transcoder { out, style };
    if t.value(b, 0, 0) == Some(b.len()) {
        return Ok(());
    }
    out.truncate(start);
    let v = to_json(b)?;
    // Writing to a Vec cannot fail.
    let _ = write_tree(out, &v, style);
    Ok(())
}

/// [`TEXT_CLASS`] bits: a byte serde_json escapes (`"`, `\\`, a control character), or one that is
/// not ASCII.
const ESCAPED: u8 = 1;
const NOT_ASCII: u8 = 2;

/// Per byte, its [`ESCAPED`] and [`NOT_ASCII`] bits.
static TEXT_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = if c < 0x20 || c == b'"' as usize || c == b'\\' as usize {
            ESCAPED
        } else if c >= 0x80 {
            NOT_ASCII
        } else {
            0
        };
        c += 1;
    }
    t
};

/// Appends to `out`; every method returns `None` where the tree's path must decide.
struct Transcoder<'o> {
    out: &'o mut Vec<u8>,
    style: Style,
}

/// Up to this many keys a map's keys are checked for duplicates pairwise as they are written;
/// larger maps sort their keys once at the end.
const PAIRWISE_KEYS: usize = 16;

impl Transcoder<'_> {
    /// Write the value at `b[at]` (`depth` containers around it); the offset after it.
    fn value(&mut self, b: &[u8], at: usize, depth: usize) -> Option<usize> {
        // The markers of most values first: short strings and small integers.
        match *b.get(at)? {
            m @ 0xa0..=0xbf => {
                let end = at + 1 + (m & 0x1f) as usize;
                return self.text(b.get(at + 1..end)?).then_some(end);
            }
            m @ 0x00..=0x7f => {
                let _ = CompactFormatter.write_u8(self.out, m);
                return Some(at + 1);
            }
            _ => {}
        }
        let (h, payload, children) = header(b, at).ok()?;
        if children > 0 && depth >= MAX_DEPTH {
            return None;
        }
        let end = at + h + payload;
        let body = b.get(at + h..end)?;
        let m = b[at];
        match m {
            0xc0 => self.out.extend_from_slice(b"null"),
            0xc2 => self.out.extend_from_slice(b"false"),
            0xc3 => self.out.extend_from_slice(b"true"),
            0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3 | 0xca | 0xcb => self.number(&b[at..end])?,
            0xa0..=0xbf | 0xd9..=0xdb => {
                if !self.text(body) {
                    return None;
                }
            }
            0xc4..=0xc9 | 0xd4..=0xd8 => {
                if !self.text(body) {
                    self.out.push(b'[');
                    for (i, x) in body.iter().enumerate() {
                        if i > 0 {
                            self.out.extend_from_slice(self.style.item());
                        }
                        let _ = CompactFormatter.write_u8(self.out, *x);
                    }
                    self.out.push(b']');
                }
            }
            0x90..=0x9f | 0xdc | 0xdd => {
                self.out.push(b'[');
                let mut pos = end;
                for i in 0..children {
                    if i > 0 {
                        self.out.extend_from_slice(self.style.item());
                    }
                    pos = self.value(b, pos, depth + 1)?;
                }
                self.out.push(b']');
                return Some(pos);
            }
            0x80..=0x8f | 0xde | 0xdf => return self.map(b, end, children / 2, depth),
            // 0xc1, reserved.
            _ => return None,
        }
        Some(end)
    }

    fn number(&mut self, v: &[u8]) -> Option<()> {
        let _ = match as_num(v) {
            Some(Num::Int(i)) => CompactFormatter.write_i64(self.out, i),
            Some(Num::Float(f)) if f.is_finite() => CompactFormatter.write_f64(self.out, f),
            Some(Num::Float(_)) => CompactFormatter.write_null(self.out),
            // A u64 above i64::MAX.
            None => {
                let mut r = v;
                CompactFormatter.write_u64(self.out, rmp::decode::read_int(&mut r).ok()?)
            }
        };
        Some(())
    }

    /// `body` as a JSON string if it is UTF-8 (else `false`, nothing written). Text that needs no
    /// escape (no `"`, `\\` or control character: serde_json escapes nothing else) is copied.
    fn text(&mut self, body: &[u8]) -> bool {
        // One table lookup per byte, no branch: most strings are short.
        let class = body.iter().fold(0u8, |acc, &c| acc | TEXT_CLASS[c as usize]);
        if class & NOT_ASCII != 0 && std::str::from_utf8(body).is_err() {
            return false;
        }
        if class & ESCAPED == 0 {
            self.out.push(b'"');
            self.out.extend_from_slice(body);
            self.out.push(b'"');
        } else {
            // UTF-8, checked above (ASCII always is).
            self.string(std::str::from_utf8(body).unwrap_or_default());
        }
        true
    }

    fn string(&mut self, s: &str) {
        // Writing to a Vec cannot fail.
        let _ = (&mut serde_json::Serializer::new(&mut *self.out)).serialize_str(s);
    }

    /// A map of `n` entries whose first key is at `b[pos]`.
    fn map(&mut self, b: &[u8], mut pos: usize, n: usize, depth: usize) -> Option<usize> {
        self.out.push(b'{');
        let mut few = [(0usize, 0usize); PAIRWISE_KEYS];
        let mut many = Vec::new();
        for i in 0..n {
            if i > 0 {
                self.out.extend_from_slice(self.style.item());
            }
            let key_start = self.out.len();
            pos = self.key(b, pos, depth + 1)?;
            let key = (key_start, self.out.len());
            if n <= PAIRWISE_KEYS {
                let k = &self.out[key.0..key.1];
                if few[..i].iter().any(|&(s, e)| &self.out[s..e] == k) {
                    return None;
                }
                few[i] = key;
            } else {
                many.push(key);
            }
            self.out.extend_from_slice(self.style.colon());
            pos = self.value(b, pos, depth + 1)?;
        }
        if !many.is_empty() {
            let out = &*self.out;
            many.sort_unstable_by(|a, b| out[a.0..a.1].cmp(&out[b.0..b.1]));
            if many.windows(2).any(|w| out[w[0].0..w[0].1] == out[w[1].0..w[1].1]) {
                return None;
            }
        }
        self.out.push(b'}');
        Some(pos)
    }

    /// A map key: a string as it is, anything else as its JSON text (as a string).
    fn key(&mut self, b: &[u8], at: usize, depth: usize) -> Option<usize> {
        let m = *b.get(at)?;
        if matches!(m, 0xa0..=0xbf | 0xd9..=0xdb) {
            let (h, payload, _) = header(b, at).ok()?;
            return self.text(b.get(at + h..at + h + payload)?).then_some(at + h + payload);
        }
        // Rare: the tree's own conversion, for the same text.
        let (k, next) = decode(b, at, depth).ok()?;
        self.string(&key_text(k, at).ok()?);
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::json::from_json;

    fn one_pass(b: &[u8]) -> Option<usize> {
        Transcoder { out: &mut Vec::new(), style: Style::Python }.value(b, 0, 0)
    }

    /// The values a run writes take the one pass; `tests/json_text.rs` checks its bytes.
    #[test]
    fn ordinary_values_need_no_tree() {
        let v =
            from_json(&serde_json::json!({"user": {"name": "a\"b", "n": [1, -2, 2.5, null, true]}, "big": u64::MAX}));
        assert_eq!(one_pass(&v), Some(v.len()));
        let keys: serde_json::Map<String, serde_json::Value> = (0..40).map(|i| (format!("k{i}"), i.into())).collect();
        let v = from_json(&serde_json::Value::Object(keys));
        assert_eq!(one_pass(&v), Some(v.len()));
        assert_eq!(one_pass(&[0x81, 0x01, 0xc0]), Some(3), "a non-string key");
        assert_eq!(one_pass(&[0x82, 0xa1, b'a', 0x01, 0xa1, b'a', 0x02]), None, "equal keys");
    }
}
