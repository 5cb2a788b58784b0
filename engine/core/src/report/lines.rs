//! Line charts as inline SVG: the HDR percentile plot, the over-time charts and the rate curve.
//! Each chart is a `<figure class="chart" data-chart=ID>` and each series a
//! `<polyline class="series" data-series=LABEL>`, so a test (and a reader's browser tools) can find
//! them; the axes carry `class="axis-label"` titles.

use super::{color, esc};
use std::fmt::Write;

/// How values map to an axis.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Scale {
    Linear,
    /// Powers of ten, for latencies that span orders of magnitude.
    Log,
    /// Percentiles (0–100) spread as `log10(1 / (1 - p))`: 50, 90, 99, 99.9 … equally spaced,
    /// as HdrHistogram's plots and OpenMessaging Benchmark's charts show them.
    Percentile,
}

impl Scale {
    fn map(self, v: f64) -> f64 {
        match self {
            Scale::Linear => v,
            Scale::Log => v.max(1e-6).log10(),
            Scale::Percentile => (1.0 / (1.0 - (v / 100.0).min(0.999_999_9))).log10(),
        }
    }
}

pub(crate) struct Line {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// A reference line across the chart: an objective (horizontal) or a result (vertical).
pub(crate) struct Mark {
    pub at: f64,
    pub label: String,
    pub vertical: bool,
}

pub(crate) struct Chart<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub x_scale: Scale,
    pub y_scale: Scale,
    pub lines: Vec<Line>,
    pub marks: Vec<Mark>,
    /// Fixed x range (in data units) instead of the data's.
    pub x_range: Option<(f64, f64)>,
}

const W: f64 = 860.0;
const L: f64 = 80.0;
const R: f64 = 40.0;
const T: f64 = 20.0;
const PLOT_H: f64 = 300.0;

/// Tick values for an axis spanning `lo..hi` (data units) on `scale`.
fn ticks(scale: Scale, lo: f64, hi: f64) -> Vec<f64> {
    match scale {
        Scale::Percentile => {
            [50.0, 90.0, 99.0, 99.9, 99.99, 99.999].into_iter().filter(|p| *p >= lo - 1e-9 && *p <= hi + 1e-9).collect()
        }
        Scale::Log => {
            let (a, b) = (lo.max(1e-6).log10().floor() as i32, hi.max(1e-6).log10().ceil() as i32);
            (a..=b).map(|e| 10f64.powi(e)).collect()
        }
        Scale::Linear => {
            let span = (hi - lo).max(1e-9);
            let raw = span / 5.0;
            let mag = 10f64.powf(raw.log10().floor());
            let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| span / s <= 6.0).unwrap_or(mag * 10.0);
            let mut v = (lo / step).ceil() * step;
            let mut out = Vec::new();
            while v <= hi + step * 1e-9 {
                out.push(v);
                v += step;
            }
            out
        }
    }
}

fn fmt_tick(scale: Scale, v: f64) -> String {
    match scale {
        Scale::Percentile => format!("{v}%"),
        _ if v == 0.0 => "0".into(),
        _ if v.abs() >= 1e6 => format!("{}M", v / 1e6),
        _ if v.abs() >= 1e4 => format!("{}k", v / 1e3),
        _ => format!("{v}"),
    }
}

