//! Scenario → [`Model`]: resolve names, encode values, parse limits, and report every problem with
//! its position. Nothing here touches plugins; checks that need a plugin's exports run when the
//! plugins are loaded (`runtime::Plugins::check`), still before any job starts.

use super::scenario::{self as raw, Aggregation, FnUse, History, Scenario, TypeName};
use super::{sweep, ConfigErrors, Overrides, Reporter};
use crate::span::SpanIndex;
use distroduce_model::secret::{is_sensitive_property, SecretSource};
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
    let mut kafka = compile_kafka(&mut r, &s.kafka, &clock, &base);
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

fn compile_kafka(r: &mut Reporter, k: &raw::KafkaConfig, clock: &Clock, base: &Path) -> KafkaPlan {
    let mut topics = Vec::new();
    for (alias, t) in &k.topics {
        let path = format!("kafka.topics.{alias}");
        if t.partitions < 1 {
            r.at(&format!("{path}.partitions"), "a topic needs at least 1 partition", None);
        } else if t.partitions > crate::limits::MAX_PARTITIONS {
            let limit = crate::limits::MAX_PARTITIONS;
            r.at(
                &format!("{path}.partitions"),
                format!("{} partitions is more than the limit of {limit}", t.partitions),
                None,
            );
        }
        if t.replication < 1 {
            r.at(&format!("{path}.replication"), "the replication factor must be at least 1", None);
        }
        if let Some(p) = t.partition.filter(|p| *p < 0 || *p >= t.partitions) {
            r.at(
                &format!("{path}.partition"),
                format!(
                    "partition {p} does not exist: the topic has {} partitions (0..{})",
                    t.partitions,
                    t.partitions - 1
                ),
                None,
            );
        }
        let key = t.key.as_ref().and_then(|src| match KeyTemplate::parse(src) {
            Ok(k) => Some(k),
            Err(e) => {
                r.at(&format!("{path}.key"), e, "write fields as `{field}` or `{field.sub}`".to_string());
                None
            }
        });
        let name = t.name.clone().unwrap_or_else(|| alias.clone());
        if let Some(problem) = topic_name_problem(&name) {
            let hint = "Kafka topic names are 1 to 249 characters of a-z, A-Z, 0-9, `.`, `_` and `-`".to_string();
            match t.name {
                Some(_) => r.at(&format!("{path}.name"), problem, hint),
                None => r.at_key(&path, format!("{problem} (the alias is the topic name when `name` is absent)"), hint),
            }
        }
        topics.push(TopicPlan {
            alias: alias.clone(),
            name,
            partitions: t.partitions,
            replication: t.replication,
            format: t.format,
            key,
            headers: t.headers.iter().map(|(k, v)| (k.clone(), v.clone().into_bytes())).collect(),
            partition: t.partition,
            disorder: t
                .disorder
                .as_ref()
                .and_then(|d| super::compile_expect::compile_disorder(r, alias, d, clock, k.id_header)),
            schemas: super::compile_schema::compile_topic_schemas(r, alias, t, base),
            encoder: None,
        });
    }
    let (connection, mut secrets) = compile_security(r, k, base);
    let mut producer = Vec::new();
    for (key, v) in &k.producer {
        let value = match v {
            Json::String(s) => s.clone(),
            Json::Number(_) | Json::Bool(_) => v.to_string(),
            _ => {
                r.at(
                    &format!("kafka.producer.{key}"),
                    format!("producer property `{key}` must be a string, number or bool"),
                    None,
                );
                continue;
            }
        };
        if (k.tls.is_some() || k.sasl.is_some()) && is_connection_property(key) {
            r.at_key(
                &format!("kafka.producer.{key}"),
                format!(
                    "`{key}` under `kafka.producer` conflicts with `kafka.tls`/`kafka.sasl`, which set the connection"
                ),
                "set the connection in one place: remove it here, or drop `kafka.tls`/`kafka.sasl`".to_string(),
            );
        }
        if is_sensitive_property(key) {
            // Kept out of `producer`, which is shown (bench cells, debug output); never printed.
            secrets.push((key.clone(), SecretSource::Inline(value)));
        } else {
            producer.push((key.clone(), value));
        }
    }
    let records_topic = k.records_topic.as_ref().and_then(|alias| {
        let i = topics.iter().position(|t| &t.alias == alias);
        if i.is_none() {
            r.at(
                "kafka.records_topic",
                format!("`records_topic` names `{alias}`, which `kafka.topics` does not declare"),
                "declare it under `kafka.topics`".to_string(),
            );
        }
        i
    });
    if let Some(rate) = k.rate.filter(|r| !(r.is_finite() && *r > 0.0)) {
        r.at("kafka.rate", format!("`rate` must be a positive number of messages per second, not {rate}"), None);
    }
    let warmup = match &k.warmup {
        Some(w) => parse_duration(r, "kafka.warmup", w).unwrap_or_default(),
        None => Duration::ZERO,
    };
    KafkaPlan {
        brokers: k.brokers.clone(),
        topics,
        producer,
        connection,
        secrets,
        records_topic,
        id_header: k.id_header,
        rate: k.rate,
        warmup,
        timestamps: k.timestamps,
        transactions: Default::default(),
        transactional_id_prefix: String::new(),
        schema_registry: None,
    }
}

