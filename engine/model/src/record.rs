//! Records: the rows a run writes, one per block per timestep plus each job's initial row, and
//! their JSON form (the same bytes in records.jsonl and on a `records_topic`).

use crate::plan::{JobId, Model};
use crate::value::json::to_json;
use crate::value::Val;
use serde_json::Value as Json;
use std::io::{self, Write};

/// One output row: the state variables (in declaration order) and the row's bookkeeping; the job's
/// identity supplies `simulation, subset, run`.
#[derive(Debug, Clone)]
pub struct Record {
    pub substep: u32,
    pub timestep: u64,
    pub vals: Vec<Val>,
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

/// Write one record as a JSON object: state variables (their JSON-quoted names in `keys`), then the
/// bookkeeping fields, with Python's separators.
pub fn write_record_json<W: Write>(out: &mut W, keys: &[String], job: &JobId, r: &Record) -> io::Result<()> {
    out.write_all(b"{")?;
    for (i, (k, v)) in keys.iter().zip(&r.vals).enumerate() {
        if i > 0 {
            out.write_all(b", ")?;
        }
        write!(out, "{k}: ")?;
        write_py_json(out, &to_json(v).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?)?;
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
    // A string always encodes; `Json::from` cannot fail where `to_string` returns a Result.
    model.vars.iter().map(|v| Json::from(v.name.as_str()).to_string()).collect()
}
