//! The writer thread's side of a run: what the job threads send ([`ToWriter`]) is written in job
//! order — the first unfinished job's batches as they come, a later job's held in [`Reorder`]
//! until it is first — and each finished job's figures are added to the run's report.

use crate::reorder::{Batch, Reorder};
use crate::{FailKind, JobResult, RunReport, SimError, ToWriter};
use distroduce_model::output::RecordWriter;
use distroduce_model::JobId;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Where batches go: the record writers and `messages.jsonl`. The first error stops the writing
/// (the run fails with it; what was written before stays).
pub(crate) struct Outputs<'w> {
    pub(crate) writers: &'w mut [Box<dyn RecordWriter>],
    pub(crate) messages: Option<MessagesOut>,
    pub(crate) result: Result<(), SimError>,
}

impl Outputs<'_> {
    fn write(&mut self, job: &JobId, batch: &Batch) {
        if self.result.is_err() || batch.is_empty() {
            return;
        }
        self.result = match (batch, &mut self.messages) {
            (Batch::Records(records), _) => self
                .writers
                .iter_mut()
                .try_for_each(|w| w.write_job(job, records).map_err(|e| SimError::write(w.as_ref(), e))),
            (Batch::MessageLines(lines), Some(out)) => out.write(lines),
            (Batch::MessageLines(_), None) => Ok(()),
        };
    }

    /// Flush everything, after the last batch.
    pub(crate) fn finish(self) -> Result<(), SimError> {
        self.result?;
        if let Some(out) = self.messages {
            out.finish()?;
        }
        self.writers.iter_mut().try_for_each(|w| w.finish().map_err(|e| SimError::write(w.as_ref(), e)))
    }
}

/// Jobs' batches and results, put back in job order.
pub(crate) struct InOrder<'a, 'w> {
    pub(crate) jobs: &'a [JobId],
    pub(crate) position: &'a HashMap<usize, usize>,
    pub(crate) out: Outputs<'w>,
    early: Reorder,
    /// Finished jobs waiting for the ones before them.
    pending: BTreeMap<usize, JobResult>,
    /// The position of the first unfinished job.
    next: usize,
    /// The first error holding a batch on disk; later batches are dropped.
    pub(crate) spill_error: Option<std::io::Error>,
    /// Jobs run by (the plugin's loop, the host's).
    pub(crate) loops: (usize, usize),
}

impl<'a, 'w> InOrder<'a, 'w> {
    pub(crate) fn new(
        jobs: &'a [JobId],
        position: &'a HashMap<usize, usize>,
        out: Outputs<'w>,
        window: usize,
        spill_dir: PathBuf,
    ) -> Self {
        let early = Reorder::new(window, spill_dir);
        Self { jobs, position, out, early, pending: BTreeMap::new(), next: 0, spill_error: None, loops: (0, 0) }
    }

    fn hold(&mut self, pos: usize, batch: Batch) {
        if self.spill_error.is_none() {
            self.spill_error = self.early.hold(pos, batch).err();
        }
    }

    /// Take one message from a job thread.
    pub(crate) fn receive(&mut self, msg: ToWriter, report: &mut RunReport, spare: &crate::collect::Spare) {
        match msg {
            ToWriter::Batch(pos, batch) if pos == self.next => {
                self.out.write(&self.jobs[pos], &batch);
                if let Batch::Records(r) = batch {
                    spare.give(r);
                }
            }
            ToWriter::Batch(pos, batch) => self.hold(pos, batch),
            ToWriter::Done(mut r) => {
                let pos = self.position[&r.job.index];
                if pos != self.next {
                    // After the job's earlier batches, so they stay in order.
                    self.hold(pos, Batch::Records(std::mem::take(&mut r.records)));
                    self.hold(pos, Batch::MessageLines(std::mem::take(&mut r.message_lines)));
                }
                self.pending.insert(pos, *r);
            }
        }
        while let Some(mut r) = self.pending.remove(&self.next) {
            self.next += 1;
            self.out.write(&r.job, &Batch::Records(std::mem::take(&mut r.records)));
            self.out.write(&r.job, &Batch::MessageLines(std::mem::take(&mut r.message_lines)));
            let jobs = self.jobs;
            if let Some(job) = jobs.get(self.next) {
                if let Err(e) = self.early.release(self.next, |batch| self.out.write(job, batch)) {
                    self.spill_error.get_or_insert(e);
                }
            }
            self.add(r, report);
        }
    }

    /// Bytes that waited on disk, and the most memory held at once, over the run.
    pub(crate) fn held(&self) -> (u64, usize) {
        (self.early.spilled, self.early.peak)
    }

    /// A finished job's figures, in job order.
    fn add(&mut self, r: JobResult, report: &mut RunReport) {
        report.records += r.n_records;
        match r.fused {
            Some(true) => self.loops.0 += 1,
            Some(false) => self.loops.1 += 1,
            None => {}
        }
        report.substeps += r.substeps;
        report.messages += r.sent;
        report.publish_time += r.publish_time;
        report.generation_time += r.job_time.saturating_sub(r.publish_time);
        report.partials.extend(r.partials);
        match r.failure {
            Some(f) if matches!(f.error, FailKind::Interrupted) => report.interrupted_jobs += 1,
            Some(f) => report.failures.push(f),
            None => {}
        }
    }
}

/// `messages.jsonl`, written by the writer thread in job order.
pub(crate) struct MessagesOut {
    path: PathBuf,
    file: std::io::BufWriter<std::fs::File>,
}

impl MessagesOut {
    pub(crate) fn create(path: &Path) -> Result<Self, SimError> {
        let error = |source| SimError::Write { path: path.to_path_buf(), source };
        Ok(Self {
            path: path.to_path_buf(),
            file: std::io::BufWriter::new(std::fs::File::create(path).map_err(error)?),
        })
    }
    fn write(&mut self, lines: &[u8]) -> Result<(), SimError> {
        use std::io::Write;
        self.file.write_all(lines).map_err(|source| SimError::Write { path: self.path.clone(), source })
    }
    fn finish(mut self) -> Result<(), SimError> {
        use std::io::Write;
        self.file.flush().map_err(|source| SimError::Write { path: self.path, source })
    }
}
