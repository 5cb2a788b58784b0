//! Emitted values (MessagePack, seen as JSON) into Avro binary, walking the schema that
//! `apache-avro` parsed. Our own walk rather than `apache_avro::to_avro_datum` so that a value the
//! schema cannot hold is reported with the path of the field (`user.age: expected int, got "x"`).
//!
//! Mapping: records from maps (a field missing from the value takes the field's default; fields
//! the schema does not name are left out, so one plugin can feed every version of an evolving
//! schema), enums from their symbol, bytes and fixed from strings (their UTF-8 bytes), unions take
//! the first branch the value fits, logical types from their underlying number.

use apache_avro::schema::{Name, Schema};
use serde_json::Value as Json;
use std::collections::HashMap;

/// A parsed schema with its named types, ready to encode.
#[derive(Debug)]
pub struct AvroSchema {
    pub schema: Schema,
    names: HashMap<String, Schema>,
}

impl AvroSchema {
    /// Parse schema JSON text; the error is apache-avro's.
    pub fn parse(text: &str) -> Result<Self, String> {
        let schema = Schema::parse_str(text).map_err(|e| e.to_string())?;
        let mut names = HashMap::new();
        collect_names(&schema, &mut names);
        Ok(Self { schema, names })
    }

    /// The full name of the top-level record (for the record subject strategies).
    pub fn record_name(&self) -> Option<String> {
        match &self.schema {
            Schema::Record(r) => Some(r.name.fullname(None)),
            _ => None,
        }
    }

    /// Append `v`'s Avro binary encoding to `out`.
    pub fn encode(&self, v: &Json, out: &mut Vec<u8>) -> Result<(), String> {
        let mut path = Vec::new();
        self.write(&self.schema, v, out, &mut path).map_err(|e| match path.is_empty() {
            true => e,
            false => format!("field `{}`: {e}", path.join(".")),
        })
    }

    fn resolve<'a>(&'a self, s: &'a Schema) -> Result<&'a Schema, String> {
        match s {
            Schema::Ref { name } => {
                self.names.get(&name.fullname(None)).ok_or_else(|| format!("unknown type `{}`", name.fullname(None)))
            }
            s => Ok(s),
        }
    }

