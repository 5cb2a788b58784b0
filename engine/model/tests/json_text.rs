//! The one-pass MessagePack → JSON writer (`value::json_text`) against the value tree it replaced
//! (`to_json`, then serde_json's serializer): the same bytes, or the same error, for generated
//! values of every kind and encoding and for byte-level mutations of them.

use distroduce_model::rng::SplitMix64;
use distroduce_model::value::json::to_json;
use distroduce_model::value::json_text::{write_json_text, write_tree, Style};

/// What the tree path writes (or its error), in `style`.
fn tree(b: &[u8], style: Style) -> Result<Vec<u8>, String> {
    let v = to_json(b).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    write_tree(&mut out, &v, style).unwrap();
    Ok(out)
}

fn one_pass(b: &[u8], style: Style) -> Result<Vec<u8>, String> {
    // Written after other text, as in a record: what is already there must stay, even on error.
    let mut out = b"prefix".to_vec();
    let r = write_json_text(&mut out, b, style).map_err(|e| e.to_string());
    assert!(out.starts_with(b"prefix"));
    if r.is_err() {
        assert_eq!(out, b"prefix", "an error leaves the buffer as it was");
    }
    r.map(|()| out[6..].to_vec())
}

#[track_caller]
fn same(b: &[u8]) {
    for style in [Style::Python, Style::Compact] {
        let (want, got) = (tree(b, style), one_pass(b, style));
        assert_eq!(
            got.as_ref().map(|v| String::from_utf8_lossy(v).into_owned()),
            want.as_ref().map(|v| String::from_utf8_lossy(v).into_owned()),
            "{style:?}, input {b:02x?}"
        );
    }
}

struct Gen(SplitMix64);

impl Gen {
    fn below(&mut self, n: u64) -> u64 {
        self.0.next_u64() % n
    }

