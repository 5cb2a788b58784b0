// Tests of the AssemblyScript SDK: builds assembly/index.ts with the SDK's asconfig (stub
// runtime, abort routed to distroduce.fail) and calls its exports the way the engine does.
//
//   scripts/setup-assemblyscript plugin-sdk/assemblyscript/tests && (cd plugin-sdk/assemblyscript/tests && npm test)
//   RUNTIME=incremental npm test      # the same under another AssemblyScript runtime

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const wasmPath = join(here, "build", "sdk_tests.wasm");
mkdirSync(join(here, "build"), { recursive: true });
// RUNTIME=minimal|incremental tests the SDK under a garbage-collected runtime instead of the stub.
const runtime = process.env.RUNTIME ? ["--runtime", process.env.RUNTIME] : [];
execFileSync(join(here, "node_modules", ".bin", "asc"), ["--config", "asconfig.json", ...runtime, "-o", wasmPath], { cwd: here, stdio: "inherit" });
const module = new WebAssembly.Module(readFileSync(wasmPath));

// ---- MessagePack as rmp (the Rust SDK) writes it --------------------------------------------

class Float { constructor(v) { this.v = v; } } // a float even when integral
const f = (v) => new Float(v);

function encode(v, out = []) {
  const u8 = (b) => out.push(b & 0xff);
  const be = (n, bytes) => { for (let i = bytes - 1; i >= 0; i--) u8(Number((BigInt(n) >> BigInt(8 * i)) & 0xffn)); };
  if (v === null) u8(0xc0);
  else if (v === true || v === false) u8(v ? 0xc3 : 0xc2);
  else if (v instanceof Float || (typeof v === "number" && !Number.isInteger(v))) {
    const x = v instanceof Float ? v.v : v;
    const dv = new DataView(new ArrayBuffer(8)); dv.setFloat64(0, x); u8(0xcb);
    for (let i = 0; i < 8; i++) u8(dv.getUint8(i));
  } else if (typeof v === "number" || typeof v === "bigint") {
    const n = BigInt(v);
    if (n >= 0n) {
      if (n < 128n) u8(Number(n));
      else if (n < 256n) { u8(0xcc); be(n, 1); }
      else if (n < 65536n) { u8(0xcd); be(n, 2); }
      else if (n < 4294967296n) { u8(0xce); be(n, 4); }
      else { u8(0xcf); be(n, 8); }
    } else if (n >= -32n) u8(Number(n));
    else if (n >= -128n) { u8(0xd0); be(n, 1); }
    else if (n >= -32768n) { u8(0xd1); be(n, 2); }
    else if (n >= -2147483648n) { u8(0xd2); be(n, 4); }
    else { u8(0xd3); be(BigInt.asUintN(64, n), 8); }
  } else if (typeof v === "string") {
    const b = Buffer.from(v, "utf8");
    if (b.length < 32) u8(0xa0 | b.length);
    else if (b.length < 256) { u8(0xd9); be(b.length, 1); }
    else if (b.length < 65536) { u8(0xda); be(b.length, 2); }
    else { u8(0xdb); be(b.length, 4); }
    out.push(...b);
  } else if (v instanceof Uint8Array) {
    if (v.length < 256) { u8(0xc4); be(v.length, 1); } else if (v.length < 65536) { u8(0xc5); be(v.length, 2); } else { u8(0xc6); be(v.length, 4); }
    out.push(...v);
  } else if (Array.isArray(v)) {
    if (v.length < 16) u8(0x90 | v.length); else if (v.length < 65536) { u8(0xdc); be(v.length, 2); } else { u8(0xdd); be(v.length, 4); }
    for (const x of v) encode(x, out);
  } else {
    const e = v instanceof Map ? [...v.entries()] : Object.entries(v);
    if (e.length < 16) u8(0x80 | e.length); else if (e.length < 65536) { u8(0xde); be(e.length, 2); } else { u8(0xdf); be(e.length, 4); }
    for (const [k, x] of e) { encode(k, out); encode(x, out); }
  }
  return out;
}