/// Data range of one axis: the points' and the marks', widened to whole ticks on a log scale.
fn range(scale: Scale, values: impl Iterator<Item = f64>, zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = values
        .filter(|v| v.is_finite() && (scale != Scale::Log || *v > 0.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return (if scale == Scale::Log { 0.1 } else { 0.0 }, 1.0);
    }
    match scale {
        Scale::Log => {
            lo = 10f64.powf(lo.log10().floor());
            hi = 10f64.powf(hi.log10().ceil().max(lo.log10() + 1.0));
        }
        Scale::Linear => {
            if zero {
                lo = lo.min(0.0);
            }
            if hi <= lo {
                hi = lo + 1.0;
            }
            hi += (hi - lo) * 0.05;
        }
        Scale::Percentile => {}
    }
    (lo, hi)
}

/// The chart as a `<figure>`; `n_legend` series get a legend row each below the plot.
pub(crate) fn chart(c: &Chart) -> String {
    let xs = c.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
    let (x0, x1) = c.x_range.unwrap_or_else(|| {
        range(c.x_scale, xs.chain(c.marks.iter().filter(|m| m.vertical).map(|m| m.at)), c.x_scale == Scale::Linear)
    });
    let ys = c.lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
    let (y0, y1) = range(c.y_scale, ys.chain(c.marks.iter().filter(|m| !m.vertical).map(|m| m.at)), true);
    let (mx0, mx1) = (c.x_scale.map(x0), c.x_scale.map(x1).max(c.x_scale.map(x0) + 1e-9));
    let (my0, my1) = (c.y_scale.map(y0), c.y_scale.map(y1).max(c.y_scale.map(y0) + 1e-9));
    let px = |v: f64| L + (c.x_scale.map(v) - mx0) / (mx1 - mx0) * (W - L - R);
    let py = |v: f64| T + PLOT_H - (c.y_scale.map(v) - my0) / (my1 - my0) * PLOT_H;
    let legend_rows = c.lines.len().div_ceil(3);
    let h = T + PLOT_H + 50.0 + 18.0 * legend_rows as f64;
    let bottom = T + PLOT_H;
    let mut s = format!(
        r#"<figure class="chart" data-chart="{id}"><figcaption>{title}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" role="img" aria-label="{title}">"#,
        id = esc(c.id),
        title = esc(c.title)
    );
    for v in ticks(c.x_scale, x0, x1) {
        let x = px(v);
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{T}" y2="{bottom}" stroke="#eee"/><text class="tick" x="{x:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"##,
            bottom + 14.0,
            fmt_tick(c.x_scale, v)
        );
    }
    for v in ticks(c.y_scale, y0, y1) {
        let y = py(v);
        let _ = write!(
            s,
            r##"<line x1="{L}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#eee"/><text class="tick" x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
            W - R,
            L - 6.0,
            y + 4.0,
            fmt_tick(c.y_scale, v)
        );
    }
    let _ = write!(
        s,
        r#"<line x1="{L}" y1="{bottom}" x2="{:.1}" y2="{bottom}" stroke="black"/><line x1="{L}" y1="{T}" x2="{L}" y2="{bottom}" stroke="black"/><text class="axis-label" x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text><text class="axis-label" x="14" y="{:.1}" font-size="12" text-anchor="middle" transform="rotate(-90 14 {:.1})">{}</text>"#,
        W - R,
        (L + W - R) / 2.0,
        bottom + 32.0,
        esc(c.x_label),
        T + PLOT_H / 2.0,
        T + PLOT_H / 2.0,
        esc(c.y_label)
    );
    for m in &c.marks {
        // Labels go where the lines are not: a result in the right half is labelled to its left,
        // objectives at the left end (a rate curve's points sit at the right).
        let (x1_, y1_, x2_, y2_, tx, ty, anchor) = if m.vertical {
            let x = px(m.at);
            let left = x > (L + W - R) / 2.0;
            (x, T, x, bottom, if left { x - 4.0 } else { x + 4.0 }, T + 12.0, if left { "end" } else { "start" })
        } else {
            let y = py(m.at);
            (L, y, W - R, y, L + 4.0, y - 4.0, "start")
        };
        let _ = write!(
            s,
            r##"<line class="mark" x1="{x1_:.1}" y1="{y1_:.1}" x2="{x2_:.1}" y2="{y2_:.1}" stroke="#b00" stroke-dasharray="6 4"/><text x="{tx:.1}" y="{ty:.1}" font-size="11" fill="#b00" text-anchor="{anchor}">{}</text>"##,
            esc(&m.label)
        );
    }
    for (i, line) in c.lines.iter().enumerate() {
        let col = color(i);
        let pts: Vec<(f64, f64)> = line
            .points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite() && (c.y_scale != Scale::Log || *y > 0.0))
            .map(|&(x, y)| (px(x), py(y)))
            .collect();
        let coords = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ");
        let _ = write!(
            s,
            r#"<polyline class="series" data-series="{label}" points="{coords}" fill="none" stroke="{col}" stroke-width="2"><title>{label}</title></polyline>"#,
            label = esc(&line.label)
        );
        if pts.len() <= 40 {
            for (x, y) in &pts {
                let _ = write!(s, r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{col}"/>"#);
            }
        }
        let (lx, ly) = (L + (i % 3) as f64 * 260.0, bottom + 50.0 + (i / 3) as f64 * 18.0);
        let _ = write!(
            s,
            r#"<rect class="legend" x="{lx:.1}" y="{:.1}" width="14" height="4" fill="{col}"/><text x="{:.1}" y="{ly:.1}" font-size="12">{}</text>"#,
            ly - 6.0,
            lx + 18.0,
            esc(&truncate(&line.label, 38))
        );
    }
    s.push_str("</svg></figure>");
    s
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}
