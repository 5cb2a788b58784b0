//! {{name}}: a counter that moves up by a random step (1..=max_step) every timestep.
//!
//! Each function is one annotated Rust function; its parameters are picked by name (`ctx`,
//! `params`, `state`, `signals`, `args`, `history`) and decoded with serde, and its return value
//! is encoded back. See the distroduce-sdk docs and plugin-sdk/ABI.md.

use distroduce_sdk::{policy, state_update, Ctx};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
pub struct Params {
    pub max_step: u64,
}

#[derive(Debug, Deserialize)]
pub struct State {
    pub counter: i64,
}

/// The policy's signal.
#[derive(Debug, Serialize, Deserialize)]
pub struct Step {
    pub step: i64,
}

/// Draws a step from this call's seeded random stream and publishes it to the `steps` topic.
#[policy]
pub fn step(ctx: &Ctx, params: &Params) -> Result<Step, String> {
    let step = draw(ctx.rng_u64(), params.max_step)?;
    ctx.emit("steps", None, &Step { step });
    Ok(Step { step })
}

/// The new counter: the old one plus the step.
#[state_update]
pub fn add_step(state: &State, signals: &Step) -> Result<i64, String> {
    state.counter.checked_add(signals.step).ok_or_else(|| "counter overflows".to_string())
}

/// A step in 1..=max_step from 64 random bits.
pub fn draw(bits: u64, max_step: u64) -> Result<i64, String> {
    if max_step == 0 {
        return Err("params.max_step must be at least 1".into());
    }
    Ok(1 + (bits % max_step) as i64)
}

distroduce_sdk::native_table!(step, add_step);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_stay_in_range() {
        for bits in [0, 1, 2, 3, u64::MAX] {
            let s = draw(bits, 3).unwrap();
            assert!((1..=3).contains(&s), "{s}");
        }
        assert!(draw(5, 0).is_err());
    }
}
