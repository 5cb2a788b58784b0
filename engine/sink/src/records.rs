//! Record files: JSONL and CSV, both readable by pandas (Parquet is in [`crate::parquet`]). Records arrive per job, in cadCAD order
//! (simulation, subset, run, then timestep and substep), whatever the thread count.

use distroduce_model::layout::{self, OutputDir};
pub use distroduce_model::output::RecordWriter;
use distroduce_model::record::{json_keys, write_record_json_cached, PackedRecords, RecordView, TextCache};
use distroduce_model::types::RecordFormat;
use distroduce_model::value::json::to_json;
use distroduce_model::{JobId, Model, BOOKKEEPING};
use serde_json::Value as Json;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// One writer per record format of the model (`output.formats`, `--format`), in that order, into
/// `out`; on failure, the file that could not be created.
pub fn create_writers(model: &Model, out: &OutputDir) -> Result<Vec<Box<dyn RecordWriter>>, (PathBuf, io::Error)> {
    let mut writers: Vec<Box<dyn RecordWriter>> = Vec::new();
    for f in &model.output.formats {
        let name = match f {
            RecordFormat::Jsonl => layout::RECORDS_JSONL,
            RecordFormat::Csv => layout::RECORDS_CSV,
            RecordFormat::Parquet => layout::RECORDS_PARQUET,
            RecordFormat::None => continue,
        };
        let path = out.file(name);
        let w: io::Result<Box<dyn RecordWriter>> = match f {
            RecordFormat::Jsonl => JsonlWriter::create(&path, model).map(|w| Box::new(w) as _),
            RecordFormat::Csv => CsvWriter::create(&path, model).map(|w| Box::new(w) as _),
            _ => crate::parquet::ParquetWriter::create(&path, model).map(|w| Box::new(w) as _),
        };
        writers.push(w.map_err(|e| (path, e))?);
    }
    Ok(writers)
}

/// How much a record file buffers before it writes.
const BUFFER: usize = 1 << 20;

/// A buffered file that only ever writes whole lines: the buffer goes to the file at the end of
/// a line once it holds [`BUFFER`] bytes, and at `finish`. A run killed between writes leaves a
/// file of complete lines, which pandas reads; one killed inside a write may leave its last line
/// cut short, as Linux ends a write at a page boundary when a fatal signal arrives (nothing in
/// user space can make a 1 MiB write all-or-nothing). `summary.json` then says the run did not
/// complete.
struct Lines {
    file: File,
    buf: Vec<u8>,
}

impl Lines {
    /// After each complete line.
    fn end_line(&mut self) -> io::Result<()> {
        if self.buf.len() >= BUFFER {
            self.file.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.file.write_all(&self.buf)?;
        self.buf.clear();
        self.file.flush()
    }
}

impl Write for Lines {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn create(path: &Path) -> io::Result<Lines> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    Ok(Lines { file: File::create(path)?, buf: Vec::with_capacity(BUFFER + (BUFFER >> 2)) })
}

fn cell(v: &[u8]) -> io::Result<Json> {
    to_json(v).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// One JSON object per line: `pandas.read_json(path, lines=True)`.
pub struct JsonlWriter {
    out: Lines,
    keys: Vec<String>,
    path: PathBuf,
    /// The text of values written before, for values that repeat from record to record.
    texts: TextCache,
}

impl JsonlWriter {
    pub fn create(path: &Path, model: &Model) -> io::Result<Self> {
        Ok(Self { out: create(path)?, keys: json_keys(model), path: path.to_path_buf(), texts: TextCache::default() })
    }
}

impl RecordWriter for JsonlWriter {
    fn write_job(&mut self, job: &JobId, records: &PackedRecords) -> io::Result<()> {
        for r in records.iter() {
            write_record_json_cached(&mut self.out.buf, &self.keys, job, r, Some(&mut self.texts))?;
            self.out.buf.push(b'\n');
            self.out.end_line()?;
        }
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()> {
        self.out.finish()
    }
    fn path(&self) -> &Path {
        &self.path
    }
}

/// Comma-separated with a header row; nested values are written as JSON text.
pub struct CsvWriter {
    out: Lines,
    path: PathBuf,
}

impl CsvWriter {
    pub fn create(path: &Path, model: &Model) -> io::Result<Self> {
        let mut out = create(path)?;
        let header: Vec<String> =
            model.vars.iter().map(|v| csv_field(&v.name)).chain(BOOKKEEPING.iter().map(|s| s.to_string())).collect();
        writeln!(out, "{}", header.join(","))?;
        out.end_line()?;
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
    fn write_job(&mut self, job: &JobId, records: &PackedRecords) -> io::Result<()> {
        for r in records.iter() {
            for v in r.vals() {
                let text = match cell(v)? {
                    Json::String(s) => s,
                    Json::Null => String::new(),
                    other => other.to_string(),
                };
                write!(self.out, "{},", csv_field(&text))?;
            }
            writeln!(self.out, "{},{},{},{},{}", job.simulation, job.subset, job.run, r.substep, r.timestep)?;
            self.out.end_line()?;
        }
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()> {
        self.out.finish()
    }
    fn path(&self) -> &Path {
        &self.path
    }
}
