//! The `kafka:` section → [`KafkaPlan`]: topics and their names, producer properties, security
//! and its secrets, pacing and warm-up. Split from [`super::compile`], which calls
//! [`compile_kafka`]; the rules are the same (every problem reported with its position).

use super::compile::parse_duration;
use super::scenario as raw;
use super::Reporter;
use distroduce_model::secret::{is_sensitive_property, SecretSource};
use distroduce_model::*;
use serde_json::Value as Json;
use std::path::Path;
use std::time::Duration;

pub(crate) fn compile_kafka(r: &mut Reporter, k: &raw::KafkaConfig, clock: &Clock, base: &Path) -> KafkaPlan {
    let mut topics = Vec::new();
    for (alias, t) in &k.topics {
        let path = format!("kafka.topics.{alias}");
        if t.partitions < 1 {
            r.at(&format!("{path}.partitions"), "a topic needs at least 1 partition", None);
        } else if t.partitions > crate::limits::MAX_PARTITIONS {
            let limit = crate::limits::MAX_PARTITIONS;
            r.at(
                &format!("{path}.partitions"),
                format!("{} partitions is more than the limit of {limit}", t.partitions),
                None,
            );
        }
        if t.replication < 1 {
            r.at(&format!("{path}.replication"), "the replication factor must be at least 1", None);
        }
        if let Some(p) = t.partition.filter(|p| *p < 0 || *p >= t.partitions) {
            r.at(
                &format!("{path}.partition"),
                format!(
                    "partition {p} does not exist: the topic has {} partitions (0..{})",
                    t.partitions,
                    t.partitions - 1
                ),
                None,
            );
        }
        let key = t.key.as_ref().and_then(|src| match KeyTemplate::parse(src) {
            Ok(k) => Some(k),
            Err(e) => {
                r.at(&format!("{path}.key"), e, "write fields as `{field}` or `{field.sub}`".to_string());
                None
            }
        });
        let name = t.name.clone().unwrap_or_else(|| alias.clone());
        if let Some(problem) = topic_name_problem(&name) {
            let hint = "Kafka topic names are 1 to 249 characters of a-z, A-Z, 0-9, `.`, `_` and `-`".to_string();
            match t.name {
                Some(_) => r.at(&format!("{path}.name"), problem, hint),
                None => r.at_key(&path, format!("{problem} (the alias is the topic name when `name` is absent)"), hint),
            }
        }
        topics.push(TopicPlan {
            alias: alias.clone(),
            name,
            partitions: t.partitions,
            replication: t.replication,
            format: t.format,
            key,
            headers: t.headers.iter().map(|(k, v)| (k.clone(), v.clone().into_bytes())).collect(),
            partition: t.partition,
            disorder: t
                .disorder
                .as_ref()
                .and_then(|d| super::compile_expect::compile_disorder(r, alias, d, clock, k.id_header)),
            schemas: super::compile_schema::compile_topic_schemas(r, alias, t, base),
            encoder: None,
        });
    }
    let (connection, mut secrets) = compile_security(r, k, base);
    let mut producer = Vec::new();
    for (key, v) in &k.producer {
        let value = match v {
            Json::String(s) => s.clone(),
            Json::Number(_) | Json::Bool(_) => v.to_string(),
            _ => {
                r.at(
                    &format!("kafka.producer.{key}"),
                    format!("producer property `{key}` must be a string, number or bool"),
                    None,
                );
                continue;
            }
        };
        if (k.tls.is_some() || k.sasl.is_some()) && is_connection_property(key) {
            r.at_key(
                &format!("kafka.producer.{key}"),
                format!(
                    "`{key}` under `kafka.producer` conflicts with `kafka.tls`/`kafka.sasl`, which set the connection"
                ),
                "set the connection in one place: remove it here, or drop `kafka.tls`/`kafka.sasl`".to_string(),
            );
        }
        if is_sensitive_property(key) {
            // Kept out of `producer`, which is shown (bench cells, debug output); never printed.
            secrets.push((key.clone(), SecretSource::Inline(value)));
        } else {
            producer.push((key.clone(), value));
        }
    }
    let records_topic = k.records_topic.as_ref().and_then(|alias| {
        let i = topics.iter().position(|t| &t.alias == alias);
        if i.is_none() {
            r.at(
                "kafka.records_topic",
                format!("`records_topic` names `{alias}`, which `kafka.topics` does not declare"),
                "declare it under `kafka.topics`".to_string(),
            );
        }
        i
    });
    if let Some(rate) = k.rate.filter(|r| !(r.is_finite() && *r > 0.0)) {
        r.at("kafka.rate", format!("`rate` must be a positive number of messages per second, not {rate}"), None);
    }
    let warmup = match &k.warmup {
        Some(w) => parse_duration(r, "kafka.warmup", w).unwrap_or_default(),
        None => Duration::ZERO,
    };
    KafkaPlan {
        brokers: k.brokers.clone(),
        topics,
        producer,
        connection,
        secrets,
        records_topic,
        id_header: k.id_header,
        rate: k.rate,
        warmup,
        timestamps: k.timestamps,
        transactions: Default::default(),
        transactional_id_prefix: String::new(),
        schema_registry: None,
    }
}

