// MessagePack encoding and decoding over raw memory. Encodings follow rmp (the Rust SDK's
// encoder): the smallest integer format that fits (non-negative integers as positive fixint or
// uint, negative ones as negative fixint or int), floats always as float64, the smallest str,
// bin, array and map headers.

import { fail } from "./host";
import { PER_CALL_BUFFERS } from "./memory";

/** A growable byte buffer in linear memory, written front to back. */
export class Writer {
  ptr: usize = 0;
  len: usize = 0;
  cap: usize = 0;

  /** Empties the buffer for a new call (allocating a fresh one when the arena was reset). */
  begin(initial: usize = 256): void {
    if (PER_CALL_BUFFERS || this.ptr == 0) {
      this.ptr = heap.alloc(initial);
      this.cap = initial;
    }
    this.len = 0;
  }

  /** `(ptr << 32) | len`, as ABI.md §1 packs a result. */
  packed(): i64 {
    return <i64>((<u64>this.ptr << 32) | <u64>this.len);
  }

  @inline reserve(n: usize): usize {
    if (this.len + n > this.cap) this.grow(n);
    const at = this.ptr + this.len;
    this.len += n;
    return at;
  }

  private grow(n: usize): void {
    let cap = this.cap << 1;
    if (cap < this.len + n) cap = this.len + n;
    this.ptr = heap.realloc(this.ptr, cap);
    this.cap = cap;
  }

  @inline u8(b: u32): void {
    store<u8>(this.reserve(1), <u8>b);
  }

  @inline tagged16(tag: u32, v: u32): void {
    const at = this.reserve(3);
    store<u8>(at, <u8>tag);
    store<u16>(at + 1, bswap<u16>(<u16>v));
  }

  @inline tagged32(tag: u32, v: u32): void {
    const at = this.reserve(5);
    store<u8>(at, <u8>tag);
    store<u32>(at + 1, bswap<u32>(v));
  }

  @inline tagged64(tag: u32, v: u64): void {
    const at = this.reserve(9);
    store<u8>(at, <u8>tag);
    store<u64>(at + 1, bswap<u64>(v));
  }

  bytes(src: usize, n: usize): void {
    memory.copy(this.reserve(n), src, n);
  }

  nil(): void {
    this.u8(0xc0);
  }

  bool(b: bool): void {
    this.u8(b ? 0xc3 : 0xc2);
  }

  int(v: i64): void {
    if (v >= 0) {
      this.uint(<u64>v);
    } else if (v >= -32) {
      this.u8(<u32>(<i32>v) & 0xff);
    } else if (v >= -128) {
      const at = this.reserve(2);
      store<u8>(at, 0xd0);
      store<i8>(at + 1, <i8>v);
    } else if (v >= -32768) {
      this.tagged16(0xd1, <u32>(<i32>v) & 0xffff);
    } else if (v >= -2147483648) {
      this.tagged32(0xd2, <u32>(<i32>v));
    } else {
      this.tagged64(0xd3, <u64>v);
    }
  }

  uint(v: u64): void {
    if (v < 128) {
      this.u8(<u32>v);
    } else if (v < 256) {
      const at = this.reserve(2);
      store<u8>(at, 0xcc);
      store<u8>(at + 1, <u8>v);
    } else if (v < 65536) {
      this.tagged16(0xcd, <u32>v);
    } else if (v < 4294967296) {
      this.tagged32(0xce, <u32>v);
    } else {
      this.tagged64(0xcf, v);
    }
  }

  float(f: f64): void {
    this.tagged64(0xcb, reinterpret<u64>(f));
  }

  strHeader(n: usize): void {
    if (n < 32) {
      this.u8(0xa0 | <u32>n);
    } else if (n < 256) {
      const at = this.reserve(2);
      store<u8>(at, 0xd9);
      store<u8>(at + 1, <u8>n);
    } else if (n < 65536) {
      this.tagged16(0xda, <u32>n);
    } else {
      this.tagged32(0xdb, <u32>n);
    }
  }

