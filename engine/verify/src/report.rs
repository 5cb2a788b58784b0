//! The verdict of `engine verify`: the types of the JSON report (schema version 1, documented in
//! the module docs of [`crate`]) and its rendering for people.

use super::time::{clip, format_ms};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// Problem lines printed per expectation and kind; the JSON report has them all.
const MAX_LINES: usize = 50;

/// The whole report: `--report FILE.json` is this type as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Schema version of this report, 1; bumped on any incompatible change.
    pub version: u32,
    /// No missing, unexpected, mismatched or unreadable records.
    pub passed: bool,
    pub scenario: Option<String>,
    pub expected_file: Option<String>,
    pub brokers: String,
    /// Why consuming stopped.
    pub stopped: Stopped,
    /// From the start of `engine verify` until it stopped consuming.
    pub waited_seconds: f64,
    /// Over every expectation.
    pub counts: Counts,
    pub expectations: Vec<ExpectationReport>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stopped {
    /// Every expected record matched and nothing new arrived for `--settle`.
    Settled,
    /// `--wait` elapsed first.
    WaitElapsed,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub ok: u64,
    pub missing: u64,
    pub unexpected: u64,
    pub mismatched: u64,
    pub unreadable: u64,
}

impl Counts {
    pub fn add(&mut self, s: Status) {
        match s {
            Status::Ok => self.ok += 1,
            Status::Missing => self.missing += 1,
            Status::Unexpected => self.unexpected += 1,
            Status::Mismatched => self.mismatched += 1,
        }
    }

    pub fn sum(&mut self, o: &Counts) {
        self.ok += o.ok;
        self.missing += o.missing;
        self.unexpected += o.unexpected;
        self.mismatched += o.mismatched;
        self.unreadable += o.unreadable;
    }

    pub fn failures(&self) -> u64 {
        self.missing + self.unexpected + self.mismatched + self.unreadable
    }
}

/// One expectation: every (key, window) that was expected or seen, and the unreadable records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectationReport {
    pub name: String,
    pub topic: String,
    /// Records consumed from the topic (every update, readable or not).
    pub records_read: u64,
    /// False when the topic did not exist before `--wait` elapsed.
    pub topic_found: bool,
    pub counts: Counts,
    /// Sorted by key, then window start; `ok` ones included.
    pub results: Vec<Outcome>,
    /// The first 1000 unreadable records (`counts.unreadable` counts them all).
    pub unreadable: Vec<Unreadable>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// Expected, never seen (or deleted by a tombstone).
    Missing,
    /// Seen, not expected.
    Unexpected,
    /// Seen with a value beyond the tolerance.
    Mismatched,
}

/// One (key, window) of one expectation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub status: Status,
    pub key: String,
    /// Epoch milliseconds; null for an expectation without windows.
    pub window_start: Option<i64>,
    pub window_end: Option<i64>,
    /// `[2019-10-03T00:00:10Z, 00:00:20Z)`, as printed.
    pub window: Option<String>,
    pub expected: Option<serde_json::Number>,
    /// The job's last value for this key and window.
    pub actual: Option<serde_json::Number>,
    /// `actual - expected`.
    pub difference: Option<f64>,
    /// How many records the job wrote for this key and window.
    pub updates: u64,
    /// Where the last of them is.
    pub partition: Option<i32>,
    pub offset: Option<i64>,
}

/// A record whose key, window or value could not be read with the expectation's locators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unreadable {
    pub partition: i32,
    pub offset: i64,
    pub reason: String,
    /// The raw key and value, lossily decoded and cut to 200 characters; null when absent.
    pub key: Option<String>,
    pub value: Option<String>,
}

/// The report for people: one block per expectation, one line per problem, a summary line last.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    for e in &r.expectations {
        let c = &e.counts;
        let _ = writeln!(
            s,
            "expectation {} (topic {}): {} ok, {} missing, {} unexpected, {} mismatched, {} unreadable ({} records read)",
            e.name, e.topic, c.ok, c.missing, c.unexpected, c.mismatched, c.unreadable, e.records_read
        );
        if !e.topic_found {
            let _ = writeln!(s, "  topic {} does not exist: the job wrote nothing", e.topic);
        }
        for status in [Status::Mismatched, Status::Missing, Status::Unexpected] {
            let of_kind: Vec<&Outcome> = e.results.iter().filter(|o| o.status == status).collect();
            for o in of_kind.iter().take(MAX_LINES) {
                let _ = writeln!(s, "  {}", problem_line(o));
            }
            if of_kind.len() > MAX_LINES {
                let _ = writeln!(s, "  ... and {} more {} (see --report)", of_kind.len() - MAX_LINES, name(status));
            }
        }
        for u in e.unreadable.iter().take(MAX_LINES) {
            let raw = |v: &Option<String>| v.as_deref().map_or("(none)".to_string(), |t| format!("{:?}", clip(t, 80)));
            let _ = writeln!(
                s,
                "  unreadable  partition {} offset {}: {}; key {} value {}",
                u.partition,
                u.offset,
                u.reason,
                raw(&u.key),
                raw(&u.value)
            );
        }
        if c.unreadable > MAX_LINES as u64 {
            let _ = writeln!(s, "  ... and {} more unreadable (see --report)", c.unreadable - MAX_LINES as u64);
        }
    }
    let c = &r.counts;
    let verdict = if r.passed { "PASSED" } else { "FAILED" };
    let how = match r.stopped {
        Stopped::Settled => "settled",
        Stopped::WaitElapsed => "stopped waiting",
    };
    let _ = writeln!(
        s,
        "verify {verdict}: {} ok, {} missing, {} unexpected, {} mismatched, {} unreadable ({how} after {:.1}s)",
        c.ok, c.missing, c.unexpected, c.mismatched, c.unreadable, r.waited_seconds
    );
    s
}

