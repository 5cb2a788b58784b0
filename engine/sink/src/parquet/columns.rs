//! Which Arrow type a state variable's column gets, and its arrays. The rule (also in the module
//! docs of [`super`]): the type is read off *all* of the column's values, so that no value is ever
//! lost or changed to fit a type guessed too early:
//!
//! - only integers that fit in i64 → `Int64` (an `int` stays an int, never a float);
//! - only floats → `Float64`; integers and floats mixed → `Float64` only when the variable is
//!   declared `float` (`state_types`) and every integer is exact as an f64 (|i| ≤ 2^53), else JSON;
//! - only strings → `Utf8`; only booleans → `Boolean`;
//! - anything else (lists, maps, binary, kinds mixed, integers past i64) → `Utf8` holding each
//!   value's JSON text, with the field metadata `distroduce.encoding = json`;
//! - no value at all (zero rows, or all null): the declared type (`int`, `float`, `str`, `bool`),
//!   else JSON text.
//!
//! A null (MessagePack nil) is a null in every column type.

use super::cell::Cell;
use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field};
use distroduce_model::types::{type_label, TypeName};
use distroduce_model::value::json::to_json;
use distroduce_model::value::{as_num, as_str, kind, Kind, Num};
use std::collections::HashMap;
use std::io;
use std::sync::Arc;

/// Field metadata: the variable's declared type (`int`, `number`, ...), which `engine merge`
/// needs to choose the same column types as a local run.
pub const META_DECLARED: &str = "distroduce.declared_type";
/// Field metadata on columns of JSON text: `json`.
pub const META_ENCODING: &str = "distroduce.encoding";

/// The largest integer magnitude every smaller one of which an f64 holds exactly.
const EXACT_IN_F64: u64 = 1 << 53;

/// A column's Arrow type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Int,
    Float,
    Str,
    Bool,
    /// Utf8 holding JSON text.
    Json,
}

/// The kinds of value a column has held, gathered while the rows are spilled.
#[derive(Debug, Default, Clone, Copy)]
pub struct Seen {
    ints: bool,
    /// An integer an f64 does not hold exactly.
    wide_ints: bool,
    floats: bool,
    strs: bool,
    bools: bool,
    /// Anything else: lists, maps, binary, integers past i64, JSON text from a shard.
    other: bool,
}

impl Seen {
    pub fn observe(&mut self, c: Cell<'_>) {
        let v = match c {
            Cell::Json(_) => {
                self.other = true;
                return;
            }
            Cell::Value(v) => v,
        };
        match kind(v) {
            Ok(Kind::Nil) => {}
            Ok(Kind::Int) => match as_num(v) {
                Some(Num::Int(i)) => {
                    self.ints = true;
                    self.wide_ints |= i.unsigned_abs() > EXACT_IN_F64;
                }
                _ => self.other = true,
            },
            Ok(Kind::Float) => self.floats = true,
            Ok(Kind::Str) if as_str(v).is_some() => self.strs = true,
            Ok(Kind::Bool) => self.bools = true,
            _ => self.other = true,
        }
    }

    /// The column type for these values (see the module docs).
    pub fn column(&self, declared: TypeName) -> Column {
        let numbers = self.ints || self.floats;
        let kinds = [numbers, self.strs, self.bools, self.other].iter().filter(|k| **k).count();
        match kinds {
            0 => match declared {
                TypeName::Int => Column::Int,
                TypeName::Float => Column::Float,
                TypeName::Str => Column::Str,
                TypeName::Bool => Column::Bool,
                _ => Column::Json,
            },
            1 if numbers => {
                let as_float = declared == TypeName::Float && !self.wide_ints;
                match (self.ints, self.floats) {
                    (true, false) if !as_float => Column::Int,
                    (false, true) => Column::Float,
                    _ if as_float => Column::Float,
                    _ => Column::Json,
                }
            }
            1 if self.strs => Column::Str,
            1 if self.bools => Column::Bool,
            _ => Column::Json,
        }
    }
}

/// The Arrow field of a state variable.
pub fn field(name: &str, declared: TypeName, c: Column) -> Field {
    let dt = match c {
        Column::Int => DataType::Int64,
        Column::Float => DataType::Float64,
        Column::Str | Column::Json => DataType::Utf8,
        Column::Bool => DataType::Boolean,
    };
    let mut meta = HashMap::from([(META_DECLARED.to_string(), type_label(declared).to_string())]);
    if c == Column::Json {
        meta.insert(META_ENCODING.to_string(), "json".to_string());
    }
    Field::new(name, dt, true).with_metadata(meta)
}

/// One column's values for the row group being built.
pub enum Builder {
    Int(Int64Builder),
    Float(Float64Builder),
    Str(StringBuilder),
    Bool(BooleanBuilder),
    Json(StringBuilder),
}

