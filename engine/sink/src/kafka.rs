//! Messages to Kafka with rdkafka's `ThreadedProducer` and a delivery callback: no future per
//! message (measured here: ~0.8–1.0 M msgs/s against ~0.47 M for `FutureProducer`). Throughput is
//! counted by acknowledgement, not by enqueue, and latency from enqueue to acknowledgement.
//!
//! With no brokers configured the engine starts an [`EmbeddedBroker`]: librdkafka's in-process mock
//! cluster. The produce path is the real one, but the mock keeps only about 5 MiB or 100k message
//! sets per partition and silently drops older data; [`KafkaSink::finish`] warns when a run went past that.

use super::clock;
use super::kafka_setup::wait_for_leaders;
pub use super::kafka_setup::{apply_security, unrecoverable};
pub(crate) use super::kafka_setup::{create_topics, wait_until_connected};
use super::measure::{Meter, Pacer};
use super::metrics::{LibrdkafkaStats, Metrics};
use super::opaque;
use super::topic_handle::TopicHandle;
use super::{DeliveryStats, MessageSink};
use distroduce_model::message::OutMessage;
use distroduce_model::types::TimestampMode;
use distroduce_model::KafkaPlan;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{
    BaseRecord, DefaultProducerContext, DeliveryResult, Producer, ProducerContext, ThreadedProducer,
};
use rdkafka::ClientContext;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What librdkafka's mock cluster keeps per partition (rdkafka_mock.c: 5 MiB, 100k message sets).
pub const MOCK_PARTITION_BYTES: u64 = 5 * 1024 * 1024;
pub const MOCK_PARTITION_MSGS: u64 = 100_000;

/// librdkafka's in-process mock cluster, alive as long as this value.
pub struct EmbeddedBroker {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

impl EmbeddedBroker {
    pub fn start(plan: &KafkaPlan) -> Result<Self, String> {
        let cluster = MockCluster::new(1).map_err(|e| format!("cannot start the embedded Kafka broker: {e}"))?;
        for t in &plan.topics {
            cluster
                .create_topic(&t.name, t.partitions, 1)
                .map_err(|e| format!("embedded broker: cannot create topic `{}`: {e}", t.name))?;
        }
        Ok(Self { cluster })
    }
    pub fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }
}

pub(crate) struct Stats {
    acked: AtomicU64,
    /// Messages a transaction abort removed before the broker had them (not failures: the job
    /// that sent them failed and its transaction is discarded on purpose).
    pub(crate) purged: AtomicU64,
    failed: AtomicU64,
    bytes_acked: AtomicU64,
    /// Written by the job threads on every send; on a cache line of its own so that those writes
    /// do not contend with the delivery callback's counters above.
    produced: Padded,
    last_ack_ns: AtomicU64,
    first_error: Mutex<Option<String>>,
    meter: Meter,
    /// The delivery clock: set by the first send, and every time below (enqueue, due,
    /// acknowledgement, warm-up) counts from it. Starting it when the sink is created would charge
    /// connecting, topic creation and the model's own start-up to the first messages, so an
    /// open-loop pacer would begin behind schedule and latency from due would exceed any SLO.
    epoch: OnceLock<Epoch>,
    /// (topic, partition) -> (messages, bytes); kept only for the embedded broker's limit check.
    partitions: Mutex<HashMap<(String, i32), (u64, u64)>>,
}

/// When the first message was sent: as an [`Instant`] (the pacer's start), as µs of
/// [`clock::mono_us`] (acknowledgements) and as Unix time (for `metrics.json`), read back to back.
#[derive(Clone, Copy)]
struct Epoch {
    at: Instant,
    mono_us: u64,
    unix_ms: f64,
}

impl Stats {
    /// The delivery clock, started now if nothing was sent yet.
    fn epoch(&self) -> &Epoch {
        self.epoch.get_or_init(|| Epoch {
            at: Instant::now(),
            mono_us: clock::mono_us(),
            unix_ms: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1e3),
        })
    }
}

/// An atomic counter alone on its cache line(s).
#[repr(align(128))]
#[derive(Default)]
struct Padded(AtomicU64);

