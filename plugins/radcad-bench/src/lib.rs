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
//!
//! The state is declared once as a typed struct ([`State`]), and the policy's output as a typed
//! signals struct ([`Step`]): with `native_table!(state = State; ...)` the engine's in-guest loop
//! keeps the state as this struct for the whole job and aggregates the five `Step`s field by
//! field (ABI.md §11), with the records the MessagePack path gives.

use distroduce_sdk::{policy, state_update};
use serde::Deserialize;

/// The model's state, kept typed in the guest.
#[distroduce_sdk::state]
pub struct State {
    a: f64,
    b: f64,
}

#[derive(Deserialize)]
pub struct ParamA {
    a: i64,
}

/// The policy's signals.
#[distroduce_sdk::signals]
pub struct Step {
    step_size: i64,
}

/// `a ← a · |cos(a)|`.
#[state_update]
pub fn update_a(state: &State) -> f64 {
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
pub fn update_b(state: &State, params: &ParamA, signals: &Step) -> Result<f64, String> {
    let (x, y) = (signals.step_size, params.a);
    // On wasm32 `i64::checked_mul` calls a 128-bit multiply (`__multi3`): factors that fit in 32
    // bits cannot overflow, so they take a plain multiply.
    let step = if i32::try_from(x).is_ok() && i32::try_from(y).is_ok() {
        x * y
    } else {
        x.checked_mul(y).ok_or_else(|| format!("{x} * {y} overflows a 64-bit integer"))?
    };
    Ok(state.b + step as f64)
}

distroduce_sdk::native_table!(state = State; update_a, p_step, update_b);

/// The engine's program for this model (ABI.md §10), job 1 of subset 0 with `params.a = 2`: block
/// 1 with cadCAD's identity policy, block 2 with five `p_step`s; `values`: whether the engine
/// reads the values (as today's engine, it reads quiet runs). For native tests and
/// `examples/native_loop.rs`.
#[doc(hidden)]
pub fn program(values: bool) -> Vec<u8> {
    use distroduce_sdk::Value;
    let map = |m: Vec<(&str, Value)>| Value::Map(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
    let bin = |v: Value| Value::Bin(rmp_serde::to_vec_named(&v).unwrap());
    let call = |f: i64, pos: i64| map(vec![("f", Value::Int(f)), ("pos", Value::Int(pos)), ("args", Value::Nil)]);
    let update = |var: i64, f: i64| {
        map(vec![
            ("var", Value::Int(var)),
            ("f", Value::Int(f)),
            ("pos", Value::Int(0x8000_0000)),
            ("args", Value::Nil),
        ])
    };
    let all = map(vec![("state", Value::Nil), ("bookkeeping", Value::Bool(true)), ("signals", Value::Nil)]);
    let p = map(vec![
        ("fns", Value::List(vec!["update_a".into(), "p_step".into(), "update_b".into()])),
        ("reads", Value::List(vec![all.clone(), all.clone(), all])),
        ("vars", Value::List(vec!["a".into(), "b".into()])),
        ("state", Value::List(vec![bin(Value::Float(1.0)), bin(Value::Float(2.0))])),
        ("params", bin(map(vec![("a", Value::Int(2)), ("b", Value::Int(1))]))),
        ("job", Value::List(vec![Value::Int(0), Value::Int(1), Value::Int(1)])),
        ("seed", Value::Int(5)),
        ("zero_lone", Value::Bool(false)),
        ("agg_default", "add".into()),
        ("agg", Value::List(vec![])),
        ("values", Value::Bool(values)),
        ("quiet_runs", Value::Bool(true)),
        (
            "blocks",
            Value::List(vec![
                map(vec![("policies", Value::List(vec![Value::Nil])), ("updates", Value::List(vec![update(0, 0)]))]),
                map(vec![
                    ("policies", Value::List((0..5).map(|i| call(1, i)).collect())),
                    ("updates", Value::List(vec![update(1, 2)])),
                ]),
            ]),
        ),
    ]);
    rmp_serde::to_vec_named(&p).unwrap()
}

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
        let state = || vec![("a", Value::Float(1.0)), ("b", Value::Float(2.0))];
        let a: f64 = invoke(__distroduce_native_update_a, &input(state(), vec![]), &mut host).unwrap();
        assert_eq!(a, 0.5403023058681398);
        let step: Step = invoke(__distroduce_native_p_step, &input(vec![], vec![]), &mut host).unwrap();
        assert_eq!(step.step_size, 1);
        let five = vec![("step_size", Value::Int(5))];
        let b: f64 = invoke(__distroduce_native_update_b, &input(state(), five), &mut host).unwrap();
        assert_eq!(b, 12.0);
    }

    /// `step_size · params.a` on both sides of the 32-bit fast path: exact where Python's product
    /// fits 64 bits, the overflow error where it does not.
    #[test]
    fn the_product_is_exact_up_to_64_bits_and_fails_beyond() {
        let mut host = TestHost::new(0, 0);
        let mut b_with = |step: i64, a: i64| {
            let mut input =
                input(vec![("a", Value::Float(1.0)), ("b", Value::Float(0.0))], vec![("step_size", Value::Int(step))]);
            if let Value::Map(m) = &mut input {
                for (k, v) in m.iter_mut() {
                    if k == "params" {
                        *v = Value::Map(vec![("a".to_string(), Value::Int(a))]);
                    }
                }
            }
            invoke::<_, f64>(__distroduce_native_update_b, &input, &mut host)
        };
        let i32_edges = [i32::MIN as i64, i32::MAX as i64];
        for (x, y) in [
            (5, 2),
            (-7, 3),
            (i32_edges[1], i32_edges[1]),
            (i32_edges[0], i32_edges[0]),
            (5, 1 << 31),
            (1 << 40, 1 << 20),
            (-(1 << 40), 1 << 23),
        ] {
            assert_eq!(b_with(x, y).unwrap(), (x * y) as f64, "{x} * {y}");
        }
        for (x, y) in [(5, i64::MAX), (1 << 32, 1 << 31), (i64::MIN, -1), (-(1 << 40), (1 << 23) + 1)] {
            let e = b_with(x, y).unwrap_err().to_string();
            assert!(e.contains(&format!("{x} * {y} overflows a 64-bit integer")), "{x} * {y}: {e}");
        }
    }

    #[test]
    fn the_typed_loop_runs_the_model_with_the_msgpack_loops_records() {
        let typed_table = typed_functions();
        let mut typed = distroduce_sdk::TypedLoop::<State>::load(&program(true), &typed_table).unwrap();
        assert_eq!(typed.typed_aggregation(), [false, true], "block 2 folds the five `Step`s typed");
        let mut msgpack = distroduce_sdk::fused::Loop::load(&program(true), &fused_functions()).unwrap();
        // The loop the plugin runs in the guest: the functions called through the direct table.
        let mut direct = typed_direct_loop(&program(true)).unwrap();
        let (mut h1, mut h2, mut h3) = (TestHost::new(0, 0), TestHost::new(0, 0), TestHost::new(0, 0));
        for t in 1..=200 {
            assert_eq!(typed.run_timestep(t, 0, &mut h1), 0);
            assert_eq!(msgpack.run_timestep(t, 0, &mut h2), 0);
            assert_eq!(direct.run_timestep(t, 0, &mut h3), 0);
            assert_eq!(typed.output(), msgpack.output(), "timestep {t}");
            assert_eq!(direct.output(), msgpack.output(), "timestep {t}");
        }
        // Python: after timestep 1, a = 0.5403023058681398 and b = 2 + 5 * 2 = 12.
        let mut one = distroduce_sdk::TypedLoop::<State>::load(&program(true), &typed_table).unwrap();
        one.run_timestep(1, 0, &mut h1);
        assert_eq!((one.state().a, one.state().b), (0.5403023058681398, 12.0));
    }
}
