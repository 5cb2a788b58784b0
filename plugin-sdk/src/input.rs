//! Splits a call's input map (ABI §3) into its parts without decoding them, so that a function
//! pays only for the parts it declares (a `history` can be far bigger than a `state`).

use crate::ctx::CtxHeader;
use rmp::Marker;
use serde::de::DeserializeOwned;

/// MessagePack for an empty map and for nil: what absent parts decode from.
const EMPTY_MAP: &[u8] = &[0x80];
const NIL: &[u8] = &[0xc0];

/// The raw MessagePack of each known top-level key; unknown keys are skipped.
#[derive(Debug, Default)]
pub struct Input<'a> {
    ctx: Option<&'a [u8]>,
    params: Option<&'a [u8]>,
    state: Option<&'a [u8]>,
    signals: Option<&'a [u8]>,
    args: Option<&'a [u8]>,
    history: Option<&'a [u8]>,
}

impl<'a> Input<'a> {
    /// Scans the top-level map. Fails on anything that is not a map with string keys.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, String> {
        let err = |e: String| format!("malformed call input: {e}");
        let mut cur = Cursor { buf: bytes, pos: 0 };
        let n = match cur.marker().map_err(err)? {
            Marker::FixMap(n) => n as usize,
            Marker::Map16 => cur.uint(2).map_err(err)?,
            Marker::Map32 => cur.uint(4).map_err(err)?,
            m => return Err(err(format!("expected a map, found {m:?}"))),
        };
        let mut input = Input::default();
        for _ in 0..n {
            let key = cur.str().map_err(err)?;
            let start = cur.pos;
            cur.skip_value(0).map_err(err)?;
            let raw = Some(&bytes[start..cur.pos]);
            match key {
                b"ctx" => input.ctx = raw,
                b"params" => input.params = raw,
                b"state" => input.state = raw,
                b"signals" => input.signals = raw,
                b"args" => input.args = raw,
                b"history" => input.history = raw,
                _ => {}
            }
        }
        Ok(input)
    }

    /// The `ctx` header; it is always sent, so its absence is an error.
    pub fn ctx(&self) -> Result<CtxHeader, String> {
        let raw = self.ctx.ok_or("malformed call input: no `ctx` key")?;
        decode(raw, "ctx")
    }

    pub fn params<T: DeserializeOwned>(&self) -> Result<T, String> {
        decode(self.params.unwrap_or(EMPTY_MAP), "params")
    }

    pub fn state<T: DeserializeOwned>(&self) -> Result<T, String> {
        decode(self.state.unwrap_or(EMPTY_MAP), "state")
    }

    pub fn signals<T: DeserializeOwned>(&self) -> Result<T, String> {
        decode(self.signals.unwrap_or(EMPTY_MAP), "signals")
    }

    pub fn args<T: DeserializeOwned>(&self) -> Result<T, String> {
        match self.args {
            Some(raw) => decode(raw, "args"),
            None => decode(NIL, "args").map_err(|e| {
                format!("{e} (the scenario binds no `args` to this use of the function)")
            }),
        }
    }

    pub fn history<T: DeserializeOwned>(&self) -> Result<T, String> {
        match self.history {
            Some(raw) => decode(raw, "history"),
            None => decode(NIL, "history").map_err(|e| {
                format!("{e} (the scenario does not set `history` for this function)")
            }),
        }
    }
}

fn decode<T: DeserializeOwned>(raw: &[u8], part: &str) -> Result<T, String> {
    rmp_serde::from_slice(raw).map_err(|e| {
        format!(
            "cannot decode `{part}` as {}: {e}",
            std::any::type_name::<T>()
        )
    })
}

