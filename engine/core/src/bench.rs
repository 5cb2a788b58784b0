//! `engine bench`: run one scenario under a matrix of producer settings (and partitions, params,
//! runs, transactions) and report which gives this workload the best throughput and latency, as a CSV/JSON
//! results matrix and a self-contained HTML report (see [`crate::report`]).
//!
//! Plugins are compiled once and shared by every cell; each cell gets a fresh producer and, on a
//! real cluster, fresh topics (so a partition count can differ between cells).

use crate::run::{self as app, KafkaTarget, RunArgs, RunError, Summary};
use distroduce_model::value::json::from_json;
use distroduce_model::Model;
use distroduce_plugin_host::wasm::WasmBackend;
use distroduce_scenario::limits::{MAX_BENCH_CELLS, MAX_JOBS, MAX_PARTITIONS, MAX_RECORDS};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One dimension of the matrix: `linger.ms=0,5,50`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Axis {
    pub key: String,
    pub values: Vec<String>,
}

impl std::str::FromStr for Axis {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (key, vals) =
            s.split_once('=').ok_or_else(|| format!("`{s}`: write KEY=V1,V2,..., e.g. linger.ms=0,5,50"))?;
        let values: Vec<String> = vals.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
        if key.trim().is_empty() || values.is_empty() {
            return Err(format!("`{s}`: needs a key and at least one value"));
        }
        Ok(Axis { key: key.trim().to_string(), values })
    }
}

#[derive(Debug, Clone)]
pub struct BenchArgs {
    pub run: RunArgs,
    pub axes: Vec<Axis>,
    /// Repetitions of every cell.
    pub repeat: u32,
}

/// One run of one configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub settings: Vec<(String, String)>,
    pub repetition: u32,
    pub summary: Option<Summary>,
    pub error: Option<String>,
}

impl Cell {
    pub fn label(&self) -> String {
        if self.settings.is_empty() {
            return "scenario defaults".into();
        }
        self.settings.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
    }
}

/// How many cells `combinations(axes)` repeated `repeat` times gives, saturating.
pub fn cell_count(axes: &[Axis], repeat: u64) -> u64 {
    axes.iter().fold(repeat.max(1), |n, a| n.saturating_mul(a.values.len() as u64))
}

/// Every combination of the axes' values, first axis slowest.
pub fn combinations(axes: &[Axis]) -> Vec<Vec<(String, String)>> {
    axes.iter().fold(vec![Vec::new()], |acc, axis| {
        acc.into_iter()
            .flat_map(|prefix| {
                axis.values.iter().map(move |v| {
                    let mut c = prefix.clone();
                    c.push((axis.key.clone(), v.clone()));
                    c
                })
            })
            .collect()
    })
}

/// Apply one cell's settings to a copy of the model. `cell` makes topic names unique on real
/// clusters, since partitions cannot shrink on an existing topic.
pub fn configure(
    model: &Model,
    settings: &[(String, String)],
    cell: usize,
    fresh_topics: bool,
) -> Result<Model, String> {
    let mut m = model.clone();
    for (k, v) in settings {
        if k == "partitions" {
            let n: i32 = v.parse().map_err(|_| format!("partitions={v}: not a number"))?;
            if !(1..=MAX_PARTITIONS).contains(&n) {
                return Err(format!("partitions={v}: between 1 and {MAX_PARTITIONS}"));
            }
            m.kafka.topics.iter_mut().for_each(|t| t.partitions = n);
        } else if k == "transactions" {
            // The cell's own transactional ids: a cell never fences the previous one's producers.
            m.kafka.transactions = v.parse().map_err(|e| format!("transactions={v}: {e}"))?;
            m.kafka.transactional_id_prefix = format!("{}-bench-{cell}", model.kafka.transactional_id_prefix);
        } else if k == "runs" {
            m.runs = v.parse().ok().filter(|r| *r > 0).ok_or_else(|| format!("runs={v}: not a positive number"))?;
            // The limits `--runs` is held to (README.md, "Resource limits").
            let jobs = m.subsets.len().max(1) as u128 * m.runs as u128;
            let records = jobs * (1 + m.timesteps as u128 * m.blocks.len() as u128);
            if m.runs > u32::MAX as u64 || jobs > MAX_JOBS as u128 || records > MAX_RECORDS as u128 {
                return Err(format!(
                    "runs={v}: {jobs} jobs and {records} records; the limits are {MAX_JOBS} jobs and {MAX_RECORDS} records"
                ));
            }
        } else if let Some(p) = k.strip_prefix("param.") {
            let value: serde_json::Value = serde_yaml::from_str(v).map_err(|e| format!("{k}={v}: {e}"))?;
            for s in &mut m.subsets {
                if !s.params.contains_key(p) {
                    return Err(format!("{k}: the scenario has no param `{p}`"));
                }
                s.params.insert(p.to_string(), value.clone());
                s.encoded = from_json(&serde_json::Value::Object(s.params.clone())).into();
            }
        } else if distroduce_model::secret::is_sensitive_property(k) {
            // The cell's settings go into bench.csv, bench.json and report.html.
            return Err(format!(
                "`{k}` is a credential and would be written to the bench report: set it in the scenario (kafka.sasl, from an env var or a file), not with --vary"
            ));
        } else {
            m.kafka.producer.retain(|(key, _)| key != k);
            m.kafka.producer.push((k.clone(), v.clone()));
        }
    }
    if fresh_topics {
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        m.kafka.topics.iter_mut().for_each(|t| t.name = format!("{}-bench-{stamp}-{cell}", t.name));
    }
    Ok(m)
}

