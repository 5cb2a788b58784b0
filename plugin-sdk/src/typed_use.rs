//! One use of a typed function as the typed loop calls it (ABI.md §11, direct calls): the
//! [`TypedUse`] trait, which `native_table!(state = S; ...)` implements with a `match` over the
//! plugin's functions, and its implementation by the boxed trait objects of [`TypedFn`].

use crate::fused::Counting;
use crate::native::Host;
use crate::typed::{TypedCall, TypedFn, TypedPolicy, TypedUpdate};
use distroduce_values::aggregate::{AggError, AggOp};

/// One use of a function as the typed loop holds it: a policy or a state update, whose hot calls
/// ([`TypedUse::call`], [`TypedUse::call_run`], [`TypedUse::encode`]) the loop makes through this
/// trait's static dispatch. `native_table!(state = S; ...)` generates one `enum` over the
/// plugin's functions that implements it with a `match` (ABI.md §11, direct calls): rustc sees
/// the functions behind it and may inline them into the loop. [`TypedFn`] implements it with
/// dynamic calls (the factories' boxed trait objects, for native tests).
pub trait TypedUse<S> {
    /// The use as a policy, if it is one (everything but the hot calls goes through it).
    fn policy(&self) -> Option<&dyn TypedPolicy<S>>;
    fn policy_mut(&mut self) -> Option<&mut dyn TypedPolicy<S>>;
    /// The use as a state update, if it is one.
    fn update(&self) -> Option<&dyn TypedUpdate<S>>;
    fn update_mut(&mut self) -> Option<&mut dyn TypedUpdate<S>>;
    /// [`TypedPolicy::call`] or [`TypedUpdate::call`].
    fn call(&mut self, cx: &TypedCall<'_, S>, host: &mut dyn Host) -> Result<(), String>;
    /// [`TypedPolicy::encode`] or [`TypedUpdate::encode`].
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), String>;
    /// [`TypedPolicy::fold_run`] of a policy (`Ok` for a state update).
    ///
    /// # Safety
    /// As [`TypedPolicy::fold_run`].
    unsafe fn fold_run(&self, acc: *mut (), all: &[*const ()], ops: &[AggOp]) -> Result<(), AggError> {
        match self.policy() {
            // SAFETY: the caller's guarantees pass on.
            Some(p) => unsafe { p.fold_run(acc, all, ops) },
            None => Ok(()),
        }
    }
    /// [`TypedPolicy::call_run`] of a policy (a state update is not called: the host is told).
    ///
    /// # Safety
    /// As [`TypedPolicy::call_run`]: `rest` points at the other uses' policies
    /// ([`TypedUse::policy_mut`]), all of this use's `call_type`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn call_run(
        &mut self,
        rest: &[*mut ()],
        pos: &[u32],
        cx: &mut TypedCall<'_, S>,
        cursor_pos: &mut u32,
        host: &mut Counting<'_>,
        marks: &mut Vec<(u32, u32)>,
    ) -> bool;
}

/// A use that is never made: the direct table's entry of a function without a typed form (its
/// factory fails before one could be).
pub enum NoUse {}

impl<S> TypedUse<S> for NoUse {
    fn policy(&self) -> Option<&dyn TypedPolicy<S>> {
        match *self {}
    }
    fn policy_mut(&mut self) -> Option<&mut dyn TypedPolicy<S>> {
        match *self {}
    }
    fn update(&self) -> Option<&dyn TypedUpdate<S>> {
        match *self {}
    }
    fn update_mut(&mut self) -> Option<&mut dyn TypedUpdate<S>> {
        match *self {}
    }
    fn call(&mut self, _: &TypedCall<'_, S>, _: &mut dyn Host) -> Result<(), String> {
        match *self {}
    }
    fn encode(&self, _: &mut Vec<u8>) -> Result<(), String> {
        match *self {}
    }
    unsafe fn call_run(
        &mut self,
        _: &[*mut ()],
        _: &[u32],
        _: &mut TypedCall<'_, S>,
        _: &mut u32,
        _: &mut Counting<'_>,
        _: &mut Vec<(u32, u32)>,
    ) -> bool {
        match *self {}
    }
}

/// A state update asked to run as a policy (the loop never does: it binds uses by kind).
#[cold]
pub(crate) fn not_a_policy(host: &mut Counting<'_>) -> bool {
    host.fail("a state update was called as a policy");
    false
}

impl<S> TypedUse<S> for TypedFn<S> {
    fn policy(&self) -> Option<&dyn TypedPolicy<S>> {
        match self {
            TypedFn::Policy(p) => Some(p.as_ref()),
            TypedFn::Update(_) => None,
        }
    }
    fn policy_mut(&mut self) -> Option<&mut dyn TypedPolicy<S>> {
        match self {
            TypedFn::Policy(p) => Some(p.as_mut()),
            TypedFn::Update(_) => None,
        }
    }
    fn update(&self) -> Option<&dyn TypedUpdate<S>> {
        match self {
            TypedFn::Update(u) => Some(u.as_ref()),
            TypedFn::Policy(_) => None,
        }
    }
    fn update_mut(&mut self) -> Option<&mut dyn TypedUpdate<S>> {
        match self {
            TypedFn::Update(u) => Some(u.as_mut()),
            TypedFn::Policy(_) => None,
        }
    }
    fn call(&mut self, cx: &TypedCall<'_, S>, host: &mut dyn Host) -> Result<(), String> {
        match self {
            TypedFn::Policy(p) => p.call(cx, host),
            TypedFn::Update(u) => u.call(cx, host),
        }
    }
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), String> {
        match self {
            TypedFn::Policy(p) => p.encode(out),
            TypedFn::Update(u) => u.encode(out),
        }
    }
    unsafe fn call_run(
        &mut self,
        rest: &[*mut ()],
        pos: &[u32],
        cx: &mut TypedCall<'_, S>,
        cursor_pos: &mut u32,
        host: &mut Counting<'_>,
        marks: &mut Vec<(u32, u32)>,
    ) -> bool {
        match self {
            // SAFETY: the caller's guarantees are `call_run`'s.
            TypedFn::Policy(p) => unsafe { p.call_run(rest, pos, cx, cursor_pos, host, marks) },
            TypedFn::Update(_) => not_a_policy(host),
        }
    }
}
