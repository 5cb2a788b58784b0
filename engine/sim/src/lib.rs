//! Running a model: jobs in parallel on a rayon pool, records written in cadCAD order by the calling
//! thread through a bounded reorder buffer ([`reorder`]), messages handed to the sink as each block
//! completes.

mod collect;
pub mod disorder;
mod fused;
pub mod input;
pub mod job;
mod pace;
mod reorder;
mod writer;

use collect::{Collect, MessageLines, RecordRoute, Spare, WriterLink};
use disorder::DisorderStage;
use distroduce_model::expect::compute::{JobGroups, Partial};
use distroduce_model::output::{MessageSink, RecordWriter};
use distroduce_model::record::PackedRecords;
pub use distroduce_model::record::Record;
use distroduce_model::{JobId, Model};
use distroduce_plugin_host::{Backend, Resolved};
use job::{run_job, FailKind, JobCtx};
use rayon::prelude::*;
use reorder::Batch;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A job that stopped early, with everything needed to find the cause.
#[derive(Debug, Clone)]
pub struct JobFailure {
    pub job: JobId,
    pub timestep: u64,
    pub substep: u32,
    pub block: String,
    pub function: String,
    pub error: FailKind,
    pub log_tail: Vec<String>,
    pub stderr_tail: String,
}

impl std::fmt::Display for JobFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.function.split_once('.') {
            Some((plugin, export)) => write!(
                f,
                "plugin `{plugin}` export `{export}` failed in {} at timestep {}, substep {} ({}): {}",
                self.job, self.timestep, self.substep, self.block, self.error
            )?,
            // No plugin function to blame: the output side failed (a record file, the message
            // sink, a Kafka transaction). Say what, where.
            None => write!(
                f,
                "{} failed in {} at timestep {}, substep {}: {}",
                self.block, self.job, self.timestep, self.substep, self.error
            )?,
        }
        if !self.stderr_tail.trim().is_empty() {
            write!(f, "\n  guest stderr:\n    {}", self.stderr_tail.trim().replace('\n', "\n    "))?;
        }
        if !self.log_tail.is_empty() {
            write!(f, "\n  last log lines:\n    {}", self.log_tail.join("\n    "))?;
        }
        Ok(())
    }
}

/// Why a run could not complete (a failing job is not one: it is reported in [`RunReport`]).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot start {0}")]
    Threads(String),
    /// `--data-plane fused` on a scenario whose jobs cannot run in a plugin's loop.
    #[error("cannot use the in-guest loop (--data-plane fused): {0}")]
    NotFusable(String),
    /// A record file could not be written; jobs already written are on disk.
    #[error("cannot write {}: {source}", path.display())]
    Write { path: std::path::PathBuf, source: std::io::Error },
    /// Records of jobs ahead of their turn could not wait on disk; jobs already written are.
    #[error("cannot keep waiting records in a temporary file in {}: {source}", dir.display())]
    Spill { dir: std::path::PathBuf, source: std::io::Error },
}

impl SimError {
    fn write(w: &dyn RecordWriter, source: std::io::Error) -> Self {
        Self::Write { path: w.path().to_path_buf(), source }
    }
}

/// Which loop runs the blocks of a job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DataPlane {
    /// The plugin's in-guest loop where the scenario allows it (one plugin holds every function,
    /// no `history`, the plugin offers the loop), else the host loop.
    #[default]
    Auto,
    /// The engine's loop: one plugin call per function.
    Host,
    /// The plugin's in-guest loop (ABI.md §10); a run that cannot use it fails before any job.
    Fused,
}

impl std::str::FromStr for DataPlane {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Self::Auto),
            "host" => Ok(Self::Host),
            "fused" => Ok(Self::Fused),
            _ => Err(format!("unknown data plane `{s}`; expected auto, host or fused")),
        }
    }
}

