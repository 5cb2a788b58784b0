//! [`List`]: a list that holds a single element without allocating, for the one-element lists
//! that cadCAD-style policies return for `a + b` aggregation.

use crate::kind::FixedKind;
use crate::typed_signals::{mismatch, SignalValue};
use distroduce_values::aggregate::{AggError, AggOp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::Deref;

/// A list that encodes and decodes exactly as `Vec<T>` does, and holds zero or one element in
/// place: a policy that returns `{"types": [kind], "messages": [msg]}` for its block's policies
/// to concatenate (the cadCAD idiom) allocates nothing for its lists. As a `#[signals]` field it
/// aggregates as a `Vec<T>` does (`add` concatenates, `first`/`last` pick); the typed loop's
/// accumulator then holds a `Vec` that keeps its capacity from block to block.
#[derive(PartialEq)]
pub struct List<T>(Repr<T>);

#[derive(PartialEq)]
enum Repr<T> {
    One(Option<T>),
    Many(Vec<T>),
}

impl<T> List<T> {
    /// An empty list.
    pub const fn new() -> Self {
        List(Repr::One(None))
    }

    /// A list of `value` alone.
    pub const fn one(value: T) -> Self {
        List(Repr::One(Some(value)))
    }

    pub fn as_slice(&self) -> &[T] {
        match &self.0 {
            Repr::One(v) => v.as_slice(),
            Repr::Many(v) => v,
        }
    }

    /// Appends `value` (the list then lives on the heap if it had an element).
    pub fn push(&mut self, value: T) {
        match &mut self.0 {
            Repr::One(slot @ None) => *slot = Some(value),
            Repr::Many(v) => v.push(value),
            Repr::One(Some(_)) => {
                let Repr::One(Some(first)) = std::mem::replace(&mut self.0, Repr::Many(Vec::new())) else {
                    unreachable!("matched above")
                };
                self.0 = Repr::Many(vec![first, value]);
            }
        }
    }
}

impl<T: Clone> List<T> {
    /// Appends a copy of each of `values`.
    pub fn extend_from_slice(&mut self, values: &[T]) {
        match (&mut self.0, values) {
            (_, []) => {}
            (Repr::Many(v), _) => v.extend_from_slice(values),
            (Repr::One(None), [x]) => self.0 = Repr::One(Some(x.clone())),
            (Repr::One(first), _) => {
                let mut v = Vec::with_capacity(first.is_some() as usize + values.len());
                v.extend(first.take());
                v.extend_from_slice(values);
                self.0 = Repr::Many(v);
            }
        }
    }
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List::new()
    }
}

impl<T> Deref for List<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<'a, T> IntoIterator for &'a List<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl<T> IntoIterator for List<T> {
    type Item = T;
    type IntoIter = std::iter::Chain<std::option::IntoIter<T>, std::vec::IntoIter<T>>;
    fn into_iter(self) -> Self::IntoIter {
        match self.0 {
            Repr::One(v) => v.into_iter().chain(Vec::new()),
            Repr::Many(v) => None.into_iter().chain(v),
        }
    }
}

impl<T> FromIterator<T> for List<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        List::from(iter.into_iter().collect::<Vec<T>>())
    }
}

impl<T> From<Vec<T>> for List<T> {
    fn from(mut v: Vec<T>) -> Self {
        match v.len() {
            0 => List::new(),
            1 => List::one(v.pop().expect("one element")),
            _ => List(Repr::Many(v)),
        }
    }
}

impl<T: Clone> Clone for List<T> {
    fn clone(&self) -> Self {
        match &self.0 {
            Repr::One(v) => List(Repr::One(v.clone())),
            Repr::Many(v) => List(Repr::Many(v.clone())),
        }
    }

    /// Reuses `self`'s heap list, if it has one, whatever `other` holds.
    fn clone_from(&mut self, other: &Self) {
        match &mut self.0 {
            Repr::Many(v) => {
                v.clear();
                v.extend_from_slice(other.as_slice());
            }
            Repr::One(_) => *self = other.clone(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for List<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl<T: Serialize> Serialize for List<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<T>::deserialize(d).map(List::from)
    }
}

impl<T: Serialize> FixedKind for List<T> {}

/// As `Vec<T>`'s: `add` concatenates, `first`/`last` pick, the other operators fail alike.
impl<T: Clone> SignalValue for List<T> {
    fn combine(&mut self, other: &Self, op: AggOp, name: &str) -> Result<(), AggError> {
        match op {
            AggOp::Add => self.extend_from_slice(other),
            AggOp::First => {}
            AggOp::Last => self.clone_from(other),
            _ => return Err(mismatch(name, op, "list")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::List;
    use crate::SignalValue;
    use distroduce_values::aggregate::AggOp;

    fn enc<T: serde::Serialize>(v: &T) -> Vec<u8> {
        rmp_serde::to_vec_named(v).unwrap()
    }

    /// Encodes and decodes as a `Vec`, at every length; aggregates as a `Vec` does.
    #[test]
    fn is_a_vec_on_the_wire_and_in_aggregation() {
        for n in 0..4 {
            let v: Vec<String> = (0..n).map(|i| i.to_string()).collect();
            let l = List::from(v.clone());
            assert_eq!(enc(&l), enc(&v));
            let back: List<String> = rmp_serde::from_slice(&enc(&v)).unwrap();
            assert_eq!(&*back, &v[..]);
            let mut pushed = List::new();
            v.iter().for_each(|x| pushed.push(x.clone()));
            assert_eq!(&*pushed, &v[..]);
            assert_eq!(pushed.into_iter().collect::<Vec<_>>(), v);
            assert_eq!(&*v.iter().cloned().collect::<List<_>>(), &v[..]);
        }
        for op in [AggOp::Add, AggOp::First, AggOp::Last, AggOp::Max, AggOp::Merge] {
            for (a, b) in [(vec![], vec![1]), (vec![1], vec![2]), (vec![1, 2], vec![3]), (vec![1], vec![])] {
                let (mut va, vb): (Vec<i64>, Vec<i64>) = (a.clone(), b.clone());
                let (mut la, lb) = (List::from(a), List::from(b));
                let want = va.combine(&vb, op, "s").map(|()| va);
                let got = la.combine(&lb, op, "s").map(|()| la.to_vec());
                assert_eq!(format!("{got:?}"), format!("{want:?}"), "{op:?}");
            }
        }
        let mut acc = List::from(vec![9, 9, 9]);
        acc.clone_from(&List::one(1));
        acc.extend_from_slice(&[2]);
        assert_eq!(&*acc, &[1, 2]);
    }
}
