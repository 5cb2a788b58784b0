//! `ref4_list_signals`: list-valued signals, concatenated in policy order by the engine.

use crate::add;
use distroduce_sdk::{policy, state_update};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct Timestep {
    timestep: i64,
}

#[derive(Deserialize)]
pub struct Log {
    log: Vec<String>,
}

#[derive(Deserialize)]
pub struct Count {
    count: i64,
}

/// Signals of block 1; the key order is the Python dict's.
#[derive(Serialize)]
pub struct EventsN {
    events: Vec<String>,
    n: i64,
}

#[derive(Serialize, Deserialize)]
pub struct Events {
    events: Vec<String>,
}

#[derive(Deserialize)]
pub struct N {
    n: i64,
}

/// `<ts>` is the timestep of the record read, i.e. t - 1 in block 1.
#[policy]
pub fn p_first(state: &Timestep) -> EventsN {
    EventsN { events: vec![format!("first@{}", state.timestep)], n: 1 }
}

#[policy]
pub fn p_second(state: &Timestep) -> EventsN {
    EventsN { events: vec![format!("second@{}", state.timestep)], n: 2 }
}

#[policy]
pub fn p_third() -> Events {
    Events { events: vec!["third".to_string()] }
}

#[state_update]
pub fn s_log(state: &Log, signals: &Events) -> Vec<String> {
    state.log.iter().chain(&signals.events).cloned().collect()
}

#[state_update]
pub fn s_count(state: &Count, signals: &N) -> Result<i64, String> {
    add(state.count, signals.n)
}
