//! Guest-side SDK for distroduce plugins.
//!
//! A plugin author writes plain Rust functions over serde types and marks each one with
//! [`policy`] or [`state_update`]; the macros generate everything the ABI in `ABI.md` asks for
//! (the WASM export, MessagePack decoding and encoding, the `distroduce_describe_*` export and a
//! native entry point), so no author ever touches a pointer or a MessagePack byte.
//!
//! ```
//! use distroduce_sdk::{policy, state_update, Ctx};
//! #[derive(serde::Deserialize)] struct S { a: i64 }
//! #[derive(serde::Deserialize)] struct Sig { da: i64 }
//!
//! #[policy]
//! fn p_inc(state: &S) -> std::collections::BTreeMap<String, i64> {
//!     [("da".to_string(), state.a + 1)].into()
//! }
//!
//! #[state_update]
//! fn s_a(ctx: &Ctx, state: &S, signals: &Sig) -> Result<i64, String> {
//!     ctx.debug("updating a");
//!     state.a.checked_add(signals.da).ok_or_else(|| "a overflows".to_string())
//! }
//!
//! distroduce_sdk::native_table!(p_inc, s_a);
//! ```
//!
//! # Parameters
//! They are matched **by name**, in any order and any subset: `ctx` (`&Ctx` or `&mut Ctx`),
//! `params`, `state`, `signals` (state updates only), `args` and `history`. Every one but `ctx`
//! is `&T` (or `T`) with `T: DeserializeOwned`. A missing `params`, `state` or `signals` key
//! decodes as an empty map; a missing `args` or `history` decodes as nil, so `Option<T>` accepts
//! its absence and anything else fails the call with a message saying what is missing.
//!
//! # Return value
//! `T: Serialize` (encoded with named fields, so structs become maps), or anything whose type is
//! spelled `...Result<T, E>` with `E: Display`, where `Err` fails the call with `E`'s text.
//! [`RawOutput`] bypasses encoding. Policies must produce a map; the engine checks that, not the
//! SDK, so that a wrong plugin is reported the same way whatever language it was written in.
//!
//! Any other name, `signals` on a policy, a by-value `ctx`, generics, `async` or `self` are
//! compile errors that say what is expected:
//!
//! ```compile_fail
//! #[distroduce_sdk::policy]
//! fn p(stat: &std::collections::BTreeMap<String, i64>) -> i64 { 0 } // unknown parameter `stat`
//! ```
//! ```compile_fail
//! #[distroduce_sdk::policy]
//! fn p(signals: &std::collections::BTreeMap<String, i64>) -> i64 { 0 } // policies get no signals
//! ```
//!
//! # Native functions
//! Each plugin crate calls `distroduce_sdk::native_table!(export, module::export, ...)` once; it
//! defines `native_functions()` and `native_exports()` for the engine's native backend (see
//! [`native`]). Plugin crates are `crate-type = ["cdylib", "rlib"]` so both backends can use them.
//!
//! # Typed state (the fast path)
//! `native_table!(state = State; ...)` with a `#[distroduce_sdk::state]` struct keeps the state
//! as Rust values in the guest for the whole job (ABI.md §11). Fields may be numbers, strings,
//! lists and structs of them; policy outputs that are `#[distroduce_sdk::signals]` structs
//! (numbers, strings, lists; a [`List`] holds a policy's single element without allocating)
//! aggregate without encoding; [`Shared`] values (a block's messages)
//! are forwarded by reference; an export whose host-loop signature reads a projection gets a
//! `#[state_update(typed_only)]` form bound with `export => typed_fn` (see `plugins/chat`).
//! Without a record writer, updates whose result type is a [`FixedKind`] (numbers, strings,
//! lists, maps, structs that implement it) send one value per job and leave out the rest.
//! Such a form has no export of its own, hence no name:
//!
//! ```compile_fail
//! #[distroduce_sdk::state_update(typed_only, name = "other")]
//! fn s_typed() -> i64 { 0 } // `typed_only` takes no `name`
//! ```
//!
//! # Export name
//! The function's name, or `#[policy(name = "x")]`. The name must be a Rust identifier, which
//! keeps `plugin.export` references in scenarios unambiguous.

