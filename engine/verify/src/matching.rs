//! Matching what a job wrote against what it should have written, by (expectation, key, window
//! start). Job outputs are changelogs: a later record for the same key and window replaces the
//! earlier one (its count of updates is kept for the report), and a tombstone deletes it. The
//! matcher knows nothing of Kafka, so every rule here is unit-tested without a broker.

use super::extract::{Num, Reading, Record};
use super::report::{Counts, ExpectationReport, Outcome, Status, Unreadable};
use super::time::{clip, format_range};
use distroduce_model::expect::{Expectation, ExpectedRecord, JobOutput, Tolerance};
use std::collections::BTreeMap;

/// Unreadable records kept with their details per expectation; more are only counted, so that a
/// topic full of garbage cannot exhaust memory.
const MAX_UNREADABLE_KEPT: usize = 1000;
/// Characters of a raw key or value quoted in the report.
const RAW_CHARS: usize = 200;

type Slot = (String, Option<i64>);

/// Where a record was in the topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub partition: i32,
    pub offset: i64,
}

struct Expected {
    value: Num,
    window_end: Option<i64>,
}

/// The job's current answer for one key and window.
struct Actual {
    /// `None` once a tombstone deleted it.
    value: Option<Num>,
    updates: u64,
    last: Position,
}

/// The state of one expectation while its topic is read.
struct ExpState {
    name: String,
    output: JobOutput,
    window_ms: Option<i64>,
    tolerance: Tolerance,
    expected: BTreeMap<Slot, Expected>,
    actual: BTreeMap<Slot, Actual>,
    /// Expected slots whose current actual value is within tolerance; kept up to date per record
    /// so that "is everything matched yet" is O(1) while consuming.
    matched: usize,
    records: u64,
    unreadable: Vec<Unreadable>,
    unreadable_count: u64,
}

impl ExpState {
    fn is_match(&self, slot: &Slot) -> bool {
        match (self.expected.get(slot), self.actual.get(slot).and_then(|a| a.value.as_ref())) {
            (Some(e), Some(a)) => self.tolerance.accepts(e.value.f, a.f),
            _ => false,
        }
    }
}

/// All expectations being verified.
pub struct Matcher {
    exps: Vec<ExpState>,
}

impl Matcher {
    /// `expected` must only name expectations in `expectations` (checked by the caller); each
    /// expectation must have an `output`.
    pub fn new(expectations: &[Expectation], expected: &[ExpectedRecord]) -> Result<Self, String> {
        let mut exps = Vec::with_capacity(expectations.len());
        for e in expectations {
            let output = e.output.clone().ok_or_else(|| format!("expectation `{}` has no `output`", e.name))?;
            exps.push(ExpState {
                name: e.name.clone(),
                output,
                window_ms: e.window_ms,
                tolerance: e.tolerance,
                expected: BTreeMap::new(),
                actual: BTreeMap::new(),
                matched: 0,
                records: 0,
                unreadable: Vec::new(),
                unreadable_count: 0,
            });
        }
        for (line, r) in expected.iter().enumerate() {
            let e = exps.iter_mut().find(|e| e.name == r.expectation).ok_or_else(|| {
                format!("expected record {} names an unknown expectation `{}`", line + 1, r.expectation)
            })?;
            let value = Num::from_json(&r.value)
                .ok_or_else(|| format!("expected record {} has a value that is not a finite number", line + 1))?;
            let slot = (r.key.clone(), r.window_start);
            let end = r.window_end.or_else(|| r.window_start.zip(e.window_ms).map(|(s, w)| s + w));
            if e.expected.insert(slot, Expected { value, window_end: end }).is_some() {
                return Err(format!(
                    "expected record {} repeats key `{}` and window {:?} of expectation `{}`",
                    line + 1,
                    r.key,
                    r.window_start,
                    r.expectation
                ));
            }
        }
        Ok(Self { exps })
    }

    /// The output (topic and locators) of expectation `i`.
    pub fn output(&self, i: usize) -> &JobOutput {
        &self.exps[i].output
    }

    /// How many expectations.
    pub fn count(&self) -> usize {
        self.exps.len()
    }

    /// Take one record of expectation `i`'s topic into account.
    pub fn observe(&mut self, i: usize, key: Option<&[u8]>, value: Option<&[u8]>, at: Position) {
        let e = &mut self.exps[i];
        e.records += 1;
        let reading = Record::new(key, value).read(&e.output, e.window_ms.is_some());
        let Reading { key: k, window_start, value: v } = match reading {
            Ok(r) => r,
            Err(reason) => {
                e.unreadable_count += 1;
                if e.unreadable.len() < MAX_UNREADABLE_KEPT {
                    let raw = |b: Option<&[u8]>| b.map(|b| clip(&String::from_utf8_lossy(b), RAW_CHARS));
                    e.unreadable.push(Unreadable {
                        partition: at.partition,
                        offset: at.offset,
                        reason,
                        key: raw(key),
                        value: raw(value),
                    });
                }
                return;
            }
        };
        let slot = (k, window_start);
        let was = e.is_match(&slot);
        let a = e.actual.entry(slot.clone()).or_insert(Actual { value: None, updates: 0, last: at });
        a.value = v;
        a.updates += 1;
        a.last = at;
        let now = e.is_match(&slot);
        e.matched = e.matched + usize::from(now) - usize::from(was);
    }

