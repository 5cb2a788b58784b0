// {{name}}: a distroduce plugin in AssemblyScript. One plain function per policy or state update,
// and one export line for each (sdk/README.md has the whole API).

import { Ctx, describe, policy, stateUpdate, Value } from "@distroduce/sdk";
export { distroduce_abi_version, distroduce_alloc } from "@distroduce/sdk";

/** Policy: a random step of 1..params.max_step, drawn from this call's random stream. */
function randomStep(ctx: Ctx): Value {
  const maxStep = ctx.params.getInt("max_step");
  const step = 1 + <i64>(ctx.rng_u64() % <u64>maxStep);
  return Value.map().set("step", step);
}

/** State update of `count`: the previous count plus the step. */
function addStep(ctx: Ctx): i64 {
  return ctx.state.getInt("count") + ctx.signals.getInt("step");
}

export function random_step(ptr: i32, len: i32): i64 { return policy(ptr, len, randomStep); }
export function add_step(ptr: i32, len: i32): i64 { return stateUpdate(ptr, len, addStep); }

// Optional: lets `engine validate` check how a scenario uses the functions.
export function distroduce_describe_random_step(): i64 { return describe("policy", "", "state:; params: max_step; args:"); }
export function distroduce_describe_add_step(): i64 { return describe("state_update", "int", "state: count; params:; signals: step; args:"); }