pub(crate) struct Ctx {
    stats: Arc<Stats>,
    track_partitions: bool,
    /// The first error that retrying cannot fix (authentication, TLS), from librdkafka's error
    /// callback; [`wait_until_connected`] stops waiting when it sees one.
    fatal: Arc<Mutex<Option<String>>>,
    /// The live metrics registry, when `--metrics-addr` asked for one.
    metrics: Option<Arc<Metrics>>,
}

impl ClientContext for Ctx {
    fn error(&self, error: KafkaError, reason: &str) {
        match error.rdkafka_error_code().and_then(unrecoverable) {
            // Reported once, as the run's error, by `wait_until_connected`.
            Some(what) => {
                tracing::debug!("librdkafka: {error}: {reason}");
                let mut f = self.fatal.lock().unwrap_or_else(|p| p.into_inner());
                f.get_or_insert_with(|| format!("{what}: {reason}"));
            }
            None => tracing::error!("librdkafka: {error}: {reason}"),
        }
    }

    /// librdkafka's statistics (only requested with live metrics on): a few fields into the registry.
    fn stats(&self, s: rdkafka::Statistics) {
        if let Some(m) = &self.metrics {
            m.set_librdkafka(LibrdkafkaStats {
                msg_cnt: s.msg_cnt,
                msg_size: s.msg_size,
                replyq: s.replyq,
                tx: s.tx,
                tx_bytes: s.tx_bytes,
                txmsgs: s.txmsgs,
                txmsg_bytes: s.txmsg_bytes,
                rx: s.rx,
                rx_bytes: s.rx_bytes,
            });
        }
    }
}

impl ProducerContext for Ctx {
    /// The topic's index and, when paced, the due time ([`opaque::pack`]): no allocation per message.
    type DeliveryOpaque = usize;

    fn delivery(&self, r: &DeliveryResult<'_>, tag: usize) {
        let (topic, due_us) = opaque::unpack(tag);
        match r {
            Ok(m) => {
                // One clock read: the acknowledgement's time, and its latency from librdkafka's
                // stamp of the `produce` call.
                let (now_mono, latency) = clock::ack_times(m);
                let now_us = now_mono.saturating_sub(self.stats.epoch().mono_us);
                let sent_us = now_us.saturating_sub(latency);
                let bytes = (m.payload_len() + m.key().map_or(0, <[u8]>::len)) as u64;
                self.stats.acked.fetch_add(1, Ordering::Relaxed);
                self.stats.bytes_acked.fetch_add(bytes, Ordering::Relaxed);
                self.stats.last_ack_ns.fetch_max(now_us * 1000, Ordering::Relaxed);
                self.stats.meter.ack(now_us, sent_us, due_us, bytes);
                if let Some(metrics) = &self.metrics {
                    metrics.acked(topic, now_us.saturating_sub(sent_us));
                }
                if self.track_partitions {
                    if let Ok(mut p) = self.stats.partitions.lock() {
                        let e = p.entry((m.topic().to_string(), m.partition())).or_default();
                        e.0 += 1;
                        e.1 += bytes;
                    }
                }
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::PurgeQueue | RDKafkaErrorCode::PurgeInflight), _)) => {
                self.stats.purged.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, m)) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                if let Some(metrics) = &self.metrics {
                    metrics.delivery_failed(topic);
                }
                let mut first = self.stats.first_error.lock().unwrap_or_else(|p| p.into_inner());
                first.get_or_insert_with(|| format!("delivery to {} [{}] failed: {e}", m.topic(), m.partition()));
            }
        }
    }
}

/// What every producer of a run shares: the accounting of deliveries, pacing, and how an
/// [`OutMessage`] becomes a Kafka record. [`KafkaSink`] has one producer; the transactional sink
/// ([`super::kafka_txn`]) one per job, all counted here.
pub(crate) struct Publisher {
    pacer: Option<Pacer>,
    topics: Vec<String>,
    pub(crate) stats: Arc<Stats>,
    /// `kafka.timestamps: event`: stamp each record with its event time.
    event_timestamps: bool,
    pub(crate) metrics: Option<Arc<Metrics>>,
}

