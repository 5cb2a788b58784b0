//! Live metrics of one run, rendered in the Prometheus text exposition format (version 0.0.4).
//!
//! Why here: the figures that matter to a Kafka user (acknowledgements per topic, ack latency,
//! what the producer still holds, librdkafka's own statistics) are only known inside the sink, so
//! the registry lives in the sink crate; the simulation reports substeps, timesteps and jobs into
//! it through the `Progress` hooks, and the HTTP endpoint that serves it is the core crate's
//! (`distroduce::metrics`). Everything is a relaxed atomic: the hot path pays one or two
//! `fetch_add` per message, and only when `--metrics-addr` asks for metrics.
//!
//! Counters only grow during a run; a new run (or `engine bench` cell) starts a new registry, which a
//! Prometheus server sees as a counter reset.

use super::{DeliveryStats, MessageSink};
use distroduce_model::message::OutMessage;
use distroduce_model::output::Boundary;
use distroduce_model::JobId;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the ack-latency histogram's buckets, in µs (0.5 ms … 30 s, then `+Inf`):
/// fine where a healthy local or cloud cluster acknowledges, coarse where it is in trouble.
pub const LATENCY_BOUNDS_US: [u64; 15] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000,
    10_000_000, 30_000_000,
];

/// A Prometheus histogram of ack latencies with fixed buckets ([`LATENCY_BOUNDS_US`]).
/// The HdrHistogram in [`crate::measure`] stays the benchmark's exact figure (after the warm-up);
/// this one is what a dashboard can aggregate and take `histogram_quantile` of.
#[derive(Debug)]
pub struct LatencyHistogram {
    /// Per bucket (not cumulative), the last one for values above every bound.
    counts: [AtomicU64; LATENCY_BOUNDS_US.len() + 1],
    sum_us: AtomicU64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self { counts: std::array::from_fn(|_| AtomicU64::new(0)), sum_us: AtomicU64::new(0) }
    }
}

impl LatencyHistogram {
    pub fn record_us(&self, us: u64) {
        let i = LATENCY_BOUNDS_US.partition_point(|&b| b < us);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }
}

/// A few fields of librdkafka's statistics (`statistics.interval.ms`), the last report seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LibrdkafkaStats {
    /// Messages in the producer's queues (`msg_cnt`).
    pub msg_cnt: u64,
    /// Their size in bytes (`msg_size`).
    pub msg_size: u64,
    /// Ops waiting in the reply queue for the application to serve (`replyq`).
    pub replyq: i64,
    /// Requests, bytes and messages sent to brokers (`tx`, `tx_bytes`, `txmsgs`, `txmsg_bytes`).
    pub tx: i64,
    pub tx_bytes: i64,
    pub txmsgs: i64,
    pub txmsg_bytes: i64,
    /// Responses and bytes received from brokers (`rx`, `rx_bytes`).
    pub rx: i64,
    pub rx_bytes: i64,
}

/// Per topic counters, indexed like the run's `kafka.topics`.
#[derive(Debug, Default)]
struct TopicCounters {
    emitted: AtomicU64,
    acked: AtomicU64,
    failed: AtomicU64,
}

/// The registry of one run: every figure `/metrics` shows.
#[derive(Debug)]
pub struct Metrics {
    topics: Vec<(String, TopicCounters)>,
    timesteps_planned: AtomicU64,
    timesteps: AtomicU64,
    substeps: AtomicU64,
    jobs_running: AtomicU64,
    jobs_done: AtomicU64,
    jobs_failed: AtomicU64,
    jobs_interrupted: AtomicU64,
    /// Whether a producer reports deliveries (not with `--kafka none`): without one, acked, failed,
    /// latency and queue figures would be misleading zeros and are left out.
    producer: std::sync::atomic::AtomicBool,
    enqueued: AtomicU64,
    delivery_failed: AtomicU64,
    latency: LatencyHistogram,
    librdkafka: Mutex<Option<LibrdkafkaStats>>,
}

impl Metrics {
    /// A registry for a run publishing to these topics (the model's `kafka.topics`, in order).
    pub fn new(topics: impl IntoIterator<Item = String>) -> Self {
        Self {
            topics: topics.into_iter().map(|t| (t, TopicCounters::default())).collect(),
            timesteps_planned: AtomicU64::new(0),
            timesteps: AtomicU64::new(0),
            substeps: AtomicU64::new(0),
            jobs_running: AtomicU64::new(0),
            jobs_done: AtomicU64::new(0),
            jobs_failed: AtomicU64::new(0),
            jobs_interrupted: AtomicU64::new(0),
            producer: std::sync::atomic::AtomicBool::new(false),
            enqueued: AtomicU64::new(0),
            delivery_failed: AtomicU64::new(0),
            latency: LatencyHistogram::default(),
            librdkafka: Mutex::new(None),
        }
    }

