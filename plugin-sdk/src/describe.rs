//! The `distroduce_describe_*` map (ABI §2), derived from a function's types.
//!
//! A type's shape is learnt by running its `Deserialize` impl against [`Probe`], a deserializer
//! that holds no data: the first `deserialize_*` call the impl makes says what it expects
//! (`deserialize_struct` even lists the field names), and the probe answers it with an error
//! carrying that shape. Lists, options and newtypes are looked through, so `Vec<Vec<S>>` reveals
//! `S`'s fields. Maps, `Value`, `#[serde(flatten)]` structs and hand-written impls that call
//! `deserialize_any` come out as "unknown" (nil), which tells the engine not to check.
//!
//! Limitation: every field of a struct is listed, including `Option` and `#[serde(default)]`
//! ones, because serde's field list does not say which are optional.

use serde::de::{self, DeserializeOwned, Visitor};
use serde::Serialize;
use std::fmt;
use std::marker::PhantomData;

/// What a `Deserialize` impl asked for first.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Bool,
    Int,
    Float,
    Str,
    List(Box<Shape>),
    /// A map; `Some(fields)` for a struct.
    Map(Option<&'static [&'static str]>),
    Option(Box<Shape>),
    Any,
}

impl Shape {
    /// The `output` word of the describe map. Optional values may be nil, so they are "any".
    fn output(&self) -> &'static str {
        match self {
            Shape::Bool => "bool",
            Shape::Int => "int",
            Shape::Float => "float",
            Shape::Str => "str",
            Shape::List(_) => "list",
            Shape::Map(_) => "map",
            Shape::Option(_) | Shape::Any => "any",
        }
    }

    /// The field names a struct-shaped input reads, looking through options and lists.
    fn fields(&self) -> Option<Vec<&'static str>> {
        match self {
            Shape::Map(fields) => fields.map(<[_]>::to_vec),
            Shape::Option(inner) | Shape::List(inner) => inner.fields(),
            _ => None,
        }
    }
}

/// The probe's "error": the shape it found, or a real error from an impl that gave up.
#[derive(Debug)]
pub enum Found {
    Shape(Shape),
    Other,
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for Found {}

impl de::Error for Found {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Found::Other
    }
}

/// The shape `T`'s `Deserialize` impl expects. `Deserialize<'static>` rather than
/// `DeserializeOwned` so that borrowed types such as `&'static str` are accepted too.
pub fn shape_of<T: de::Deserialize<'static>>() -> Shape {
    match T::deserialize(Probe) {
        Err(Found::Shape(s)) => s,
        // `Ok` is possible for types that need no input at all (e.g. `IgnoredAny` is not, but a
        // hand-written impl could return a constant); such a type reads nothing we can name.
        Ok(_) | Err(Found::Other) => Shape::Any,
    }
}

/// The `reads` entry for an input part of type `T`: its struct fields, or nil.
pub fn reads_of<T: DeserializeOwned>() -> Option<Vec<&'static str>> {
    shape_of::<T>().fields()
}

struct Probe;

/// Runs the element's impl against the probe so that `List` records what it holds.
struct ProbeSeq;

impl<'de> de::SeqAccess<'de> for ProbeSeq {
    type Error = Found;
    fn next_element_seed<T: de::DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Found> {
        match seed.deserialize(Probe) {
            Err(Found::Shape(s)) => Err(Found::Shape(Shape::List(Box::new(s)))),
            _ => Err(Found::Shape(Shape::List(Box::new(Shape::Any)))),
        }
    }
}

/// Wraps what the inner type asks for; used for options.
fn wrap(inner: Result<impl Sized, Found>, f: fn(Box<Shape>) -> Shape) -> Found {
    match inner {
        Err(Found::Shape(s)) => Found::Shape(f(Box::new(s))),
        _ => Found::Shape(f(Box::new(Shape::Any))),
    }
}

macro_rules! found {
    ($($method:ident => $shape:expr),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
            Err(Found::Shape($shape))
        })*
    };
}

impl<'de> de::Deserializer<'de> for Probe {
    type Error = Found;

