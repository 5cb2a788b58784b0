//! `engine verify SCENARIO ...` as a function: load the scenario's expectations, check that each
//! one can be verified (positioned errors, like every scenario problem), read `expected.jsonl`,
//! resolve brokers and consumer settings, run the check and write the JSON report.

use super::{run, Report, Settings, VerifyError};
use distroduce_model::expect::ExpectedRecord;
use distroduce_model::Model;
use distroduce_scenario::{self as config, span::SpanIndex, ConfigErrors, Reporter};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `expected.jsonl` holds one line per window and key of each expectation; every line is kept in
/// memory while the topic is read.
const MAX_EXPECTED_BYTES: u64 = 1 << 30;

/// Everything `engine verify` can be told.
#[derive(Debug, Clone)]
pub struct VerifyArgs {
    pub scenario: PathBuf,
    /// Default `<out>/expected.jsonl`.
    pub expected: Option<PathBuf>,
    /// Default: the scenario's output directory, as for `engine run`.
    pub out: Option<PathBuf>,
    /// Default: the scenario's `kafka.brokers`.
    pub brokers: Option<String>,
    pub wait: Duration,
    pub settle: Duration,
    pub report: Option<PathBuf>,
    /// Verify only these expectations (all when empty).
    pub only: Vec<String>,
    pub consumer: Vec<(String, String)>,
}

impl VerifyArgs {
    pub fn new(scenario: impl Into<PathBuf>) -> Self {
        Self {
            scenario: scenario.into(),
            expected: None,
            out: None,
            brokers: None,
            wait: Duration::from_secs(60),
            settle: Duration::from_secs(3),
            report: None,
            only: Vec::new(),
            consumer: Vec::new(),
        }
    }
}

/// Producer settings of the scenario that say how to reach and authenticate to the cluster, and
/// so apply to verify's consumer as well.
fn is_connection_setting(k: &str) -> bool {
    k == "security.protocol" || k.starts_with("sasl.") || k.starts_with("ssl.")
}

/// `engine verify`: the report whatever the verdict (written to `args.report` too), or why no
/// verdict could be given.
pub fn verify(args: &VerifyArgs) -> Result<Report, VerifyError> {
    let src = config::read_source(&args.scenario, "scenario", "check the path; scenarios live under scenarios/")?;
    let model = config::load_str(&args.scenario, &src)?;
    let selected = select(&args.scenario, &src, &model, &args.only)?;
    let brokers = args.brokers.clone().or_else(|| model.kafka.brokers.clone()).ok_or_else(|| {
        VerifyError::Usage(
            "no Kafka brokers to read the job's output from: pass --brokers HOST:PORT (or set kafka.brokers in the scenario)"
                .into(),
        )
    })?;
    let expected_path = args
        .expected
        .clone()
        .unwrap_or_else(|| args.out.clone().unwrap_or_else(|| model.output.dir.clone()).join("expected.jsonl"));
    let names: HashSet<&str> = model.expectations.iter().map(|e| e.name.as_str()).collect();
    let wanted: HashSet<&str> = selected.iter().map(|&i| model.expectations[i].name.as_str()).collect();
    let expected = read_expected(&expected_path, &names, &wanted)?;
    let mut consumer: Vec<(String, String)> =
        model.kafka.producer.iter().filter(|(k, _)| is_connection_setting(k)).cloned().collect();
    consumer.extend(model.kafka.connection.iter().cloned());
    consumer.extend(args.consumer.iter().cloned());
    // The scenario's credentials, unless --consumer overrides one.
    let secrets =
        model.kafka.secrets.iter().filter(|(k, _)| !args.consumer.iter().any(|(c, _)| c == k)).cloned().collect();
    let settings = Settings { brokers, consumer, secrets, wait: args.wait, settle: args.settle };
    let expectations: Vec<_> = selected.iter().map(|&i| model.expectations[i].clone()).collect();
    let mut report = run(&expectations, &expected, &settings)?;
    report.scenario = Some(args.scenario.display().to_string());
    report.expected_file = Some(expected_path.display().to_string());
    if let Some(p) = &args.report {
        distroduce_model::layout::write_json(p, &report, true)
            .map_err(|source| VerifyError::WriteReport { path: p.clone(), source })?;
    }
    Ok(report)
}