/// Run the matrix. Cells that fail (e.g. a producer setting librdkafka rejects) are kept with their
/// error; the others still run.
pub fn run(args: &BenchArgs, mut on_cell: impl FnMut(&Cell)) -> Result<Vec<Cell>, RunError> {
    // Every cell's settings are written to bench.csv, bench.json and report.html.
    if let Some(a) = args.axes.iter().find(|a| distroduce_model::secret::is_sensitive_property(&a.key)) {
        return Err(RunError::Config(distroduce_model::ConfigErrors(vec![distroduce_model::Diagnostic {
            file: PathBuf::from("--vary"),
            pos: None,
            message: format!(
                "`{}` is a credential and cannot be varied: the settings of every cell go into the bench report",
                a.key
            ),
            hint: Some("set it in the scenario: kafka.sasl, with the password from {env: VAR} or {file: PATH}".into()),
        }])));
    }
    let cells = cell_count(&args.axes, args.repeat.into());
    if cells > MAX_BENCH_CELLS {
        return Err(RunError::Usage(format!(
            "the --vary matrix has {cells} cells (combinations × --repeat); the limit is {MAX_BENCH_CELLS}"
        )));
    }
    let model = distroduce_scenario::load_with(&args.run.scenario, &args.run.overrides())?;
    // A setting that cannot apply is the user's to fix before anything runs, not a failed cell.
    for settings in combinations(&args.axes) {
        configure(&model, &settings, 0, false).map_err(|e| RunError::Usage(format!("--vary: {e}")))?;
    }
    let (backend, resolved) = WasmBackend::load(&model)?;
    // One endpoint for the whole matrix, bound before any cell runs; each cell publishes its own
    // registry to it (a counter reset for Prometheus).
    let mut run_args = args.run.clone();
    if let (None, Some(addr)) = (&run_args.metrics_server, run_args.metrics_addr) {
        run_args.metrics_server =
            Some(std::sync::Arc::new(crate::metrics::MetricsServer::start(addr, run_args.metrics_allow_remote)?));
    }
    let fresh_topics = match &args.run.kafka {
        KafkaTarget::Brokers(_) => true,
        KafkaTarget::Auto => model.kafka.brokers.is_some(),
        KafkaTarget::None => false,
    };
    let mut cells = Vec::new();
    for (i, settings) in combinations(&args.axes).into_iter().enumerate() {
        for rep in 0..args.repeat.max(1) {
            let idx = cells.len();
            let mut cell = Cell { settings: settings.clone(), repetition: rep + 1, summary: None, error: None };
            match configure(&model, &settings, idx, fresh_topics) {
                Err(e) => cell.error = Some(e),
                Ok(mut m) => {
                    let base = args
                        .run
                        .out
                        .clone()
                        .unwrap_or_else(|| PathBuf::from("out").join(format!("{}-bench", model.name)));
                    m.output.dir = base.join(format!("cell-{i}-{rep}"));
                    match app::run_loaded(&m, &backend, &resolved, &run_args, None, Instant::now()) {
                        Ok(s) => cell.summary = Some(s),
                        Err(RunError::JobsFailed { summary, failures }) => {
                            cell.error = Some(failures.first().map(|f| f.to_string()).unwrap_or_default());
                            cell.summary = Some(*summary);
                        }
                        Err(RunError::Undelivered { summary }) => {
                            cell.error = Some(format!(
                                "{} messages not delivered",
                                summary.delivery.produced.saturating_sub(summary.delivery.acked)
                            ));
                            cell.summary = Some(*summary);
                        }
                        Err(e) => cell.error = Some(e.to_string()),
                    }
                }
            }
            on_cell(&cell);
            cells.push(cell);
        }
    }
    Ok(cells)
}

