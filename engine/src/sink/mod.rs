//! Where a run's output goes: records to local files ([`records`]), messages to Kafka ([`kafka`]) or
//! nowhere ([`NullSink`], for benchmarks that measure the model alone).

pub mod kafka;
pub mod measure;
pub mod message;
pub mod records;

use message::OutMessage;
use std::sync::atomic::{AtomicU64, Ordering};
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
    pub buckets: measure::Buckets,
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

/// Counts messages and drops them.
#[derive(Default)]
pub struct NullSink {
    count: AtomicU64,
}

impl MessageSink for NullSink {
    fn send(&self, _msg: &OutMessage) -> Result<(), String> {
        self.count.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
    fn finish(&self, _timeout: Duration) -> DeliveryStats {
        DeliveryStats { produced: self.count.load(Ordering::Relaxed), ..Default::default() }
    }
    fn describe(&self) -> String {
        "none (--kafka none: messages were generated and discarded)".into()
    }
}
