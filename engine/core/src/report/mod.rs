//! The `engine bench` HTML report: one self-contained file (inline SVG, no scripts, nothing fetched)
//! with throughput per configuration, latency percentiles per configuration, and the full table;
//! and the `--find-max-rate` report: latency against rate, the objectives, and every trial.

mod lines;
mod maxrate;
mod over_time;

use crate::bench::Cell;
use std::fmt::Write;

pub use maxrate::max_rate_html;

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const ROW: f64 = 26.0;
const LABEL_W: f64 = 360.0;
const CHART_W: f64 = 520.0;
const COLORS: [&str; 10] =
    ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

/// The colour of series `i` (Tableau 10, repeating).
pub(crate) fn color(i: usize) -> &'static str {
    COLORS[i % COLORS.len()]
}

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
            color(i),
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
                color(i),
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

pub(crate) fn page_head(title: &str) -> String {
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{t}</title><style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}th{{background:#f4f4f4}}td:first-child,th:first-child{{text-align:left}}figcaption{{font-weight:bold;margin:1em 0 .3em}}.err{{color:#b00}}</style></head><body><h1>{t}</h1>"#,
        t = esc(title)
    )
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
    let runs: Vec<(String, &distroduce_model::output::DeliveryStats)> =
        ok.iter().filter_map(|c| c.summary.as_ref().map(|s| (label(c), &s.delivery))).collect();
    out.push_str(&over_time::hdr_plot(&runs));
    out.push_str(&over_time::rate_and_p99(&runs));
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
