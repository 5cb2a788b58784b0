// The guest side of ABI v1 (ABI.md §1-4): the SDK's exports, and the wrappers that turn a plain
// function of a `Ctx` into a `(ptr, len) -> i64` export.

import { Ctx, parseInput } from "./ctx";
import { fail, resetFailure } from "./host";
import { allocInput, enterSdk } from "./memory";
import { Writer } from "./msgpack";
import { encodeAny } from "./value";

/** The ABI version this SDK implements (ABI.md §8). */
export const ABI_VERSION: i32 = 1;

/** The buffer results are encoded into; valid until the next call into the module. */
const OUT = new Writer();

/** ABI §1: must return 1. Re-export it from the plugin's entry file. */
export function distroduce_abi_version(): i32 {
  return ABI_VERSION;
}

/**
 * ABI §1: room for the next call's input. Also where the previous call's objects are released
 * (see memory.ts). Re-export it from the plugin's entry file.
 */
export function distroduce_alloc(len: i32): i32 {
  resetFailure();
  if (len < 0) fail("distroduce_alloc: negative length " + len.toString());
  return <i32>allocInput(<usize>len);
}

/**
 * Runs `f` on the input at `(ptr, len)` and returns its encoded result, as a policy export does:
 *
 *     export function enter(ptr: i32, len: i32): i64 { return policy(ptr, len, enterAction); }
 *
 * `f` returns a map of signals: a `Value` map, or anything `Value.from` accepts.
 */
export function policy<T>(ptr: i32, len: i32, f: (ctx: Ctx) => T): i64 {
  return run<T>(ptr, len, f);
}

/**
 * Runs `f` on the input at `(ptr, len)` and returns its encoded result, as a state update export
 * does. `f` returns the new value of the variable (`ctx.variable`): a `Value`, `i64`, `f64`,
 * `bool`, `string`, or anything else `Value.from` accepts.
 */
export function stateUpdate<T>(ptr: i32, len: i32, f: (ctx: Ctx) => T): i64 {
  return run<T>(ptr, len, f);
}

function run<T>(ptr: i32, len: i32, f: (ctx: Ctx) => T): i64 {
  resetFailure();
  const ctx = parseInput(<usize>ptr, <usize>len);
  const result = f(ctx);
  const w = OUT;
  w.begin();
  encodeAny<T>(w, result);
  return w.packed();
}

/**
 * The result of an optional `distroduce_describe_<f>` export (ABI §2), which lets
 * `engine validate` check a scenario's use of `f` before any run:
 *
 *     export function distroduce_describe_enter(): i64 {
 *       return describe("policy", "", "state:; params:; signals:; args: client room user");
 *     }
 *
 * `kind` is "policy" or "state_update"; `output` one of int, float, number, str, bool, list, map,
 * any (or "" to say nothing); `reads` lists the names read from each input part (state, params,
 * signals, args), as `part: name name ...` separated by `;`. A part that is not mentioned is
 * unknown (not checked); a part with no names reads nothing. A policy's signals are always none.
 */
export function describe(kind: string, output: string, reads: string): i64 {
  enterSdk();
  resetFailure();
  const parts: StaticArray<string> = ["state", "params", "signals", "args"];
  const found = new Array<Array<string> | null>(4);
  const sections = reads.split(";");
  for (let i = 0; i < sections.length; i++) {
    const sec = sections[i].trim();
    if (sec.length == 0) continue;
    const colon = sec.indexOf(":");
    const name = (colon < 0 ? sec : sec.substring(0, colon)).trim();
    const idx = parts.indexOf(name);
    if (idx < 0) continue;
    const names = new Array<string>();
    if (colon >= 0) {
      const words = sec.substring(colon + 1).replaceAll(",", " ").split(" ");
      for (let j = 0; j < words.length; j++) {
        const word = words[j].trim();
        if (word.length > 0) names.push(word);
      }
    }
    found[idx] = names;
  }
  // Policies get no signals.
  if (kind == "policy" && found[2] == null) found[2] = new Array<string>();
  const w = OUT;
  w.begin();
  w.mapHeader(output.length > 0 ? 3 : 2);
  w.str("kind");
  w.str(kind);
  if (output.length > 0) {
    w.str("output");
    w.str(output);
  }
  w.str("reads");
  w.mapHeader(4);
  for (let i = 0; i < 4; i++) {
    w.str(parts[i]);
    const names = found[i];
    if (names == null) {
      w.nil();
    } else {
      w.arrayHeader(<usize>names.length);
      for (let j = 0; j < names.length; j++) w.str(names[j]);
    }
  }
  return w.packed();
}
