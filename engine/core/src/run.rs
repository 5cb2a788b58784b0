//! The operations behind the CLI (`run`, `validate`), as plain functions with typed errors, so tests
//! and benchmarks drive exactly what a user drives.

use crate::metrics::{MetricsProgress, MetricsServer};
use distroduce_model::expect::compute::{write_jsonl, Totals};
use distroduce_model::expect::ExpectedRecord;
use distroduce_model::layout::{self, OutputDir};
use distroduce_model::message::OutMessage;
use distroduce_model::types::TransactionMode;
use distroduce_model::{ConfigErrors, Model};
use distroduce_plugin_host::wasm::WasmBackend;
use distroduce_plugin_host::{Backend, Resolved};
use distroduce_registry::Mode as RegistryMode;
use distroduce_scenario::Overrides;
use distroduce_sim::{Progress, RunOptions};
use distroduce_sink::kafka::{EmbeddedBroker, KafkaSink};
use distroduce_sink::kafka_txn::KafkaTxnSink;
use distroduce_sink::metrics::{CountingSink, Metrics};
use distroduce_sink::records::create_writers;
use distroduce_sink::{MessageSink, NullSink};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod outcome;
pub use outcome::{RunError, ShardMetrics, Summary};

/// Where messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KafkaTarget {
    /// The scenario's brokers if it names any, else the embedded broker.
    Auto,
    /// These brokers, whatever the scenario says.
    Brokers(String),
    /// Generate messages and discard them (model-only benchmarks).
    None,
}

/// Everything `engine run` can be told.
#[derive(Debug, Clone)]
pub struct RunArgs {
    pub scenario: PathBuf,
    pub threads: usize,
    pub out: Option<PathBuf>,
    pub formats: Option<Vec<distroduce_model::types::RecordFormat>>,
    pub kafka: KafkaTarget,
    pub runs: Option<u64>,
    pub timesteps: Option<u64>,
    pub seed: Option<u64>,
    /// Replace the scenario's `semantics` (cadcad or radcad).
    pub semantics: Option<distroduce_model::types::Semantics>,
    /// Also write every message, in job order, to `messages.jsonl`.
    pub write_messages: bool,
    pub flush_timeout: Duration,
    /// Bytes for records of jobs ahead of their turn ([`distroduce_sim::RunOptions::record_window`]).
    pub record_window: usize,
    /// Run only one shard of the jobs: `(index, count)`.
    pub shard: Option<(u32, u32)>,
    /// Replace plugins by name with prebuilt modules (`--plugin chat=chat_go.wasm`): the same
    /// model with another language's implementation.
    pub plugins: Vec<(String, PathBuf)>,
    /// Set it (from a signal handler) to stop the run early: no new job starts, running jobs stop
    /// after their current timestep, and everything produced is still written and flushed.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Which loop runs the jobs (`--data-plane`).
    pub data_plane: distroduce_sim::DataPlane,
    /// Serve live metrics (Prometheus text format) at `http://ADDR/metrics` while the run goes
    /// (`--metrics-addr`). Loopback addresses only, unless `metrics_allow_remote`.
    pub metrics_addr: Option<std::net::SocketAddr>,
    pub metrics_allow_remote: bool,
    /// An endpoint that is already serving (`engine bench` keeps one across its cells); when unset
    /// and `metrics_addr` is set, each run starts and stops its own.
    pub metrics_server: Option<Arc<MetricsServer>>,
    /// `--schema-registry URL`: in place of `kafka.schema_registry.url`.
    pub schema_registry: Option<String>,
}

impl RunArgs {
    pub fn new(scenario: impl Into<PathBuf>) -> Self {
        Self {
            scenario: scenario.into(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            out: None,
            formats: None,
            kafka: KafkaTarget::Auto,
            runs: None,
            timesteps: None,
            seed: None,
            semantics: None,
            write_messages: false,
            flush_timeout: Duration::from_secs(60),
            record_window: distroduce_sim::DEFAULT_RECORD_WINDOW,
            shard: None,
            plugins: Vec::new(),
            cancel: None,
            data_plane: distroduce_sim::DataPlane::Auto,
            metrics_addr: None,
            metrics_allow_remote: false,
            metrics_server: None,
            schema_registry: None,
        }
    }
}

impl RunArgs {
    /// The command-line values that replace the scenario's.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            runs: self.runs,
            timesteps: self.timesteps,
            seed: self.seed,
            semantics: self.semantics,
            out: self.out.clone(),
            formats: self.formats.clone(),
            plugins: self.plugins.clone(),
            schema_registry: self.schema_registry.clone(),
        }
    }
}