pub struct KafkaSink {
    /// One handle per topic alias; declared before `producer`, so released before its client.
    handles: Vec<TopicHandle>,
    producer: ThreadedProducer<Ctx>,
    publisher: Publisher,
    brokers: String,
    embedded: bool,
}

/// The producer settings of `plan` for `brokers`: the engine's bulk defaults, the scenario's
/// properties, the connection and its credentials.
pub(crate) fn producer_config(plan: &KafkaPlan, brokers: &str, metrics: bool) -> Result<ClientConfig, String> {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", brokers);
    // Defaults for a bulk producer; every one can be overridden under kafka.producer.
    cfg.set("queue.buffering.max.messages", "1000000");
    cfg.set("message.timeout.ms", "30000");
    if metrics {
        cfg.set("statistics.interval.ms", "1000");
    }
    for (k, v) in &plan.producer {
        cfg.set(k, v);
    }
    apply_security(&mut cfg, plan)?;
    Ok(cfg)
}

impl Publisher {
    pub(crate) fn new(plan: &KafkaPlan, metrics: Option<Arc<Metrics>>) -> Result<Self, String> {
        if plan.topics.len() > opaque::MAX_TOPICS {
            return Err(format!(
                "kafka.topics declares {} topics; one producer tells at most {} apart",
                plan.topics.len(),
                opaque::MAX_TOPICS
            ));
        }
        let stats = Arc::new(Stats {
            acked: AtomicU64::new(0),
            purged: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            bytes_acked: AtomicU64::new(0),
            produced: Padded::default(),
            last_ack_ns: AtomicU64::new(0),
            first_error: Mutex::new(None),
            meter: Meter::new(plan.warmup),
            epoch: OnceLock::new(),
            partitions: Mutex::new(HashMap::new()),
        });
        if let Some(m) = &metrics {
            m.attach_producer();
        }
        Ok(Self {
            pacer: plan.rate.map(Pacer::new),
            topics: plan.topics.iter().map(|t| t.name.clone()).collect(),
            stats,
            event_timestamps: plan.timestamps == TimestampMode::Event,
            metrics,
        })
    }

    /// The context of one more producer that reports into this publisher; `fatal` receives the
    /// first error only a configuration change can fix.
    /// Pacing (`kafka.rate`) stops waiting once `cancel` is set: Ctrl-C ends a slow-paced run at
    /// once instead of after the current interval.
    pub(crate) fn interruptible(&mut self, cancel: Option<Arc<AtomicBool>>) {
        self.pacer = self.pacer.take().map(|p| p.interruptible(cancel));
    }

    pub(crate) fn context(&self, track_partitions: bool, fatal: Arc<Mutex<Option<String>>>) -> Ctx {
        Ctx { stats: self.stats.clone(), track_partitions, fatal, metrics: self.metrics.clone() }
    }
}

impl KafkaSink {
    /// See [`Publisher::interruptible`].
    pub fn interruptible(mut self, cancel: Option<Arc<AtomicBool>>) -> Self {
        self.publisher.interruptible(cancel);
        self
    }

    /// Connect to `brokers`; for a real cluster, create missing topics through the admin API first,
    /// which also proves the cluster is reachable before any job runs.
    pub fn connect(plan: &KafkaPlan, brokers: &str, embedded: bool) -> Result<Self, String> {
        Self::connect_with_metrics(plan, brokers, embedded, None)
    }

