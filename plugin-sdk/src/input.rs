//! Splits a call's input map (ABI §3) into its parts without decoding them, so that a function
//! pays only for the parts it declares (a `history` can be far bigger than a `state`).

use crate::ctx::{CtxHeader, Seed};
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
    /// The call's `ctx` as the in-guest run loop knows it, built into a header only if the
    /// function asks for it (`ctx` is then absent).
    fused_ctx: Option<FusedCtx<'a>>,
}

/// What the in-guest run loop knows of a call; [`Input::ctx`] turns it into the header the host
/// would have sent.
#[derive(Debug, Clone, Copy)]
pub struct FusedCtx<'a> {
    /// `[simulation, subset, run]`.
    pub job: [u64; 3],
    /// The job's seed; the call's is derived from it as the host derives it.
    pub job_seed: u64,
    pub timestep: u64,
    pub substep: u32,
    /// Position of the function in its block (ABI.md §10).
    pub pos: u32,
    pub time_ns: i64,
    pub variable: Option<&'a str>,
}

impl<'a> FusedCtx<'a> {
    /// The `ctx` header the host would have sent for this call; its seed is derived only if
    /// the function asks for it ([`crate::Ctx::seed`]).
    pub fn header(&self) -> CtxHeader<'a> {
        CtxHeader {
            simulation: self.job[0],
            subset: self.job[1],
            run: self.job[2],
            timestep: self.timestep,
            substep: self.substep as u64,
            seed: Seed::Derive { job_seed: self.job_seed, pos: self.pos },
            time_ns: self.time_ns,
            variable: self.variable,
            // The engine sets the host's clock to the loop's (ABI.md §10); a native host (tests)
            // may move its clock during a call, so it is still asked there.
            clock_is_time_ns: cfg!(target_arch = "wasm32"),
        }
    }
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

    /// The input of one call of the in-guest run loop: the parts it has encoded, and its `ctx`.
    pub fn fused(
        ctx: FusedCtx<'a>,
        params: &'a [u8],
        state: &'a [u8],
        signals: Option<&'a [u8]>,
        args: Option<&'a [u8]>,
    ) -> Self {
        Input {
            ctx: None,
            params: Some(params),
            state: Some(state),
            signals,
            args,
            history: None,
            fused_ctx: Some(ctx),
        }
    }

    /// The `ctx` header; it is always sent, so its absence is an error.
    pub fn ctx(&self) -> Result<CtxHeader<'a>, String> {
        if let Some(f) = &self.fused_ctx {
            return Ok(f.header());
        }
        let raw = self.ctx.ok_or("malformed call input: no `ctx` key")?;
        CtxHeader::decode(raw)
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
            None => decode(NIL, "args")
                .map_err(|e| format!("{e} (the scenario binds no `args` to this use of the function)")),
        }
    }

    pub fn history<T: DeserializeOwned>(&self) -> Result<T, String> {
        match self.history {
            Some(raw) => decode(raw, "history"),
            None => decode(NIL, "history")
                .map_err(|e| format!("{e} (the scenario does not set `history` for this function)")),
        }
    }
}

pub(crate) fn decode<T: DeserializeOwned>(raw: &[u8], part: &str) -> Result<T, String> {
    rmp_serde::from_slice(raw).map_err(|e| format!("cannot decode `{part}` as {}: {e}", std::any::type_name::<T>()))
}

/// Values nested deeper than this are rejected rather than risking the guest's stack.
const MAX_DEPTH: usize = 256;

