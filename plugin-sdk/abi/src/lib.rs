//! The contract between the engine and a plugin, as constants (plugin-sdk/ABI.md is the prose).
//!
//! The engine (host side) and the Rust SDK (guest side) both depend on this crate, so a change to
//! a name or to the version is made once and seen by both; the SDKs in other languages follow
//! ABI.md and are checked against the engine by the chat ports' byte-identity tests.
#![no_std]

extern crate alloc;

pub mod emit;

/// What `distroduce_abi_version` must return. Any other value is rejected at load time.
pub const ABI_VERSION: i32 = 1;

/// The import module of the host functions.
pub const IMPORT_MODULE: &str = "distroduce";

/// The only other import module a core-module plugin may use (a locked-down WASI preview 1).
pub const WASI_MODULE: &str = "wasi_snapshot_preview1";

/// Host imports (ABI.md §5), in the order ABI.md lists them.
pub mod import {
    pub const RNG_U64: &str = "rng_u64";
    pub const RNG_F64: &str = "rng_f64";
    pub const NOW_NS: &str = "now_ns";
    pub const LOG: &str = "log";
    pub const EMIT: &str = "emit";
    pub const FAIL: &str = "fail";
    /// `(topic_ptr, topic_len, key_ptr, key_len, value_ptr, value_len: i32)`: the `emit` of a
    /// binary value with an optional string key (`key_len` -1: none), without the MessagePack map
    /// ([`crate::emit`]). Optional: engines before it reject a plugin that imports it.
    pub const EMIT_BYTES: &str = "emit_bytes";
    /// Every host import; anything else in [`super::IMPORT_MODULE`] is rejected at load time.
    pub const ALL: [&str; 7] = [RNG_U64, RNG_F64, NOW_NS, LOG, EMIT, FAIL, EMIT_BYTES];
}

/// Exports the guest provides (ABI.md §1 and §2).
pub mod export {
    /// `() -> i32`, returns [`crate::ABI_VERSION`].
    pub const ABI_VERSION: &str = "distroduce_abi_version";
    /// `(len: i32) -> i32`, a buffer for the next call's input.
    pub const ALLOC: &str = "distroduce_alloc";
    /// `distroduce_describe_<function>: () -> i64`, what a function reads and returns.
    pub const DESCRIBE_PREFIX: &str = "distroduce_describe_";
    /// The linear memory the host reads and writes call data in.
    pub const MEMORY: &str = "memory";
    /// Optional WASI reactor initialiser, called once per instance before anything else.
    pub const INITIALIZE: &str = "_initialize";
}

/// The optional in-guest run loop (ABI.md §10): a plugin that holds every function of a scenario
/// may run a whole timestep per call on state it keeps between calls.
pub mod fused {
    /// `(ptr: i32, len: i32) -> i32`: load the job's program (MessagePack at `ptr` in the
    /// `distroduce_alloc` buffer); returns a [`status`] code.
    pub const LOAD: &str = "distroduce_fused_load";
    /// `(timestep: i64, time_ns: i64) -> i32`: run every block of one timestep; returns a
    /// [`status`] code. The cursor then says how far it got.
    pub const RUN: &str = "distroduce_fused_run";
    /// `(t0: i64, n: i32, start_ns: i64, step_ns: i64) -> i32`: run timesteps `t0 .. t0 + n`,
    /// timestep `t` at the virtual clock `start_ns + step_ns * t` (saturating), stopping at the
    /// first failure; returns a [`status`] code. Optional (ABI.md §10, "Many timesteps per call").
    pub const RUN_MANY: &str = "distroduce_fused_run_many";
    /// `() -> i32`: the address of the cursor (valid after a successful load).
    pub const CURSOR: &str = "distroduce_fused_cursor";

    /// Codes of [`LOAD`] and [`RUN`], also in the cursor's `status` field.
    pub mod status {
        /// Done (or running, while a call is in progress).
        pub const OK: u32 = 0;
        /// A function failed; its message went through the `fail` import.
        pub const CALL_FAILED: u32 = 1;
        /// The policies' signals could not be aggregated; the message is at `msg`.
        pub const AGGREGATE_FAILED: u32 = 2;
        /// The program could not be loaded or names an unknown function; the message is at `msg`.
        pub const BAD_PROGRAM: u32 = 3;
        /// A policy returned bytes that are not one well-formed MessagePack value; the message is
        /// at `msg`.
        pub const BAD_OUTPUT: u32 = 4;
    }