    /// [`KafkaSink::connect`], reporting deliveries (per topic, ack latency, queue depth) and
    /// librdkafka's statistics into `metrics`. Statistics are requested every second unless
    /// `kafka.producer` sets `statistics.interval.ms` itself (`0` turns them off).
    pub fn connect_with_metrics(
        plan: &KafkaPlan,
        brokers: &str,
        embedded: bool,
        metrics: Option<Arc<Metrics>>,
    ) -> Result<Self, String> {
        let cfg = producer_config(plan, brokers, metrics.is_some())?;
        let publisher = Publisher::new(plan, metrics)?;
        let fatal = Arc::new(Mutex::new(None));
        let producer: ThreadedProducer<Ctx> = cfg
            .create_with_context(publisher.context(embedded, fatal.clone()))
            .map_err(|e| format!("cannot create the Kafka producer: {e}"))?;
        if !embedded {
            // Proves the cluster is reachable and the credentials work before any job runs; the
            // producer's thread serves the error callback that reports a refused login.
            wait_until_connected(producer.client(), &fatal, brokers)?;
            create_topics(plan, &cfg)?;
            wait_for_leaders(producer.client(), plan)?;
        }
        let handles = TopicHandle::open_all(producer.client().native_ptr(), &publisher.topics)?;
        Ok(Self { handles, producer, publisher, brokers: brokers.to_string(), embedded })
    }
}

impl Publisher {
    /// Hand `m` to `producer`, waiting while its queue is full. A message librdkafka refuses is
    /// counted as failed (with the first error kept), not returned: the run reports it.
    pub(crate) fn send(&self, producer: &ThreadedProducer<Ctx>, m: &OutMessage) -> Result<(), String> {
        self.send_via(producer, &[], m)
    }

    /// [`Publisher::send`], through `handles` (one per topic alias, of `producer`'s client) when
    /// the message has neither headers nor a timestamp to carry.
    pub(crate) fn send_via(
        &self,
        producer: &ThreadedProducer<Ctx>,
        handles: &[TopicHandle],
        m: &OutMessage,
    ) -> Result<(), String> {
        let topic = &self.topics[m.topic];
        let timestamp = m.event_time_ms.filter(|_| self.event_timestamps);
        // The first send starts the delivery clock.
        let epoch = self.stats.epoch().at;
        let tag = opaque::pack(m.topic, self.pacer.as_ref().map(|p| p.wait_turn(epoch)));
        if let (Some(h), true, None) = (handles.get(m.topic), m.headers.is_empty(), timestamp) {
            loop {
                match h.produce(m.partition, &m.value, m.key.as_deref(), tag) {
                    Ok(()) => {
                        self.enqueued();
                        return Ok(());
                    }
                    // Back-pressure: the producer thread drains the queue as acks arrive.
                    Err(RDKafkaErrorCode::QueueFull) => std::thread::sleep(Duration::from_micros(200)),
                    Err(e) => {
                        self.enqueue_failed(m.topic, topic, &e);
                        return Ok(());
                    }
                }
            }
        }
        let mut headers = None;
        if !m.headers.is_empty() {
            let mut h = OwnedHeaders::new_with_capacity(m.headers.len());
            for (k, v) in &m.headers {
                h = h.insert(Header { key: k, value: Some(v) });
            }
            headers = Some(h);
        }
        let mut rec = BaseRecord::with_opaque_to(topic, tag).payload(&m.value);
        if let Some(k) = &m.key {
            rec = rec.key(k);
        }
        if let Some(h) = headers {
            rec = rec.headers(h);
        }
        if let Some(p) = m.partition {
            rec = rec.partition(p);
        }
        if let Some(ms) = timestamp {
            rec = rec.timestamp(ms);
        }
        loop {
            match producer.send(rec) {
                Ok(()) => {
                    self.enqueued();
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    // Back-pressure: the producer thread drains the queue as acks arrive.
                    rec = r;
                    std::thread::sleep(Duration::from_micros(200));
                }
                Err((e, _)) => {
                    self.enqueue_failed(m.topic, topic, &e);
                    return Ok(());
                }
            }
        }
    }

    fn enqueued(&self) {
        self.stats.produced.0.fetch_add(1, Ordering::Relaxed);
        if let Some(metrics) = &self.metrics {
            metrics.enqueued();
        }
    }

    /// A message librdkafka refused: counted as failed, the first error kept for the summary.
    fn enqueue_failed(&self, index: usize, topic: &str, e: &dyn std::fmt::Display) {
        self.stats.failed.fetch_add(1, Ordering::Relaxed);
        if let Some(metrics) = &self.metrics {
            metrics.enqueue_failed(index);
        }
        let mut first = self.stats.first_error.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert_with(|| format!("cannot enqueue a message for {topic}: {e}"));
    }

