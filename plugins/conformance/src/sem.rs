//! The tiny models of `benches/cadcad/semantics_fixtures.py`, which pin down where cadCAD 0.5.3 and
//! radCAD 0.14 differ (`benches/cadcad/SEMANTICS.md`). Each function is the Python original with
//! the same name; a state variable records what a policy or state update *saw*.

use crate::add;
use distroduce_sdk::{policy, state_update, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Deserialize)]
pub struct Run {
    run: i64,
}

#[derive(Serialize, Deserialize)]
pub struct SeenRun {
    seen_run: i64,
}

#[derive(Deserialize)]
pub struct K {
    k: i64,
}

#[derive(Deserialize)]
pub struct Score {
    score: i64,
    run: i64,
}

/// `{seen_run: s.run}`
#[policy]
pub fn p_observe_run(state: &Run) -> SeenRun {
    SeenRun { seen_run: state.run }
}

/// `policy_run ← _input.seen_run`
#[state_update]
pub fn s_policy_run(signals: &SeenRun) -> i64 {
    signals.seen_run
}

/// `suf_run ← s.run`
#[state_update]
pub fn s_suf_run(state: &Run) -> i64 {
    state.run
}

/// `score ← score + 10·k + s.run`
#[state_update]
pub fn s_score(state: &Score, params: &K) -> Result<i64, String> {
    add(state.score, add(crate::mul(10, params.k)?, state.run)?)
}

/// Python's `emits(signals)`: a policy returning a copy of its `args`.
#[policy]
pub fn p_emits(args: &BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    args.clone()
}

/// `signals ← _input`, with sorted keys.
#[state_update]
pub fn s_record_signals(signals: &BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    signals.clone()
}

#[derive(Deserialize)]
pub struct Label {
    label: String,
    amount: f64,
}

#[derive(Serialize, Deserialize)]
pub struct Order {
    order: Vec<String>,
}

#[derive(Serialize, Deserialize)]
pub struct Total {
    total: f64,
}

#[derive(Serialize)]
pub struct Labelled {
    order: Vec<String>,
    total: f64,
}

/// Python's `labelled(name, block)`: `{order: ["<name><block>"], total: amount(name)}`, here with
/// the label and the amount as `args`.
#[policy]
pub fn p_labelled(args: &Label) -> Labelled {
    Labelled { order: vec![args.label.clone()], total: args.amount }
}

/// `order ← _input.order`
#[state_update]
pub fn s_order(signals: &Order) -> Vec<String> {
    signals.order.clone()
}

/// `total ← _input.total`
#[state_update]
pub fn s_total(signals: &Total) -> f64 {
    signals.total
}

#[derive(Deserialize)]
pub struct Stamp {
    substep: i64,
    timestep: i64,
}

#[derive(Serialize, Deserialize)]
pub struct Prev {
    prev: Vec<i64>,
}

/// `{prev: [s.substep, s.timestep]}`
#[policy]
pub fn p_observe_prev(state: &Stamp) -> Prev {
    Prev { prev: vec![state.substep, state.timestep] }
}

/// `prev ← _input.prev`
#[state_update]
pub fn s_prev(signals: &Prev) -> Vec<i64> {
    signals.prev.clone()
}