/// Parse, compile and check a scenario and its plugins, without running anything.
/// `format: avro` and `protobuf` topics have their schemas checked by the registry (valid, and each compatible
/// with the one before); nothing is left registered.
pub fn validate(
    path: &Path,
    plugins: &[(String, PathBuf)],
    schema_registry: Option<&str>,
) -> Result<(Model, WasmBackend, Resolved), RunError> {
    let ov = Overrides {
        plugins: plugins.to_vec(),
        schema_registry: schema_registry.map(str::to_string),
        ..Default::default()
    };
    let mut model = distroduce_scenario::load_with(path, &ov)?;
    check_producer(&model)?;
    let (backend, resolved) = WasmBackend::load(&model)?;
    let file = model.file.clone();
    distroduce_registry::prepare(&file, &mut model.kafka, RegistryMode::Check)?;
    Ok((model, backend, resolved))
}

/// Register the schemas of `format: avro` and `protobuf` topics and give them their encoders, before any job;
/// a model whose topics already have theirs is returned as it is.
fn with_registered_schemas(model: &Model) -> Result<Option<Model>, RunError> {
    if !model.kafka.topics.iter().any(|t| t.format.uses_registry() && t.encoder.is_none()) {
        return Ok(None);
    }
    let mut m = model.clone();
    for line in distroduce_registry::prepare(&model.file, &mut m.kafka, RegistryMode::Register)? {
        tracing::info!("schema registered: {line}");
    }
    Ok(Some(m))
}

/// `kafka.producer` checked with librdkafka's own configuration parser, so that `validate` (not a
/// producer created mid-`run`) reports a typo, at the YAML key (issue 12, defect 10).
pub fn check_producer(model: &Model) -> Result<(), ConfigErrors> {
    let k = &model.kafka;
    let secret_keys: Vec<&str> = k.secrets.iter().map(|(key, _)| key.as_str()).collect();
    let bad = distroduce_sink::kafka_check::check_producer_properties(
        &k.producer,
        &k.connection,
        &secret_keys,
        k.transactions != TransactionMode::Off,
    );
    if bad.is_empty() {
        return Ok(());
    }
    // Positions are looked up only when there is something to report: the model keeps none for
    // these pass-through properties.
    let spans =
        distroduce_model::files::read_capped_string(&model.file, distroduce_scenario::limits::MAX_SCENARIO_FILE_BYTES)
            .map(|src| distroduce_scenario::span::SpanIndex::build(&src))
            .unwrap_or_default();
    let diags = bad
        .into_iter()
        .map(|b| {
            let (path, message) = match &b.key {
                Some(k) => (format!("kafka.producer.{k}"), format!("producer property `{k}`: {}", b.message)),
                None => ("kafka.producer".into(), format!("the producer properties do not work together: {}", b.message)),
            };
            distroduce_model::diag::Diagnostic {
                file: model.file.clone(),
                pos: spans.key(&path),
                message,
                hint: Some("the properties are librdkafka's: https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md".into()),
            }
        })
        .collect();
    Err(ConfigErrors(diags))
}

/// `engine run`: load, run every job, flush, summarize.
pub fn run(args: &RunArgs, progress: Option<Arc<dyn Progress>>) -> Result<Summary, RunError> {
    let wall = Instant::now();
    let model = distroduce_scenario::load_with(&args.scenario, &args.overrides())?;
    check_producer(&model)?;
    let (backend, resolved) = WasmBackend::load(&model)?;
    run_loaded(&model, &backend, &resolved, args, progress, wall)
}

