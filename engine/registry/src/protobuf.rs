//! Emitted values (MessagePack, seen as JSON) into Protobuf binary. The `.proto` text is parsed
//! and checked by `protox` (no `protoc` needed); its descriptors are compiled once into a flat
//! table that our own encoder walks, so that a value that does not fit is reported with the path
//! of the field (`user.age: expected int32, got "x"`) and nothing is allocated per field.
//!
//! Mapping: messages from maps keyed by field name (or its JSON name); a key the message does not
//! declare is an error; a null or absent field is left unset; enums from their symbol or number;
//! bytes from strings (their UTF-8 bytes) or arrays of byte values; maps from maps (keys parsed as
//! the key type); repeated fields from arrays (packed where the schema says so). Proto3 fields
//! without presence are not written when they hold their default, as protobuf's own encoders do.

use crate::avro::show;
use compile::Compile;
use prost_reflect::{DescriptorPool, MessageDescriptor};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};
use serde_json::Value as Json;

mod compile;

/// The name the inline `.proto` text is compiled under.
const FILE: &str = "schema.proto";

/// A parsed `.proto` with the message type values are encoded as, ready to encode.
#[derive(Debug)]
pub struct ProtoSchema {
    /// Full name of the message type.
    pub message: String,
    /// Confluent's message indexes of the type in its file ([0] for the first top-level message).
    pub indexes: Vec<i64>,
    /// `indexes` as the wire format writes them.
    index_bytes: Vec<u8>,
    /// Message types, the encoded one first.
    msgs: Vec<Msg>,
    enums: Vec<Enum>,
}

#[derive(Debug, Default)]
struct Enum {
    name: String,
    /// Its place in `ProtoSchema::enums`.
    order: usize,
    values: Vec<(String, i32)>,
}

#[derive(Debug)]
struct Msg {
    name: String,
    fields: Vec<Field>,
}

#[derive(Debug)]
struct Field {
    name: String,
    json_name: String,
    number: u32,
    /// Unused for map fields (their types are in `shape`).
    ty: Ty,
    shape: Shape,
    oneof: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// `presence`: written even when it holds its default (proto2, `optional`, oneof members).
    Single {
        presence: bool,
    },
    Repeated {
        packed: bool,
    },
    /// A map field: its entries are messages of key (field 1) and value (field 2).
    Map {
        key: Ty,
        value: Ty,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ty {
    Double,
    Float,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
    String,
    Bytes,
    Enum(usize),
    Message(usize),
}

/// A value that does not fit: the message, and the field path (innermost first, while unwinding).
struct Misfit {
    path: Vec<String>,
    msg: String,
}

impl From<String> for Misfit {
    fn from(msg: String) -> Self {
        Self { path: Vec::new(), msg }
    }
}

/// Resolves the schema text itself and Google's well-known types (`google/protobuf/*.proto`).
struct Inline(String);

impl FileResolver for Inline {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match name {
            FILE => File::from_source(FILE, &self.0),
            _ => Err(protox::Error::file_not_found(name)),
        }
    }
}

impl ProtoSchema {
    /// Parse `.proto` text and pick `message` (a full name), or the only top-level message.
    pub fn parse(text: &str, message: Option<&str>) -> Result<Self, String> {
        let pool = pool(text)?;
        let file = pool.get_file_by_name(FILE).ok_or("the schema declares no file")?;
        let mut all = Vec::new();
        for m in file.messages() {
            nested(&m, &mut all);
        }
        let names = || all.iter().map(|m: &MessageDescriptor| m.full_name().to_string()).collect::<Vec<_>>().join(", ");
        let top = match message {
            Some(name) => all.iter().find(|m| m.full_name() == name).cloned().ok_or_else(|| {
                format!("the schema declares no message `{name}` (it declares: {})", or_none(&names()))
            })?,
            None => match file.messages().len() {
                1 => file.messages().next().expect("one message"),
                n => {
                    return Err(format!(
                        "the schema declares {n} top-level messages ({}): name the one values are encoded as with the topic's `message`",
                        or_none(&names())
                    ))
                }
            },
        };
        let mut indexes = Vec::new();
        let mut m = top.clone();
        loop {
            let (siblings, parent) = match m.parent_message() {
                Some(p) => (p.child_messages().collect::<Vec<_>>(), Some(p)),
                None => (file.messages().collect(), None),
            };
            indexes.push(
                siblings.iter().position(|s| s.full_name() == m.full_name()).expect("a child of its parent") as i64
            );
            match parent {
                Some(p) => m = p,
                None => break,
            }
        }
        indexes.reverse();
        let mut c = Compile::default();
        c.message(&top);
        let Compile { msgs, enums, .. } = c;
        let mut enums: Vec<Enum> = enums.into_values().collect();
        enums.sort_by_key(|e| e.order);
        let mut index_bytes = Vec::new();
        if indexes == [0] {
            index_bytes.push(0);
        } else {
            varint(zigzag(indexes.len() as i64), &mut index_bytes);
            indexes.iter().for_each(|i| varint(zigzag(*i), &mut index_bytes));
        }
        Ok(Self { message: top.full_name().to_string(), indexes, index_bytes, msgs, enums })
    }

