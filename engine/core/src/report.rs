//! The `engine bench` HTML report: one self-contained file (inline SVG, no scripts, nothing fetched)
//! with throughput per configuration, latency percentiles per configuration, and the full table;
//! and the `--find-max-rate` report: latency against rate, the objectives, and every trial.

use crate::bench::Cell;
use crate::maxrate::Outcome;
use std::fmt::Write;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const ROW: f64 = 26.0;
const LABEL_W: f64 = 360.0;
const CHART_W: f64 = 520.0;
const COLORS: [&str; 3] = ["#4e79a7", "#f28e2b", "#e15759"];

/// A horizontal bar chart: one group of bars per row, `series` values per group.
fn bars(title: &str, unit: &str, rows: &[(String, Vec<f64>)], series: &[&str]) -> String {
    let max =
        rows.iter().flat_map(|(_, v)| v.iter().copied()).filter(|x| x.is_finite()).fold(0.0_f64, f64::max).max(1e-9);
    let group_h = ROW * series.len().max(1) as f64 + 8.0;
    let h = 40.0 + group_h * rows.len() as f64 + 24.0;
    let w = LABEL_W + CHART_W + 110.0;
    let mut s = format!(
        r#"<figure><figcaption>{}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" aria-label="{}">"#,
        esc(title),
        esc(title)
    );
    // Legend.
    for (i, name) in series.iter().enumerate() {
        let x = LABEL_W + i as f64 * 140.0;
        let _ = write!(
            s,
            r#"<rect x="{x}" y="6" width="12" height="12" fill="{}"/><text x="{}" y="17" font-size="12">{}</text>"#,
            COLORS[i % 3],
            x + 16.0,
            esc(name)
        );
    }
    for (r, (label, values)) in rows.iter().enumerate() {
        let y0 = 32.0 + r as f64 * group_h;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" font-size="12" text-anchor="end">{}</text>"#,
            LABEL_W - 8.0,
            y0 + group_h / 2.0,
            esc(label)
        );
        for (i, v) in values.iter().enumerate() {
            let y = y0 + i as f64 * ROW;
            let len = if v.is_finite() { v / max * CHART_W } else { 0.0 };
            let text = if v.is_finite() { format!("{v:.2} {unit}") } else { "n/a".into() };
            let _ = write!(
                s,
                r#"<rect x="{LABEL_W}" y="{y}" width="{len:.1}" height="{}" fill="{}"><title>{}</title></rect><text x="{}" y="{}" font-size="11">{}</text>"#,
                ROW - 6.0,
                COLORS[i % 3],
                esc(&format!("{label}: {text}")),
                LABEL_W + len + 4.0,
                y + ROW - 10.0,
                esc(&text)
            );
        }
    }
    let _ =
        write!(s, r#"<line x1="{LABEL_W}" y1="28" x2="{LABEL_W}" y2="{}" stroke="black"/></svg></figure>"#, h - 20.0);
    s
}

fn page_head(title: &str) -> String {
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{t}</title><style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}th{{background:#f4f4f4}}td:first-child,th:first-child{{text-align:left}}figcaption{{font-weight:bold;margin:1em 0 .3em}}.err{{color:#b00}}</style></head><body><h1>{t}</h1>"#,
        t = esc(title)
    )
}