/** Decodes to plain JS: ints as BigInt when outside the safe range, floats wrapped in Float. */
function decode(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  const str = (n) => { const s = Buffer.from(bytes.subarray(p, p + n)).toString("utf8"); p += n; return s; };
  const int = (x) => (typeof x === "bigint" && x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x);
  const list = (n) => { const a = []; for (let i = 0; i < n; i++) a.push(one()); return a; };
  const map = (n) => { const m = []; for (let i = 0; i < n; i++) { const k = one(); m.push([k, one()]); } return Object.fromEntries(m); };
  function one() {
    const m = bytes[p++];
    if (m < 0x80) return m;
    if (m >= 0xe0) return m - 256;
    if (m < 0x90) return map(m & 0xf);
    if (m < 0xa0) return list(m & 0xf);
    if (m < 0xc0) return str(m & 0x1f);
    switch (m) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: { const n = bytes[p]; p += 1; const b = bytes.slice(p, p + n); p += n; return b; }
      case 0xcb: { const x = dv.getFloat64(p); p += 8; return f(x); }
      case 0xcc: return bytes[p++];
      case 0xcd: { const x = dv.getUint16(p); p += 2; return x; }
      case 0xce: { const x = dv.getUint32(p); p += 4; return x; }
      case 0xcf: { const x = dv.getBigUint64(p); p += 8; return int(x); }
      case 0xd0: return dv.getInt8(p++);
      case 0xd1: { const x = dv.getInt16(p); p += 2; return x; }
      case 0xd2: { const x = dv.getInt32(p); p += 4; return x; }
      case 0xd3: { const x = dv.getBigInt64(p); p += 8; return int(x); }
      case 0xd9: { const n = bytes[p++]; return str(n); }
      case 0xda: { const n = dv.getUint16(p); p += 2; return str(n); }
      case 0xdc: { const n = dv.getUint16(p); p += 2; return list(n); }
      case 0xde: { const n = dv.getUint16(p); p += 2; return map(n); }
    }
    throw new Error("unexpected marker 0x" + m.toString(16));
  }
  const v = one();
  assert.equal(p, bytes.length, "trailing bytes");
  return v;
}

// ---- A host like the engine's ---------------------------------------------------------------

function instantiate() {
  const host = { failure: null, logs: [], emitted: [], now: 0n, rngState: 1n };
  let mem;
  const bytesAt = (ptr, len) => new Uint8Array(mem.buffer, ptr, len).slice();
  const imports = {
    distroduce: {
      rng_u64: () => { host.rngState = BigInt.asUintN(64, host.rngState * 6364136223846793005n + 1442695040888963407n); return BigInt.asIntN(64, host.rngState); },
      rng_f64: () => 0.25,
      now_ns: () => host.now,
      log: (level, ptr, len) => host.logs.push([level, Buffer.from(bytesAt(ptr, len)).toString("utf8")]),
      emit: (ptr, len) => host.emitted.push(decode(bytesAt(ptr, len))),
      fail: (ptr, len) => { host.failure = Buffer.from(bytesAt(ptr, len)).toString("utf8"); },
    },
  };
  const instance = new WebAssembly.Instance(module, imports);
  mem = instance.exports.memory;
  const e = instance.exports;
  assert.equal(e.distroduce_abi_version(), 1);
  /** Calls `name` on `input` (a JS value or encoded bytes); returns the output bytes. */
  host.callRaw = (name, input) => {
    const bytes = Uint8Array.from(Array.isArray(input) ? input : encode(input));
    host.failure = null;
    const ptr = e.distroduce_alloc(bytes.length);
    new Uint8Array(mem.buffer, ptr, bytes.length).set(bytes);
    const packed = BigInt.asUintN(64, e[name](ptr, bytes.length));
    return bytesAt(Number(packed >> 32n), Number(packed & 0xffffffffn));
  };
  host.call = (name, input) => decode(host.callRaw(name, input));
  host.memoryBytes = () => mem.buffer.byteLength;
  return host;
}

const CTX = { simulation: 0, subset: 1, run: 2, timestep: 3, substep: 4, seed: 2n ** 64n - 5n, time_ns: 1570060800000000000n };
const input = (extra) => ({ ctx: CTX, params: {}, state: {}, ...extra });

// ---- Tests ----------------------------------------------------------------------------------

test("imports only from module distroduce", () => {
  const mods = new Set(WebAssembly.Module.imports(module).map((i) => i.module));
  assert.deepEqual([...mods], ["distroduce"]);
  const exports = WebAssembly.Module.exports(module).map((x) => x.name);
  for (const name of ["memory", "distroduce_abi_version", "distroduce_alloc"]) assert.ok(exports.includes(name), name);
});

test("formatPython matches the Rust SDK's format_python", () => {
  const h = instantiate();
  const DAY = 86400n * 1000000000n;
  const cases = [
    [0n, "1970-01-01 00:00:00"],
    [999n, "1970-01-01 00:00:00"],
    [1000n, "1970-01-01 00:00:00.000001"],
    [1500000000n, "1970-01-01 00:00:01.500000"],
    [-1n, "1969-12-31 23:59:59.999999"],
    [-DAY, "1969-12-31 00:00:00"],
    [1570060800n * 1000000000n, "2019-10-03 00:00:00"],
    [951782400n * 1000000000n, "2000-02-29 00:00:00"],
    [951868800n * 1000000000n, "2000-03-01 00:00:00"],
    [1709210096n * 1000000000n + 789012345n, "2024-02-29 12:34:56.789012"],
    [2n ** 63n - 1n, "2262-04-11 23:47:16.854775"],
    [-(2n ** 63n), "1677-09-21 00:12:43.145224"],
  ];
  for (const [ns, want] of cases) assert.equal(h.call("format_python", input({ args: { ns } })), want, `ns=${ns}`);
});

