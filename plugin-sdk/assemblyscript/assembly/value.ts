// A dynamic MessagePack value. Maps keep their keys in insertion order and integers stay distinct
// from floats, so a value comes out of a plugin exactly as the Rust SDK would write it.
//
// Values read from the call input are decoded lazily: a map or list is a view of the input bytes
// until it is changed or iterated, `get` scans the bytes without decoding the other entries, and
// an untouched view is copied byte for byte into the output. Such views, like everything a call
// allocates, live until the next call's input arrives (see memory.ts).

import { fail } from "./host";
import {
  Family,
  hdrFamily,
  hdrFloat,
  hdrInt,
  hdrLen,
  hdrUnsigned,
  need,
  readHeader,
  skip,
  utf8Equals,
  Writer,
} from "./msgpack";

export enum Kind {
  Nil = 0,
  Bool = 1,
  Int = 2,
  Float = 3,
  Str = 4,
  Bin = 5,
  List = 6,
  Map = 7,
}

const KIND_NAMES: StaticArray<string> = ["nil", "bool", "int", "float", "str", "bytes", "list", "map"];
/** `entry`'s kind for "int or float". */
// @ts-ignore: decorator
@inline const NUMBER: i32 = -1;

export class Value {
  /** The value's type. */
  kind: Kind = Kind.Nil;
  private n: i64 = 0; // Bool (0 or 1), Int
  private x: f64 = 0; // Float
  private s: string | null = null; // Str, once decoded
  private b: Uint8Array | null = null; // Bin, once decoded
  private ks: Array<string> | null = null; // Map keys, once decoded
  private vs: Array<Value> | null = null; // List items or Map values, once decoded
  private rawStart: usize = 0; // the encoded value [rawStart, rawEnd) while it is a view
  private rawEnd: usize = 0; // 0 until needed for a list or map view
  private limit: usize = 0; // the end of the buffer the view lies in
  private body: usize = 0; // first byte after the header (views)
  private count: usize = 0; // entries (List, Map) or bytes (Str, Bin) of a view
  private bigUnsigned: bool = false; // an unsigned 64-bit integer above i64's range (views)

  // ---- Construction -------------------------------------------------------------------

  static nil(): Value {
    return new Value();
  }

  static bool(b: bool): Value {
    const v = new Value();
    v.kind = Kind.Bool;
    v.n = b ? 1 : 0;
    return v;
  }

  static int(i: i64): Value {
    const v = new Value();
    v.kind = Kind.Int;
    v.n = i;
    return v;
  }

  static float(f: f64): Value {
    const v = new Value();
    v.kind = Kind.Float;
    v.x = f;
    return v;
  }

  static str(s: string): Value {
    const v = new Value();
    v.kind = Kind.Str;
    v.s = s;
    return v;
  }

  static bin(bytes: Uint8Array): Value {
    const v = new Value();
    v.kind = Kind.Bin;
    v.b = bytes;
    return v;
  }

  /** A list; `items` is used as it is (not copied). */
  static list(items: Array<Value> = []): Value {
    const v = new Value();
    v.kind = Kind.List;
    v.vs = items;
    return v;
  }

  /** An empty map; fill it with `set`. */
  static map(): Value {
    const v = new Value();
    v.kind = Kind.Map;
    v.ks = [];
    v.vs = [];
    return v;
  }

