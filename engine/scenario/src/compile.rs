//! Scenario → [`Model`]: resolve names, encode values, parse limits, and report every problem with
//! its position. Nothing here touches plugins; checks that need a plugin's exports run when the
//! plugins are loaded (`runtime::Plugins::check`), still before any job starts.

use super::scenario::{self as raw, Aggregation, FnUse, History, Scenario, TypeName};
use super::{sweep, ConfigErrors, Overrides, Reporter};
use crate::span::SpanIndex;
use distroduce_model::types::{admits, type_label};
use distroduce_model::value::aggregate::Aggregator;
use distroduce_model::value::json::from_json;
use distroduce_model::*;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Check a parsed scenario and compile it into a [`Model`]; `ov` replaces values of the file, and
/// is checked as strictly. Every problem is reported, not just the first.
pub fn compile(file: &Path, spans: &SpanIndex, mut s: Scenario, ov: &Overrides) -> Result<Model, ConfigErrors> {
    let mut r = Reporter::new(file, spans);
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();

    match ov.runs {
        Some(0) => r.at_flag("--runs", "`--runs` must be at least 1", None),
        Some(n) => s.runs = n,
        None if s.runs == 0 => {
            r.at("runs", "`runs` must be at least 1", "cadCAD's N: set `runs: 1` for a single run".to_string())
        }
        None => {}
    }
    s.timesteps = ov.timesteps.unwrap_or(s.timesteps);
    s.seed = ov.seed.unwrap_or(s.seed);
    s.semantics = ov.semantics.unwrap_or(s.semantics);
    if let Some(dir) = &ov.out {
        s.output.dir = Some(dir.display().to_string());
    }
    if let Some(f) = &ov.formats {
        s.output.formats = Some(f.clone());
    }
    if s.blocks.is_empty() {
        r.at(
            "blocks",
            "the scenario has no blocks",
            "add at least one block with `policies` and/or `updates`".to_string(),
        );
    }

    // The name is the directory under `out/` the outputs go to: one plain path component.
    let mut parts = Path::new(&s.name).components();
    if !matches!((parts.next(), parts.next()), (Some(std::path::Component::Normal(_)), None)) || s.name.contains('\\') {
        r.at(
            "name",
            format!("`name: {}` is not a plain file name; the outputs go to out/<name>", s.name),
            "use letters, digits, `-` and `_`, without `/`, `..` or a leading `/`".to_string(),
        );
    }
    let vars = compile_vars(&mut r, &s);
    let subsets = match sweep::expand(&s.params, s.sweep) {
        Ok(sets) => sets
            .into_iter()
            .map(|m| Subset { encoded: from_json(&Json::Object(m.clone())).into(), params: m })
            .collect(),
        Err(e) => {
            r.at_key(&format!("params.{}", e.param), e.message, e.hint);
            Vec::new()
        }
    };
    check_sizes(&mut r, &s, ov, subsets.len() as u64);
    let history = match s.history {
        History::Flag(false) | History::Off => HistoryMode::Off,
        History::Flag(true) => HistoryMode::All,
        History::Window(0) => {
            r.at("history", "`history: 0` sends nothing", "use `false` to turn history off".to_string());
            HistoryMode::Off
        }
        History::Window(n) => HistoryMode::Window(n),
    };
    let aggregator = match &s.aggregation {
        Aggregation::All(op) => Aggregator { default: *op, ..Default::default() },
        Aggregation::PerSignal(raw::PerSignalAggregation { default, signals }) => {
            Aggregator { default: *default, per_signal: signals.iter().map(|(k, v)| (k.clone(), *v)).collect() }
        }
    };
    let clock = compile_clock(&mut r, &s.clock, s.timesteps);
    let plugins = compile_plugins(&mut r, &base, &s, &ov.plugins);
    let blocks = compile_blocks(&mut r, &s, &vars, &plugins);
    let mut kafka = crate::compile_kafka::compile_kafka(&mut r, &s.kafka, &clock, &base);
    super::compile_txn::compile_transactions(&mut r, &s.kafka, &s.name, &mut kafka);
    let registry_format = kafka.topics.iter().find(|t| t.format.uses_registry()).map(|t| t.format);
    kafka.schema_registry =
        super::compile_schema::compile_registry(&mut r, &s.kafka, ov.schema_registry.as_deref(), registry_format);
    let expectations = super::compile_expect::compile_expectations(&mut r, &s.expectations, &kafka.topics);
    let limits = compile_limits(&mut r, &s.limits);
    let output = OutputPlan {
        dir: s.output.dir.clone().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("out").join(&s.name)),
        formats: s.output.formats.clone().unwrap_or_else(|| vec![raw::RecordFormat::Jsonl]),
    };

    if !r.diags.is_empty() {
        return Err(ConfigErrors(r.diags));
    }
    Ok(Model {
        name: s.name,
        file: file.to_path_buf(),
        seed: s.seed,
        semantics: s.semantics,
        runs: s.runs,
        timesteps: s.timesteps,
        vars,
        subsets,
        history,
        aggregator,
        clock,
        plugins,
        blocks,
        kafka,
        limits,
        output,
        expectations,
    })
}

