//! `engine merge`: combine the outputs of `engine run --shard I/N` into exactly what one local run
//! writes: records and messages in the run's job order (cadCAD's subset-major or radCAD's
//! run-major, by the shards' `semantics`), totals added, latency histograms merged, and
//! throughput over the shards' common wall-clock window.

mod lines;
mod series;

use crate::run::{ShardMetrics, Summary};
use distroduce_model::expect::compute::{write_jsonl, Partial, Totals};
use distroduce_model::layout;
use distroduce_model::types::Semantics;
use distroduce_sink::measure::{distribution, from_buckets, percentiles, Buckets};
use lines::merge_lines;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why shard outputs could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{0}")]
    Shards(String),
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    #[error("{path}:{line}: {error}")]
    Line { path: PathBuf, line: usize, error: String },
    #[error("{0}")]
    Parquet(#[from] distroduce_sink::parquet::merge::MergeParquetError),
}

/// A shard's metrics.json is a few KiB (a per-second series adds ~100 bytes a second); a path
/// that leads to something endless must not be read whole.
const MAX_METRICS_JSON_BYTES: u64 = 256 << 20;

/// A shard's `expected.partial.jsonl` holds one line per expectation group of each of its jobs,
/// far below this; the merge holds every shard's at once.
const MAX_EXPECTED_PARTIAL_BYTES: u64 = 256 << 20;

fn read(path: &Path, limit: u64) -> Result<String, MergeError> {
    distroduce_model::files::read_capped_string(path, limit)
        .map_err(|error| MergeError::Io { path: path.to_path_buf(), error })
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T, pretty: bool) -> Result<(), MergeError> {
    layout::write_json(path, value, pretty).map_err(|error| MergeError::Io { path: path.to_path_buf(), error })
}

/// (simulation, subset, run) as read from a line.
type JobKey = (u64, u64, u64);

/// The sort key of a job in output order (`Model::jobs`): subset-major for cadCAD, run-major for
/// radCAD.
fn output_order(semantics: Semantics, (simulation, subset, run): JobKey) -> JobKey {
    match semantics {
        Semantics::Cadcad => (simulation, subset, run),
        Semantics::Radcad => (simulation, run, subset),
    }
}

/// The shards' `records.parquet` through the writer of a local run: the same bytes (see
/// `distroduce_sink::parquet::merge`).
fn merge_parquet(dirs: &[PathBuf], out: &Path, semantics: Semantics) -> Result<Option<PathBuf>, MergeError> {
    let name = layout::RECORDS_PARQUET;
    let present: Vec<bool> = dirs.iter().map(|d| d.join(name).is_file()).collect();
    if present.iter().all(|p| !p) {
        return Ok(None);
    }
    if let Some(i) = present.iter().position(|p| !p) {
        return Err(MergeError::Shards(format!("{} has no {name}, but other shards do", dirs[i].display())));
    }
    let inputs: Vec<PathBuf> = dirs.iter().map(|d| d.join(name)).collect();
    let path = out.join(name);
    distroduce_sink::parquet::merge::merge_shards(&inputs, &path, |[a, b, c]| {
        let (x, y, z) = output_order(semantics, (a, b, c));
        [x, y, z]
    })?;
    Ok(Some(path))
}

fn json_key(line: &str) -> Result<JobKey, String> {
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let n = |k: &str| v[k].as_u64().ok_or_else(|| format!("no integer `{k}`"));
    Ok((n("simulation")?, n("subset")?, n("run")?))
}

/// CSV records end with the plain integers `simulation,subset,run,substep,timestep`.
fn csv_key(line: &str) -> Result<JobKey, String> {
    let f: Vec<&str> = line.rsplitn(6, ',').collect();
    let n = |i: usize| f.get(i).and_then(|x| x.parse().ok()).ok_or("bad bookkeeping columns");
    Ok((n(4)?, n(3)?, n(2)?))
}

