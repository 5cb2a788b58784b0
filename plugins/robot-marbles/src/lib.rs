//! cadCAD's robots-and-marbles tutorial, ported from `scenarios/cadcad/robot_marbles/model.py`
//! function by function (docs/coming-from-cadcad.md walks through it). Two boxes of marbles; robot
//! `n` acts every `robot_n_period` timesteps and moves `robot_n_capacity` marbles from the fuller
//! box to the other. Both robots read the same previous state; their moves add up.
//!
//! cadCAD's two policy closures (`robot_policy(1)`, `robot_policy(2)`) become one policy used
//! twice with `args: {robot: 1}` / `{robot: 2}`; the state updates return the new value instead of
//! a `(name, value)` pair.

use distroduce_sdk::{policy, state_update};
use serde::{Deserialize, Serialize};

/// The previous record: cadCAD's `previous_state` (only what the functions read).
#[derive(Deserialize)]
#[allow(non_snake_case)]
pub struct Boxes {
    box_A: i64,
    box_B: i64,
    timestep: i64,
}

/// cadCAD's `params` of one subset.
#[derive(Deserialize)]
pub struct Params {
    robot_1_period: i64,
    robot_2_period: i64,
    robot_1_capacity: i64,
    robot_2_capacity: i64,
}

/// Which robot this use of the policy is (the scenario's `args`).
#[derive(Deserialize)]
pub struct Robot {
    robot: u8,
}

/// The signals: cadCAD's `policy_input`.
#[derive(Serialize, Deserialize)]
pub struct Move {
    #[serde(rename = "add_to_A")]
    add_to_a: i64,
    #[serde(rename = "add_to_B")]
    add_to_b: i64,
}

/// Marbles a robot adds to box A (negative: taken from A), moving from the fuller box.
fn robot_move(s: &Boxes, capacity: i64) -> Move {
    let to_a = match s.box_B.cmp(&s.box_A) {
        std::cmp::Ordering::Greater => capacity,
        std::cmp::Ordering::Less => -capacity,
        std::cmp::Ordering::Equal => 0,
    };
    Move { add_to_a: to_a, add_to_b: -to_a }
}

/// `p_robot_arm_1` / `p_robot_arm_2`: act every `robot_<n>_period` timesteps.
#[policy]
pub fn robot_arm(state: &Boxes, params: &Params, args: &Robot) -> Move {
    let (period, capacity) = match args.robot {
        1 => (params.robot_1_period, params.robot_1_capacity),
        _ => (params.robot_2_period, params.robot_2_capacity),
    };
    let timestep = state.timestep + 1;
    if period != 0 && timestep % period == 0 {
        robot_move(state, capacity)
    } else {
        Move { add_to_a: 0, add_to_b: 0 }
    }
}

/// `s_box_A`.
#[state_update]
pub fn s_box_a(state: &Boxes, signals: &Move) -> i64 {
    state.box_A + signals.add_to_a
}

/// `s_box_B`.
#[state_update]
pub fn s_box_b(state: &Boxes, signals: &Move) -> i64 {
    state.box_B + signals.add_to_b
}

distroduce_sdk::native_table!(robot_arm, s_box_a, s_box_b);