/// Refuse runs, timesteps and job counts past the documented limits ([`crate::limits`]), at the
/// field that asks for them (or the flag that overrides it).
fn check_sizes(r: &mut Reporter, s: &Scenario, ov: &Overrides, subsets: u64) {
    use crate::limits::{MAX_JOBS, MAX_RECORDS, MAX_TIMESTEPS};
    let mut report = |field: &str, flag: bool, message: String| {
        let hint = "see README.md, \"Resource limits\"".to_string();
        if flag {
            r.at_flag(&format!("--{field}"), message, hint);
        } else {
            r.at(field, message, hint);
        }
    };
    let jobs = subsets.max(1) as u128 * s.runs as u128;
    if s.runs > u32::MAX as u64 {
        report(
            "runs",
            ov.runs.is_some(),
            format!("`runs: {}` is more than {} (runs are numbered with 32 bits)", s.runs, u32::MAX),
        );
    } else if jobs > MAX_JOBS as u128 {
        report(
            "runs",
            ov.runs.is_some(),
            format!("{subsets} parameter subsets × {} runs = {jobs} jobs; the limit is {MAX_JOBS}", s.runs),
        );
    }
    if s.timesteps > MAX_TIMESTEPS {
        report(
            "timesteps",
            ov.timesteps.is_some(),
            format!("`timesteps: {}` is more than the limit of {MAX_TIMESTEPS}", s.timesteps),
        );
    } else if jobs <= MAX_JOBS as u128 {
        let records = jobs * (1 + s.timesteps as u128 * s.blocks.len() as u128);
        if records > MAX_RECORDS as u128 {
            report(
                "timesteps",
                ov.timesteps.is_some(),
                format!(
                    "{jobs} jobs × (1 + {} timesteps × {} blocks) = {records} records; the limit is {MAX_RECORDS}",
                    s.timesteps,
                    s.blocks.len()
                ),
            );
        }
    }
}

/// Why `p` is not a file: it is a directory, something else that is not a file (a device, a pipe),
/// or there is nothing there.
fn missing(p: &Path) -> &'static str {
    if p.is_dir() {
        "expected a .wasm file, but this is a directory:"
    } else if p.exists() {
        "expected a .wasm file, but this is not a regular file (a device, pipe or socket):"
    } else {
        "no such file"
    }
}

/// The type a value has, as the scenario's type names see it.
pub fn type_of(v: &Json) -> TypeName {
    match v {
        Json::Null => TypeName::Any,
        Json::Bool(_) => TypeName::Bool,
        Json::Number(_) => TypeName::Number,
        Json::String(_) => TypeName::Str,
        Json::Array(_) => TypeName::List,
        Json::Object(_) => TypeName::Map,
    }
}

fn compile_vars(r: &mut Reporter, s: &Scenario) -> Vec<Var> {
    let mut vars = Vec::new();
    for (name, init) in &s.state {
        if BOOKKEEPING.contains(&name.as_str()) {
            r.at_key(
                &format!("state.{name}"),
                format!("`{name}` is a bookkeeping field every record already has"),
                "rename the state variable".to_string(),
            );
        }
        let ty = s.state_types.get(name).copied().unwrap_or_else(|| type_of(init));
        let enc = from_json(init);
        if let Ok(k) = distroduce_model::value::kind(&enc) {
            if !admits(ty, k) {
                r.at(
                    &format!("state.{name}"),
                    format!("initial value of `{name}` is {} but its declared type is {}", k.name(), type_label(ty)),
                    "change the initial value or the entry under `state_types`".to_string(),
                );
            }
        }
        vars.push(Var { name: name.clone(), initial: enc.into(), ty });
    }
    for name in s.state_types.keys() {
        if !s.state.contains_key(name) {
            r.at_key(
                &format!("state_types.{name}"),
                format!("`state_types` names `{name}`, which is not a state variable"),
                format!("declared state variables: {}", list(s.state.keys())),
            );
        }
    }
    vars
}

