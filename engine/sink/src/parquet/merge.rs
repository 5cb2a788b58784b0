//! `engine merge` of the shards' `records.parquet`: every shard's file lists its jobs in output
//! order, so the shards are read side by side and the rows of the next job in output order go to
//! a [`ParquetWriter`], job after job. The writer sees the rows of a local run in the same order,
//! chooses the same column types, and writes the same bytes. Shards are streamed a batch at a
//! time: memory does not grow with the number of rows.

use super::columns::{META_DECLARED, META_ENCODING};
use super::{Cell, ParquetWriter};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use distroduce_model::output::RecordWriter;
use distroduce_model::types::TypeName;
use distroduce_model::value::{write_int, write_num, write_str, Num};
use distroduce_model::BOOKKEEPING;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Why the shards' Parquet files could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeParquetError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: {what}", path.display())]
    Shape { path: PathBuf, what: String },
}

#[derive(Debug, Clone, Copy)]
enum Col {
    Int,
    Float,
    Str,
    Bool,
    Json,
}

/// (simulation, subset, run).
pub type JobKey = [u64; 3];

struct Shard {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    batch: Option<RecordBatch>,
    row: usize,
    cols: Vec<Col>,
}

fn shape(path: &Path, what: impl Into<String>) -> MergeParquetError {
    MergeParquetError::Shape { path: path.to_path_buf(), what: what.into() }
}

impl Shard {
    /// Open a shard's file; also returns its state variables (name, declared type).
    fn open(path: &Path) -> Result<(Self, Vec<(String, TypeName)>), MergeParquetError> {
        let io_err = |source| MergeParquetError::Io { path: path.to_path_buf(), source };
        let file = File::open(path).map_err(io_err)?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| shape(path, format!("not a readable Parquet file ({e}); was the shard killed?")))?;
        let schema = builder.schema().clone();
        let fields = schema.fields();
        let n_state = fields.len().checked_sub(BOOKKEEPING.len()).ok_or_else(|| shape(path, "too few columns"))?;
        for (f, name) in fields[n_state..].iter().zip(BOOKKEEPING) {
            if f.name() != name || f.data_type() != &DataType::Int64 {
                return Err(shape(path, format!("column `{}` where int64 `{name}` was expected", f.name())));
            }
        }
        let mut vars = Vec::new();
        let mut cols = Vec::new();
        for f in &fields[..n_state] {
            let declared = f
                .metadata()
                .get(META_DECLARED)
                .and_then(|t| serde_json::from_value::<TypeName>(serde_json::Value::from(t.as_str())).ok())
                .ok_or_else(|| {
                    shape(path, format!("column `{}` has no `{META_DECLARED}`: not written by distroduce", f.name()))
                })?;
            let json = f.metadata().get(META_ENCODING).is_some_and(|e| e == "json");
            cols.push(match f.data_type() {
                DataType::Utf8 if json => Col::Json,
                DataType::Utf8 => Col::Str,
                DataType::Int64 => Col::Int,
                DataType::Float64 => Col::Float,
                DataType::Boolean => Col::Bool,
                other => return Err(shape(path, format!("column `{}` has type {other}", f.name()))),
            });
            vars.push((f.name().clone(), declared));
        }
        let reader = builder.build().map_err(|e| shape(path, e.to_string()))?;
        Ok((Self { path: path.to_path_buf(), reader, batch: None, row: 0, cols }, vars))
    }

    /// The job of the next row, loading the next batch when needed; None at the end.
    fn peek(&mut self) -> Result<Option<JobKey>, MergeParquetError> {
        while self.batch.as_ref().is_none_or(|b| self.row >= b.num_rows()) {
            match self.reader.next() {
                Some(b) => {
                    self.batch = Some(b.map_err(|e| shape(&self.path, e.to_string()))?);
                    self.row = 0;
                }
                None => return Ok(None),
            }
        }
        let k = self.keys()?;
        Ok(Some([k[0], k[1], k[2]]))
    }

    fn keys(&self) -> Result<[u64; 5], MergeParquetError> {
        let b = self.batch.as_ref().ok_or_else(|| shape(&self.path, "no batch"))?;
        let n_state = self.cols.len();
        let mut k = [0u64; 5];
        for (i, x) in k.iter_mut().enumerate() {
            let column = b.column(n_state + i);
            if column.is_null(self.row) {
                return Err(shape(&self.path, format!("a null `{}` in row {}", BOOKKEEPING[i], self.row)));
            }
            let v = column.as_primitive::<Int64Type>().value(self.row);
            *x = u64::try_from(v).map_err(|_| shape(&self.path, format!("negative `{}`", BOOKKEEPING[i])))?;
        }
        Ok(k)
    }

    /// Hand the current row to `out` and move on.
    fn copy_row(&mut self, out: &mut ParquetWriter, scratch: &mut [Vec<u8>]) -> Result<(), MergeParquetError> {
        let keys = self.keys()?;
        let b = self.batch.as_ref().ok_or_else(|| shape(&self.path, "no batch"))?;
        let r = self.row;
        for ((col, s), a) in self.cols.iter().zip(scratch.iter_mut()).zip(b.columns()) {
            s.clear();
            if a.is_null(r) {
                s.push(0xc0);
                continue;
            }
            match col {
                Col::Int => write_int(s, a.as_primitive::<Int64Type>().value(r)),
                Col::Float => write_num(s, Num::Float(a.as_primitive::<Float64Type>().value(r))),
                Col::Bool => s.push(if a.as_boolean().value(r) { 0xc3 } else { 0xc2 }),
                Col::Str => write_str(s, a.as_string::<i32>().value(r)),
                Col::Json => {}
            }
        }
        let cells: Vec<Cell<'_>> = self
            .cols
            .iter()
            .zip(scratch.iter())
            .zip(b.columns())
            .map(|((col, s), a)| match col {
                Col::Json if !a.is_null(r) => Cell::Json(a.as_string::<i32>().value(r)),
                _ => Cell::Value(s),
            })
            .collect();
        // JSON text is copied as it is: it must be JSON, as the writer made it.
        for cell in &cells {
            if let Cell::Json(text) = cell {
                serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| {
                    shape(&self.path, format!("a JSON column holds `{text:.40}`, which is not JSON: {e}"))
                })?;
            }
        }
        out.push_row(&keys, cells.iter().copied())
            .map_err(|source| MergeParquetError::Io { path: out.path().to_path_buf(), source })?;
        self.row += 1;
        Ok(())
    }
}

