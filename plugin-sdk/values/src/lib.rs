//! MessagePack values as distroduce keeps them, shared by the engine and the Rust SDK's in-guest
//! run loop so that both combine signals, check values and draw random numbers the same way.
//!
//! State values, params and signals cross the plugin boundary as MessagePack. The engine never needs
//! to look inside most of them, so it keeps each state variable as its encoded bytes: building a
//! plugin's input is then a few `memcpy`s, and carrying a record forward is a reference-count bump.
//! Values are decoded only where the engine must understand them: aggregation, type checks and the
//! record writers.

pub mod aggregate;
pub mod rng;

use std::sync::Arc;

/// An encoded MessagePack value, shared between records.
pub type Val = Arc<[u8]>;

/// What kind of value a byte string holds, from its first marker byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Nil,
    Bool,
    Int,
    Float,
    Str,
    Bin,
    List,
    Map,
    Ext,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Nil => "nil",
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Str => "str",
            Kind::Bin => "bin",
            Kind::List => "list",
            Kind::Map => "map",
            Kind::Ext => "ext",
        }
    }
}

/// Malformed MessagePack.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("malformed MessagePack at byte {offset}: {what}")]
pub struct Malformed {
    pub offset: usize,
    pub what: &'static str,
}

fn bad(offset: usize, what: &'static str) -> Malformed {
    Malformed { offset, what }
}

/// Kind of the value starting at `b[0]`.
#[inline]
pub fn kind(b: &[u8]) -> Result<Kind, Malformed> {
    let m = *b.first().ok_or(bad(0, "empty input"))?;
    Ok(match m {
        0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3 => Kind::Int,
        0x80..=0x8f | 0xde | 0xdf => Kind::Map,
        0x90..=0x9f | 0xdc | 0xdd => Kind::List,
        0xa0..=0xbf | 0xd9..=0xdb => Kind::Str,
        0xc0 => Kind::Nil,
        0xc2 | 0xc3 => Kind::Bool,
        0xc4..=0xc6 => Kind::Bin,
        0xca | 0xcb => Kind::Float,
        0xc7..=0xc9 | 0xd4..=0xd8 => Kind::Ext,
        0xc1 => return Err(bad(0, "reserved marker 0xc1")),
    })
}

fn be(b: &[u8], at: usize, n: usize) -> Result<usize, Malformed> {
    let s = b.get(at..at + n).ok_or(bad(at, "truncated length"))?;
    Ok(s.iter().fold(0usize, |acc, x| (acc << 8) | *x as usize))
}

/// A container or scalar header: how many header bytes, how many payload bytes follow directly,
/// and how many child values follow (maps count keys and values).
#[inline]
pub fn header(b: &[u8], at: usize) -> Result<(usize, usize, usize), Malformed> {
    let m = *b.get(at).ok_or(bad(at, "truncated value"))?;
    Ok(match m {
        0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (1, 0, 0),
        0x80..=0x8f => (1, 0, 2 * (m as usize & 0x0f)),
        0x90..=0x9f => (1, 0, m as usize & 0x0f),
        0xa0..=0xbf => (1, m as usize & 0x1f, 0),
        0xc4 | 0xd9 => (2, be(b, at + 1, 1)?, 0),
        0xc5 | 0xda => (3, be(b, at + 1, 2)?, 0),
        0xc6 | 0xdb => (5, be(b, at + 1, 4)?, 0),
        0xc7 => (3, be(b, at + 1, 1)?, 0),
        0xc8 => (4, be(b, at + 1, 2)?, 0),
        0xc9 => (6, be(b, at + 1, 4)?, 0),
        0xca => (1, 4, 0),
        0xcb => (1, 8, 0),
        0xcc | 0xd0 => (1, 1, 0),
        0xcd | 0xd1 => (1, 2, 0),
        0xce | 0xd2 => (1, 4, 0),
        0xcf | 0xd3 => (1, 8, 0),
        0xd4 => (2, 1, 0),
        0xd5 => (2, 2, 0),
        0xd6 => (2, 4, 0),
        0xd7 => (2, 8, 0),
        0xd8 => (2, 16, 0),
        0xdc => (3, 0, be(b, at + 1, 2)?),
        0xdd => (5, 0, be(b, at + 1, 4)?),
        0xde => (3, 0, 2 * be(b, at + 1, 2)?),
        0xdf => (5, 0, 2 * be(b, at + 1, 4)?),
        0xc1 => return Err(bad(at, "reserved marker 0xc1")),
    })
}