fn misfit(what: &str) -> io::Error {
    // The column type was chosen from every value, so a value that does not fit is a bug.
    io::Error::new(io::ErrorKind::InvalidData, format!("records.parquet: a value does not fit its {what} column"))
}

impl Builder {
    pub fn new(c: Column) -> Self {
        match c {
            Column::Int => Self::Int(Int64Builder::new()),
            Column::Float => Self::Float(Float64Builder::new()),
            Column::Str => Self::Str(StringBuilder::new()),
            Column::Bool => Self::Bool(BooleanBuilder::new()),
            Column::Json => Self::Json(StringBuilder::new()),
        }
    }

    pub fn push(&mut self, c: Cell<'_>) -> io::Result<()> {
        if let Cell::Value([0xc0]) = c {
            match self {
                Self::Int(b) => b.append_null(),
                Self::Float(b) => b.append_null(),
                Self::Str(b) | Self::Json(b) => b.append_null(),
                Self::Bool(b) => b.append_null(),
            }
            return Ok(());
        }
        match (self, c) {
            (Self::Int(b), Cell::Value(v)) => match as_num(v) {
                Some(Num::Int(i)) => b.append_value(i),
                _ => return Err(misfit("int64")),
            },
            (Self::Float(b), Cell::Value(v)) => match as_num(v) {
                Some(Num::Float(f)) => b.append_value(f),
                // Only in a declared `float` column, and only exact ones (see `Seen::column`).
                Some(Num::Int(i)) if i.unsigned_abs() <= EXACT_IN_F64 => b.append_value(i as f64),
                _ => return Err(misfit("float64")),
            },
            (Self::Str(b), Cell::Value(v)) => b.append_value(as_str(v).ok_or_else(|| misfit("string"))?),
            (Self::Bool(b), Cell::Value(v)) => match v {
                [0xc3] => b.append_value(true),
                [0xc2] => b.append_value(false),
                _ => return Err(misfit("boolean")),
            },
            (Self::Json(b), Cell::Value(v)) => {
                let j = to_json(v).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                b.append_value(j.to_string());
            }
            (Self::Json(b), Cell::Json(t)) => b.append_value(t),
            (_, Cell::Json(_)) => return Err(misfit("typed")),
        }
        Ok(())
    }

    pub fn finish(&mut self) -> ArrayRef {
        match self {
            Self::Int(b) => Arc::new(b.finish()),
            Self::Float(b) => Arc::new(b.finish()),
            Self::Str(b) | Self::Json(b) => Arc::new(b.finish()),
            Self::Bool(b) => Arc::new(b.finish()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use distroduce_model::value::json::from_json;
    use serde_json::json;

    fn column(declared: TypeName, values: &[serde_json::Value]) -> Column {
        let mut s = Seen::default();
        let enc: Vec<Vec<u8>> = values.iter().map(from_json).collect();
        enc.iter().for_each(|v| s.observe(Cell::Value(v)));
        s.column(declared)
    }

    #[test]
    fn the_type_comes_from_every_value_and_never_loses_one() {
        use TypeName::*;
        assert_eq!(column(Number, &[json!(0), json!(5), json!(null)]), Column::Int);
        assert_eq!(column(Number, &[json!(0.0), json!(2.5)]), Column::Float);
        // An int column never becomes float silently: mixed numbers are JSON text unless declared float.
        assert_eq!(column(Number, &[json!(0), json!(2.5)]), Column::Json);
        assert_eq!(column(Float, &[json!(0), json!(2.5)]), Column::Float);
        assert_eq!(column(Float, &[json!(3)]), Column::Float);
        assert_eq!(column(Float, &[json!(2.5), json!(1i64 << 60)]), Column::Json, "not exact as f64");
        assert_eq!(column(Int, &[json!(u64::MAX)]), Column::Json, "past i64");
        assert_eq!(column(Any, &[json!("a"), json!(null)]), Column::Str);
        assert_eq!(column(Any, &[json!(true)]), Column::Bool);
        assert_eq!(column(Any, &[json!("a"), json!(1)]), Column::Json);
        assert_eq!(column(List, &[json!([1, 2])]), Column::Json);
        assert_eq!(column(Map, &[json!({"a": 1})]), Column::Json);
        // No values: the declared type.
        assert_eq!(column(Int, &[]), Column::Int);
        assert_eq!(column(Bool, &[json!(null)]), Column::Bool);
        assert_eq!(column(Number, &[]), Column::Json);
        let mut s = Seen::default();
        s.observe(Cell::Value(&from_json(&json!(1))));
        s.observe(Cell::Json("1"));
        assert_eq!(s.column(Int), Column::Json, "a shard's JSON text keeps the column JSON");
    }
}
