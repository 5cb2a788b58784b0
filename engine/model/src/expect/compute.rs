//! How `engine run` computes expected records: each job folds the messages it emitted (before any
//! disorder, so each distinct message once) into per-group accumulators ([`JobGroups`]); the run
//! folds the jobs' [`Partial`]s in job order into [`Totals`]. Because the fold order is the job
//! order, float sums are the same bytes whatever the thread count, and `engine merge` folding the
//! shards' partials (`expected.partial.jsonl`) in job order gets exactly a local run's totals.

use super::{Expectation, ExpectedRecord};
use crate::message::OutMessage;
use crate::plan::KeyPart;
use crate::types::agg_name;
use crate::types::AggregateKind;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// A number as read from a message: integers stay integers (sum/min/max of integers print as
/// integers); floats are stored by their bits in partial files so they round-trip exactly.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum N {
    #[serde(rename = "i")]
    Int(i64),
    #[serde(rename = "f", with = "f64_bits")]
    Float(f64),
}

mod f64_bits {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(v.to_bits())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        u64::deserialize(d).map(f64::from_bits)
    }
}

impl N {
    fn f(self) -> f64 {
        match self {
            N::Int(i) => i as f64,
            N::Float(f) => f,
        }
    }
    fn add(self, o: N) -> N {
        match (self, o) {
            (N::Int(a), N::Int(b)) => a.checked_add(b).map_or(N::Float(a as f64 + b as f64), N::Int),
            _ => N::Float(self.f() + o.f()),
        }
    }
    fn number(self) -> serde_json::Number {
        match self {
            N::Int(i) => i.into(),
            N::Float(f) => float_number(f),
        }
    }
}

fn float_number(f: f64) -> serde_json::Number {
    serde_json::Number::from_f64(f).unwrap_or_else(|| 0.into())
}

/// One group's accumulator. `sum`, `min`, `max` stay `None` for `count`, which reads no field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Acc {
    pub count: u64,
    pub sum: Option<N>,
    pub min: Option<N>,
    pub max: Option<N>,
}

impl Acc {
    fn add(&mut self, x: Option<N>) {
        self.count += 1;
        if let Some(x) = x {
            self.merge(&Acc { count: 0, sum: Some(x), min: Some(x), max: Some(x) });
        }
    }
    /// Fold `o` into `self` (the order is part of the result for float sums).
    fn merge(&mut self, o: &Acc) {
        self.count += o.count;
        let pick = |a: Option<N>, b: Option<N>, keep_a: fn(f64, f64) -> bool| match (a, b) {
            (Some(a), Some(b)) => Some(if keep_a(a.f(), b.f()) { a } else { b }),
            (a, b) => a.or(b),
        };
        self.sum = match (self.sum, o.sum) {
            (Some(a), Some(b)) => Some(a.add(b)),
            (a, b) => a.or(b),
        };
        self.min = pick(self.min, o.min, |a, b| a <= b);
        self.max = pick(self.max, o.max, |a, b| a >= b);
    }
}

/// One job's groups: (expectation index, key, window start) -> accumulator.
#[derive(Debug, Default)]
pub struct JobGroups {
    pub groups: BTreeMap<(usize, String, Option<i64>), Acc>,
}

impl JobGroups {
    /// Add one emitted message to every expectation that reads its topic. An unreadable message
    /// is an error naming the expectation (the caller adds the job and timestep).
    pub fn add(&mut self, exps: &[Expectation], m: &OutMessage) -> Result<(), String> {
        let mut value: Option<Json> = None;
        for (i, e) in exps.iter().enumerate().filter(|(_, e)| e.from == m.topic) {
            if value.is_none() {
                value = Some(serde_json::from_slice(&m.value).map_err(|err| {
                    format!("expectation `{}`: the message value is not JSON ({err}): {}", e.name, preview(&m.value))
                })?);
            }
            let Some(v) = value.as_ref() else { continue };
            let key = render_key(e, v)?;
            let window_start = e.window_ms.map(|w| m.event_time_ms.unwrap_or(0).div_euclid(w) * w);
            let x = match &e.field {
                None => None,
                Some(path) => Some(read_number(v, path).ok_or_else(|| {
                    format!(
                        "expectation `{}` ({}): the message has no numeric field `{}`: {}",
                        e.name,
                        agg_name(e.aggregate),
                        path.join("."),
                        preview(&m.value)
                    )
                })?),
            };
            self.groups.entry((i, key, window_start)).or_default().add(x);
        }
        Ok(())
    }