/// Byte length of the value starting at `b[at]`, without decoding it.
#[inline]
pub fn value_len(b: &[u8], at: usize) -> Result<usize, Malformed> {
    let mut pos = at;
    let mut pending = 1usize;
    while pending > 0 {
        let (h, payload, children) = header(b, pos)?;
        pos += h + payload;
        if pos > b.len() {
            return Err(bad(pos.min(b.len()), "value runs past the end"));
        }
        pending = pending - 1 + children;
    }
    Ok(pos - at)
}

/// How deeply containers (lists and maps) may nest in a value that crosses the plugin boundary or
/// is decoded by the engine (README.md, "Resource limits"). Deeper values are refused, so that no
/// decoder can exhaust the stack.
pub const MAX_DEPTH: usize = 128;

/// The error for a value nested deeper than [`MAX_DEPTH`].
pub const TOO_DEEP: &str = "containers nested more than 128 levels deep (the engine's limit)";

/// Check that `b` is exactly one well-formed value, nested at most [`MAX_DEPTH`] containers deep,
/// whose strings (map keys included) are UTF-8.
/// Iterative: the depth check itself uses no stack.
pub fn check_one(b: &[u8]) -> Result<(), Malformed> {
    let n = check_value(b, 0)?;
    if n != b.len() {
        return Err(bad(n, "trailing bytes after the value"));
    }
    Ok(())
}

/// Byte length of the well-formed value at `b[at]`, checking its nesting depth and its strings.
pub fn check_value(b: &[u8], at: usize) -> Result<usize, Malformed> {
    let mut pos = at;
    // Children still to read of each open container, innermost last. The first levels on the
    // stack: the engine checks every emitted message and record value, and neither a heap
    // allocation nor clearing a `MAX_DEPTH` array per value should show in profiles.
    let mut near = [0usize; NEAR_DEPTH];
    let mut far: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    loop {
        let start = pos;
        let m = *b.get(pos).ok_or(bad(pos, "truncated value"))?;
        let children = match m {
            // The markers of most values: small integers, nil, booleans, short strings.
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => {
                pos += 1;
                0
            }
            0xa0..=0xbf => {
                pos += 1 + (m & 0x1f) as usize;
                if pos > b.len() {
                    return Err(bad(pos.min(b.len()), "value runs past the end"));
                }
                check_utf8(&b[start + 1..pos], start)?;
                0
            }
            _ => {
                let (h, payload, children) = header(b, pos)?;
                pos += h + payload;
                if pos > b.len() {
                    return Err(bad(pos.min(b.len()), "value runs past the end"));
                }
                if matches!(m, 0xd9..=0xdb) {
                    check_utf8(&b[start + h..pos], start)?;
                }
                children
            }
        };
        if children > 0 {
            if depth >= MAX_DEPTH {
                return Err(bad(start, TOO_DEEP));
            }
            match near.get_mut(depth) {
                Some(n) => *n = children,
                None => far.push(children),
            }
            depth += 1;
            continue;
        }
        // A complete value: close every container it completes.
        loop {
            if depth == 0 {
                return Ok(pos - at);
            }
            let left = match near.get_mut(depth - 1) {
                Some(n) => n,
                None => far.last_mut().expect("one entry per level past NEAR_DEPTH"),
            };
            *left -= 1;
            if *left > 0 {
                break;
            }
            depth -= 1;
            if depth >= NEAR_DEPTH {
                far.pop();
            }
        }
    }
}

/// Nesting levels [`check_value`] tracks without allocating.
const NEAR_DEPTH: usize = 16;

#[inline]
fn check_utf8(s: &[u8], start: usize) -> Result<(), Malformed> {
    // Most strings are short ASCII: one branch-free pass over the bytes (std's `is_ascii` tests
    // them one by one below a word).
    if s.iter().fold(0u8, |acc, &c| acc | c) >= 0x80 && std::str::from_utf8(s).is_err() {
        return Err(bad(start, "string is not UTF-8"));
    }
    Ok(())
}

/// Number of entries and the offset of the first entry, if `b` starts with a map.
#[inline]
pub fn map_header(b: &[u8]) -> Result<Option<(usize, usize)>, Malformed> {
    if kind(b)? != Kind::Map {
        return Ok(None);
    }
    let (h, _, children) = header(b, 0)?;
    Ok(Some((children / 2, h)))
}