  /**
   * Any AssemblyScript value as a Value: `Value` as is, `bool`, integers, floats, `string`
   * (`null` for a nullable one becomes nil), `Uint8Array` (bin) and arrays of any of these.
   */
  static from<T>(v: T): Value {
    if (isNullable<T>()) {
      if (v == null) return Value.nil();
    }
    if (isBoolean<T>()) return Value.bool(<bool>v);
    if (isInteger<T>()) {
      if (isSigned<T>() || sizeof<T>() < 8) return Value.int(<i64>v);
      if (<u64>v > <u64>i64.MAX_VALUE) return fail<Value>("integer " + v.toString() + " is out of the signed 64-bit range");
      return Value.int(<i64>v);
    }
    if (isFloat<T>()) return Value.float(<f64>v);
    if (isString<T>()) return Value.str(changetype<string>(v));
    if (isReference<T>()) {
      if (v instanceof Value) return changetype<Value>(v);
      if (v instanceof Uint8Array) return Value.bin(changetype<Uint8Array>(v));
      if (isArray<T>()) {
        const arr = changetype<T>(v);
        // @ts-ignore: T is an array here
        const n = arr.length;
        const items = new Array<Value>(n);
        // @ts-ignore: T is an array here
        for (let i = 0; i < n; i++) items[i] = Value.from(unchecked(arr[i]));
        return Value.list(items);
      }
    }
    ERROR("Value.from: unsupported type");
    return Value.nil();
  }

  /** A lazily decoded view of the encoded value at `p` (scalars are decoded right away). */
  static decode(p: usize, end: usize): Value {
    const v = new Value();
    const body = readHeader(p, end);
    switch (hdrFamily) {
      case Family.Nil:
        return v;
      case Family.Bool:
        v.kind = Kind.Bool;
        v.n = hdrInt;
        return v;
      case Family.Int:
        v.kind = Kind.Int;
        v.n = hdrInt;
        v.bigUnsigned = hdrUnsigned;
        if (hdrUnsigned) {
          v.rawStart = p;
          v.rawEnd = body;
        }
        return v;
      case Family.Float:
        v.kind = Kind.Float;
        v.x = hdrFloat;
        return v;
      case Family.Str:
        v.kind = Kind.Str;
        break;
      case Family.Bin:
        v.kind = Kind.Bin;
        break;
      case Family.List:
        v.kind = Kind.List;
        break;
      case Family.Map:
        v.kind = Kind.Map;
        break;
      default:
        fail("MessagePack ext values are not supported");
    }
    v.count = hdrLen;
    v.body = body;
    v.rawStart = p;
    v.limit = end;
    if (v.kind == Kind.Str || v.kind == Kind.Bin) {
      need(body, hdrLen, end);
      v.rawEnd = body + hdrLen;
    }
    return v;
  }

  /**
   * The address after the encoded value that `decode(p, end)` returned as `this` (internal: lets
   * a reader move on without walking the value twice).
   */
  endFrom(p: usize, end: usize): usize {
    if (this.rawStart == 0) return skip(p, end);
    if (this.rawEnd == 0) this.rawEnd = skip(this.rawStart, this.limit);
    return this.rawEnd;
  }

  // ---- Type tests ---------------------------------------------------------------------

  isNil(): bool {
    return this.kind == Kind.Nil;
  }
  isBool(): bool {
    return this.kind == Kind.Bool;
  }
  isInt(): bool {
    return this.kind == Kind.Int;
  }
  isFloat(): bool {
    return this.kind == Kind.Float;
  }
  /** Int or Float. */
  isNumber(): bool {
    return this.kind == Kind.Int || this.kind == Kind.Float;
  }
  isStr(): bool {
    return this.kind == Kind.Str;
  }
  isBin(): bool {
    return this.kind == Kind.Bin;
  }
  isList(): bool {
    return this.kind == Kind.List;
  }
  isMap(): bool {
    return this.kind == Kind.Map;
  }

  /** The Python-ish name of the type, for messages: nil, bool, int, float, str, bytes, list, map. */
  typeName(): string {
    return KIND_NAMES[<i32>this.kind];
  }

  // ---- Scalars ------------------------------------------------------------------------

  private expected(what: string): void {
    fail("expected " + what + ", got " + this.typeName());
  }

  asBool(): bool {
    if (this.kind != Kind.Bool) this.expected("a bool");
    return this.n != 0;
  }

