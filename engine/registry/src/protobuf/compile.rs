//! The descriptors of the encoded message type, compiled once into the flat tables the encoder
//! walks.

use super::{Enum, Field, Msg, Shape, Ty};
use prost_reflect::{Cardinality, FieldDescriptor, Kind, MessageDescriptor};
use std::collections::HashMap;

/// Builds the message and enum tables, each type once (recursive types refer back by index).
#[derive(Default)]
pub(super) struct Compile {
    pub msgs: Vec<Msg>,
    pub enums: HashMap<String, Enum>,
    by_name: HashMap<String, usize>,
}

impl Compile {
    pub fn message(&mut self, m: &MessageDescriptor) -> usize {
        if let Some(i) = self.by_name.get(m.full_name()) {
            return *i;
        }
        let i = self.msgs.len();
        self.by_name.insert(m.full_name().to_string(), i);
        self.msgs.push(Msg { name: m.full_name().to_string(), fields: Vec::new() });
        let oneofs: Vec<String> = m.oneofs().filter(|o| !o.is_synthetic()).map(|o| o.full_name().to_string()).collect();
        let mut fields: Vec<Field> = m.fields().map(|f| self.field(&f, &oneofs)).collect();
        fields.sort_by_key(|f| f.number);
        self.msgs[i].fields = fields;
        i
    }

    fn field(&mut self, f: &FieldDescriptor, oneofs: &[String]) -> Field {
        let shape = if f.is_map() {
            let Kind::Message(entry) = f.kind() else { unreachable!("a map field's kind is its entry message") };
            let key = self.ty(&entry.map_entry_key_field());
            let value = self.ty(&entry.map_entry_value_field());
            Shape::Map { key, value }
        } else if f.cardinality() == Cardinality::Repeated {
            Shape::Repeated { packed: f.is_packed() }
        } else {
            Shape::Single { presence: f.supports_presence() }
        };
        let oneof = f.containing_oneof().and_then(|o| oneofs.iter().position(|x| x == o.full_name()));
        let ty = if f.is_map() { Ty::Bool } else { self.ty(f) };
        Field { name: f.name().to_string(), json_name: f.json_name().to_string(), number: f.number(), ty, shape, oneof }
    }

    fn ty(&mut self, f: &FieldDescriptor) -> Ty {
        match f.kind() {
            Kind::Double => Ty::Double,
            Kind::Float => Ty::Float,
            Kind::Int32 => Ty::Int32,
            Kind::Int64 => Ty::Int64,
            Kind::Uint32 => Ty::Uint32,
            Kind::Uint64 => Ty::Uint64,
            Kind::Sint32 => Ty::Sint32,
            Kind::Sint64 => Ty::Sint64,
            Kind::Fixed32 => Ty::Fixed32,
            Kind::Fixed64 => Ty::Fixed64,
            Kind::Sfixed32 => Ty::Sfixed32,
            Kind::Sfixed64 => Ty::Sfixed64,
            Kind::Bool => Ty::Bool,
            Kind::String => Ty::String,
            Kind::Bytes => Ty::Bytes,
            Kind::Message(m) => Ty::Message(self.message(&m)),
            Kind::Enum(e) => {
                let order = self.enums.len();
                let entry = self.enums.entry(e.full_name().to_string()).or_insert_with(|| Enum {
                    name: e.full_name().to_string(),
                    order,
                    values: e.values().map(|v| (v.name().to_string(), v.number())).collect(),
                });
                Ty::Enum(entry.order)
            }
        }
    }
}
