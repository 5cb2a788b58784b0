//! Reading the job's output topics from the beginning until the verdict cannot change any more:
//! every expected record matches, every partition was read to its end, and nothing new arrived
//! for `--settle`; or `--wait` elapsed (a bounded wait for stragglers, so that a missing record
//! fails the check instead of hanging it).
//!
//! One consumer per topic, each assigned every partition from the beginning under a fresh group
//! id that never commits: verify never moves a real consumer group, and can be rerun any time.
//! Per-topic consumers because librdkafka's end-of-partition events name a partition but not its
//! topic, and "read to the end" is what tells a finished job from a slow one.

use super::matching::{Matcher, Position};
use super::report::Stopped;
use super::{Settings, VerifyError};
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::{Message, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long the first contact with the cluster may take before the brokers count as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const METADATA_TIMEOUT: Duration = Duration::from_secs(5);
/// Look for a topic that does not exist yet (the job may create it late) this often; look for new
/// partitions of existing topics less often.
const REFRESH_MISSING: Duration = Duration::from_secs(1);
const REFRESH_FOUND: Duration = Duration::from_secs(5);
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// Records taken from one consumer before the others get their turn.
const BATCH: usize = 5000;

/// How consuming ended.
pub struct Consumed {
    pub stopped: Stopped,
    pub waited: Duration,
    /// Per expectation: did its topic exist.
    pub topic_found: Vec<bool>,
}

struct Reader {
    topic: String,
    /// Indices of the expectations reading this topic.
    exps: Vec<usize>,
    consumer: BaseConsumer<Quiet>,
    parts: BTreeMap<i32, Part>,
    found: bool,
    last_error: Option<String>,
}

#[derive(Default)]
struct Part {
    /// Offset after the last record read; `None` before the first.
    next: Option<i64>,
    /// Read to the end since its last record.
    eof: bool,
}

/// Consume every expectation's topic into `matcher` until settled or `settings.wait` elapsed.
pub fn consume(matcher: &mut Matcher, settings: &Settings) -> Result<Consumed, VerifyError> {
    let start = Instant::now();
    let mut readers: Vec<Reader> = Vec::new();
    for i in 0..matcher.count() {
        let topic = &matcher.output(i).topic;
        match readers.iter_mut().find(|r| &r.topic == topic) {
            Some(r) => r.exps.push(i),
            None => readers.push(Reader {
                topic: topic.clone(),
                exps: vec![i],
                consumer: create(settings)?,
                parts: BTreeMap::new(),
                found: false,
                last_error: None,
            }),
        }
    }
    if let Some(first) = readers.first() {
        wait_until_connected(&first.consumer, settings)?;
    }
    // A library caller may pass any duration: past the clock's range, wait "forever" (a century).
    let deadline = start.checked_add(settings.wait).unwrap_or_else(|| start + Duration::from_secs(100 * 365 * 86_400));
    let poll = Duration::from_millis((100 / readers.len().max(1)).max(10) as u64);
    let (mut last_record, mut next_refresh, mut next_progress) = (start, start, start + PROGRESS_EVERY);
    let stopped = loop {
        let now = Instant::now();
        if now >= next_refresh {
            readers.iter_mut().for_each(Reader::refresh);
            let all_found = readers.iter().all(|r| r.found);
            next_refresh = Instant::now() + if all_found { REFRESH_FOUND } else { REFRESH_MISSING };
        }
        let mut got = 0;
        for r in &mut readers {
            got += r.poll(matcher, poll);
        }
        let now = Instant::now();
        if got > 0 {
            last_record = now;
        }
        if matcher.all_matched()
            && readers.iter().all(|r| r.found && r.parts.values().all(|p| p.eof))
            && now.duration_since(last_record) >= settings.settle
        {
            break Stopped::Settled;
        }
        if now >= deadline {
            break Stopped::WaitElapsed;
        }
        if now >= next_progress {
            next_progress = now + PROGRESS_EVERY;
            let (m, n) = matcher.progress();
            let missing: Vec<&str> = readers.iter().filter(|r| !r.found).map(|r| r.topic.as_str()).collect();
            tracing::info!(
                "verify: {} records read, {m} of {n} expected records match, {:.0}s of {:.0}s{}",
                matcher.records(),
                now.duration_since(start).as_secs_f64(),
                settings.wait.as_secs_f64(),
                if missing.is_empty() { String::new() } else { format!("; no topic {} yet", missing.join(", ")) }
            );
        }
    };
    let mut topic_found = vec![false; matcher.count()];
    for r in &readers {
        for &i in &r.exps {
            topic_found[i] = r.found;
        }
    }
    Ok(Consumed { stopped, waited: start.elapsed(), topic_found })
}

/// Wait until the cluster answers a metadata request; fail at once when it refuses the credentials
/// or the TLS handshake (librdkafka would retry those until `--wait` is over).
fn wait_until_connected(consumer: &BaseConsumer<Quiet>, settings: &Settings) -> Result<(), VerifyError> {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        let last = match consumer.fetch_metadata(None, Duration::from_millis(200)) {
            Ok(_) => return Ok(()),
            Err(e) => e.to_string(),
        };
        // Serves the error callback (nothing is assigned yet, so no record is consumed here).
        let _ = consumer.poll(Duration::ZERO);
        if let Some(message) = consumer.context().fatal.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Err(VerifyError::Refused { brokers: settings.brokers.clone(), message });
        }
        if Instant::now() >= deadline {
            return Err(VerifyError::Unreachable { brokers: settings.brokers.clone(), message: last });
        }
    }
}

