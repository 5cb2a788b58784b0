//! `engine plugin new`: a new plugin project in any supported language, from templates embedded in
//! the binary (engine/templates/<lang>/ plus the SDK files its MANIFEST names), so that it works
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
    /// Replace `{{name}}`, `{{name_snake}}` and `{{sdk_path}}` (template files, not SDK copies).
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
            ScaffoldError::NoSdk(_) => {
                Some("Rust plugins depend on a checkout's plugin-sdk crate: pass `--sdk PATH/TO/plugin-sdk`".into())
            }
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
    /// The Rust SDK crate (default: this checkout's plugin-sdk).
    pub sdk: Option<PathBuf>,
}

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
    let vars = [("{{name_snake}}", req.name.replace('-', "_")), ("{{name}}", req.name.clone()), ("{{sdk_path}}", sdk)];
    let mut written = Vec::new();
    for f in template.files {
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

/// The Rust SDK path for `{{sdk_path}}`; other languages copy their SDK and do not need it.
fn sdk_path(req: &NewPlugin) -> Result<String, ScaffoldError> {
    if req.lang != "rust" {
        return Ok(String::new());
    }
    let sdk = req.sdk.clone().unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugin-sdk"));
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
    let io = |source| ScaffoldError::Io { path: path.to_path_buf(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, bytes).map_err(io)?;
    #[cfg(unix)]
    if exec {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
    }
    Ok(())
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
