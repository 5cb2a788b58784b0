//! `engine plugin new`: a new plugin project in any supported language, from templates embedded in
//! the binary (engine/cli/templates/<lang>/ plus the SDK files its MANIFEST names), so that it works
//! anywhere and offline. Every template builds with `./build` and passes its own `./test`: an ABI
//! check, two seeded runs that must agree, and a check of the records.

use std::path::{Path, PathBuf};
use thiserror::Error;

/// One file of a template.
pub struct TemplateFile {
    /// Path inside the new project.
    pub path: &'static str,
    pub bytes: &'static [u8],
    pub exec: bool,
    /// Replace `{{name}}`, `{{name_snake}}`, `{{sdk_path}}` and `{{engine}}` (template files, not
    /// SDK copies).
    pub substitute: bool,
}

/// The files of one language's template.
pub struct Template {
    pub lang: &'static str,
    pub files: &'static [TemplateFile],
}

include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// The languages `engine plugin new --lang` accepts.
pub fn languages() -> Vec<&'static str> {
    TEMPLATES.iter().map(|t| t.lang).collect()
}

#[derive(Debug, Error)]
pub enum ScaffoldError {
    #[error("unknown language `{0}`")]
    Lang(String, Vec<&'static str>),
    #[error("`{0}` is not a plugin name: use lowercase letters, digits, `-` and `_`, starting with a letter")]
    Name(String),
    #[error("{0} already exists and is not empty")]
    Exists(PathBuf),
    #[error("the Rust SDK is not at {0}")]
    NoSdk(PathBuf),
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl ScaffoldError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ScaffoldError::Lang(_, langs) => Some(format!("one of: {}", langs.join(", "))),
            ScaffoldError::Name(_) => Some("e.g. `my-model`".into()),
            ScaffoldError::Exists(_) => Some("choose another name, or `--dir` for another parent directory".into()),
            ScaffoldError::NoSdk(_) => Some(
                "`--sdk` names a distroduce checkout's plugin-sdk directory; without it the project gets its own copy"
                    .into(),
            ),
            ScaffoldError::Io { .. } => None,
        }
    }
}

/// What to create.
pub struct NewPlugin {
    pub lang: String,
    pub name: String,
    /// Parent directory; the project goes to `dir/name`.
    pub dir: PathBuf,
    /// Rust: depend on this plugin-sdk checkout instead of the copy written into the project.
    pub sdk: Option<PathBuf>,
}

/// Where the Rust template puts its copy of the SDK.
const RUST_SDK_DIR: &str = "sdk/";

