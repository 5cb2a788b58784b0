//! A typed block's aggregation (ABI.md §11): which blocks fold their policies' `#[signals]`
//! outputs field by field, and the accumulator bound once per job that does it.

use super::{Policy, Update};
use crate::typed::TypedUse;
use crate::typed_signals::Fold;
use distroduce_values::aggregate::{AggError, AggOp, Aggregator};
use std::any::Any;

/// A block aggregates typed when it has policies, no identity policy, all of one
/// `#[signals]` type, and every update reads that type or no signals.
pub(super) fn typed_fold<S, D: TypedUse<S>>(policies: &[Option<Policy<D>>], updates: &[Update<D>]) -> Option<Fold> {
    let first = policies.first()?.as_ref()?.dyn_ref();
    let ty = first.output_type();
    let fold = first.aggregation().filter(|f| f.ty == ty)?;
    let same = policies.iter().all(|p| p.as_ref().is_some_and(|p| p.dyn_ref().output_type() == ty));
    let reads_it = updates.iter().all(|u| u.f.update().is_some_and(|u| u.signals_type().is_none_or(|t| t == ty)));
    (same && reads_it).then_some(fold)
}

/// A block's typed aggregation, bound once per job: its accumulator and each field's operator.
pub(super) struct TypedAgg {
    pub(super) fold: Fold,
    /// An `Option<T>` (`T` = `fold.ty`), boxed so that its address is fixed for the job; only
    /// reached through `acc_ptr`, kept here to own it.
    _acc: Box<dyn Any>,
    pub(super) acc_ptr: *mut (),
    ops: Vec<AggOp>,
    /// Each policy's output (`TypedPolicy::output`, fixed for the job: the policies are boxed),
    /// in policy order.
    outs: Vec<*const ()>,
}

impl TypedAgg {
    /// `policies`: the block's, all returning `fold`'s type (checked by `typed_fold`).
    pub(super) fn new<S, D: TypedUse<S>>(fold: Fold, agg: &Aggregator, policies: &[Option<Policy<D>>]) -> Self {
        let mut acc = (fold.new_acc)();
        let acc_ptr = acc.as_mut() as *mut dyn Any as *mut ();
        let outs = policies.iter().flatten().map(|p| p.dyn_ref().output() as *const dyn Any as *const ()).collect();
        TypedAgg { fold, _acc: acc, acc_ptr, ops: (fold.ops)(agg), outs }
    }

    /// Folds the policies' typed outputs in policy order into the accumulator, through the first
    /// policy's [`TypedUse::fold_run`] (a static call with the direct table): `policies` are the
    /// block's, the ones `new` was given.
    #[inline]
    pub(super) fn run<S, D: TypedUse<S>>(&mut self, policies: &[Option<Policy<D>>]) -> Result<(), AggError> {
        debug_assert!(!self.outs.is_empty(), "a typed block has policies");
        // SAFETY: `acc_ptr` is the boxed `Option<T>` made by `new_acc` (`T` = `fold.ty`); every
        // policy of a typed block returns `T` (`typed_fold` checked `output_type` and `Fold::ty`),
        // `TypedPolicy::output` is an `Option` of `output_type()` at a fixed address, and the
        // policies live in the block as long as this. The accumulator is its own box, so it
        // aliases no output; `ops` come from `fold.ops`. `fold` is the first policy's
        // `aggregation()` (`typed_fold`), whose `run` its `fold_run` is.
        unsafe {
            match policies.first() {
                Some(Some(first)) => first.f.fold_run(self.acc_ptr, &self.outs, &self.ops),
                _ => (self.fold.run)(self.acc_ptr, &self.outs, &self.ops),
            }
        }
    }
}