pub struct RunOptions {
    pub threads: usize,
    /// Which loop runs the jobs.
    pub data_plane: DataPlane,
    /// Run only this shard's jobs: `(index, count)`, job i belongs to shard `i % count`.
    pub shard: Option<(u32, u32)>,
    /// Write every message, in job order, to this file as the run goes (`messages.jsonl`,
    /// [`distroduce_model::messages_jsonl`]).
    pub messages_file: Option<std::path::PathBuf>,
    /// Told how far the run is (the command line draws a progress bar from it).
    pub progress: Option<std::sync::Arc<dyn Progress>>,
    /// Set from outside (a signal handler) to stop the run: no job starts after it is set, and a
    /// running job stops after its current timestep. What was produced is still written.
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Bytes of memory for the records of jobs that finish batches ahead of the first unfinished
    /// job (records are written in job order); past it they wait in an unnamed file in
    /// `spill_dir`. [`DEFAULT_RECORD_WINDOW`] unless set.
    pub record_window: usize,
    pub spill_dir: std::path::PathBuf,
}

/// The most worker threads a run starts (`--threads` is refused above it).
pub const MAX_THREADS: usize = 1024;

/// The default [`RunOptions::record_window`]: 64 MiB.
pub const DEFAULT_RECORD_WINDOW: usize = 64 << 20;

impl Default for RunOptions {
    /// One thread, the loop chosen as `auto`, every job, nothing kept, the default record window
    /// spilling to the system's temporary directory.
    fn default() -> Self {
        Self {
            threads: 1,
            data_plane: DataPlane::default(),
            shard: None,
            messages_file: None,
            progress: None,
            cancel: None,
            record_window: DEFAULT_RECORD_WINDOW,
            spill_dir: std::env::temp_dir(),
        }
    }
}

impl RunOptions {
    fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
    }
}

/// How far a run is. Called from worker threads.
pub trait Progress: Send + Sync {
    /// Once, before any job starts: the timesteps this run (or shard) will simulate.
    fn start(&self, total_timesteps: u64);
    /// `n` more timesteps are done.
    fn advance(&self, n: u64);
    /// `n` more substeps are done (reported with each finished timestep). Live metrics count them;
    /// a progress bar need not.
    fn substeps(&self, _n: u64) {}
    /// A job started (it is about to instantiate its plugins). Jobs the run was cancelled before
    /// never start.
    fn job_started(&self) {}
    /// A job that [`Progress::job_started`] ended so.
    fn job_ended(&self, _end: JobEnd) {}
}

/// How a job ended, for [`Progress::job_ended`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnd {
    Done,
    Failed,
    /// Stopped (or never started) because the run was cancelled.
    Interrupted,
}

/// Whether `job` belongs to `shard` (round robin over cadCAD job order, so shards get similar
/// mixes of subsets and runs).
pub fn in_shard(job: &JobId, shard: Option<(u32, u32)>) -> bool {
    shard.is_none_or(|(i, n)| job.index % n as usize == i as usize)
}

/// What a run did.
#[derive(Debug, Default)]
pub struct RunReport {
    pub jobs: usize,
    pub records: u64,
    pub substeps: u64,
    pub messages: u64,
    pub failures: Vec<JobFailure>,
    /// Time spent running jobs (excludes plugin compilation and the final flush).
    pub sim_time: Duration,
    /// Summed over jobs: time computing the model (plugin calls, aggregation, records).
    pub generation_time: Duration,
    /// Summed over jobs: time handing messages to the producer.
    pub publish_time: Duration,
    /// Jobs stopped or never started because the run was cancelled ([`RunOptions::cancel`]).
    pub interrupted_jobs: usize,
    /// `fused` if the jobs ran in the plugin's in-guest loop, `host` if in the engine's, `mixed`
    /// if a plugin declined its loop for some jobs.
    pub data_plane: &'static str,
    /// Every job's expectation groups, in job order (see [`distroduce_model::expect::compute`]).
    pub partials: Vec<Partial>,
    /// Bytes of records that waited on disk for their job's turn ([`RunOptions::record_window`]).
    pub records_spilled: u64,
    /// The most memory records ahead of their turn held at once.
    pub records_held_peak: usize,
    /// Worker threads the run started: `RunOptions::threads`, but never more than its jobs.
    pub threads: usize,
}

/// What job threads send the writer thread.
pub(crate) enum ToWriter {
    /// A full batch of a running job's records or message lines (the job at this position of
    /// the run's order).
    Batch(usize, Batch),
    /// A job ended; its last records are in it.
    Done(Box<JobResult>),
}

pub(crate) struct JobResult {
    job: JobId,
    records: PackedRecords,
    n_records: u64,
    fused: Option<bool>,
    /// The job's last `messages.jsonl` lines.
    message_lines: Vec<u8>,
    sent: u64,
    substeps: u64,
    failure: Option<JobFailure>,
    job_time: Duration,
    publish_time: Duration,
    partials: Vec<Partial>,
}

