//! [`super::write_named`] against `rmp_serde::encode::write_named`: every serde data-model type,
//! at every length and value where a MessagePack form changes, known and unknown lengths,
//! derived structs and enums in every serde representation, errors, and `Shared` values (kept
//! bytes reused, nested, encoded by another serializer meanwhile).

use super::{write_named, write_named_unkept};
use crate::{Shared, Value};
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, HashMap};

/// Both encoders' bytes (or error texts) for `v`, appended after a prefix already in the buffer.
fn both<T: Serialize + ?Sized>(v: &T) -> (Result<Vec<u8>, String>, Result<Vec<u8>, String>) {
    let mut want = vec![7u8];
    let want = rmp_serde::encode::write_named(&mut want, v).map(|()| want).map_err(|e| e.to_string());
    let mut got = vec![7u8];
    let got = write_named(&mut got, v).map(|()| got).map_err(|e| e.to_string());
    (got, want)
}

#[track_caller]
fn same<T: Serialize + ?Sized>(v: &T) {
    let (got, want) = both(v);
    assert!(want.is_ok(), "rmp_serde failed: {want:?}");
    if got != want {
        let cut = |r: &Result<Vec<u8>, String>| format!("{:?}", r.as_ref().map(|b| &b[..b.len().min(40)]));
        panic!("differs from rmp_serde ({} type): got {} want {}", std::any::type_name::<T>(), cut(&got), cut(&want));
    }
}

/// Lengths at and around every MessagePack size boundary (fix, 8, 16, 32 bits).
const LENS: [usize; 11] = [0, 1, 15, 16, 31, 32, 255, 256, 65_535, 65_536, 70_000];

struct Bytes<'a>(&'a [u8]);
impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// A list or map of `n` items whose length is told (`Some`) or not (`None`) up front.
struct Seq(usize, bool);
impl Serialize for Seq {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut q = s.serialize_seq(self.1.then_some(self.0))?;
        for i in 0..self.0 {
            q.serialize_element(&(i as i64 - 40))?;
        }
        q.end()
    }
}
struct Map(usize, bool);
impl Serialize for Map {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(self.1.then_some(self.0))?;
        for i in 0..self.0 {
            m.serialize_entry(&format!("k{i}"), &Seq(i % 3, i % 2 == 0))?;
        }
        m.end()
    }
}

#[test]
fn integers_at_every_boundary() {
    let mut ints: Vec<i64> = vec![i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 1];
    for b in [0i64, 31, 32, 127, 128, 255, 256, 32_767, 32_768, 65_535, 65_536, 2_147_483_647, 2_147_483_648] {
        for d in -1..=1 {
            ints.extend([b + d, -(b + d)]);
        }
    }
    ints.extend([4_294_967_295, 4_294_967_296, -4_294_967_296]);
    for &i in &ints {
        same(&i);
        same(&(i as i32));
        same(&(i as i16));
        same(&(i as i8));
        same(&(i as u64));
        same(&(i as u32));
        same(&(i as u16));
        same(&(i as u8));
        same(&(i as i128));
        same(&(i as u128));
    }
    same(&u64::MAX);
    same(&i128::MIN);
    same(&u128::MAX);
}

#[test]
fn floats_bools_chars_and_units() {
    for f in [0.0, -0.0, 1.5, -1e300, f64::MIN_POSITIVE, f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
        same(&f);
        same(&(f as f32));
    }
    same(&true);
    same(&false);
    for c in ['a', 'é', '€', '𝄞', '\0'] {
        same(&c);
    }
    same(&());
    #[derive(Serialize)]
    struct Unit;
    same(&Unit);
    same(&None::<i64>);
    same(&Some(Some(3)));
    same(&Some(None::<String>));
}

