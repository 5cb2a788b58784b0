//! `format: avro` and `format: protobuf` topics and their schema registry, kept out of the
//! simulation core: before a run (and at `engine validate`) every schema version is parsed, checked
//! by the registry for compatibility with the version before it, and (for a run) registered; the
//! topic then gets an encoder that writes the Confluent wire format (magic byte 0, the 4-byte
//! big-endian schema id, for Protobuf the message indexes, then the Avro datum or Protobuf
//! message), choosing the version by timestep.

pub mod avro;
pub mod client;
pub mod http;
pub mod protobuf;
pub mod sample;

use avro::AvroSchema;
use client::{Client, ClientError, Compatibility, SchemaType};
use distroduce_model::diag::{ConfigErrors, Diagnostic};
use distroduce_model::plan::{KafkaPlan, SchemaVersion, TopicPlan, ValueEncoder};
use distroduce_model::types::{SubjectStrategy, ValueFormat};
use protobuf::ProtoSchema;
use std::path::Path;
use std::sync::Arc;

/// Why the schemas could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A schema is not valid Avro or Protobuf, or the registry refused it as incompatible: bad input, at the
    /// schema's place in the scenario.
    #[error("{0}")]
    Schema(ConfigErrors),
    /// The registry could not be reached or failed.
    #[error("{0}\n  hint: start a local registry with `scripts/schema-registry start`, or check `kafka.schema_registry.url` / `--schema-registry`")]
    Registry(#[from] ClientError),
}

/// Check only (`engine validate`: nothing is left registered), or register and attach encoders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Check,
    Register,
}

/// Prepare every `format: avro` and `protobuf` topic of `kafka`; `file` is the scenario (for error positions).
/// Returns one line per registered version (`subject v<version> id <id>`) for the run's log.
pub fn prepare(file: &Path, kafka: &mut KafkaPlan, mode: Mode) -> Result<Vec<String>, RegistryError> {
    let Some(reg) = kafka.schema_registry.clone() else { return Ok(Vec::new()) };
    if mode == Mode::Register {
        // Every version is checked before the first is registered: a refused version 2 leaves no
        // version 1 behind.
        prepare(file, &mut kafka.clone(), Mode::Check)?;
    }
    let client = Client::new(&reg.url);
    let mut notes = Vec::new();
    let mut bad = Vec::new();
    for topic in kafka.topics.iter_mut().filter(|t| t.format.uses_registry()) {
        let mut parsed = Vec::new();
        for v in &topic.schemas {
            match Parsed::parse(topic.format, v) {
                Ok(s) => parsed.push(s),
                Err(e) => bad.push(diag(file, v, e, None)),
            }
        }
        if parsed.len() != topic.schemas.len() {
            continue;
        }
        let mut versions = Vec::new();
        let mut prev: Option<(String, Option<u32>)> = None; // subject and version of the entry before
        for (i, (v, s)) in topic.schemas.iter().zip(&parsed).enumerate() {
            let ty = s.schema_type();
            let subject = match subject_name(reg.subject_strategy, &topic.name, s) {
                Ok(x) => x,
                Err(e) => {
                    bad.push(diag(file, v, e, None));
                    break;
                }
            };
            let known = client.lookup(&subject, &v.text, ty)?;
            let id = match known {
                Some((id, version)) => {
                    prev = Some((subject.clone(), Some(version)));
                    Some(id)
                }
                None => {
                    let against = match &prev {
                        Some((p, Some(ver))) if *p == subject => Against::Version(ver.to_string()),
                        Some((p, None)) if *p == subject => Against::Unregistered(&topic.schemas[i - 1].text),
                        _ => Against::Latest,
                    };
                    if let Compatibility::Refused(why) = check(&client, &subject, v, ty, against)? {
                        let mut reason = if why.is_empty() { "no reason given".to_string() } else { why.join("; ") };
                        if let (Some(Parsed::Protobuf(before)), Parsed::Protobuf(now)) =
                            (i.checked_sub(1).map(|j| &parsed[j]), s)
                        {
                            let changes = now.changes_from(before);
                            if !changes.is_empty() {
                                reason.push_str(&format!(" (against the version before it: {})", changes.join("; ")));
                            }
                        }
                        bad.push(diag(
                            file,
                            v,
                            format!("the schema registry refuses this schema for subject `{subject}` as incompatible: {reason}"),
                            Some(format!(
                                "the subject's compatibility level is {}; change the schema ({}), or the level",
                                client.level(&subject)?.unwrap_or_else(|| "unknown".into()),
                                match ty {
                                    SchemaType::Avro => "e.g. give new fields a default",
                                    SchemaType::Protobuf => "e.g. keep every field's number and type, add fields with new numbers",
                                }
                            )),
                        ));
                        break;
                    }
                    match mode {
                        Mode::Register => {
                            let id = client.register(&subject, &v.text, ty)?;
                            let version = client.lookup(&subject, &v.text, ty)?.map(|(_, ver)| ver);
                            prev = Some((subject.clone(), version));
                            Some(id)
                        }
                        Mode::Check => {
                            prev = Some((subject.clone(), None));
                            None
                        }
                    }
                }
            };
            if let (Mode::Register, Some(id)) = (mode, id) {
                notes.push(format!("{} from timestep {}: subject {subject} id {id}", topic.alias, v.from_timestep));
            }
            versions.push(Version { from: v.from_timestep, id: id.unwrap_or(0), label: v.path.clone(), schema: () });
        }
        if mode == Mode::Register && bad.is_empty() {
            attach(topic, versions, parsed);
        }
    }
    if !bad.is_empty() {
        return Err(RegistryError::Schema(ConfigErrors(bad)));
    }
    Ok(notes)
}