/// librdkafka reports reaching the end of a partition as a client error, which rdkafka logs at
/// ERROR; verify asks for those events (they tell it a partition was read to its end), so they are
/// not errors here. Other client errors are logged as warnings; authentication and TLS failures
/// are kept, since retrying cannot fix them.
#[derive(Default)]
struct Quiet {
    fatal: std::sync::Mutex<Option<String>>,
}

impl ClientContext for Quiet {
    fn error(&self, error: KafkaError, reason: &str) {
        if matches!(error, KafkaError::PartitionEOF(_)) {
            return;
        }
        tracing::warn!("kafka: {error}: {reason}");
        use rdkafka::types::RDKafkaErrorCode as C;
        let what = match error.rdkafka_error_code() {
            Some(C::Authentication | C::SaslAuthenticationFailed) => {
                "SASL authentication failed (check the username and password)"
            }
            Some(C::SSL) => "TLS handshake failed (is the broker's certificate trusted? see kafka.tls)",
            _ => return,
        };
        let mut f = self.fatal.lock().unwrap_or_else(|p| p.into_inner());
        f.get_or_insert_with(|| format!("{what}: {reason}"));
    }
}
impl ConsumerContext for Quiet {}

fn create(settings: &Settings) -> Result<BaseConsumer<Quiet>, VerifyError> {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", &settings.brokers)
        .set("group.id", format!("distroduce-verify-{}-{nanos}", std::process::id()))
        .set("client.id", "distroduce-verify")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "true");
    for (k, v) in &settings.consumer {
        cfg.set(k, v);
    }
    for (k, src) in &settings.secrets {
        let value =
            src.resolve().map_err(|e| VerifyError::Usage(format!("cannot read `{k}` from {}: {e}", src.describe())))?;
        cfg.set(k, value);
    }
    cfg.create_with_context(Quiet::default())
        .map_err(|e| VerifyError::Kafka(format!("cannot create the Kafka consumer: {e}")))
}

impl Reader {
    /// Learn the topic's partitions; assign new ones from the beginning, keeping the positions of
    /// those already being read.
    fn refresh(&mut self) {
        let md = match self.consumer.fetch_metadata(Some(&self.topic), METADATA_TIMEOUT) {
            Ok(md) => md,
            Err(e) => return self.note_error(format!("cannot read the metadata of topic {}: {e}", self.topic)),
        };
        let Some(t) = md.topics().iter().find(|t| t.name() == self.topic) else { return };
        if t.error().is_some() || t.partitions().is_empty() {
            return;
        }
        self.found = true;
        let before = self.parts.len();
        for p in t.partitions() {
            self.parts.entry(p.id()).or_default();
        }
        if self.parts.len() == before {
            return;
        }
        let mut tpl = TopicPartitionList::new();
        for (&p, part) in &self.parts {
            let offset = part.next.map_or(Offset::Beginning, Offset::Offset);
            if let Err(e) = tpl.add_partition_offset(&self.topic, p, offset) {
                return self.note_error(format!("cannot assign {} [{p}]: {e}", self.topic));
            }
        }
        if let Err(e) = self.consumer.assign(&tpl) {
            self.note_error(format!("cannot assign the partitions of {}: {e}", self.topic));
        }
    }

    /// Wait up to `timeout` for a record, then take what is ready; returns how many records came.
    fn poll(&mut self, matcher: &mut Matcher, timeout: Duration) -> usize {
        if !self.found {
            std::thread::sleep(timeout);
            return 0;
        }
        let mut got = 0;
        let mut wait = timeout;
        while got < BATCH {
            let Some(res) = self.consumer.poll(wait) else { break };
            wait = Duration::ZERO;
            match res {
                Ok(m) => {
                    got += 1;
                    let at = Position { partition: m.partition(), offset: m.offset() };
                    let part = self.parts.entry(at.partition).or_default();
                    part.next = Some(at.offset + 1);
                    part.eof = false;
                    for &i in &self.exps {
                        matcher.observe(i, m.key(), m.payload(), at);
                    }
                }
                Err(KafkaError::PartitionEOF(p)) => self.parts.entry(p).or_default().eof = true,
                Err(e) => self.note_error(format!("reading {}: {e}", self.topic)),
            }
        }
        got
    }

    /// Kafka errors while consuming are usually transient (a broker restarting); librdkafka
    /// retries by itself, so they are logged once each, not fatal: `--wait` bounds the damage.
    fn note_error(&mut self, msg: String) {
        if self.last_error.as_ref() != Some(&msg) {
            tracing::warn!("{msg}");
            self.last_error = Some(msg);
        }
    }
}
