// Test plugin for run.mjs: each export exercises one part of the SDK.

import { Ctx, fail, formatPython, policy, stateUpdate, Value } from "@distroduce/sdk";
export { distroduce_abi_version, distroduce_alloc } from "@distroduce/sdk";

/** A deep copy built through the public API (every container materialized and rebuilt). */
function rebuild(v: Value): Value {
  if (v.isList()) {
    const items = v.asList();
    const out = Value.list();
    for (let i = 0; i < items.length; i++) out.push(rebuild(items[i]));
    return out;
  }
  if (v.isMap()) {
    const keys = v.keys();
    const vals = v.values();
    const out = Value.map();
    for (let i = 0; i < keys.length; i++) out.set(keys[i], rebuild(vals[i]));
    return out;
  }
  if (v.isInt()) return Value.int(v.asInt());
  if (v.isFloat()) return Value.float(v.asFloat());
  if (v.isStr()) return Value.str(v.asStr());
  if (v.isBool()) return Value.bool(v.asBool());
  if (v.isBin()) return Value.bin(v.asBin());
  return Value.nil();
}

function echoArgs(ctx: Ctx): Value {
  return ctx.args;
}
function rebuildArgs(ctx: Ctx): Value {
  return rebuild(ctx.args);
}
function fmt(ctx: Ctx): string {
  return formatPython(ctx.args.getInt("ns"));
}
function ctxInfo(ctx: Ctx): Value {
  const v = ctx.variable;
  return Value.map()
    .set("simulation", ctx.simulation)
    .set("subset", ctx.subset)
    .set("run", ctx.run)
    .set("timestep", ctx.timestep)
    .set("substep", ctx.substep)
    .set("seed_hi", <i64>(ctx.seed >> 32))
    .set("seed_lo", <i64>(ctx.seed & 0xffffffff))
    .set("time_ns", ctx.time_ns)
    .set("variable", v)
    .set("has_history", !ctx.history.isNil())
    .set("state_len", ctx.state.length)
    .set("signals_len", ctx.signals.length);
}
/** Lookups, equality and set on views and built values. */
function lookups(ctx: Ctx): Value {
  const a = ctx.args;
  const out = Value.map();
  out.set("int", a.getInt("i"));
  out.set("float_of_int", a.getFloat("i"));
  out.set("str", a.getStr("s"));
  out.set("missing", a.get("nope") == null);
  out.set("eq_same", a.req("l").equals(a.req("l2")));
  out.set("eq_int_float", Value.int(1).equals(Value.float(1.0)));
  out.set("eq_built", a.req("s").equals(Value.str(a.getStr("s"))));
  out.set("eq_str", a.req("s").equalsStr("héllo 😀"));
  out.set("len", a.getList("l").length);
  const m = Value.map().set("b", 1).set("a", 2).set("b", 3); // replaces in place: {b: 3, a: 2}
  out.set("order", m);
  out.set("from_array", Value.from<i64[]>([1, 2, 3]));
  out.set("from_nullable", Value.from<string | null>(null));
  out.set("i64_min", i64.MIN_VALUE);
  out.set("u32", <u32>4000000000);
  return out;
}
function sendOne(ctx: Ctx): Value {
  ctx.emit("topic_a", "key-1", Value.map().set("x", 1));
  ctx.emit("topic_b", null, ctx.args);
  ctx.info("sent two");
  return Value.map();
}
function fails(ctx: Ctx): i64 {
  if (ctx.args.getBool("fail")) return fail<i64>("KeyError: 'client_a'");
  const l = ctx.args.getList("l");
  return l[10].asInt(); // out of range: abort
}
function rng(ctx: Ctx): Value {
  return Value.map().set("u", <i64>ctx.rng_u64()).set("f", ctx.rng_f64()).set("n", ctx.normal(0, 1));
}

export function echo(p: i32, n: i32): i64 { return stateUpdate(p, n, echoArgs); }
export function rebuilt(p: i32, n: i32): i64 { return stateUpdate(p, n, rebuildArgs); }
export function format_python(p: i32, n: i32): i64 { return stateUpdate(p, n, fmt); }
export function ctx_info(p: i32, n: i32): i64 { return policy(p, n, ctxInfo); }
export function lookup(p: i32, n: i32): i64 { return policy(p, n, lookups); }
export function send(p: i32, n: i32): i64 { return policy(p, n, sendOne); }
export function failing(p: i32, n: i32): i64 { return stateUpdate(p, n, fails); }
export function random(p: i32, n: i32): i64 { return policy(p, n, rng); }
