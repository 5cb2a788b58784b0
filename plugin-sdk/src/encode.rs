//! The SDK's MessagePack encoder: byte for byte what `rmp_serde::encode::write_named` writes into
//! a `Vec<u8>` (structs as maps with their field names, every number, string, binary, list and map
//! length in its shortest form), written straight into the `Vec` without rmp's generic writer
//! layer, and able to copy a [`crate::Shared`] value's encoding once it has been made.
//!
//! Every function result, record value and `Ctx::emit` message of a Rust plugin goes through
//! [`write_named`]. `tests` in `encode_tests.rs` compare it with `rmp_serde` at every length where
//! a MessagePack form changes, for every serde data-model type.
//!
//! # Shared values
//! While this encoder runs, a `Shared<T>` hands its value over through
//! `serialize_newtype_struct` under a private name, and the encoder keeps the bytes of its first
//! encoding in the `Shared` (outermost `Shared` only: one nested in a value being kept is part of
//! those bytes). Every later encoding of that `Shared` or of a clone of it copies them: a chat
//! message encoded for its `emit` is copied, not encoded again, into both clients' state values.
//! Other serializers see `Shared<T>` exactly as `T` (it calls them as `T` does), except one run
//! from inside a `Serialize` impl while this encoder runs: it gets `T` as a newtype struct, which
//! serializers that write newtypes as their content (rmp_serde, serde_json) write as `T`.

use rmp_serde::encode::Error;
use serde::ser::{self, Serialize};
use std::cell::{Cell, OnceCell};

/// The bytes of a [`crate::Shared`] value's first encoding by [`write_named`].
pub(crate) type Kept = OnceCell<Box<[u8]>>;

/// The newtype name under which a `Shared` reaches this encoder.
const SHARED: &str = "$distroduce_sdk::Shared";

/// A `Shared` being serialized: its value's address and its kept bytes.
#[derive(Clone, Copy)]
struct Slot {
    value: *const (),
    kept: *const Kept,
    /// Other clones of the `Shared` exist (it may be encoded again).
    cloned: bool,
}

thread_local! {
    /// What the serializer running on this thread is: [`OFF`], [`KEEP`], [`NESTED`] or [`COPY`].
    static MODE: Cell<u8> = const { Cell::new(OFF) };
    /// The `Shared` whose `serialize` is running, set only for the extent of that call.
    static SLOT: Cell<Option<Slot>> = const { Cell::new(None) };
}

/// Not [`write_named`]'s serializer: a `Shared` serializes as its value.
const OFF: u8 = 0;
/// [`write_named`]'s: a `Shared` passes itself under [`SHARED`], to have its bytes copied or kept.
const KEEP: u8 = 1;
/// [`write_named`]'s, inside a value whose bytes are being kept: a `Shared` serializes as its value
/// (its bytes are part of those being kept).
const NESTED: u8 = 2;
/// [`write_named_unkept`]'s: a `Shared` copies the bytes it has kept; without any, it keeps its
/// bytes as under [`KEEP`] if other clones of it exist (they may be encoded too), else it is
/// encoded without keeping them (a `Shared` inside it then as under [`NESTED`]).
const COPY: u8 = 3;

/// Restores a thread-local cell on drop (also when a `Serialize` impl panics).
struct Restore<T: Copy + 'static>(&'static std::thread::LocalKey<Cell<T>>, T);

impl<T: Copy + 'static> Drop for Restore<T> {
    fn drop(&mut self) {
        self.0.set(self.1);
    }
}

/// Appends `value`'s MessagePack to `out`: exactly `rmp_serde::encode::write_named`'s bytes, with
/// its errors (the same texts).
pub fn write_named<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    let _mode = Restore(&MODE, MODE.replace(KEEP));
    let mut enc = Encoder { out: std::mem::take(out) };
    let r = value.serialize(&mut enc);
    *out = enc.out;
    r
}

/// [`write_named`] that keeps the bytes of no `Shared` held only where it is encoded (those kept
/// already are copied, and one with other clones keeps them): for a value encoded once (a
/// message emitted while the loop writes no record values), where keeping the bytes of a
/// `Shared` nobody else holds is an allocation and a copy for nothing. The same bytes and errors
/// as [`write_named`].
pub fn write_named_unkept<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    let _mode = Restore(&MODE, MODE.replace(COPY));
    let mut enc = Encoder { out: std::mem::take(out) };
    let r = value.serialize(&mut enc);
    *out = enc.out;
    r
}