    /// Byte offsets of the cursor's little-endian fields: the call in progress (timestep,
    /// substep, position of the function in its block), the status, and the completed blocks of
    /// this timestep (count, and where their records are).
    pub mod cursor {
        pub const TIMESTEP: usize = 0; // u64
        pub const SUBSTEP: usize = 8; // u32
        pub const POS: usize = 12; // u32
        pub const STATUS: usize = 16; // u32
        pub const BLOCKS_DONE: usize = 20; // u32
        pub const OUT_PTR: usize = 24; // u32
        pub const OUT_LEN: usize = 28; // u32
        pub const MSG_PTR: usize = 32; // u32
        pub const MSG_LEN: usize = 36; // u32
        /// Size of the cursor in bytes.
        pub const LEN: usize = 40;
    }

    /// The virtual clock of timestep `t` in a [`RUN_MANY`] call, exactly as the engine's clock.
    #[inline]
    pub const fn clock_at(start_ns: i64, step_ns: i64, t: u64) -> i64 {
        // Where `|step_ns| * t < 2^63` the product cannot overflow: a plain multiply (on wasm32,
        // the overflow check of `saturating_mul` is a 128-bit multiply call, `__multi3`).
        let product = if step_ns.unsigned_abs().leading_zeros() + t.leading_zeros() >= 65 {
            step_ns * t as i64
        } else {
            step_ns.saturating_mul(t as i64)
        };
        start_ns.saturating_add(product)
    }

    /// A state update's position in its block is `UPDATE_POS + index`; a policy's is its index.
    /// The same numbers seed each call's random stream.
    pub const UPDATE_POS: u32 = 0x8000_0000;

    /// In a record, the length word of a state update's value that the loop left out (ABI.md
    /// §10, `values: false`): the value has the same MessagePack kind as the last one this update
    /// sent in the job, and nothing reads it.
    pub const OMITTED: u32 = u32::MAX;

    /// In place of a block's record, a *quiet run* (ABI.md §10, `quiet_runs`): this word, then a
    /// `u32` count `c >= 1` of consecutive blocks (in timestep order, possibly across timesteps
    /// of one call) that emitted nothing and left out every value.
    pub const QUIET_RUN: u32 = u32::MAX - 1;
}

/// A function's result: `(ptr << 32) | len`, both unsigned 32-bit (ABI.md §1).
#[inline]
pub const fn pack(ptr: u32, len: u32) -> i64 {
    (((ptr as u64) << 32) | len as u64) as i64
}

/// The inverse of [`pack`]: `(ptr, len)`.
#[inline]
pub const fn unpack(packed: i64) -> (u32, u32) {
    let p = packed as u64;
    ((p >> 32) as u32, (p & 0xffff_ffff) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trips_the_full_unsigned_range() {
        for (ptr, len) in [(0, 0), (1, 2), (u32::MAX, u32::MAX), (0x8000_0000, 7), (12, 0xffff_fff0)] {
            assert_eq!(unpack(pack(ptr, len)), (ptr, len));
        }
        // A pointer past 2 GiB sets the sign bit of the i64 the guest returns.
        assert!(pack(0x8000_0000, 0) < 0);
    }

    #[test]
    fn clock_at_is_the_saturating_formula() {
        let steps =
            [0, 1, -1, 7, 1_000_000_000, -1_000_000_000, 1 << 31, -(1 << 31), (1 << 31) - 1, i64::MAX, i64::MIN];
        let ts = [0, 1, 2, 100_000, (1 << 32) - 1, 1 << 32, 1 << 33, i64::MAX as u64, 1 << 63, u64::MAX];
        for &start in &[0, 5, -5, i64::MAX, i64::MIN] {
            for &step in &steps {
                for &t in &ts {
                    let want = start.saturating_add(step.saturating_mul(t as i64));
                    assert_eq!(fused::clock_at(start, step, t), want, "start {start} step {step} t {t}");
                }
            }
        }
    }
}