#[test]
fn strings_bytes_lists_and_maps_at_every_length() {
    for &n in &LENS {
        same(&"x".repeat(n));
        same(&"é".repeat(n / 2)); // two bytes a character: odd lengths in bytes too
        let b: Vec<u8> = (0..n).map(|i| i as u8).collect();
        same(&Bytes(&b));
        same(&b); // a list of integers, as rmp_serde writes `Vec<u8>` by default
        for told in [true, false] {
            same(&Seq(n, told));
            if n <= 65_536 {
                same(&Map(n, told));
            }
        }
        let list: Vec<String> = (0..n.min(70_000)).map(|i| i.to_string()).collect();
        same(&list);
        same(&list.iter().filter(|s| s.len() > 1).collect::<Vec<_>>());
        let map: BTreeMap<String, f64> = (0..n).map(|i| (format!("{i:06}"), i as f64)).collect();
        same(&map);
    }
    // Every short length, one byte at a time (short strings are copied in fixed-size pieces).
    let text: String = (0..40u8).map(|i| char::from(b'a' + i % 26)).collect();
    for n in 0..=text.len() {
        same(&&text[..n]);
        same(&(&text[..n], n, &text[n..]));
    }
    let hm: HashMap<i64, Vec<bool>> = (0..40).map(|i| (i, vec![i % 2 == 0; i as usize % 5])).collect();
    same(&hm);
    // `collect_seq` of an iterator without an exact size: the length comes at the end.
    struct Filtered(usize);
    impl Serialize for Filtered {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq((0..self.0).filter(|i| i % 3 != 0))
        }
    }
    for &n in &LENS {
        same(&Filtered(n));
    }
    // Unknown lengths nested in unknown lengths, and a map whose entries are half-written.
    struct Nested;
    impl Serialize for Nested {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut q = s.serialize_seq(None)?;
            for n in [0, 17, 3] {
                q.serialize_element(&Seq(n, false))?;
                q.serialize_element(&Map(n, false))?;
            }
            q.end()
        }
    }
    same(&Nested);
    struct OddMap;
    impl Serialize for OddMap {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(None)?;
            m.serialize_entry("a", &1)?;
            m.serialize_key("b")?;
            m.end()
        }
    }
    same(&OddMap);
    same(&(1, "two", [3.0f32; 2], (), Some(vec![(4u8, -5i8)])));
}

#[derive(Serialize)]
struct Tuple(i64, String);
#[derive(Serialize)]
struct Newtype(Vec<i64>);

#[derive(Serialize)]
enum External {
    Unit,
    Newtype(i64),
    Tuple(i64, String),
    Struct { a: i64, b: Option<String> },
}

#[derive(Serialize)]
#[serde(tag = "kind")]
enum Internal {
    A { x: i64 },
    B(BTreeMap<String, i64>),
    C,
}

#[derive(Serialize)]
#[serde(tag = "t", content = "c")]
enum Adjacent {
    A(i64),
    B { y: String },
}

#[derive(Serialize)]
#[serde(untagged)]
enum Untagged {
    N(i64),
    S(String),
    L(Vec<Untagged>),
}

#[derive(Serialize)]
struct Everything {
    a: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<i64>,
    #[serde(rename = "renamed key that is longer than thirty-one bytes")]
    long: bool,
    #[serde(flatten)]
    flat: BTreeMap<String, i64>,
    tuple: Tuple,
    newtype: Newtype,
    external: Vec<External>,
    internal: Vec<Internal>,
    adjacent: Vec<Adjacent>,
    untagged: Untagged,
    value: Value,
}

#[test]
fn derived_structs_and_enums_in_every_representation() {
    let v = Everything {
        a: -300,
        skipped: None,
        long: true,
        flat: [("f".to_string(), 1), ("g".to_string(), 2)].into(),
        tuple: Tuple(1, "t".into()),
        newtype: Newtype(vec![1, 2, 3]),
        external: vec![
            External::Unit,
            External::Newtype(7),
            External::Tuple(8, "x".into()),
            External::Struct { a: 9, b: None },
            External::Struct { a: 9, b: Some("y".repeat(40)) },
        ],
        internal: vec![Internal::A { x: 1 }, Internal::B([("k".to_string(), 2)].into()), Internal::C],
        adjacent: vec![Adjacent::A(3), Adjacent::B { y: "z".into() }],
        untagged: Untagged::L(vec![Untagged::N(1), Untagged::S("s".into()), Untagged::L(vec![])]),
        value: Value::Map(vec![
            ("nil".into(), Value::Nil),
            ("bin".into(), Value::Bin(vec![1, 2])),
            ("list".into(), Value::List(vec![Value::Float(0.5), Value::Bool(false), Value::Int(-70_000)])),
        ]),
    };
    same(&v);
    same(&Everything { skipped: Some(1), flat: BTreeMap::new(), ..v });
}