mod ctx;
mod describe;
pub mod encode;
pub mod fused;
#[cfg(any(test, all(target_arch = "wasm32", not(target_feature = "atomics"))))]
mod guest_alloc;
mod input;
mod kind;
mod list;
pub mod native;
mod shared;
pub mod time;
pub mod typed;
mod typed_loop;
pub mod typed_signals;
mod typed_use;
mod value;
#[cfg(target_arch = "wasm32")]
mod wasm;

/// Small blocks from per-size free lists in the guest (`guest_alloc`); off with
/// `default-features = false` for a plugin that declares its own allocator.
#[cfg(all(feature = "fast-alloc", target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static GUEST_ALLOC: guest_alloc::SizeClasses = guest_alloc::SizeClasses::new();

pub use ctx::{Ctx, Level};
pub use distroduce_sdk_macros::{native_table, policy, signals, state, state_update};
pub use kind::FixedKind;
pub use list::List;
pub use shared::Shared;
pub use typed::TypedState;
pub use typed_loop::TypedLoop;
pub use typed_signals::{SignalValue, TypedSignals};
pub use value::Value;

/// A function result that is passed to the host byte for byte, without MessagePack encoding.
///
/// Exists for plugins that encode their output themselves (and for the engine's tests of
/// malformed output); everything else should return a serde type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawOutput(pub Vec<u8>);

/// The ABI version this SDK implements; see `ABI.md` §8.
pub use distroduce_abi::ABI_VERSION;

/// Items the macros expand to. Not a stable API: only generated code may use them.
#[doc(hidden)]
pub mod __private {
    pub use crate::ctx::{new_ctx, CtxHeader};
    pub use crate::describe::{
        describe, reads_of, union_reads, Kind, OutputProbe, OutputProbeFallback, OutputProbeReal,
    };
    pub use crate::fused::{Counting, PartsFn};
    pub use crate::input::Input;
    pub use crate::kind::{KindProbe, KindProbeFallback, KindProbeReal};
    pub use crate::native::run_native;
    pub use crate::typed::{
        decode_part, take_into, typed_signals, NoUse, PolicyCall, TypedCall, TypedFactory, TypedFn, TypedPolicy,
        TypedUpdate, TypedUse, UpdateCall,
    };
    pub use crate::typed_signals::{
        op_for, Fold, Folder, NoFolder, SignalsFolder, SignalsProbe, SignalsProbeFallback, SignalsProbeReal,
    };
    #[cfg(target_arch = "wasm32")]
    pub use crate::wasm::{
        fused_cursor, fused_load, fused_load_direct, fused_load_typed, fused_run, fused_run_many, run_wasm,
        wasm_describe,
    };
    pub use distroduce_values::aggregate::{AggError, AggOp, Aggregator};
    pub use rmp_serde;
    pub use serde;

    use crate::RawOutput;

    /// Encodes a function's successful result, appended to `out` (empty on entry): MessagePack
    /// with named fields, or raw bytes.
    pub trait EncodeOutput {
        fn encode_output(&self, out: &mut Vec<u8>) -> Result<(), String>;
    }

    impl<T: serde::Serialize + ?Sized> EncodeOutput for T {
        fn encode_output(&self, out: &mut Vec<u8>) -> Result<(), String> {
            crate::encode::write_named(out, self).map_err(|e| format!("cannot encode the result: {e}"))
        }
    }

    impl EncodeOutput for RawOutput {
        fn encode_output(&self, out: &mut Vec<u8>) -> Result<(), String> {
            out.extend_from_slice(&self.0);
            Ok(())
        }
    }
}
