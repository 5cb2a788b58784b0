//! Record files: JSONL and CSV, both readable by pandas. Records arrive per job, in cadCAD order
//! (simulation, subset, run, then timestep and substep), whatever the thread count.

pub use distroduce_model::output::RecordWriter;
use distroduce_model::record::{json_keys, write_record_json, Record};
use distroduce_model::value::json::to_json;
use distroduce_model::{JobId, Model, BOOKKEEPING};
use serde_json::Value as Json;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

fn create(path: &Path) -> io::Result<BufWriter<File>> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    Ok(BufWriter::with_capacity(1 << 20, File::create(path)?))
}

fn cell(v: &[u8]) -> io::Result<Json> {
    to_json(v).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// One JSON object per line: `pandas.read_json(path, lines=True)`.
pub struct JsonlWriter {
    out: BufWriter<File>,
    keys: Vec<String>,
    path: PathBuf,
}

impl JsonlWriter {
    pub fn create(path: &Path, model: &Model) -> io::Result<Self> {
        Ok(Self { out: create(path)?, keys: json_keys(model), path: path.to_path_buf() })
    }
}

impl RecordWriter for JsonlWriter {
    fn write_job(&mut self, job: &JobId, records: &[Record]) -> io::Result<()> {
        for r in records {
            write_record_json(&mut self.out, &self.keys, job, r)?;
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
    fn path(&self) -> &Path {
        &self.path
    }
}

/// Comma-separated with a header row; nested values are written as JSON text.
pub struct CsvWriter {
    out: BufWriter<File>,
    path: PathBuf,
}

impl CsvWriter {
    pub fn create(path: &Path, model: &Model) -> io::Result<Self> {
        let mut out = create(path)?;
        let header: Vec<String> =
            model.vars.iter().map(|v| csv_field(&v.name)).chain(BOOKKEEPING.iter().map(|s| s.to_string())).collect();
        writeln!(out, "{}", header.join(","))?;
        Ok(Self { out, path: path.to_path_buf() })
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl RecordWriter for CsvWriter {
    fn write_job(&mut self, job: &JobId, records: &[Record]) -> io::Result<()> {
        for r in records {
            for v in &r.vals {
                let text = match cell(v)? {
                    Json::String(s) => s,
                    Json::Null => String::new(),
                    other => other.to_string(),
                };
                write!(self.out, "{},", csv_field(&text))?;
            }
            writeln!(self.out, "{},{},{},{},{}", job.simulation, job.subset, job.run, r.substep, r.timestep)?;
        }
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
    fn path(&self) -> &Path {
        &self.path
    }
}