    /// The message indexes as the Confluent wire format writes them after the schema id: `[0]` as
    /// a single 0 byte, else the count and each index as zig-zag varints.
    pub fn index_bytes(&self) -> &[u8] {
        &self.index_bytes
    }

    /// How the encoded message's fields changed since `before` (matched by number): the likely
    /// cause of a refusal whose reason does not say (Apicurio's: "not backward compatible. at /").
    pub fn changes_from(&self, before: &ProtoSchema) -> Vec<String> {
        let (old, new) = (&before.msgs[0], &self.msgs[0]);
        let mut out = Vec::new();
        if old.name != new.name {
            out.push(format!("the message type changed from `{}` to `{}`", old.name, new.name));
        }
        for f in &old.fields {
            let Some(n) = new.fields.iter().find(|n| n.number == f.number) else {
                out.push(format!("field {} `{}` was removed", f.number, f.name));
                continue;
            };
            if n.name != f.name {
                out.push(format!("field {} was renamed from `{}` to `{}`", f.number, f.name, n.name));
            }
            let (was, is) = (before.type_name(f), self.type_name(n));
            if was != is {
                out.push(format!("field {} `{}` changed from {was} to {is}", f.number, n.name));
            }
        }
        out
    }

    fn type_name(&self, f: &Field) -> String {
        let t = |ty: Ty| match ty {
            Ty::Message(i) => self.msgs[i].name.clone(),
            Ty::Enum(i) => self.enums[i].name.clone(),
            other => format!("{other:?}").to_lowercase(),
        };
        match f.shape {
            Shape::Single { .. } => t(f.ty),
            Shape::Repeated { .. } => format!("repeated {}", t(f.ty)),
            Shape::Map { key, value } => format!("map<{}, {}>", t(key), t(value)),
        }
    }

    /// Append `v`'s Protobuf encoding (the message, no length prefix) to `out`.
    pub fn encode(&self, v: &Json, out: &mut Vec<u8>) -> Result<(), String> {
        self.write_msg(0, v, out).map_err(|Misfit { mut path, msg }| match path.is_empty() {
            true => msg,
            false => {
                path.reverse();
                format!("field `{}`: {msg}", path.join("."))
            }
        })
    }

    fn write_msg(&self, m: usize, v: &Json, out: &mut Vec<u8>) -> Result<(), Misfit> {
        let msg = &self.msgs[m];
        let obj = v.as_object().ok_or_else(|| format!("expected message `{}` (a map), got {}", msg.name, show(v)))?;
        let mut matched = 0;
        let mut oneofs: Vec<(usize, &str)> = Vec::new();
        for f in &msg.fields {
            let Some(fv) = obj.get(&f.name).or_else(|| obj.get(&f.json_name)) else { continue };
            matched += 1;
            if fv.is_null() {
                continue;
            }
            if let Some(o) = f.oneof {
                if let Some((_, other)) = oneofs.iter().find(|(x, _)| *x == o) {
                    return Err(
                        format!("fields `{other}` and `{}` are members of one oneof: set one of them", f.name).into()
                    );
                }
                oneofs.push((o, &f.name));
            }
            self.write_field(f, fv, out).map_err(|mut e| {
                e.path.push(f.name.clone());
                e
            })?;
        }
        if matched < obj.len() {
            let known = |k: &str| msg.fields.iter().any(|f| f.name == k || f.json_name == k);
            let unknown = obj.keys().find(|k| !known(k)).map_or("?", |k| k.as_str());
            let names: Vec<&str> = msg.fields.iter().map(|f| f.name.as_str()).collect();
            return Err(Misfit {
                path: vec![unknown.to_string()],
                msg: format!("message `{}` has no such field (its fields: {})", msg.name, or_none(&names.join(", "))),
            });
        }
        Ok(())
    }