    found! {
        deserialize_any => Shape::Any,
        deserialize_bool => Shape::Bool,
        deserialize_i8 => Shape::Int, deserialize_i16 => Shape::Int,
        deserialize_i32 => Shape::Int, deserialize_i64 => Shape::Int, deserialize_i128 => Shape::Int,
        deserialize_u8 => Shape::Int, deserialize_u16 => Shape::Int,
        deserialize_u32 => Shape::Int, deserialize_u64 => Shape::Int, deserialize_u128 => Shape::Int,
        deserialize_f32 => Shape::Float, deserialize_f64 => Shape::Float,
        deserialize_char => Shape::Str, deserialize_str => Shape::Str, deserialize_string => Shape::Str,
        deserialize_bytes => Shape::Any, deserialize_byte_buf => Shape::Any,
        deserialize_unit => Shape::Any,
        deserialize_map => Shape::Map(None),
        deserialize_identifier => Shape::Any, deserialize_ignored_any => Shape::Any,
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Found> {
        Err(wrap(v.visit_some(Probe), Shape::Option))
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, _: V) -> Result<V::Value, Found> {
        Err(Found::Shape(Shape::Any))
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, v: V) -> Result<V::Value, Found> {
        v.visit_newtype_struct(Probe)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Found> {
        v.visit_seq(ProbeSeq)
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Found> {
        Err(Found::Shape(Shape::List(Box::new(Shape::Any))))
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(self, _: &'static str, _: usize, _: V) -> Result<V::Value, Found> {
        Err(Found::Shape(Shape::List(Box::new(Shape::Any))))
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Found> {
        Err(Found::Shape(Shape::Map(Some(fields))))
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Found> {
        Err(Found::Shape(Shape::Any))
    }
}

/// Whether a function is a policy or a state update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Policy,
    StateUpdate,
}

/// Autoref specialization: with both traits in scope, `(&OutputProbe::<T>::new()).output_kind()`
/// resolves to [`OutputProbeReal`] when `T: DeserializeOwned` and to the "any" of
/// [`OutputProbeFallback`] otherwise, so a return type needs only `Serialize`.
pub struct OutputProbe<T>(PhantomData<T>);

impl<T> OutputProbe<T> {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        OutputProbe(PhantomData)
    }
}

pub trait OutputProbeFallback {
    fn output_kind(&self) -> &'static str {
        "any"
    }
}

impl<T> OutputProbeFallback for &OutputProbe<T> {}

pub trait OutputProbeReal {
    fn output_kind(&self) -> &'static str;
}

impl<T: de::Deserialize<'static>> OutputProbeReal for OutputProbe<T> {
    fn output_kind(&self) -> &'static str {
        shape_of::<T>().output()
    }
}

type Reads = Option<Vec<&'static str>>;

#[derive(Serialize)]
struct Describe {
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<&'static str>,
    reads: ReadsMap,
}

#[derive(Serialize)]
struct ReadsMap {
    state: Reads,
    params: Reads,
    signals: Reads,
    args: Reads,
}

/// Encodes the describe map. Each `reads` entry is `Some(vec![])` when the function does not
/// take that part at all (it reads nothing there), and `None` (nil) when its names are unknown.
pub fn describe(kind: Kind, output: &'static str, state: Reads, params: Reads, signals: Reads, args: Reads) -> Vec<u8> {
    let d = Describe {
        kind: match kind {
            Kind::Policy => "policy",
            Kind::StateUpdate => "state_update",
        },
        output: (kind == Kind::StateUpdate).then_some(output),
        reads: ReadsMap { state, params, signals, args },
    };
    // Encoding strings, lists and options into a Vec cannot fail.
    rmp_serde::to_vec_named(&d).unwrap_or_default()
}

/// Merges the state fields read through `state` and through `history` (whose records are
/// states too); unknown on either side makes the union unknown.
pub fn union_reads(a: Reads, b: Reads) -> Reads {
    let (mut a, b) = (a?, b?);
    for f in b {
        if !a.contains(&f) {
            a.push(f);
        }
    }
    Some(a)
}
