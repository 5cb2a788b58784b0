//! What a run ends with: its summary (`summary.json`), or why it did not succeed — typed, so the
//! binary decides how to show it and which exit code it means.

use crate::metrics::MetricsError;
use distroduce_model::ConfigErrors;
use distroduce_plugin_host::wasm::LoadError;
use distroduce_registry::RegistryError;
use distroduce_sim::{JobFailure, SimError};
use distroduce_sink::DeliveryStats;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The end-of-run summary, printed as a table and written as `summary.json`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Summary {
    pub scenario: String,
    /// Whose rules the run followed; it decides the job order `engine merge` restores.
    #[serde(default)]
    pub semantics: distroduce_model::types::Semantics,
    pub jobs: usize,
    pub jobs_failed: usize,
    pub records: u64,
    pub substeps: u64,
    pub messages_emitted: u64,
    pub delivery: DeliveryStats,
    pub kafka: String,
    pub threads: usize,
    pub wall_seconds: f64,
    /// Time running jobs, without plugin compilation and the final flush.
    pub sim_seconds: f64,
    /// Thread-seconds spent generating (plugin calls, aggregation, records), summed over jobs.
    pub generation_seconds: f64,
    /// Thread-seconds spent handing messages to the producer, summed over jobs.
    pub publish_seconds: f64,
    pub substeps_per_sec: f64,
    /// Acknowledged messages per second of acknowledgement time.
    pub msgs_per_sec: f64,
    pub mb_per_sec: f64,
    pub outputs: Vec<PathBuf>,
    /// `[index, count]` when this run was one shard of a distributed run.
    #[serde(default)]
    pub shard: Option<(u32, u32)>,
    /// Lines written to `expected.jsonl` (none without `expectations`, or in a shard run, which
    /// writes `expected.partial.jsonl` for `engine merge`).
    #[serde(default)]
    pub expected_records: Option<u64>,
    /// The run was stopped early (SIGINT/SIGTERM): the figures cover what ran until then.
    #[serde(default)]
    pub interrupted: bool,
    /// Jobs that were stopped or never started because of the interruption.
    #[serde(default)]
    pub jobs_interrupted: usize,
    /// The run went to its end (it may still have failed jobs); false if it was interrupted.
    /// A `summary.json` left by a killed run holds `completed: false` and no figures.
    #[serde(default)]
    pub completed: bool,
    /// `fused` when the jobs ran in the plugin's in-guest loop (ABI.md §10), `host` otherwise.
    #[serde(default)]
    pub data_plane: String,
    /// Bytes of records (and `messages.jsonl` lines) that waited in a temporary file for their
    /// job's turn (past `--record-window`), and the most memory such batches held at once.
    #[serde(default)]
    pub records_spilled_bytes: u64,
    #[serde(default)]
    pub records_held_peak_bytes: u64,
}

/// `metrics.json`: what `engine merge` needs from each shard besides its records and messages.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ShardMetrics {
    pub summary: Summary,
    /// Wall-clock window of the throughput figures, in ms since the Unix epoch (after the warm-up
    /// until the last acknowledgement), so shards that ran in parallel merge into one rate.
    pub measured_from_unix_ms: f64,
    pub measured_to_unix_ms: f64,
    pub buckets: distroduce_model::output::Buckets,
}

/// Why `engine run` (or `validate`, `bench`) did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scenario or a command-line override is wrong (with `file:line:col` or the flag).
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    /// A plugin could not be built, compiled or instantiated.
    #[error("{0}")]
    Plugins(String),
    /// The options cannot work together (e.g. an oracle topic in a shard run).
    #[error("{0}")]
    Usage(String),
    #[error("Kafka: {0}")]
    Kafka(String),
    /// `format: avro`: a schema is invalid or incompatible (bad input), or the registry failed.
    #[error("{0}")]
    Registry(#[from] RegistryError),
    /// The live metrics endpoint could not start (address in use, not loopback); nothing ran.
    #[error("{0}")]
    Metrics(#[from] MetricsError),
    /// An output file could not be written; what was written before is on disk.
    #[error("cannot write {}: {source}", path.display())]
    Output { path: PathBuf, source: std::io::Error },
    /// The run could not go on (a record file could not be written); the messages produced until
    /// then were still flushed to Kafka, with this outcome.
    #[error("{source}; the {} messages produced before were flushed: {} acknowledged, {} failed", .delivery.produced, .delivery.acked, .delivery.failed)]
    Sim { source: SimError, delivery: Box<DeliveryStats> },
    /// Some jobs failed; what was produced is on disk and in the summary.
    #[error("{} of {} jobs failed", .failures.len(), .summary.jobs)]
    JobsFailed { failures: Vec<JobFailure>, summary: Box<Summary> },
    /// The run was interrupted; what was produced until then is on disk and in the summary.
    #[error("interrupted: {} of {} jobs did not finish; records and messages produced before were written", .summary.jobs_interrupted, .summary.jobs)]
    Interrupted { summary: Box<Summary> },
    /// Every job finished but some messages were not delivered.
    #[error("{} messages were not delivered", .summary.delivery.failed + .summary.delivery.produced.saturating_sub(.summary.delivery.acked + .summary.delivery.failed))]
    Undelivered { summary: Box<Summary> },
}

impl RunError {
    pub(crate) fn output(path: &Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Output { path: path.to_path_buf(), source }
    }

    /// The summary of a run that went to the end but failed (jobs or deliveries), if any.
    pub fn summary(&self) -> Option<&Summary> {
        match self {
            Self::JobsFailed { summary, .. } | Self::Undelivered { summary } | Self::Interrupted { summary } => {
                Some(summary)
            }
            _ => None,
        }
    }
}

impl From<LoadError> for RunError {
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::Scenario(c) => RunError::Config(c),
            LoadError::Engine(m) => RunError::Plugins(m),
        }
    }
}