/// Write `bench.csv`, `bench.json` and `report.html` into `dir`.
pub fn write_results(dir: &Path, scenario: &str, axes: &[Axis], cells: &[Cell]) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut csv = String::new();
    let keys: Vec<&str> = axes.iter().map(|a| a.key.as_str()).collect();
    let header = [
        "repetition",
        "messages",
        "acked",
        "failed",
        "msgs_per_sec",
        "mb_per_sec",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "p999_ms",
        "max_ms",
        "generation_s",
        "publish_s",
        "wall_s",
        "error",
    ];
    csv.push_str(&keys.iter().copied().chain(header).collect::<Vec<_>>().join(","));
    csv.push('\n');
    for c in cells {
        let mut row: Vec<String> = c.settings.iter().map(|(_, v)| v.clone()).collect();
        row.push(c.repetition.to_string());
        match &c.summary {
            Some(s) => {
                let d = &s.delivery;
                let l = d.latency_ms.unwrap_or([f64::NAN; 5]);
                row.extend([
                    d.produced.to_string(),
                    d.acked.to_string(),
                    d.failed.to_string(),
                    format!("{:.1}", s.msgs_per_sec),
                    format!("{:.3}", s.mb_per_sec),
                ]);
                row.extend(l.iter().map(|x| if x.is_nan() { String::new() } else { format!("{x:.3}") }));
                row.extend([
                    format!("{:.3}", s.generation_seconds),
                    format!("{:.3}", s.publish_seconds),
                    format!("{:.3}", s.wall_seconds),
                ]);
            }
            None => row.extend(std::iter::repeat_n(String::new(), 13)),
        }
        row.push(c.error.clone().unwrap_or_default().replace([',', '\n'], ";"));
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    let paths = [dir.join("bench.csv"), dir.join("bench.json"), dir.join("report.html")];
    std::fs::write(&paths[0], csv)?;
    let json = serde_json::json!({"scenario": scenario, "axes": axes, "cells": cells});
    distroduce_model::layout::write_json(&paths[1], &json, true)?;
    std::fs::write(&paths[2], crate::report::html(scenario, cells))?;
    Ok(paths.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_parse_and_combine_first_axis_slowest() {
        let a: Axis = "linger.ms=0, 5".parse().unwrap();
        let b: Axis = "acks=1,all".parse().unwrap();
        assert!("nope".parse::<Axis>().is_err());
        assert!("k=".parse::<Axis>().is_err());
        let c = combinations(&[a, b]);
        assert_eq!(c.len(), 4);
        assert_eq!(c[1], vec![("linger.ms".to_string(), "0".to_string()), ("acks".to_string(), "all".to_string())]);
        assert_eq!(combinations(&[]), vec![Vec::<(String, String)>::new()]);
    }

    /// `--vary transactions=…` sets the mode, not a producer property, and gives every cell its own
    /// transactional ids, so that a cell never fences the producers of the one before.
    #[test]
    fn transactions_vary_the_mode_with_ids_per_cell() {
        use distroduce_model::types::TransactionMode;
        let chat = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/chat.yaml");
        let model = distroduce_scenario::load(&chat).unwrap();
        assert_eq!(model.kafka.transactional_id_prefix, "chat", "the default prefix is the scenario's name");
        let set = |v: &str| vec![("transactions".to_string(), v.to_string())];
        let m = configure(&model, &set("timestep"), 3, false).unwrap();
        assert_eq!(m.kafka.transactions, TransactionMode::Timestep);
        assert_eq!(m.kafka.transactional_id_prefix, "chat-bench-3");
        assert!(m.kafka.producer.is_empty());
        let m = configure(&model, &set("block"), 4, false).unwrap();
        assert_eq!(
            (m.kafka.transactions, m.kafka.transactional_id_prefix.as_str()),
            (TransactionMode::Block, "chat-bench-4")
        );
        let e = configure(&model, &set("sometimes"), 0, false).unwrap_err();
        assert!(e.contains("transactions=sometimes: unknown transaction mode"), "{e}");
    }
}