/// Nesting levels `Cursor::skip_value` walks without recursing.
const INLINE_LEVELS: usize = 32;

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
        let v = self.take(n)?.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b));
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

    /// Advances past one complete value, at nesting level `base`, without decoding it: strings
    /// are not validated and nothing is allocated. Containers are walked in a loop with a small
    /// stack of remaining item counts; a value nested more than `INLINE_LEVELS` deeper than
    /// `base` recurses once per `INLINE_LEVELS` levels, and nesting deeper than `MAX_DEPTH` is
    /// rejected, so the native stack stays bounded.
    fn skip_value(&mut self, base: usize) -> Result<(), String> {
        // `left[d]`: values still to skip at level `base + d` (level `base` is the value itself).
        let mut left = [0usize; INLINE_LEVELS];
        let mut depth = 0usize;
        left[0] = 1;
        let buf = self.buf;
        let mut pos = self.pos;
        loop {
            while left[depth] == 0 {
                if depth == 0 {
                    self.pos = pos;
                    return Ok(());
                }
                depth -= 1;
            }
            left[depth] -= 1;
            let Some(&b) = buf.get(pos) else {
                return Err(format!("truncated at byte {pos}"));
            };
            pos += 1;
            // (payload bytes to skip, bytes of a big-endian length that follows, items)
            let (fixed, len_bytes, items): (usize, usize, usize) = match b {
                0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0, 0),
                0x80..=0x8f => (0, 0, 2 * (b & 0x0f) as usize),
                0x90..=0x9f => (0, 0, (b & 0x0f) as usize),
                0xa0..=0xbf => ((b & 0x1f) as usize, 0, 0),
                0xc1 => return Err(format!("invalid byte 0xc1 at {}", pos - 1)),
                0xc4 | 0xd9 => (0, 1, 0),        // bin8, str8
                0xc5 | 0xda => (0, 2, 0),        // bin16, str16
                0xc6 | 0xdb => (0, 4, 0),        // bin32, str32
                0xc7 => (1, 1, 0),               // ext8: length, type, data
                0xc8 => (1, 2, 0),               // ext16
                0xc9 => (1, 4, 0),               // ext32
                0xcc | 0xd0 => (1, 0, 0),        // u8, i8
                0xcd | 0xd1 => (2, 0, 0),        // u16, i16
                0xca | 0xce | 0xd2 => (4, 0, 0), // f32, u32, i32
                0xcb | 0xcf | 0xd3 => (8, 0, 0), // f64, u64, i64
                0xd4 => (2, 0, 0),               // fixext1
                0xd5 => (3, 0, 0),               // fixext2
                0xd6 => (5, 0, 0),               // fixext4
                0xd7 => (9, 0, 0),               // fixext8
                0xd8 => (17, 0, 0),              // fixext16
                0xdc => (0, 2, 1),               // array16 (the length is read below)
                0xdd => (0, 4, 1),               // array32
                0xde => (0, 2, 2),               // map16
                0xdf => (0, 4, 2),               // map32
            };
            let (skip, items) = if len_bytes == 0 {
                (fixed, items)
            } else {
                let end = pos
                    .checked_add(len_bytes)
                    .filter(|&e| e <= buf.len())
                    .ok_or_else(|| format!("truncated at byte {pos}"))?;
                let v = buf[pos..end].iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b));
                let n = usize::try_from(v).map_err(|_| "length out of range".to_string())?;
                pos = end;
                if items == 0 {
                    (fixed.saturating_add(n), 0)
                } else {
                    (0, n.saturating_mul(items))
                }
            };
            if skip > 0 {
                pos = pos
                    .checked_add(skip)
                    .filter(|&e| e <= buf.len())
                    .ok_or_else(|| format!("truncated at byte {pos}"))?;
            }
            if items > 0 {
                if base + depth == MAX_DEPTH {
                    return Err(format!("values nested deeper than {MAX_DEPTH} levels"));
                }
                if depth + 1 < INLINE_LEVELS {
                    depth += 1;
                    left[depth] = items;
                } else {
                    self.pos = pos;
                    for _ in 0..items {
                        self.skip_value(base + depth + 1)?;
                    }
                    pos = self.pos;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A context of the in-guest loop is the one the host would have sent: the seed derived as
    /// the host derives it (when asked for), the variable's name, the clock.
    #[test]
    fn fused_ctx_is_the_hosts_header() {
        let f = FusedCtx {
            job: [1, 2, 3],
            job_seed: 0xfeed_beef,
            timestep: 7,
            substep: 2,
            pos: 1,
            time_ns: 1_570_060_800_000_000_000,
            variable: Some("client_a"),
        };
        let mut host = crate::native::TestHost::new(0, f.time_ns);
        let ctx = crate::ctx::new_ctx(f.header(), &mut host);
        assert_eq!(ctx.seed(), distroduce_values::rng::derive(&[0xfeed_beef, 7, 2, 1]));
        assert_eq!(ctx.variable(), Some("client_a"));
        assert_eq!((ctx.simulation, ctx.subset, ctx.run, ctx.timestep, ctx.substep), (1, 2, 3, 7, 2));
        assert_eq!(ctx.now_ns(), f.time_ns);
        #[derive(serde::Serialize)]
        struct Wire {
            simulation: u64,
            subset: u64,
            run: u64,
            timestep: u64,
            substep: u64,
            seed: u64,
            time_ns: i64,
            variable: &'static str,
            later: [i64; 1],
        }
        let w = Wire {
            simulation: 0,
            subset: 0,
            run: 1,
            timestep: 1,
            substep: 1,
            seed: u64::MAX,
            time_ns: 5,
            variable: "x",
            later: [1],
        };
        let raw = rmp_serde::to_vec_named(&w).unwrap();
        let h = CtxHeader::decode(&raw).unwrap();
        let ctx = crate::ctx::new_ctx(h, &mut host);
        assert_eq!((ctx.seed(), ctx.variable(), ctx.time_ns), (u64::MAX, Some("x"), 5));
    }

    #[test]
    fn splits_known_keys_and_skips_others() {
        #[derive(serde::Serialize)]
        struct In<'a> {
            zzz: Vec<Vec<i64>>,
            state: (&'a str, f64),
            args: i64,
        }
        let bytes = rmp_serde::to_vec_named(&In { zzz: vec![vec![1, 2]], state: ("x", 1.5), args: 7 }).unwrap();
        let input = Input::parse(&bytes).unwrap();
        assert_eq!(input.args::<i64>().unwrap(), 7);
        assert_eq!(input.state::<(String, f64)>().unwrap(), ("x".into(), 1.5));
        assert!(input.params::<std::collections::BTreeMap<String, i64>>().unwrap().is_empty());
        assert_eq!(input.history::<Option<Vec<i64>>>().unwrap(), None);
        let e = input.history::<Vec<i64>>().unwrap_err();
        assert!(e.contains("does not set `history`"), "{e}");
        assert!(input.ctx().unwrap_err().contains("no `ctx`"));
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [&[][..], &[0x81], &[0x81, 0xa1, b'a'], &[0x81, 0xa1, b'a', 0xc1], &[0x05], &[0x81, 0x01, 0x01]] {
            assert!(Input::parse(bad).is_err(), "{bad:?}");
        }
        // Nesting up to the limit is skipped (past the levels walked without recursing), one
        // level more is rejected.
        for (levels, ok) in [(MAX_DEPTH, true), (MAX_DEPTH + 1, false), (INLINE_LEVELS, true)] {
            let mut v = vec![0x82, 0xa1, b'a'];
            v.extend(std::iter::repeat_n(0x91, levels));
            v.push(0xc0);
            v.extend([0xa4, b'a', b'r', b'g', b's', 0x07]);
            match Input::parse(&v) {
                Ok(input) => assert!(ok && input.args::<i64>().unwrap() == 7, "{levels}"),
                Err(e) => assert!(!ok && e.contains("nested"), "{levels}: {e}"),
            }
        }
        // Every kind of value is skipped whole, strings without being validated.
        let mut v = vec![0x82, 0xa1, b'z', 0xdc, 0, 17];
        v.extend([0xc0, 0xc2, 0xc3, 0x05, 0xe0, 0xcc, 1, 0xd1, 1, 2, 0xca, 0, 0, 0, 0]);
        v.extend([0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0xa2, 0xff, 0xfe, 0xd9, 1, 0xff]);
        v.extend([0xc4, 2, 1, 2, 0xc7, 1, 5, 9, 0xd4, 5, 9, 0xdc, 0, 1, 0x80]);
        v.extend([0xde, 0, 1, 0xa1, b'k', 0x01, 0xdd, 0, 0, 0, 0]);
        v.extend([0xa4, b'a', b'r', b'g', b's', 0x07]);
        assert_eq!(Input::parse(&v).unwrap().args::<i64>().unwrap(), 7);
        // A deeply nested value hits the depth limit instead of the stack.
        let mut deep = vec![0x81, 0xa1, b'a'];
        deep.extend(std::iter::repeat_n(0x91, 10_000));
        deep.push(0xc0);
        assert!(Input::parse(&deep).unwrap_err().contains("nested"));
    }
}