    /// The figures so far, with `warnings`; `embedded`: also check the mock cluster's limits.
    pub(crate) fn delivery(&self, mut warnings: Vec<String>, embedded: bool) -> DeliveryStats {
        let s = &self.stats;
        if embedded {
            let parts = s.partitions.lock().unwrap_or_else(|p| p.into_inner());
            let mut over: Vec<String> = parts
                .iter()
                .filter(|(_, (n, b))| *n > MOCK_PARTITION_MSGS || *b > MOCK_PARTITION_BYTES)
                .map(|((t, p), (n, b))| format!("{t}[{p}]: {n} msgs, {:.1} MiB", *b as f64 / 1048576.0))
                .collect();
            over.sort();
            if !over.is_empty() {
                warnings.push(format!(
                    "the embedded broker keeps only ~5 MiB or 100k message sets per partition and dropped the oldest messages of {} partition(s) ({}); every message was acknowledged, but not all can be read back. Use --brokers with a real cluster (scripts/kafka-local) to keep them all",
                    over.len(),
                    over.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
                ));
            }
        }
        let measured = s.meter.measured();
        DeliveryStats {
            produced: s.produced.0.load(Ordering::Relaxed),
            acked: s.acked.load(Ordering::Relaxed),
            failed: s.failed.load(Ordering::Relaxed),
            bytes_acked: s.bytes_acked.load(Ordering::Relaxed),
            ack_seconds: s.last_ack_ns.load(Ordering::Relaxed) as f64 / 1e9,
            latency_ms: measured.latency_ms,
            latency_from_due_ms: measured.latency_from_due_ms,
            measured_acked: measured.acked,
            measured_bytes: measured.bytes,
            measured_seconds: measured.seconds,
            buckets: measured.buckets,
            first_error: s.first_error.lock().ok().and_then(|e| e.clone()),
            started_unix_ms: s.epoch.get().map(|e| e.unix_ms),
            latency_distribution: measured.latency_distribution,
            per_second: measured.per_second,
            warnings,
            transactions: None,
        }
    }
}

impl MessageSink for KafkaSink {
    fn send(&self, m: &OutMessage) -> Result<(), String> {
        self.publisher.send_via(&self.producer, &self.handles, m)
    }

    fn finish(&self, timeout: Duration) -> DeliveryStats {
        let mut warnings = Vec::new();
        if let Err(e) = self.producer.flush(timeout) {
            warnings.push(format!(
                "{} messages were still undelivered after waiting {} ({e})",
                self.producer.in_flight_count(),
                humantime::format_duration(timeout)
            ));
        }
        self.publisher.delivery(warnings, self.embedded)
    }

    fn describe(&self) -> String {
        if self.embedded {
            format!("embedded Kafka (librdkafka mock cluster at {}; messages vanish when the run ends)", self.brokers)
        } else {
            format!("Kafka at {}", self.brokers)
        }
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::config::ClientConfig;
    use rdkafka::producer::{BaseProducer, DefaultProducerContext};

    /// The static librdkafka build carries every codec and TLS/SASL, which MSK and Confluent Cloud
    /// need. Creating a client checks the settings without connecting anywhere.
    #[test]
    fn librdkafka_is_built_with_codecs_tls_and_sasl() {
        for (k, v) in [
            ("compression.type", "gzip"),
            ("compression.type", "snappy"),
            ("compression.type", "lz4"),
            ("compression.type", "zstd"),
            ("security.protocol", "SASL_SSL"),
        ] {
            let mut cfg = ClientConfig::new();
            cfg.set("bootstrap.servers", "127.0.0.1:9").set(k, v);
            if k == "security.protocol" {
                cfg.set("sasl.mechanism", "SCRAM-SHA-512").set("sasl.username", "u").set("sasl.password", "p");
            }
            let p: Result<BaseProducer<DefaultProducerContext>, _> = cfg.create();
            assert!(p.is_ok(), "{k}={v}: {:?}", p.err());
        }
    }
}
