//! Compile the stream-verification sections of a scenario: `kafka.topics.*.disorder` into
//! [`Disorder`] and `expectations` into [`Expectation`]s. Every problem is reported at its position
//! with what to do, like the rest of [`super::compile`].

use super::expect::{AggregateKind, DisorderConfig, ExpectationConfig, ToleranceConfig};
use super::Reporter;
use distroduce_model::expect::{Expectation, JobOutput, Locator, Tolerance};
use distroduce_model::types::agg_name;
use distroduce_model::{Clock, Disorder, KeyTemplate, TopicPlan};
use indexmap::IndexMap;

/// A duration in event-time milliseconds, or `None` after reporting why it cannot be read.
fn event_ms(r: &mut Reporter, path: &str, s: &str) -> Option<i64> {
    match humantime::parse_duration(s) {
        Ok(d) => Some(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        Err(e) => {
            r.at(path, format!("cannot read `{s}` as a duration: {e}"), "write e.g. `15s`, `500ms`, `1m`".to_string());
            None
        }
    }
}

fn fraction(r: &mut Reporter, path: &str, f: f64) -> f64 {
    if !(0.0..=1.0).contains(&f) {
        r.at(
            path,
            format!("a fraction must be between 0 and 1, not {f}"),
            "e.g. `0.05` for 5% of messages".to_string(),
        );
        return 0.0;
    }
    f
}

/// `kafka.topics.<alias>.disorder`. Delays are in event time, so they need a clock that moves;
/// duplicates are only useful to a job that can recognise them, which needs `kafka.id_header`.
pub fn compile_disorder(
    r: &mut Reporter,
    alias: &str,
    d: &DisorderConfig,
    clock: &Clock,
    id_header: bool,
) -> Option<Disorder> {
    let path = format!("kafka.topics.{alias}.disorder");
    let frozen_hint = || {
        "delays are measured on the virtual clock, which does not move with `clock.step: 0s`; set e.g. `clock: {step: 1s}`"
            .to_string()
    };
    let late = d.late.as_ref().and_then(|l| {
        let f = fraction(r, &format!("{path}.late.fraction"), l.fraction);
        let by = event_ms(r, &format!("{path}.late.by"), &l.by)?;
        if clock.step_ns == 0 {
            r.at(&format!("{path}.late.by"), "late messages need a clock that advances", frozen_hint());
        } else if by == 0 {
            r.at(&format!("{path}.late.by"), "`late.by` must be above 0s", "e.g. `by: 15s`".to_string());
        }
        Some((f, by))
    });
    let jitter_ms = d.jitter.as_ref().and_then(|j| {
        let ms = event_ms(r, &format!("{path}.jitter"), j)?;
        if clock.step_ns == 0 && ms > 0 {
            r.at(&format!("{path}.jitter"), "jitter needs a clock that advances", frozen_hint());
        }
        Some(ms)
    });
    let duplicate = d.duplicate.map_or(0.0, |f| fraction(r, &format!("{path}.duplicate"), f));
    if duplicate > 0.0 && !id_header {
        r.at(
            &format!("{path}.duplicate"),
            "duplicates need `kafka.id_header: true`",
            "a deduplicating job recognises the copies by their `distroduce-id` header; add `id_header: true` under `kafka`".to_string(),
        );
    }
    Some(Disorder { late, jitter_ms, duplicate })
}

/// `expectations`: names resolved against `kafka.topics`, templates, durations and locators parsed.
pub fn compile_expectations(
    r: &mut Reporter,
    exps: &IndexMap<String, ExpectationConfig>,
    topics: &[TopicPlan],
) -> Vec<Expectation> {
    let declared = || {
        let v: Vec<&str> = topics.iter().map(|t| t.alias.as_str()).collect();
        format!("declared topic aliases: {}", if v.is_empty() { "none".into() } else { v.join(", ") })
    };
    let mut out = Vec::new();
    for (name, e) in exps {
        let path = format!("expectations.{name}");
        let from = topics.iter().position(|t| t.alias == e.from);
        if from.is_none() {
            r.at(
                &format!("{path}.from"),
                format!("`from: {}` is not a topic alias under `kafka.topics`", e.from),
                declared(),
            );
        }
        let key = match KeyTemplate::parse(&e.key) {
            Ok(k) => Some(k),
            Err(m) => {
                r.at(&format!("{path}.key"), m, "write fields as `{field}` or `{field.sub}`".to_string());
                None
            }
        };
        let window_ms = e.window.as_ref().and_then(|w| {
            let ms = event_ms(r, &format!("{path}.window"), w)?;
            if ms <= 0 {
                r.at(&format!("{path}.window"), "a window must be longer than 0ms", "e.g. `window: 10s`".to_string());
            }
            Some(ms)
        });
        let field = match (e.aggregate, &e.field) {
            (AggregateKind::Count, Some(_)) => {
                r.at(
                    &format!("{path}.field"),
                    "`count` counts messages and reads no field",
                    "remove `field`, or use `aggregate: sum` (or mean, min, max)".to_string(),
                );
                None
            }
            (AggregateKind::Count, None) => None,
            (agg, None) => {
                r.at(
                    &format!("{path}.aggregate"),
                    format!("`aggregate: {}` needs the numeric `field` it reads", agg_name(agg)),
                    "add e.g. `field: reading.temperature` (a dotted path into the message value)".to_string(),
                );
                None
            }
            (_, Some(f)) => {
                let parts: Vec<String> = f.split('.').map(str::to_string).collect();
                if parts.iter().any(String::is_empty) {
                    r.at(&format!("{path}.field"), format!("`{f}` has an empty field name"), None);
                }
                Some(parts)
            }
        };
        let oracle_topic = e.oracle_topic.as_ref().and_then(|alias| {
            let i = topics.iter().position(|t| &t.alias == alias);
            if i.is_none() {
                r.at(
                    &format!("{path}.oracle_topic"),
                    format!("`oracle_topic: {alias}` is not a topic alias under `kafka.topics`"),
                    declared(),
                );
            }
            i
        });
        let output = e.output.as_ref().and_then(|o| {
            let opath = format!("{path}.output");
            if let Some(problem) = super::compile_kafka::topic_name_problem(&o.topic) {
                r.at(
                    &format!("{opath}.topic"),
                    problem,
                    "Kafka topic names are 1 to 249 characters of a-z, A-Z, 0-9, `.`, `_` and `-`".to_string(),
                );
            }
            let mut loc = |field: &str, s: &str| match Locator::parse(s) {
                Ok(l) => Some(l),
                Err(m) => {
                    r.at(
                        &format!("{opath}.{field}"),
                        m,
                        "write `key`, `value`, `key.<field>` or `value.<field>`".to_string(),
                    );
                    None
                }
            };
            let key = loc("key", &o.key);
            let value = loc("value", &o.value);
            let window_start = o.window_start.as_ref().map(|w| loc("window_start", w));
            if e.window.is_some() && o.window_start.is_none() {
                r.at(
                    &opath,
                    "a windowed expectation needs `output.window_start` to match the job's records to windows",
                    "e.g. `window_start: value.window_start` or `window_start: key.window_start`".to_string(),
                );
            }
            Some(JobOutput { topic: o.topic.clone(), key: key?, window_start: window_start.flatten(), value: value? })
        });
        let tolerance = match e.tolerance {
            None => Tolerance::default(),
            Some(ToleranceConfig::Abs(abs)) => Tolerance { abs, rel: 0.0 },
            Some(ToleranceConfig::Both(super::expect::AbsRel { abs, rel })) => Tolerance { abs, rel },
        };
        if !(tolerance.abs >= 0.0 && tolerance.rel >= 0.0) {
            r.at(
                &format!("{path}.tolerance"),
                "a tolerance must be 0 or more",
                "e.g. `tolerance: 0.5` or `{abs: 0.5, rel: 0.01}`".to_string(),
            );
        }
        if let (Some(from), Some(key)) = (from, key) {
            out.push(Expectation {
                name: name.clone(),
                from,
                key,
                window_ms,
                aggregate: e.aggregate,
                field,
                oracle_topic,
                output,
                tolerance,
            });
        }
    }
    out
}
