//! Policy signal aggregation (cadCAD `policy_ops`), done on encoded values.
//!
//! Signals are grouped by name in order of first appearance and folded in policy order. A signal
//! emitted by one policy passes through untouched, as `functools.reduce` does with one element.

use super::{as_num, as_str, kind, list_header, map_entries, value_len, Kind, Malformed, Num};
use crate::types::AggOp;
use indexmap::IndexMap;
use std::collections::HashMap;

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
        // Per signal: the last policy that sent it (a policy sending it twice is refused) and the
        // values in policy order. One map lookup per signal on this hot path.
        let mut groups: IndexMap<&str, (usize, Vec<&[u8]>)> = IndexMap::new();
        for (pi, out) in outputs.iter().enumerate() {
            let k = kind(out)?;
            if k != Kind::Map {
                return Err(AggError::NotAMap(k.name()));
            }
            for (key, val) in map_entries(out)? {
                let name = as_str(key).ok_or(AggError::NonStringKey)?;
                let (last, vals) = groups.entry(name).or_insert((usize::MAX, Vec::new()));
                if *last == pi {
                    return Err(AggError::DuplicateSignal { policy: pi, signal: name.to_string() });
                }
                *last = pi;
                vals.push(val);
            }
        }
        let mut buf = Vec::new();
        super::write_map_len(&mut buf, groups.len());
        for (name, (_, vals)) in groups {
            super::write_str(&mut buf, name);
            if vals.len() == 1 {
                buf.extend_from_slice(vals[0]);
                continue;
            }
            let op = self.per_signal.get(name).copied().unwrap_or(self.default);
            let mut acc = vals[0].to_vec();
            for v in &vals[1..] {
                acc = combine(op, name, &acc, v)?;
            }
            buf.extend_from_slice(&acc);
        }
        Ok(buf)
    }
}

fn op_name(op: AggOp) -> &'static str {
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
                super::write_num(&mut out, n);
            }
            (Kind::Str, Kind::Str) if op == AggOp::Add => {
                let s = format!("{}{}", as_str(a).ok_or_else(mismatch)?, as_str(b).ok_or_else(mismatch)?);
                super::write_str(&mut out, &s);
            }
            (Kind::List, Kind::List) if op == AggOp::Add => {
                let (na, ha) = list_header(a)?.ok_or_else(mismatch)?;
                let (nb, hb) = list_header(b)?.ok_or_else(mismatch)?;
                super::write_array_len(&mut out, na + nb);
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
            super::write_map_len(&mut out, m.len());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::json::{from_json, to_json};
    use serde_json::json;

    fn agg(op: AggOp, outs: &[serde_json::Value]) -> Result<serde_json::Value, AggError> {
        let enc: Vec<Vec<u8>> = outs.iter().map(from_json).collect();
        let refs: Vec<&[u8]> = enc.iter().map(|v| v.as_slice()).collect();
        let a = Aggregator { default: op, per_signal: HashMap::new() };
        Ok(to_json(&a.aggregate(&refs)?).unwrap())
    }

    #[test]
    fn add_follows_python_plus_in_policy_order() {
        let out = agg(
            AggOp::Add,
            &[
                json!({"da": 1, "db": 2, "ev": ["a"], "s": "x"}),
                json!({"da": 10, "ev": ["b"], "s": "y", "f": 0.5}),
                json!({}),
            ],
        )
        .unwrap();
        assert_eq!(out, json!({"da": 11, "db": 2, "ev": ["a", "b"], "s": "xy", "f": 0.5}));
        assert_eq!(agg(AggOp::Add, &[json!({"x": 1}), json!({"x": 0.5})]).unwrap(), json!({"x": 1.5}));
    }

    #[test]
    fn other_operators() {
        assert_eq!(agg(AggOp::Max, &[json!({"m": 2}), json!({"m": 3})]).unwrap(), json!({"m": 3}));
        assert_eq!(agg(AggOp::Min, &[json!({"m": 2}), json!({"m": 3.5})]).unwrap(), json!({"m": 2}));
        assert_eq!(agg(AggOp::Mul, &[json!({"m": 2}), json!({"m": 3})]).unwrap(), json!({"m": 6}));
        assert_eq!(agg(AggOp::Last, &[json!({"m": 2}), json!({"m": "z"})]).unwrap(), json!({"m": "z"}));
        assert_eq!(
            agg(AggOp::Merge, &[json!({"m": {"a": 1, "b": 1}}), json!({"m": {"b": 2}})]).unwrap(),
            json!({"m": {"a": 1, "b": 2}})
        );
    }

    #[test]
    fn mismatches_and_overflow_are_errors() {
        let e = agg(AggOp::Add, &[json!({"x": [1]}), json!({"x": 1})]).unwrap_err();
        assert_eq!(e.to_string(), "signal `x`: cannot add list and int");
        assert!(matches!(agg(AggOp::Add, &[json!({"x": i64::MAX}), json!({"x": 1})]), Err(AggError::Overflow { .. })));
        assert!(matches!(agg(AggOp::Add, &[json!(3)]), Err(AggError::NotAMap("int"))));
    }

    #[test]
    fn a_signal_twice_in_one_policy_output_is_refused_naming_that_policy() {
        // {"s": 1, "s": 2}: from_json cannot write it, a plugin can.
        let dup = [0x82u8, 0xa1, b's', 0x01, 0xa1, b's', 0x02];
        let one = from_json(&json!({"s": 5}));
        let a = Aggregator::default();
        let e = a.aggregate(&[&one, &dup]).unwrap_err();
        assert_eq!(e, AggError::DuplicateSignal { policy: 1, signal: "s".into() });
        assert_eq!(e.to_string(), "the policy's output map has the signal `s` twice");
        // The same signal from two policies is what aggregation is for.
        assert!(a.aggregate(&[&one, &one]).is_ok());
    }
}
