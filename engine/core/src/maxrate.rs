//! `engine bench --find-max-rate --slo p99=50ms`: the highest open-loop publish rate the cluster
//! sustains within a latency objective.
//!
//! Each trial runs the scenario paced at a target rate (`kafka.rate`: message i is due at
//! `start + i / rate`) and judges it by the latency measured from each message's *due* time, which
//! is what a late sender cannot hide (coordinated omission). A rate passes only if every one of its
//! trials passes, so one lucky trial never raises the answer.
//!
//! The search is a bisection between a rate that passed and one that failed, starting from the
//! closed-loop ceiling a first unpaced run measures. OpenMessaging Benchmark adapts its rate from
//! the backlog as it goes and is known to oscillate; a bisection cannot: every step halves the
//! bracket, and it stops when the bracket is narrower than `precision`.

use crate::bench;
use crate::run::{self as app, KafkaTarget, RunArgs, RunError, Summary};
use distroduce_plugin_host::wasm::WasmBackend;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A delivery-latency percentile of the summary (`latency_from_due_ms` order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Quantile {
    P50,
    P90,
    P99,
    P999,
    Max,
}

impl Quantile {
    fn index(self) -> usize {
        self as usize
    }
    pub fn name(self) -> &'static str {
        ["p50", "p90", "p99", "p99.9", "max"][self.index()]
    }
}

/// One latency objective: `p99=50ms`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Slo {
    pub quantile: Quantile,
    pub limit_ms: f64,
}

