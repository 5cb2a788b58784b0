//! Kafka transactions aligned to the model (`kafka.transactions: timestep | block`).
//!
//! Each job produces through its own transactional producer, `transactional.id =
//! <prefix>-<simulation>-<subset>-<run>`: librdkafka allows one open transaction per producer, and
//! jobs run in parallel. The id is the same in every rerun, so a rerun's `init_transactions` fences
//! the producer of an earlier run that is still around (a zombie) and aborts what it left open.
//!
//! The simulation says where each job is ([`MessageSink::boundary`]). A transaction begins with
//! the first message after a boundary and is committed at the next timestep boundary (or block
//! boundary, in `block` mode), so a `read_committed` consumer sees a job's timestep whole or not at
//! all. A failed job aborts its open transaction: the messages its failed timestep already sent
//! never become visible to such consumers.
//!
//! Accounting: acknowledgements, throughput and latency stay the broker's delivery reports, as
//! without transactions, so the figures compare across modes; the summary adds the committed and
//! aborted transactions and messages, and how long each commit took (the extra wait before a
//! `read_committed` consumer can read a transaction's messages).
//!
//! Every call that waits on the broker is bounded by the transaction timeout
//! (`transaction.timeout.ms`, librdkafka's default 60 s); errors librdkafka calls retriable (a
//! coordinator moving, a broker restarting) are retried until then, and nothing waits longer.

use super::kafka::{create_topics, producer_config, wait_until_connected, Ctx, Publisher};
use super::kafka_setup::wait_for_leaders;
use super::measure::{histogram, percentiles};
use super::metrics::Metrics;
use super::{DeliveryStats, MessageSink};
use distroduce_model::message::OutMessage;
use distroduce_model::output::{Boundary, TxnStats};
use distroduce_model::types::TransactionMode;
use distroduce_model::{JobId, KafkaPlan};
use hdrhistogram::Histogram;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{Producer, ThreadedProducer};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// librdkafka's default `transaction.timeout.ms`.
const DEFAULT_TXN_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause between attempts of a call that failed with a retriable error.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// A transaction step that failed, with the producer (hence the job) and the timestep.
#[derive(Debug, thiserror::Error)]
pub enum TxnError {
    #[error("cannot create the transactional producer `{id}`: {reason}")]
    Create { id: String, reason: String },
    #[error("transactional producer `{id}`: init_transactions failed after {waited:.1?}: {source}")]
    Init { id: String, waited: Duration, source: KafkaError },
    #[error("transactional producer `{id}`: cannot begin the transaction of timestep {timestep}: {source}")]
    Begin { id: String, timestep: u64, source: KafkaError },
    #[error(
        "transactional producer `{id}`: the transaction of timestep {timestep} ({messages} messages) could not be committed within {waited:.1?}: {source}; it was aborted"
    )]
    Commit { id: String, timestep: u64, messages: u64, waited: Duration, source: KafkaError },
    #[error("transactional producer `{id}`: aborting the transaction of timestep {timestep} failed: {source}")]
    Abort { id: String, timestep: u64, source: KafkaError },
}

/// One job's producer and its open transaction.
struct JobTxn {
    producer: ThreadedProducer<Ctx>,
    id: String,
    /// A transaction is open; it holds `messages`.
    open: bool,
    messages: u64,
    /// The timestep of the last message or boundary, for error reports.
    timestep: u64,
}

#[derive(Default)]
struct Counts {
    committed: AtomicU64,
    aborted: AtomicU64,
    messages_committed: AtomicU64,
    messages_aborted: AtomicU64,
}

