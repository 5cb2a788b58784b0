// The `distroduce` host imports (ABI.md §5) and the SDK's handling of failures.
//
// AssemblyScript's own `abort` (called by `throw`, `assert` and failed bounds checks) would be
// imported from module `env`, which the engine rejects; plugins are built with
// `--use abort=~lib/@distroduce/sdk/assembly/host/distroduceAbort` (see asconfig.json), which
// sends the message to `distroduce.fail` instead and then traps.

@external("distroduce", "rng_u64")
declare function host_rng_u64(): u64;
@external("distroduce", "rng_f64")
declare function host_rng_f64(): f64;
@external("distroduce", "now_ns")
declare function host_now_ns(): i64;
@external("distroduce", "log")
declare function host_log(level: i32, ptr: usize, len: usize): void;
@external("distroduce", "emit")
declare function host_emit(ptr: usize, len: usize): void;
@external("distroduce", "fail")
declare function host_fail(ptr: usize, len: usize): void;

/** Log levels of the `log` import. */
export enum Level {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
}

/** True once this call has reported a failure, so that the trap that follows adds nothing. */
let failed = false;

/** Called at the start of every call into the module. */
export function resetFailure(): void {
  failed = false;
}

/** Sends a log line to the host (shown with `engine -v`, attached to failure reports). */
export function log(level: Level, msg: string): void {
  const buf = String.UTF8.encode(msg);
  host_log(<i32>level, changetype<usize>(buf), <usize>buf.byteLength);
}

/**
 * Fails this call with `msg` (reported by the engine with the plugin, export, job, timestep and
 * substep) and traps; it never returns. The type parameter only lets it stand where a value is
 * expected: `return fail<i64>("overflow")`.
 */
export function fail<T = void>(msg: string): T {
  if (!failed) {
    failed = true;
    const buf = String.UTF8.encode(msg);
    host_fail(changetype<usize>(buf), <usize>buf.byteLength);
  }
  // Ends in distroduceAbort, which traps without reporting again.
  throw new Error(msg);
}

/** The `abort` every AssemblyScript error ends in (`throw`, `assert`, index out of range). */
export function distroduceAbort(msg: string | null, file: string | null, line: u32, column: u32): void {
  if (!failed) {
    failed = true;
    let text = msg != null ? msg : "abort";
    if (file != null) text += " (at " + file + ":" + line.toString() + ":" + column.toString() + ")";
    const buf = String.UTF8.encode(text);
    host_fail(changetype<usize>(buf), <usize>buf.byteLength);
  }
  unreachable();
}

export function rng_u64(): u64 {
  return host_rng_u64();
}

export function rng_f64(): f64 {
  return host_rng_f64();
}

export function now_ns(): i64 {
  return host_now_ns();
}

/** Hands an encoded `emit` map to the host. */
export function emitRaw(ptr: usize, len: usize): void {
  host_emit(ptr, len);
}