    /// This job's groups as partials, in (expectation, key, window) order.
    pub fn into_partials(self, exps: &[Expectation], job: usize) -> Vec<Partial> {
        self.groups
            .into_iter()
            .map(|((i, key, window_start), acc)| Partial {
                job,
                expectation: exps[i].name.clone(),
                aggregate: exps[i].aggregate,
                window_ms: exps[i].window_ms,
                key,
                window_start,
                acc,
            })
            .collect()
    }
}

fn preview(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.chars().count() > 200 {
        format!("{}…", s.chars().take(200).collect::<String>())
    } else {
        s.into_owned()
    }
}

fn lookup<'a>(v: &'a Json, path: &[String]) -> Option<&'a Json> {
    path.iter().try_fold(v, |v, name| v.get(name))
}

fn read_number(v: &Json, path: &[String]) -> Option<N> {
    let x = lookup(v, path)?;
    x.as_i64().map(N::Int).or_else(|| x.as_f64().map(N::Float))
}

/// The group key, rendered like a topic key template: strings as they are, anything else as JSON.
fn render_key(e: &Expectation, v: &Json) -> Result<String, String> {
    let mut out = String::new();
    for part in &e.key.parts {
        match part {
            KeyPart::Text(t) => out.push_str(t),
            KeyPart::Field(path) => match lookup(v, path) {
                Some(Json::String(s)) => out.push_str(s),
                Some(x) => out.push_str(&x.to_string()),
                None => {
                    return Err(format!(
                        "expectation `{}`: key `{}`: the message has no field `{}`: {}",
                        e.name,
                        e.key.source,
                        path.join("."),
                        v
                    ))
                }
            },
        }
    }
    Ok(out)
}

/// One job's accumulator for one group: a line of `expected.partial.jsonl` (shard runs), which
/// carries everything `engine merge` needs without the scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    /// The job's position in cadCAD order (`JobId::index`).
    pub job: usize,
    pub expectation: String,
    pub aggregate: AggregateKind,
    pub window_ms: Option<i64>,
    pub key: String,
    pub window_start: Option<i64>,
    pub acc: Acc,
}

/// (expectation name, key, window start).
type GroupId = (String, String, Option<i64>);

/// The whole run's groups, keyed (expectation name, key, window start): the order of
/// `expected.jsonl`.
#[derive(Debug, Default)]
pub struct Totals {
    groups: BTreeMap<GroupId, (AggregateKind, Option<i64>, Acc)>,
}

impl Totals {
    /// Fold partials; callers pass them in job order.
    pub fn add(&mut self, p: &Partial) {
        let e = self.groups.entry((p.expectation.clone(), p.key.clone(), p.window_start)).or_insert((
            p.aggregate,
            p.window_ms,
            Acc::default(),
        ));
        e.2.merge(&p.acc);
    }

    pub fn records(&self) -> Vec<ExpectedRecord> {
        self.groups
            .iter()
            .map(|((name, key, ws), (agg, w, acc))| ExpectedRecord {
                expectation: name.clone(),
                key: key.clone(),
                window_start: *ws,
                window_end: ws.zip(*w).map(|(s, w)| s + w),
                value: match agg {
                    AggregateKind::Count => acc.count.into(),
                    AggregateKind::Sum => acc.sum.map_or(0.into(), N::number),
                    AggregateKind::Mean => float_number(acc.sum.map_or(0.0, N::f) / acc.count.max(1) as f64),
                    AggregateKind::Min => acc.min.map_or(0.into(), N::number),
                    AggregateKind::Max => acc.max.map_or(0.into(), N::number),
                },
                messages: acc.count,
            })
            .collect()
    }
}

