//! The interfaces a run writes its output through, and what they report back. The simulation
//! hands records and messages to these traits; the sinks crate implements them (files, Kafka), so
//! the simulation never depends on a file format or a Kafka client.

use crate::message::OutMessage;
use crate::plan::JobId;
use crate::record::Record;
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
    /// Warnings the user must see (e.g. the embedded broker dropped data).
    pub warnings: Vec<String>,
    /// The latency histograms themselves (in metrics.json, for `engine merge`).
    #[serde(skip)]
    pub buckets: Buckets,
}

/// A destination for plugin-emitted messages. Called from worker threads.
pub trait MessageSink: Send + Sync {
    /// Hand one message to the producer.
    fn send(&self, msg: &OutMessage) -> Result<(), String>;
    /// Wait for outstanding deliveries (at most `timeout`) and report.
    fn finish(&self, timeout: Duration) -> DeliveryStats;
    /// One line for the summary: where the messages went.
    fn describe(&self) -> String;
}

/// Where a run's records go, one job at a time in cadCAD order (see [`crate::record`]).
pub trait RecordWriter: Send {
    /// All records of one job, in order. Called from one thread, jobs in cadCAD order.
    fn write_job(&mut self, job: &JobId, records: &[Record]) -> io::Result<()>;
    fn finish(&mut self) -> io::Result<()>;
    fn path(&self) -> &Path;
}

/// Histograms as (µs, count) pairs: exact, and what shards send to `engine merge`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Buckets {
    pub latency_us: Vec<(u64, u64)>,
    pub latency_from_due_us: Vec<(u64, u64)>,
}
