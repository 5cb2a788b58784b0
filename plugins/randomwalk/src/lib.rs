//! Asset prices as geometric random walks, for a scenario that sweeps `drift` and `volatility`
//! and runs seeded Monte Carlo replicas of each parameter set.
//!
//! One block per timestep:
//! * policy `walk` moves every asset of `state.prices` by
//!   `p · exp((drift − volatility²/2)·dt + volatility·√dt·z)` with `z ~ N(0, 1)` drawn from the
//!   call's seeded stream, publishes a tick per asset to the topic alias `prices` (keyed by the
//!   asset id) and signals the new prices as `prices`;
//! * state update `s_prices` stores them;
//! * state update `s_crossings` adds the number of assets whose price crossed `threshold`
//!   (either way) during the step.
//!
//! Params: `drift`, `volatility` (per unit of time), `dt` (time per timestep), `threshold`.
//! State: `prices` (map of asset id to price; written back with sorted keys) and `crossings`.

use distroduce_sdk::{policy, state_update, Ctx};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The topic alias ticks are published to.
pub const TOPIC: &str = "prices";

pub type Prices = BTreeMap<String, f64>;

#[derive(Debug, Deserialize)]
pub struct WalkParams {
    pub drift: f64,
    pub volatility: f64,
    pub dt: f64,
}

/// The state, kept typed in the guest by the in-guest loop (ABI.md §11).
#[distroduce_sdk::state]
#[derive(Debug)]
pub struct State {
    pub prices: Prices,
    pub crossings: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Moves {
    pub prices: Prices,
}

/// One published price tick.
#[derive(Debug, Serialize)]
pub struct Tick<'a> {
    pub asset: &'a str,
    pub subset: u64,
    pub run: u64,
    pub timestep: u64,
    pub price: f64,
    pub log_return: f64,
}

/// Moves every asset one step; assets are visited in id order, so each one's draw is fixed by
/// the call's seed and the asset set.
#[policy]
pub fn walk(ctx: &Ctx, params: &WalkParams, state: &State) -> Result<Moves, String> {
    let WalkParams { drift, volatility, dt } = *params;
    if !(volatility >= 0.0 && dt > 0.0 && drift.is_finite() && volatility.is_finite() && dt.is_finite()) {
        return Err(format!("need finite drift, volatility >= 0 and dt > 0; got {params:?}"));
    }
    let mut prices = Prices::new();
    for (asset, &price) in &state.prices {
        if !(price > 0.0 && price.is_finite()) {
            return Err(format!("price of `{asset}` must be positive and finite, got {price}"));
        }
        let log_return = (drift - volatility * volatility / 2.0) * dt + volatility * dt.sqrt() * ctx.normal(0.0, 1.0);
        let next = price * log_return.exp();
        let tick = Tick { asset, subset: ctx.subset, run: ctx.run, timestep: ctx.timestep, price: next, log_return };
        ctx.emit(TOPIC, Some(asset), &tick);
        prices.insert(asset.clone(), next);
    }
    Ok(Moves { prices })
}

#[state_update]
pub fn s_prices(signals: &Moves) -> Prices {
    signals.prices.clone()
}

#[derive(Debug, Deserialize)]
pub struct Threshold {
    pub threshold: f64,
}

/// Counts the assets that ended the step on the other side of `threshold` (at or above it
/// counts as above).
#[state_update]
pub fn s_crossings(params: &Threshold, state: &State, signals: &Moves) -> Result<i64, String> {
    let above = |p: f64| p >= params.threshold;
    let crossed = signals
        .prices
        .iter()
        .filter(|(asset, &next)| state.prices.get(*asset).is_some_and(|&prev| above(prev) != above(next)))
        .count();
    state.crossings.checked_add(crossed as i64).ok_or_else(|| "crossings overflow".to_string())
}

distroduce_sdk::native_table!(state = State; walk, s_prices, s_crossings);

#[cfg(test)]
mod tests {
    use super::*;
    use distroduce_sdk::native::{invoke, TestHost};
    use distroduce_sdk::Value;

    fn input(seed: u64, volatility: f64) -> Value {
        let f = Value::Float;
        let ctx = [("simulation", 0), ("subset", 0), ("run", 1), ("timestep", 1), ("substep", 1), ("time_ns", 0)];
        let mut ctx: Vec<(String, Value)> = ctx.iter().map(|(k, v)| (k.to_string(), Value::Int(*v))).collect();
        ctx.push(("seed".into(), Value::Int(seed as i64)));
        let params =
            vec![("drift".into(), f(0.05)), ("volatility".into(), f(volatility)), ("dt".into(), f(1.0 / 252.0))];
        let prices = Value::Map(vec![("A".into(), f(100.0)), ("B".into(), f(50.0))]);
        Value::Map(vec![
            ("ctx".into(), Value::Map(ctx)),
            ("params".into(), Value::Map(params)),
            ("state".into(), Value::Map(vec![("prices".into(), prices), ("crossings".into(), Value::Int(0))])),
        ])
    }

    #[test]
    fn walk_is_seeded_and_emits_one_tick_per_asset() {
        let run = |seed| {
            let mut host = TestHost::new(seed, 0);
            let out: Moves = invoke(__distroduce_native_walk, &input(seed, 0.2), &mut host).unwrap();
            (out.prices, host.emitted.len())
        };
        let (a, ticks) = run(1);
        assert_eq!(ticks, 2);
        assert_eq!(a, run(1).0, "same seed, same walk");
        assert_ne!(a, run(2).0, "another seed, another walk");
        assert!(a.values().all(|p| *p > 0.0));
        // Without volatility the walk is the deterministic drift.
        let mut host = TestHost::new(1, 0);
        let out: Moves = invoke(__distroduce_native_walk, &input(1, 0.0), &mut host).unwrap();
        assert!((out.prices["A"] - 100.0 * (0.05f64 / 252.0).exp()).abs() < 1e-9);
    }

    #[test]
    fn bad_params_fail_instead_of_producing_nan() {
        let mut host = TestHost::new(1, 0);
        let err = invoke::<_, Moves>(__distroduce_native_walk, &input(1, -1.0), &mut host).unwrap_err();
        assert!(err.contains("volatility"), "{err}");
    }
}
