//! Scenario files: parse ([`scenario`]), locate ([`span`]), check and compile into a
//! [`distroduce_model::Model`] ([`compile`]). Every problem found is reported at once, each with the
//! `file:line:col` it comes from and what to do about it.

pub mod compile;
pub mod compile_expect;
pub mod compile_kafka;
pub mod compile_schema;
pub mod compile_txn;
pub mod expect;
pub mod limits;
pub mod scenario;
#[cfg(test)]
mod security_tests;
pub mod span;
pub mod sweep;

pub use distroduce_model::diag::{ConfigErrors, Diagnostic};
use span::Pos;
use std::path::{Path, PathBuf};

/// Collects diagnostics for one file, resolving YAML paths to positions.
pub struct Reporter<'a> {
    pub file: &'a Path,
    pub spans: &'a span::SpanIndex,
    pub diags: Vec<Diagnostic>,
}

impl<'a> Reporter<'a> {
    pub fn new(file: &'a Path, spans: &'a span::SpanIndex) -> Self {
        Self { file, spans, diags: Vec::new() }
    }

    /// An error about the value at `path`.
    pub fn at(&mut self, path: &str, message: impl Into<String>, hint: impl Into<Option<String>>) {
        let pos = self.spans.value(path);
        self.push(pos, message, hint);
    }

    /// An error about the mapping key that ends `path`.
    pub fn at_key(&mut self, path: &str, message: impl Into<String>, hint: impl Into<Option<String>>) {
        let pos = self.spans.key(path);
        self.push(pos, message, hint);
    }

    pub fn push(&mut self, pos: Option<Pos>, message: impl Into<String>, hint: impl Into<Option<String>>) {
        self.diags.push(Diagnostic { file: self.file.to_path_buf(), pos, message: message.into(), hint: hint.into() });
    }

    /// An error about a command-line flag (`--runs`) that overrides the file.
    pub fn at_flag(&mut self, flag: &str, message: impl Into<String>, hint: impl Into<Option<String>>) {
        self.diags.push(Diagnostic {
            file: PathBuf::from(flag),
            pos: None,
            message: message.into(),
            hint: hint.into(),
        });
    }
}

/// Read a YAML file of at most [`limits::MAX_SCENARIO_FILE_BYTES`]; an unreadable or larger file is
/// a diagnostic with `hint`.
pub fn read_source(path: &Path, what: &str, hint: &str) -> Result<String, ConfigErrors> {
    let bytes = distroduce_model::files::read_capped(path, limits::MAX_SCENARIO_FILE_BYTES).map_err(|e| {
        ConfigErrors(vec![Diagnostic {
            file: path.to_path_buf(),
            pos: None,
            message: format!("cannot read {what}: {e}"),
            hint: Some(hint.into()),
        }])
    })?;
    String::from_utf8(bytes).map_err(|e| {
        // Where the first bad byte is, counted as an editor does.
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = 1 + good.iter().filter(|b| **b == b'\n').count();
        let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let col = 1 + std::str::from_utf8(&good[line_start..]).map_or(0, |t| t.chars().count());
        let byte = e.as_bytes()[good.len()];
        ConfigErrors(vec![Diagnostic {
            file: path.to_path_buf(),
            pos: Some(Pos { line, col }),
            message: format!("the {what} is not UTF-8 text: byte 0x{byte:02x} here starts no UTF-8 character"),
            hint: Some("save the file as UTF-8".into()),
        }])
    })
}

/// Deserialize YAML into typed config; serde_yaml's error becomes a positioned diagnostic (it
/// appends " at line L column C" to messages, which we print up front instead). Where serde_yaml
/// has no position (a value that fits no form of an untagged enum is only found once the whole
/// value was read), the position comes from the path of the failing field.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(path: &Path, src: &str, hint: &str) -> Result<T, ConfigErrors> {
    check_nesting(path, src)?;
    serde_path_to_error::deserialize(serde_yaml::Deserializer::from_str(src)).map_err(|e| {
        let field = e.path().to_string();
        let e = e.into_inner();
        let pos = match e.location().map(|l| Pos { line: l.line(), col: l.column() }) {
            Some(p) if !(p.line == 1 && p.col == 1 && field != ".") => Some(p),
            other => span::SpanIndex::build(src).value(&field).or(other),
        };
        let msg = e.to_string();
        let message = msg.rfind(" at line ").map_or(msg.as_str(), |i| &msg[..i]).to_string();
        ConfigErrors(vec![Diagnostic { file: path.to_path_buf(), pos, message, hint: Some(hint.into()) }])
    })
}