/// Run every job of `model`. Records reach `writers` in cadCAD order; a failed job's records up to
/// the failure are written too, and the other jobs still run.
pub fn run(
    model: &Model,
    backend: &dyn Backend,
    resolved: &Resolved,
    sink: &dyn MessageSink,
    writers: &mut [Box<dyn RecordWriter>],
    opts: &RunOptions,
) -> Result<RunReport, SimError> {
    let keys = input::Keys::new(model);
    let fused = match opts.data_plane {
        DataPlane::Host => None,
        DataPlane::Auto => fused::fused_plugin(model, resolved, |p| backend.fused_capable(p)),
        DataPlane::Fused => Some(
            fused::fused_plugin(model, resolved, |p| backend.fused_capable(p)).ok_or_else(|| {
                SimError::NotFusable(
                    "it needs every function in one plugin built with an SDK that offers the loop (the Rust SDK's `native_table!`), and no `history`".into(),
                )
            })?,
        ),
    };
    let cx = JobCtx {
        model,
        resolved,
        keys: &keys,
        topics: std::sync::Arc::from(model.kafka.topics.clone()),
        fused,
        fused_required: opts.data_plane == DataPlane::Fused,
    };
    let json_keys = distroduce_model::record::json_keys(model);
    let jobs: Vec<JobId> = model.jobs().into_iter().filter(|j| in_shard(j, opts.shard)).collect();
    let position: std::collections::HashMap<usize, usize> =
        jobs.iter().enumerate().map(|(p, j)| (j.index, p)).collect();
    // No more threads than jobs: a thread without a job only costs its start.
    let threads = opts.threads.clamp(1, MAX_THREADS).min(jobs.len().max(1));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("job-worker-{i}"))
        .build()
        .map_err(|e| SimError::Threads(e.to_string()))?;
    if let Some(p) = &opts.progress {
        p.start(jobs.len() as u64 * model.timesteps);
    }
    let start = Instant::now();
    let mut report = RunReport { jobs: jobs.len(), threads, ..Default::default() };
    let (tx, rx) = mpsc::channel::<ToWriter>();
    let keep_records = !writers.is_empty();
    let messages = match &opts.messages_file {
        Some(path) => Some(writer::MessagesOut::create(path)?),
        None => None,
    };
    let to_writer = keep_records || messages.is_some();
    let out = writer::Outputs { writers, messages, result: Ok(()) };
    let mut in_order = writer::InOrder::new(&jobs, &position, out, opts.record_window, opts.spill_dir.clone());
    let spare = Spare::default();
    std::thread::scope(|s| {
        let cx = &cx;
        let jobs = &jobs;
        let pool = &pool;
        let position = &position;
        let spare = &spare;
        s.spawn(move || {
            pool.install(|| {
                jobs.par_iter().with_max_len(1).for_each_with(tx, |tx, job| {
                    let link = WriterLink { tx: &*tx, spare, pos: position[&job.index], records: keep_records };
                    let r = execute(cx, backend, *job, sink, opts, &json_keys, to_writer.then_some(link));
                    let _ = tx.send(ToWriter::Done(Box::new(r)));
                })
            })
        });
        for msg in rx {
            in_order.receive(msg, &mut report, spare);
        }
    });
    (report.records_spilled, report.records_held_peak) = in_order.held();
    report.sim_time = start.elapsed();
    if let Some(source) = in_order.spill_error {
        return Err(SimError::Spill { dir: opts.spill_dir.clone(), source });
    }
    // A plugin may decline its loop for some jobs (ABI.md §10): say so rather than pick one.
    report.data_plane = match in_order.loops {
        (0, 0) if cx.fused.is_some() => "fused",
        (0, _) => "host",
        (_, 0) => "fused",
        _ => "mixed",
    };
    in_order.out.finish()?;
    Ok(report)
}

/// Why a job could not start.
enum JobStartError {
    /// Its plugins could not be instantiated.
    Call(distroduce_plugin_host::CallFailure),
    /// The message sink could not open the job's output (a transactional producer).
    Sink(String),
}

