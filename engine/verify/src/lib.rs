//! `engine verify`: check a stream job's output topic(s) against the expectations that
//! `engine run` derived from the simulation's ground truth (`expected.jsonl`), and say, per key
//! and window, what is missing, unexpected or wrong.
//!
//! ```text
//! engine verify SCENARIO [--expected FILE] [--out DIR] [--brokers B] [--wait 60s] [--settle 3s]
//!                        [--report FILE.json] [--only NAME]... [--consumer PROP=VALUE]...
//! ```
//!
//! * `SCENARIO`: the scenario `engine run` ran; its `expectations.<name>.output` say where each
//!   job writes its results and how to read them, `tolerance` how close a value must be.
//! * `--expected FILE`: the expected records (default `<out>/expected.jsonl`, where `<out>` is
//!   `--out`, else the scenario's `output.dir`, else `out/<scenario name>`, as for `engine run`).
//! * `--brokers`: Kafka bootstrap servers (default: the scenario's `kafka.brokers`). The
//!   scenario's `kafka.producer` settings for `security.protocol`, `sasl.*` and `ssl.*` are reused
//!   for the consumer; `--consumer PROP=VALUE` sets any librdkafka consumer property on top.
//! * `--wait`: the longest verify reads (default 60s); `--settle`: how long nothing new must
//!   arrive once every expected record matched (default 3s). Verify stops as soon as every
//!   expected record matches, every partition was read to its end and `--settle` passed in quiet;
//!   otherwise at `--wait`, so a job that never writes a window fails instead of hanging CI.
//! * `--only NAME`: verify only these expectations (repeat, or separate with commas).
//! * `--report FILE.json`: also write the report as JSON (schema below).
//! * `-v`: a progress line every 5 s.
//!
//! Topics are read from the beginning of every partition under a fresh consumer group that never
//! commits, so verify can be rerun and never moves a real group. A topic that does not exist yet
//! is waited for (the job may create it late).
//!
//! # Reading the job's records
//!
//! Each record gives (key, window start, value) through the expectation's locators: `key` /
//! `value` (the whole record key or value as text) or `key.<path>` / `value.<path>` (a field of a
//! JSON key or value). Keys may be strings or numbers; window starts epoch milliseconds (a number
//! or a string of digits) or RFC 3339 text (`2019-10-03T00:00:10.000Z`, `2019-10-03T00:00:10Z`,
//! an offset like `+02:00`, or no zone for UTC); values a number, or a JSON string holding one.
//! The job's output is a changelog: for each (key, window) the last record read is the job's
//! answer (and how many it wrote is reported); a record without a value (tombstone) deletes its
//! (key, window) if its key says which one. A record that cannot be read is *unreadable*, listed
//! with its partition, offset, the reason and its raw key and value.
//!
//! # Verdicts
//!
//! Per (expectation, key, window start): **ok** (the value is within the tolerance), **mismatched**
//! (it is not: expected, actual and their difference are shown), **missing** (expected, never
//! written), **unexpected** (written, not expected). Printed on stdout, one block per
//! expectation and one line per problem, then a summary line:
//!
//! ```text
//! expectation room_counts (topic room-counts): 34 ok, 0 missing, 0 unexpected, 2 mismatched, 0 unreadable (52 records read)
//!   mismatched  room_1 [2019-10-03T00:00:10Z, 00:00:20Z)  -expected 40  +actual 41  (difference +1, 3 updates)
//!   mismatched  room_1 [2019-10-03T00:00:20Z, 00:00:30Z)  -expected 38  +actual 37  (difference -1)
//! verify FAILED: 34 ok, 0 missing, 0 unexpected, 2 mismatched, 0 unreadable (stopped waiting after 60.0s)
//! ```
//!
//! # Exit codes
//!
//! 0: every expected record matched, nothing unexpected or unreadable. 1: verification failed.
//! 2: verify could not run: a bad scenario or flag, an expectation without `output`, the
//! expected file missing or malformed, Kafka unreachable, the report not writable.
//!
//! # JSON report (`--report`), schema version 1
//!
//! ```text
//! {
//!   "version": 1,
//!   "passed": false,                        // exit code 0 iff true
//!   "scenario": "scenarios/chat-windows.yaml", "expected_file": "out/cw/expected.jsonl",
//!   "brokers": "127.0.0.1:19092",
//!   "stopped": "settled" | "wait_elapsed",
//!   "waited_seconds": 60.01,
//!   "counts": {"ok": 34, "missing": 0, "unexpected": 0, "mismatched": 2, "unreadable": 0},
//!   "expectations": [{
//!     "name": "room_counts", "topic": "room-counts",
//!     "records_read": 52,                   // every record consumed, updates included
//!     "topic_found": true,
//!     "counts": {...},                      // as above, for this expectation
//!     "results": [{                         // every expected or seen (key, window), ok ones too,
//!       "status": "ok" | "missing" | "unexpected" | "mismatched",   // sorted by key, window
//!       "key": "room_1",
//!       "window_start": 1570060810000, "window_end": 1570060820000,   // epoch ms, null if unwindowed
//!       "window": "[2019-10-03T00:00:10Z, 00:00:20Z)",
//!       "expected": 40, "actual": 41,       // null when absent; numbers as written
//!       "difference": 1.0,                  // actual - expected, null unless both
//!       "updates": 3,                       // records the job wrote for this key and window
//!       "partition": 0, "offset": 17        // of the last of them; null if none
//!     }],
//!     "unreadable": [{"partition": 0, "offset": 5, "reason": "the record value is not JSON (...)",
//!                     "key": "room_1", "value": "{oops"}]   // first 1000; raw text cut to 200 chars
//!   }]
//! }
//! ```

