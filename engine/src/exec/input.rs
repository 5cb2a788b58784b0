//! Encoding of plugin call inputs (ABI.md §3). A block's shared part (params, state, history,
//! signals) is encoded once and reused by every call of the block; only the small per-call tail
//! (`ctx`, `args`) is encoded per call.

use crate::model::{JobId, Model};
use crate::value::{write_int, write_map_len, write_str, write_uint, Val};

/// Pre-encoded map keys of the state variables, built once per run.
pub struct Keys {
    pub vars: Vec<Vec<u8>>,
}

impl Keys {
    pub fn new(model: &Model) -> Self {
        let vars = model
            .vars
            .iter()
            .map(|v| {
                let mut b = Vec::new();
                write_str(&mut b, &v.name);
                b
            })
            .collect();
        Self { vars }
    }
}

/// The bookkeeping of a record.
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    pub substep: u32,
    pub timestep: u64,
}

/// Encode a record (state variables plus bookkeeping) as a map.
pub fn encode_record(out: &mut Vec<u8>, keys: &Keys, vals: &[Val], job: &JobId, stamp: Stamp) {
    write_map_len(out, vals.len() + 5);
    for (k, v) in keys.vars.iter().zip(vals) {
        out.extend_from_slice(k);
        out.extend_from_slice(v);
    }
    for (k, v) in [
        ("simulation", job.simulation as u64),
        ("subset", job.subset as u64),
        ("run", job.run as u64),
        ("substep", stamp.substep as u64),
        ("timestep", stamp.timestep),
    ] {
        write_str(out, k);
        write_uint(out, v);
    }
}

/// The per-call `ctx` map, as a `ctx` entry of the input map.
#[allow(clippy::too_many_arguments)]
pub fn encode_ctx(
    out: &mut Vec<u8>,
    job: &JobId,
    timestep: u64,
    substep: u32,
    seed: u64,
    time_ns: i64,
    variable: Option<&str>,
) {
    write_str(out, "ctx");
    write_map_len(out, 7 + variable.is_some() as usize);
    for (k, v) in [
        ("simulation", job.simulation as u64),
        ("subset", job.subset as u64),
        ("run", job.run as u64),
        ("timestep", timestep),
        ("substep", substep as u64),
        ("seed", seed),
    ] {
        write_str(out, k);
        write_uint(out, v);
    }
    write_str(out, "time_ns");
    write_int(out, time_ns);
    if let Some(v) = variable {
        write_str(out, "variable");
        write_str(out, v);
    }
}
