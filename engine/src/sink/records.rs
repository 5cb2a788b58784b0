//! Record files: JSONL and CSV, both readable by pandas. Records arrive per job, in cadCAD order
//! (simulation, subset, run, then timestep and substep), whatever the thread count.

use crate::exec::Record;
use crate::model::{JobId, Model, BOOKKEEPING};
use crate::value::json::to_json;
use serde_json::Value as Json;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub trait RecordWriter: Send {
    fn write_job(&mut self, job: &JobId, records: &[Record]) -> io::Result<()>;
    fn finish(&mut self) -> io::Result<()>;
    fn path(&self) -> &Path;
}

fn create(path: &Path) -> io::Result<BufWriter<File>> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    Ok(BufWriter::with_capacity(1 << 20, File::create(path)?))
}

/// JSON with Python's `json.dumps` separators (`", "` and `": "`), so that record files compare byte for
/// byte with cadCAD output dumped by Python.
struct PyFormatter;

impl serde_json::ser::Formatter for PyFormatter {
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

/// Write `v` as Python would.
pub fn write_py_json<W: Write>(w: &mut W, v: &Json) -> io::Result<()> {
    use serde::Serialize;
    let mut ser = serde_json::Serializer::with_formatter(w, PyFormatter);
    v.serialize(&mut ser).map_err(io::Error::other)
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

/// Write one record as a JSON object: state variables (their JSON-quoted names in `keys`), then the
/// bookkeeping fields, with Python's separators.
pub fn write_record_json<W: Write>(out: &mut W, keys: &[String], job: &JobId, r: &Record) -> io::Result<()> {
    out.write_all(b"{")?;
    for (i, (k, v)) in keys.iter().zip(&r.vals).enumerate() {
        if i > 0 {
            out.write_all(b", ")?;
        }
        write!(out, "{k}: ")?;
        write_py_json(out, &cell(v)?)?;
    }
    let sep = if keys.is_empty() { "" } else { ", " };
    write!(
        out,
        "{sep}\"simulation\": {}, \"subset\": {}, \"run\": {}, \"substep\": {}, \"timestep\": {}}}",
        job.simulation, job.subset, job.run, r.substep, r.timestep
    )
}

/// JSON-quoted state variable names, for [`write_record_json`].
pub fn json_keys(model: &Model) -> Vec<String> {
    model.vars.iter().map(|v| serde_json::to_string(&v.name).unwrap_or_default()).collect()
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