/// The `emit` map of ABI §5 without headers, `{topic, value[, key]}`: the bytes (and errors)
/// [`write_named`] (`keep`) or [`write_named_unkept`] writes for `Ctx`'s `Emit` struct, without
/// serde's struct machinery around the value (an emit per message is a hot path).
pub(crate) fn write_emit<V: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    topic: &str,
    value: &V,
    key: Option<&str>,
    keep: bool,
) -> Result<(), Error> {
    let _mode = Restore(&MODE, MODE.replace(if keep { KEEP } else { COPY }));
    let mut enc = Encoder { out: std::mem::take(out) };
    enc.map_len(2 + u32::from(key.is_some()));
    enc.str("topic");
    enc.str(topic);
    enc.str("value");
    let r = value.serialize(&mut enc);
    if let (Ok(()), Some(key)) = (&r, key) {
        enc.str("key");
        enc.str(key);
    }
    *out = enc.out;
    r
}

/// `Shared<T>`'s `Serialize`: to this encoder, through [`SHARED`] with its kept bytes; to any
/// other serializer, as `T`.
pub(crate) fn serialize_shared<T: Serialize, S: ser::Serializer>(
    value: &T,
    kept: &Kept,
    cloned: bool,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mode = MODE.get();
    if mode != KEEP && mode != COPY {
        return value.serialize(s);
    }
    let slot = Slot { value: value as *const T as *const (), kept, cloned };
    // The slot is set only while `value` and `kept` are borrowed here (restored on return).
    let _slot = Restore(&SLOT, SLOT.replace(Some(slot)));
    s.serialize_newtype_struct(SHARED, value)
}

/// The serializer behind [`write_named`].
struct Encoder {
    out: Vec<u8>,
}

impl Encoder {
    #[cold]
    fn len_marker(&mut self, len: u32, m16: u8) {
        if len <= 0xffff {
            self.out.push(m16);
            self.out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            self.out.push(m16 + 1);
            self.out.extend_from_slice(&len.to_be_bytes());
        }
    }

    #[inline]
    fn array_len(&mut self, len: u32) {
        if len < 16 {
            self.out.push(0x90 | len as u8);
        } else {
            self.len_marker(len, 0xdc);
        }
    }

    #[inline]
    fn map_len(&mut self, len: u32) {
        if len < 16 {
            self.out.push(0x80 | len as u8);
        } else {
            self.len_marker(len, 0xde);
        }
    }

    #[inline(always)]
    fn str(&mut self, s: &str) {
        let len = s.len() as u32;
        if len <= 16 {
            // Keys and most strings: marker and bytes in one reserve, without `memory.copy`.
            put_short(&mut self.out, 0xa0 | len as u8, s.as_bytes());
            return;
        }
        if len < 32 {
            self.out.push(0xa0 | len as u8);
        } else if len < 256 {
            self.out.extend_from_slice(&[0xd9, len as u8]);
        } else {
            self.len_marker(len, 0xda);
        }
        self.out.extend_from_slice(s.as_bytes());
    }

    #[inline]
    fn bin(&mut self, b: &[u8]) {
        let len = b.len() as u32;
        if len < 256 {
            self.out.extend_from_slice(&[0xc4, len as u8]);
        } else {
            self.len_marker(len, 0xc5);
        }
        self.out.extend_from_slice(b);
    }

    #[inline]
    fn uint(&mut self, v: u64) {
        if v < 128 {
            self.out.push(v as u8);
        } else if v < 256 {
            self.out.extend_from_slice(&[0xcc, v as u8]);
        } else if v < 65_536 {
            self.out.push(0xcd);
            self.out.extend_from_slice(&(v as u16).to_be_bytes());
        } else if v < 4_294_967_296 {
            self.out.push(0xce);
            self.out.extend_from_slice(&(v as u32).to_be_bytes());
        } else {
            self.out.push(0xcf);
            self.out.extend_from_slice(&v.to_be_bytes());
        }
    }

    #[inline]
    fn sint(&mut self, v: i64) {
        if v >= 0 {
            self.uint(v as u64);
        } else if v >= -32 {
            self.out.push(v as i8 as u8);
        } else if v >= -128 {
            self.out.extend_from_slice(&[0xd0, v as i8 as u8]);
        } else if v >= -32_768 {
            self.out.push(0xd1);
            self.out.extend_from_slice(&(v as i16).to_be_bytes());
        } else if v >= -2_147_483_648 {
            self.out.push(0xd2);
            self.out.extend_from_slice(&(v as i32).to_be_bytes());
        } else {
            self.out.push(0xd3);
            self.out.extend_from_slice(&v.to_be_bytes());
        }
    }