fn name(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::Missing => "missing",
        Status::Unexpected => "unexpected",
        Status::Mismatched => "mismatched",
    }
}

/// `mismatched  room_1 [2019-10-03T00:00:10Z, 00:00:20Z)  -expected 40  +actual 41  (difference +1, 3 updates)`
fn problem_line(o: &Outcome) -> String {
    let mut line = format!("{:<11} {}", name(o.status), o.key);
    match (&o.window, o.window_start) {
        (Some(w), _) => line += &format!(" {w}"),
        (None, Some(ws)) => line += &format!(" [{}, ?)", format_ms(ws)),
        (None, None) => {}
    }
    if let Some(x) = &o.expected {
        line += &format!("  -expected {x}");
    }
    if let Some(a) = &o.actual {
        line += &format!("  +actual {a}");
    }
    let mut notes = Vec::new();
    if let Some(d) = o.difference {
        notes.push(format!("difference {d:+}"));
    }
    if o.updates > 1 {
        notes.push(format!("{} updates", o.updates));
    }
    if !notes.is_empty() {
        line += &format!("  ({})", notes.join(", "));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: Status, expected: Option<i64>, actual: Option<i64>, updates: u64) -> Outcome {
        Outcome {
            status,
            key: "room_1".into(),
            window_start: Some(1_570_060_810_000),
            window_end: Some(1_570_060_820_000),
            window: Some("[2019-10-03T00:00:10Z, 00:00:20Z)".into()),
            expected: expected.map(Into::into),
            actual: actual.map(Into::into),
            difference: expected.zip(actual).map(|(x, a)| (a - x) as f64),
            updates,
            partition: Some(0),
            offset: Some(3),
        }
    }

    #[test]
    fn problem_lines_read_like_a_diff() {
        assert_eq!(
            problem_line(&outcome(Status::Mismatched, Some(40), Some(41), 3)),
            "mismatched  room_1 [2019-10-03T00:00:10Z, 00:00:20Z)  -expected 40  +actual 41  (difference +1, 3 updates)"
        );
        assert_eq!(
            problem_line(&outcome(Status::Missing, Some(40), None, 0)),
            "missing     room_1 [2019-10-03T00:00:10Z, 00:00:20Z)  -expected 40"
        );
        assert_eq!(
            problem_line(&outcome(Status::Unexpected, None, Some(2), 1)),
            "unexpected  room_1 [2019-10-03T00:00:10Z, 00:00:20Z)  +actual 2"
        );
    }

    #[test]
    fn the_summary_line_says_the_verdict_and_counts() {
        let mut e = ExpectationReport {
            name: "rooms".into(),
            topic: "room-counts".into(),
            records_read: 5,
            topic_found: true,
            counts: Counts { ok: 1, mismatched: 1, ..Counts::default() },
            results: vec![outcome(Status::Ok, Some(1), Some(1), 1), outcome(Status::Mismatched, Some(40), Some(41), 1)],
            unreadable: vec![],
        };
        let mut r = Report {
            version: 1,
            passed: false,
            scenario: None,
            expected_file: None,
            brokers: "b".into(),
            stopped: Stopped::WaitElapsed,
            waited_seconds: 60.04,
            counts: e.counts,
            expectations: vec![e.clone()],
        };
        let text = render(&r);
        assert!(text.starts_with("expectation rooms (topic room-counts): 1 ok, 0 missing"), "{text}");
        assert_eq!(text.lines().count(), 3, "ok records are not listed: {text}");
        assert!(text.ends_with(
            "verify FAILED: 1 ok, 0 missing, 0 unexpected, 1 mismatched, 0 unreadable (stopped waiting after 60.0s)\n"
        ));
        e.results = (0..60).map(|_| outcome(Status::Missing, Some(1), None, 0)).collect();
        r.expectations = vec![e];
        assert!(render(&r).contains("  ... and 10 more missing (see --report)"));
    }
}
