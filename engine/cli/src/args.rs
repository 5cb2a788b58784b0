//! The command line, as clap types. Each subcommand's flags become the library's own argument
//! types in [`crate::commands`]; nothing here runs anything.

use clap::{Parser, Subcommand};
use distroduce::model::types::{RecordFormat, Semantics};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "engine",
    version,
    about = "Run cadCAD-style scenarios with WASM plugins and publish what they emit to Kafka."
)]
pub struct Cli {
    /// More logging (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
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
        #[arg(long = "vary", required_unless_present = "find_max_rate", conflicts_with = "find_max_rate")]
        axes: Vec<distroduce::bench::Axis>,
        /// Runs of every configuration.
        #[arg(long, default_value_t = 1)]
        repeat: u32,
        #[command(flatten)]
        max_rate: MaxRateFlags,
    },
    /// Inspect plugin modules, or create a plugin project.
    #[command(subcommand)]
    Plugin(PluginCmd),
    /// Turn a model of another simulator into a scenario and plugin (`engine import cadcad model.py`).
    #[command(subcommand)]
    Import(ImportCmd),
    /// Check a scenario and its plugins without running it.
    Validate {
        scenario: PathBuf,
        /// Check with a prebuilt module for a plugin (`NAME=FILE`, repeatable), as `run --plugin`.
        #[arg(long = "plugin", value_parser = parse_plugin, value_name = "NAME=FILE")]
        plugins: Vec<(String, PathBuf)>,
        /// Schema registry URL for `format: avro`/`protobuf` topics, in place of `kafka.schema_registry.url`
        /// (the registry checks each schema's compatibility; nothing is registered).
        #[arg(long, value_name = "URL")]
        schema_registry: Option<String>,
    },
    /// Print the JSON Schema of scenario files (for editor completion; also in scenarios/schema.json).
    Schema,
    /// Check a stream job's output topic(s) against the expected records `engine run` wrote
    /// (expected.jsonl): missing, unexpected and mismatched records per key and window.
    /// Exit 0 if all match, 1 if not, 2 if verify could not run.
    Verify(VerifyFlags),
    /// Amazon EMR: launch a cluster from a cluster file, run scenarios on it as Spark steps.
    #[cfg(feature = "emr")]
    Emr {
        #[command(subcommand)]
        cmd: crate::commands::emr::EmrCmd,
    },
    /// Amazon EMR (not in this build: `bin/engine emr ...` builds it, or `cargo install --path
    /// engine/cli --features emr`).
    #[cfg(not(feature = "emr"))]
    Emr {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<String>,
    },
}

impl Cmd {
    /// Commands whose only output is what they print (they may die on a closed pipe).
    pub fn only_prints(&self) -> bool {
        matches!(self, Cmd::Plugin(_) | Cmd::Schema | Cmd::Validate { .. })
    }
}

