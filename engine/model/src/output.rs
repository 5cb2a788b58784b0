//! The interfaces a run writes its output through, and what they report back. The simulation
//! hands records and messages to these traits; the sinks crate implements them (files, Kafka), so
//! the simulation never depends on a file format or a Kafka client.

use crate::message::OutMessage;
use crate::plan::JobId;
use crate::record::PackedRecords;
use std::io;
use std::path::Path;
use std::time::Duration;

/// Delivery figures at the end of a run.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct DeliveryStats {
    /// Messages handed to the producer.
    pub produced: u64,
    /// Messages the broker acknowledged.
    pub acked: u64,
    /// Messages that failed (enqueue or delivery), never silently dropped.
    pub failed: u64,
    /// Key + value bytes acknowledged.
    pub bytes_acked: u64,
    /// Seconds from the first send to the last acknowledgement.
    pub ack_seconds: f64,
    /// Delivery latency percentiles in milliseconds (p50, p90, p99, p99.9, max), from enqueue to
    /// acknowledgement, after the warm-up.
    pub latency_ms: Option<[f64; 5]>,
    /// With a target rate: the same percentiles measured from each message's due time, which
    /// includes the time a late sender fell behind (coordinated omission corrected).
    pub latency_from_due_ms: Option<[f64; 5]>,
    /// Acknowledged after the warm-up, and over which span: what the throughput figures use.
    pub measured_acked: u64,
    pub measured_bytes: u64,
    pub measured_seconds: f64,
    /// The first delivery error, verbatim from librdkafka.
    pub first_error: Option<String>,
    /// When the first message was sent (Unix ms): the origin of the delivery clock that the
    /// warm-up, the pacing and the figures above count from. `None` when nothing was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_unix_ms: Option<f64>,
    /// The latency from enqueue to acknowledgement at 50 %, 75 %, 90 % … 99.999 % and 100 %
    /// (after the warm-up): the points of an HDR percentile plot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency_distribution: Vec<PercentilePoint>,
    /// Every second of the run on the delivery clock, warm-up included: acknowledgements and
    /// their latency (from the due time when paced), so a stall or a broker restart shows. Per
    /// run; `engine merge` leaves it out (shards' seconds are not the same seconds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_second: Vec<SecondStats>,
    /// Warnings the user must see (e.g. the embedded broker dropped data).
    pub warnings: Vec<String>,
    /// The latency histograms themselves (in metrics.json, for `engine merge`).
    #[serde(skip)]
    pub buckets: Buckets,
    /// With `kafka.transactions` on: what was committed and aborted. `acked` above still counts
    /// broker acknowledgements (a message of an aborted transaction can be acknowledged); a
    /// `read_committed` consumer sees exactly `messages_committed` of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactions: Option<TxnStats>,
}

/// One point of a latency distribution.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PercentilePoint {
    pub percentile: f64,
    pub latency_ms: f64,
}

/// Acknowledgements in one second of a run (`second` counts from the first send).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SecondStats {
    pub second: u64,
    pub acked: u64,
    pub bytes: u64,
    /// `None` for a second without acknowledgements.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

/// Kafka transactions of a run (`kafka.transactions`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TxnStats {
    /// `timestep` or `block`.
    pub mode: String,
    /// Transactions committed and aborted (a transaction holds at least one message).
    pub committed: u64,
    pub aborted: u64,
    /// Messages in committed and in aborted transactions.
    pub messages_committed: u64,
    pub messages_aborted: u64,
    /// Time of each commit call in milliseconds (p50, p90, p99, p99.9, max): how long a
    /// transaction's messages wait, after the last one is sent, before consumers can read them.
    pub commit_ms: Option<[f64; 5]>,
}

impl TxnStats {
    /// Add another shard's counts. Commit times are percentiles, which cannot be merged: they are
    /// dropped rather than made up.
    pub fn add(&mut self, o: &TxnStats) {
        self.committed += o.committed;
        self.aborted += o.aborted;
        self.messages_committed += o.messages_committed;
        self.messages_aborted += o.messages_aborted;
        self.commit_ms = None;
    }
}

/// A point in a job where a sink that groups messages (Kafka transactions) may close a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// Block `substep` of `timestep` succeeded and its messages (and record) were sent.
    Block { timestep: u64, substep: u32 },
    /// Every block of `timestep` succeeded and its messages were sent.
    Timestep { timestep: u64 },
}

/// A destination for plugin-emitted messages. Called from worker threads.
pub trait MessageSink: Send + Sync {
    /// Hand one message to the producer.
    fn send(&self, msg: &OutMessage) -> Result<(), String>;
    /// Wait for outstanding deliveries (at most `timeout`) and report.
    fn finish(&self, timeout: Duration) -> DeliveryStats;
    /// One line for the summary: where the messages went.
    fn describe(&self) -> String;

    // Where jobs are. The simulation calls these from the job's worker thread, in order: one
    // `job_started`, then `send`s and `boundary`s as blocks and timesteps succeed, then one
    // `job_ended` (also after a failure). A sink that does not group messages ignores them; every
    // message a job sends carries its job index in `meta.job`. Errors fail the job.

    /// `job` is about to run (a transactional sink opens its producer here).
    fn job_started(&self, _job: &JobId) -> Result<(), String> {
        Ok(())
    }
    /// `job` reached `at`: everything sent since the previous boundary belongs to it.
    fn boundary(&self, _job: &JobId, _at: Boundary) -> Result<(), String> {
        Ok(())
    }
    /// Whether this sink reads [`MessageSink::boundary`] (it groups messages). A sink that says
    /// `false` is not told of boundaries: the simulation skips the calls (one per block and
    /// timestep otherwise).
    fn reads_boundaries(&self) -> bool {
        true
    }
    /// Whether handing a message over may take time worth measuring (a producer's queue,
    /// back-pressure). A sink that says `false` (it only counts) is not timed: two clock reads
    /// per block of messages saved, and `publish_seconds` is 0.
    fn timed(&self) -> bool {
        true
    }
    /// `job` ended: `commit` if it completed (or was interrupted after a complete timestep), else
    /// it failed and what it sent since its last boundary must be discarded.
    fn job_ended(&self, _job: &JobId, _commit: bool) -> Result<(), String> {
        Ok(())
    }
}

/// Where a run's records go, one job at a time in cadCAD order (see [`crate::record`]).
pub trait RecordWriter: Send {
    /// All records of one job, in order. Called from one thread, jobs in cadCAD order.
    fn write_job(&mut self, job: &JobId, records: &PackedRecords) -> io::Result<()>;
    fn finish(&mut self) -> io::Result<()>;
    fn path(&self) -> &Path;
}

/// Histograms as (µs, count) pairs: exact, and what shards send to `engine merge`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Buckets {
    pub latency_us: Vec<(u64, u64)>,
    pub latency_from_due_us: Vec<(u64, u64)>,
    /// The latency of each second of `per_second` (same index), so that `engine merge` can give
    /// a sharded run's seconds their percentiles. Absent in metrics.json of older engines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_second_us: Vec<Vec<(u64, u64)>>,
}
