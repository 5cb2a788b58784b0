//! The charts of `engine bench`'s report that OpenMessaging Benchmark's reports taught people to
//! read: the latency distribution per configuration (an HDR percentile plot) and the publish rate
//! and p99 over the run (per-second buckets), where a stall or a broker restart shows.

use super::lines::{chart, Chart, Line, Scale};
use distroduce_model::output::DeliveryStats;

/// Latency (log scale) against percentile, 50 % to 99.999 %, one line per configuration.
pub(crate) fn hdr_plot(runs: &[(String, &DeliveryStats)]) -> String {
    let lines = runs
        .iter()
        .map(|(label, d)| Line {
            label: label.clone(),
            points: d
                .latency_distribution
                .iter()
                .filter(|p| p.percentile < 100.0)
                .map(|p| (p.percentile, p.latency_ms))
                .collect(),
        })
        .collect();
    chart(&Chart {
        id: "latency-distribution",
        title: "Delivery latency distribution, enqueue to acknowledgement (HdrHistogram, after the warm-up)",
        x_label: "percentile (log scale of 1 / (1 − p))",
        y_label: "latency, ms (log scale)",
        x_scale: Scale::Percentile,
        y_scale: Scale::Log,
        lines,
        marks: Vec::new(),
        x_range: Some((50.0, 99.999)),
    })
}

/// Acknowledged messages per second and p99 per second over the run, one line per configuration.
pub(crate) fn rate_and_p99(runs: &[(String, &DeliveryStats)]) -> String {
    // `whole`: leave out the last second, which the run ended part-way through (its count is not
    // a rate).
    let series = |f: &dyn Fn(&distroduce_model::output::SecondStats) -> Option<f64>, whole: bool| -> Vec<Line> {
        runs.iter()
            .map(|(label, d)| {
                let n = d.per_second.len().saturating_sub(usize::from(whole));
                Line {
                    label: label.clone(),
                    points: d.per_second[..n].iter().filter_map(|s| f(s).map(|v| (s.second as f64, v))).collect(),
                }
            })
            .collect()
    };
    let rate = chart(&Chart {
        id: "rate-over-time",
        title: "Publish rate over time: acknowledgements per second (warm-up included; the run's last, partial second left out)",
        x_label: "seconds since the first send",
        y_label: "acknowledged msgs/s",
        x_scale: Scale::Linear,
        y_scale: Scale::Linear,
        lines: series(&|s| Some(s.acked as f64), true),
        marks: Vec::new(),
        x_range: None,
    });
    let p99 = chart(&Chart {
        id: "p99-over-time",
        title: "p99 delivery latency over time, per second (from the due time when paced)",
        x_label: "seconds since the first send",
        y_label: "p99 latency, ms (log scale)",
        x_scale: Scale::Linear,
        y_scale: Scale::Log,
        lines: series(&|s| s.p99_ms, false),
        marks: Vec::new(),
        x_range: None,
    });
    rate + &p99
}