/// Messages to Kafka in transactions aligned to the model (see the module docs).
pub struct KafkaTxnSink {
    /// Every job producer's settings but its `transactional.id`.
    cfg: ClientConfig,
    publisher: Publisher,
    mode: TransactionMode,
    prefix: String,
    /// Bound of every call that waits on the broker.
    timeout: Duration,
    /// By job index: the producer of a running job.
    jobs: Vec<Mutex<Option<JobTxn>>>,
    /// Messages of no running job (the expectations' oracle records, published after every job
    /// ended): one more producer, `<prefix>-run`, committed by [`MessageSink::finish`].
    outside: Mutex<Option<JobTxn>>,
    counts: Counts,
    /// Duration of each successful commit call, µs.
    commit_us: Mutex<Histogram<u64>>,
    brokers: String,
    embedded: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether librdkafka says the call may simply be made again (a flush that timed out inside a
/// commit is one: the commit was not attempted).
fn retriable(e: &KafkaError) -> bool {
    match e {
        KafkaError::Transaction(r) => r.is_retriable(),
        KafkaError::Flush(_) => true,
        _ => false,
    }
}

/// Wait until every message `producer` holds is delivered (or failed), at most `timeout`.
///
/// rdkafka's own `flush` (which its `commit_transaction` calls first) polls in fixed 100 ms
/// slices that always run to their end, so every commit took at least 100 ms (measured: p50 100.6
/// ms on the embedded broker). librdkafka's `rd_kafka_flush`, with delivery reports as events as
/// rdkafka configures them, instead waits on a condition variable while the producer's own thread
/// serves the reports, and returns as soon as the last one is served; the commit's flush then
/// finds nothing left.
fn flush(producer: &ThreadedProducer<Ctx>, timeout: Duration) -> Result<(), KafkaError> {
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: the handle is the producer's, alive for the whole call (`producer` is borrowed);
    // rd_kafka_flush may be called from any thread and only waits.
    let err = unsafe { rdkafka::bindings::rd_kafka_flush(producer.client().native_ptr(), ms) };
    match RDKafkaErrorCode::from(err) {
        RDKafkaErrorCode::NoError => Ok(()),
        code => Err(KafkaError::Flush(code)),
    }
}

/// Call `op` with the time left until `deadline`; again after a retriable error while time is left.
fn retry(deadline: Instant, mut op: impl FnMut(Duration) -> Result<(), KafkaError>) -> Result<(), KafkaError> {
    loop {
        match op(deadline.saturating_duration_since(Instant::now())) {
            Ok(()) => return Ok(()),
            Err(e) if retriable(&e) && Instant::now() + RETRY_PAUSE < deadline => {
                tracing::debug!("retrying a transaction call: {e}");
                std::thread::sleep(RETRY_PAUSE);
            }
            Err(e) => return Err(e),
        }
    }
}

impl KafkaTxnSink {
    /// Pacing (`kafka.rate`) stops waiting once `cancel` is set (see `Publisher::interruptible`).
    pub fn interruptible(mut self, cancel: Option<Arc<AtomicBool>>) -> Self {
        self.publisher.interruptible(cancel);
        self
    }

    /// Connect to `brokers` for a run of `jobs` jobs (job indices `0..jobs`). For a real cluster the
    /// brokers' reachability and the credentials are checked, and missing topics created, before
    /// any job runs; each job's producer is created when the job starts.
    pub fn connect(
        plan: &KafkaPlan,
        brokers: &str,
        embedded: bool,
        metrics: Option<Arc<Metrics>>,
        jobs: usize,
    ) -> Result<Self, String> {
        let cfg = producer_config(plan, brokers, metrics.is_some())?;
        let publisher = Publisher::new(plan, metrics)?;
        if !embedded {
            let fatal = Arc::new(Mutex::new(None));
            let probe: ThreadedProducer<Ctx> = cfg
                .create_with_context(publisher.context(false, fatal.clone()))
                .map_err(|e| format!("cannot create the Kafka producer: {e}"))?;
            wait_until_connected(probe.client(), &fatal, brokers)?;
            create_topics(plan, &cfg)?;
            // As for the plain sink: a job's first transaction would otherwise wait for leaders.
            wait_for_leaders(probe.client(), plan)?;
        }
        let timeout = plan
            .producer
            .iter()
            .find(|(k, _)| k == "transaction.timeout.ms")
            .and_then(|(_, v)| v.parse().ok())
            .map_or(DEFAULT_TXN_TIMEOUT, Duration::from_millis);
        Ok(Self {
            cfg,
            publisher,
            mode: plan.transactions,
            prefix: plan.transactional_id_prefix.clone(),
            timeout,
            jobs: (0..jobs).map(|_| Mutex::new(None)).collect(),
            outside: Mutex::new(None),
            counts: Counts::default(),
            commit_us: Mutex::new(histogram()),
            brokers: brokers.to_string(),
            embedded,
        })
    }

    /// The `transactional.id` of `job`.
    pub fn transactional_id(prefix: &str, job: &JobId) -> String {
        format!("{prefix}-{}-{}-{}", job.simulation, job.subset, job.run)
    }

    /// A producer with `id`, its transactions initialized (which fences an earlier producer with
    /// the same id and aborts what that one left open).
    fn open(&self, id: String) -> Result<JobTxn, Box<TxnError>> {
        let mut cfg = self.cfg.clone();
        cfg.set("transactional.id", &id);
        let ctx = self.publisher.context(self.embedded, Arc::new(Mutex::new(None)));
        let producer: ThreadedProducer<Ctx> = cfg
            .create_with_context(ctx)
            .map_err(|e| Box::new(TxnError::Create { id: id.clone(), reason: e.to_string() }))?;
        let started = Instant::now();
        retry(started + self.timeout, |left| producer.init_transactions(left)).map_err(|source| TxnError::Init {
            id: id.clone(),
            waited: started.elapsed(),
            source,
        })?;
        Ok(JobTxn { producer, id, open: false, messages: 0, timestep: 0 })
    }

    fn send_in(&self, j: &mut JobTxn, m: &OutMessage) -> Result<(), String> {
        j.timestep = m.meta.timestep;
        if !j.open {
            j.producer
                .begin_transaction()
                .map_err(|source| TxnError::Begin { id: j.id.clone(), timestep: j.timestep, source }.to_string())?;
            j.open = true;
        }
        self.publisher.send(&j.producer, m)?;
        j.messages += 1;
        Ok(())
    }

    /// Commit the open transaction, if any. One that cannot be committed is aborted.
    fn commit(&self, j: &mut JobTxn) -> Result<(), Box<TxnError>> {
        if !j.open {
            return Ok(());
        }
        let started = Instant::now();
        let commit = |left: Duration| {
            let deadline = Instant::now() + left;
            flush(&j.producer, left)?;
            j.producer.commit_transaction(deadline.saturating_duration_since(Instant::now()))
        };
        match retry(started + self.timeout, commit) {
            Ok(()) => {
                let took = started.elapsed();
                let _ = lock(&self.commit_us).record((took.as_micros() as u64).max(1));
                self.counts.committed.fetch_add(1, Ordering::Relaxed);
                self.counts.messages_committed.fetch_add(j.messages, Ordering::Relaxed);
                j.open = false;
                j.messages = 0;
                Ok(())
            }
            Err(source) => {
                let (messages, waited) = (j.messages, started.elapsed());
                // Never visible now; abort so the producer is usable and the outcome certain (if
                // even that fails, the coordinator aborts it at the transaction timeout).
                if let Err(e) = self.abort(j) {
                    tracing::debug!("{e}");
                }
                Err(Box::new(TxnError::Commit { id: j.id.clone(), timestep: j.timestep, messages, waited, source }))
            }
        }
    }

    /// Abort the open transaction, if any: its messages are counted as aborted either way.
    ///
    /// What the job handed over is delivered first (bounded like the abort), then aborted: an
    /// abort alone would drop the messages still queued, so whether an aborted message reached
    /// the log would depend on timing. This way every message sent is on the broker and marked
    /// aborted (a `read_uncommitted` consumer sees it, a `read_committed` one never does), and the
    /// delivery figures count it as acknowledged like any other.
    fn abort(&self, j: &mut JobTxn) -> Result<(), Box<TxnError>> {
        if !j.open {
            return Ok(());
        }
        let deadline = Instant::now() + self.timeout;
        if let Err(e) = flush(&j.producer, self.timeout) {
            tracing::debug!("before aborting `{}`: {e}", j.id);
        }
        let result = retry(deadline, |left| j.producer.abort_transaction(left));
        self.counts.aborted.fetch_add(1, Ordering::Relaxed);
        self.counts.messages_aborted.fetch_add(j.messages, Ordering::Relaxed);
        j.open = false;
        j.messages = 0;
        result.map_err(|source| Box::new(TxnError::Abort { id: j.id.clone(), timestep: j.timestep, source }))
    }

    fn slot(&self, job: &JobId) -> Result<&Mutex<Option<JobTxn>>, String> {
        self.jobs
            .get(job.index)
            .ok_or_else(|| format!("job index {} is outside the run's {} jobs", job.index, self.jobs.len()))
    }

    fn stats(&self) -> TxnStats {
        let c = &self.counts;
        TxnStats {
            mode: self.mode.as_str().to_string(),
            committed: c.committed.load(Ordering::Relaxed),
            aborted: c.aborted.load(Ordering::Relaxed),
            messages_committed: c.messages_committed.load(Ordering::Relaxed),
            messages_aborted: c.messages_aborted.load(Ordering::Relaxed),
            commit_ms: percentiles(&lock(&self.commit_us)),
        }
    }
}

impl MessageSink for KafkaTxnSink {
    fn send(&self, m: &OutMessage) -> Result<(), String> {
        if let Some(slot) = self.jobs.get(m.meta.job) {
            if let Some(j) = lock(slot).as_mut() {
                return self.send_in(j, m);
            }
        }
        let mut outside = lock(&self.outside);
        if outside.is_none() {
            *outside = Some(self.open(format!("{}-run", self.prefix)).map_err(|e| e.to_string())?);
        }
        self.send_in(outside.as_mut().expect("just opened"), m)
    }

    fn job_started(&self, job: &JobId) -> Result<(), String> {
        let j = self.open(Self::transactional_id(&self.prefix, job)).map_err(|e| e.to_string())?;
        *lock(self.slot(job)?) = Some(j);
        Ok(())
    }

    fn boundary(&self, job: &JobId, at: Boundary) -> Result<(), String> {
        let timestep = match at {
            Boundary::Block { .. } if self.mode != TransactionMode::Block => return Ok(()),
            Boundary::Block { timestep, .. } | Boundary::Timestep { timestep } => timestep,
        };
        let mut slot = lock(self.slot(job)?);
        let Some(j) = slot.as_mut() else { return Ok(()) };
        j.timestep = timestep;
        self.commit(j).map_err(|e| e.to_string())
    }

    fn job_ended(&self, job: &JobId, commit: bool) -> Result<(), String> {
        // Taken out of the slot: dropping the producer (joining its thread) happens unlocked.
        let Some(mut j) = lock(self.slot(job)?).take() else { return Ok(()) };
        let result = if commit { self.commit(&mut j) } else { self.abort(&mut j) };
        result.map_err(|e| e.to_string())
    }

    fn finish(&self, _timeout: Duration) -> DeliveryStats {
        let mut warnings = Vec::new();
        let mut first_error = None;
        if let Some(mut j) = lock(&self.outside).take() {
            if let Err(e) = self.commit(&mut j) {
                first_error = Some(e.to_string());
            }
        }
        // Every job ends before the run finishes; a producer still here belongs to a run that
        // stopped early, and what it holds was never confirmed complete.
        for slot in &self.jobs {
            if let Some(mut j) = lock(slot).take() {
                if let Err(e) = self.abort(&mut j) {
                    warnings.push(e.to_string());
                }
            }
        }
        let mut d = self.publisher.delivery(warnings, self.embedded);
        if d.first_error.is_none() {
            d.first_error = first_error;
        }
        d.transactions = Some(self.stats());
        d
    }

    fn describe(&self) -> String {
        let target = if self.embedded {
            format!("embedded Kafka (librdkafka mock cluster at {}; messages vanish when the run ends)", self.brokers)
        } else {
            format!("Kafka at {}", self.brokers)
        };
        format!(
            "{target}, one transaction per {} (transactional.id {}-<simulation>-<subset>-<run>)",
            self.mode.as_str(),
            self.prefix
        )
    }
}