/// librdkafka properties that say how to reach and authenticate to the cluster.
pub fn is_connection_property(key: &str) -> bool {
    key == "security.protocol"
        || key.starts_with("sasl.")
        || key.starts_with("ssl.")
        || key == "ssl_key"
        || key == "enable.ssl.certificate.verification"
}

/// Credentials by librdkafka property.
type Secrets = Vec<(String, SecretSource)>;

/// `kafka.tls` and `kafka.sasl` as librdkafka properties; every env var and file they name is
/// checked now (at its position), but only where the secret comes from is kept.
fn compile_security(r: &mut Reporter, k: &raw::KafkaConfig, base: &Path) -> (Vec<(String, String)>, Secrets) {
    let mut conn = Vec::new();
    let mut secrets = Vec::new();
    let protocol = match (&k.tls, &k.sasl) {
        (None, None) => return (conn, secrets),
        (Some(_), None) => "SSL",
        (None, Some(_)) => "SASL_PLAINTEXT",
        (Some(_), Some(_)) => "SASL_SSL",
    };
    conn.push(("security.protocol".to_string(), protocol.to_string()));
    if let Some(tls) = &k.tls {
        if let Some(ca) = &tls.ca {
            let path = base.join(ca);
            match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => {}
                Ok(_) => r.at("kafka.tls.ca", format!("the CA certificate {} is not a file", path.display()), None),
                Err(e) => r.at(
                    "kafka.tls.ca",
                    format!("cannot read the CA certificate {}: {e}", path.display()),
                    "give a PEM file, relative to the scenario file".to_string(),
                ),
            }
            conn.push(("ssl.ca.location".to_string(), path.display().to_string()));
        }
        if !tls.verify {
            conn.push(("enable.ssl.certificate.verification".to_string(), "false".to_string()));
            conn.push(("ssl.endpoint.identification.algorithm".to_string(), "none".to_string()));
        }
    }
    if let Some(sasl) = &k.sasl {
        conn.push(("sasl.mechanism".to_string(), sasl.mechanism.as_str().to_string()));
        for (field, secret) in [("username", &sasl.username), ("password", &sasl.password)] {
            if let Some(src) = compile_secret(r, &format!("kafka.sasl.{field}"), secret, base) {
                secrets.push((format!("sasl.{field}"), src));
            }
        }
    }
    (conn, secrets)
}

/// Where a secret comes from, after checking that it can be read (its value is dropped).
fn compile_secret(r: &mut Reporter, path: &str, s: &raw::Secret, base: &Path) -> Option<SecretSource> {
    let (src, at) = match s {
        raw::Secret::Value(v) => (SecretSource::Inline(v.clone()), path.to_string()),
        raw::Secret::Env(e) => (SecretSource::Env(e.env.clone()), format!("{path}.env")),
        raw::Secret::File(f) => (SecretSource::File(base.join(&f.file)), format!("{path}.file")),
    };
    match src.resolve() {
        Ok(_) => Some(src),
        Err(e) => {
            let hint = match s {
                raw::Secret::Env(_) => "export the variable before running the engine, or use `{file: PATH}`",
                raw::Secret::File(_) => "the path is relative to the scenario file; the file holds only the secret",
                raw::Secret::Value(_) => "give the value, `{env: VARIABLE}` or `{file: PATH}`",
            };
            r.at(&at, format!("`{path}`: {e}"), hint.to_string());
            None
        }
    }
}

/// Why Kafka would refuse `name` as a topic name (its own rule: 1 to 249 characters of
/// `[a-zA-Z0-9._-]`, and not `.` or `..`), if it would.
pub fn topic_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("the topic name is empty".into());
    }
    if name == "." || name == ".." {
        return Some(format!("`{name}` cannot be a Kafka topic name"));
    }
    if name.len() > 249 {
        return Some(format!("the topic name is {} characters long; Kafka allows at most 249", name.len()));
    }
    name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))).map(|c| {
        format!("the topic name `{}` contains {c:?}, which Kafka does not allow in topic names", name.escape_debug())
    })
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

fn parse_duration(r: &mut Reporter, path: &str, s: &str) -> Option<Duration> {
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