    fn write(&self, s: &Schema, v: &Json, out: &mut Vec<u8>, path: &mut Vec<String>) -> Result<(), String> {
        let s = self.resolve(s)?;
        let want = |t: &str| format!("expected {t}, got {}", show(v));
        match s {
            Schema::Null => v.is_null().then_some(()).ok_or_else(|| want("null")),
            Schema::Boolean => {
                out.push(v.as_bool().ok_or_else(|| want("boolean"))? as u8);
                Ok(())
            }
            Schema::Int | Schema::Date | Schema::TimeMillis => {
                let i = v.as_i64().filter(|i| i32::try_from(*i).is_ok()).ok_or_else(|| want("int (32-bit)"))?;
                zigzag(i, out);
                Ok(())
            }
            Schema::Long
            | Schema::TimeMicros
            | Schema::TimestampMillis
            | Schema::TimestampMicros
            | Schema::TimestampNanos
            | Schema::LocalTimestampMillis
            | Schema::LocalTimestampMicros
            | Schema::LocalTimestampNanos => {
                zigzag(v.as_i64().ok_or_else(|| want("long (64-bit integer)"))?, out);
                Ok(())
            }
            Schema::Float => {
                out.extend_from_slice(&(v.as_f64().ok_or_else(|| want("float"))? as f32).to_le_bytes());
                Ok(())
            }
            Schema::Double => {
                out.extend_from_slice(&v.as_f64().ok_or_else(|| want("double"))?.to_le_bytes());
                Ok(())
            }
            Schema::Bytes | Schema::String | Schema::Uuid => {
                let t = v
                    .as_str()
                    .ok_or_else(|| want(if matches!(s, Schema::Bytes) { "bytes (a string)" } else { "string" }))?;
                zigzag(t.len() as i64, out);
                out.extend_from_slice(t.as_bytes());
                Ok(())
            }
            Schema::Fixed(f) => {
                let t = v
                    .as_str()
                    .filter(|t| t.len() == f.size)
                    .ok_or_else(|| want(&format!("a string of {} bytes", f.size)))?;
                out.extend_from_slice(t.as_bytes());
                Ok(())
            }
            Schema::Enum(e) => {
                let sym = v.as_str().ok_or_else(|| want("an enum symbol (string)"))?;
                let i = e.symbols.iter().position(|x| x == sym).ok_or_else(|| {
                    format!("`{sym}` is not a symbol of enum `{}` ({})", e.name.fullname(None), e.symbols.join(", "))
                })?;
                zigzag(i as i64, out);
                Ok(())
            }
            Schema::Array(a) => {
                let items = v.as_array().ok_or_else(|| want("array"))?;
                if !items.is_empty() {
                    zigzag(items.len() as i64, out);
                    for (i, item) in items.iter().enumerate() {
                        path.push(format!("[{i}]"));
                        self.write(&a.items, item, out, path)?;
                        path.pop();
                    }
                }
                out.push(0);
                Ok(())
            }
            Schema::Map(m) => {
                let entries = v.as_object().ok_or_else(|| want("map"))?;
                if !entries.is_empty() {
                    zigzag(entries.len() as i64, out);
                    for (k, item) in entries {
                        zigzag(k.len() as i64, out);
                        out.extend_from_slice(k.as_bytes());
                        path.push(k.clone());
                        self.write(&m.types, item, out, path)?;
                        path.pop();
                    }
                }
                out.push(0);
                Ok(())
            }
            Schema::Record(r) => {
                let obj = v.as_object().ok_or_else(|| want(&format!("record `{}` (a map)", r.name.fullname(None))))?;
                for f in &r.fields {
                    path.push(f.name.clone());
                    match obj.get(&f.name).or(f.default.as_ref()) {
                        Some(fv) => self.write(&f.schema, fv, out, path)?,
                        None => return Err("missing, and the schema gives it no default".into()),
                    }
                    path.pop();
                }
                Ok(())
            }
            Schema::Union(u) => {
                let mut tried = Vec::new();
                for (i, branch) in u.variants().iter().enumerate() {
                    let mut buf = Vec::new();
                    let mut sub = Vec::new();
                    match self.write(branch, v, &mut buf, &mut sub) {
                        Ok(()) => {
                            zigzag(i as i64, out);
                            out.extend_from_slice(&buf);
                            return Ok(());
                        }
                        Err(_) => tried.push(type_name(branch)),
                    }
                }
                Err(format!("{} fits no branch of the union [{}]", show(v), tried.join(", ")))
            }
            Schema::Decimal(_) | Schema::BigDecimal | Schema::Duration => {
                Err(format!("the logical type of this field ({}) is not supported yet", type_name(s)))
            }
            Schema::Ref { .. } => unreachable!("resolved above"),
        }
    }
}

fn collect_names(s: &Schema, names: &mut HashMap<String, Schema>) {
    let name = |n: &Name| n.fullname(None);
    match s {
        Schema::Record(r) => {
            names.insert(name(&r.name), s.clone());
            for f in &r.fields {
                collect_names(&f.schema, names);
            }
        }
        Schema::Enum(e) => {
            names.insert(name(&e.name), s.clone());
        }
        Schema::Fixed(f) => {
            names.insert(name(&f.name), s.clone());
        }
        Schema::Array(a) => collect_names(&a.items, names),
        Schema::Map(m) => collect_names(&m.types, names),
        Schema::Union(u) => u.variants().iter().for_each(|b| collect_names(b, names)),
        _ => {}
    }
}

/// Avro's variable-length zig-zag encoding of int and long.
fn zigzag(n: i64, out: &mut Vec<u8>) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn type_name(s: &Schema) -> String {
    match s {
        Schema::Record(r) => r.name.fullname(None),
        Schema::Enum(e) => e.name.fullname(None),
        Schema::Fixed(f) => f.name.fullname(None),
        Schema::Ref { name } => name.fullname(None),
        other => format!("{:?}", apache_avro::schema::SchemaKind::from(other)).to_lowercase(),
    }
}