/// Values nested deeper than this are rejected rather than risking the guest's stack.
const MAX_DEPTH: usize = 256;

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| format!("truncated at byte {}", self.pos))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn marker(&mut self) -> Result<Marker, String> {
        Ok(Marker::from_u8(self.take(1)?[0]))
    }

    /// A big-endian unsigned length of `n` bytes.
    fn uint(&mut self, n: usize) -> Result<usize, String> {
        let v = self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| acc << 8 | u64::from(*b));
        usize::try_from(v).map_err(|_| "length out of range".to_string())
    }

    fn str(&mut self) -> Result<&'a [u8], String> {
        let len = match self.marker()? {
            Marker::FixStr(n) => n as usize,
            Marker::Str8 => self.uint(1)?,
            Marker::Str16 => self.uint(2)?,
            Marker::Str32 => self.uint(4)?,
            m => return Err(format!("expected a string key, found {m:?}")),
        };
        self.take(len)
    }

    /// Advances past one complete value. Arrays and maps are walked iteratively per level; the
    /// recursion depth is bounded by `MAX_DEPTH`.
    fn skip_value(&mut self, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("values nested deeper than {MAX_DEPTH} levels"));
        }
        let (bytes, items) = match self.marker()? {
            Marker::Null | Marker::True | Marker::False => (0, 0),
            Marker::FixPos(_) | Marker::FixNeg(_) => (0, 0),
            Marker::U8 | Marker::I8 => (1, 0),
            Marker::U16 | Marker::I16 => (2, 0),
            Marker::U32 | Marker::I32 | Marker::F32 => (4, 0),
            Marker::U64 | Marker::I64 | Marker::F64 => (8, 0),
            Marker::FixStr(n) => (n as usize, 0),
            Marker::Str8 | Marker::Bin8 => (self.uint(1)?, 0),
            Marker::Str16 | Marker::Bin16 => (self.uint(2)?, 0),
            Marker::Str32 | Marker::Bin32 => (self.uint(4)?, 0),
            Marker::FixExt1 => (2, 0),
            Marker::FixExt2 => (3, 0),
            Marker::FixExt4 => (5, 0),
            Marker::FixExt8 => (9, 0),
            Marker::FixExt16 => (17, 0),
            Marker::Ext8 => (self.uint(1)?.saturating_add(1), 0),
            Marker::Ext16 => (self.uint(2)?.saturating_add(1), 0),
            Marker::Ext32 => (self.uint(4)?.saturating_add(1), 0),
            Marker::FixArray(n) => (0, n as usize),
            Marker::Array16 => (0, self.uint(2)?),
            Marker::Array32 => (0, self.uint(4)?),
            Marker::FixMap(n) => (0, 2 * n as usize),
            Marker::Map16 => (0, self.uint(2)?.saturating_mul(2)),
            Marker::Map32 => (0, self.uint(4)?.saturating_mul(2)),
            Marker::Reserved => return Err(format!("invalid byte 0xc1 at {}", self.pos - 1)),
        };
        self.take(bytes)?;
        for _ in 0..items {
            self.skip_value(depth + 1)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_known_keys_and_skips_others() {
        #[derive(serde::Serialize)]
        struct In<'a> {
            zzz: Vec<Vec<i64>>,
            state: (&'a str, f64),
            args: i64,
        }
        let bytes = rmp_serde::to_vec_named(&In {
            zzz: vec![vec![1, 2]],
            state: ("x", 1.5),
            args: 7,
        })
        .unwrap();
        let input = Input::parse(&bytes).unwrap();
        assert_eq!(input.args::<i64>().unwrap(), 7);
        assert_eq!(input.state::<(String, f64)>().unwrap(), ("x".into(), 1.5));
        assert!(input
            .params::<std::collections::BTreeMap<String, i64>>()
            .unwrap()
            .is_empty());
        assert_eq!(input.history::<Option<Vec<i64>>>().unwrap(), None);
        let e = input.history::<Vec<i64>>().unwrap_err();
        assert!(e.contains("does not set `history`"), "{e}");
        assert!(input.ctx().unwrap_err().contains("no `ctx`"));
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [
            &[][..],
            &[0x81],
            &[0x81, 0xa1, b'a'],
            &[0x81, 0xa1, b'a', 0xc1],
            &[0x05],
            &[0x81, 0x01, 0x01],
        ] {
            assert!(Input::parse(bad).is_err(), "{bad:?}");
        }
        // A deeply nested value hits the depth limit instead of the stack.
        let mut deep = vec![0x81, 0xa1, b'a'];
        deep.extend(std::iter::repeat_n(0x91, 10_000));
        deep.push(0xc0);
        assert!(Input::parse(&deep).unwrap_err().contains("nested"));
    }
}
