//! Expectations: what a correct downstream stream job must output, derived from the simulation's
//! own messages (its ground truth), and the contract between `engine run`, which computes them,
//! and `engine verify`, which checks a job's output topic against them.
//!
//! `engine run` writes one [`ExpectedRecord`] per (expectation, key, window) to `expected.jsonl`
//! in its output directory, sorted by expectation, key and window start.

pub mod compute;

use crate::plan::KeyTemplate;
use crate::types::AggregateKind;
use serde::{Deserialize, Serialize};

/// One compiled `expectations.<name>` entry of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    pub name: String,
    /// Index of the topic alias (`Model::kafka.topics`) whose messages are aggregated.
    pub from: usize,
    pub key: KeyTemplate,
    /// Tumbling event-time window; `None` gives one total per key.
    pub window_ms: Option<i64>,
    pub aggregate: AggregateKind,
    /// Dotted path of the numeric field read by sum/mean/min/max.
    pub field: Option<Vec<String>>,
    /// Index of the topic alias the expected records are also published to.
    pub oracle_topic: Option<usize>,
    pub output: Option<JobOutput>,
    pub tolerance: Tolerance,
}

/// How `engine verify` reads the results of the job under test.
#[derive(Debug, Clone, PartialEq)]
pub struct JobOutput {
    /// Kafka topic name.
    pub topic: String,
    pub key: Locator,
    pub window_start: Option<Locator>,
    pub value: Locator,
}

/// Where a datum is in a Kafka record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locator {
    /// The whole record key (as UTF-8 text).
    Key,
    /// The whole record value (as UTF-8 text, e.g. a plain number).
    Value,
    /// A field of the record key parsed as JSON.
    KeyField(Vec<String>),
    /// A field of the record value parsed as JSON.
    ValueField(Vec<String>),
}

impl Locator {
    /// Parse `key`, `value`, `key.a.b` or `value.a.b`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (head, rest) = match s.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (s, None),
        };
        let path = |r: &str| -> Result<Vec<String>, String> {
            let parts: Vec<String> = r.split('.').map(str::to_string).collect();
            if parts.iter().any(String::is_empty) {
                return Err(format!("`{s}` has an empty field name"));
            }
            Ok(parts)
        };
        match (head, rest) {
            ("key", None) => Ok(Locator::Key),
            ("value", None) => Ok(Locator::Value),
            ("key", Some(r)) => Ok(Locator::KeyField(path(r)?)),
            ("value", Some(r)) => Ok(Locator::ValueField(path(r)?)),
            _ => Err(format!("`{s}` is not `key`, `value`, `key.<field>` or `value.<field>`")),
        }
    }
}

impl std::fmt::Display for Locator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Locator::Key => f.write_str("key"),
            Locator::Value => f.write_str("value"),
            Locator::KeyField(p) => write!(f, "key.{}", p.join(".")),
            Locator::ValueField(p) => write!(f, "value.{}", p.join(".")),
        }
    }
}

/// A job's value passes if it is within `abs` of the expected value, or within `rel` times the
/// expected value's magnitude.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tolerance {
    pub abs: f64,
    pub rel: f64,
}

impl Tolerance {
    pub fn accepts(&self, expected: f64, actual: f64) -> bool {
        let diff = (expected - actual).abs();
        diff <= self.abs || diff <= self.rel * expected.abs()
    }
}

/// One line of `expected.jsonl`: the value a correct job outputs for one key and window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectedRecord {
    pub expectation: String,
    pub key: String,
    /// Window start and end (exclusive) in epoch milliseconds; null without a window.
    pub window_start: Option<i64>,
    pub window_end: Option<i64>,
    /// The aggregate: an integer for `count` (and for sum/min/max of integers), else a float.
    pub value: serde_json::Number,
    /// How many distinct messages the group had.
    pub messages: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_parse_and_print_back() {
        for s in ["key", "value", "key.room", "value.window.start"] {
            assert_eq!(Locator::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(Locator::parse("value.count").unwrap(), Locator::ValueField(vec!["count".into()]));
        assert!(Locator::parse("header.x").is_err());
        assert!(Locator::parse("value.").is_err());
        assert!(Locator::parse("value..a").is_err());
    }

    #[test]
    fn tolerance_is_absolute_or_relative() {
        let exact = Tolerance::default();
        assert!(exact.accepts(40.0, 40.0));
        assert!(!exact.accepts(40.0, 41.0));
        let t = Tolerance { abs: 0.5, rel: 0.01 };
        assert!(t.accepts(10.0, 10.4));
        assert!(!t.accepts(10.0, 10.6));
        assert!(t.accepts(1000.0, 1009.0));
        assert!(!t.accepts(1000.0, 1011.0));
    }
}