/// Refuse YAML whose collections nest deeper than [`limits::MAX_YAML_DEPTH`], at the collection
/// that goes too deep, in one streaming pass and before anything else reads the text (serde_yaml
/// and the span index take time quadratic in the depth: 100k levels took 44 s to be refused).
fn check_nesting(path: &Path, src: &str) -> Result<(), ConfigErrors> {
    use yaml_rust2::parser::{Event, Parser};
    let mut parser = Parser::new_from_str(src);
    let too_deep = |mark: yaml_rust2::scanner::Marker| {
        Err(ConfigErrors(vec![Diagnostic {
            file: path.to_path_buf(),
            pos: Some(Pos { line: mark.line(), col: mark.col() + 1 }),
            message: format!("lists and maps nest more than {} levels deep here (the limit)", limits::MAX_YAML_DEPTH),
            hint: Some("flatten the value (README.md, \"Resource limits\")".into()),
        }]))
    };
    let mut depth = 0usize;
    // Per open collection: for a map, whether a key comes next (`None` for a list); and the root map's key
    // whose value is being read.
    let mut open: Vec<Option<bool>> = Vec::new();
    let mut top_key = String::new();
    let value_done = |open: &mut Vec<Option<bool>>| {
        if let Some(Some(expect_key)) = open.last_mut() {
            *expect_key = !*expect_key;
        }
    };
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(e) => e,
            // yaml-rust2 scans a run of flow openers ahead and gives up at 256 levels.
            Err(e) if e.info().contains("recursion limit") => return too_deep(*e.marker()),
            // Other syntax errors are serde_yaml's to report, with its message.
            Err(_) => return Ok(()),
        };
        match event {
            Event::StreamEnd => return Ok(()),
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                value_done(&mut open);
                open.push(matches!(event, Event::MappingStart(..)).then_some(true));
                depth += 1;
                if depth > limits::MAX_YAML_DEPTH {
                    return too_deep(mark);
                }
            }
            Event::SequenceEnd | Event::MappingEnd => {
                open.pop();
                depth = depth.saturating_sub(1);
            }
            Event::Scalar(v, style, ..) => {
                let is_key = open.last() == Some(&Some(true));
                if is_key && open.len() == 1 {
                    top_key = v.clone();
                }
                // Values travel as JSON, which has no NaN or infinity: serde_yaml would make them null.
                let not_finite =
                    matches!(v.trim_start_matches(['+', '-']), ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF");
                if !is_key
                    && style == yaml_rust2::scanner::TScalarStyle::Plain
                    && not_finite
                    && matches!(top_key.as_str(), "state" | "params")
                {
                    return Err(ConfigErrors(vec![Diagnostic {
                        file: path.to_path_buf(),
                        pos: Some(Pos { line: mark.line(), col: mark.col() + 1 }),
                        message: format!("`{v}` is not a number values can carry (they travel as JSON, which has no NaN or infinity)"),
                        hint: Some("use null, a finite number, or the string \".nan\" in quotes".into()),
                    }]));
                }
                value_done(&mut open);
            }
            Event::Alias(..) => value_done(&mut open),
            _ => {}
        }
    }
}

/// Values given on the command line in place of the scenario's. They go through the same checks
/// as the file's own values; a problem is reported at the flag (`--runs: ...`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub runs: Option<u64>,
    pub timesteps: Option<u64>,
    pub seed: Option<u64>,
    /// `--semantics`: cadCAD's or radCAD's rules.
    pub semantics: Option<distroduce_model::types::Semantics>,
    /// The output directory (`--out`).
    pub out: Option<PathBuf>,
    /// Record formats (`--format`).
    pub formats: Option<Vec<distroduce_model::types::RecordFormat>>,
    /// `--plugin NAME=FILE`: a prebuilt module in place of a declared plugin (the same model in
    /// another language).
    pub plugins: Vec<(String, PathBuf)>,
    /// `--schema-registry URL`: in place of `kafka.schema_registry.url`.
    pub schema_registry: Option<String>,
}

/// Read, parse and compile a scenario file.
pub fn load(path: &Path) -> Result<distroduce_model::Model, ConfigErrors> {
    load_with(path, &Overrides::default())
}

/// Read, parse and compile a scenario file with command-line overrides.
pub fn load_with(path: &Path, overrides: &Overrides) -> Result<distroduce_model::Model, ConfigErrors> {
    let src = read_source(path, "scenario", "check the path; scenarios live under scenarios/")?;
    load_str_with(path, &src, overrides)
}

/// Parse and compile scenario text; `path` is used for messages and relative plugin paths.
pub fn load_str(path: &Path, src: &str) -> Result<distroduce_model::Model, ConfigErrors> {
    load_str_with(path, src, &Overrides::default())
}

/// [`load_str`] with command-line overrides.
pub fn load_str_with(path: &Path, src: &str, overrides: &Overrides) -> Result<distroduce_model::Model, ConfigErrors> {
    let raw: scenario::Scenario = parse_yaml(path, src, "see `engine schema` for every field and its type")?;
    let spans = span::SpanIndex::build(src);
    compile::compile(path, &spans, raw, overrides)
}

/// The JSON Schema of scenario files, generated from the config types.
pub fn schema() -> serde_json::Value {
    schemars::schema_for!(scenario::Scenario).to_value()
}

/// [`schema`] as the text `engine schema` prints and `scenarios/schema.json` holds.
pub fn schema_json() -> String {
    format!("{:#}", schema())
}