#[derive(Subcommand)]
pub enum PluginCmd {
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
        /// Rust only: depend on this plugin-sdk checkout instead of the copy written into the
        /// project.
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum ImportCmd {
    /// Import a cadCAD (0.5.3) model unchanged: write DIR/scenario.yaml from its initial_state,
    /// params and partial_state_update_blocks, and DIR/plugin/, a Python plugin calling its own
    /// functions, built into a component. Then: `engine run DIR/scenario.yaml`.
    Cadcad {
        /// The model: a .py file, or a directory holding model.py or a package.
        path: PathBuf,
        /// Output directory (default: distroduce-<name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Monte Carlo runs N (default: the model's sim_config, else 1).
        #[arg(long)]
        runs: Option<u64>,
        /// Timesteps T (default: the model's sim_config, else 100).
        #[arg(long)]
        timesteps: Option<u64>,
        /// The Python that imports the model to read it (default: $VIRTUAL_ENV/bin/python, else
        /// python3). The plugin itself runs the CPython inside the component.
        #[arg(long)]
        python: Option<PathBuf>,
        /// Overwrite DIR/scenario.yaml if it exists.
        #[arg(long)]
        force: bool,
        /// Write the files but do not build the component (DIR/plugin/build builds it).
        #[arg(long)]
        no_build: bool,
        /// Seconds the model may take to import (its module-level code runs); past it the import
        /// stops with an error.
        #[arg(long, default_value_t = 120, value_name = "SECS")]
        read_timeout: u64,
    },
}

/// Flags shared by `run` and `bench`.
#[derive(clap::Args)]
pub struct RunFlags {
    /// Scenario file (YAML).
    pub scenario: PathBuf,
    /// Worker threads (default: all cores; never more than the run has jobs), at most 1024.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
    /// Output directory (default: the scenario's output.dir, else out/<name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Record formats, comma-separated (jsonl, csv, parquet, none).
    #[arg(long, value_delimiter = ',', value_parser = parse_format)]
    pub format: Option<Vec<RecordFormat>>,
    /// Kafka bootstrap servers; overrides the scenario. Without either, an embedded broker is used.
    #[arg(long)]
    pub brokers: Option<String>,
    /// `none` generates messages without publishing them (model-only benchmarks).
    #[arg(long, value_parser = ["auto", "none"], default_value = "auto")]
    pub kafka: String,
    /// Override the scenario's Monte Carlo runs.
    #[arg(long)]
    pub runs: Option<u64>,
    /// Override the scenario's timesteps.
    #[arg(long)]
    pub timesteps: Option<u64>,
    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override the scenario's semantics: `cadcad` (cadCAD 0.5.3) or `radcad` (radCAD 0.14).
    #[arg(long, value_parser = parse_semantics)]
    pub semantics: Option<Semantics>,
    /// Which loop runs the blocks: `auto` (the plugin's in-guest loop where the scenario allows
    /// it), `host` (one plugin call per function), or `fused` (the in-guest loop, or an error).
    #[arg(long, value_parser = parse_data_plane, default_value = "auto")]
    pub data_plane: distroduce::sim::DataPlane,
    /// How long to wait for outstanding deliveries at the end.
    #[arg(long, default_value = "60s", value_parser = parse_wait)]
    pub flush_timeout: Duration,
    /// Memory, in MiB, for the records (and `--write-messages` lines) of jobs running ahead of the
    /// first unfinished one (both are written in job order); past it they wait in an unnamed
    /// temporary file in the output directory.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub record_window: usize,
    /// Use a prebuilt module for a plugin, e.g. `--plugin chat=target/wasm/lang/chat_go.wasm`
    /// (repeatable): the same scenario with another implementation.
    #[arg(long = "plugin", value_parser = parse_plugin, value_name = "NAME=FILE")]
    pub plugins: Vec<(String, PathBuf)>,
    /// Serve live metrics in the Prometheus text format at http://ADDR/metrics while the run goes
    /// (substeps, timesteps, jobs, messages per topic, ack latency, producer queue, librdkafka
    /// statistics), e.g. `--metrics-addr 127.0.0.1:9464`. Loopback addresses only, unless
    /// `--metrics-allow-remote`.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Allow a non-loopback `--metrics-addr` (the endpoint has no authentication).
    #[arg(long, requires = "metrics_addr")]
    pub metrics_allow_remote: bool,
    /// Schema registry (Confluent REST API) for `format: avro`/`protobuf` topics, in place of
    /// `kafka.schema_registry.url`, e.g. `http://127.0.0.1:18081/apis/ccompat/v7`.
    #[arg(long, value_name = "URL")]
    pub schema_registry: Option<String>,
}

#[derive(clap::Args)]
pub struct VerifyFlags {
    /// The scenario `engine run` ran (for its `expectations`).
    pub scenario: PathBuf,
    /// Expected records (default: <out>/expected.jsonl).
    #[arg(long)]
    pub expected: Option<PathBuf>,
    /// `engine run`'s output directory (default: the scenario's output.dir, else out/<name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Kafka bootstrap servers (default: the scenario's kafka.brokers).
    #[arg(long)]
    pub brokers: Option<String>,
    /// The longest to read before giving the verdict (a bound on waiting for stragglers).
    #[arg(long, default_value = "60s", value_parser = parse_wait)]
    pub wait: Duration,
    /// Once every expected record matched, stop after this long without new records.
    #[arg(long, default_value = "3s", value_parser = parse_wait)]
    pub settle: Duration,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Verify only these expectations (repeat, or separate with commas).
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    pub only: Vec<String>,
    /// A librdkafka consumer property, e.g. `--consumer isolation.level=read_uncommitted` (repeat).
    #[arg(long, value_parser = distroduce_verify::parse_prop, value_name = "PROP=VALUE")]
    pub consumer: Vec<(String, String)>,
}

/// A duration to wait (`60s`, `5m`), at most a day: far longer ones overflowed the clock.
fn parse_wait(s: &str) -> Result<Duration, String> {
    const DAY: Duration = Duration::from_secs(86_400);
    match humantime::parse_duration(s) {
        Ok(d) if d <= DAY => Ok(d),
        Ok(_) => Err(format!("`{s}` is longer than the limit of one day")),
        Err(e) => Err(e.to_string()),
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

fn parse_format(s: &str) -> Result<RecordFormat, String> {
    s.parse()
}

fn parse_semantics(s: &str) -> Result<Semantics, String> {
    s.parse()
}

fn parse_data_plane(s: &str) -> Result<distroduce::sim::DataPlane, String> {
    s.parse()
}

/// `engine bench --find-max-rate`: search the highest rate that meets latency objectives.
#[derive(Debug, clap::Args)]
pub struct MaxRateFlags {
    /// Instead of a settings matrix, find the highest open-loop rate (msgs/s) the cluster sustains
    /// within every `--slo` (writes max-rate.json, max-rate.csv and report.html).
    #[arg(long, requires = "slos")]
    pub find_max_rate: bool,
    /// A latency objective on delivery latency from each message's due time:
    /// `p50|p90|p99|p99.9|max=LIMIT` with ms, s or us, e.g. `--slo p99=50ms` (repeatable).
    #[arg(long = "slo", value_name = "PCT=LIMIT", requires = "find_max_rate")]
    pub slos: Vec<distroduce::maxrate::Slo>,
    /// Trials per rate; a rate passes only if every trial meets every objective.
    #[arg(long, default_value_t = 3, requires = "find_max_rate", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub trials: u32,
    /// Stop when the bracket between the passing and the failing rate is this narrow (0.05 = 5 %).
    #[arg(long, default_value_t = 0.05, requires = "find_max_rate", value_parser = parse_precision)]
    pub precision: f64,
    /// About how long each trial publishes, in seconds: its timesteps are scaled to the rate.
    #[arg(long, default_value_t = 5.0, requires = "find_max_rate", value_parser = parse_trial_seconds)]
    pub trial_seconds: f64,
}

fn parse_precision(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if p > 0.0 && p < 1.0 => Ok(p),
        _ => Err(format!("`{s}`: a fraction between 0 and 1, e.g. 0.05 for 5 %")),
    }
}

fn parse_trial_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if p > 0.0 && p <= 3600.0 => Ok(p),
        _ => Err(format!("`{s}`: seconds, more than 0 and at most 3600")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_and_plugins_parse_or_say_how_to_write_them() {
        assert_eq!(parse_shard("1/4"), Ok((1, 4)));
        assert!(parse_shard("4/4").unwrap_err().contains("0 <= I < N"));
        assert!(parse_shard("x").unwrap_err().contains("I/N"));
        assert_eq!(parse_plugin("chat=a.wasm"), Ok(("chat".into(), PathBuf::from("a.wasm"))));
        assert!(parse_plugin("chat").unwrap_err().contains("NAME=FILE"));
        assert_eq!(parse_format("parquet"), Ok(RecordFormat::Parquet));
        assert!(parse_format("orc").unwrap_err().contains("jsonl, csv, parquet, none"));
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
