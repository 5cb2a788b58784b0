//! The `--find-max-rate` report: the result and how sure it is, the latency curve against the
//! offered rate (p50, p99, p99.9 and max from the due time) with the objectives and the result
//! marked, the search's path, and every trial.

use super::lines::{chart, Chart, Line, Mark, Scale};
use super::{esc, page_head};
use crate::maxrate::Outcome;
use std::fmt::Write;

/// Latency against offered rate: per rate, the worst of its trials for each percentile (a rate is
/// judged by its worst trial too).
fn rate_curve(o: &Outcome) -> String {
    let mut rates: Vec<f64> = o.trials.iter().map(|t| t.rate).collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    let lines = [(0usize, "p50"), (2, "p99"), (3, "p99.9"), (4, "max")]
        .iter()
        .map(|&(q, name)| Line {
            label: name.to_string(),
            points: rates
                .iter()
                .filter_map(|&r| {
                    let worst = o
                        .trials
                        .iter()
                        .filter(|t| t.rate == r)
                        .filter_map(|t| t.latency_from_due_ms.map(|l| l[q]))
                        .fold(f64::NAN, f64::max);
                    worst.is_finite().then_some((r, worst))
                })
                .collect(),
        })
        .collect();
    let mut marks: Vec<Mark> =
        o.slos.iter().map(|s| Mark { at: s.limit_ms, label: format!("SLO {s}"), vertical: false }).collect();
    if let Some(r) = o.max_rate {
        marks.push(Mark { at: r, label: format!("max sustainable {r:.0} msgs/s"), vertical: true });
    }
    chart(&Chart {
        id: "rate-curve",
        title: "Latency from due time against offered rate (worst trial per rate)",
        x_label: "offered (target) rate, msgs/s",
        y_label: "latency from due time, ms (log scale)",
        x_scale: Scale::Linear,
        y_scale: Scale::Log,
        lines,
        marks,
        x_range: None,
    })
}

/// How sure the result is, in words: trials per rate, how many passed, the bracket's width.
fn confidence(o: &Outcome) -> String {
    let n = o.config.trials.max(1);
    let ran = |r: f64| o.trials.iter().filter(|t| t.rate == r).count();
    let passed = |r: f64| o.trials.iter().filter(|t| t.rate == r && t.passed).count();
    let mut s = format!(
        "Confidence: {n} trials per rate, each about {} s after a warm-up; a rate passes only if all {n} meet every objective, and a rate stops at its first failed trial.",
        o.config.trial_seconds
    );
    if let Some(r) = o.max_rate {
        let _ = write!(s, " {r:.0} msgs/s passed {} of {} trials.", passed(r), ran(r));
    }
    if let Some(f) = o.failed_at {
        let _ = write!(s, " {f:.0} msgs/s passed {} of {} trials run.", passed(f), ran(f));
    }
    if let (Some(r), Some(f)) = (o.max_rate, o.failed_at) {
        let _ = write!(
            s,
            " The answer is within {:.1} % of the failing rate (precision asked: {:.1} %).",
            (f - r) / f * 100.0,
            o.config.precision * 100.0
        );
    }
    s
}

/// The `--find-max-rate` report.
pub fn max_rate_html(scenario: &str, o: &Outcome) -> String {
    let mut out = page_head(&format!("distroduce max sustainable rate: {scenario}"));
    let _ = write!(
        out,
        "<p><b>{}</b></p><p>{}</p><p>Closed-loop ceiling (unpaced probe): {:.0} msgs/s. {} rates tried in {} trials.</p>",
        esc(&o.statement),
        esc(&confidence(o)),
        o.ceiling,
        o.iterations,
        o.trials.len(),
    );
    out.push_str(&rate_curve(o));
    out.push_str("<h2>Search path</h2><table><tr><th>iteration</th><th>rate msgs/s</th><th>result</th><th>highest passed</th><th>lowest failed</th></tr>");
    let opt = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.0}"));
    for s in &o.path {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{:.0}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            s.iteration,
            s.rate,
            if s.passed { "pass" } else { "fail" },
            opt(s.highest_passed),
            opt(s.lowest_failed)
        );
    }
    out.push_str("</table><h2>Trials, in the order they ran</h2><table><tr><th>target msgs/s</th><th>trial</th><th>result</th><th>achieved msgs/s</th><th>messages</th><th>p50 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>why it failed</th></tr>");
    for t in &o.trials {
        let l = t.latency_from_due_ms.unwrap_or([f64::NAN; 5]);
        let _ = write!(
            out,
            "<tr><td>{:.0}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td class=\"err\">{}</td></tr>",
            t.rate,
            t.trial,
            if t.passed { "pass" } else { "fail" },
            t.achieved,
            t.messages,
            l[0],
            l[2],
            l[3],
            l[4],
            esc(t.reason.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table><p>Each trial publishes open-loop at its target rate (message i is due at the first send + i / rate) and is judged by the latency from each message's due time to its acknowledgement, which includes any time the sender fell behind (coordinated omission corrected). The search bisects between the highest passing and the lowest failing rate; every step narrows that bracket.</p></body></html>\n");
    out
}