/// Write the project; returns its directory and the files written.
pub fn new_plugin(req: &NewPlugin) -> Result<(PathBuf, Vec<PathBuf>), ScaffoldError> {
    let template = TEMPLATES
        .iter()
        .find(|t| t.lang == req.lang)
        .ok_or_else(|| ScaffoldError::Lang(req.lang.clone(), languages()))?;
    if !valid_name(&req.name) {
        return Err(ScaffoldError::Name(req.name.clone()));
    }
    let root = req.dir.join(&req.name);
    if root.read_dir().is_ok_and(|mut d| d.next().is_some()) {
        return Err(ScaffoldError::Exists(root));
    }
    let sdk = sdk_path(req)?;
    // The project's ./test runs the engine that created it unless told otherwise.
    let engine = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default();
    let vars = [
        ("{{name_snake}}", req.name.replace('-', "_")),
        ("{{name}}", req.name.clone()),
        ("{{sdk_path}}", sdk),
        ("{{engine}}", engine),
    ];
    let mut written = Vec::new();
    for f in template.files {
        if req.lang == "rust" && req.sdk.is_some() && f.path.starts_with(RUST_SDK_DIR) {
            continue;
        }
        let path = root.join(f.path);
        let bytes = if f.substitute { substitute(f.bytes, &vars) } else { f.bytes.to_vec() };
        write(&path, &bytes, f.exec)?;
        written.push(path);
    }
    Ok((root, written))
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// The Rust SDK path for `{{sdk_path}}`: the copy inside the project (relative, so the project can
/// move), or the checkout given with `--sdk`. Other languages copy their SDK and do not need it.
fn sdk_path(req: &NewPlugin) -> Result<String, ScaffoldError> {
    let Some(sdk) = req.sdk.clone().filter(|_| req.lang == "rust") else {
        return Ok(format!("{RUST_SDK_DIR}distroduce-sdk"));
    };
    let sdk = sdk.canonicalize().map_err(|_| ScaffoldError::NoSdk(sdk.clone()))?;
    if !sdk.join("Cargo.toml").is_file() {
        return Err(ScaffoldError::NoSdk(sdk));
    }
    Ok(sdk.display().to_string())
}

fn substitute(bytes: &[u8], vars: &[(&str, String)]) -> Vec<u8> {
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    for (k, v) in vars {
        text = text.replace(k, v);
    }
    text.into_bytes()
}

fn write(path: &Path, bytes: &[u8], exec: bool) -> Result<(), ScaffoldError> {
    distroduce_model::layout::write_file(path, bytes, exec)
        .map_err(|source| ScaffoldError::Io { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(valid_name("my-model_2"));
        for bad in ["", "My", "1x", "a b", "a/b", "../x"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn the_rust_template_carries_the_sdk_and_names_no_checkout() {
        let rust = TEMPLATES.iter().find(|t| t.lang == "rust").unwrap();
        for needed in [
            "sdk/distroduce-sdk/Cargo.toml",
            "sdk/distroduce-sdk/src/lib.rs",
            "sdk/distroduce-sdk-macros/src/lib.rs",
            "sdk/distroduce-abi/src/lib.rs",
        ] {
            assert!(rust.files.iter().any(|f| f.path == needed), "{needed}");
        }
        let manifest = rust.files.iter().find(|f| f.path == "Cargo.toml").unwrap();
        let text = String::from_utf8_lossy(&substitute(manifest.bytes, &[("{{sdk_path}}", sdk_path(&req()).unwrap())]))
            .into_owned();
        assert!(text.contains(r#"path = "sdk/distroduce-sdk""#), "{text}");
    }

    /// Every source file of the SDK crates travels with the template: a module added to the SDK
    /// but not to templates/rust/MANIFEST would break every scaffolded project's build.
    #[test]
    fn the_rust_template_carries_every_sdk_source_file() {
        let rust = TEMPLATES.iter().find(|t| t.lang == "rust").unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap();
        for (src, dest) in [
            ("plugin-sdk/src", "sdk/distroduce-sdk/src"),
            ("plugin-sdk/macros/src", "sdk/distroduce-sdk-macros/src"),
            ("plugin-sdk/abi/src", "sdk/distroduce-abi/src"),
            ("plugin-sdk/values/src", "sdk/distroduce-values/src"),
        ] {
            // Modules may live in subdirectories (`typed_loop/agg.rs`): every file below `src`.
            let mut dirs = vec![String::new()];
            while let Some(rel) = dirs.pop() {
                for e in std::fs::read_dir(repo.join(src).join(&rel)).unwrap().filter_map(Result::ok) {
                    let name = format!("{rel}{}", e.file_name().to_string_lossy());
                    if e.file_type().unwrap().is_dir() {
                        dirs.push(format!("{name}/"));
                        continue;
                    }
                    let wanted = format!("{dest}/{name}");
                    assert!(rust.files.iter().any(|f| f.path == wanted), "templates/rust/MANIFEST lacks {src}/{name}");
                }
            }
        }
    }

    /// The same for the Go SDK: a file added to its package but not to templates/go/MANIFEST
    /// would leave scaffolded Go projects with undefined names.
    #[test]
    fn the_go_template_carries_every_sdk_source_file() {
        let go = TEMPLATES.iter().find(|t| t.lang == "go").unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap();
        for e in std::fs::read_dir(repo.join("plugin-sdk/go")).unwrap().filter_map(Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".go") && !name.ends_with("_test.go") {
                let wanted = format!("sdk/{name}");
                assert!(go.files.iter().any(|f| f.path == wanted), "templates/go/MANIFEST lacks plugin-sdk/go/{name}");
            }
        }
    }

    fn req() -> NewPlugin {
        NewPlugin { lang: "rust".into(), name: "x".into(), dir: PathBuf::from("."), sdk: None }
    }

    #[test]
    fn every_template_has_build_test_and_scenario() {
        assert!(languages().contains(&"rust"));
        for t in TEMPLATES {
            for needed in ["build", "test", "scenario.yaml"] {
                let f = t.files.iter().find(|f| f.path == needed);
                assert!(f.is_some_and(|f| f.exec || needed == "scenario.yaml"), "{}: {needed}", t.lang);
            }
        }
    }
}
