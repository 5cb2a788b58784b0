//! `engine`: a thin command line over the `distroduce` library. It parses arguments, sets up
//! logging and the progress bar, and renders the library's typed errors for people.
//! Exit codes: 0 ok, 1 the run failed (for `verify`: the job's output is wrong), 2 bad input.

use clap::{Parser, Subcommand};
use distroduce::app::{self, AppError, KafkaTarget, RunArgs, Summary};
use distroduce::bench::{Axis, BenchArgs};
use distroduce::config::scenario::RecordFormat;
use distroduce::scaffold::NewPlugin;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "engine",
    version,
    about = "Run cadCAD-style scenarios with WASM plugins and publish what they emit to Kafka."
)]
struct Cli {
    /// More logging (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum PluginCmd {
    /// Print a module's ABI version, functions (kind, output, reads) and imports, and say what keeps
    /// it from working as a plugin. Exit 0 if it is usable, 2 if not.
    Check {
        /// A .wasm (or .wat) file.
        file: PathBuf,
        /// Print the inspection as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create a plugin project (source, build and test scripts, a scenario) that builds and passes
    /// its own test: `engine plugin new --lang go my-model && cd my-model && ./test`.
    New {
        /// rust, go, assemblyscript, c or python.
        #[arg(long)]
        lang: String,
        /// Project name: lowercase letters, digits, `-` and `_`.
        name: String,
        /// Parent directory of the new project.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The Rust SDK crate to depend on (default: this checkout's plugin-sdk).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
}

/// Flags shared by `run` and `bench`.
#[derive(clap::Args)]
struct RunFlags {
    /// Scenario file (YAML).
    scenario: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Output directory (default: the scenario's output.dir, else out/<name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Record formats, comma-separated (jsonl, csv, none).
    #[arg(long, value_delimiter = ',')]
    format: Option<Vec<RecordFormat>>,
    /// Kafka bootstrap servers; overrides the scenario. Without either, an embedded broker is used.
    #[arg(long)]
    brokers: Option<String>,
    /// `none` generates messages without publishing them (model-only benchmarks).
    #[arg(long, value_parser = ["auto", "none"], default_value = "auto")]
    kafka: String,
    /// Override the scenario's Monte Carlo runs.
    #[arg(long)]
    runs: Option<u64>,
    /// Override the scenario's timesteps.
    #[arg(long)]
    timesteps: Option<u64>,
    /// Override the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// How long to wait for outstanding deliveries at the end.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    flush_timeout: Duration,
    /// Use a prebuilt module for a plugin, e.g. `--plugin chat=target/wasm/lang/chat_go.wasm`
    /// (repeatable): the same scenario with another implementation.
    #[arg(long = "plugin", value_parser = parse_plugin, value_name = "NAME=FILE")]
    plugins: Vec<(String, PathBuf)>,
}

impl RunFlags {
    fn into_args(self) -> RunArgs {
        let mut args = RunArgs::new(self.scenario);
        if let Some(t) = self.threads {
            args.threads = t.max(1);
        }
        args.out = self.out;
        args.formats = self.format;
        args.kafka = match (self.brokers, self.kafka.as_str()) {
            (_, "none") => KafkaTarget::None,
            (Some(b), _) => KafkaTarget::Brokers(b),
            _ => KafkaTarget::Auto,
        };
        args.runs = self.runs;
        args.timesteps = self.timesteps;
        args.seed = self.seed;
        args.flush_timeout = self.flush_timeout;
        args.plugins = self.plugins;
        args
    }
}

#[derive(clap::Args)]
struct VerifyFlags {
    /// The scenario `engine run` ran (for its `expectations`).
    scenario: PathBuf,
    /// Expected records (default: <out>/expected.jsonl).
    #[arg(long)]
    expected: Option<PathBuf>,
    /// `engine run`'s output directory (default: the scenario's output.dir, else out/<name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Kafka bootstrap servers (default: the scenario's kafka.brokers).
    #[arg(long)]
    brokers: Option<String>,
    /// The longest to read before giving the verdict (a bound on waiting for stragglers).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    wait: Duration,
    /// Once every expected record matched, stop after this long without new records.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    settle: Duration,
    /// Also write the report as JSON here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Verify only these expectations (repeat, or separate with commas).
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    only: Vec<String>,
    /// A librdkafka consumer property, e.g. `--consumer isolation.level=read_uncommitted` (repeat).
    #[arg(long, value_parser = distroduce::verify::parse_prop, value_name = "PROP=VALUE")]
    consumer: Vec<(String, String)>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a scenario: every (subset, run) job, records to files, messages to Kafka.
    Run {
        #[command(flatten)]
        flags: RunFlags,
        /// Also write every message, in job order, to messages.jsonl.
        #[arg(long)]
        write_messages: bool,
        /// Also write the summary JSON here.
        #[arg(long)]
        summary_json: Option<PathBuf>,
        /// Run only shard I of N (0-based): job j belongs to shard j % N. Merge the shards'
        /// output directories with `engine merge`.
        #[arg(long, value_parser = parse_shard, value_name = "I/N")]
        shard: Option<(u32, u32)>,
    },
    /// Merge the output directories of `engine run --shard I/N` into what one run writes.
    Merge {
        /// Where the merged records, messages and summary go.
        #[arg(long)]
        out: PathBuf,
        /// The shards' output directories.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
    },
    /// Run a scenario under every combination of producer settings and report throughput and
    /// latency per configuration (bench.csv, bench.json, report.html).
    Bench {
        #[command(flatten)]
        flags: RunFlags,
        /// A setting and its values, e.g. `--vary linger.ms=0,5,50 --vary compression.type=none,lz4`.
        /// Keys are librdkafka producer properties, or `partitions`, `runs`, `param.<name>`.
        #[arg(long = "vary", required = true)]
        axes: Vec<Axis>,
        /// Runs of every configuration.
        #[arg(long, default_value_t = 1)]
        repeat: u32,
    },
    /// Inspect plugin modules.
    #[command(subcommand)]
    Plugin(PluginCmd),
    /// Check a scenario and its plugins without running it.
    Validate {
        scenario: PathBuf,
        /// Check with a prebuilt module for a plugin (`NAME=FILE`, repeatable), as `run --plugin`.
        #[arg(long = "plugin", value_parser = parse_plugin, value_name = "NAME=FILE")]
        plugins: Vec<(String, PathBuf)>,
    },
    /// Print the JSON Schema of scenario files (for editor completion).
    Schema,
    /// Check a stream job's output topic(s) against the expected records `engine run` wrote
    /// (expected.jsonl): missing, unexpected and mismatched records per key and window.
    /// Exit 0 if all match, 1 if not, 2 if verify could not run.
    Verify(VerifyFlags),
    /// Amazon EMR: launch a cluster from a cluster file, run scenarios on it as Spark steps.
    Emr {
        #[command(subcommand)]
        cmd: distroduce::emr::EmrCmd,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Commands that only print die quietly on a closed pipe (`engine plugin check x.wasm | head`),
    // as Unix tools do, instead of panicking in `println!`. Not for runs: a network write must
    // never kill the process.
    #[cfg(unix)]
    if matches!(cli.cmd, Cmd::Plugin(_) | Cmd::Schema | Cmd::Validate { .. }) {
        // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let level = ["warn", "info", "debug", "trace"][cli.verbose.min(3) as usize];
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .init();
    let code = match cli.cmd {
        Cmd::Plugin(PluginCmd::Check { file, json }) => plugin_check(&file, json),
        Cmd::Plugin(PluginCmd::New { lang, name, dir, sdk }) => plugin_new(NewPlugin { lang, name, dir, sdk }),
        Cmd::Schema => {
            println!("{}", serde_json::to_string_pretty(&distroduce::config::schema()).unwrap_or_default());
            0
        }
        Cmd::Validate { scenario, plugins } => match app::validate(&scenario, &plugins) {
            Ok((model, _, _)) => {
                println!(
                    "{}: ok ({} state variables, {} blocks, {} subsets x {} runs, {} plugins)",
                    scenario.display(),
                    model.vars.len(),
                    model.blocks.len(),
                    model.subsets.len(),
                    model.runs,
                    model.plugins.len()
                );
                0
            }
            Err(e) => report_error(&e),
        },
        Cmd::Run { flags, write_messages, summary_json, shard } => {
            let mut args = flags.into_args();
            args.write_messages = write_messages;
            args.shard = shard;
            run(args, summary_json)
        }
        Cmd::Merge { out, shards } => match distroduce::merge::merge(&shards, &out) {
            Ok(s) => {
                print_summary(&s);
                0
            }
            Err(e) => {
                eprintln!("error: {e}");
                2
            }
        },
        Cmd::Emr { cmd } => distroduce::emr::run(cmd),
        Cmd::Verify(f) => verify(f),
        Cmd::Bench { flags, axes, repeat } => {
            let mut args = flags.into_args();
            // A benchmark measures the producer; record files only if asked for.
            args.formats.get_or_insert_with(|| vec![RecordFormat::None]);
            bench(BenchArgs { run: args, axes, repeat })
        }
    };
    ExitCode::from(code as u8)
}

fn run(args: RunArgs, summary_json: Option<PathBuf>) -> i32 {
    let bar = progress_bar();
    let progress = bar.clone().map(|b| Box::new(move |n: u64| b.inc(n)) as Box<dyn Fn(u64) + Send + Sync>);
    if let Some(b) = &bar {
        // The total is known only after loading; set it lazily from the scenario.
        if let Ok(m) = distroduce::config::load(&args.scenario) {
            let runs = args.runs.unwrap_or(m.runs);
            let t = args.timesteps.unwrap_or(m.timesteps);
            b.set_length(m.subsets.len() as u64 * runs * t);
        }
    }
    let started = Instant::now();
    let result = app::run(&args, progress);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let summary = match &result {
        Ok(s) => Some(s),
        Err(AppError::JobsFailed { summary, .. }) | Err(AppError::Undelivered { summary }) => Some(summary.as_ref()),
        Err(_) => None,
    };
    if let Some(s) = summary {
        print_summary(s);
        if let Some(p) = &summary_json {
            if let Err(e) = std::fs::write(p, serde_json::to_vec_pretty(s).unwrap_or_default()) {
                eprintln!("error: cannot write {}: {e}", p.display());
            }
        }
    }
    tracing::debug!(elapsed = ?started.elapsed(), "run finished");
    match result {
        Ok(_) => 0,
        Err(e) => report_error(&e),
    }
}

fn plugin_new(req: NewPlugin) -> i32 {
    match distroduce::scaffold::new_plugin(&req) {
        Ok((root, files)) => {
            println!("created {} ({} plugin, {} files)", root.display(), req.lang, files.len());
            println!("next:   cd {} && ./test", root.display());
            0
        }
        Err(e) => {
            eprintln!("error: plugin new: {e}");
            if let Some(h) = e.hint() {
                eprintln!("  hint: {h}");
            }
            2
        }
    }
}

fn verify(f: VerifyFlags) -> i32 {
    let args = distroduce::verify::VerifyArgs {
        scenario: f.scenario,
        expected: f.expected,
        out: f.out,
        brokers: f.brokers,
        wait: f.wait,
        settle: f.settle,
        report: f.report,
        only: f.only,
        consumer: f.consumer,
    };
    match distroduce::verify::verify(&args) {
        Ok(report) => {
            print!("{}", distroduce::verify::report::render(&report));
            i32::from(!report.passed)
        }
        Err(e) => {
            eprintln!("{}", prefix_error(&e.to_string()));
            e.exit_code()
        }
    }
}

fn plugin_check(file: &std::path::Path, json: bool) -> i32 {
    let r = distroduce::runtime::inspect::inspect(file);
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
    } else {
        let container = if r.container == "component" { " (component)" } else { "" };
        println!(
            "{}: ABI version {}{container}",
            file.display(),
            r.abi_version.map_or("unknown".into(), |v| v.to_string())
        );
        for f in &r.functions {
            let d = f.describe.as_ref();
            let get = |k: &str| {
                d.and_then(|d| d.get(k)).map_or("?".into(), |v| v.as_str().map_or(v.to_string(), String::from))
            };
            let reads = d.and_then(|d| d.get("reads")).map_or("?".into(), |v| v.to_string());
            let output = if get("kind") == "state_update" { get("output") } else { "-".into() };
            println!("  function {:<24} kind {:<13} output {output:<6} reads {reads}", f.name, get("kind"));
        }
        for i in &r.imports {
            println!("  import   {i}");
        }
    }
    for p in &r.problems {
        eprintln!("error: {}: {p}", file.display());
    }
    if r.problems.is_empty() {
        0
    } else {
        2
    }
}

/// `I/N` with 0 <= I < N.
fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let (i, n) = s.split_once('/').ok_or("write the shard as I/N, e.g. 0/4")?;
    let (i, n): (u32, u32) =
        (i.trim().parse().map_err(|_| "I is not a number")?, n.trim().parse().map_err(|_| "N is not a number")?);
    if n == 0 || i >= n {
        return Err(format!("shard {i}/{n}: need 0 <= I < N"));
    }
    Ok((i, n))
}

fn parse_plugin(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((name, file)) if !name.is_empty() && !file.is_empty() => Ok((name.to_string(), PathBuf::from(file))),
        _ => Err("write it as NAME=FILE, e.g. chat=target/wasm/lang/chat_go.wasm".into()),
    }
}

fn bench(mut args: BenchArgs) -> i32 {
    let dir = args.run.out.clone().unwrap_or_else(|| {
        let name = args.run.scenario.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        PathBuf::from("out").join(format!("{name}-bench"))
    });
    args.run.out = Some(dir.clone());
    let total: usize = args.axes.iter().map(|a| a.values.len()).product::<usize>() * args.repeat.max(1) as usize;
    let mut n = 0;
    let cells = distroduce::bench::run(&args, |c| {
        n += 1;
        match (&c.summary, &c.error) {
            (Some(s), None) => eprintln!(
                "[{n}/{total}] {}: {:.0} msgs/s, {:.2} MB/s, p99 {:.2} ms",
                c.label(),
                s.msgs_per_sec,
                s.mb_per_sec,
                s.delivery.latency_ms.map_or(f64::NAN, |l| l[2])
            ),
            (_, Some(e)) => eprintln!("[{n}/{total}] {}: failed: {e}", c.label()),
            _ => {}
        }
    });
    let cells = match cells {
        Ok(c) => c,
        Err(e) => return report_error(&e),
    };
    match distroduce::bench::write_results(&dir, &args.run.scenario.display().to_string(), &args.axes, &cells) {
        Ok(paths) => paths.iter().for_each(|p| println!("output          {}", p.display())),
        Err(e) => {
            eprintln!("error: cannot write bench results to {}: {e}", dir.display());
            return 1;
        }
    }
    if cells.iter().any(|c| c.error.is_some()) {
        eprintln!("error: some configurations failed; see the report");
        return 1;
    }
    0
}

fn progress_bar() -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let b = ProgressBar::new(0);
    b.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} timesteps ({per_sec}, eta {eta})")
            .ok()?
            .progress_chars("=> "),
    );
    // Short runs finish before the bar would be useful; show it only after a moment.
    b.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
    Some(b)
}