/// Latency (log scale) against target rate: one point per trial and percentile, filled if the
/// trial passed; the objectives as dashed lines and the result as a vertical line.
fn rate_curve(o: &Outcome) -> String {
    const W: f64 = 760.0;
    const H: f64 = 380.0;
    const L: f64 = 70.0;
    const B: f64 = 40.0;
    let series = [(0usize, "p50"), (2, "p99"), (3, "p99.9")];
    let pts: Vec<(f64, usize, f64, bool)> = o
        .trials
        .iter()
        .flat_map(|t| {
            let l = t.latency_from_due_ms.unwrap_or([f64::NAN; 5]);
            series.iter().enumerate().map(move |(i, (q, _))| (t.rate, i, l[*q], t.passed))
        })
        .filter(|p| p.2.is_finite() && p.2 > 0.0)
        .collect();
    let limits: Vec<f64> = o.slos.iter().map(|s| s.limit_ms).collect();
    let ys = pts.iter().map(|p| p.2).chain(limits.iter().copied());
    let (ymin, ymax) = ys.fold((f64::INFINITY, 0.0_f64), |(a, b), y| (a.min(y), b.max(y)));
    let (lo, hi) = ((ymin.max(1e-3)).log10().floor(), (ymax.max(1e-3)).log10().ceil().max(ymin.log10().floor() + 1.0));
    let xmax = o.trials.iter().map(|t| t.rate).fold(o.ceiling, f64::max).max(1.0) * 1.05;
    let x = |r: f64| L + r / xmax * (W - L - 20.0);
    let y = |ms: f64| H - B - (ms.max(1e-3).log10() - lo) / (hi - lo) * (H - B - 20.0);
    let mut s = format!(
        r#"<figure><figcaption>Latency from due time against target rate (log scale)</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img" aria-label="latency against rate">"#
    );
    let mut d = lo;
    while d <= hi {
        let ms = 10f64.powf(d);
        let _ = write!(
            s,
            r##"<line x1="{L}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#eee"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end">{ms} ms</text>"##,
            W - 20.0,
            L - 6.0,
            y(ms) + 4.0,
            yy = y(ms)
        );
        d += 1.0;
    }
    for (i, lim) in limits.iter().enumerate() {
        let _ = write!(
            s,
            r##"<line x1="{L}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#b00" stroke-dasharray="6 4"/><text x="{}" y="{:.1}" font-size="11" fill="#b00" text-anchor="end">SLO {}</text>"##,
            W - 20.0,
            W - 22.0,
            y(*lim) - 4.0,
            esc(&o.slos[i].to_string()),
            yy = y(*lim)
        );
    }
    if let Some(r) = o.max_rate {
        let _ = write!(
            s,
            r##"<line x1="{xx:.1}" x2="{xx:.1}" y1="20" y2="{}" stroke="#59a14f" stroke-width="2"/><text x="{:.1}" y="16" font-size="12" fill="#59a14f">max sustainable {r:.0} msgs/s</text>"##,
            H - B,
            x(r) - 60.0,
            xx = x(r)
        );
    }
    for (rate, i, ms, passed) in &pts {
        let c = COLORS[*i % 3];
        let fill = if *passed { c } else { "white" };
        let _ = write!(
            s,
            r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{fill}" stroke="{c}"><title>{rate:.0} msgs/s {}: {ms:.2} ms{}</title></circle>"#,
            x(*rate),
            y(*ms),
            series[*i].1,
            if *passed { "" } else { " (failed)" }
        );
    }
    for (i, (_, name)) in series.iter().enumerate() {
        let lx = L + 10.0 + i as f64 * 90.0;
        let _ = write!(
            s,
            r#"<circle cx="{lx}" cy="{}" r="4" fill="{c}" stroke="{c}"/><text x="{}" y="{}" font-size="12">{name}</text>"#,
            H - 8.0,
            lx + 8.0,
            H - 4.0,
            c = COLORS[i % 3]
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" font-size="11">hollow: failed trial · x: target rate, 0 to {xmax:.0} msgs/s</text><line x1="{L}" y1="{}" x2="{}" y2="{}" stroke="black"/><line x1="{L}" y1="20" x2="{L}" y2="{}" stroke="black"/></svg></figure>"#,
        L + 300.0,
        H - 4.0,
        H - B,
        W - 20.0,
        H - B,
        H - B
    );
    s
}

/// The `--find-max-rate` report.
pub fn max_rate_html(scenario: &str, o: &Outcome) -> String {
    let mut out = page_head(&format!("distroduce max sustainable rate: {scenario}"));
    let _ = write!(
        out,
        "<p><b>{}</b></p><p>Closed-loop ceiling (unpaced probe): {:.0} msgs/s. {} distinct rates, {} trials of about {} s each, {} per rate (a rate passes only if all pass), precision {:.1} %.</p>",
        esc(&o.statement),
        o.ceiling,
        o.iterations,
        o.trials.len(),
        o.config.trial_seconds,
        o.config.trials,
        o.config.precision * 100.0
    );
    out.push_str(&rate_curve(o));
    out.push_str("<h2>Trials, in the order they ran</h2><table><tr><th>target msgs/s</th><th>trial</th><th>result</th><th>achieved msgs/s</th><th>messages</th><th>p50 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>why it failed</th></tr>");
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
    out.push_str("</table><p>Each trial publishes open-loop at its target rate (message i is due at start + i / rate) and is judged by the latency from each message's due time to its acknowledgement, which includes any time the sender fell behind (coordinated omission corrected). The search bisects between the highest passing and the lowest failing rate.</p></body></html>\n");
    out
}

pub fn html(scenario: &str, cells: &[Cell]) -> String {
    let ok: Vec<&Cell> = cells.iter().filter(|c| c.summary.as_ref().is_some_and(|s| s.delivery.acked > 0)).collect();
    let label = |c: &Cell| {
        if cells.iter().any(|o| o.repetition > 1) {
            format!("{} #{}", c.label(), c.repetition)
        } else {
            c.label()
        }
    };
    let tput: Vec<(String, Vec<f64>)> =
        ok.iter().map(|c| (label(c), vec![c.summary.as_ref().map_or(f64::NAN, |s| s.msgs_per_sec)])).collect();
    let lat: Vec<(String, Vec<f64>)> = ok
        .iter()
        .map(|c| {
            let l = c.summary.as_ref().and_then(|s| s.delivery.latency_ms).unwrap_or([f64::NAN; 5]);
            (label(c), vec![l[0], l[2], l[3]])
        })
        .collect();
    let best = ok.iter().max_by(|a, b| {
        let f = |c: &&&Cell| c.summary.as_ref().map_or(0.0, |s| s.msgs_per_sec);
        f(a).total_cmp(&f(b))
    });
    let mut out = page_head(&format!("distroduce bench: {scenario}"));
    match best {
        Some(b) => {
            let _ = write!(
                out,
                "<p>Best throughput: <b>{}</b> at {:.0} msgs/s ({} configurations, {} ran).</p>",
                esc(&b.label()),
                b.summary.as_ref().map_or(0.0, |s| s.msgs_per_sec),
                cells.len(),
                ok.len()
            );
        }
        None => out.push_str("<p class=\"err\">No configuration delivered any message.</p>"),
    }
    out.push_str(&bars("Throughput by acknowledgement (msgs/s)", "msgs/s", &tput, &["msgs/s"]));
    out.push_str(&bars("Delivery latency, enqueue to acknowledgement (ms)", "ms", &lat, &["p50", "p99", "p99.9"]));
    out.push_str("<h2>All runs</h2><table><tr><th>configuration</th><th>run</th><th>acked</th><th>failed</th><th>msgs/s</th><th>MB/s</th><th>p50 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>generating s</th><th>publishing s</th><th>error</th></tr>");
    for c in cells {
        let _ = write!(out, "<tr><td>{}</td><td>{}</td>", esc(&c.label()), c.repetition);
        match &c.summary {
            Some(s) => {
                let l = s.delivery.latency_ms.unwrap_or([f64::NAN; 5]);
                let _ = write!(
                    out,
                    "<td>{}</td><td>{}</td><td>{:.0}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.3}</td><td>{:.3}</td>",
                    s.delivery.acked, s.delivery.failed, s.msgs_per_sec, s.mb_per_sec, l[0], l[2], l[3], l[4], s.generation_seconds, s.publish_seconds
                );
            }
            None => out.push_str(&"<td></td>".repeat(10)),
        }
        let _ = write!(out, "<td class=\"err\">{}</td></tr>", esc(c.error.as_deref().unwrap_or("")));
    }
    out.push_str("</table><p>Throughput counts acknowledged messages over the time from the first send to the last acknowledgement. Latency is measured from enqueue to acknowledgement (HdrHistogram, 3 significant digits).</p></body></html>\n");
    out
}