  /** The integer; fails on any other type (floats included). */
  asInt(): i64 {
    if (this.kind != Kind.Int) this.expected("an int");
    if (this.bigUnsigned) fail("integer " + (<u64>this.n).toString() + " is out of the signed 64-bit range");
    return this.n;
  }

  /** The number as a float: integers convert, as Python's arithmetic would mix them. */
  asFloat(): f64 {
    if (this.kind == Kind.Float) return this.x;
    if (this.kind == Kind.Int) return this.bigUnsigned ? <f64>(<u64>this.n) : <f64>this.n;
    this.expected("a number");
    return 0;
  }

  asStr(): string {
    if (this.kind != Kind.Str) this.expected("a str");
    let s = this.s;
    if (s == null) {
      s = String.UTF8.decodeUnsafe(this.body, this.count);
      this.s = s;
    }
    return s;
  }

  asBin(): Uint8Array {
    if (this.kind != Kind.Bin) this.expected("bytes");
    let b = this.b;
    if (b == null) {
      b = new Uint8Array(<i32>this.count);
      memory.copy(b.dataStart, this.body, this.count);
      this.b = b;
    }
    return b;
  }

  /** Whether this is the string `s` (compares the encoded bytes of a view without decoding). */
  equalsStr(s: string): bool {
    if (this.kind != Kind.Str) return false;
    const own = this.s;
    if (own != null) return own == s;
    return utf8Equals(this.body, this.count, s);
  }

  // ---- Containers ---------------------------------------------------------------------

  /** Decodes a view's entries (their values stay views). */
  private materialize(): void {
    if (this.rawStart == 0) return;
    if (this.kind == Kind.List) {
      const items = new Array<Value>(<i32>this.count);
      const end = this.limit;
      let p = this.body;
      for (let i = 0; i < <i32>this.count; i++) {
        const item = Value.decode(p, end);
        unchecked((items[i] = item));
        p = item.endFrom(p, end);
      }
      this.vs = items;
    } else if (this.kind == Kind.Map) {
      const keys = new Array<string>(<i32>this.count);
      const vals = new Array<Value>(<i32>this.count);
      const end = this.limit;
      let p = this.body;
      for (let i = 0; i < <i32>this.count; i++) {
        const k = readHeader(p, end);
        if (hdrFamily != Family.Str) fail("map keys must be strings");
        need(k, hdrLen, end);
        unchecked((keys[i] = String.UTF8.decodeUnsafe(k, hdrLen)));
        p = k + hdrLen;
        const v = Value.decode(p, end);
        unchecked((vals[i] = v));
        p = v.endFrom(p, end);
      }
      this.ks = keys;
      this.vs = vals;
    } else {
      return;
    }
    this.rawStart = 0;
  }

  /** Number of items of a list or entries of a map (fails for other types). */
  get length(): i32 {
    if (this.kind != Kind.List && this.kind != Kind.Map) this.expected("a list or a map");
    if (this.rawStart != 0) return <i32>this.count;
    return this.vs!.length;
  }

  /** The items of a list. Changing the array changes the list. */
  asList(): Array<Value> {
    if (this.kind != Kind.List) this.expected("a list");
    this.materialize();
    return this.vs!;
  }

  /** The `i`-th item of a list. */
  at(i: i32): Value {
    const items = this.asList();
    if (i < 0 || i >= items.length) fail("list index " + i.toString() + " out of range (length " + items.length.toString() + ")");
    return unchecked(items[i]);
  }

  /** Appends to a list; returns the list. */
  push<T>(item: T): Value {
    this.asList().push(Value.from<T>(item));
    return this;
  }

  /** The keys of a map, in order. */
  keys(): Array<string> {
    if (this.kind != Kind.Map) this.expected("a map");
    this.materialize();
    return this.ks!;
  }

  /** The values of a map, in key order. */
  values(): Array<Value> {
    if (this.kind != Kind.Map) this.expected("a map");
    this.materialize();
    return this.vs!;
  }