/// Run an already loaded model on any backend (the native backend uses this too).
pub fn run_loaded(
    model: &Model,
    backend: &dyn Backend,
    resolved: &Resolved,
    args: &RunArgs,
    progress: Option<Arc<dyn Progress>>,
    wall: Instant,
) -> Result<Summary, RunError> {
    let registered = with_registered_schemas(model)?;
    let model = registered.as_ref().unwrap_or(model);
    // Bound before anything runs: a port in use is an error now, not after the jobs.
    let server = match (&args.metrics_server, args.metrics_addr) {
        (Some(s), _) => Some(s.clone()),
        (None, Some(addr)) => Some(Arc::new(MetricsServer::start(addr, args.metrics_allow_remote)?)),
        (None, None) => None,
    };
    let metrics = server.as_ref().map(|s| {
        let m = Arc::new(Metrics::new(model.kafka.topics.iter().map(|t| t.name.clone())));
        s.publish(m.clone());
        m
    });
    let progress = match &metrics {
        Some(m) => Some(Arc::new(MetricsProgress { metrics: m.clone(), inner: progress }) as Arc<dyn Progress>),
        None => progress,
    };
    // The embedded broker must outlive the producer, so it is declared first.
    let mut _embedded = None;
    let sink_started_unix_ms = unix_ms();
    let sink: Box<dyn MessageSink> = match (&args.kafka, &model.kafka.brokers) {
        (KafkaTarget::None, _) => Box::new(NullSink::default()),
        (KafkaTarget::Brokers(b), _) | (KafkaTarget::Auto, Some(b)) => {
            connect(model, b, false, metrics.clone(), args.cancel.clone()).map_err(RunError::Kafka)?
        }
        (KafkaTarget::Auto, None) => {
            let broker = EmbeddedBroker::start(&model.kafka).map_err(RunError::Kafka)?;
            let servers = broker.bootstrap_servers();
            _embedded = Some(broker);
            connect(model, &servers, true, metrics.clone(), args.cancel.clone()).map_err(RunError::Kafka)?
        }
    };
    // With live metrics, every message is counted per topic on its way to the sink.
    let counting = metrics.as_deref().map(|m| CountingSink { inner: sink.as_ref(), metrics: m });
    let sink: &dyn MessageSink = match &counting {
        Some(c) => c,
        None => sink.as_ref(),
    };
    let out = OutputDir::new(&model.output.dir);
    // Until the run ends, `summary.json` says it has not completed: a run killed outright (no
    // chance to write the final summary) leaves that, beside record files of complete lines.
    let summary_path = out.file(layout::SUMMARY_JSON);
    let running = serde_json::json!({
        "scenario": model.name,
        "completed": false,
        "state": "running (or killed): the final summary replaces this when the run ends",
    });
    layout::write_json(&summary_path, &running, true).map_err(RunError::output(&summary_path))?;
    let mut writers = create_writers(model, &out).map_err(|(path, source)| RunError::Output { path, source })?;
    let opts = RunOptions {
        threads: args.threads.max(1),
        data_plane: args.data_plane,
        messages_file: args.write_messages.then(|| out.file(layout::MESSAGES_JSONL)),
        progress,
        shard: args.shard,
        cancel: args.cancel.clone(),
        record_window: args.record_window,
        spill_dir: out.path().to_path_buf(),
    };
    if args.shard.is_some() {
        if let Some(e) = model.expectations.iter().find(|e| e.oracle_topic.is_some()) {
            return Err(RunError::Usage(format!(
                "expectation `{}` publishes to an oracle topic, which needs the whole run's totals: run it without --shard (a shard run only writes partial totals for `engine merge`)",
                e.name
            )));
        }
    }
    let report = match distroduce_sim::run(model, backend, resolved, sink, &mut writers, &opts) {
        Ok(r) => r,
        // Messages already handed to the producer are not dropped with the run: flush them.
        Err(source) => return Err(RunError::Sim { source, delivery: Box::new(sink.finish(args.flush_timeout)) }),
    };
    let mut outputs: Vec<PathBuf> = writers.iter().map(|w| w.path().to_path_buf()).collect();
    std::fs::create_dir_all(out.path()).map_err(RunError::output(out.path()))?;
    let mut expected_records = None;
    if !model.expectations.is_empty() {
        if args.shard.is_some() {
            let path = out.file(layout::EXPECTED_PARTIAL_JSONL);
            write_jsonl(&path, &report.partials).map_err(RunError::output(&path))?;
            outputs.push(path);
        } else {
            let mut totals = Totals::default();
            report.partials.iter().for_each(|p| totals.add(p));
            let records = totals.records();
            let path = out.file(layout::EXPECTED_JSONL);
            write_jsonl(&path, &records).map_err(RunError::output(&path))?;
            outputs.push(path);
            publish_oracle(model, sink, &records).map_err(RunError::Kafka)?;
            expected_records = Some(records.len() as u64);
        }
    }
    let interrupted = report.interrupted_jobs > 0;
    // After an interruption the user is waiting: flush what is in flight, but not for long.
    let flush = if interrupted { args.flush_timeout.min(Duration::from_secs(10)) } else { args.flush_timeout };
    let delivery = sink.finish(flush);
    if args.write_messages {
        // Written as the run went.
        outputs.push(out.file(layout::MESSAGES_JSONL));
    }
    let sim = report.sim_time.as_secs_f64();
    let summary = Summary {
        scenario: model.name.clone(),
        semantics: model.semantics,
        jobs: report.jobs,
        jobs_failed: report.failures.len(),
        records: report.records,
        substeps: report.substeps,
        messages_emitted: report.messages,
        kafka: sink.describe(),
        threads: report.threads,
        wall_seconds: wall.elapsed().as_secs_f64(),
        sim_seconds: sim,
        generation_seconds: report.generation_time.as_secs_f64(),
        publish_seconds: report.publish_time.as_secs_f64(),
        substeps_per_sec: if sim > 0.0 { report.substeps as f64 / sim } else { 0.0 },
        msgs_per_sec: if delivery.measured_seconds > 0.0 {
            delivery.measured_acked as f64 / delivery.measured_seconds
        } else {
            0.0
        },
        mb_per_sec: if delivery.measured_seconds > 0.0 {
            delivery.measured_bytes as f64 / 1e6 / delivery.measured_seconds
        } else {
            0.0
        },
        delivery,
        outputs,
        shard: args.shard,
        expected_records,
        interrupted,
        completed: !interrupted,
        jobs_interrupted: report.interrupted_jobs,
        data_plane: report.data_plane.to_string(),
        records_spilled_bytes: report.records_spilled,
        records_held_peak_bytes: report.records_held_peak as u64,
    };
    let path = out.file(layout::SUMMARY_JSON);
    layout::write_json(&path, &summary, true).map_err(RunError::output(&path))?;
    let from =
        summary.delivery.started_unix_ms.unwrap_or(sink_started_unix_ms) + model.kafka.warmup.as_secs_f64() * 1e3;
    let metrics = ShardMetrics {
        measured_from_unix_ms: from,
        measured_to_unix_ms: from + summary.delivery.measured_seconds * 1e3,
        buckets: summary.delivery.buckets.clone(),
        summary: summary.clone(),
    };
    let path = out.file(layout::METRICS_JSON);
    layout::write_json(&path, &metrics, false).map_err(RunError::output(&path))?;
    if interrupted {
        return Err(RunError::Interrupted { summary: Box::new(summary) });
    }
    if !report.failures.is_empty() {
        return Err(RunError::JobsFailed { failures: report.failures, summary: Box::new(summary) });
    }
    let d = &summary.delivery;
    // With every job done, a transaction that was not committed (the oracle's) lost its messages.
    let uncommitted = d.transactions.as_ref().is_some_and(|t| t.aborted > 0);
    if !matches!(args.kafka, KafkaTarget::None) && (d.failed > 0 || d.acked < d.produced || uncommitted) {
        return Err(RunError::Undelivered { summary: Box::new(summary) });
    }
    Ok(summary)
}