  /** A string as MessagePack str (UTF-8). */
  str(s: string): void {
    const units = s.length;
    let ascii = true;
    const p = changetype<usize>(s);
    for (let i = 0; i < units; i++) {
      if (load<u16>(p + (<usize>i << 1)) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      this.strHeader(<usize>units);
      const at = this.reserve(<usize>units);
      for (let i = 0; i < units; i++) store<u8>(at + <usize>i, <u8>load<u16>(p + (<usize>i << 1)));
      return;
    }
    const n = <usize>String.UTF8.byteLength(s);
    this.strHeader(n);
    String.UTF8.encodeUnsafe(p, units, this.reserve(n));
  }

  binHeader(n: usize): void {
    if (n < 256) {
      const at = this.reserve(2);
      store<u8>(at, 0xc4);
      store<u8>(at + 1, <u8>n);
    } else if (n < 65536) {
      this.tagged16(0xc5, <u32>n);
    } else {
      this.tagged32(0xc6, <u32>n);
    }
  }

  arrayHeader(n: usize): void {
    if (n < 16) this.u8(0x90 | <u32>n);
    else if (n < 65536) this.tagged16(0xdc, <u32>n);
    else this.tagged32(0xdd, <u32>n);
  }

  mapHeader(n: usize): void {
    if (n < 16) this.u8(0x80 | <u32>n);
    else if (n < 65536) this.tagged16(0xde, <u32>n);
    else this.tagged32(0xdf, <u32>n);
  }
}

// ---- Reading ----------------------------------------------------------------------------

export function malformed(p: usize): void {
  fail("malformed MessagePack input (at byte " + p.toString() + ")");
}

/** Fails unless `n` bytes from `p` lie before `end`. */
// @ts-ignore: decorator
@inline export function need(p: usize, n: usize, end: usize): void {
  if (p + n > end || p + n < p) malformed(p);
}

// @ts-ignore: decorator
@inline export function be16(p: usize): u32 {
  return <u32>bswap<u16>(load<u16>(p));
}

// @ts-ignore: decorator
@inline export function be32(p: usize): u32 {
  return bswap<u32>(load<u32>(p));
}

// @ts-ignore: decorator
@inline export function be64(p: usize): u64 {
  return bswap<u64>(load<u64>(p));
}

/** Type families of a marker byte. */
export const enum Family {
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

/**
 * The header of the value at `p`: sets `hdrFamily`, `hdrLen` (the count of a container, the
 * byte length of str/bin/ext, unused otherwise) and returns the address after the header. For
 * scalars, `hdrInt` / `hdrFloat` / `hdrUnsigned` carry the value.
 */
export let hdrFamily: Family = Family.Nil;
export let hdrLen: usize = 0;
export let hdrInt: i64 = 0;
export let hdrUnsigned: bool = false;
export let hdrFloat: f64 = 0;

export function readHeader(p: usize, end: usize): usize {
  need(p, 1, end);
  const m = <u32>load<u8>(p);
  hdrUnsigned = false;
  if (m < 0x80) {
    hdrFamily = Family.Int;
    hdrInt = <i64>m;
    return p + 1;
  }
  if (m >= 0xe0) {
    hdrFamily = Family.Int;
    hdrInt = <i64>(<i8>m);
    return p + 1;
  }
  if (m < 0x90) {
    hdrFamily = Family.Map;
    hdrLen = m & 0x0f;
    return p + 1;
  }
  if (m < 0xa0) {
    hdrFamily = Family.List;
    hdrLen = m & 0x0f;
    return p + 1;
  }
  if (m < 0xc0) {
    hdrFamily = Family.Str;
    hdrLen = m & 0x1f;
    return p + 1;
  }
  switch (m) {
    case 0xc0:
      hdrFamily = Family.Nil;
      return p + 1;
    case 0xc2:
    case 0xc3:
      hdrFamily = Family.Bool;
      hdrInt = m == 0xc3 ? 1 : 0;
      return p + 1;
    case 0xc4:
      need(p, 2, end);
      hdrFamily = Family.Bin;
      hdrLen = load<u8>(p + 1);
      return p + 2;
    case 0xc5:
      need(p, 3, end);
      hdrFamily = Family.Bin;
      hdrLen = be16(p + 1);
      return p + 3;
    case 0xc6:
      need(p, 5, end);
      hdrFamily = Family.Bin;
      hdrLen = be32(p + 1);
      return p + 5;
    case 0xc7:
      need(p, 3, end);
      hdrFamily = Family.Ext;
      hdrLen = <usize>load<u8>(p + 1) + 1;
      return p + 2;
    case 0xc8:
      need(p, 4, end);
      hdrFamily = Family.Ext;
      hdrLen = be16(p + 1) + 1;
      return p + 3;
    case 0xc9:
      need(p, 6, end);
      hdrFamily = Family.Ext;
      hdrLen = be32(p + 1) + 1;
      return p + 5;
    case 0xca:
      need(p, 5, end);
      hdrFamily = Family.Float;
      hdrFloat = <f64>reinterpret<f32>(be32(p + 1));
      return p + 5;
    case 0xcb:
      need(p, 9, end);
      hdrFamily = Family.Float;
      hdrFloat = reinterpret<f64>(be64(p + 1));
      return p + 9;
    case 0xcc:
      need(p, 2, end);
      hdrFamily = Family.Int;
      hdrInt = <i64>load<u8>(p + 1);
      return p + 2;
    case 0xcd:
      need(p, 3, end);
      hdrFamily = Family.Int;
      hdrInt = <i64>be16(p + 1);
      return p + 3;
    case 0xce:
      need(p, 5, end);
      hdrFamily = Family.Int;
      hdrInt = <i64>be32(p + 1);
      return p + 5;
    case 0xcf:
      need(p, 9, end);
      hdrFamily = Family.Int;
      hdrInt = <i64>be64(p + 1);
      hdrUnsigned = hdrInt < 0;
      return p + 9;
    case 0xd0:
      need(p, 2, end);
      hdrFamily = Family.Int;
      hdrInt = <i64>load<i8>(p + 1);
      return p + 2;
    case 0xd1:
      need(p, 3, end);
      hdrFamily = Family.Int;
      hdrInt = <i64>(<i16>be16(p + 1));
      return p + 3;
    case 0xd2:
      need(p, 5, end);
      hdrFamily = Family.Int;
      hdrInt = <i64>(<i32>be32(p + 1));
      return p + 5;
    case 0xd3:
      need(p, 9, end);
      hdrFamily = Family.Int;
      hdrInt = <i64>be64(p + 1);
      return p + 9;
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
      hdrFamily = Family.Ext;
      hdrLen = (<usize>1 << (m - 0xd4)) + 1;
      return p + 1;
    case 0xd9:
      need(p, 2, end);
      hdrFamily = Family.Str;
      hdrLen = load<u8>(p + 1);
      return p + 2;
    case 0xda:
      need(p, 3, end);
      hdrFamily = Family.Str;
      hdrLen = be16(p + 1);
      return p + 3;
    case 0xdb:
      need(p, 5, end);
      hdrFamily = Family.Str;
      hdrLen = be32(p + 1);
      return p + 5;
    case 0xdc:
      need(p, 3, end);
      hdrFamily = Family.List;
      hdrLen = be16(p + 1);
      return p + 3;
    case 0xdd:
      need(p, 5, end);
      hdrFamily = Family.List;
      hdrLen = be32(p + 1);
      return p + 5;
    case 0xde:
      need(p, 3, end);
      hdrFamily = Family.Map;
      hdrLen = be16(p + 1);
      return p + 3;
    case 0xdf:
      need(p, 5, end);
      hdrFamily = Family.Map;
      hdrLen = be32(p + 1);
      return p + 5;
  }
  malformed(p);
  return end;
}

/** The address just after the value at `p`. */
export function skip(p: usize, end: usize): usize {
  let pending: usize = 1; // values still to walk past
  while (pending > 0) {
    pending--;
    p = readHeader(p, end);
    switch (hdrFamily) {
      case Family.Str:
      case Family.Bin:
      case Family.Ext:
        need(p, hdrLen, end);
        p += hdrLen;
        break;
      case Family.List:
        pending += hdrLen;
        break;
      case Family.Map:
        pending += hdrLen << 1;
        break;
      default:
        break;
    }
  }
  return p;
}

/** Whether the `n` UTF-8 bytes at `p` spell `s`, without decoding them. */
export function utf8Equals(p: usize, n: usize, s: string): bool {
  const sp = changetype<usize>(s);
  const units = <usize>s.length;
  let q: usize = 0;
  for (let i: usize = 0; i < units; i++) {
    let c = <u32>load<u16>(sp + (i << 1));
    if (c < 0x80) {
      if (q >= n || <u32>load<u8>(p + q) != c) return false;
      q++;
      continue;
    }
    if ((c & 0xfc00) == 0xd800 && i + 1 < units) {
      const d = <u32>load<u16>(sp + ((i + 1) << 1));
      if ((d & 0xfc00) == 0xdc00) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    let k: u32;
    let first: u32;
    if (c < 0x800) {
      k = 2;
      first = 0xc0 | (c >> 6);
    } else if (c < 0x10000) {
      k = 3;
      first = 0xe0 | (c >> 12);
    } else {
      k = 4;
      first = 0xf0 | (c >> 18);
    }
    if (q + <usize>k > n || <u32>load<u8>(p + q) != first) return false;
    for (let j: u32 = 1; j < k; j++) {
      const b = 0x80 | ((c >> (6 * (k - 1 - j))) & 0x3f);
      if (<u32>load<u8>(p + q + <usize>j) != b) return false;
    }
    q += <usize>k;
  }
  return q == n;
}