#[test]
fn extension_values_and_errors() {
    struct Ext(i8, Vec<u8>);
    impl Serialize for Ext {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_newtype_struct(rmp_serde::MSGPACK_EXT_STRUCT_NAME, &(self.0, Bytes(&self.1)))
        }
    }
    for n in [0, 1, 2, 4, 8, 16, 17, 300] {
        same(&vec![Ext(-3, vec![5; n])]);
    }
    struct BadExt;
    impl Serialize for BadExt {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_newtype_struct(rmp_serde::MSGPACK_EXT_STRUCT_NAME, "not a tuple")
        }
    }
    struct Fails;
    impl Serialize for Fails {
        fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(S::Error::custom("no can do"))
        }
    }
    let (got, want) = both(&BadExt);
    assert!(want.is_err());
    assert_eq!(got.unwrap_err(), want.unwrap_err());
    let (got, want) = both(&(1, vec![Some(Fails)]));
    assert_eq!(got.unwrap_err(), want.unwrap_err());
}

/// A `Shared` encoded by rmp_serde from inside a value this encoder is encoding.
struct Foreign(Shared<Vec<String>>);
impl Serialize for Foreign {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let inner = rmp_serde::to_vec_named(&self.0).map_err(S::Error::custom)?;
        s.serialize_bytes(&inner)
    }
}

#[test]
fn shared_values_keep_their_bytes_and_encode_as_the_value() {
    #[derive(Serialize, Clone)]
    struct Msg {
        who: Shared<String>,
        text: String,
        n: i64,
    }
    #[derive(Serialize)]
    struct Client {
        messages: Vec<Shared<Msg>>,
        total: i64,
    }
    let who = Shared::new("A".to_string());
    let msg = Shared::new(Msg { who: who.clone(), text: "Hi ".repeat(20), n: 300 });
    let plain = Msg { who: who.clone(), text: msg.text.clone(), n: 300 };
    // The first encoding keeps the bytes; every later one (and a clone's) copies them.
    same(&msg);
    let kept = msg.kept().expect("kept after the first encoding").to_vec();
    assert_eq!(kept, rmp_serde::to_vec_named(&plain).unwrap());
    assert!(who.kept().is_none(), "a Shared inside a kept one is not kept on its own");
    let a = Client { messages: vec![msg.clone(), msg.clone()], total: 2 };
    same(&a);
    same(&(Foreign(Shared::new(vec!["x".into(); 20])), &a, &msg));
    same(&Shared::new(vec![msg.clone(), Shared::new(Msg { who: who.clone(), text: String::new(), n: -1 })]));
    // Shared in shared, at every position of a struct and a list, never encoded before.
    let outer = Shared::new(vec![Shared::new(plain.clone()), Shared::new(plain)]);
    same(&vec![outer.clone(), outer.clone()]);
    same(&Shared::new(Shared::new(Shared::new(3i64))));
    // A Shared first encoded by another serializer keeps nothing and still encodes the same.
    let fresh = Shared::new(vec![1.5f64; 17]);
    let by_rmp = rmp_serde::to_vec_named(&fresh).unwrap();
    assert!(fresh.kept().is_none());
    let mut got = Vec::new();
    write_named(&mut got, &fresh).unwrap();
    assert_eq!(got, by_rmp);
    // A failing value keeps nothing.
    struct Fails;
    impl Serialize for Fails {
        fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(S::Error::custom("no"))
        }
    }
    let bad = Shared::new(Fails);
    assert!(write_named(&mut Vec::new(), &bad).is_err());
    assert!(bad.kept().is_none());
}

/// A value that counts its encodings.
struct Counted(std::cell::Cell<u32>, &'static str);
impl Serialize for Counted {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.set(self.0.get() + 1);
        s.serialize_str(self.1)
    }
}