    /// A list or map of `len` entries, or of a length known at its end (`None`): then its
    /// header is inserted before its entries, as rmp_serde writes it from a buffer.
    #[inline]
    fn compound(&mut self, len: Option<usize>, map: bool) -> Compound<'_> {
        match len {
            Some(len) => {
                if map {
                    self.map_len(len as u32);
                } else {
                    self.array_len(len as u32);
                }
                Compound { enc: self, open: None }
            }
            None => {
                let at = self.out.len();
                Compound { enc: self, open: Some(Open { at, count: 0, map }) }
            }
        }
    }

    /// A `Shared`'s value: its kept bytes, or its encoding, then kept (a `Shared` inside it is
    /// encoded as its value meanwhile: [`NESTED`]); under [`COPY`], not kept if `cloned` is false.
    fn shared<T: Serialize + ?Sized>(&mut self, value: &T, kept: &Kept, cloned: bool) -> Result<(), Error> {
        if let Some(bytes) = kept.get() {
            // Most kept values are short (a chat user, a one-word string): copied without a
            // `memory.copy` call, as `put_short` copies a string's bytes.
            match bytes.split_first() {
                Some((&first, rest)) if rest.len() <= 16 => put_short(&mut self.out, first, rest),
                _ => self.out.extend_from_slice(bytes),
            }
            return Ok(());
        }
        if MODE.get() == COPY && !cloned {
            // As under `KEEP`: a `Shared` inside it is encoded as its value (the cheap path of
            // `serialize_shared`, which most nested ones, a message's strings, take).
            let _nested = Restore(&MODE, MODE.replace(NESTED));
            return value.serialize(&mut *self);
        }
        let start = self.out.len();
        {
            let _nested = Restore(&MODE, MODE.replace(NESTED));
            value.serialize(&mut *self)?;
        }
        // Cannot be set already: a value cannot contain itself.
        let _ = kept.set(self.out[start..].into());
        Ok(())
    }
}

/// Appends `marker` and `bytes` (at most 16) with one capacity check, copying through
/// fixed-size loads and stores: on wasm32 a `memcpy` of a few bytes is a `memory.copy`, which
/// the host runs as a call.
#[inline]
fn put_short(out: &mut Vec<u8>, marker: u8, bytes: &[u8]) {
    let n = bytes.len();
    debug_assert!(n <= 16);
    out.reserve(17);
    let at = out.len();
    // SAFETY: 17 bytes are reserved past `at`; every read is inside `bytes` (`n` of them, the
    // two 8- or 4-byte reads overlap instead of passing its end), every write inside the
    // reserved `1 + n` bytes.
    unsafe {
        let dst = out.as_mut_ptr().add(at);
        dst.write(marker);
        let dst = dst.add(1);
        let src = bytes.as_ptr();
        if n >= 8 {
            let a = src.cast::<u64>().read_unaligned();
            let b = src.add(n - 8).cast::<u64>().read_unaligned();
            dst.cast::<u64>().write_unaligned(a);
            dst.add(n - 8).cast::<u64>().write_unaligned(b);
        } else if n >= 4 {
            let a = src.cast::<u32>().read_unaligned();
            let b = src.add(n - 4).cast::<u32>().read_unaligned();
            dst.cast::<u32>().write_unaligned(a);
            dst.add(n - 4).cast::<u32>().write_unaligned(b);
        } else {
            // Not a loop, which LLVM would turn back into a `memcpy`.
            if n > 0 {
                dst.write(*src);
            }
            if n > 1 {
                dst.add(1).write(*src.add(1));
            }
            if n > 2 {
                dst.add(2).write(*src.add(2));
            }
        }
        out.set_len(at + 1 + n);
    }
}

/// A list or map whose header is written at its end.
struct Open {
    at: usize,
    count: u32,
    map: bool,
}

/// Lists, maps, tuples and structs in progress.
#[doc(hidden)]
pub struct Compound<'a> {
    enc: &'a mut Encoder,
    open: Option<Open>,
}

impl Compound<'_> {
    #[inline]
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if let Some(open) = &mut self.open {
            open.count = open.count.wrapping_add(1);
        }
        value.serialize(&mut *self.enc)
    }

    /// Ends it: a length known only now (rare: serde's derives and std's collections give
    /// theirs) is inserted as its header, out of line.
    #[inline]
    fn finish(self) -> Result<(), Error> {
        if let Some(open) = self.open {
            insert_header(&mut self.enc.out, open);
        }
        Ok(())
    }
}

/// The header of a list or map whose length is known at its end, inserted before its entries.
#[cold]
#[inline(never)]
fn insert_header(out: &mut Vec<u8>, Open { at, count, map }: Open) {
    let mut head = Encoder { out: Vec::with_capacity(5) };
    if map {
        head.map_len(count / 2);
    } else {
        head.array_len(count);
    }
    out.splice(at..at, head.out);
}

// `serde::Serializer` for the encoder and its compounds.
#[path = "encode_serde.rs"]
mod serde_impl;

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;
