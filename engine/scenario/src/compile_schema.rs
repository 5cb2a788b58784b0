//! `format: avro` and `format: protobuf`: a topic's `schema` or `schemas` (evolution at
//! timesteps), its `message` (Protobuf) and `kafka.schema_registry`. Checked here as far as a file
//! can be checked without the registry: the schemas are read (files relative to the scenario), an
//! Avro schema must be JSON, the versions must start at timestep 0 and go forward. Whether they are
//! valid Avro or Protobuf and compatible with each other is for `distroduce-registry` and the
//! registry, asked at `engine validate` and before a run.

use super::scenario as raw;
use super::Reporter;
use distroduce_model::plan::{RegistryPlan, SchemaVersion};
use distroduce_model::types::ValueFormat;
use std::path::Path;

/// The schema versions of topic `alias` (empty unless `format: avro` or `protobuf`).
pub fn compile_topic_schemas(r: &mut Reporter, alias: &str, t: &raw::TopicConfig, base: &Path) -> Vec<SchemaVersion> {
    let path = format!("kafka.topics.{alias}");
    let fmt = t.format.name();
    if t.message.is_some() && t.format != ValueFormat::Protobuf {
        r.at_key(
            &format!("{path}.message"),
            format!("`message` applies to `format: protobuf` only (topic `{alias}` is `{fmt}`)"),
            "set `format: protobuf`, or remove it".to_string(),
        );
    }
    if !t.format.uses_registry() {
        for (field, present) in [("schema", t.schema.is_some()), ("schemas", t.schemas.is_some())] {
            if present {
                r.at_key(
                    &format!("{path}.{field}"),
                    format!("`{field}` applies to `format: avro` and `protobuf` only (topic `{alias}` is `{fmt}`)"),
                    "set `format: avro` or `format: protobuf`, or remove it".to_string(),
                );
            }
        }
        return Vec::new();
    }
    let entries: Vec<(u64, &raw::SchemaSource, String)> = match (&t.schema, &t.schemas) {
        (Some(s), None) => vec![(0, s, format!("{path}.schema"))],
        (None, Some(list)) => {
            list.iter().enumerate().map(|(i, e)| (e.from_timestep, &e.schema, format!("{path}.schemas[{i}]"))).collect()
        }
        (Some(_), Some(_)) => {
            r.at_key(
                &format!("{path}.schemas"),
                "give either `schema` or `schemas`, not both",
                "`schemas` lists every version with its `from_timestep`; put the first one there".to_string(),
            );
            return Vec::new();
        }
        (None, None) => {
            r.at_key(
                &format!("{path}.format"),
                format!("topic `{alias}` has `format: {fmt}` but no `schema`"),
                format!(
                    "add `schema: {{file: my.{}}}` (or inline), or `schemas: [{{from_timestep: 0, schema: ...}}]`",
                    if t.format == ValueFormat::Avro { "avsc" } else { "proto" }
                ),
            );
            return Vec::new();
        }
    };
    if entries.is_empty() {
        r.at(&format!("{path}.schemas"), "`schemas` is empty", "list at least one schema, from timestep 0".to_string());
    }
    let mut out = Vec::new();
    let mut prev: Option<u64> = None;
    for (from, src, entry_path) in entries {
        if prev.is_none() && from != 0 {
            r.at(
                &format!("{entry_path}.from_timestep"),
                format!("the first schema must apply from timestep 0, not {from}"),
                "messages of every timestep need a schema".to_string(),
            );
        }
        if let Some(p) = prev.filter(|p| from <= *p) {
            r.at(
                &format!("{entry_path}.from_timestep"),
                format!("`from_timestep: {from}` must be after the previous version's ({p})"),
                "list the versions in the order they take effect".to_string(),
            );
        }
        prev = Some(from);
        if let Some(text) = schema_text(r, src, &entry_path, base, t.format) {
            let pos = r.spans.value(&entry_path);
            out.push(SchemaVersion { from_timestep: from, text, path: entry_path, pos, message: t.message.clone() });
        }
    }
    out
}

/// The schema's text, read from its file if it is one; a diagnostic if an Avro schema is not JSON.
fn schema_text(r: &mut Reporter, src: &raw::SchemaSource, path: &str, base: &Path, fmt: ValueFormat) -> Option<String> {
    let avro = fmt == ValueFormat::Avro;
    match src {
        raw::SchemaSource::File(f) => {
            let full = base.join(&f.file);
            let text = match distroduce_model::files::read_capped_string(&full, crate::limits::MAX_SCHEMA_FILE_BYTES) {
                Ok(t) => t,
                Err(e) => {
                    r.at(
                        &format!("{path}.file"),
                        format!("cannot read schema file {}: {e}", full.display()),
                        "paths are relative to the scenario file".to_string(),
                    );
                    return None;
                }
            };
            if let (true, Err(e)) = (avro, serde_json::from_str::<serde_json::Value>(&text)) {
                r.at(&format!("{path}.file"), format!("schema file {} is not JSON: {e}", full.display()), None);
                return None;
            }
            Some(text)
        }
        raw::SchemaSource::Inline(serde_json::Value::String(s)) if !avro => Some(s.clone()),
        raw::SchemaSource::Inline(_) if !avro => {
            r.at(
                path,
                "a `.proto` schema is text, not a YAML map or list",
                "write it as a YAML string (a `|` block), or `{file: PATH}`".to_string(),
            );
            None
        }
        // JSON text in a YAML string (e.g. `schema: '"string"'` or a block scalar).
        raw::SchemaSource::Inline(serde_json::Value::String(s)) => match serde_json::from_str::<serde_json::Value>(s) {
            Ok(_) => Some(s.clone()),
            Err(e) => {
                r.at(
                    path,
                    format!("the schema text is not JSON: {e}"),
                    "write the schema as a YAML map, as JSON text, or `{file: PATH}`".to_string(),
                );
                None
            }
        },
        raw::SchemaSource::Inline(v) => Some(v.to_string()),
    }
}

/// `kafka.schema_registry`, with `--schema-registry` taking its URL's place. Reports a topic of
/// format `needs` (Avro or Protobuf) with no registry to register in.
pub fn compile_registry(
    r: &mut Reporter,
    k: &raw::KafkaConfig,
    flag_url: Option<&str>,
    needs: Option<ValueFormat>,
) -> Option<RegistryPlan> {
    let strategy = k.schema_registry.as_ref().map(|c| c.subject_strategy).unwrap_or_default();
    let url = flag_url.map(str::to_string).or_else(|| k.schema_registry.as_ref().map(|c| c.url.clone()));
    let Some(url) = url else {
        if let Some(f) = needs {
            r.at_key(
                "kafka",
                format!("a topic has `format: {}` but no schema registry is configured", f.name()),
                "add `kafka.schema_registry: {url: http://127.0.0.1:18081/apis/ccompat/v7}` or pass `--schema-registry URL` (scripts/schema-registry start prints one)".to_string(),
            );
        }
        return None;
    };
    if !url.starts_with("http://") {
        let msg =
            format!("schema registry URL `{url}` must start with `http://` (HTTPS registries are not supported yet)");
        match flag_url {
            Some(_) => r.at_flag("--schema-registry", msg, None),
            None => r.at("kafka.schema_registry.url", msg, None),
        }
    }
    Some(RegistryPlan { url: url.trim_end_matches('/').to_string(), subject_strategy: strategy })
}