#[test]
fn unkept_encoding_keeps_only_what_is_held_twice() {
    let unkept = |v: &dyn erased::Ser| {
        let mut out = vec![7u8];
        v.unkept(&mut out).unwrap();
        out
    };
    let plain = |s: &str| {
        let mut out = vec![7u8];
        rmp_serde::encode::write_named(&mut out, &s).unwrap();
        out
    };
    // Held once, never encoded: encoded each time, nothing kept.
    let lone = Shared::new(Counted(0.into(), "lone"));
    assert_eq!(unkept(&lone), plain("lone"));
    assert_eq!(unkept(&lone), plain("lone"));
    assert_eq!((lone.0.get(), lone.kept().is_none()), (2, true));
    // Kept by `write_named`: copied, not encoded again.
    let kept = Shared::new(Counted(0.into(), "kept"));
    write_named(&mut Vec::new(), &kept).unwrap();
    assert_eq!(unkept(&kept), plain("kept"));
    assert_eq!(kept.0.get(), 1);
    // Held twice: kept at its first encoding, copied for the clone.
    let twice = Shared::new(Counted(0.into(), "twice"));
    let other = twice.clone();
    assert_eq!(unkept(&twice), plain("twice"));
    assert!(twice.kept().is_some());
    assert_eq!(unkept(&other), plain("twice"));
    assert_eq!(twice.0.get(), 1);
    // All of them inside one value (in a list, as a struct field), with rmp_serde's bytes; a
    // `Shared` inside a lone one is encoded as its value (not kept), as `write_named` does.
    #[derive(Serialize)]
    struct Client {
        messages: Vec<Shared<Counted>>,
        last: Shared<Counted>,
        inner: Shared<Vec<Shared<Counted>>>,
    }
    let fresh = Shared::new(Counted(0.into(), "fresh"));
    let c = Client {
        messages: vec![kept.clone(), lone.clone(), twice.clone()],
        last: Shared::new(Counted(0.into(), "last")),
        inner: Shared::new(vec![fresh.clone()]),
    };
    let mut want = vec![7u8];
    rmp_serde::encode::write_named(&mut want, &c).unwrap();
    let counts = |c: &Client| [kept.0.get(), lone.0.get(), twice.0.get(), c.last.0.get(), fresh.0.get()];
    let before = counts(&c);
    assert_eq!(unkept(&c), want);
    // `lone` has a clone in `c` now: kept; `last` is held once: not; `fresh` is inside `inner`.
    let after = counts(&c);
    assert_eq!(after, [before[0], before[1] + 1, before[2], before[3] + 1, before[4] + 1]);
    assert_eq!((lone.kept().is_some(), c.last.kept().is_none(), fresh.kept().is_none()), (true, true, true));
    assert_eq!(unkept(&c), want);
    assert_eq!(counts(&c), [after[0], after[1], after[2], after[3] + 1, after[4] + 1]);
    // The mode ends with the call: `write_named` keeps again.
    write_named(&mut Vec::new(), &c.last).unwrap();
    assert!(c.last.kept().is_some());
    // Errors are `write_named`'s.
    struct Fails;
    impl Serialize for Fails {
        fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(S::Error::custom("no"))
        }
    }
    let e = write_named_unkept(&mut Vec::new(), &Shared::new(Fails)).unwrap_err().to_string();
    assert_eq!(e, write_named(&mut Vec::new(), &Shared::new(Fails)).unwrap_err().to_string());
}

/// `write_named_unkept` behind a trait object (values of several types in one test).
mod erased {
    pub trait Ser {
        fn unkept(&self, out: &mut Vec<u8>) -> Result<(), rmp_serde::encode::Error>;
    }
    impl<T: serde::Serialize> Ser for T {
        fn unkept(&self, out: &mut Vec<u8>) -> Result<(), rmp_serde::encode::Error> {
            super::write_named_unkept(out, self)
        }
    }
}

/// A kept `Shared` is copied after other bytes at every length around the short copy's bound
/// (1 to 17 bytes copied without `memory.copy`, longer ones with it): one byte (an integer), a
/// string's marker and 0 to 40 bytes, each held twice so that its bytes are kept.
#[test]
fn kept_bytes_are_copied_at_every_length() {
    let check = |v: &dyn erased::Ser, want: &[u8]| {
        let mut out = vec![7u8, 8];
        v.unkept(&mut out).unwrap();
        v.unkept(&mut out).unwrap();
        assert_eq!(&out[..2], [7, 8]);
        assert_eq!(out[2..], [want, want].concat(), "{want:?}");
    };
    for n in [0i64, 5, -3, 127, 300] {
        let v = Shared::new(n);
        let _other = v.clone();
        check(&v, &rmp_serde::to_vec_named(&n).unwrap());
        assert!(v.kept().is_some());
    }
    for len in 0..=40 {
        let s: String = "abcdefghij".chars().cycle().take(len).collect();
        let v = Shared::new(s.clone());
        let _other = v.clone();
        check(&v, &rmp_serde::to_vec_named(&s).unwrap());
        assert_eq!(v.kept(), Some(&rmp_serde::to_vec_named(&s).unwrap()[..]));
        // The same in a list with other kept values (the copies land mid-buffer).
        let list = vec![v.clone(), Shared::new("x".to_string()), v.clone()];
        let mut out = Vec::new();
        write_named(&mut out, &list).unwrap();
        assert_eq!(out, rmp_serde::to_vec_named(&vec![s.as_str(), "x", s.as_str()]).unwrap());
    }
}