    fn write_field(&self, f: &Field, v: &Json, out: &mut Vec<u8>) -> Result<(), Misfit> {
        match f.shape {
            Shape::Single { presence } => {
                if !presence && is_default(f.ty, v) {
                    return Ok(());
                }
                self.write_tagged(f.number, f.ty, v, out)
            }
            Shape::Repeated { packed } => {
                let items = v.as_array().ok_or_else(|| format!("expected a list, got {}", show(v)))?;
                let at = |i: usize, e: Misfit| Misfit { path: [e.path, vec![format!("[{i}]")]].concat(), msg: e.msg };
                if packed && !items.is_empty() {
                    tag(f.number, 2, out);
                    let start = out.len();
                    for (i, item) in items.iter().enumerate() {
                        self.write_value(f.ty, item, out).map_err(|e| at(i, e))?;
                    }
                    prefix_len(out, start);
                } else {
                    for (i, item) in items.iter().enumerate() {
                        self.write_tagged(f.number, f.ty, item, out).map_err(|e| at(i, e))?;
                    }
                }
                Ok(())
            }
            Shape::Map { key, value } => {
                let entries = v.as_object().ok_or_else(|| format!("expected a map, got {}", show(v)))?;
                for (k, item) in entries {
                    tag(f.number, 2, out);
                    let start = out.len();
                    let key_json = match key {
                        Ty::String => Json::String(k.clone()),
                        _ => serde_json::from_str(k).unwrap_or_else(|_| Json::String(k.clone())),
                    };
                    let r =
                        self.write_tagged(1, key, &key_json, out).and_then(|()| self.write_tagged(2, value, item, out));
                    r.map_err(|mut e| {
                        e.path.push(k.clone());
                        e
                    })?;
                    prefix_len(out, start);
                }
                Ok(())
            }
        }
    }

    fn write_tagged(&self, number: u32, ty: Ty, v: &Json, out: &mut Vec<u8>) -> Result<(), Misfit> {
        let wire = match ty {
            Ty::Double | Ty::Fixed64 | Ty::Sfixed64 => 1,
            Ty::Float | Ty::Fixed32 | Ty::Sfixed32 => 5,
            Ty::String | Ty::Bytes | Ty::Message(_) => 2,
            _ => 0,
        };
        tag(number, wire, out);
        self.write_value(ty, v, out)
    }