/// librdkafka properties that say how to reach and authenticate to the cluster.
pub fn is_connection_property(key: &str) -> bool {
    key == "security.protocol"
        || key.starts_with("sasl.")
        || key.starts_with("ssl.")
        || key == "ssl_key"
        || key == "enable.ssl.certificate.verification"
}

/// Credentials by librdkafka property.
type Secrets = Vec<(String, SecretSource)>;

/// `kafka.tls` and `kafka.sasl` as librdkafka properties; every env var and file they name is
/// checked now (at its position), but only where the secret comes from is kept.
fn compile_security(r: &mut Reporter, k: &raw::KafkaConfig, base: &Path) -> (Vec<(String, String)>, Secrets) {
    let mut conn = Vec::new();
    let mut secrets = Vec::new();
    let protocol = match (&k.tls, &k.sasl) {
        (None, None) => return (conn, secrets),
        (Some(_), None) => "SSL",
        (None, Some(_)) => "SASL_PLAINTEXT",
        (Some(_), Some(_)) => "SASL_SSL",
    };
    conn.push(("security.protocol".to_string(), protocol.to_string()));
    if let Some(tls) = &k.tls {
        if let Some(ca) = &tls.ca {
            let path = base.join(ca);
            match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => {}
                Ok(_) => r.at("kafka.tls.ca", format!("the CA certificate {} is not a file", path.display()), None),
                Err(e) => r.at(
                    "kafka.tls.ca",
                    format!("cannot read the CA certificate {}: {e}", path.display()),
                    "give a PEM file, relative to the scenario file".to_string(),
                ),
            }
            conn.push(("ssl.ca.location".to_string(), path.display().to_string()));
        }
        if !tls.verify {
            conn.push(("enable.ssl.certificate.verification".to_string(), "false".to_string()));
            conn.push(("ssl.endpoint.identification.algorithm".to_string(), "none".to_string()));
        }
    }
    if let Some(sasl) = &k.sasl {
        conn.push(("sasl.mechanism".to_string(), sasl.mechanism.as_str().to_string()));
        for (field, secret) in [("username", &sasl.username), ("password", &sasl.password)] {
            if let Some(src) = compile_secret(r, &format!("kafka.sasl.{field}"), secret, base) {
                secrets.push((format!("sasl.{field}"), src));
            }
        }
    }
    (conn, secrets)
}

/// Where a secret comes from, after checking that it can be read (its value is dropped).
fn compile_secret(r: &mut Reporter, path: &str, s: &raw::Secret, base: &Path) -> Option<SecretSource> {
    let (src, at) = match s {
        raw::Secret::Value(v) => (SecretSource::Inline(v.clone()), path.to_string()),
        raw::Secret::Env(e) => (SecretSource::Env(e.env.clone()), format!("{path}.env")),
        raw::Secret::File(f) => (SecretSource::File(base.join(&f.file)), format!("{path}.file")),
    };
    match src.resolve() {
        Ok(_) => Some(src),
        Err(e) => {
            let hint = match s {
                raw::Secret::Env(_) => "export the variable before running the engine, or use `{file: PATH}`",
                raw::Secret::File(_) => "the path is relative to the scenario file; the file holds only the secret",
                raw::Secret::Value(_) => "give the value, `{env: VARIABLE}` or `{file: PATH}`",
            };
            r.at(&at, format!("`{path}`: {e}"), hint.to_string());
            None
        }
    }
}

/// Why Kafka would refuse `name` as a topic name (its own rule: 1 to 249 characters of
/// `[a-zA-Z0-9._-]`, and not `.` or `..`), if it would.
pub fn topic_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("the topic name is empty".into());
    }
    if name == "." || name == ".." {
        return Some(format!("`{name}` cannot be a Kafka topic name"));
    }
    if name.len() > 249 {
        return Some(format!("the topic name is {} characters long; Kafka allows at most 249", name.len()));
    }
    name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))).map(|c| {
        format!("the topic name `{}` contains {c:?}, which Kafka does not allow in topic names", name.escape_debug())
    })
}