/// What a new version is checked against.
enum Against<'a> {
    Latest,
    Version(String),
    /// The version before it in the scenario, not registered yet (`engine validate`).
    Unregistered(&'a str),
}

fn check(
    client: &Client,
    subject: &str,
    v: &SchemaVersion,
    ty: SchemaType,
    against: Against,
) -> Result<Compatibility, ClientError> {
    match against {
        Against::Latest => client.compatible(subject, "latest", &v.text, ty),
        Against::Version(ver) => client.compatible(subject, &ver, &v.text, ty),
        Against::Unregistered(before) => {
            // Ask the registry on a scratch subject with the same compatibility level, then remove it.
            let scratch = format!(
                "distroduce-validate-{}-{}-{subject}",
                std::process::id(),
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
            );
            let level = client.level(subject)?;
            let result = (|| {
                if let Some(l) = &level {
                    client.set_level(&scratch, l)?;
                }
                client.register(&scratch, before, ty)?;
                client.compatible(&scratch, "latest", &v.text, ty)
            })();
            let _ = client.delete_subject(&scratch);
            // The registry's reason names the subject it was asked about: the real one for the user.
            result.map(|c| match c {
                Compatibility::Refused(why) => {
                    Compatibility::Refused(why.into_iter().map(|w| w.replace(&scratch, subject)).collect())
                }
                ok => ok,
            })
        }
    }
}

fn subject_name(strategy: SubjectStrategy, topic: &str, s: &Parsed) -> Result<String, String> {
    let record = || {
        s.record_name()
            .ok_or_else(|| "the record subject strategies need a record schema (`\"type\": \"record\"`)".to_string())
    };
    Ok(match strategy {
        SubjectStrategy::Topic => format!("{topic}-value"),
        SubjectStrategy::Record => record()?,
        SubjectStrategy::TopicRecord => format!("{topic}-{}", record()?),
    })
}

fn diag(file: &Path, v: &SchemaVersion, message: String, hint: Option<String>) -> Diagnostic {
    Diagnostic { file: file.to_path_buf(), pos: v.pos, message: format!("{}: {message}", v.path), hint }
}

/// A schema version parsed for its format.
#[derive(Debug)]
enum Parsed {
    Avro(AvroSchema),
    Protobuf(ProtoSchema),
}

impl Parsed {
    fn parse(format: ValueFormat, v: &SchemaVersion) -> Result<Self, String> {
        match format {
            ValueFormat::Protobuf => ProtoSchema::parse(&v.text, v.message.as_deref())
                .map(Parsed::Protobuf)
                .map_err(|e| format!("not a valid Protobuf schema: {e}")),
            _ => AvroSchema::parse(&v.text).map(Parsed::Avro).map_err(|e| format!("not a valid Avro schema: {e}")),
        }
    }

    fn schema_type(&self) -> SchemaType {
        match self {
            Parsed::Avro(_) => SchemaType::Avro,
            Parsed::Protobuf(_) => SchemaType::Protobuf,
        }
    }

    /// The full name of the Avro record or Protobuf message (the record subject strategies).
    fn record_name(&self) -> Option<String> {
        match self {
            Parsed::Avro(s) => s.record_name(),
            Parsed::Protobuf(s) => Some(s.message.clone()),
        }
    }
}

fn attach(topic: &mut TopicPlan, versions: Vec<Version<()>>, parsed: Vec<Parsed>) {
    let mut avro = Vec::new();
    let mut proto = Vec::new();
    for (v, s) in versions.into_iter().zip(parsed) {
        match s {
            Parsed::Avro(s) => avro.push((v.from, v.id, v.label, s)),
            Parsed::Protobuf(s) => proto.push((v.from, v.id, v.label, s)),
        }
    }
    topic.encoder = Some(match topic.format {
        ValueFormat::Protobuf => Arc::new(ProtobufEncoder::new(proto)),
        _ => Arc::new(AvroEncoder::new(avro)),
    });
}

/// One registered schema version of a topic and the first timestep it applies to.
#[derive(Debug)]
pub struct Version<S> {
    pub from: u64,
    pub id: u32,
    pub label: String,
    pub schema: S,
}

/// A schema that encodes values (JSON) after the wire format's magic byte and schema id.
pub trait Datum: std::fmt::Debug + Send + Sync {
    /// What the value must fit, for errors (`the Avro schema`).
    fn what(&self) -> String;
    /// Append what follows the schema id (Protobuf: the message indexes, then the message).
    fn write(&self, v: &serde_json::Value, out: &mut Vec<u8>) -> Result<(), String>;
}