/// Indices of the expectations to verify; each must say where the job's output is.
fn select(path: &Path, src: &str, model: &Model, only: &[String]) -> Result<Vec<usize>, VerifyError> {
    let spans = SpanIndex::build(src);
    let mut r = Reporter::new(path, &spans);
    if model.expectations.is_empty() {
        r.push(
            None,
            "the scenario declares no `expectations`, so there is nothing to verify",
            "add `expectations.<name>` with `from`, `key`, `window` and `output` (see `engine schema`)".to_string(),
        );
        return Err(ConfigErrors(r.diags).into());
    }
    let all: Vec<&str> = model.expectations.iter().map(|e| e.name.as_str()).collect();
    let mut selected = Vec::new();
    for name in only {
        match all.iter().position(|n| n == name) {
            Some(i) if !selected.contains(&i) => selected.push(i),
            Some(_) => {}
            None => {
                return Err(VerifyError::Usage(format!(
                    "--only {name}: the scenario has no expectation `{name}` (it has {})",
                    all.join(", ")
                )))
            }
        }
    }
    if only.is_empty() {
        selected = (0..all.len()).collect();
    }
    for &i in &selected {
        let e = &model.expectations[i];
        let at = format!("expectations.{}", e.name);
        match &e.output {
            None => r.at_key(
                &at,
                format!("expectation `{}` has no `output`, so verify cannot read the job's results", e.name),
                "add e.g. `output: {topic: room-counts, key: key, window_start: value.window_start, value: value.count}`"
                    .to_string(),
            ),
            Some(o) if e.window_ms.is_some() && o.window_start.is_none() => r.at(
                &format!("{at}.output"),
                format!("expectation `{}` has a window, but its `output` has no `window_start`", e.name),
                "say where the job writes the window start, e.g. `window_start: value.window_start`".to_string(),
            ),
            Some(_) => {}
        }
    }
    if r.diags.is_empty() {
        Ok(selected)
    } else {
        Err(ConfigErrors(r.diags).into())
    }
}

/// The lines of `expected.jsonl` for the `wanted` expectations, each checked against the scenario
/// (`names`) with its line number, so a file from another scenario is caught before any Kafka I/O.
fn read_expected(
    path: &Path,
    names: &HashSet<&str>,
    wanted: &HashSet<&str>,
) -> Result<Vec<ExpectedRecord>, VerifyError> {
    let err = |message: String, hint: &str| VerifyError::Expected {
        path: path.to_path_buf(),
        message,
        hint: hint.to_string(),
    };
    let rerun = "expected.jsonl is written by `engine run` of the same scenario: rerun it, or pass --expected FILE";
    // Read with a cap: a path that leads to something endless (`/dev/zero`) must not be read whole.
    let text = distroduce_model::files::read_capped_string(path, MAX_EXPECTED_BYTES)
        .map_err(|e| err(format!("cannot read the expected records: {e}"), rerun))?;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l)) {
        if line.trim().is_empty() {
            continue;
        }
        let r: ExpectedRecord =
            serde_json::from_str(line).map_err(|e| err(format!("line {n}: not an expected record: {e}"), rerun))?;
        if !names.contains(r.expectation.as_str()) {
            return Err(err(
                format!("line {n}: expectation `{}` is not in the scenario", r.expectation),
                "the file was written from another scenario, or an older version of this one: rerun `engine run`",
            ));
        }
        if r.value.as_f64().is_none_or(|f| !f.is_finite()) {
            return Err(err(format!("line {n}: the value {} is not a finite number", r.value), rerun));
        }
        if !seen.insert((r.expectation.clone(), r.key.clone(), r.window_start)) {
            return Err(err(format!("line {n}: key `{}` and this window are already listed above", r.key), rerun));
        }
        if wanted.contains(r.expectation.as_str()) {
            out.push(r);
        }
    }
    Ok(out)
}

/// `--consumer PROP=VALUE`.
pub fn parse_prop(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{s}`: write a consumer property as PROP=VALUE, e.g. isolation.level=read_uncommitted")),
    }
}
