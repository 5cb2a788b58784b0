//! Policy signal aggregation (cadCAD `policy_ops`), done on encoded values.
//!
//! Signals are grouped by name in order of first appearance and folded in policy order. A signal
//! emitted by one policy passes through untouched, as `functools.reduce` does with one element.

use crate::{as_num, as_str, kind, list_header, map_entries, map_header, value_len, Kind, Malformed, Num};

use indexmap::IndexMap;
use std::collections::HashMap;

/// How two values of one signal from different policies combine, in policy order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(feature = "schema", serde(rename_all = "lowercase"))]
pub enum AggOp {
    /// cadCAD's `a + b`: numbers add, lists and strings concatenate.
    #[default]
    Add,
    /// Numbers multiply.
    Mul,
    /// The larger number.
    Max,
    /// The smaller number.
    Min,
    /// The first policy's value wins.
    First,
    /// The last policy's value wins.
    Last,
    /// Maps merge key by key, later policies overriding earlier ones.
    Merge,
}

/// Why two signal values could not be combined.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum AggError {
    #[error("policy output is not a map of signals (got {0})")]
    NotAMap(&'static str),
    #[error("signal `{signal}`: cannot {op} {left} and {right}")]
    Mismatch { signal: String, op: &'static str, left: &'static str, right: &'static str },
    #[error("signal `{signal}`: integer overflow in {op}")]
    Overflow { signal: String, op: &'static str },
    #[error("signal names must be strings")]
    NonStringKey,
    /// One policy's output map names a signal twice; `policy` is its index in the block.
    #[error("the policy's output map has the signal `{signal}` twice")]
    DuplicateSignal { policy: usize, signal: String },
    #[error(transparent)]
    Malformed(#[from] Malformed),
}

/// Which operator applies to which signal.
#[derive(Debug, Clone, Default)]
pub struct Aggregator {
    pub default: AggOp,
    pub per_signal: HashMap<String, AggOp>,
}

impl Aggregator {
    /// Combine the signal maps of a block's policies into one encoded map.
    pub fn aggregate(&self, outputs: &[&[u8]]) -> Result<Vec<u8>, AggError> {
        let mut buf = Vec::new();
        self.aggregate_into(outputs, &mut AggScratch::default(), &mut buf)?;
        Ok(buf)
    }

    /// [`Aggregator::aggregate`] into `buf` (cleared first), reusing `scratch` from call to call:
    /// no allocation per call once the buffers have grown, and numbers folded without
    /// re-encoding each partial result. The result and the errors are exactly `aggregate`'s.
    pub fn aggregate_into<O: AsRef<[u8]>>(
        &self,
        outputs: &[O],
        s: &mut AggScratch,
        buf: &mut Vec<u8>,
    ) -> Result<(), AggError> {
        buf.clear();
        s.groups.clear();
        s.vals.clear();
        for (pi, out) in outputs.iter().enumerate() {
            let out = out.as_ref();
            let k = kind(out)?;
            if k != Kind::Map {
                return Err(AggError::NotAMap(k.name()));
            }
            // The whole map is checked before its names, as a malformed map is reported first.
            let (n, mut at) = map_header(out)?.expect("a map");
            s.entries.clear();
            for _ in 0..n {
                let kl = value_len(out, at)?;
                let key = (at, at + kl);
                at += kl;
                let vl = value_len(out, at)?;
                s.entries.push((key, (at, at + vl)));
                at += vl;
            }
            for &((ks, ke), (vs, ve)) in &s.entries {
                let name = as_str(&out[ks..ke]).ok_or(AggError::NonStringKey)?;
                let ns = ke - name.len();
                let found = if s.groups.len() <= LINEAR_GROUPS {
                    s.groups.iter().position(|g| &outputs[g.out].as_ref()[g.name.0..g.name.1] == name.as_bytes())
                } else {
                    if s.index.len() < s.groups.len() {
                        for (i, g) in s.groups.iter().enumerate().skip(s.index.len()) {
                            s.index.insert(outputs[g.out].as_ref()[g.name.0..g.name.1].to_vec(), i);
                        }
                    }
                    s.index.get(name.as_bytes()).copied()
                };
                let v = s.vals.len();
                s.vals.push(ValRef { out: pi, at: (vs, ve), next: usize::MAX });
                match found {
                    Some(gi) => {
                        let g = &mut s.groups[gi];
                        if g.last == pi {
                            return Err(AggError::DuplicateSignal { policy: pi, signal: name.to_string() });
                        }
                        g.last = pi;
                        let tail = g.tail;
                        g.tail = v;
                        g.count += 1;
                        s.vals[tail].next = v;
                    }
                    None => {
                        s.groups.push(Group { out: pi, key: ks, name: (ns, ke), last: pi, head: v, tail: v, count: 1 })
                    }
                }
            }
        }
        s.index.clear();
        crate::write_map_len(buf, s.groups.len());
        for g in &s.groups {
            let out = outputs[g.out].as_ref();
            let name = std::str::from_utf8(&out[g.name.0..g.name.1]).expect("checked above");
            // The key as sent when its header is already the shortest (what `write_str` writes).
            if g.name.0 - g.key == str_header_len(name.len()) {
                buf.extend_from_slice(&out[g.key..g.name.1]);
            } else {
                crate::write_str(buf, name);
            }
            let val = |v: &ValRef| &outputs[v.out].as_ref()[v.at.0..v.at.1];
            let first = &s.vals[g.head];
            if g.count == 1 {
                buf.extend_from_slice(val(first));
                continue;
            }
            let op = if self.per_signal.is_empty() {
                self.default
            } else {
                self.per_signal.get(name).copied().unwrap_or(self.default)
            };
            let mut items = std::iter::successors(Some(first), |v| s.vals.get(v.next)).map(val);
            if fold_fast(op, name, items.clone(), buf)? {
                continue;
            }
            let mut acc = items.next().expect("two or more").to_vec();
            for v in items {
                acc = combine(op, name, &acc, v)?;
            }
            buf.extend_from_slice(&acc);
        }
        Ok(())
    }
}

/// The header length of the shortest MessagePack encoding of a string of `len` bytes.
fn str_header_len(len: usize) -> usize {
    match len {
        0..32 => 1,
        32..256 => 2,
        256..65536 => 3,
        _ => 5,
    }
}

/// Up to this many signals a block's names are compared one by one; past it, through an index.
const LINEAR_GROUPS: usize = 16;

/// Buffers [`Aggregator::aggregate_into`] reuses. Positions, not slices, so that they outlive
/// the outputs of one call.
#[derive(Debug, Default)]
pub struct AggScratch {
    groups: Vec<Group>,
    vals: Vec<ValRef>,
    entries: Vec<((usize, usize), (usize, usize))>,
    index: HashMap<Vec<u8>, usize>,
}

/// One signal: where its name is, the last policy that sent it, its values as a linked list.
#[derive(Debug)]
struct Group {
    out: usize,
    /// Where the encoded key starts (its header), and where its name bytes are.
    key: usize,
    name: (usize, usize),
    last: usize,
    head: usize,
    tail: usize,
    count: usize,
}

#[derive(Debug)]
struct ValRef {
    out: usize,
    at: (usize, usize),
    next: usize,
}

/// Fold the values of one signal without encoding the partial results, where that gives
/// exactly what pairwise [`combine`] gives: numbers under `add`/`mul`/`max`/`min`, and
/// `first`/`last`. `Ok(false)` leaves the fold to `combine` (strings, lists, maps, mixed kinds,
/// and every case that is an error, so that errors stay `combine`'s).
fn fold_fast<'a>(
    op: AggOp,
    signal: &str,
    mut items: impl Iterator<Item = &'a [u8]> + Clone,
    buf: &mut Vec<u8>,
) -> Result<bool, AggError> {
    match op {
        AggOp::First => {
            let first = items.next().expect("two or more");
            if items.clone().all(|v| kind(v).is_ok()) && kind(first).is_ok() {
                buf.extend_from_slice(first);
                return Ok(true);
            }
            Ok(false)
        }
        AggOp::Last => {
            if items.clone().all(|v| kind(v).is_ok()) {
                buf.extend_from_slice(items.last().expect("two or more"));
                return Ok(true);
            }
            Ok(false)
        }
        AggOp::Add | AggOp::Mul => {
            if !items.clone().all(|v| as_num(v).is_some()) {
                return Ok(false);
            }
            let mut acc = as_num(items.next().expect("two or more")).expect("checked");
            for v in items {
                let y = as_num(v).expect("checked");
                acc = match (acc, y, op) {
                    (Num::Int(x), Num::Int(y), AggOp::Add) => match x.checked_add(y) {
                        Some(n) => Num::Int(n),
                        None => return Err(AggError::Overflow { signal: signal.to_string(), op: op_name(op) }),
                    },
                    (Num::Int(x), Num::Int(y), _) => match x.checked_mul(y) {
                        Some(n) => Num::Int(n),
                        None => return Err(AggError::Overflow { signal: signal.to_string(), op: op_name(op) }),
                    },
                    (x, y, AggOp::Add) => Num::Float(f(x) + f(y)),
                    (x, y, _) => Num::Float(f(x) * f(y)),
                };
            }
            crate::write_num(buf, acc);
            Ok(true)
        }
        AggOp::Max | AggOp::Min => {
            if !items.clone().all(|v| as_num(v).is_some()) {
                return Ok(false);
            }
            let mut acc = items.next().expect("two or more");
            for v in items {
                let (x, y) = (as_num(acc).expect("checked"), as_num(v).expect("checked"));
                let take_b = if op == AggOp::Max { gt(y, x) } else { gt(x, y) };
                if take_b {
                    acc = v;
                }
            }
            buf.extend_from_slice(acc);
            Ok(true)
        }
        AggOp::Merge => Ok(false),
    }
}

/// The verb an aggregation error names ("cannot add …"); shared with the SDK's typed signals so
/// that both loops fail with the same words.
pub fn op_name(op: AggOp) -> &'static str {
    match op {
        AggOp::Add => "add",
        AggOp::Mul => "multiply",
        AggOp::Max => "take the max of",
        AggOp::Min => "take the min of",
        AggOp::First => "take the first of",
        AggOp::Last => "take the last of",
        AggOp::Merge => "merge",
    }
}

/// Combine two encoded values with `op`.
pub fn combine(op: AggOp, signal: &str, a: &[u8], b: &[u8]) -> Result<Vec<u8>, AggError> {
    let (ka, kb) = (kind(a)?, kind(b)?);
    let mismatch =
        || AggError::Mismatch { signal: signal.to_string(), op: op_name(op), left: ka.name(), right: kb.name() };
    let overflow = || AggError::Overflow { signal: signal.to_string(), op: op_name(op) };
    let mut out = Vec::with_capacity(a.len() + b.len());
    match op {
        AggOp::First => out.extend_from_slice(a),
        AggOp::Last => out.extend_from_slice(b),
        AggOp::Add | AggOp::Mul => match (ka, kb) {
            (Kind::Int | Kind::Float, Kind::Int | Kind::Float) => {
                let (x, y) = (as_num(a).ok_or_else(mismatch)?, as_num(b).ok_or_else(mismatch)?);
                let n = match (x, y, op) {
                    (Num::Int(x), Num::Int(y), AggOp::Add) => Num::Int(x.checked_add(y).ok_or_else(overflow)?),
                    (Num::Int(x), Num::Int(y), _) => Num::Int(x.checked_mul(y).ok_or_else(overflow)?),
                    (x, y, AggOp::Add) => Num::Float(f(x) + f(y)),
                    (x, y, _) => Num::Float(f(x) * f(y)),
                };
                crate::write_num(&mut out, n);
            }
            (Kind::Str, Kind::Str) if op == AggOp::Add => {
                let s = format!("{}{}", as_str(a).ok_or_else(mismatch)?, as_str(b).ok_or_else(mismatch)?);
                crate::write_str(&mut out, &s);
            }
            (Kind::List, Kind::List) if op == AggOp::Add => {
                let (na, ha) = list_header(a)?.ok_or_else(mismatch)?;
                let (nb, hb) = list_header(b)?.ok_or_else(mismatch)?;
                crate::write_array_len(&mut out, na + nb);
                out.extend_from_slice(&a[ha..]);
                out.extend_from_slice(&b[hb..]);
            }
            _ => return Err(mismatch()),
        },
        AggOp::Max | AggOp::Min => {
            let (x, y) = match (as_num(a), as_num(b)) {
                (Some(x), Some(y)) => (x, y),
                _ => return Err(mismatch()),
            };
            let take_b = match op {
                AggOp::Max => gt(y, x),
                _ => gt(x, y),
            };
            out.extend_from_slice(if take_b { b } else { a });
        }
        AggOp::Merge => {
            if ka != Kind::Map || kb != Kind::Map {
                return Err(mismatch());
            }
            let mut m: IndexMap<&[u8], &[u8]> = IndexMap::new();
            for (k, v) in map_entries(a)?.into_iter().chain(map_entries(b)?) {
                m.insert(k, v);
            }
            crate::write_map_len(&mut out, m.len());
            for (k, v) in m {
                out.extend_from_slice(k);
                out.extend_from_slice(v);
            }
        }
    }
    debug_assert_eq!(value_len(&out, 0).ok(), Some(out.len()));
    Ok(out)
}

fn f(n: Num) -> f64 {
    match n {
        Num::Int(i) => i as f64,
        Num::Float(x) => x,
    }
}

fn gt(x: Num, y: Num) -> bool {
    match (x, y) {
        (Num::Int(x), Num::Int(y)) => x > y,
        (x, y) => f(x) > f(y),
    }
}
