//! [`Shared`]: a value that several state variables, signals and records hold without copying.

use crate::encode::{serialize_shared, Kept};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::Deref;
use std::rc::Rc;

/// A reference-counted value that encodes and decodes exactly as `T` does.
///
/// In the typed in-guest loop (ABI.md §11) values stay Rust values from call to call, so a list
/// of strings that one policy builds and several state updates forward (chat messages, events,
/// log lines) need not be copied string by string: make the element (or the list) `Shared<T>`
/// and a clone is a counter increment. The MessagePack is `T`'s, so the host loop and the records
/// see no difference.
///
/// The SDK's encoder ([`crate::encode::write_named`], which encodes every result, record value
/// and emitted message) keeps the bytes of a `Shared`'s first encoding with the value and copies
/// them whenever the value (or a clone) is encoded again: a message emitted once and held by two
/// state variables is encoded once. So `T` must encode the same way for as long as the value
/// lives (no interior mutability that changes its encoding); the bytes are freed with the last
/// clone.
pub struct Shared<T>(Rc<Inner<T>>);

struct Inner<T> {
    value: T,
    kept: Kept,
}

impl<T> Shared<T> {
    pub fn new(value: T) -> Self {
        Shared(Rc::new(Inner { value, kept: Kept::new() }))
    }
}

#[cfg(test)]
impl<T> Shared<T> {
    /// The bytes kept from its first encoding, if any.
    pub(crate) fn kept(&self) -> Option<&[u8]> {
        self.0.kept.get().map(|b| &b[..])
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(Rc::clone(&self.0))
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0.value
    }
}

impl<T> From<T> for Shared<T> {
    fn from(value: T) -> Self {
        Shared::new(value)
    }
}

impl<T: fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.value.fmt(f)
    }
}

impl<T: PartialEq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0.value == other.0.value
    }
}

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_shared(&self.0.value, &self.0.kept, Rc::strong_count(&self.0) > 1, s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Shared<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Shared::new)
    }
}

#[cfg(test)]
mod tests {
    use super::Shared;

    #[test]
    fn encodes_as_the_value_and_clones_share_it() {
        let v = Shared::new(vec!["a".to_string(), "b".to_string()]);
        let bytes = rmp_serde::to_vec_named(&v).unwrap();
        assert_eq!(bytes, rmp_serde::to_vec_named(&vec!["a", "b"]).unwrap());
        let back: Shared<Vec<String>> = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(back, v);
        let c = v.clone();
        assert!(std::ptr::eq(&*c, &*v));
    }
}
