//! Scenario files: parse ([`scenario`]), locate ([`span`]), check and compile into a
//! [`crate::model::Model`] ([`compile`]). Every problem found is reported at once, each with the
//! `file:line:col` it comes from and what to do about it.

pub mod compile;
pub mod compile_expect;
pub mod expect;
pub mod scenario;
pub mod span;
pub mod sweep;

use span::Pos;
use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in a scenario, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub pos: Option<Pos>,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(f, "{}:{}:{}: {}", self.file.display(), p.line, p.col, self.message)?,
            None => write!(f, "{}: {}", self.file.display(), self.message)?,
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// All problems found in a scenario.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigErrors(pub Vec<Diagnostic>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "error: {d}")?;
        }
        Ok(())
    }
}

/// Collects diagnostics for one file, resolving YAML paths to positions.
pub struct Reporter<'a> {
    pub file: &'a Path,
    pub spans: &'a span::SpanIndex,
    pub diags: Vec<Diagnostic>,
}

impl<'a> Reporter<'a> {
    pub fn new(file: &'a Path, spans: &'a span::SpanIndex) -> Self {
        Self { file, spans, diags: Vec::new() }
    }

    /// An error about the value at `path`.
    pub fn at(&mut self, path: &str, message: impl Into<String>, hint: impl Into<Option<String>>) {
        let pos = self.spans.value(path);
        self.push(pos, message, hint);
    }

    /// An error about the mapping key that ends `path`.
    pub fn at_key(&mut self, path: &str, message: impl Into<String>, hint: impl Into<Option<String>>) {
        let pos = self.spans.key(path);
        self.push(pos, message, hint);
    }

    pub fn push(&mut self, pos: Option<Pos>, message: impl Into<String>, hint: impl Into<Option<String>>) {
        self.diags.push(Diagnostic { file: self.file.to_path_buf(), pos, message: message.into(), hint: hint.into() });
    }
}

/// Read a YAML file; an unreadable file is a diagnostic with `hint`.
pub fn read_source(path: &Path, what: &str, hint: &str) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![Diagnostic {
            file: path.to_path_buf(),
            pos: None,
            message: format!("cannot read {what}: {e}"),
            hint: Some(hint.into()),
        }])
    })
}

/// Deserialize YAML into typed config; serde_yaml's error becomes a positioned diagnostic (it
/// appends " at line L column C" to messages, which we print up front instead).
pub fn parse_yaml<T: serde::de::DeserializeOwned>(path: &Path, src: &str, hint: &str) -> Result<T, ConfigErrors> {
    serde_yaml::from_str(src).map_err(|e| {
        let pos = e.location().map(|l| Pos { line: l.line(), col: l.column() });
        let msg = e.to_string();
        let message = msg.rfind(" at line ").map_or(msg.as_str(), |i| &msg[..i]).to_string();
        ConfigErrors(vec![Diagnostic { file: path.to_path_buf(), pos, message, hint: Some(hint.into()) }])
    })
}

/// Read, parse and compile a scenario file.
pub fn load(path: &Path) -> Result<crate::model::Model, ConfigErrors> {
    let src = read_source(path, "scenario", "check the path; scenarios live under scenarios/")?;
    load_str(path, &src)
}

/// Parse and compile scenario text; `path` is used for messages and relative plugin paths.
pub fn load_str(path: &Path, src: &str) -> Result<crate::model::Model, ConfigErrors> {
    let raw: scenario::Scenario = parse_yaml(path, src, "see `engine schema` for every field and its type")?;
    let spans = span::SpanIndex::build(src);
    compile::compile(path, &spans, raw)
}

/// The JSON Schema of scenario files, generated from the config types.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(scenario::Scenario)).unwrap_or_default()
}