  /**
   * The entry of a map under `key` (the first, should the map repeat a key), or null when the
   * map has none or this is not a map.
   */
  get(key: string): Value | null {
    if (this.kind != Kind.Map) return null;
    if (this.rawStart != 0) {
      const end = this.limit;
      let p = this.body;
      for (let i: usize = 0; i < this.count; i++) {
        const k = readHeader(p, end);
        if (hdrFamily != Family.Str) fail("map keys must be strings");
        need(k, hdrLen, end);
        const hit = utf8Equals(k, hdrLen, key);
        p = k + hdrLen;
        if (hit) return Value.decode(p, end);
        p = skip(p, end);
      }
      return null;
    }
    const keys = this.ks!;
    for (let i = 0, n = keys.length; i < n; i++) {
      if (unchecked(keys[i]) == key) return unchecked(this.vs![i]);
    }
    return null;
  }

  has(key: string): bool {
    return this.get(key) != null;
  }

  /** `get`, failing with Python's `KeyError: 'key'` when the entry is missing. */
  req(key: string): Value {
    const v = this.get(key);
    if (v == null) {
      if (this.kind != Kind.Map) this.expected("a map");
      return fail<Value>("KeyError: '" + key + "'");
    }
    return v;
  }

  getBool(key: string): bool {
    return this.entry(key, Kind.Bool).asBool();
  }
  getInt(key: string): i64 {
    return this.entry(key, Kind.Int).asInt();
  }
  /** An int or float entry, as a float. */
  getFloat(key: string): f64 {
    return this.entry(key, NUMBER).asFloat();
  }
  getStr(key: string): string {
    return this.entry(key, Kind.Str).asStr();
  }
  getList(key: string): Array<Value> {
    return this.entry(key, Kind.List).asList();
  }

  /** `req(key)`, failing with a message naming the key when its type is not `kind`. */
  private entry(key: string, kind: i32): Value {
    const v = this.req(key);
    const ok = kind == NUMBER ? v.kind == Kind.Int || v.kind == Kind.Float : <i32>v.kind == kind;
    if (!ok) {
      const want = kind == NUMBER ? "number" : KIND_NAMES[kind];
      fail("`" + key + "` must be a " + want + ", got " + v.typeName());
    }
    return v;
  }

  /** Sets `key` (replacing its value in place, or appending it); returns the map. */
  set<T>(key: string, value: T): Value {
    if (this.kind != Kind.Map) this.expected("a map");
    this.materialize();
    const v = Value.from<T>(value);
    const keys = this.ks!;
    for (let i = 0, n = keys.length; i < n; i++) {
      if (unchecked(keys[i]) == key) {
        unchecked((this.vs![i] = v));
        return this;
      }
    }
    keys.push(key);
    this.vs!.push(v);
    return this;
  }

  // ---- Comparison and encoding --------------------------------------------------------

  /**
   * Structural equality as the Rust SDK's `Value` has it: same type (an int never equals a
   * float), same content, maps in the same key order; NaN equals nothing.
   */
  equals(other: Value): bool {
    if (this === other) return this.kind != Kind.Float || this.x == this.x;
    if (this.kind != other.kind) return false;
    switch (this.kind) {
      case Kind.Nil:
        return true;
      case Kind.Bool:
      case Kind.Int:
        return this.n == other.n && this.bigUnsigned == other.bigUnsigned;
      case Kind.Float:
        return this.x == other.x;
      case Kind.Str:
        if (this.s == null && other.s == null) {
          return this.count == other.count && memory.compare(this.body, other.body, this.count) == 0;
        }
        if (this.s == null) return this.equalsStr(other.asStr());
        return other.equalsStr(this.asStr());
      case Kind.Bin: {
        const a = this.asBin();
        const b = other.asBin();
        return a.length == b.length && memory.compare(a.dataStart, b.dataStart, a.length) == 0;
      }
      case Kind.List: {
        if (this.length != other.length) return false;
        const a = this.asList();
        const b = other.asList();
        for (let i = 0, n = a.length; i < n; i++) {
          if (!unchecked(a[i]).equals(unchecked(b[i]))) return false;
        }
        return true;
      }
      default: {
        if (this.length != other.length) return false;
        const ka = this.keys();
        const kb = other.keys();
        const va = this.vs!;
        const vb = other.vs!;
        for (let i = 0, n = ka.length; i < n; i++) {
          if (unchecked(ka[i]) != unchecked(kb[i])) return false;
          if (!unchecked(va[i]).equals(unchecked(vb[i]))) return false;
        }
        return true;
      }
    }
  }