/// The Kafka sink `model.kafka` asks for: one producer, or one transactional producer per job.
/// Its pacing (`kafka.rate`) stops waiting when `cancel` is set.
fn connect(
    model: &Model,
    brokers: &str,
    embedded: bool,
    metrics: Option<Arc<Metrics>>,
    cancel: Option<Arc<AtomicBool>>,
) -> Result<Box<dyn MessageSink>, String> {
    let plan = &model.kafka;
    Ok(match plan.transactions {
        TransactionMode::Off => {
            Box::new(KafkaSink::connect_with_metrics(plan, brokers, embedded, metrics)?.interruptible(cancel))
        }
        _ => {
            Box::new(KafkaTxnSink::connect(plan, brokers, embedded, metrics, model.jobs().len())?.interruptible(cancel))
        }
    })
}

/// Each expected record to its expectation's `oracle_topic`: key = group key, value = the record
/// as JSON, timestamp = window start (in the window the record describes).
fn publish_oracle(model: &Model, sink: &dyn MessageSink, records: &[ExpectedRecord]) -> Result<(), String> {
    for r in records {
        let Some(topic) = model.expectations.iter().find(|e| e.name == r.expectation).and_then(|e| e.oracle_topic)
        else {
            continue;
        };
        let msg = OutMessage {
            topic,
            key: Some(r.key.clone().into_bytes()),
            value: serde_json::to_vec(r).map_err(|e| e.to_string())?,
            headers: Vec::new(),
            partition: model.kafka.topics[topic].partition,
            event_time_ms: r.window_start,
            meta: Default::default(),
        };
        sink.send(&msg)?;
    }
    Ok(())
}

fn unix_ms() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}
