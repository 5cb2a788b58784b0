//! The Confluent Schema Registry REST API calls the engine makes (Confluent's registry, Apicurio's
//! `/apis/ccompat/v7`, Karapace, Redpanda all serve them).

use crate::http::{request, HttpError};
use serde_json::{json, Value as Json};
use std::time::Duration;

/// A registry error: it could not be reached, or it answered with an error status.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the schema registry answered {method} {url} with HTTP {status}: {body}")]
    Status { method: &'static str, url: String, status: u16, body: String },
}

/// The registry's verdict on a candidate schema.
pub enum Compatibility {
    /// Compatible, or the subject has no version yet.
    Ok,
    /// Incompatible, with the registry's reasons.
    Refused(Vec<String>),
}

/// The registry's `schemaType` of a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaType {
    Avro,
    Protobuf,
}

pub struct Client {
    pub url: String,
    timeout: Duration,
}

impl Client {
    pub fn new(url: &str) -> Self {
        Self { url: url.trim_end_matches('/').to_string(), timeout: Duration::from_secs(30) }
    }

    fn call(&self, method: &'static str, path: &str, body: Option<&Json>) -> Result<(u16, Json), ClientError> {
        let url = format!("{}{path}", self.url);
        let text = body.map(|b| b.to_string());
        // A server error is retried twice: every call here is idempotent (registering a schema
        // again returns its id), and a registry under concurrent writes can fail one transiently
        // (Apicurio on H2: a table lock timeout).
        let mut attempt = 0;
        let r = loop {
            let r = request(method, &url, text.as_deref(), self.timeout)?;
            if r.status < 500 || attempt == 2 {
                break r;
            }
            attempt += 1;
            std::thread::sleep(Duration::from_millis(300 * attempt));
        };
        let parsed = serde_json::from_str(&r.body).unwrap_or(Json::String(r.body.clone()));
        if r.status >= 400 && r.status != 404 {
            return Err(ClientError::Status { method, url, status: r.status, body: r.body });
        }
        Ok((r.status, parsed))
    }

    /// The id and version of `schema` if it is already registered under `subject`.
    pub fn lookup(&self, subject: &str, schema: &str, ty: SchemaType) -> Result<Option<(u32, u32)>, ClientError> {
        let (status, v) = self.call("POST", &format!("/subjects/{subject}"), Some(&body(schema, ty)))?;
        Ok(match status {
            404 => None,
            _ => Some((num(&v, "id")?, num(&v, "version")?)),
        })
    }

    /// Register `schema` under `subject`; its id.
    ///
    /// Two writers registering the first version of one subject at once (shards of one run, or
    /// two runs sharing a record-named subject) can make Apicurio answer 409 "already exists" to
    /// the loser: then the schema is looked up, and registered again once if it is not there.
    pub fn register(&self, subject: &str, schema: &str, ty: SchemaType) -> Result<u32, ClientError> {
        let path = format!("/subjects/{subject}/versions");
        let (status, v) = match self.call("POST", &path, Some(&body(schema, ty))) {
            Err(ClientError::Status { status: 409, .. }) => {
                if let Some((id, _)) = self.lookup(subject, schema, ty)? {
                    return Ok(id);
                }
                self.call("POST", &path, Some(&body(schema, ty)))?
            }
            other => other?,
        };
        if status == 404 {
            return Err(self.not_found("POST", &path, &v));
        }
        num(&v, "id")
    }

    /// `POST /compatibility/subjects/{subject}/versions/{version}?verbose=true`.
    pub fn compatible(
        &self,
        subject: &str,
        version: &str,
        schema: &str,
        ty: SchemaType,
    ) -> Result<Compatibility, ClientError> {
        let path = format!("/compatibility/subjects/{subject}/versions/{version}?verbose=true");
        let (status, v) = self.call("POST", &path, Some(&body(schema, ty)))?;
        if status == 404 {
            return Ok(Compatibility::Ok); // no version to be compatible with
        }
        match v.get("is_compatible").and_then(Json::as_bool) {
            Some(true) => Ok(Compatibility::Ok),
            Some(false) => {
                // Confluent's registry lists `messages`; Apicurio's gives one `reason`.
                let mut why: Vec<String> = v.get("messages").and_then(Json::as_array).map_or_else(Vec::new, |m| {
                    m.iter().map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string())).collect()
                });
                why.extend(v.get("reason").and_then(Json::as_str).map(str::to_string));
                Ok(Compatibility::Refused(why))
            }
            None => Err(ClientError::Status {
                method: "POST",
                url: format!("{}{path}", self.url),
                status,
                body: v.to_string(),
            }),
        }
    }

    /// The compatibility level that applies to `subject` (its own, else the global one).
    pub fn level(&self, subject: &str) -> Result<Option<String>, ClientError> {
        let pick = |v: &Json| {
            v.get("compatibilityLevel").or_else(|| v.get("compatibility")).and_then(Json::as_str).map(str::to_string)
        };
        // Apicurio answers NONE for a subject without a level of its own, even with a global level:
        // NONE (which refuses nothing) falls back to the global level.
        let (status, v) = self.call("GET", &format!("/config/{subject}?defaultToGlobal=true"), None)?;
        if status != 404 {
            if let Some(l) = pick(&v).filter(|l| l != "NONE") {
                return Ok(Some(l));
            }
        }
        let (_, v) = self.call("GET", "/config", None)?;
        Ok(pick(&v))
    }

    pub fn set_level(&self, subject: &str, level: &str) -> Result<(), ClientError> {
        self.call("PUT", &format!("/config/{subject}"), Some(&json!({"compatibility": level}))).map(drop)
    }

    /// Delete a subject for good (soft, then permanent, as the API requires).
    pub fn delete_subject(&self, subject: &str) -> Result<(), ClientError> {
        self.call("DELETE", &format!("/subjects/{subject}"), None)?;
        self.call("DELETE", &format!("/subjects/{subject}?permanent=true"), None).map(drop)
    }

    fn not_found(&self, method: &'static str, path: &str, v: &Json) -> ClientError {
        ClientError::Status { method, url: format!("{}{path}", self.url), status: 404, body: v.to_string() }
    }
}

fn body(schema: &str, ty: SchemaType) -> Json {
    let ty = match ty {
        SchemaType::Avro => "AVRO",
        SchemaType::Protobuf => "PROTOBUF",
    };
    json!({"schema": schema, "schemaType": ty})
}

fn num(v: &Json, key: &str) -> Result<u32, ClientError> {
    v.get(key).and_then(Json::as_u64).and_then(|n| u32::try_from(n).ok()).ok_or_else(|| ClientError::Status {
        method: "POST",
        url: String::new(),
        status: 200,
        body: format!("no `{key}` in the reply: {v}"),
    })
}