fn report_error(e: &AppError) -> i32 {
    match e {
        AppError::JobsFailed { failures, .. } => {
            for f in failures {
                eprintln!("error: {f}");
            }
            eprintln!("error: {e}; records produced before each failure were written");
        }
        AppError::Undelivered { summary } => {
            eprintln!("error: {e}");
            if let Some(first) = &summary.delivery.first_error {
                eprintln!("  first error: {first}");
            }
        }
        other => eprintln!("{}", prefix_error(&other.to_string())),
    }
    e.exit_code()
}

fn prefix_error(s: &str) -> String {
    if s.starts_with("error:") {
        s.to_string()
    } else {
        format!("error: {s}")
    }
}

fn print_summary(s: &Summary) {
    let d = &s.delivery;
    println!("scenario        {}", s.scenario);
    println!("jobs            {} ({} failed), {} threads", s.jobs, s.jobs_failed, s.threads);
    println!("records         {}", s.records);
    println!("substeps        {} ({:.0}/s over {:.3}s of simulation)", s.substeps, s.substeps_per_sec, s.sim_seconds);
    println!(
        "cost            {:.3}s generating, {:.3}s publishing (thread-seconds)",
        s.generation_seconds, s.publish_seconds
    );
    println!("kafka           {}", s.kafka);
    println!(
        "messages        {} emitted, {} produced, {} acknowledged, {} failed",
        s.messages_emitted, d.produced, d.acked, d.failed
    );
    if d.acked > 0 {
        println!("throughput      {:.0} msgs/s, {:.2} MB/s (by acknowledgement)", s.msgs_per_sec, s.mb_per_sec);
    }
    if let Some(l) = d.latency_from_due_ms {
        println!(
            "from due ms     p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
            l[0], l[1], l[2], l[3], l[4]
        );
    }
    if let Some(l) = d.latency_ms {
        println!(
            "ack latency ms  p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
            l[0], l[1], l[2], l[3], l[4]
        );
    }
    if let Some(n) = s.expected_records {
        println!("expectations    {n} expected records (expected.jsonl)");
    }
    println!("wall time       {:.3}s", s.wall_seconds);
    for o in &s.outputs {
        println!("output          {}", o.display());
    }
    for w in &d.warnings {
        eprintln!("warning: {w}");
    }
}