/// Merge the shards' files `inputs` into `out`, jobs sorted by `order(simulation, subset, run)`.
pub fn merge_shards(inputs: &[PathBuf], out: &Path, order: impl Fn(JobKey) -> JobKey) -> Result<(), MergeParquetError> {
    let mut shards = Vec::new();
    let mut vars: Option<Vec<(String, TypeName)>> = None;
    for p in inputs {
        let (s, v) = Shard::open(p)?;
        match &vars {
            Some(first) if *first != v => {
                return Err(shape(p, format!("its state columns differ from those of {}", inputs[0].display())))
            }
            Some(_) => {}
            None => vars = Some(v),
        }
        shards.push(s);
    }
    let vars = vars.unwrap_or_default();
    let mut scratch = vec![Vec::new(); vars.len()];
    let io_err = |source| MergeParquetError::Io { path: out.to_path_buf(), source };
    let mut w = ParquetWriter::with_vars(out, vars).map_err(io_err)?;
    let mut heads: Vec<Option<JobKey>> = shards.iter_mut().map(Shard::peek).collect::<Result<_, _>>()?;
    while let Some(i) = (0..shards.len()).filter(|i| heads[*i].is_some()).min_by_key(|i| heads[*i].map(&order)) {
        let job = heads[i];
        while heads[i] == job {
            shards[i].copy_row(&mut w, &mut scratch)?;
            heads[i] = shards[i].peek()?;
        }
        // A shard writes its jobs in output order, each once: a job that comes back, or one that
        // sorts before the job just copied, would be interleaved into the merged file.
        if let (Some(next), Some(done)) = (heads[i], job) {
            if order(next) <= order(done) {
                return Err(shape(
                    &shards[i].path,
                    format!("job {next:?} (simulation, subset, run) comes after job {done:?}: not in output order"),
                ));
            }
        }
    }
    w.finish().map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use distroduce_model::value::json::from_json;
    use serde_json::{json, Value as Json};

    type Rows = Vec<([u64; 5], Vec<Vec<u8>>)>;

    fn write(path: &Path, vars: &[(String, TypeName)], rows: &[&([u64; 5], Vec<Vec<u8>>)]) {
        let mut w = ParquetWriter::with_vars(path, vars.to_vec()).unwrap();
        for (k, cells) in rows {
            w.push_row(k, cells.iter().map(|c| Cell::Value(c))).unwrap();
        }
        w.finish().unwrap();
    }

    /// Shards whose own column types differ from the whole run's (ints in one shard, floats in the
    /// other; a u64 past i64 in one job; a shard with no rows) still merge into the bytes of the
    /// file written in one go, JSON text included.
    #[test]
    fn merged_shards_are_the_bytes_of_one_file_whatever_each_shard_chose() {
        use TypeName::*;
        let vars: Vec<(String, TypeName)> =
            [("i", Int), ("f", Float), ("n", Number), ("s", Str), ("b", Bool), ("a", Any), ("big", Int), ("x", Number)]
                .iter()
                .map(|(n, t)| (n.to_string(), *t))
                .collect();
        let mut rows: Rows = Vec::new();
        for (j, job) in [[0, 0, 1], [0, 0, 2], [0, 1, 1], [0, 1, 2]].iter().enumerate() {
            for t in 0..3u64 {
                let odd = j % 2 == 1;
                let vals: [Json; 8] = [
                    json!(j as i64 * 10 + t as i64),
                    if odd { json!(0.1 + t as f64) } else { json!(t) },
                    if odd { json!(0.1 + 0.2) } else { json!(t) },
                    json!(format!("s{t}")),
                    json!(t % 2 == 0),
                    if t == 1 { json!(null) } else { json!({"k": [t, "v"]}) },
                    if j == 3 && t == 2 { json!(u64::MAX) } else { json!(-1) },
                    json!(t as f64 / 3.0),
                ];
                let mut cells: Vec<Vec<u8>> = vals.iter().map(from_json).collect();
                if t == 2 {
                    cells[7] = vec![0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]; // NaN
                }
                rows.push(([job[0], job[1], job[2], 1, t], cells));
            }
        }
        let dir = std::env::temp_dir().join(format!("distroduce-parquet-merge-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = |n: &str| dir.join(n).join("records.parquet");
        write(&p("local"), &vars, &rows.iter().collect::<Vec<_>>());
        let shard =
            |odd: bool| rows.iter().filter(|(k, _)| (k[1] * 2 + k[2] - 1) % 2 == odd as u64).collect::<Vec<_>>();
        write(&p("s0"), &vars, &shard(false));
        write(&p("s1"), &vars, &shard(true));
        write(&p("s2"), &vars, &[]);
        merge_shards(&[p("s1"), p("s2"), p("s0")], &p("merged"), |k| k).unwrap();
        let local = std::fs::read(p("local")).unwrap();
        assert!(std::fs::read(p("merged")).unwrap() == local, "merged bytes differ from the whole file");
        assert!(std::fs::read(p("s0")).unwrap() != local);
        assert!(!dir.join("merged/records.parquet.spill").exists());
        // A shard whose jobs go back in output order is refused, not interleaved.
        let backwards: Vec<_> = shard(false).into_iter().rev().collect();
        write(&p("back"), &vars, &backwards);
        let e = merge_shards(&[p("back"), p("s1")], &p("refused"), |k| k).unwrap_err().to_string();
        assert!(e.contains("not in output order"), "{e}");
        // JSON columns are copied as text: text that is not JSON is refused.
        let mut bad = ParquetWriter::with_vars(&p("badjson"), vec![("a".to_string(), Any)]).unwrap();
        bad.push_row(&[0, 0, 1, 0, 0], [Cell::Json("{\"k\": [1,")].into_iter()).unwrap();
        bad.finish().unwrap();
        let e = merge_shards(&[p("badjson")], &p("refused2"), |k| k).unwrap_err().to_string();
        assert!(e.contains("which is not JSON"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