    /// Every expected record has a matching value now.
    pub fn all_matched(&self) -> bool {
        self.exps.iter().all(|e| e.matched == e.expected.len())
    }

    /// (matched, expected) over all expectations, for progress lines.
    pub fn progress(&self) -> (usize, usize) {
        self.exps.iter().fold((0, 0), |(m, n), e| (m + e.matched, n + e.expected.len()))
    }

    pub fn records(&self) -> u64 {
        self.exps.iter().map(|e| e.records).sum()
    }

    /// The verdict per expectation: every expected and every seen (key, window), sorted by key
    /// and window start.
    pub fn finish(self) -> Vec<ExpectationReport> {
        self.exps.into_iter().map(finish_one).collect()
    }
}

fn finish_one(e: ExpState) -> ExpectationReport {
    let mut results = Vec::new();
    let mut counts = Counts { unreadable: e.unreadable_count, ..Counts::default() };
    let mut slots: Vec<&Slot> = e.expected.keys().chain(e.actual.keys()).collect();
    slots.sort();
    slots.dedup();
    for slot in slots {
        let exp = e.expected.get(slot);
        let act = e.actual.get(slot);
        let actual = act.and_then(|a| a.value.as_ref());
        let status = match (exp, actual) {
            (Some(x), Some(a)) if e.tolerance.accepts(x.value.f, a.f) => Status::Ok,
            (Some(_), Some(_)) => Status::Mismatched,
            (Some(_), None) => Status::Missing,
            (None, Some(_)) => Status::Unexpected,
            // Written, then deleted by a tombstone, and not expected: nothing to report.
            (None, None) => continue,
        };
        counts.add(status);
        let window_end = exp.and_then(|x| x.window_end).or_else(|| slot.1.zip(e.window_ms).map(|(s, w)| s + w));
        results.push(Outcome {
            status,
            key: slot.0.clone(),
            window_start: slot.1,
            window_end,
            window: slot.1.map(|s| format_range(s, window_end)),
            expected: exp.map(|x| x.value.json.clone()),
            actual: actual.map(|a| a.json.clone()),
            difference: exp.zip(actual).map(|(x, a)| a.f - x.value.f),
            updates: act.map_or(0, |a| a.updates),
            partition: act.map(|a| a.last.partition),
            offset: act.map(|a| a.last.offset),
        });
    }
    ExpectationReport {
        name: e.name,
        topic: e.output.topic,
        records_read: e.records,
        counts,
        topic_found: true,
        results,
        unreadable: e.unreadable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use distroduce_model::expect::Locator;
    use distroduce_model::types::AggregateKind;
    use distroduce_model::KeyTemplate;

    const T0: i64 = 1_570_060_800_000;

    fn expectation(tolerance: Tolerance) -> Expectation {
        Expectation {
            name: "rooms".into(),
            from: 0,
            key: KeyTemplate { source: "{room}".into(), parts: vec![] },
            window_ms: Some(10_000),
            aggregate: AggregateKind::Count,
            field: None,
            oracle_topic: None,
            output: Some(JobOutput {
                topic: "t".into(),
                key: Locator::Key,
                window_start: Some(Locator::ValueField(vec!["ws".into()])),
                value: Locator::ValueField(vec!["n".into()]),
            }),
            tolerance,
        }
    }

    fn exp(key: &str, w: i64, v: serde_json::Value) -> ExpectedRecord {
        ExpectedRecord {
            expectation: "rooms".into(),
            key: key.into(),
            window_start: Some(T0 + w * 10_000),
            window_end: Some(T0 + (w + 1) * 10_000),
            value: serde_json::from_value(v).unwrap(),
            messages: 0,
        }
    }

    fn put(m: &mut Matcher, key: &str, w: i64, v: &str, offset: i64) {
        let value = format!(r#"{{"ws": {}, "n": {v}}}"#, T0 + w * 10_000);
        m.observe(0, Some(key.as_bytes()), Some(value.as_bytes()), Position { partition: 0, offset });
    }

    fn statuses(r: &ExpectationReport) -> Vec<(String, Status)> {
        r.results.iter().map(|o| (format!("{}@{}", o.key, o.window_start.unwrap() - T0), o.status)).collect()
    }

    #[test]
    fn each_kind_of_difference_is_classified() {
        let e = expectation(Tolerance::default());
        let expected = [exp("a", 0, 3.into()), exp("a", 1, 4.into()), exp("b", 0, 5.into()), exp("b", 1, 1.into())];
        let mut m = Matcher::new(&[e], &expected).unwrap();
        put(&mut m, "a", 0, "3", 0);
        put(&mut m, "a", 1, "5", 1);
        put(&mut m, "b", 0, "5", 2);
        put(&mut m, "c", 0, "1", 3);
        assert!(!m.all_matched());
        assert_eq!(m.progress(), (2, 4));
        let r = m.finish().remove(0);
        use Status::*;
        let want = [("a@0", Ok), ("a@10000", Mismatched), ("b@0", Ok), ("b@10000", Missing), ("c@0", Unexpected)];
        assert_eq!(statuses(&r), want.map(|(k, s)| (k.to_string(), s)));
        assert_eq!(r.counts, Counts { ok: 2, missing: 1, unexpected: 1, mismatched: 1, unreadable: 0 });
        let mism = &r.results[1];
        assert_eq!(
            (mism.expected.as_ref().unwrap().to_string(), mism.actual.as_ref().unwrap().to_string()),
            ("4".into(), "5".into())
        );
        assert_eq!(mism.difference, Some(1.0));
        assert_eq!(mism.window.as_deref(), Some("[2019-10-03T00:00:10Z, 00:00:20Z)"));
    }

    #[test]
    fn the_last_update_of_a_window_wins_and_updates_are_counted() {
        let mut m = Matcher::new(&[expectation(Tolerance::default())], &[exp("a", 0, 3.into())]).unwrap();
        put(&mut m, "a", 0, "1", 0);
        put(&mut m, "a", 0, "3", 1);
        assert!(m.all_matched());
        put(&mut m, "a", 0, "4", 2);
        assert!(!m.all_matched(), "a later wrong update un-matches");
        put(&mut m, "a", 0, "3", 3);
        assert!(m.all_matched());
        let r = m.finish().remove(0);
        assert_eq!((r.results[0].status, r.results[0].updates, r.results[0].offset), (Status::Ok, 4, Some(3)));
        assert_eq!(r.records_read, 4);
    }

    #[test]
    fn tolerance_applies_to_floats() {
        let t = Tolerance { abs: 0.01, rel: 0.0 };
        let mut m = Matcher::new(&[expectation(t)], &[exp("a", 0, 2.5.into()), exp("a", 1, 2.5.into())]).unwrap();
        put(&mut m, "a", 0, "2.505", 0);
        put(&mut m, "a", 1, "2.52", 1);
        let r = m.finish().remove(0);
        assert_eq!(r.results.iter().map(|o| o.status).collect::<Vec<_>>(), [Status::Ok, Status::Mismatched]);
    }

    #[test]
    fn unreadable_records_are_kept_with_position_and_raw_text() {
        let mut m = Matcher::new(&[expectation(Tolerance::default())], &[]).unwrap();
        m.observe(0, Some(b"a"), Some(b"{oops"), Position { partition: 2, offset: 7 });
        let r = m.finish().remove(0);
        assert_eq!(r.counts.unreadable, 1);
        let u = &r.unreadable[0];
        assert_eq!((u.partition, u.offset, u.key.as_deref(), u.value.as_deref()), (2, 7, Some("a"), Some("{oops")));
        assert!(u.reason.contains("not JSON"), "{}", u.reason);
    }

    #[test]
    fn a_tombstone_deletes_a_window() {
        let mut e = expectation(Tolerance::default());
        e.output = Some(JobOutput {
            topic: "t".into(),
            key: Locator::KeyField(vec!["room".into()]),
            window_start: Some(Locator::KeyField(vec!["ws".into()])),
            value: Locator::Value,
        });
        let mut m = Matcher::new(&[e], &[exp("a", 0, 1.into())]).unwrap();
        let key = format!(r#"{{"room":"a","ws":{T0}}}"#);
        let key2 = format!(r#"{{"room":"z","ws":{T0}}}"#);
        let at = Position { partition: 0, offset: 0 };
        m.observe(0, Some(key.as_bytes()), Some(b"1"), at);
        m.observe(0, Some(key2.as_bytes()), Some(b"1"), at);
        m.observe(0, Some(key2.as_bytes()), None, at);
        assert!(m.all_matched());
        m.observe(0, Some(key.as_bytes()), None, at);
        assert!(!m.all_matched());
        let r = m.finish().remove(0);
        assert_eq!(statuses(&r), [("a@0".to_string(), Status::Missing)], "the deleted unexpected window is gone");
    }

    #[test]
    fn bad_expected_files_are_rejected() {
        let e = expectation(Tolerance::default());
        let mut other = exp("a", 0, 1.into());
        other.expectation = "nope".into();
        assert!(Matcher::new(std::slice::from_ref(&e), &[other]).err().unwrap().contains("unknown expectation `nope`"));
        let twice = [exp("a", 0, 1.into()), exp("a", 0, 2.into())];
        assert!(Matcher::new(std::slice::from_ref(&e), &twice).err().unwrap().contains("repeats key `a`"));
    }
}