/// Number of elements and the offset of the first element, if `b` starts with an array.
#[inline]
pub fn list_header(b: &[u8]) -> Result<Option<(usize, usize)>, Malformed> {
    if kind(b)? != Kind::List {
        return Ok(None);
    }
    let (h, _, children) = header(b, 0)?;
    Ok(Some((children, h)))
}

/// The UTF-8 text of a string value.
#[inline]
pub fn as_str(b: &[u8]) -> Option<&str> {
    // The usual case, a fixstr, without the general header walk.
    if let Some(&m @ 0xa0..=0xbf) = b.first() {
        return std::str::from_utf8(b.get(1..1 + (m & 0x1f) as usize)?).ok();
    }
    let (h, payload, _) = header(b, 0).ok()?;
    if kind(b).ok()? != Kind::Str {
        return None;
    }
    std::str::from_utf8(b.get(h..h + payload)?).ok()
}

/// (key bytes, value bytes) of one map entry.
pub type Entry<'a> = (&'a [u8], &'a [u8]);

/// Iterate the (key bytes, value bytes) pairs of a map value.
pub fn map_entries(b: &[u8]) -> Result<Vec<Entry<'_>>, Malformed> {
    let (n, mut at) = map_header(b)?.ok_or(bad(0, "expected a map"))?;
    // An entry takes at least two bytes; the header alone must not decide what is reserved (a
    // map32 header claiming 2^32 entries aborted the process: found by engine/fuzz).
    let mut out = Vec::with_capacity(n.min(b.len().saturating_sub(at) / 2));
    for _ in 0..n {
        let kl = value_len(b, at)?;
        let k = &b[at..at + kl];
        at += kl;
        let vl = value_len(b, at)?;
        out.push((k, &b[at..at + vl]));
        at += vl;
    }
    Ok(out)
}

/// Look up a string key in a map value.
pub fn map_get<'a>(b: &'a [u8], key: &str) -> Result<Option<&'a [u8]>, Malformed> {
    Ok(map_entries(b)?.into_iter().find(|(k, _)| as_str(k) == Some(key)).map(|(_, v)| v))
}

/// A number decoded for arithmetic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

/// Decode an int or float value.
#[inline]
pub fn as_num(b: &[u8]) -> Option<Num> {
    let mut r = b;
    match kind(b).ok()? {
        Kind::Int => {
            if b[0] == 0xcf {
                let v: u64 = rmp::decode::read_int(&mut r).ok()?;
                return i64::try_from(v).ok().map(Num::Int);
            }
            rmp::decode::read_int::<i64, _>(&mut r).ok().map(Num::Int)
        }
        Kind::Float => {
            if b[0] == 0xca {
                rmp::decode::read_f32(&mut r).ok().map(|f| Num::Float(f as f64))
            } else {
                rmp::decode::read_f64(&mut r).ok().map(Num::Float)
            }
        }
        _ => None,
    }
}

#[inline]
pub fn write_num(out: &mut Vec<u8>, n: Num) {
    match n {
        Num::Int(i) => {
            let _ = rmp::encode::write_sint(out, i);
        }
        Num::Float(f) => {
            let _ = rmp::encode::write_f64(out, f);
        }
    }
}

#[inline]
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let _ = rmp::encode::write_str(out, s);
}

#[inline]
pub fn write_map_len(out: &mut Vec<u8>, n: usize) {
    let _ = rmp::encode::write_map_len(out, n as u32);
}

#[inline]
pub fn write_array_len(out: &mut Vec<u8>, n: usize) {
    let _ = rmp::encode::write_array_len(out, n as u32);
}

#[inline]
pub fn write_uint(out: &mut Vec<u8>, n: u64) {
    let _ = rmp::encode::write_uint(out, n);
}

#[inline]
pub fn write_int(out: &mut Vec<u8>, n: i64) {
    let _ = rmp::encode::write_sint(out, n);
}

/// Encode a map from `(key, encoded value)` pairs.
pub fn encode_map<'a>(entries: impl ExactSizeIterator<Item = (&'a str, &'a [u8])>) -> Vec<u8> {
    let mut out = Vec::new();
    write_map_len(&mut out, entries.len());
    for (k, v) in entries {
        write_str(&mut out, k);
        out.extend_from_slice(v);
    }
    out
}