/// The virtual clock: every timestep's time, in nanoseconds since 1970, must fit 64 bits (it did
/// not, and wrapped: `start: 9999-12-31T23:59:59Z` stamped records in 1816).
fn compile_clock(r: &mut Reporter, c: &raw::ClockConfig, timesteps: u64) -> Clock {
    const LAST: &str = "2262-04-11T23:47:16Z";
    let start_ns = match humantime::parse_rfc3339_weak(&c.start) {
        Ok(t) => match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or_else(|_| {
                r.at("clock.start", format!("clock start is after {LAST}, the last time the clock can count to"), None);
                0
            }),
            Err(_) => {
                r.at("clock.start", "clock start is before 1970", None);
                0
            }
        },
        Err(e) => {
            r.at(
                "clock.start",
                format!("cannot read `{}` as a time: {e}", c.start),
                "write it like 2019-10-03T00:00:00Z".to_string(),
            );
            0
        }
    };
    let step_ns =
        parse_duration(r, "clock.step", &c.step).map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    if start_ns as i128 + step_ns as i128 * timesteps as i128 > i64::MAX as i128 {
        r.at(
            "clock.step",
            format!(
                "{timesteps} timesteps of `{}` from `{}` end after {LAST}, the last time the clock can count to",
                c.step, c.start
            ),
            None,
        );
    }
    if c.realtime && step_ns == 0 {
        r.at("clock.realtime", "`realtime: true` needs a clock `step` above 0s", "set e.g. `step: 1s`".to_string());
    }
    Clock { start_ns, step_ns, realtime: c.realtime }
}

fn compile_plugins(r: &mut Reporter, base: &Path, s: &Scenario, swaps: &[(String, PathBuf)]) -> Vec<PluginSpec> {
    for (name, _) in swaps {
        if !s.plugins.contains_key(name) {
            let declared: Vec<&str> = s.plugins.keys().map(String::as_str).collect();
            r.at_flag(
                "--plugin",
                format!("the scenario declares no plugin `{name}`"),
                format!("declared: {}", declared.join(", ")),
            );
        }
    }
    s.plugins
        .iter()
        .map(|(name, src)| {
            let path = format!("plugins.{name}");
            // `--plugin NAME=FILE` replaces the declaration; the scenario line no longer says where
            // this module comes from, so errors point at the flag.
            if let Some((_, file)) = swaps.iter().rev().find(|(n, _)| n == name) {
                if !file.is_file() {
                    r.at_flag(
                        "--plugin",
                        format!("plugin `{name}`: {} {}", missing(file), file.display()),
                        "give the path of a compiled .wasm module".to_string(),
                    );
                }
                return PluginSpec { name: name.clone(), source: PluginSource::Wasm(file.clone()), pos: None };
            }
            let source = match (&src.wasm, &src.krate) {
                (Some(p), None) => {
                    let full = base.join(p);
                    if !full.is_file() {
                        r.at(
                            &path,
                            format!("plugin `{name}`: {} {}", missing(&full), full.display()),
                            "build the plugins with scripts/build-plugins, or fix the path (relative to the scenario file)".to_string(),
                        );
                    }
                    PluginSource::Wasm(full)
                }
                (None, Some(p)) => {
                    let full = base.join(p);
                    if !full.join("Cargo.toml").is_file() {
                        r.at(
                            &path,
                            format!("plugin `{name}`: no Cargo.toml in {}", full.display()),
                            "point `crate:` at a plugin crate directory (relative to the scenario file)".to_string(),
                        );
                    }
                    PluginSource::Crate(full)
                }
                _ => {
                    r.at(&path, format!("plugin `{name}` needs exactly one of `wasm:` or `crate:`"), "e.g. `{crate: ../plugins/chat}` or `{wasm: path/to/plugin.wasm}`".to_string());
                    PluginSource::Wasm(PathBuf::new())
                }
            };
            PluginSpec { name: name.clone(), source, pos: r.spans.value(&path) }
        })
        .collect()
}