fn execute(
    cx: &JobCtx,
    backend: &dyn Backend,
    job: JobId,
    sink: &dyn MessageSink,
    opts: &RunOptions,
    json_keys: &[String],
    to_writer: Option<WriterLink>,
) -> JobResult {
    let started = Instant::now();
    let mut c = Collect {
        job,
        route: cx.model.kafka.records_topic.map(|topic| RecordRoute { topic, keys: json_keys }),
        records: PackedRecords::default(),
        to_writer,
        n_records: 0,
        fused: None,
        substeps_reported: 0,
        message_lines: opts
            .messages_file
            .is_some()
            .then(|| MessageLines { topics: &cx.model.kafka.topics, lines: Vec::new() }),
        sink,
        boundaries: sink.reads_boundaries(),
        timed: sink.timed(),
        sent: 0,
        publish_time: Duration::ZERO,
        progress: opts.progress.as_deref(),
        cancel: opts.cancel.as_deref(),
        clock: cx.model.clock,
        expectations: &cx.model.expectations,
        groups: JobGroups::default(),
        disorder: DisorderStage::new(cx.model, &job),
    };
    let started_job = !opts.cancelled();
    let instance = if !started_job {
        // Not started: reported as interrupted at timestep 0, with no records.
        Err(None)
    } else {
        if let Some(p) = c.progress {
            p.job_started();
        }
        match sink.job_started(&job) {
            Ok(()) => backend.instantiate(job::job_seed(cx.model, &job)).map_err(|e| Some(JobStartError::Call(e))),
            Err(e) => Err(Some(JobStartError::Sink(e))),
        }
    };
    let (substeps, mut failure) = match instance {
        Err(None) => (
            0,
            Some(JobFailure {
                job,
                timestep: 0,
                substep: 0,
                block: "not started".into(),
                function: String::new(),
                error: FailKind::Interrupted,
                log_tail: vec![],
                stderr_tail: String::new(),
            }),
        ),
        Err(Some(e)) => (
            0,
            Some(JobFailure {
                job,
                timestep: 0,
                substep: 0,
                block: match e {
                    JobStartError::Call(_) => "instantiation",
                    JobStartError::Sink(_) => "opening the job's Kafka producer",
                }
                .into(),
                function: String::new(),
                error: match e {
                    JobStartError::Call(e) => FailKind::Call(e),
                    JobStartError::Sink(e) => FailKind::Sink(e),
                },
                log_tail: vec![],
                stderr_tail: String::new(),
            }),
        ),
        Ok(mut b) => match run_job(cx, b.as_mut(), job, &mut c) {
            Ok(n) => (n, None),
            Err(f) => (c.n_records.saturating_sub(1), Some(*f)),
        },
    };
    if let Err(e) = c.finish() {
        failure.get_or_insert(JobFailure {
            job,
            timestep: cx.model.timesteps,
            substep: 0,
            block: "held messages".into(),
            function: String::new(),
            error: FailKind::Sink(e),
            log_tail: vec![],
            stderr_tail: String::new(),
        });
    }
    if started_job {
        // Commit what the job sent since its last boundary, unless it failed: then discard it.
        let commit = failure.as_ref().is_none_or(|f| matches!(f.error, FailKind::Interrupted));
        if let Err(e) = sink.job_ended(&job, commit) {
            let t = failure.as_ref().map_or(cx.model.timesteps, |f| f.timestep);
            failure.get_or_insert(JobFailure {
                job,
                timestep: t,
                substep: 0,
                block: "ending the job's Kafka transaction".into(),
                function: String::new(),
                error: FailKind::Sink(e),
                log_tail: vec![],
                stderr_tail: String::new(),
            });
        }
    }
    if let Some(p) = c.progress.filter(|_| started_job) {
        p.job_ended(match &failure {
            None => JobEnd::Done,
            Some(f) if matches!(f.error, FailKind::Interrupted) => JobEnd::Interrupted,
            Some(_) => JobEnd::Failed,
        });
    }
    JobResult {
        job,
        partials: std::mem::take(&mut c.groups).into_partials(&cx.model.expectations, job.index),
        records: c.records,
        n_records: c.n_records,
        fused: c.fused,
        message_lines: c.message_lines.map(|m| m.lines).unwrap_or_default(),
        sent: c.sent,
        substeps,
        failure,
        job_time: started.elapsed(),
        publish_time: c.publish_time,
    }
}