/// Write records as JSON lines.
pub fn write_jsonl<T: Serialize>(path: &std::path::Path, items: &[T]) -> std::io::Result<()> {
    let mut text = Vec::new();
    for r in items {
        serde_json::to_writer(&mut text, r).map_err(std::io::Error::other)?;
        text.push(b'\n');
    }
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::KeyTemplate;

    fn exp(name: &str, agg: AggregateKind, field: Option<&str>) -> Expectation {
        Expectation {
            name: name.into(),
            from: 0,
            key: KeyTemplate::parse("{room}").unwrap(),
            window_ms: Some(10_000),
            aggregate: agg,
            field: field.map(|f| f.split('.').map(str::to_string).collect()),
            oracle_topic: None,
            output: None,
            tolerance: Default::default(),
        }
    }

    fn msg(value: &str, t: i64) -> OutMessage {
        OutMessage {
            topic: 0,
            key: None,
            value: value.as_bytes().to_vec(),
            headers: vec![],
            partition: None,
            event_time_ms: Some(t),
            meta: Default::default(),
        }
    }

    #[test]
    fn groups_by_key_and_tumbling_window_and_keeps_integers_integral() {
        let exps = [
            exp("c", AggregateKind::Count, None),
            exp("s", AggregateKind::Sum, Some("n")),
            exp("m", AggregateKind::Mean, Some("n")),
            exp("x", AggregateKind::Max, Some("n")),
        ];
        let mut j = JobGroups::default();
        for (v, t) in
            [(r#"{"room":"a","n":1}"#, 0), (r#"{"room":"a","n":2}"#, 9_999), (r#"{"room":"a","n":4}"#, 10_000)]
        {
            j.add(&exps, &msg(v, t)).unwrap();
        }
        let mut tot = Totals::default();
        j.into_partials(&exps, 0).iter().for_each(|p| tot.add(p));
        let got: Vec<String> = tot
            .records()
            .iter()
            .map(|r| {
                format!(
                    "{} {} {:?}-{:?} {} {}",
                    r.expectation, r.key, r.window_start, r.window_end, r.value, r.messages
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                "c a Some(0)-Some(10000) 2 2",
                "c a Some(10000)-Some(20000) 1 1",
                "m a Some(0)-Some(10000) 1.5 2",
                "m a Some(10000)-Some(20000) 4.0 1",
                "s a Some(0)-Some(10000) 3 2",
                "s a Some(10000)-Some(20000) 4 1",
                "x a Some(0)-Some(10000) 2 2",
                "x a Some(10000)-Some(20000) 4 1",
            ]
        );
    }

    #[test]
    fn unreadable_messages_name_the_expectation() {
        let exps = [exp("temps", AggregateKind::Sum, Some("reading.t"))];
        let mut j = JobGroups::default();
        let e = j.add(&exps, &msg(r#"{"room":"a","reading":{"t":"hot"}}"#, 0)).unwrap_err();
        assert!(e.contains("expectation `temps`") && e.contains("numeric field `reading.t`"), "{e}");
        let e = j.add(&exps, &msg(r#"{"n":1}"#, 0)).unwrap_err();
        assert!(e.contains("no field `room`"), "{e}");
    }

    #[test]
    fn partials_round_trip_floats_exactly() {
        let p = Partial {
            job: 3,
            expectation: "e".into(),
            aggregate: AggregateKind::Sum,
            window_ms: None,
            key: "k".into(),
            window_start: None,
            acc: Acc { count: 1, sum: Some(N::Float(0.1 + 0.2)), min: Some(N::Int(-4)), max: None },
        };
        let back: Partial = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }
}
