// The per-call context: the `ctx` header and the other parts of the input (ABI.md §3), plus the
// host services (random numbers, the virtual clock, logs, messages).

import { emitRaw, fail, Level, log, now_ns, rng_f64, rng_u64 } from "./host";
import { Family, hdrFamily, hdrInt, hdrLen, need, readHeader, skip, utf8Equals, Writer } from "./msgpack";
import { Value } from "./value";

/** The buffer `emit` encodes its map into (reused within a call). */
const EMIT = new Writer();

export class Ctx {
  /** 0-based index of the model in the experiment. */
  simulation: i64 = 0;
  /** 0-based index of the parameter set. */
  subset: i64 = 0;
  /** 1-based Monte Carlo run. */
  run: i64 = 0;
  /** The timestep being computed (1-based; `state` is the previous record). */
  timestep: i64 = 0;
  /** 1-based index of the partial state update block. */
  substep: i64 = 0;
  /** 64 bits unique to this call, for plugins that prefer their own generator. */
  seed: u64 = 0;
  /** The virtual clock, ns since the Unix epoch (see `formatPython`). */
  time_ns: i64 = 0;
  /** For state updates: the name of the variable this call produces; null for policies. */
  variable: string | null = null;

  /** The parameter set of this subset (an empty map if the scenario has none). */
  params: Value = Value.map();
  /** The previous record: every state variable plus simulation, subset, run, substep, timestep. */
  state: Value = Value.map();
  /** State updates: the aggregated signals of the block's policies (an empty map if none). */
  signals: Value = Value.map();
  /** The `args` the scenario binds to this use of the function (nil if none). */
  args: Value = Value.nil();
  /** The `history` the scenario asks for (nil if none): a list of timesteps, each a list of records. */
  history: Value = Value.nil();

  /** The next 64 random bits of this call's stream (same seed, same numbers). */
  rng_u64(): u64 {
    return rng_u64();
  }

  /** A uniform float in [0, 1) from this call's stream. */
  rng_f64(): f64 {
    return rng_f64();
  }

  /**
   * A normal draw by Box-Muller, as the Rust SDK's `Ctx::normal`: two `rng_f64` draws per number,
   * the second value of the pair dropped.
   */
  normal(mean: f64, sd: f64): f64 {
    const u1 = 1.0 - rng_f64();
    const u2 = rng_f64();
    const z = Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2.0 * Math.PI * u2);
    return mean + sd * z;
  }

  /** The virtual clock, ns since the Unix epoch (asks the host, like the Rust SDK). */
  now_ns(): i64 {
    return now_ns();
  }

  /**
   * Publishes `value` to the topic alias `topic` (declared under `kafka.topics` in the scenario),
   * keyed by `key` unless it is null. The engine encodes the value with the topic's format (JSON
   * by default); a `bin` value is sent as it is. `headers`, if given, is a map of strings.
   */
  emit(topic: string, key: string | null, value: Value, headers: Value | null = null): void {
    const w = EMIT;
    w.begin();
    w.mapHeader(2 + (key != null ? 1 : 0) + (headers != null ? 1 : 0));
    w.str("topic");
    w.str(topic);
    w.str("value");
    value.encode(w);
    if (key != null) {
      w.str("key");
      w.str(key);
    }
    if (headers != null) {
      w.str("headers");
      headers.encode(w);
    }
    emitRaw(w.ptr, w.len);
  }

  /** Sends a log line to the host (shown with `engine -v`, attached to failure reports). */
  log(level: Level, msg: string): void {
    log(level, msg);
  }
  debug(msg: string): void {
    log(Level.Debug, msg);
  }
  info(msg: string): void {
    log(Level.Info, msg);
  }
  warn(msg: string): void {
    log(Level.Warn, msg);
  }
  error(msg: string): void {
    log(Level.Error, msg);
  }
}

/** An integer of the `ctx` map: signed, or unsigned bits (the seed may exceed i64). */
function ctxInt(p: usize, end: usize, name: string): i64 {
  readHeader(p, end);
  if (hdrFamily != Family.Int) fail("ctx." + name + " is not an integer");
  return hdrInt;
}

function parseCtx(c: Ctx, p: usize, end: usize): void {
  p = readHeader(p, end);
  if (hdrFamily != Family.Map) fail("ctx is not a map");
  const n = hdrLen;
  for (let i: usize = 0; i < n; i++) {
    const k = readHeader(p, end);
    if (hdrFamily != Family.Str) fail("ctx keys must be strings");
    const klen = hdrLen;
    need(k, klen, end);
    p = k + klen;
    if (utf8Equals(k, klen, "simulation")) c.simulation = ctxInt(p, end, "simulation");
    else if (utf8Equals(k, klen, "subset")) c.subset = ctxInt(p, end, "subset");
    else if (utf8Equals(k, klen, "run")) c.run = ctxInt(p, end, "run");
    else if (utf8Equals(k, klen, "timestep")) c.timestep = ctxInt(p, end, "timestep");
    else if (utf8Equals(k, klen, "substep")) c.substep = ctxInt(p, end, "substep");
    else if (utf8Equals(k, klen, "seed")) c.seed = <u64>ctxInt(p, end, "seed");
    else if (utf8Equals(k, klen, "time_ns")) c.time_ns = ctxInt(p, end, "time_ns");
    else if (utf8Equals(k, klen, "variable")) {
      const v = Value.decode(p, end);
      c.variable = v.isStr() ? v.asStr() : null;
    }
    p = skip(p, end);
  }
}

/** Decodes a call's input (the keys of ABI.md §3; unknown keys are ignored). */
export function parseInput(ptr: usize, len: usize): Ctx {
  const end = ptr + len;
  const c = new Ctx();
  let p = readHeader(ptr, end);
  if (hdrFamily != Family.Map) fail("the call input is not a map");
  const n = hdrLen;
  for (let i: usize = 0; i < n; i++) {
    const k = readHeader(p, end);
    if (hdrFamily != Family.Str) fail("input keys must be strings");
    const klen = hdrLen;
    need(k, klen, end);
    p = k + klen;
    let v: Value | null = null;
    if (utf8Equals(k, klen, "ctx")) parseCtx(c, p, end);
    else if (utf8Equals(k, klen, "state")) c.state = v = Value.decode(p, end);
    else if (utf8Equals(k, klen, "params")) c.params = v = Value.decode(p, end);
    else if (utf8Equals(k, klen, "signals")) c.signals = v = Value.decode(p, end);
    else if (utf8Equals(k, klen, "args")) c.args = v = Value.decode(p, end);
    else if (utf8Equals(k, klen, "history")) c.history = v = Value.decode(p, end);
    p = v != null ? v.endFrom(p, end) : skip(p, end);
  }
  return c;
}