/// A value as the error shows it: JSON, cut short.
pub(crate) fn show(v: &Json) -> String {
    let t = v.to_string();
    if t.chars().count() > 60 {
        format!("{}…", t.chars().take(60).collect::<String>())
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apache_avro::types::Value as AvroValue;
    use serde_json::json;

    const CHAT: &str = r#"{"type": "record", "name": "Message", "namespace": "chat", "fields": [
        {"name": "user", "type": "string"},
        {"name": "n", "type": "long"},
        {"name": "score", "type": "double"},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["TEXT", "JOIN"]}},
        {"name": "room", "type": ["null", "string"], "default": null},
        {"name": "meta", "type": {"type": "map", "values": "int"}},
        {"name": "lang", "type": "string", "default": "en"}]}"#;

    /// Our bytes decode with apache-avro's reader to the same value.
    #[test]
    fn encodes_what_apache_avro_decodes() {
        let s = AvroSchema::parse(CHAT).unwrap();
        let v = json!({"user": "A", "n": -300, "score": 1.5, "tags": ["x", "y"], "kind": "JOIN",
                       "room": "r1", "meta": {"k": 7}, "extra": true});
        let mut out = Vec::new();
        s.encode(&v, &mut out).unwrap();
        let got = apache_avro::from_avro_datum(&s.schema, &mut &out[..], None).unwrap();
        let AvroValue::Record(fields) = got else { panic!("{got:?}") };
        let f: HashMap<_, _> = fields.into_iter().collect();
        assert_eq!(f["user"], AvroValue::String("A".into()));
        assert_eq!(f["n"], AvroValue::Long(-300));
        assert_eq!(f["score"], AvroValue::Double(1.5));
        assert_eq!(f["tags"], AvroValue::Array(vec![AvroValue::String("x".into()), AvroValue::String("y".into())]));
        assert_eq!(f["kind"], AvroValue::Enum(1, "JOIN".into()));
        assert_eq!(f["room"], AvroValue::Union(1, Box::new(AvroValue::String("r1".into()))));
        assert_eq!(f["meta"], AvroValue::Map([("k".to_string(), AvroValue::Int(7))].into()));
        assert_eq!(f["lang"], AvroValue::String("en".into()), "absent field takes its default");
    }

    #[test]
    fn a_value_that_does_not_fit_names_the_field() {
        let s = AvroSchema::parse(CHAT).unwrap();
        let base = json!({"user": "A", "n": 1, "score": 1.0, "tags": [], "kind": "TEXT", "meta": {}});
        let err = |patch: Json| {
            let mut v = base.clone();
            v.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
            s.encode(&v, &mut Vec::new()).unwrap_err()
        };
        assert_eq!(err(json!({"n": "x"})), "field `n`: expected long (64-bit integer), got \"x\"");
        assert_eq!(err(json!({"tags": ["a", 3]})), "field `tags.[1]`: expected string, got 3");
        assert!(err(json!({"kind": "LEAVE"})).contains("`LEAVE` is not a symbol of enum `chat.Kind` (TEXT, JOIN)"));
        assert!(err(json!({"room": 5})).starts_with("field `room`: 5 fits no branch of the union [null, string]"));
        let mut v = base.clone();
        v.as_object_mut().unwrap().remove("user");
        assert_eq!(
            s.encode(&v, &mut Vec::new()).unwrap_err(),
            "field `user`: missing, and the schema gives it no default"
        );
    }

    #[test]
    fn zigzag_matches_the_spec_examples() {
        for (n, want) in [(0i64, vec![0u8]), (-1, vec![1]), (1, vec![2]), (-64, vec![0x7f]), (64, vec![0x80, 1])] {
            let mut out = Vec::new();
            zigzag(n, &mut out);
            assert_eq!(out, want, "{n}");
        }
    }

    #[test]
    fn record_names_and_bad_schemas() {
        assert_eq!(AvroSchema::parse(CHAT).unwrap().record_name().as_deref(), Some("chat.Message"));
        assert!(AvroSchema::parse(r#"{"type": "record", "name": "X"}"#).is_err());
    }
}
