//! What a job hands back as it runs ([`JobSink`]): records to the writers' buffer (and the records
//! topic), messages through the disorder stage to the message sink, and where blocks and timesteps
//! end (progress, cancellation, transaction boundaries).

use crate::disorder::DisorderStage;
use crate::job::{FailKind, JobSink};
use crate::Progress;
use distroduce_model::expect::compute::JobGroups;
use distroduce_model::message::{ns_to_ms, MsgMeta, OutMessage};
use distroduce_model::output::{Boundary, MessageSink};
use distroduce_model::record::{PackedRecords, Record, RecordView, Row};
use distroduce_model::{Clock, JobId};
use std::time::{Duration, Instant};

/// How many bytes of values a job holds before it hands them to the writer thread.
const RECORD_BATCH_BYTES: usize = 1 << 20;

/// Record batches the writer thread has written, emptied for the jobs to fill again: a job's
/// next batch reuses their memory instead of growing a new one into fresh pages (page faults,
/// reallocation copies) that the writer then frees.
#[derive(Default)]
pub(crate) struct Spare(std::sync::Mutex<Vec<PackedRecords>>);

/// Batches kept at most (about [`RECORD_BATCH_BYTES`] to twice that each).
const SPARE_BATCHES: usize = 4;

impl Spare {
    /// An empty batch, with the memory of a written one if there is one.
    fn take(&self) -> PackedRecords {
        self.0.lock().ok().and_then(|mut v| v.pop()).unwrap_or_default()
    }

    /// A batch the writer is done with.
    pub(crate) fn give(&self, mut batch: PackedRecords) {
        if let Ok(mut v) = self.0.lock() {
            if v.len() < SPARE_BATCHES {
                batch.clear();
                v.push(batch);
            }
        }
    }
}

/// A job's way to the writer thread.
#[derive(Clone, Copy)]
pub(crate) struct WriterLink<'a> {
    pub(crate) tx: &'a std::sync::mpsc::Sender<crate::ToWriter>,
    /// Written batches to reuse.
    pub(crate) spare: &'a Spare,
    /// The job's position in the run's order.
    pub(crate) pos: usize,
    /// Whether records go there (there are record writers); else only message lines.
    pub(crate) records: bool,
}

impl WriterLink<'_> {
    fn send(&self, batch: crate::Batch) {
        // The writer thread ends after the job threads: it is there to receive.
        let _ = self.tx.send(crate::ToWriter::Batch(self.pos, batch));
    }
}

/// `messages.jsonl` lines of the messages a job sent, not yet handed to the writer thread.
pub(crate) struct MessageLines<'a> {
    pub(crate) topics: &'a [distroduce_model::TopicPlan],
    pub(crate) lines: Vec<u8>,
}

/// Publishing every record to a topic (`kafka.records_topic`).
pub(crate) struct RecordRoute<'a> {
    pub(crate) topic: usize,
    pub(crate) keys: &'a [String],
}

pub(crate) struct Collect<'a> {
    pub(crate) job: JobId,
    pub(crate) route: Option<RecordRoute<'a>>,
    /// The job's records not yet handed to the writers; none without writers (`--format none`).
    pub(crate) records: PackedRecords,
    /// With record writers or a messages file: the writer thread. Records and message lines go
    /// there in batches of [`RECORD_BATCH_BYTES`] as the job runs, the rest when it ends.
    pub(crate) to_writer: Option<WriterLink<'a>>,
    pub(crate) n_records: u64,
    /// Whether the job ran in the plugin's in-guest loop (`None`: it never started one).
    pub(crate) fused: Option<bool>,
    /// Substeps already reported to `progress` (records but the initial state's).
    pub(crate) substeps_reported: u64,
    /// With a messages file (`--write-messages`).
    pub(crate) message_lines: Option<MessageLines<'a>>,
    pub(crate) sink: &'a dyn MessageSink,
    /// `sink.reads_boundaries()`, read once: else no boundary is passed on.
    pub(crate) boundaries: bool,
    /// `sink.timed()`, read once: else no clock is read around its calls.
    pub(crate) timed: bool,
    pub(crate) sent: u64,
    /// Time spent handing messages to the producer (including back-pressure waits).
    pub(crate) publish_time: Duration,
    pub(crate) progress: Option<&'a dyn Progress>,
    pub(crate) cancel: Option<&'a std::sync::atomic::AtomicBool>,
    pub(crate) clock: distroduce_model::Clock,
    pub(crate) expectations: &'a [distroduce_model::expect::Expectation],
    pub(crate) groups: JobGroups,
    pub(crate) disorder: Option<DisorderStage>,
}