const NESTED = {
  nil: null, t: true, f: false,
  ints: [0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296n, 2n ** 63n - 1n, -1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -(2n ** 63n)],
  floats: [f(0), f(-0), f(1.5), f(1e300), f(-2.5e-300), f(0.1)],
  strs: ["", "a", "x".repeat(31), "y".repeat(32), "z".repeat(255), "w".repeat(256), "héllo 😀", "日本語"],
  bin: Uint8Array.from([1, 2, 3]),
  zeta: { b: 1, a: [{ y: 2, x: 1 }], "": "empty key" },
  long_list: Array.from({ length: 20 }, (_, i) => i),
  big_map: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${19 - i}`, i])),
};

test("views pass through byte for byte; rebuilt values encode as rmp does", () => {
  const h = instantiate();
  const want = Uint8Array.from(encode(NESTED));
  assert.deepEqual(h.callRaw("echo", input({ args: NESTED })), want);
  assert.deepEqual(h.callRaw("rebuilt", input({ args: NESTED })), want);
  // Non-minimal encodings in the input (str16 for a short string, int64 for 1) are kept by a
  // view and normalized by a rebuild.
  const odd = [0x81, 0xa1, 0x6b, 0x92, 0xda, 0x00, 0x01, 0x61, 0xd3, 0, 0, 0, 0, 0, 0, 0, 1];
  const inp = [...encode({ ctx: CTX })].slice(0);
  inp[0] += 1; // one more entry in the top map
  const raw = [...inp, ...encode("args"), ...odd];
  assert.deepEqual([...h.callRaw("echo", raw)], odd);
  assert.deepEqual(h.call("rebuilt", raw), { k: ["a", 1] });
  assert.deepEqual([...h.callRaw("rebuilt", raw)], encode({ k: ["a", 1] }));
});

test("ctx fields, the 64-bit seed and defaults", () => {
  const h = instantiate();
  const out = h.call("ctx_info", input({ ctx: { ...CTX, variable: "x" }, state: { a: 1, b: 2 }, history: [[{ a: 1 }]], extra_key: "ignored" }));
  assert.deepEqual(out, {
    simulation: 0, subset: 1, run: 2, timestep: 3, substep: 4,
    seed_hi: 0xffffffff, seed_lo: 0xfffffffb, time_ns: 1570060800000000000n,
    variable: "x", has_history: true, state_len: 2, signals_len: 0,
  });
  const policyOut = h.call("ctx_info", { ctx: CTX });
  assert.equal(policyOut.variable, null);
  assert.equal(policyOut.has_history, false);
  assert.equal(policyOut.state_len, 0);
});

test("lookups, equality, key order", () => {
  const h = instantiate();
  const out = h.call("lookup", input({ args: { i: 7, s: "héllo 😀", l: [1, f(2), "x", [null]], l2: [1, f(2), "x", [null]] } }));
  assert.deepEqual(out, {
    int: 7, float_of_int: f(7), str: "héllo 😀", missing: true, eq_same: true, eq_int_float: false,
    eq_built: true, eq_str: true, len: 4, order: { b: 3, a: 2 }, from_array: [1, 2, 3], from_nullable: null,
    i64_min: -(2n ** 63n), u32: 4000000000,
  });
  assert.deepEqual(Object.keys(out.order), ["b", "a"]);
});

test("emit and log", () => {
  const h = instantiate();
  assert.deepEqual(h.call("send", input({ args: [1, "two"] })), {});
  assert.deepEqual(h.emitted, [
    { topic: "topic_a", value: { x: 1 }, key: "key-1" },
    { topic: "topic_b", value: [1, "two"] },
  ]);
  assert.deepEqual(h.logs, [[2, "sent two"]]);
});

test("fail and abort reach distroduce.fail, then trap", () => {
  const h = instantiate();
  assert.throws(() => h.callRaw("failing", input({ args: { fail: true } })), WebAssembly.RuntimeError);
  assert.equal(h.failure, "KeyError: 'client_a'");
  assert.throws(() => h.callRaw("failing", input({ args: { fail: false, l: [1] } })), WebAssembly.RuntimeError);
  assert.match(h.failure, /Index out of range \(at ~lib\/array\.ts:\d+:\d+\)/);
  assert.throws(() => h.callRaw("failing", input({ args: { fail: "yes" } })), WebAssembly.RuntimeError);
  assert.equal(h.failure, "`fail` must be a bool, got str");
  // The instance still works after a failed call.
  assert.equal(h.call("format_python", input({ args: { ns: 0 } })), "1970-01-01 00:00:00");
});

test("random numbers come from the host", () => {
  const h = instantiate();
  const out = h.call("random", input({}));
  assert.equal(out.f.v, 0.25);
  assert.equal(typeof out.n.v, "number");
});

test("memory stays bounded over many calls (the arena is reset at each input)", () => {
  const h = instantiate();
  const args = input({ args: NESTED, state: { big: Array.from({ length: 200 }, (_, i) => ({ i, s: "message " + i })) } });
  const bytes = encode(args);
  for (let i = 0; i < 200; i++) h.callRaw("rebuilt", bytes);
  const after200 = h.memoryBytes();
  for (let i = 0; i < 20000; i++) h.callRaw("rebuilt", bytes);
  assert.equal(h.memoryBytes(), after200);
  assert.ok(after200 <= 4 * 65536, `memory ${after200} bytes`);
});
