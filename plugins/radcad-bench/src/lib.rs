//! radCAD's benchmark model (`tests/test_cases/benchmark_model.py` in CADLabs/radCAD), the model
//! radCAD and cadCAD are timed on; `scenarios/bench/radcad.yaml` wires it, and
//! `benches/radcad/benchmark_model.py` is the same model for radCAD 0.14 and cadCAD 0.5.3.
//!
//! State `a = 1.0`, `b = 2.0`; params `a: [1, 2]`, `b: [1]`. Two blocks per timestep:
//! * block 1, no policies: `a ← a · |cos(a)|` ([`update_a`]);
//! * block 2, five uses of [`p_step`], each signalling `step_size = 1` (aggregated with `+`: 5):
//!   `b ← b + step_size · params.a` ([`update_b`]).
//!
//! Types follow Python's: `a`, `b` are floats, `params.a` and `step_size` integers, so
//! `step_size · params.a` is an exact integer added to a float, as in Python.

use distroduce_sdk::{policy, state_update};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct StateA {
    a: f64,
}

#[derive(Deserialize)]
pub struct StateB {
    b: f64,
}

#[derive(Deserialize)]
pub struct ParamA {
    a: i64,
}

#[derive(Serialize, Deserialize)]
pub struct Step {
    step_size: i64,
}

/// `a ← a · |cos(a)|`.
#[state_update]
pub fn update_a(state: &StateA) -> f64 {
    state.a * state.a.cos().abs()
}

/// `{step_size: 1}`.
#[policy]
pub fn p_step() -> Step {
    Step { step_size: 1 }
}

/// `b ← b + step_size · params.a`, failing where Python's unbounded integer product would leave
/// the 64-bit range.
#[state_update]
pub fn update_b(state: &StateB, params: &ParamA, signals: &Step) -> Result<f64, String> {
    let step = signals
        .step_size
        .checked_mul(params.a)
        .ok_or_else(|| format!("{} * {} overflows a 64-bit integer", signals.step_size, params.a))?;
    Ok(state.b + step as f64)
}

distroduce_sdk::native_table!(update_a, p_step, update_b);

#[cfg(test)]
mod tests {
    use super::*;
    use distroduce_sdk::native::{invoke, TestHost};
    use distroduce_sdk::Value;

    fn input(state: Vec<(&str, Value)>, signals: Vec<(&str, Value)>) -> Value {
        let map = |m: Vec<(&str, Value)>| Value::Map(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
        map(vec![
            ("ctx", map(vec![("run", Value::Int(1)), ("timestep", Value::Int(1)), ("substep", Value::Int(1))])),
            ("params", map(vec![("a", Value::Int(2)), ("b", Value::Int(1))])),
            ("state", map(state)),
            ("signals", map(signals)),
        ])
    }

    #[test]
    fn one_timestep_as_in_python() {
        let mut host = TestHost::new(0, 0);
        // Python: 1.0 * abs(math.cos(1.0)) == 0.5403023058681398
        let a: f64 =
            invoke(__distroduce_native_update_a, &input(vec![("a", Value::Float(1.0))], vec![]), &mut host).unwrap();
        assert_eq!(a, 0.5403023058681398);
        let step: Step = invoke(__distroduce_native_p_step, &input(vec![], vec![]), &mut host).unwrap();
        assert_eq!(step.step_size, 1);
        let five = vec![("step_size", Value::Int(5))];
        let b: f64 =
            invoke(__distroduce_native_update_b, &input(vec![("b", Value::Float(2.0))], five), &mut host).unwrap();
        assert_eq!(b, 12.0);
    }
}
