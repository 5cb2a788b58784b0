//! [`FixedKind`]: types whose values the typed in-guest loop may leave out of the records when
//! nothing reads them (ABI.md §10 "Left-out values", §11).

use crate::Shared;
use std::collections::{BTreeMap, HashMap};

/// A state variable's type whose every value encodes, without error, as one MessagePack value of
/// **one kind**: float, int, bool, str, list or map.
///
/// The engine checks a state update's value against the variable's declared type, and that
/// type names the kind only (`float`, `int`, `number`, `str`, `bool`, `list`, `map`: no element
/// types). So when the update's Rust type fixes the kind, the first value of a job checks every
/// later one, and with no record writer (`values: false` in the program) the typed loop sends
/// that first value and leaves out the rest instead of encoding them.
///
/// The SDK implements it for the number types, `bool`, `String` (and `Shared` of them), lists
/// (`Vec<T>`) and maps (`BTreeMap`, `HashMap`) of any serde types. A plugin may implement it for its own
/// struct if the struct serializes through serde's derive as a map (a plain
/// `#[derive(Serialize)]` struct with named fields: no `#[serde(transparent)]`, `untagged`,
/// `into`, `serialize_with` or `flatten`), for example chat's `Client`:
///
/// ```
/// #[derive(serde::Serialize)]
/// struct Client { users: Vec<String>, msg_counts: i64 }
/// impl distroduce_sdk::FixedKind for Client {}
/// ```
///
/// Not for enums, `Option`s or dynamic values ([`crate::Value`]): their kind changes with the
/// value, and a left-out value of another kind would pass where a written one fails the run.
pub trait FixedKind: serde::Serialize {}

macro_rules! fixed {
    ($($t:ty),*) => { $(impl FixedKind for $t {})* };
}
fixed!(f64, f32, i64, i32, i16, i8, u64, u32, u16, u8, bool, String);
impl<T: serde::Serialize> FixedKind for Vec<T> {}
impl<K: serde::Serialize, V: serde::Serialize> FixedKind for BTreeMap<K, V> {}
impl<K: serde::Serialize, V: serde::Serialize, H: std::hash::BuildHasher> FixedKind for HashMap<K, V, H> {}
impl<T: FixedKind> FixedKind for Shared<T> {}

/// Autoref probe: `(&KindProbe::<T>::new()).fixed()` is `true` for a [`FixedKind`] `T`, `false`
/// for any other type (what the macros ask of a state update's result type).
#[doc(hidden)]
pub struct KindProbe<T>(std::marker::PhantomData<T>);

impl<T> KindProbe<T> {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        KindProbe(std::marker::PhantomData)
    }
}

#[doc(hidden)]
pub trait KindProbeReal {
    fn fixed(&self) -> bool;
}

impl<T: FixedKind> KindProbeReal for KindProbe<T> {
    fn fixed(&self) -> bool {
        true
    }
}

#[doc(hidden)]
pub trait KindProbeFallback {
    fn fixed(&self) -> bool;
}

impl<T> KindProbeFallback for &KindProbe<T> {
    fn fixed(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::{KindProbe, KindProbeFallback as _, KindProbeReal as _};
    use crate::{Shared, Value};

    #[test]
    #[allow(clippy::needless_borrow)] // the borrow is the probe's fallback step
    fn the_probe_names_the_types_whose_kind_is_fixed() {
        assert!((&KindProbe::<f64>::new()).fixed());
        assert!((&KindProbe::<String>::new()).fixed());
        assert!((&KindProbe::<Vec<Value>>::new()).fixed());
        assert!((&KindProbe::<Shared<String>>::new()).fixed());
        assert!(!(&KindProbe::<Option<i64>>::new()).fixed());
        assert!(!(&KindProbe::<Value>::new()).fixed());
    }
}
