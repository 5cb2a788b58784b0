//! The output directory of a run: which files it holds and how they are written. `engine run`
//! writes it, `engine merge` reads shards' and writes one, `engine verify` reads the expected
//! records, and the Spark driver (deploy/spark) moves whole directories; this module is the one
//! place that names the files.

use serde::Serialize;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Records, one JSON object per line, in cadCAD order (`pandas.read_json(path, lines=True)`).
pub const RECORDS_JSONL: &str = "records.jsonl";
/// Records as CSV, nested values as JSON text (`pandas.read_csv`).
pub const RECORDS_CSV: &str = "records.csv";
/// Records as Parquet with typed columns (`pandas.read_parquet`). Written at the end of the run
/// from `records.parquet.spill`, the rows as they came, which is then removed: a killed run leaves
/// the spill and no (footerless, unreadable) Parquet file.
pub const RECORDS_PARQUET: &str = "records.parquet";
/// Every message in job order with its origin (`engine run --write-messages`).
pub const MESSAGES_JSONL: &str = "messages.jsonl";
/// The end-of-run summary, as printed.
pub const SUMMARY_JSON: &str = "summary.json";
/// What `engine merge` needs from each shard besides its records and messages.
pub const METRICS_JSON: &str = "metrics.json";
/// What a correct stream job outputs (from `expectations`).
pub const EXPECTED_JSONL: &str = "expected.jsonl";
/// A shard's partial expectation groups, which `engine merge` folds into [`EXPECTED_JSONL`].
pub const EXPECTED_PARTIAL_JSONL: &str = "expected.partial.jsonl";

/// A run's output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputDir(pub PathBuf);

impl OutputDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self(dir.into())
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    /// The path of one of this module's files in the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

/// Write `value` as JSON to `path`: to a temporary file next to it, then renamed, so a reader (or
/// a run killed half-way) never sees a cut file. Serialization errors are reported, never turned
/// into an empty file.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T, pretty: bool) -> io::Result<()> {
    let bytes = if pretty { serde_json::to_vec_pretty(value) } else { serde_json::to_vec(value) }
        .map_err(|e| io::Error::other(format!("cannot encode {} as JSON: {e}", path.display())))?;
    write_atomic(path, &bytes)
}

/// Write `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_data()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

/// Write a generated project file (`engine plugin new`, `engine import`), creating its directory;
/// `exec` makes it executable (a `build` or `test` script).
pub fn write_file(path: &Path, bytes: &[u8], exec: bool) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, bytes)?;
    #[cfg(unix)]
    if exec {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    #[cfg(not(unix))]
    let _ = exec;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_json_replaces_the_file_whole_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("distroduce-layout-{}", std::process::id()));
        let out = OutputDir::new(&dir);
        let p = out.file(SUMMARY_JSON);
        write_json(&p, &serde_json::json!({"a": 1}), true).unwrap();
        write_json(&p, &serde_json::json!({"b": [1, 2]}), false).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), r#"{"b":[1,2]}"#);
        assert!(!dir.join("summary.json.tmp").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn unencodable_values_are_an_error_not_an_empty_file() {
        use std::collections::BTreeMap;
        // serde_json refuses maps with non-string keys.
        let mut m = BTreeMap::new();
        m.insert(vec![1u8], 1);
        let dir = std::env::temp_dir().join(format!("distroduce-layout-bad-{}", std::process::id()));
        let p = dir.join("x.json");
        let e = write_json(&p, &m, false).unwrap_err();
        assert!(e.to_string().contains("cannot encode"), "{e}");
        assert!(!p.exists());
        let _ = std::fs::remove_dir_all(dir);
    }
}