    fn float(&mut self) -> f64 {
        const SPECIAL: [f64; 12] = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            1e21,
            1e-7,
            0.1,
            123456789012345680.0,
        ];
        match self.below(3) {
            0 => SPECIAL[self.below(SPECIAL.len() as u64) as usize],
            1 => f64::from_bits(self.0.next_u64()),
            _ => (self.0.next_f64() - 0.5) * 10f64.powi(self.below(40) as i32 - 20),
        }
    }

    fn text(&mut self) -> String {
        const PIECES: [&str; 12] =
            ["a", "room_1", "\"", "\\", "\n", "\t", "\u{1}", "\u{7f}", "é", "😀", "\u{2028}", "/"];
        let n = match self.below(8) {
            0 => 40 + self.below(300),
            _ => self.below(6),
        };
        (0..n).map(|_| PIECES[self.below(PIECES.len() as u64) as usize]).collect()
    }

    /// A string in any of its encodings (fixstr, str8, str16, str32), or bin/ext around any bytes.
    fn string_like(&mut self, out: &mut Vec<u8>) {
        let s = self.text();
        let bytes = if self.below(4) == 0 { vec![0xff, 0xc3, b'a'] } else { s.clone().into_bytes() };
        let n = bytes.len();
        match self.below(7) {
            0 if n < 32 => out.push(0xa0 | n as u8),
            0 | 1 if n < 256 => out.extend_from_slice(&[0xd9, n as u8]),
            0..=2 => {
                out.push(0xda);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            3 => {
                out.push(0xdb);
                out.extend_from_slice(&(n as u32).to_be_bytes());
            }
            4 => {
                let _ = rmp::encode::write_bin_len(out, n as u32);
            }
            5 => {
                let _ = rmp::encode::write_ext_meta(out, n as u32, 7);
            }
            _ => {
                out.push(0xc5);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        out.extend_from_slice(&bytes);
    }

    fn scalar(&mut self, out: &mut Vec<u8>) {
        match self.below(10) {
            0 => out.push(0xc0),
            1 => out.push(0xc2 + self.below(2) as u8),
            2 => {
                let _ = rmp::encode::write_sint(out, self.0.next_u64() as i64 >> self.below(64));
            }
            3 => {
                let _ = rmp::encode::write_uint(out, self.0.next_u64() >> self.below(64));
            }
            4 => {
                // Every integer marker, whatever the value's size.
                let m = [0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3][self.below(8) as usize];
                let len = 1usize << (m & 3);
                out.push(m);
                out.extend_from_slice(&self.0.next_u64().to_be_bytes()[..len]);
            }
            5 => out.push(self.below(256) as u8 & 0x7f | if self.below(2) == 0 { 0 } else { 0xe0 }),
            6 => {
                let _ = rmp::encode::write_f32(out, self.float() as f32);
            }
            7 => {
                let _ = rmp::encode::write_f64(out, self.float());
            }
            _ => self.string_like(out),
        }
    }

    /// A container header in a random one of its encodings.
    fn header(&mut self, out: &mut Vec<u8>, n: usize, map: bool) {
        let (fix, m16) = if map { (0x80u8, 0xdeu8) } else { (0x90, 0xdc) };
        match self.below(3) {
            0 if n < 16 => out.push(fix | n as u8),
            0 | 1 => {
                out.push(m16);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            _ => {
                out.push(m16 + 1);
                out.extend_from_slice(&(n as u32).to_be_bytes());
            }
        }
    }

    fn value(&mut self, out: &mut Vec<u8>, depth: usize) {
        if depth >= 4 || self.below(3) == 0 {
            return self.scalar(out);
        }
        let n = match self.below(10) {
            0 => 17 + self.below(30) as usize,
            _ => self.below(5) as usize,
        };
        let map = self.below(2) == 0;
        self.header(out, n, map);
        let keys: Vec<String> = (0..1 + self.below(4)).map(|_| self.text()).collect();
        for _ in 0..n {
            if map {
                match self.below(6) {
                    // Non-string keys: numbers, nil, floats, containers.
                    0 => self.value(out, depth + 1),
                    // Keys drawn from a few, so that maps often repeat one.
                    1 | 2 => distroduce_model::value::write_str(out, &keys[self.below(keys.len() as u64) as usize]),
                    _ => self.string_like(out),
                }
            }
            self.value(out, depth + 1);
        }
    }
}

#[test]
fn generated_values_write_the_trees_bytes() {
    let mut g = Gen(SplitMix64(11));
    for _ in 0..20_000 {
        let mut b = Vec::new();
        g.value(&mut b, 0);
        same(&b);
    }
}

#[test]
fn mutated_values_write_the_trees_bytes_or_its_error() {
    let mut g = Gen(SplitMix64(12));
    for _ in 0..20_000 {
        let mut b = Vec::new();
        g.value(&mut b, 0);
        if b.is_empty() {
            continue;
        }
        match g.below(4) {
            0 => b.truncate(g.below(b.len() as u64) as usize),
            1 => b.push(g.below(256) as u8),
            _ => {
                let at = g.below(b.len() as u64) as usize;
                b[at] = g.below(256) as u8;
            }
        }
        same(&b);
    }
}

#[test]
fn the_cases_that_take_the_trees_path() {
    // Two equal keys: the first one's place, the last one's value.
    same(&[0x82, 0xa1, b'a', 0x01, 0xa1, b'a', 0x02]);
    // An integer key and the string of its text are equal keys too.
    same(&[0x82, 0x01, 0x0a, 0xa1, b'1', 0x0b]);
    // Many keys, one repeated (the sorted check).
    let mut big = vec![0xde, 0x00, 40];
    for i in 0..40u8 {
        distroduce_model::value::write_str(&mut big, &format!("k{}", i % 39));
        big.push(i);
    }
    same(&big);
    // Reserved marker, non-UTF-8 string, trailing bytes, nesting past the limit, a lying length.
    for b in [&[0xc1][..], &[0xa1, 0xff], &[0x01, 0x02], &[0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0]] {
        same(b);
    }
    let mut deep = vec![0x91u8; 200];
    deep.push(0xc0);
    same(&deep);
    same(&deep[70..]);
    // A non-string key too long as text.
    let mut key = vec![0xa1, b'"'];
    for _ in 0..100 {
        key = [&[0x81][..], &key, &[0xc0]].concat();
    }
    same(&[&[0x81][..], &key, &[0xc0]].concat());
    // u64 above i64::MAX, NaN and infinities, f32.
    same(&[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 1e300] {
        let mut b = Vec::new();
        rmp::encode::write_f64(&mut b, f).unwrap();
        same(&b);
    }
    same(&[0xca, 0x3d, 0xcc, 0xcc, 0xcd]);
}
