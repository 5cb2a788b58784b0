//! Encoding of plugin call inputs (ABI.md §3). A block's shared part (params, state, history,
//! signals) is encoded once and reused by every call of the block; only the small per-call tail
//! (`ctx`, `args`) is encoded per call.

use distroduce_model::value::{write_int, write_map_len, write_str, write_uint, Val};
use distroduce_model::{JobId, Model};
use distroduce_plugin_host::FnReads;

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
    write_bookkeeping(out, job, stamp);
}

/// The five bookkeeping entries of a record map.
fn write_bookkeeping(out: &mut Vec<u8>, job: &JobId, stamp: Stamp) {
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

/// The `state` entry of a call's input, holding only what the function reads. Encodings are cached
/// per distinct projection for the duration of one block.
pub struct StateProjector<'a> {
    pub keys: &'a Keys,
    pub job: &'a JobId,
    pub stamp: Stamp,
    pub state: &'a [Val],
    cache: Vec<(Option<Vec<usize>>, bool, Vec<u8>)>,
}

impl<'a> StateProjector<'a> {
    pub fn new(keys: &'a Keys, job: &'a JobId, stamp: Stamp, state: &'a [Val]) -> Self {
        Self { keys, job, stamp, state, cache: Vec::new() }
    }

    pub fn entry(&mut self, reads: &FnReads) -> &[u8] {
        let pos = self.cache.iter().position(|(s, bk, _)| *s == reads.state && *bk == reads.bookkeeping);
        let i = match pos {
            Some(i) => i,
            None => {
                let mut b = Vec::new();
                write_str(&mut b, "state");
                match &reads.state {
                    None => encode_record(&mut b, self.keys, self.state, self.job, self.stamp),
                    Some(vars) => {
                        write_map_len(&mut b, vars.len() + if reads.bookkeeping { 5 } else { 0 });
                        for &v in vars {
                            b.extend_from_slice(&self.keys.vars[v]);
                            b.extend_from_slice(&self.state[v]);
                        }
                        if reads.bookkeeping {
                            write_bookkeeping(&mut b, self.job, self.stamp);
                        }
                    }
                }
                self.cache.push((reads.state.clone(), reads.bookkeeping, b));
                self.cache.len() - 1
            }
        };
        &self.cache[i].2
    }
}

/// The `signals` entry of a state update's input, holding only the signals it reads.
pub struct SignalProjector<'a> {
    full: &'a [u8],
    entries: Vec<(&'a str, &'a [u8])>,
    cache: Vec<(Option<Vec<String>>, Vec<u8>)>,
}

impl<'a> SignalProjector<'a> {
    pub fn new(signals: &'a [u8]) -> Self {
        let entries = distroduce_model::value::map_entries(signals)
            .map(|es| es.into_iter().filter_map(|(k, v)| distroduce_model::value::as_str(k).map(|k| (k, v))).collect())
            .unwrap_or_default();
        Self { full: signals, entries, cache: Vec::new() }
    }

    pub fn entry(&mut self, reads: &FnReads) -> &[u8] {
        let i = match self.cache.iter().position(|(s, _)| *s == reads.signals) {
            Some(i) => i,
            None => {
                let mut b = Vec::new();
                write_str(&mut b, "signals");
                match &reads.signals {
                    None => b.extend_from_slice(self.full),
                    Some(names) => {
                        let picked: Vec<_> =
                            self.entries.iter().filter(|(k, _)| names.iter().any(|n| n == k)).collect();
                        write_map_len(&mut b, picked.len());
                        for (k, v) in picked {
                            write_str(&mut b, k);
                            b.extend_from_slice(v);
                        }
                    }
                }
                self.cache.push((reads.signals.clone(), b));
                self.cache.len() - 1
            }
        };
        &self.cache[i].1
    }
}