impl Collect<'_> {
    /// Hand messages to the producer (after the disorder stage), in order; with a messages file,
    /// each message's line is written as it is sent. The caller keeps the buffers.
    fn send_all(&mut self, m: &[OutMessage]) -> Result<(), String> {
        // Most timesteps of most models send nothing; they need no clock reads.
        if m.is_empty() {
            return Ok(());
        }
        let started = self.timed.then(Instant::now);
        for msg in m.iter() {
            self.sink.send(msg)?;
        }
        if let Some(s) = started {
            self.publish_time += s.elapsed();
        }
        self.sent += m.len() as u64;
        if let Some(ml) = &mut self.message_lines {
            for msg in m.iter() {
                let topic = &ml.topics[msg.topic].name;
                distroduce_model::messages_jsonl::write_line(&mut ml.lines, topic, &self.job, msg)
                    .map_err(|e| e.to_string())?;
            }
            if let Some(w) = self.to_writer.filter(|_| ml.lines.len() >= RECORD_BATCH_BYTES) {
                w.send(crate::Batch::MessageLines(std::mem::take(&mut ml.lines)));
            }
        }
        Ok(())
    }

    /// Release what the disorder stage still holds (end of the job, also after a failure: those
    /// messages belong to blocks that succeeded).
    pub(crate) fn finish(&mut self) -> Result<(), String> {
        let mut out = Vec::new();
        if let Some(d) = &mut self.disorder {
            d.finish(&mut out);
        }
        self.send_all(&out)
    }

    /// A record to the records topic and the writers' buffer.
    fn add_record<'v>(&mut self, r: impl RecordView<'v>) -> Result<(), String> {
        if let Some(route) = &self.route {
            let mut value = Vec::new();
            distroduce_model::record::write_record_json(&mut value, route.keys, &self.job, r)
                .map_err(|e| e.to_string())?;
            let j = &self.job;
            let msg = OutMessage {
                topic: route.topic,
                key: Some(format!("{}-{}-{}", j.simulation, j.subset, j.run).into_bytes()),
                value,
                headers: Vec::new(),
                partition: None,
                event_time_ms: Some(ns_to_ms(self.clock.at(r.timestep()))),
                // The job's, so that a transactional sink puts it in the job's transaction.
                meta: MsgMeta { job: self.job.index, timestep: r.timestep(), substep: r.substep(), seq: 0 },
            };
            let started = self.timed.then(Instant::now);
            self.sink.send(&msg)?;
            if let Some(s) = started {
                self.publish_time += s.elapsed();
            }
            self.sent += 1;
        }
        // A block's messages and its record are out: the block is done.
        if r.timestep() > 0 && self.boundaries {
            self.sink.boundary(&self.job, Boundary::Block { timestep: r.timestep(), substep: r.substep() })?;
        }
        self.n_records += 1;
        if let Some(w) = self.to_writer.filter(|w| w.records) {
            self.records.push(r);
            if self.records.value_bytes() >= RECORD_BATCH_BYTES {
                w.send(crate::Batch::Records(std::mem::replace(&mut self.records, w.spare.take())));
            }
        }
        Ok(())
    }
}

impl JobSink for Collect<'_> {
    fn loop_used(&mut self, fused: bool) {
        self.fused = Some(fused);
    }
    fn wants_values(&self) -> bool {
        self.route.is_some() || self.to_writer.is_some_and(|w| w.records)
    }
    fn record(&mut self, r: Record) -> Result<(), String> {
        self.add_record(&r)
    }
    fn record_row(&mut self, r: Row<'_, Vec<u8>>) -> Result<(), String> {
        self.add_record(r)
    }
    fn messages(&mut self, m: &mut [OutMessage]) -> Result<(), FailKind> {
        // Expectations see each distinct message once, as emitted, whatever disorder follows.
        // (Most runs have none: no call per message then.)
        if !self.expectations.is_empty() {
            for msg in m.iter() {
                self.groups.add(self.expectations, msg).map_err(FailKind::Expect)?;
            }
        }
        match &mut self.disorder {
            Some(d) => {
                let mut now = Vec::with_capacity(m.len());
                d.admit(m.iter_mut().map(std::mem::take).collect(), &mut now);
                self.send_all(&now)
            }
            None => self.send_all(m),
        }
        .map_err(FailKind::Sink)
    }
    fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
    }
    fn timestep_done(&mut self, t: u64, now_ns: i64) -> Result<(), FailKind> {
        if let Some(p) = self.progress {
            p.advance(1);
            let done = self.n_records.saturating_sub(1);
            p.substeps(done.saturating_sub(self.substeps_reported));
            self.substeps_reported = done;
        }
        // The timestep is complete, interrupted or not: its messages (and those the disorder
        // stage releases now) go out and its transaction is committed before the job stops.
        let mut due = Vec::new();
        if let Some(d) = &mut self.disorder {
            d.timestep_done(now_ns, &mut due);
        }
        self.send_all(&due).map_err(FailKind::Sink)?;
        if self.boundaries {
            self.sink.boundary(&self.job, Boundary::Timestep { timestep: t }).map_err(FailKind::Sink)?;
        }
        if self.cancelled() {
            return Err(FailKind::Interrupted);
        }
        Ok(())
    }
    fn quiet_blocks(&mut self, t: u64, k: u32, n: u32) -> Result<(), String> {
        // Without values there is no records route and no record writer (`wants_values`):
        // a quiet block's record is a count and, for a sink that groups messages, a boundary.
        debug_assert!(!self.wants_values(), "quiet blocks carry no values");
        if self.boundaries {
            for k in k..k + n {
                self.sink.boundary(&self.job, Boundary::Block { timestep: t, substep: k })?;
            }
        }
        self.n_records += n as u64;
        Ok(())
    }
    fn quiet_timesteps(&mut self, t: u64, n: u64, blocks: u32, clock: &Clock) -> Result<(), (u64, u32, FailKind)> {
        // Boundaries and the disorder stage's clock go timestep by timestep.
        if self.boundaries || self.disorder.is_some() {
            return crate::job::quiet_timesteps_one_by_one(self, t, n, blocks, clock);
        }
        // Else a timestep's end only reports progress and reads the cancel flag: once for all.
        if n == 0 {
            return Ok(());
        }
        let last = t + n - 1;
        self.n_records += n * blocks as u64;
        if let Some(p) = self.progress {
            // The last one's `timestep_done` advances one more.
            p.advance(n - 1);
        }
        self.timestep_done(last, clock.at(last)).map_err(|e| (last, blocks, e))
    }
}