mod command;
mod consume;
pub mod extract;
pub mod matching;
pub mod report;
pub mod time;

pub use command::{parse_prop, verify, VerifyArgs};
pub use report::{Counts, ExpectationReport, Outcome, Report, Status, Stopped, Unreadable};

use distroduce_model::expect::{Expectation, ExpectedRecord};
use distroduce_scenario::ConfigErrors;
use std::path::PathBuf;
use std::time::Duration;

/// How to reach the job's output and how long to wait for it.
#[derive(Debug, Clone)]
pub struct Settings {
    pub brokers: String,
    /// librdkafka consumer properties, applied last.
    pub consumer: Vec<(String, String)>,
    /// Credentials by librdkafka property, read when the consumer is created (never shown).
    pub secrets: Vec<(String, distroduce_model::secret::SecretSource)>,
    pub wait: Duration,
    pub settle: Duration,
}

impl Settings {
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            consumer: Vec::new(),
            secrets: Vec::new(),
            wait: Duration::from_secs(60),
            settle: Duration::from_secs(3),
        }
    }
}

/// Why verify could not give a verdict (exit code 2). A failed verification is not an error:
/// it is a [`Report`] with `passed: false`.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    #[error("{}: {message}\n  hint: {hint}", .path.display())]
    Expected { path: PathBuf, message: String, hint: String },
    #[error("{0}")]
    Usage(String),
    #[error("cannot reach Kafka at {brokers}: {message}\n  hint: check --brokers (or kafka.brokers in the scenario) and that the cluster is up")]
    Unreachable { brokers: String, message: String },
    #[error("Kafka: {0}")]
    Kafka(String),
    /// The cluster refused the credentials or the TLS handshake (retrying cannot help).
    #[error("cannot connect to Kafka at {brokers}: {message}\n  hint: check kafka.sasl and kafka.tls in the scenario (or --consumer settings)")]
    Refused { brokers: String, message: String },
    #[error("cannot write the report {}: {source}", .path.display())]
    WriteReport { path: PathBuf, source: std::io::Error },
}

impl VerifyError {
    /// Always 2: 1 is reserved for "verified, and the job is wrong".
    pub fn exit_code(&self) -> i32 {
        2
    }
}

/// Verify `expectations` (each with an `output`) against `expected`, reading the job's topics
/// through `settings`. The library form of `engine verify`, without a scenario file.
pub fn run(
    expectations: &[Expectation],
    expected: &[ExpectedRecord],
    settings: &Settings,
) -> Result<Report, VerifyError> {
    for e in expectations {
        match &e.output {
            None => return Err(VerifyError::Usage(format!("expectation `{}` has no `output` to read", e.name))),
            Some(o) if e.window_ms.is_some() && o.window_start.is_none() => {
                return Err(VerifyError::Usage(format!(
                    "expectation `{}` has a window, but its output has no `window_start`",
                    e.name
                )))
            }
            Some(_) => {}
        }
    }
    let mut matcher = matching::Matcher::new(expectations, expected).map_err(VerifyError::Usage)?;
    let consumed = consume::consume(&mut matcher, settings)?;
    let mut exps = matcher.finish();
    let mut counts = Counts::default();
    for (e, found) in exps.iter_mut().zip(consumed.topic_found) {
        e.topic_found = found;
        counts.sum(&e.counts);
    }
    Ok(Report {
        version: 1,
        passed: counts.failures() == 0,
        scenario: None,
        expected_file: None,
        brokers: settings.brokers.clone(),
        stopped: consumed.stopped,
        waited_seconds: consumed.waited.as_secs_f64(),
        counts,
        expectations: exps,
    })
}