    pub fn set_timesteps_planned(&self, n: u64) {
        self.timesteps_planned.store(n, Ordering::Relaxed);
    }
    pub fn add_timesteps(&self, n: u64) {
        self.timesteps.fetch_add(n, Ordering::Relaxed);
    }
    pub fn add_substeps(&self, n: u64) {
        self.substeps.fetch_add(n, Ordering::Relaxed);
    }
    pub fn job_started(&self) {
        self.jobs_running.fetch_add(1, Ordering::Relaxed);
    }
    /// A started job ended: `Some(true)` done, `Some(false)` failed, `None` interrupted.
    pub fn job_ended(&self, ok: Option<bool>) {
        let _ = self.jobs_running.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        match ok {
            Some(true) => &self.jobs_done,
            Some(false) => &self.jobs_failed,
            None => &self.jobs_interrupted,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    fn topic(&self, i: usize) -> Option<&TopicCounters> {
        self.topics.get(i).map(|(_, c)| c)
    }
    /// A message of topic `i` was handed to the sink.
    pub fn emitted(&self, topic: usize) {
        if let Some(c) = self.topic(topic) {
            c.emitted.fetch_add(1, Ordering::Relaxed);
        }
    }
    /// A producer is attached: delivery figures are real.
    pub fn attach_producer(&self) {
        self.producer.store(true, Ordering::Relaxed);
    }
    /// The producer accepted a message into its queue.
    pub fn enqueued(&self) {
        self.enqueued.fetch_add(1, Ordering::Relaxed);
    }
    /// The producer refused a message of topic `i` (it never entered the queue).
    pub fn enqueue_failed(&self, topic: usize) {
        if let Some(c) = self.topic(topic) {
            c.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
    /// The broker acknowledged a message of topic `i`, `latency_us` after it was enqueued.
    pub fn acked(&self, topic: usize, latency_us: u64) {
        if let Some(c) = self.topic(topic) {
            c.acked.fetch_add(1, Ordering::Relaxed);
        }
        self.latency.record_us(latency_us);
    }
    /// Delivery of an enqueued message of topic `i` failed.
    pub fn delivery_failed(&self, topic: usize) {
        if let Some(c) = self.topic(topic) {
            c.failed.fetch_add(1, Ordering::Relaxed);
        }
        self.delivery_failed.fetch_add(1, Ordering::Relaxed);
    }
    /// librdkafka's latest statistics report.
    pub fn set_librdkafka(&self, s: LibrdkafkaStats) {
        *self.librdkafka.lock().unwrap_or_else(|p| p.into_inner()) = Some(s);
    }

    /// Messages the producer holds: enqueued and neither acknowledged nor failed yet.
    pub fn queue_depth(&self) -> u64 {
        let acked: u64 = self.topics.iter().map(|(_, c)| c.acked.load(Ordering::Relaxed)).sum();
        let done = acked + self.delivery_failed.load(Ordering::Relaxed);
        self.enqueued.load(Ordering::Relaxed).saturating_sub(done)
    }

    /// The Prometheus text exposition format, version 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut one = |name: &str, kind: &str, help: &str, value: &dyn std::fmt::Display| {
            header(&mut out, name, kind, help);
            let _ = writeln!(out, "{name} {value}");
        };
        one(
            "distroduce_timesteps_planned",
            "gauge",
            "Timesteps this run simulates (all jobs).",
            &load(&self.timesteps_planned),
        );
        one("distroduce_timesteps_total", "counter", "Timesteps simulated (all jobs).", &load(&self.timesteps));
        one("distroduce_substeps_total", "counter", "Substeps simulated (all jobs).", &load(&self.substeps));
        header(
            &mut out,
            "distroduce_jobs",
            "gauge",
            "Jobs by state: running now, or ended done, failed or interrupted.",
        );
        for (state, v) in [
            ("running", &self.jobs_running),
            ("done", &self.jobs_done),
            ("failed", &self.jobs_failed),
            ("interrupted", &self.jobs_interrupted),
        ] {
            let _ = writeln!(out, "distroduce_jobs{{state=\"{state}\"}} {}", load(v));
        }
        let per_topic = |out: &mut String, name: &str, help: &str, get: fn(&TopicCounters) -> &AtomicU64| {
            header(out, name, "counter", help);
            for (t, c) in &self.topics {
                let _ = writeln!(out, "{name}{{topic=\"{}\"}} {}", escape(t), load(get(c)));
            }
        };
        per_topic(&mut out, "distroduce_messages_emitted_total", "Messages the plugins emitted, per topic.", |c| {
            &c.emitted
        });
        if !self.producer.load(Ordering::Relaxed) {
            return out;
        }
        per_topic(&mut out, "distroduce_messages_acked_total", "Messages the brokers acknowledged, per topic.", |c| {
            &c.acked
        });
        per_topic(
            &mut out,
            "distroduce_messages_failed_total",
            "Messages that could not be enqueued or delivered, per topic.",
            |c| &c.failed,
        );
        let name = "distroduce_ack_latency_seconds";
        header(&mut out, name, "histogram", "Time from enqueue to the broker's acknowledgement.");
        let mut cumulative = 0;
        for (i, c) in self.latency.counts.iter().enumerate() {
            cumulative += load(c);
            match LATENCY_BOUNDS_US.get(i) {
                Some(&b) => {
                    let _ = writeln!(out, "{name}_bucket{{le=\"{}\"}} {cumulative}", b as f64 / 1e6);
                }
                None => {
                    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
                }
            }
        }
        let _ = writeln!(out, "{name}_sum {}", load(&self.latency.sum_us) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {cumulative}");
        header(
            &mut out,
            "distroduce_producer_queue_messages",
            "gauge",
            "Messages enqueued to the producer and not yet acknowledged or failed.",
        );
        let _ = writeln!(out, "distroduce_producer_queue_messages {}", self.queue_depth());
        let stats = *self.librdkafka.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = stats {
            for (name, help, v) in [
                ("rdkafka_msg_cnt", "librdkafka: messages in the producer queues (msg_cnt).", s.msg_cnt as i64),
                (
                    "rdkafka_msg_size",
                    "librdkafka: bytes of messages in the producer queues (msg_size).",
                    s.msg_size as i64,
                ),
                ("rdkafka_replyq", "librdkafka: ops waiting in the reply queue (replyq).", s.replyq),
                ("rdkafka_tx", "librdkafka: requests sent to brokers (tx).", s.tx),
                ("rdkafka_tx_bytes", "librdkafka: bytes sent to brokers (tx_bytes).", s.tx_bytes),
                ("rdkafka_txmsgs", "librdkafka: messages sent to brokers (txmsgs).", s.txmsgs),
                ("rdkafka_txmsg_bytes", "librdkafka: message bytes sent to brokers (txmsg_bytes).", s.txmsg_bytes),
                ("rdkafka_rx", "librdkafka: responses received from brokers (rx).", s.rx),
                ("rdkafka_rx_bytes", "librdkafka: bytes received from brokers (rx_bytes).", s.rx_bytes),
            ] {
                // Gauges: librdkafka's totals restart with each client, and this is its last report.
                header(&mut out, name, "gauge", help);
                let _ = writeln!(out, "{name} {v}");
            }
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value as the format wants it: backslash, double quote and newline escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// A [`MessageSink`] that counts what is emitted, per topic, before handing it on. Used only when
/// metrics are on, so a run without `--metrics-addr` pays nothing.
pub struct CountingSink<'a> {
    pub inner: &'a dyn MessageSink,
    pub metrics: &'a Metrics,
}

impl MessageSink for CountingSink<'_> {
    fn send(&self, msg: &OutMessage) -> Result<(), String> {
        self.metrics.emitted(msg.topic);
        self.inner.send(msg)
    }
    fn finish(&self, timeout: Duration) -> DeliveryStats {
        self.inner.finish(timeout)
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
    // Where jobs are matters to the sink inside (its transactions): passed on.
    fn job_started(&self, job: &JobId) -> Result<(), String> {
        self.inner.job_started(job)
    }
    fn boundary(&self, job: &JobId, at: Boundary) -> Result<(), String> {
        self.inner.boundary(job, at)
    }
    fn reads_boundaries(&self) -> bool {
        self.inner.reads_boundaries()
    }
    fn timed(&self) -> bool {
        self.inner.timed()
    }
    fn job_ended(&self, job: &JobId, commit: bool) -> Result<(), String> {
        self.inner.job_ended(job, commit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_small_registry_exactly() {
        let m = Metrics::new(["chat".to_string(), "a\"b".to_string()]);
        m.set_timesteps_planned(10);
        m.add_timesteps(3);
        m.add_substeps(6);
        m.job_started();
        m.job_started();
        m.job_ended(Some(true));
        m.emitted(0);
        m.emitted(0);
        m.emitted(1);
        m.emitted(7); // not a topic of the run: ignored, never a panic
        let no_producer = m.render();
        assert!(!no_producer.contains("acked"), "{no_producer}");
        m.attach_producer();
        m.enqueued();
        m.enqueued();
        m.enqueued();
        m.acked(0, 700);
        m.acked(0, 2_000_000);
        m.delivery_failed(1);
        m.set_librdkafka(LibrdkafkaStats { msg_cnt: 1, tx_bytes: 512, ..Default::default() });
        let want = r#"# HELP distroduce_timesteps_planned Timesteps this run simulates (all jobs).
# TYPE distroduce_timesteps_planned gauge
distroduce_timesteps_planned 10
# HELP distroduce_timesteps_total Timesteps simulated (all jobs).
# TYPE distroduce_timesteps_total counter
distroduce_timesteps_total 3
# HELP distroduce_substeps_total Substeps simulated (all jobs).
# TYPE distroduce_substeps_total counter
distroduce_substeps_total 6
# HELP distroduce_jobs Jobs by state: running now, or ended done, failed or interrupted.
# TYPE distroduce_jobs gauge
distroduce_jobs{state="running"} 1
distroduce_jobs{state="done"} 1
distroduce_jobs{state="failed"} 0
distroduce_jobs{state="interrupted"} 0
# HELP distroduce_messages_emitted_total Messages the plugins emitted, per topic.
# TYPE distroduce_messages_emitted_total counter
distroduce_messages_emitted_total{topic="chat"} 2
distroduce_messages_emitted_total{topic="a\"b"} 1
# HELP distroduce_messages_acked_total Messages the brokers acknowledged, per topic.
# TYPE distroduce_messages_acked_total counter
distroduce_messages_acked_total{topic="chat"} 2
distroduce_messages_acked_total{topic="a\"b"} 0
# HELP distroduce_messages_failed_total Messages that could not be enqueued or delivered, per topic.
# TYPE distroduce_messages_failed_total counter
distroduce_messages_failed_total{topic="chat"} 0
distroduce_messages_failed_total{topic="a\"b"} 1
# HELP distroduce_ack_latency_seconds Time from enqueue to the broker's acknowledgement.
# TYPE distroduce_ack_latency_seconds histogram
distroduce_ack_latency_seconds_bucket{le="0.0005"} 0
distroduce_ack_latency_seconds_bucket{le="0.001"} 1
distroduce_ack_latency_seconds_bucket{le="0.0025"} 1
distroduce_ack_latency_seconds_bucket{le="0.005"} 1
distroduce_ack_latency_seconds_bucket{le="0.01"} 1
distroduce_ack_latency_seconds_bucket{le="0.025"} 1
distroduce_ack_latency_seconds_bucket{le="0.05"} 1
distroduce_ack_latency_seconds_bucket{le="0.1"} 1
distroduce_ack_latency_seconds_bucket{le="0.25"} 1
distroduce_ack_latency_seconds_bucket{le="0.5"} 1
distroduce_ack_latency_seconds_bucket{le="1"} 1
distroduce_ack_latency_seconds_bucket{le="2.5"} 2
distroduce_ack_latency_seconds_bucket{le="5"} 2
distroduce_ack_latency_seconds_bucket{le="10"} 2
distroduce_ack_latency_seconds_bucket{le="30"} 2
distroduce_ack_latency_seconds_bucket{le="+Inf"} 2
distroduce_ack_latency_seconds_sum 2.0007
distroduce_ack_latency_seconds_count 2
# HELP distroduce_producer_queue_messages Messages enqueued to the producer and not yet acknowledged or failed.
# TYPE distroduce_producer_queue_messages gauge
distroduce_producer_queue_messages 0
"#;
        let got = m.render();
        assert!(got.starts_with(want), "got:\n{got}");
        let rest = &got[want.len()..];
        assert!(rest.starts_with("# HELP rdkafka_msg_cnt "), "{rest}");
        assert!(rest.contains("# TYPE rdkafka_tx_bytes gauge\nrdkafka_tx_bytes 512\n"), "{rest}");
        assert!(rest.contains("\nrdkafka_msg_cnt 1\n"), "{rest}");
    }

    #[test]
    fn latency_buckets_include_their_upper_bound() {
        let h = LatencyHistogram::default();
        h.record_us(500);
        h.record_us(501);
        h.record_us(u64::MAX / 4);
        let c: Vec<u64> = h.counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        assert_eq!((c[0], c[1], c[LATENCY_BOUNDS_US.len()]), (1, 1, 1));
    }

    #[test]
    fn queue_depth_never_goes_negative() {
        let m = Metrics::new(["t".to_string()]);
        m.acked(0, 1); // an ack seen before its enqueue was counted
        assert_eq!(m.queue_depth(), 0);
        m.enqueued();
        m.enqueued();
        assert_eq!(m.queue_depth(), 1);
    }
}
