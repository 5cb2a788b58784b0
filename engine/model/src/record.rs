//! Records: the rows a run writes, one per block per timestep plus each job's initial row, and
//! their JSON form (the same bytes in records.jsonl and on a `records_topic`).

use crate::plan::{JobId, Model};
use crate::value::json_text::{write_json_text, Style};
use crate::value::Val;
use serde_json::ser::{CompactFormatter, Formatter};
use serde_json::Value as Json;
use std::io;

/// One output row: the state variables (in declaration order) and the row's bookkeeping; the job's
/// identity supplies `simulation, subset, run`.
#[derive(Debug, Clone)]
pub struct Record {
    pub substep: u32,
    pub timestep: u64,
    pub vals: Vec<Val>,
}

/// Append one record as a JSON object: state variables (their JSON-quoted names in `keys`), then
/// the bookkeeping fields, with Python's separators. Values go straight from MessagePack to text
/// ([`write_json_text`]); a value that is not valid MessagePack is an `InvalidData` error and
/// leaves `out` as it was.
pub fn write_record_json(out: &mut Vec<u8>, keys: &[String], job: &JobId, r: &Record) -> io::Result<()> {
    let start = out.len();
    out.push(b'{');
    for (i, (k, v)) in keys.iter().zip(&r.vals).enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        if let Err(e) = write_json_text(out, v, Style::Python) {
            out.truncate(start);
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
    }
    if !keys.is_empty() {
        out.extend_from_slice(b", ");
    }
    let fields: [(&[u8], u64); 5] = [
        (b"\"simulation\": ", u64::from(job.simulation)),
        (b", \"subset\": ", u64::from(job.subset)),
        (b", \"run\": ", u64::from(job.run)),
        (b", \"substep\": ", u64::from(r.substep)),
        (b", \"timestep\": ", r.timestep),
    ];
    for (name, n) in fields {
        out.extend_from_slice(name);
        // Writing to a Vec cannot fail.
        let _ = CompactFormatter.write_u64(out, n);
    }
    out.push(b'}');
    Ok(())
}

/// JSON-quoted state variable names, for [`write_record_json`].
pub fn json_keys(model: &Model) -> Vec<String> {
    // A string always encodes; `Json::from` cannot fail where `to_string` returns a Result.
    model.vars.iter().map(|v| Json::from(v.name.as_str()).to_string()).collect()
}