fn compile_fn(r: &mut Reporter, path: &str, u: &FnUse, plugins: &[PluginSpec]) -> Option<FnRef> {
    let target = u.target();
    let value_path = match u {
        FnUse::Short(_) => path.to_string(),
        FnUse::Long(_) => format!("{path}.fn"),
    };
    let Some((plugin, export)) = target.split_once('.').filter(|(p, e)| !p.is_empty() && !e.is_empty()) else {
        r.at(
            &value_path,
            format!("`{target}` does not name a plugin function"),
            "write it as `plugin.export`, e.g. `chat.enter`".to_string(),
        );
        return None;
    };
    let Some(pi) = plugins.iter().position(|p| p.name == plugin) else {
        r.at(
            &value_path,
            format!("unknown plugin `{plugin}` in `{target}`"),
            format!("declare it under `plugins:` (declared: {})", list(plugins.iter().map(|p| &p.name))),
        );
        return None;
    };
    Some(FnRef {
        plugin: pi,
        export: export.to_string(),
        args: u.args().map(|a| from_json(a).into()),
        pos: r.spans.value(&value_path),
        display: target.to_string(),
    })
}

fn compile_blocks(r: &mut Reporter, s: &Scenario, vars: &[Var], plugins: &[PluginSpec]) -> Vec<BlockPlan> {
    let mut out = Vec::new();
    for (bi, b) in s.blocks.iter().enumerate() {
        let label = match &b.name {
            Some(n) => format!("block {} ({n})", bi + 1),
            None => format!("block {}", bi + 1),
        };
        let policies = b
            .policies
            .iter()
            .enumerate()
            .filter_map(|(pi, u)| compile_fn(r, &format!("blocks[{bi}].policies[{pi}]"), u, plugins))
            .collect();
        let policy_names = b.policies.iter().map(|u| u.name().to_string()).collect();
        let mut updates = Vec::new();
        for (var, u) in &b.updates {
            let path = format!("blocks[{bi}].updates.{var}");
            if let FnUse::Long(raw::FnWithArgs { name: Some(_), .. }) = u {
                r.at(
                    &format!("{path}.name"),
                    format!("{label} names the update of `{var}`; only policies have names"),
                    "remove `name`".to_string(),
                );
            }
            let f = compile_fn(r, &path, u, plugins);
            match vars.iter().position(|v| &v.name == var) {
                Some(vi) => {
                    if let Some(f) = f {
                        updates.push((vi, f));
                    }
                }
                None => r.at_key(
                    &path,
                    format!("{label} updates `{var}`, which is not a state variable"),
                    format!(
                        "declare it under `state:` or fix the name (declared: {})",
                        list(vars.iter().map(|v| &v.name))
                    ),
                ),
            }
        }
        out.push(BlockPlan { label, policies, policy_names, policy_order: Vec::new(), updates });
    }
    let names: Vec<Vec<String>> = out.iter().map(|b| b.policy_names.clone()).collect();
    for (b, order) in out.iter_mut().zip(policy_orders(s.semantics, &names)) {
        b.policy_order = order;
    }
    out
}

fn compile_limits(r: &mut Reporter, l: &raw::Limits) -> LimitsPlan {
    let memory_bytes = parse_size(&l.memory).unwrap_or_else(|| {
        r.at(
            "limits.memory",
            format!("cannot read `{}` as a size", l.memory),
            "write e.g. `256MiB`, `1GiB` or a byte count".to_string(),
        );
        0
    });
    let call_timeout = parse_duration(r, "limits.call_timeout", &l.call_timeout).unwrap_or(Duration::from_secs(10));
    if call_timeout.is_zero() {
        r.at("limits.call_timeout", "`call_timeout` must be positive", None);
    }
    let mut size = |field: &str, v: &str, default: usize| {
        parse_size(v).unwrap_or_else(|| {
            r.at(
                &format!("limits.{field}"),
                format!("cannot read `{v}` as a size"),
                "write e.g. `64MiB`, `1GiB` or a byte count".to_string(),
            );
            default
        })
    };
    let emit_bytes = size("emit_bytes", &l.emit_bytes, 64 << 20);
    let log_bytes = size("log_bytes", &l.log_bytes, 4 << 20);
    LimitsPlan { memory_bytes, call_timeout, emit_bytes, log_bytes }
}

pub(crate) fn parse_duration(r: &mut Reporter, path: &str, s: &str) -> Option<Duration> {
    match humantime::parse_duration(s) {
        Ok(d) => Some(d),
        Err(e) => {
            r.at(path, format!("cannot read `{s}` as a duration: {e}"), "write e.g. `1s`, `250ms`, `0s`".to_string());
            None
        }
    }
}

/// `256MiB`, `1GiB`, `64MB`, `1048576`.
pub fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: usize = num.parse().ok()?;
    let mult = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<&str> = names.map(|s| s.as_str()).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}