  /** Appends the MessagePack encoding (views are copied as they are). */
  encode(w: Writer): void {
    if (this.rawStart != 0) {
      const start = this.rawStart;
      w.bytes(start, this.endFrom(start, this.limit) - start);
      return;
    }
    switch (this.kind) {
      case Kind.Nil:
        w.nil();
        break;
      case Kind.Bool:
        w.bool(this.n != 0);
        break;
      case Kind.Int:
        w.int(this.n);
        break;
      case Kind.Float:
        w.float(this.x);
        break;
      case Kind.Str:
        w.str(this.s!);
        break;
      case Kind.Bin: {
        const b = this.b!;
        w.binHeader(<usize>b.length);
        w.bytes(b.dataStart, <usize>b.length);
        break;
      }
      case Kind.List: {
        const items = this.vs!;
        w.arrayHeader(<usize>items.length);
        for (let i = 0, n = items.length; i < n; i++) unchecked(items[i]).encode(w);
        break;
      }
      default: {
        const keys = this.ks!;
        const vals = this.vs!;
        w.mapHeader(<usize>keys.length);
        for (let i = 0, n = keys.length; i < n; i++) {
          w.str(unchecked(keys[i]));
          unchecked(vals[i]).encode(w);
        }
      }
    }
  }

  /** A JSON-like rendering, for logs and messages (not the engine's JSON). */
  toString(): string {
    switch (this.kind) {
      case Kind.Nil:
        return "null";
      case Kind.Bool:
        return this.n != 0 ? "true" : "false";
      case Kind.Int:
        return this.bigUnsigned ? (<u64>this.n).toString() : this.n.toString();
      case Kind.Float:
        return this.x.toString();
      case Kind.Str:
        return '"' + this.asStr() + '"';
      case Kind.Bin:
        return "<" + this.asBin().length.toString() + " bytes>";
      case Kind.List: {
        const items = this.asList();
        const parts = new Array<string>(items.length);
        for (let i = 0; i < items.length; i++) parts[i] = items[i].toString();
        return "[" + parts.join(", ") + "]";
      }
      default: {
        const keys = this.keys();
        const vals = this.vs!;
        const parts = new Array<string>(keys.length);
        for (let i = 0; i < keys.length; i++) parts[i] = '"' + keys[i] + '": ' + vals[i].toString();
        return "{" + parts.join(", ") + "}";
      }
    }
  }
}

/** Appends any value `Value.from` accepts, without building a Value for scalars. */
export function encodeAny<T>(w: Writer, v: T): void {
  if (isNullable<T>()) {
    if (v == null) {
      w.nil();
      return;
    }
  }
  if (isBoolean<T>()) {
    w.bool(<bool>v);
  } else if (isInteger<T>()) {
    if (isSigned<T>() || sizeof<T>() < 8) w.int(<i64>v);
    else Value.from<T>(v).encode(w);
  } else if (isFloat<T>()) {
    w.float(<f64>v);
  } else if (isString<T>()) {
    w.str(changetype<string>(v));
  } else if (v instanceof Value) {
    changetype<Value>(v).encode(w);
  } else {
    Value.from<T>(v).encode(w);
  }
}