impl std::str::FromStr for Slo {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}`: write PERCENTILE=LIMIT, e.g. p99=50ms (p50, p90, p99, p99.9 or max; ms, s or us)");
        let (q, limit) = s.split_once('=').ok_or_else(bad)?;
        let quantile = match q.trim() {
            "p50" => Quantile::P50,
            "p90" => Quantile::P90,
            "p99" => Quantile::P99,
            "p99.9" | "p999" => Quantile::P999,
            "max" => Quantile::Max,
            _ => return Err(bad()),
        };
        let limit = limit.trim();
        let (num, scale) = if let Some(n) = limit.strip_suffix("ms") {
            (n, 1.0)
        } else if let Some(n) = limit.strip_suffix("us") {
            (n, 1e-3)
        } else if let Some(n) = limit.strip_suffix('s') {
            (n, 1e3)
        } else {
            return Err(bad());
        };
        let v: f64 = num.trim().parse().map_err(|_| bad())?;
        if !(v.is_finite() && v > 0.0) {
            return Err(format!("`{s}`: the limit must be a positive duration"));
        }
        Ok(Slo { quantile, limit_ms: v * scale })
    }
}

impl std::fmt::Display for Slo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}≤{}ms", self.quantile.name(), self.limit_ms)
    }
}

/// How the search runs.
#[derive(Debug, Clone, Serialize)]
pub struct SearchConfig {
    /// Trials per rate; a rate passes only if all pass.
    pub trials: u32,
    /// Stop when `(failed - passed) / failed` is at most this.
    pub precision: f64,
    /// Roughly how long each trial publishes: its timesteps are scaled to `rate × trial_seconds`
    /// messages.
    pub trial_seconds: f64,
    /// Give up after halving the rate this many times without a pass.
    pub max_halvings: u32,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self { trials: 3, precision: 0.05, trial_seconds: 5.0, max_halvings: 8 }
    }
}

/// One run at one rate.
#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    /// Target rate, messages per second.
    pub rate: f64,
    /// 1-based, per rate.
    pub trial: u32,
    pub passed: bool,
    /// p50, p90, p99, p99.9, max from each message's due time (ms).
    pub latency_from_due_ms: Option<[f64; 5]>,
    /// Acknowledged messages per second.
    pub achieved: f64,
    pub messages: u64,
    pub timesteps: u64,
    /// Why it failed, in words (which objective, or undelivered messages).
    pub reason: Option<String>,
}

/// What the search found.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub slos: Vec<Slo>,
    pub config: SearchConfig,
    /// Closed-loop throughput of the unpaced first run (msgs/s by acknowledgement).
    pub ceiling: f64,
    /// The highest rate whose trials all passed; `None` if none did.
    pub max_rate: Option<f64>,
    /// The lowest rate that failed above it; `None` when the ceiling itself passed.
    pub failed_at: Option<f64>,
    /// Distinct rates tried.
    pub iterations: u32,
    /// One step per rate tried, in order, with the bracket it left: how the search converged.
    pub path: Vec<Step>,
    pub trials: Vec<Trial>,
    /// The result in one sentence, with how sure it is.
    pub statement: String,
}

/// One iteration of the search: the rate tried, whether all its trials passed, and the bracket
/// `[passed, failed)` known afterwards (`None` for a side not found yet).
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub iteration: u32,
    pub rate: f64,
    pub passed: bool,
    pub highest_passed: Option<f64>,
    pub lowest_failed: Option<f64>,
}

/// Rates are whole messages per second.
fn round(rate: f64) -> f64 {
    rate.round().max(1.0)
}

/// The bisection, apart from how a trial runs (so that it can be tested without a broker).
pub fn search(
    ceiling: f64,
    slos: &[Slo],
    cfg: &SearchConfig,
    mut eval: impl FnMut(f64, u32) -> Result<Trial, RunError>,
) -> Result<Outcome, RunError> {
    let mut trials = Vec::new();
    let mut path: Vec<Step> = Vec::new();
    let mut passes = |rate: f64, trials: &mut Vec<Trial>| -> Result<bool, RunError> {
        let mut passed = true;
        for t in 1..=cfg.trials.max(1) {
            let trial = eval(rate, t)?;
            passed = trial.passed;
            trials.push(trial);
            if !passed {
                break;
            }
        }
        let (lo, hi) = path.last().map_or((None, None), |s| (s.highest_passed, s.lowest_failed));
        path.push(Step {
            iteration: path.len() as u32 + 1,
            rate,
            passed,
            highest_passed: if passed { Some(rate) } else { lo },
            lowest_failed: if passed { hi } else { Some(rate) },
        });
        Ok(passed)
    };
    let mut hi = round(ceiling);
    let (max_rate, failed_at) = if passes(hi, &mut trials)? {
        (Some(hi), None)
    } else {
        let mut lo = round(hi / 2.0);
        let mut halvings = 1;
        let mut found = true;
        while !passes(lo, &mut trials)? {
            hi = lo;
            halvings += 1;
            if halvings > cfg.max_halvings || lo <= 1.0 {
                found = false;
                break;
            }
            lo = round(lo / 2.0);
        }
        if found {
            while (hi - lo) / hi > cfg.precision {
                let mid = round((lo + hi) / 2.0);
                if mid <= lo || mid >= hi {
                    break;
                }
                if passes(mid, &mut trials)? {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            (Some(lo), Some(hi))
        } else {
            (None, Some(hi))
        }
    };
    let iterations = path.len() as u32;
    let objectives = slos.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ");
    let n = cfg.trials.max(1);
    let statement = match (max_rate, failed_at) {
        (Some(r), None) => format!(
            "{r:.0} msgs/s meets {objectives} in {n} of {n} trials; that is the closed-loop ceiling, so the producer, not the SLO, is the limit"
        ),
        (Some(r), Some(f)) => format!(
            "{r:.0} msgs/s meets {objectives} in {n} of {n} trials; {f:.0} msgs/s failed; the maximum sustainable rate lies in [{r:.0}, {f:.0}) msgs/s (±{:.1} %)",
            (f - r) / f * 100.0
        ),
        (None, Some(f)) => format!("no rate down to {f:.0} msgs/s met {objectives}"),
        (None, None) => unreachable!("a search either passes a rate or records the last failure"),
    };
    Ok(Outcome {
        slos: slos.to_vec(),
        config: cfg.clone(),
        ceiling,
        max_rate,
        failed_at,
        iterations,
        path,
        trials,
        statement,
    })
}

/// Whether a trial's summary meets every objective, and if not, why.
pub fn judge(summary: &Summary, slos: &[Slo]) -> Result<(), String> {
    let d = &summary.delivery;
    if d.failed > 0 || d.acked < d.produced {
        return Err(format!("{} of {} messages not acknowledged", d.produced - d.acked.min(d.produced), d.produced));
    }
    let Some(l) = d.latency_from_due_ms else {
        return Err("no latency was measured (no message after the warm-up)".into());
    };
    for s in slos {
        let v = l[s.quantile.index()];
        if v > s.limit_ms {
            return Err(format!("{} {:.2} ms > {} ms", s.quantile.name(), v, s.limit_ms));
        }
    }
    Ok(())
}

/// Everything `--find-max-rate` is told.
#[derive(Debug, Clone)]
pub struct MaxRateArgs {
    pub run: RunArgs,
    pub slos: Vec<Slo>,
    pub config: SearchConfig,
}

/// Run the probe and the search. `on_trial` sees each run as it ends (the probe as trial 0).
pub fn find(args: &MaxRateArgs, mut on_trial: impl FnMut(&Trial)) -> Result<Outcome, RunError> {
    let model = distroduce_scenario::load_with(&args.run.scenario, &args.run.overrides())?;
    let (backend, resolved) = WasmBackend::load(&model)?;
    let fresh_topics = match &args.run.kafka {
        KafkaTarget::Brokers(_) => true,
        KafkaTarget::Auto => model.kafka.brokers.is_some(),
        KafkaTarget::None => {
            return Err(RunError::Usage("--find-max-rate needs a broker: drop `--kafka none`".into()));
        }
    };
    let base = args.run.out.clone().unwrap_or_else(|| PathBuf::from("out").join(format!("{}-max-rate", model.name)));
    // One set of fresh topics for the whole search, created by the probe: a topic a moment old
    // answers its first produce requests slowly for a few seconds (measured on the local broker:
    // p99 0.2–1.2 s at 1–300k msgs/s on fresh topics, 12 ms at 2k msgs/s on warm ones), which
    // would fail every trial that started on its own new topic.
    let search_model = bench::configure(&model, &[], 0, fresh_topics).map_err(RunError::Usage)?;
    let mut cell = 0;
    let mut run_at = |rate: Option<f64>, timesteps: u64, warmup: f64| -> Result<Summary, RunError> {
        let mut m = search_model.clone();
        m.kafka.rate = rate;
        m.kafka.warmup = std::time::Duration::from_secs_f64(warmup);
        m.timesteps = timesteps;
        m.output.dir = base.join(format!("trial-{cell}"));
        cell += 1;
        match app::run_loaded(&m, &backend, &resolved, &args.run, None, Instant::now()) {
            Ok(s) => Ok(s),
            // An overloaded broker may time messages out: that rate fails, the search goes on.
            Err(RunError::Undelivered { summary }) => Ok(*summary),
            Err(e) => Err(e),
        }
    };
    // The probe: unpaced, at the scenario's own length.
    let probe = run_at(None, model.timesteps, model.kafka.warmup.as_secs_f64())?;
    let jobs = probe.jobs.max(1) as f64;
    let per_timestep = probe.delivery.produced as f64 / (model.timesteps.max(1) as f64 * jobs);
    if probe.delivery.acked == 0 || per_timestep <= 0.0 {
        return Err(RunError::Usage(format!(
            "the probe run published nothing that was acknowledged ({} produced): a rate search needs a scenario that emits messages",
            probe.delivery.produced
        )));
    }
    let ceiling = probe.msgs_per_sec;
    on_trial(&Trial {
        rate: ceiling,
        trial: 0,
        passed: judge(&probe, &args.slos).is_ok(),
        latency_from_due_ms: probe.delivery.latency_from_due_ms.or(probe.delivery.latency_ms),
        achieved: probe.msgs_per_sec,
        messages: probe.delivery.produced,
        timesteps: model.timesteps,
        reason: Some("probe: unpaced, measures the closed-loop ceiling".into()),
    });
    search(ceiling, &args.slos, &args.config, |rate, trial| {
        // A fresh topic's first sends wait for its metadata: a warm-up of a fifth of the trial
        // (at least the scenario's own) is left out of the figures and added to its length.
        let warmup = model.kafka.warmup.as_secs_f64().max(args.config.trial_seconds * 0.2);
        let seconds = args.config.trial_seconds + warmup;
        let timesteps = ((rate * seconds) / (per_timestep * jobs)).ceil().max(1.0) as u64;
        let s = run_at(Some(rate), timesteps, warmup)?;
        let verdict = judge(&s, &args.slos);
        let t = Trial {
            rate,
            trial,
            passed: verdict.is_ok(),
            latency_from_due_ms: s.delivery.latency_from_due_ms,
            achieved: s.msgs_per_sec,
            messages: s.delivery.produced,
            timesteps,
            reason: verdict.err(),
        };
        on_trial(&t);
        Ok(t)
    })
}

/// Write `max-rate.json`, `max-rate.csv` and `report.html` into `dir`.
pub fn write_results(dir: &Path, scenario: &str, outcome: &Outcome) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut csv =
        String::from("rate,trial,passed,achieved,messages,timesteps,p50_ms,p90_ms,p99_ms,p999_ms,max_ms,reason\n");
    for t in &outcome.trials {
        let l = t
            .latency_from_due_ms
            .map_or([String::new(), String::new(), String::new(), String::new(), String::new()], |l| {
                l.map(|x| format!("{x:.3}"))
            });
        csv.push_str(&format!(
            "{:.0},{},{},{:.1},{},{},{},{}\n",
            t.rate,
            t.trial,
            t.passed,
            t.achieved,
            t.messages,
            t.timesteps,
            l.join(","),
            t.reason.clone().unwrap_or_default().replace([',', '\n'], ";")
        ));
    }
    let paths = [dir.join("max-rate.csv"), dir.join("max-rate.json"), dir.join("report.html")];
    std::fs::write(&paths[0], csv)?;
    let json = serde_json::json!({"scenario": scenario, "outcome": outcome});
    distroduce_model::layout::write_json(&paths[1], &json, true)?;
    std::fs::write(&paths[2], crate::report::max_rate_html(scenario, outcome))?;
    Ok(paths.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(rate: f64, t: u32, passed: bool) -> Trial {
        Trial {
            rate,
            trial: t,
            passed,
            latency_from_due_ms: None,
            achieved: rate,
            messages: 0,
            timesteps: 1,
            reason: None,
        }
    }

    #[test]
    fn objectives_parse_with_units_and_refuse_nonsense() {
        assert_eq!("p99=50ms".parse::<Slo>().unwrap(), Slo { quantile: Quantile::P99, limit_ms: 50.0 });
        assert_eq!("p99.9=1s".parse::<Slo>().unwrap().limit_ms, 1000.0);
        assert_eq!("max=500us".parse::<Slo>().unwrap().limit_ms, 0.5);
        for bad in ["p99", "p98=5ms", "p99=5", "p99=-1ms", "p99=abcms", "p99=0ms"] {
            assert!(bad.parse::<Slo>().is_err(), "{bad}");
        }
    }

    #[test]
    fn bisection_converges_to_the_threshold_within_the_precision() {
        let slos = ["p99=10ms".parse().unwrap()];
        let cfg = SearchConfig { trials: 3, precision: 0.02, max_halvings: 12, ..Default::default() };
        for threshold in [1234.0, 77_000.0, 499_999.0] {
            let o = search(500_000.0, &slos, &cfg, |r, t| Ok(trial(r, t, r <= threshold))).unwrap();
            let (max, failed) = (o.max_rate.unwrap(), o.failed_at.unwrap());
            assert!(max <= threshold && failed > threshold, "{threshold}: [{max}, {failed})");
            assert!((failed - max) / failed <= 0.02, "{threshold}: bracket too wide: [{max}, {failed})");
            // Every passing rate ran all its trials; a failing rate stopped at its first failure.
            for r in o.trials.iter().filter(|t| t.rate == max) {
                assert!(r.passed);
            }
            assert_eq!(o.trials.iter().filter(|t| t.rate == max).count(), 3);
            assert!(o.iterations < 30);
        }
    }

    #[test]
    fn one_failed_trial_fails_the_rate_and_noise_cannot_make_it_oscillate() {
        let slos = ["p99=10ms".parse().unwrap()];
        let cfg = SearchConfig { trials: 3, precision: 0.05, ..Default::default() };
        // Above 50k every third trial fails: such a rate must not count as sustainable.
        let mut n = 0;
        let o = search(100_000.0, &slos, &cfg, |r, t| {
            n += 1;
            Ok(trial(r, t, r <= 50_000.0 || t < 3))
        })
        .unwrap();
        assert!(o.max_rate.unwrap() <= 50_000.0);
        assert!(o.failed_at.unwrap() > 50_000.0);
        // Each distinct rate is tried once: rates strictly inside a shrinking bracket.
        let mut rates: Vec<f64> = o.trials.iter().map(|t| t.rate).collect();
        rates.dedup();
        assert_eq!(rates.len() as u32, o.iterations);
        let mut sorted = rates.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.dedup();
        assert_eq!(sorted.len(), rates.len(), "a rate was tried twice: {rates:?}");
    }

    #[test]
    fn the_path_narrows_the_bracket_at_every_step() {
        let slos = ["p99=10ms".parse().unwrap()];
        let cfg = SearchConfig { trials: 1, precision: 0.01, ..Default::default() };
        let o = search(100_000.0, &slos, &cfg, |r, t| Ok(trial(r, t, r <= 37_000.0))).unwrap();
        assert_eq!(o.path.len() as u32, o.iterations);
        let width = |s: &Step| s.lowest_failed.unwrap() - s.highest_passed.unwrap_or(0.0);
        for w in o.path.windows(2) {
            assert!(width(&w[1]) < width(&w[0]), "the bracket grew: {:?}", o.path);
        }
        let last = o.path.last().unwrap();
        assert_eq!((last.highest_passed, last.lowest_failed), (o.max_rate, o.failed_at));
    }

    fn summary_with(latency_from_due_ms: [f64; 5]) -> Summary {
        let mut s: Summary = serde_json::from_value(serde_json::json!({
            "scenario": "s", "semantics": "cadcad", "jobs": 1, "jobs_failed": 0, "records": 0, "substeps": 0,
            "messages_emitted": 10, "delivery": {"produced": 10, "acked": 10, "failed": 0, "bytes_acked": 0,
            "ack_seconds": 1.0, "latency_ms": null, "latency_from_due_ms": null, "measured_acked": 10,
            "measured_bytes": 0, "measured_seconds": 1.0, "first_error": null, "warnings": []},
            "kafka": "k", "threads": 1, "wall_seconds": 1.0, "sim_seconds": 1.0, "generation_seconds": 0.0,
            "publish_seconds": 0.0, "substeps_per_sec": 0.0, "msgs_per_sec": 10.0, "mb_per_sec": 0.0,
            "outputs": [], "shard": null, "expected_records": null, "interrupted": false, "jobs_interrupted": 0,
            "data_plane": "x"
        }))
        .expect("a summary");
        s.delivery.latency_from_due_ms = Some(latency_from_due_ms);
        s
    }

    #[test]
    fn every_percentile_key_judges_its_own_percentile() {
        // p50 1 ms, p90 2 ms, p99 5 ms, p99.9 9 ms, max 40 ms.
        let s = summary_with([1.0, 2.0, 5.0, 9.0, 40.0]);
        for (slo, ok) in [
            ("p50=1ms", true),
            ("p50=900us", false),
            ("p90=2ms", true),
            ("p90=1.5ms", false),
            ("p99=5ms", true),
            ("p99=4ms", false),
            ("p99.9=10ms", true),
            ("p99.9=8ms", false),
            ("max=0.04s", true),
            ("max=39ms", false),
        ] {
            let v = judge(&s, &[slo.parse().unwrap()]);
            assert_eq!(v.is_ok(), ok, "{slo}: {v:?}");
            if let Err(why) = v {
                assert!(why.starts_with(slo.split('=').next().unwrap()), "{slo}: {why}");
            }
        }
        let mut lost = summary_with([1.0; 5]);
        lost.delivery.acked = 9;
        assert_eq!(judge(&lost, &[]).unwrap_err(), "1 of 10 messages not acknowledged");
    }

    #[test]
    fn the_ceiling_passing_and_nothing_passing_are_said_plainly() {
        let slos = ["p99=10ms".parse().unwrap()];
        let cfg = SearchConfig { trials: 2, max_halvings: 3, ..Default::default() };
        let all = search(1000.0, &slos, &cfg, |r, t| Ok(trial(r, t, true))).unwrap();
        assert_eq!((all.max_rate, all.failed_at, all.iterations), (Some(1000.0), None, 1));
        assert!(all.statement.contains("ceiling"));
        let none = search(1000.0, &slos, &cfg, |r, t| Ok(trial(r, t, false))).unwrap();
        assert_eq!(none.max_rate, None);
        assert!(none.statement.starts_with("no rate down to 125"), "{}", none.statement);
    }
}