#[cfg(test)]
mod tests {
    #[test]
    fn nan_and_infinity_in_state_or_params_are_refused_at_their_position() {
        let p = std::path::Path::new("s.yaml");
        let e = super::check_nesting(p, "name: t\nstate: {a: 0, b: [1, .nan]}\n").unwrap_err();
        assert_eq!(e.0[0].pos, Some(super::Pos { line: 2, col: 22 }), "{e}");
        assert!(e.0[0].message.contains("`.nan` is not a number"), "{e}");
        assert!(super::check_nesting(p, "params:\n  x: -.inf\n").is_err());
        // Quoted, a key, or outside state/params: not a float.
        assert!(super::check_nesting(p, "state: {a: '.nan', .nan: 1}\nname: .nan\n").is_ok());
    }

    #[test]
    fn nesting_past_the_limit_is_refused_at_its_position() {
        let p = std::path::Path::new("s.yaml");
        let ok = format!("a: {}{}", "[".repeat(63), "]".repeat(63));
        assert!(super::check_nesting(p, &ok).is_ok());
        let block =
            (0..70).map(|i| format!("{}k{i}:\n", "  ".repeat(i))).collect::<String>() + &"  ".repeat(70) + "x: 1\n";
        let e = super::check_nesting(p, &block).unwrap_err();
        assert_eq!(e.0[0].pos, Some(super::Pos { line: 65, col: 132 }), "{e}");
        let e = super::check_nesting(p, &format!("a: {}", "[".repeat(100_000))).unwrap_err();
        assert!(e.0[0].message.contains("more than 64 levels"), "{e}");
    }

    use super::*;

    fn error_of(yaml: &str) -> String {
        load_str(Path::new("s.yaml"), yaml).unwrap_err().to_string()
    }

    const HEAD: &str = "name: t\nstate: {a: 0}\nplugins: {p: {wasm: p.wasm}}\n";

    #[test]
    fn a_misspelt_key_in_a_long_form_is_an_error_at_its_line() {
        let e = error_of(&format!("{HEAD}blocks:\n  - policies:\n      - {{fn: p.f, arsg: {{x: 1}}}}\n"));
        assert!(e.starts_with("error: s.yaml:6:") && e.contains("`{fn: plugin.export, args: ..., name: ...}`"), "{e}");
        let e = error_of(&format!("{HEAD}aggregation: {{defualt: max}}\nblocks: [{{updates: {{a: p.f}}}}]\n"));
        assert!(e.starts_with("error: s.yaml:4:") && e.contains("{default: OP, signals:"), "{e}");
    }

    #[test]
    fn policy_names_default_to_the_fn_reference_and_decide_cadcads_order() {
        use distroduce_model::types::Semantics;
        use distroduce_model::PolicyStep::{Identity as I, Policy as P};
        let yaml = |sem: &str| {
            format!(
                "{HEAD}runs: 1\ntimesteps: 1\nsemantics: {sem}\nblocks:\n  - policies: [p.f, {{fn: p.g, name: x}}]\n  - policies: [{{fn: p.h, name: x}}]\n"
            )
        };
        // Compiling checks that plugin files exist (not what they hold).
        let dir = std::env::temp_dir().join(format!("distroduce-scenario-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("p.wasm"), b"").unwrap();
        let file = dir.join("s.yaml");
        let m = load_str(&file, &yaml("cadcad")).unwrap();
        assert_eq!(m.semantics, Semantics::Cadcad);
        assert_eq!(m.blocks[0].policy_names, ["p.f", "x"]);
        assert_eq!(m.blocks[0].policy_order, [P(0), P(1)]);
        assert_eq!(m.blocks[1].policy_order, [I, P(0)]);
        let m = load_str(&file, &yaml("radcad")).unwrap();
        assert_eq!(m.blocks[1].policy_order, [P(0)]);
        std::fs::remove_dir_all(&dir).unwrap();
        let e = error_of(&format!("{HEAD}runs: 1\ntimesteps: 1\nblocks:\n  - updates: {{a: {{fn: p.f, name: x}}}}\n"));
        assert!(e.contains("s.yaml:7:") && e.contains("only policies have names"), "{e}");
        let e =
            error_of(&format!("{HEAD}runs: 1\ntimesteps: 1\nsemantics: cadCAD\nblocks: [{{updates: {{a: p.f}}}}]\n"));
        assert!(e.contains("semantics"), "{e}");
    }

    /// `scenarios/schema.json` is what `engine schema` prints, so editors can point at the file.
    /// After changing the scenario types: `DISTRODUCE_BLESS=1 cargo test --release -p distroduce-cli -p distroduce-scenario --lib`.
    #[test]
    fn the_checked_in_schema_is_fresh() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/schema.json");
        let fresh = schema_json() + "\n";
        if std::env::var_os("DISTRODUCE_BLESS").is_some() {
            std::fs::write(&path, &fresh).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == fresh,
            "scenarios/schema.json is stale: run `DISTRODUCE_BLESS=1 cargo test --release -p distroduce-cli -p distroduce-scenario --lib` and commit it"
        );
    }
}