impl Datum for AvroSchema {
    fn what(&self) -> String {
        "the Avro schema".into()
    }
    fn write(&self, v: &serde_json::Value, out: &mut Vec<u8>) -> Result<(), String> {
        self.encode(v, out)
    }
}

impl Datum for ProtoSchema {
    fn what(&self) -> String {
        format!("the Protobuf message `{}`", self.message)
    }
    fn write(&self, v: &serde_json::Value, out: &mut Vec<u8>) -> Result<(), String> {
        out.extend_from_slice(self.index_bytes());
        self.encode(v, out)
    }
}

/// Confluent wire format (magic byte 0, the 4-byte big-endian schema id, the datum) with the
/// version in force at the message's timestep.
#[derive(Debug)]
pub struct Encoder<S> {
    versions: Vec<Version<S>>,
}

pub type AvroEncoder = Encoder<AvroSchema>;
pub type ProtobufEncoder = Encoder<ProtoSchema>;

impl<S> Encoder<S> {
    /// An encoder for schemas already registered: `(from_timestep, schema id, label, schema)` in
    /// the order they take effect (benchmarks and tests; runs get theirs from [`prepare`]).
    pub fn new(versions: Vec<(u64, u32, String, S)>) -> Self {
        Self {
            versions: versions
                .into_iter()
                .map(|(from, id, label, schema)| Version { from, id, label, schema })
                .collect(),
        }
    }
}

impl<S: Datum> ValueEncoder for Encoder<S> {
    fn encode(&self, value: &[u8], timestep: u64) -> Result<Vec<u8>, String> {
        let v = self.versions.iter().rev().find(|v| v.from <= timestep).unwrap_or(&self.versions[0]);
        let json = distroduce_model::value::json::to_json(value).map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(64);
        out.push(0);
        out.extend_from_slice(&v.id.to_be_bytes());
        v.schema.write(&json, &mut out).map_err(|e| {
            format!("the value does not fit {} ({}, registry id {}): {e}", v.schema.what(), v.label, v.id)
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_is_magic_byte_id_and_datum_by_timestep() {
        let s1 = r#"{"type":"record","name":"M","fields":[{"name":"a","type":"int"}]}"#;
        let s2 = r#"{"type":"record","name":"M","fields":[{"name":"a","type":"int"},{"name":"b","type":"string","default":"x"}]}"#;
        let v =
            |from, id, t: &str| Version { from, id, label: format!("v{id}"), schema: AvroSchema::parse(t).unwrap() };
        let enc = Encoder { versions: vec![v(0, 7, s1), v(5, 258, s2)] };
        let value = distroduce_model::value::json::from_json(&serde_json::json!({"a": 1}));
        assert_eq!(enc.encode(&value, 4).unwrap(), vec![0, 0, 0, 0, 7, 2]);
        assert_eq!(enc.encode(&value, 5).unwrap(), vec![0, 0, 0, 1, 2, 2, 2, b'x']);
        let bad = distroduce_model::value::json::from_json(&serde_json::json!({"a": "one"}));
        let e = enc.encode(&bad, 9).unwrap_err();
        assert_eq!(e, "the value does not fit the Avro schema (v258, registry id 258): field `a`: expected int (32-bit), got \"one\"");
    }

    #[test]
    fn protobuf_wire_format_is_magic_byte_id_message_indexes_and_message() {
        let proto = "syntax = \"proto3\";\nmessage A { int32 x = 1; }\nmessage B { int32 y = 1; }\n";
        let v = |name| ProtoSchema::parse(proto, Some(name)).unwrap();
        let enc = ProtobufEncoder::new(vec![(0, 7, "v7".into(), v("A")), (3, 9, "v9".into(), v("B"))]);
        let value = |j| distroduce_model::value::json::from_json(&j);
        assert_eq!(enc.encode(&value(serde_json::json!({"x": 1})), 2).unwrap(), vec![0, 0, 0, 0, 7, 0, 8, 1]);
        assert_eq!(enc.encode(&value(serde_json::json!({"y": 1})), 3).unwrap(), vec![0, 0, 0, 0, 9, 2, 2, 8, 1]);
        let e = enc.encode(&value(serde_json::json!({"x": 1})), 3).unwrap_err();
        assert_eq!(e, "the value does not fit the Protobuf message `B` (v9, registry id 9): field `x`: message `B` has no such field (its fields: y)");
    }

    #[test]
    fn subject_names_follow_the_strategies() {
        let s = Parsed::Avro(
            AvroSchema::parse(r#"{"type":"record","name":"Message","namespace":"chat","fields":[]}"#).unwrap(),
        );
        assert_eq!(subject_name(SubjectStrategy::Topic, "t", &s).unwrap(), "t-value");
        assert_eq!(subject_name(SubjectStrategy::Record, "t", &s).unwrap(), "chat.Message");
        assert_eq!(subject_name(SubjectStrategy::TopicRecord, "t", &s).unwrap(), "t-chat.Message");
        let plain = Parsed::Avro(AvroSchema::parse(r#""string""#).unwrap());
        assert!(subject_name(SubjectStrategy::Record, "t", &plain).is_err());
    }
}
