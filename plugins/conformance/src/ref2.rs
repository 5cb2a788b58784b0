//! `ref2_param_sweep`: which parameter set each subset is bound to.

use crate::{add, mul};
use distroduce_sdk::{policy, state_update};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct Alpha {
    alpha: i64,
}

#[derive(Deserialize)]
pub struct Beta {
    beta: i64,
}

#[derive(Deserialize)]
pub struct AlphaBeta {
    alpha: i64,
    beta: i64,
}

#[derive(Deserialize)]
pub struct X {
    x: i64,
}

#[derive(Deserialize)]
pub struct Y {
    y: i64,
}

#[derive(Serialize, Deserialize)]
pub struct Step {
    step: i64,
}

#[policy]
pub fn p_step(params: &Alpha) -> Step {
    Step { step: params.alpha }
}

#[state_update]
pub fn s_x(state: &X, signals: &Step) -> Result<i64, String> {
    add(state.x, signals.step)
}

#[state_update]
pub fn s_y(state: &Y, params: &Beta) -> Result<i64, String> {
    add(state.y, params.beta)
}

/// `100 * alpha + beta`: records which parameter set the subset was bound to.
#[state_update]
pub fn s_tag(params: &AlphaBeta) -> Result<i64, String> {
    add(mul(100, params.alpha)?, params.beta)
}