/// Merge the shard output directories into `out`.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Summary, MergeError> {
    let mut metrics = Vec::new();
    for d in dirs {
        let path = d.join(layout::METRICS_JSON);
        // A shard directory comes from elsewhere (a cluster's executors): opening a FIFO there
        // would wait for a writer forever.
        if path.metadata().is_ok_and(|m| !m.is_file()) {
            return Err(MergeError::Shards(format!("{} is not a regular file", path.display())));
        }
        let text = distroduce_model::files::read_capped_string(&path, MAX_METRICS_JSON_BYTES)
            .map_err(|error| MergeError::Io { path: path.clone(), error })?;
        let m: ShardMetrics = serde_json::from_str(&text).map_err(|e| {
            MergeError::Shards(format!("{}: {e}; is this the --out of an `engine run --shard I/N`?", path.display()))
        })?;
        metrics.push(m);
    }
    if let Some(i) = metrics.iter().position(|m| m.summary.interrupted) {
        return Err(MergeError::Shards(format!(
            "{} is the output of an interrupted run ({} jobs did not finish): run that shard again",
            dirs[i].display(),
            metrics[i].summary.jobs_interrupted
        )));
    }
    check_shards(dirs, &metrics)?;
    // Merging into a shard's own directory would replace its files with the merged ones.
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    if let Some(d) = canonical(out).and_then(|o| dirs.iter().find(|d| canonical(d).as_ref() == Some(&o))) {
        return Err(MergeError::Shards(format!(
            "--out {} is the shard directory {}: merging there would overwrite that shard's files; choose another --out",
            out.display(),
            d.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(|error| MergeError::Io { path: out.to_path_buf(), error })?;
    let mut outputs = Vec::new();
    let semantics = metrics[0].summary.semantics;
    outputs.extend(merge_lines(dirs, layout::RECORDS_JSONL, out, false, semantics, json_key)?);
    outputs.extend(merge_lines(dirs, layout::RECORDS_CSV, out, true, semantics, csv_key)?);
    outputs.extend(merge_parquet(dirs, out, semantics)?);
    outputs.extend(merge_lines(dirs, layout::MESSAGES_JSONL, out, false, semantics, json_key)?);
    let expected = merge_expected(dirs, out)?;
    if let Some((path, _)) = &expected {
        outputs.push(path.clone());
    }

    let s: Vec<&Summary> = metrics.iter().map(|m| &m.summary).collect();
    let sum = |f: &dyn Fn(&Summary) -> u64| s.iter().map(|x| f(x)).sum::<u64>();
    let fsum = |f: &dyn Fn(&Summary) -> f64| s.iter().map(|x| f(x)).sum::<f64>();
    let fmax = |f: &dyn Fn(&Summary) -> f64| s.iter().map(|x| f(x)).fold(0.0, f64::max);
    let from = metrics.iter().map(|m| m.measured_from_unix_ms).fold(f64::INFINITY, f64::min);
    let to = metrics.iter().map(|m| m.measured_to_unix_ms).fold(0.0, f64::max);
    let window = ((to - from) / 1e3).max(0.0);
    let shards: Vec<_> = metrics.iter().map(|m| (&m.summary.delivery, &m.buckets)).collect();
    let (per_second, per_second_us) = series::merge_series(&shards);
    let buckets = Buckets {
        latency_us: metrics.iter().flat_map(|m| m.buckets.latency_us.iter().copied()).collect(),
        latency_from_due_us: metrics.iter().flat_map(|m| m.buckets.latency_from_due_us.iter().copied()).collect(),
        per_second_us,
    };
    let mut delivery = s[0].delivery.clone();
    delivery.produced = sum(&|x| x.delivery.produced);
    delivery.acked = sum(&|x| x.delivery.acked);
    delivery.failed = sum(&|x| x.delivery.failed);
    delivery.bytes_acked = sum(&|x| x.delivery.bytes_acked);
    delivery.measured_acked = sum(&|x| x.delivery.measured_acked);
    delivery.measured_bytes = sum(&|x| x.delivery.measured_bytes);
    delivery.measured_seconds = window;
    delivery.ack_seconds = fmax(&|x| x.delivery.ack_seconds);
    delivery.latency_ms = percentiles(&from_buckets(&buckets.latency_us));
    delivery.latency_from_due_ms = percentiles(&from_buckets(&buckets.latency_from_due_us));
    delivery.latency_distribution = distribution(&from_buckets(&buckets.latency_us));
    delivery.per_second = per_second;
    delivery.started_unix_ms = s.iter().filter_map(|x| x.delivery.started_unix_ms).reduce(f64::min);
    delivery.first_error = s.iter().find_map(|x| x.delivery.first_error.clone());
    delivery.warnings = s.iter().flat_map(|x| x.delivery.warnings.clone()).collect();
    delivery.buckets = buckets.clone();
    delivery.transactions = s.iter().filter_map(|x| x.delivery.transactions.as_ref()).fold(None, |acc, t| {
        let mut acc =
            acc.unwrap_or_else(|| distroduce_model::output::TxnStats { mode: t.mode.clone(), ..Default::default() });
        acc.add(t);
        Some(acc)
    });
    let substeps = sum(&|x| x.substeps);
    let sim = fmax(&|x| x.sim_seconds);
    let summary = Summary {
        scenario: s[0].scenario.clone(),
        semantics: s[0].semantics,
        jobs: s.iter().map(|x| x.jobs).sum(),
        jobs_failed: s.iter().map(|x| x.jobs_failed).sum(),
        records: sum(&|x| x.records),
        substeps,
        messages_emitted: sum(&|x| x.messages_emitted),
        kafka: s[0].kafka.clone(),
        threads: s.iter().map(|x| x.threads).sum(),
        wall_seconds: fmax(&|x| x.wall_seconds),
        sim_seconds: sim,
        generation_seconds: fsum(&|x| x.generation_seconds),
        publish_seconds: fsum(&|x| x.publish_seconds),
        substeps_per_sec: if sim > 0.0 { substeps as f64 / sim } else { 0.0 },
        msgs_per_sec: if window > 0.0 { delivery.measured_acked as f64 / window } else { 0.0 },
        mb_per_sec: if window > 0.0 { delivery.measured_bytes as f64 / 1e6 / window } else { 0.0 },
        delivery,
        outputs,
        shard: None,
        expected_records: expected.map(|(_, n)| n),
        interrupted: false,
        jobs_interrupted: 0,
        completed: s.iter().all(|x| x.completed),
        data_plane: s[0].data_plane.clone(),
        records_spilled_bytes: sum(&|x| x.records_spilled_bytes),
        records_held_peak_bytes: s.iter().map(|x| x.records_held_peak_bytes).max().unwrap_or(0),
    };
    write_json(&out.join(layout::SUMMARY_JSON), &summary, true)?;
    let merged =
        ShardMetrics { summary: summary.clone(), measured_from_unix_ms: from, measured_to_unix_ms: to, buckets };
    write_json(&out.join(layout::METRICS_JSON), &merged, false)?;
    Ok(summary)
}

/// Fold the shards' `expected.partial.jsonl` in job order, as a local run does, into
/// `expected.jsonl`; returns its path and number of records.
fn merge_expected(dirs: &[PathBuf], out: &Path) -> Result<Option<(PathBuf, u64)>, MergeError> {
    let name = layout::EXPECTED_PARTIAL_JSONL;
    let present: Vec<bool> = dirs.iter().map(|d| d.join(name).is_file()).collect();
    if present.iter().all(|p| !p) {
        return Ok(None);
    }
    if let Some(i) = present.iter().position(|p| !p) {
        return Err(MergeError::Shards(format!("{} has no {name}, but other shards do", dirs[i].display())));
    }
    let mut partials = Vec::new();
    for d in dirs {
        let path = d.join(name);
        for (i, l) in read(&path, MAX_EXPECTED_PARTIAL_BYTES)?.lines().enumerate() {
            let p: Partial = serde_json::from_str(l).map_err(|e| MergeError::Line {
                path: path.clone(),
                line: i + 1,
                error: e.to_string(),
            })?;
            partials.push(p);
        }
    }
    // Stable: within a job, the shard wrote its groups in order.
    partials.sort_by_key(|p| p.job);
    let mut totals = Totals::default();
    partials.iter().for_each(|p| totals.add(p));
    let records = totals.records();
    let path = out.join(layout::EXPECTED_JSONL);
    write_jsonl(&path, &records).map_err(|error| MergeError::Io { path: path.clone(), error })?;
    Ok(Some((path, records.len() as u64)))
}

/// The shards must be the N distinct shards of one scenario.
fn check_shards(dirs: &[PathBuf], metrics: &[ShardMetrics]) -> Result<(), MergeError> {
    if metrics.is_empty() {
        return Err(MergeError::Shards("no shard directories given".into()));
    }
    let name = &metrics[0].summary.scenario;
    let mut seen = BTreeMap::new();
    let mut count = None;
    for (d, m) in dirs.iter().zip(metrics) {
        if &m.summary.scenario != name {
            return Err(MergeError::Shards(format!(
                "{} is scenario `{}`, not `{name}`",
                d.display(),
                m.summary.scenario
            )));
        }
        if m.summary.semantics != metrics[0].summary.semantics {
            return Err(MergeError::Shards(format!(
                "{} ran with `semantics: {}`, other shards with `{}`",
                d.display(),
                m.summary.semantics,
                metrics[0].summary.semantics
            )));
        }
        let (i, n) = m.summary.shard.unwrap_or((0, 1));
        if *count.get_or_insert(n) != n {
            return Err(MergeError::Shards(format!(
                "{} is shard {i}/{n}, but others were split into {}",
                d.display(),
                count.unwrap_or(n)
            )));
        }
        if let Some(prev) = seen.insert(i, d) {
            return Err(MergeError::Shards(format!(
                "shard {i}/{n} appears twice: {} and {}",
                prev.display(),
                d.display()
            )));
        }
    }
    let n = count.unwrap_or(1);
    if let Some((i, d)) = seen.iter().find(|(i, _)| **i >= n) {
        return Err(MergeError::Shards(format!("{} claims to be shard {i}/{n}, which does not exist", d.display())));
    }
    // Each directory is a distinct shard below n, so exactly n - dirs shards are missing: name the
    // first few (a forged count of 4 billion must not list them all).
    let missing: Vec<String> = (0..n).filter(|i| !seen.contains_key(i)).take(10).map(|i| format!("{i}/{n}")).collect();
    if !missing.is_empty() {
        let more = (n as usize).saturating_sub(seen.len()).saturating_sub(missing.len());
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        return Err(MergeError::Shards(format!("missing shard(s) {}{more}", missing.join(", "))));
    }
    Ok(())
}
