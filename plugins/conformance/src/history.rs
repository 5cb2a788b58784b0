//! cadCAD's `state_history` (the "ref3" probes of the semantics notes): during timestep t a function
//! sees the records of the completed timesteps only, `sH[0] = [initial record]`, so `len(sH) == t`.

use distroduce_sdk::{policy, state_update};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct Rec {
    pub x: i64,
    pub timestep: u64,
    pub substep: u64,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
pub struct Seen {
    /// Number of completed timesteps sent (`len(sH)`).
    pub hist_len: i64,
    /// Records in the newest completed timestep.
    pub last_len: i64,
    /// `x` of the newest record in the history (the previous timestep's last block).
    pub prev_x: i64,
    /// Its timestep and substep.
    pub prev_ts: i64,
    pub prev_sub: i64,
}

/// Reports what the history holds.
#[policy]
pub fn p_history(history: &[Vec<Rec>]) -> Seen {
    let last = history.last().and_then(|ts| ts.last());
    Seen {
        hist_len: history.len() as i64,
        last_len: history.last().map_or(0, |ts| ts.len() as i64),
        prev_x: last.map_or(-1, |r| r.x),
        prev_ts: last.map_or(-1, |r| r.timestep as i64),
        prev_sub: last.map_or(-1, |r| r.substep as i64),
    }
}

#[derive(Deserialize)]
pub struct X {
    pub x: i64,
}

/// `x <- x + 1`, so each record is distinguishable in the history.
#[state_update]
pub fn s_inc_x(state: &X) -> Result<i64, String> {
    super::add(state.x, 1)
}

/// Stores what `p_history` saw.
#[state_update]
pub fn s_seen(signals: &Seen) -> Seen {
    *signals
}

#[derive(Deserialize)]
pub struct Stamp {
    pub substep: i64,
    pub timestep: i64,
}

/// What the previous record's bookkeeping says (`previous_state['substep']`, `['timestep']`).
#[policy]
pub fn p_prev_stamp(state: &Stamp) -> std::collections::BTreeMap<String, i64> {
    [("prev_sub".to_string(), state.substep), ("prev_ts".to_string(), state.timestep)].into_iter().collect()
}

/// Stores the stamp `p_prev_stamp` saw.
#[state_update]
pub fn s_prev_stamp(signals: &std::collections::BTreeMap<String, i64>) -> std::collections::BTreeMap<String, i64> {
    signals.clone()
}