    /// One value without its tag (messages, strings and bytes with their length).
    fn write_value(&self, ty: Ty, v: &Json, out: &mut Vec<u8>) -> Result<(), Misfit> {
        let want = |t: &str| Misfit::from(format!("expected {t}, got {}", show(v)));
        let int = |lo: i64, hi: u64, t: &str| -> Result<i64, Misfit> {
            match (v.as_i64(), v.as_u64()) {
                (Some(i), _) if i >= lo && (i < 0 || i as u64 <= hi) => Ok(i),
                (None, Some(u)) if u <= hi => Ok(u as i64),
                (Some(_), _) | (None, Some(_)) => Err(format!("{} is out of range for {t}", show(v)).into()),
                _ => Err(want(t)),
            }
        };
        let (i32_lo, i32_hi) = (i64::from(i32::MIN), i32::MAX as u64);
        match ty {
            Ty::Int32 => varint(int(i32_lo, i32_hi, "int32")? as u64, out),
            Ty::Int64 => varint(int(i64::MIN, i64::MAX as u64, "int64")? as u64, out),
            Ty::Uint32 => varint(int(0, u64::from(u32::MAX), "uint32")? as u64, out),
            Ty::Uint64 => varint(int(0, u64::MAX, "uint64")? as u64, out),
            Ty::Sint32 => varint(zigzag(int(i32_lo, i32_hi, "sint32")?), out),
            Ty::Sint64 => varint(zigzag(int(i64::MIN, i64::MAX as u64, "sint64")?), out),
            Ty::Fixed32 => out.extend_from_slice(&(int(0, u64::from(u32::MAX), "fixed32")? as u32).to_le_bytes()),
            Ty::Sfixed32 => out.extend_from_slice(&(int(i32_lo, i32_hi, "sfixed32")? as i32).to_le_bytes()),
            Ty::Fixed64 => out.extend_from_slice(&(int(0, u64::MAX, "fixed64")? as u64).to_le_bytes()),
            Ty::Sfixed64 => out.extend_from_slice(&int(i64::MIN, i64::MAX as u64, "sfixed64")?.to_le_bytes()),
            Ty::Double => out.extend_from_slice(&v.as_f64().ok_or_else(|| want("double"))?.to_le_bytes()),
            Ty::Float => out.extend_from_slice(&(v.as_f64().ok_or_else(|| want("float"))? as f32).to_le_bytes()),
            Ty::Bool => out.push(v.as_bool().ok_or_else(|| want("bool"))? as u8),
            Ty::String => {
                let s = v.as_str().ok_or_else(|| want("string"))?;
                varint(s.len() as u64, out);
                out.extend_from_slice(s.as_bytes());
            }
            Ty::Bytes => match v {
                Json::String(s) => {
                    varint(s.len() as u64, out);
                    out.extend_from_slice(s.as_bytes());
                }
                Json::Array(a) => {
                    let b: Option<Vec<u8>> = a.iter().map(|x| x.as_u64().and_then(|n| u8::try_from(n).ok())).collect();
                    let b = b.ok_or_else(|| want("bytes (a string or a list of byte values)"))?;
                    varint(b.len() as u64, out);
                    out.extend_from_slice(&b);
                }
                _ => return Err(want("bytes (a string or a list of byte values)")),
            },
            Ty::Enum(e) => {
                let en = &self.enums[e];
                let symbols = || en.values.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>().join(", ");
                let number = match v {
                    Json::String(s) => en
                        .values
                        .iter()
                        .find(|(x, _)| x == s)
                        .map(|(_, n)| *n)
                        .ok_or_else(|| format!("`{s}` is not a value of enum `{}` ({})", en.name, symbols()))?,
                    _ => {
                        let n = int(i32_lo, i32_hi, "an enum number")? as i32;
                        en.values
                            .iter()
                            .find(|(_, x)| *x == n)
                            .map(|_| n)
                            .ok_or_else(|| format!("{n} is not a number of enum `{}` ({})", en.name, symbols()))?
                    }
                };
                varint(i64::from(number) as u64, out);
            }
            Ty::Message(m) => {
                let start = out.len();
                self.write_msg(m, v, out)?;
                prefix_len(out, start);
            }
        }
        Ok(())
    }
}

/// Compile `.proto` text (and the well-known types it imports) into descriptors.
pub fn pool(text: &str) -> Result<DescriptorPool, String> {
    let mut files = ChainFileResolver::new();
    files.add(Inline(text.to_string()));
    files.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(files);
    compiler.open_file(FILE).map_err(|e| describe(&e, text))?;
    Ok(compiler.descriptor_pool())
}

fn nested(m: &MessageDescriptor, out: &mut Vec<MessageDescriptor>) {
    if m.is_map_entry() {
        return;
    }
    out.push(m.clone());
    for c in m.child_messages() {
        nested(&c, out);
    }
}

/// protox's error with its place in the `.proto` text (line and column, from 1).
fn describe(e: &protox::Error, text: &str) -> String {
    use miette::Diagnostic;
    let at = e.labels().and_then(|mut l| l.next()).map(|l| l.offset());
    match at {
        Some(off) => {
            let before = &text[..off.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("{e} (line {line}, column {col} of the .proto)")
        }
        None => e.to_string(),
    }
}

fn is_default(ty: Ty, v: &Json) -> bool {
    match ty {
        Ty::Bool => v.as_bool() == Some(false),
        Ty::String | Ty::Bytes => v.as_str() == Some("") || v.as_array().is_some_and(Vec::is_empty),
        Ty::Message(_) => false,
        Ty::Enum(_) => v.as_i64() == Some(0),
        _ => v.as_f64() == Some(0.0) && !v.as_f64().is_some_and(|f| f.is_sign_negative()),
    }
}

fn tag(number: u32, wire: u32, out: &mut Vec<u8>) {
    varint(u64::from(number << 3 | wire), out);
}

fn varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

/// Put the length of `out[start..]` in front of it, as a varint (one move, no allocation).
fn prefix_len(out: &mut Vec<u8>, start: usize) {
    let len = out.len() - start;
    let before = out.len();
    varint(len as u64, out);
    let n = out.len() - before;
    out[start..].rotate_right(n);
}

fn or_none(s: &str) -> &str {
    if s.is_empty() {
        "none"
    } else {
        s
    }
}

#[cfg(test)]
mod tests;
