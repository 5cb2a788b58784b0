//! Embeds the `engine plugin new` templates (engine/cli/templates/<lang>/) and the SDK files each
//! one's MANIFEST names, so that the `engine` binary scaffolds a project anywhere, offline.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let templates = manifest_dir.join("templates");
    // engine/cli -> the repository root, where the SDK files the MANIFESTs name live.
    let repo = manifest_dir.ancestors().nth(2).expect("engine/cli lives in the repository").to_path_buf();
    println!("cargo:rerun-if-changed={}", templates.display());

    let mut langs: Vec<PathBuf> = fs::read_dir(&templates)
        .expect("engine/templates exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    langs.sort();
    let mut out = String::from("pub static TEMPLATES: &[Template] = &[\n");
    for dir in langs {
        let lang = dir.file_name().unwrap().to_string_lossy().into_owned();
        writeln!(out, "    Template {{ lang: {lang:?}, files: &[").unwrap();
        let mut files = Vec::new();
        walk(&dir, &dir, &mut files);
        files.sort();
        for rel in files {
            let abs = dir.join(&rel);
            entry(&mut out, &rel, &abs, is_exec(&abs), true);
        }
        let manifest = dir.join("MANIFEST");
        if let Ok(text) = fs::read_to_string(&manifest) {
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let parts: Vec<&str> = line.split_whitespace().collect();
                let (src, dest, exec) = match parts.as_slice() {
                    [s, d] => (*s, *d, false),
                    [s, d, "exec"] => (*s, *d, true),
                    _ => panic!("{}:{}: want `SOURCE DEST [exec]`, got `{line}`", manifest.display(), n + 1),
                };
                let abs = repo.join(src);
                assert!(abs.is_file(), "{}:{}: {} does not exist", manifest.display(), n + 1, abs.display());
                println!("cargo:rerun-if-changed={}", abs.display());
                entry(&mut out, dest, &abs, exec, false);
            }
        }
        out.push_str("    ] },\n");
    }
    out.push_str("];\n");
    fs::write(PathBuf::from(env::var("OUT_DIR").unwrap()).join("templates.rs"), out).unwrap();
}

fn entry(out: &mut String, rel: &str, abs: &Path, exec: bool, substitute: bool) {
    writeln!(
        out,
        "        TemplateFile {{ path: {rel:?}, bytes: include_bytes!({:?}), exec: {exec}, substitute: {substitute} }},",
        abs.display().to_string()
    )
    .unwrap();
}

/// Every file under `dir` (relative, `/`-separated) but the MANIFEST and build output.
fn walk(root: &Path, dir: &Path, files: &mut Vec<String>) {
    for e in fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            if !matches!(name.as_str(), "target" | "node_modules" | "__pycache__" | "out") {
                walk(root, &p, files);
            }
        } else if p != root.join("MANIFEST") {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            files.push(rel);
        }
    }
}

#[cfg(unix)]
fn is_exec(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).map(|m| m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}
#[cfg(not(unix))]
fn is_exec(_: &Path) -> bool {
    false
}
