//! Where a run's output goes: records to local files ([`records`], [`parquet`]), messages to Kafka ([`kafka`]) or
//! nowhere ([`NullSink`], for benchmarks that measure the model alone).

mod clock;
pub mod kafka;
pub mod kafka_check;
mod kafka_setup;
pub mod kafka_txn;
pub mod measure;
pub mod metrics;
mod opaque;
pub mod parquet;
pub mod records;
pub mod series;
mod topic_handle;

use distroduce_model::message::OutMessage;
pub use distroduce_model::output::{DeliveryStats, MessageSink, RecordWriter};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

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
    fn reads_boundaries(&self) -> bool {
        false
    }
    fn timed(&self) -> bool {
        false
    }
}
