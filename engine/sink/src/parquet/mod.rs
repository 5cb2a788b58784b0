//! `records.parquet`: the records as Apache Parquet with typed columns, for `pandas.read_parquet`,
//! polars and DuckDB.
//!
//! Columns: the state variables in declaration order, typed by the rule in [`columns`] (ints are
//! `Int64`, floats `Float64`, strings `Utf8`, booleans `Boolean`, everything else JSON text, decided
//! from every value of the column so that none is lost), then `simulation, subset, run, substep,
//! timestep` as non-null `Int64`.
//!
//! A column's type can only be known once all its values have been seen, and a Parquet file has
//! one schema, so the rows are spilled to `records.parquet.spill` as they arrive (the [`cell`]
//! format) and converted at `finish`: [`ROW_GROUP_ROWS`] rows per row group, one row group in
//! memory at a time, so memory stays flat however long the run. The file is written to
//! `records.parquet.tmp` and renamed, so `records.parquet` is always a whole file.
//!
//! Interrupted runs (SIGINT/SIGTERM) still call `finish`: the file holds every record written
//! before the stop, with its footer, and `summary.json` says `completed: false`. A run killed
//! outright (SIGKILL) leaves only the spill, which no Parquet reader opens; `records.jsonl` is the
//! format to use when a run may be killed.
//!
//! The bytes depend only on the records: no timestamps, the writer's version as `created_by`, so
//! the same scenario and seed give the same file whatever the thread count, and `engine merge`
//! writes its shards' rows through this same writer (see [`merge`]) into the bytes of a local run.

mod cell;
pub mod columns;
pub mod merge;

use arrow_array::builder::Int64Builder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema, SchemaRef};
pub use cell::Cell;
use cell::{Bookkeeping, SpillReader, SpillWriter};
use columns::{Builder, Seen};
use distroduce_model::output::RecordWriter;
use distroduce_model::record::{PackedRecords, RecordView};
use distroduce_model::types::TypeName;
use distroduce_model::{JobId, Model, BOOKKEEPING};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows per row group: what is held in memory while the file is written (a few MB for the chat
/// scenario's rows), and the unit readers can skip by.
pub const ROW_GROUP_ROWS: usize = 65_536;

fn parquet_err(e: parquet::errors::ParquetError) -> io::Error {
    io::Error::other(format!("records.parquet: {e}"))
}

/// Writes `records.parquet` (see the module docs).
pub struct ParquetWriter {
    path: PathBuf,
    spill_path: PathBuf,
    spill: Option<SpillWriter>,
    /// Each state variable's name and declared type.
    vars: Vec<(String, TypeName)>,
    seen: Vec<Seen>,
}

impl ParquetWriter {
    pub fn create(path: &Path, model: &Model) -> io::Result<Self> {
        Self::with_vars(path, model.vars.iter().map(|v| (v.name.clone(), v.ty)).collect())
    }

    /// For state variables `(name, declared type)`, without a model (`engine merge`).
    pub fn with_vars(path: &Path, vars: Vec<(String, TypeName)>) -> io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut spill_path = path.as_os_str().to_owned();
        spill_path.push(".spill");
        let spill_path = PathBuf::from(spill_path);
        Ok(Self {
            path: path.to_path_buf(),
            spill: Some(SpillWriter::create(&spill_path)?),
            spill_path,
            seen: vec![Seen::default(); vars.len()],
            vars,
        })
    }

    /// Add one row; the cells in the order of the state variables.
    pub fn push_row<'a>(
        &mut self,
        keys: &Bookkeeping,
        cells: impl Iterator<Item = Cell<'a>> + Clone,
    ) -> io::Result<()> {
        let spill = self.spill.as_mut().ok_or_else(|| io::Error::other("records.parquet is already finished"))?;
        let mut n = 0;
        for (s, c) in self.seen.iter_mut().zip(cells.clone()) {
            s.observe(c);
            n += 1;
        }
        if n != self.vars.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a record has {n} values for {} state variables", self.vars.len()),
            ));
        }
        spill.row(keys, cells)
    }

    fn schema(&self) -> SchemaRef {
        let state = self.vars.iter().zip(&self.seen).map(|((name, ty), s)| columns::field(name, *ty, s.column(*ty)));
        let bookkeeping = BOOKKEEPING.iter().map(|b| Field::new(*b, arrow_schema::DataType::Int64, false));
        Arc::new(Schema::new(state.chain(bookkeeping).collect::<Vec<_>>()))
    }

    fn write_parquet(&mut self, spill: SpillWriter) -> io::Result<()> {
        spill.finish()?;
        let schema = self.schema();
        let kinds: Vec<_> = self.vars.iter().zip(&self.seen).map(|((_, ty), s)| s.column(*ty)).collect();
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut w = ArrowWriter::try_new(File::create(&tmp)?, schema.clone(), Some(props)).map_err(parquet_err)?;
        let mut rows = SpillReader::open(&self.spill_path, self.vars.len())?;
        let mut state: Vec<Builder> = kinds.iter().map(|k| Builder::new(*k)).collect();
        let mut books: Vec<Int64Builder> = (0..BOOKKEEPING.len()).map(|_| Int64Builder::new()).collect();
        let mut n = 0;
        loop {
            let more = match rows.next_row()? {
                Some((keys, cells)) => {
                    for (b, c) in state.iter_mut().zip(cells) {
                        b.push(c)?;
                    }
                    for (b, k) in books.iter_mut().zip(keys) {
                        b.append_value(i64::try_from(k).map_err(|_| io::Error::other("bookkeeping past i64"))?);
                    }
                    n += 1;
                    true
                }
                None => false,
            };
            if n == ROW_GROUP_ROWS || (!more && n > 0) {
                let arrays: Vec<ArrayRef> = state
                    .iter_mut()
                    .map(Builder::finish)
                    .chain(books.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef))
                    .collect();
                let batch =
                    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| io::Error::other(e.to_string()))?;
                w.write(&batch).map_err(parquet_err)?;
                w.flush().map_err(parquet_err)?;
                n = 0;
            }
            if !more {
                break;
            }
        }
        let file = w.into_inner().map_err(parquet_err)?;
        file.sync_data()?;
        drop(file);
        std::fs::rename(&tmp, &self.path)?;
        std::fs::remove_file(&self.spill_path)
    }
}

impl RecordWriter for ParquetWriter {
    fn write_job(&mut self, job: &JobId, records: &PackedRecords) -> io::Result<()> {
        for r in records.iter() {
            let keys = [job.simulation as u64, job.subset as u64, job.run as u64, r.substep as u64, r.timestep];
            self.push_row(&keys, r.vals().map(Cell::Value))?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        match self.spill.take() {
            Some(spill) => self.write_parquet(spill),
            None => Ok(()),
        }
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ParquetWriter {
    /// A run that failed before `finish` leaves no spill behind.
    fn drop(&mut self) {
        if self.spill.take().is_some() {
            let _ = std::fs::remove_file(&self.spill_path);
        }
    }
}
