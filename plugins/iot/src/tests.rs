//! Native unit tests: the fleet is threaded through `tick` by hand, as the engine would.

use super::*;
use distroduce_sdk::native::{invoke, TestHost};
use distroduce_sdk::Value;
use serde::Serialize;

/// 2024-06-01T00:00:00Z.
const START_NS: i64 = 1_717_200_000_000_000_000;

#[derive(Serialize)]
struct CtxIn {
    simulation: u64,
    subset: u64,
    run: u64,
    timestep: u64,
    substep: u64,
    seed: u64,
    time_ns: i64,
}

#[derive(Serialize)]
struct StateIn<'a> {
    fleet: &'a Fleet,
}

#[derive(Serialize)]
struct In<'a> {
    ctx: CtxIn,
    params: &'a IotParams,
    state: StateIn<'a>,
}

fn params(devices: u64) -> IotParams {
    IotParams {
        devices,
        interval_min: 5,
        interval_max: 15,
        low_battery_factor: 4,
        overheat_interval: 1,
        battery_init_min: 10.0,
        idle_drain: 0.01,
        tx_cost: 0.05,
        low_battery_pct: 20.0,
        recharge_prob: 0.01,
        ambient_c: 35.0,
        temp_init_sd: 4.0,
        reversion: 0.05,
        temp_noise: 0.3,
        spike_prob: 0.0005,
        spike_c: 30.0,
        overheat_c: 60.0,
        cool_c: 55.0,
    }
}

/// Params under which nothing changes but the reports: no drain, no noise, no spikes.
fn quiet(devices: u64) -> IotParams {
    IotParams { idle_drain: 0.0, tx_cost: 0.0, temp_noise: 0.0, spike_prob: 0.0, recharge_prob: 0.0, ..params(devices) }
}

/// One `tick` at `timestep`, with the engine's clock (`start + timestep × 1s`) and a stream per call.
fn tick_at(p: &IotParams, fleet: &Fleet, timestep: u64, seed: u64) -> (Tick, TestHost) {
    let seed = seed.wrapping_mul(1_000_003).wrapping_add(timestep);
    let time_ns = START_NS + timestep as i64 * 1_000_000_000;
    let mut host = TestHost::new(seed, time_ns);
    let ctx = CtxIn { simulation: 0, subset: 0, run: 1, timestep, substep: 1, seed, time_ns };
    let input = In { ctx, params: p, state: StateIn { fleet } };
    let out: Tick = invoke(__distroduce_native_tick, &input, &mut host).unwrap();
    assert!(host.failures.is_empty(), "{:?}", host.failures);
    (out, host)
}

/// The emitted messages of one topic: (key, value).
fn on(host: &TestHost, topic: &str) -> Vec<(String, Value)> {
    host.emitted
        .iter()
        .filter(|m| m.get("topic").and_then(Value::as_str) == Some(topic))
        .map(|m| (m.get("key").and_then(Value::as_str).unwrap().to_string(), m.get("value").unwrap().clone()))
        .collect()
}

fn s(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or_else(|| panic!("{k} in {v:?}")).to_string()
}

fn f(v: &Value, k: &str) -> f64 {
    v.get(k).and_then(Value::as_f64).unwrap_or_else(|| panic!("{k} in {v:?}"))
}

#[test]
fn same_seed_same_fleet() {
    let p = params(500);
    let (a, ha) = tick_at(&p, &Fleet::default(), 1, 42);
    let (b, hb) = tick_at(&p, &Fleet::default(), 1, 42);
    let (c, _) = tick_at(&p, &Fleet::default(), 1, 43);
    assert_eq!(a.fleet.len(), 500);
    assert_eq!(a, b, "same seed, same fleet");
    assert_eq!(ha.emitted, hb.emitted, "same seed, same messages");
    assert_ne!(a.fleet, c.fleet, "another seed, another fleet");
    let f = &a.fleet;
    assert!(f.battery.iter().all(|b| (0.0..=100.0).contains(b)));
    assert!(f.interval.iter().all(|i| (5..=15).contains(i)));
    assert!(f.next.iter().zip(&f.interval).all(|(n, i)| *n >= 1 && *n <= 1 + 4 * i));
    assert!(f.interval.iter().min() < f.interval.iter().max(), "intervals differ between devices");
    let counts = a.n_ok + a.n_low_battery + a.n_overheat + a.n_offline;
    assert_eq!(counts, 500);
    assert!(a.n_low_battery > 0, "about an eighth of the fleet starts below 20 %");
    // Ten steps later the fleets still agree.
    let (mut x, mut y) = (a.fleet, b.fleet);
    for t in 2..=10 {
        x = tick_at(&p, &x, t, 42).0.fleet;
        y = tick_at(&p, &y, t, 42).0.fleet;
    }
    assert_eq!(x, y);
}

#[test]
fn devices_report_exactly_at_their_intervals() {
    let p = quiet(200);
    // Report times per device, from the timestep that builds the fleet on.
    let mut reports: Vec<Vec<u64>> = vec![Vec::new(); 200];
    let mut fleet = Fleet::default();
    for t in 1..=60 {
        let (out, host) = tick_at(&p, &fleet, t, 7);
        let msgs = on(&host, TELEMETRY);
        assert_eq!(out.telemetry as usize, msgs.len());
        assert!(on(&host, ALERTS).is_empty(), "a quiet fleet has no transitions");
        for (key, v) in msgs {
            let i: usize = key.trim_start_matches("dev-").parse().unwrap();
            assert_eq!(key, device_id(i));
            assert_eq!(s(&v, "device_id"), key);
            assert_eq!(v.get("seq").and_then(Value::as_i64), Some(reports[i].len() as i64), "seq counts reports");
            assert_eq!(v.get("ts").and_then(Value::as_i64), Some(START_NS / 1_000_000 + t as i64 * 1000));
            reports[i].push(t);
        }
        fleet = out.fleet;
    }
    for (i, times) in reports.iter().enumerate() {
        let interval = fleet.interval[i] * if fleet.status[i] == Status::LowBattery as u8 { 4 } else { 1 };
        assert!(times[0] <= interval, "device {i} reports first within its interval: {times:?}");
        assert!(times.windows(2).all(|w| w[1] - w[0] == interval), "device {i} every {interval}s: {times:?}");
        assert_eq!(fleet.seq[i], times.len() as u64);
    }
}

/// A hand-made fleet of five devices, one per transition.
fn five() -> Fleet {
    Fleet {
        //            to low   to offline  overheats  cools    recharged (offline)
        battery: vec![20.005, 0.005, 80.0, 80.0, 0.0],
        temperature: vec![35.0, 35.0, 90.0, 40.0, 35.0],
        status: vec![0, 1, 0, 2, 3],
        interval: vec![10, 10, 10, 10, 10],
        next: vec![50, 50, 50, 50, 3],
        seq: vec![0; 5],
    }
}

#[test]
fn transitions_raise_alerts_and_change_intervals() {
    use Status::*;
    let p = IotParams { idle_drain: 0.01, ..quiet(5) };
    let (out, host) = tick_at(&p, &five(), 5, 1);
    let alerts: Vec<(String, String, f64)> =
        on(&host, ALERTS).iter().map(|(k, v)| (k.clone(), s(v, "kind"), f(v, "value"))).collect();
    assert_eq!(
        alerts,
        vec![
            ("dev-00000".into(), "low_battery".into(), 19.995),
            ("dev-00001".into(), "offline".into(), 0.0),
            ("dev-00002".into(), "overheat".into(), 87.25),
            ("dev-00003".into(), "cooled".into(), 39.75),
        ]
    );
    assert_eq!(out.alerts, 4);
    assert_eq!(out.fleet.status, [LowBattery as u8, Offline as u8, Overheat as u8, Ok as u8, Offline as u8]);
    assert_eq!((out.n_ok, out.n_low_battery, out.n_overheat, out.n_offline), (1, 1, 1, 2));
    // A changed status brings the next report forward to at most its new interval: the hot
    // device reports next second, the low one within 4 × 10 s, the cooled one within 10 s.
    assert_eq!(out.fleet.next, [45, 50, 6, 15, 3]);
    assert!(on(&host, TELEMETRY).is_empty(), "nobody was due at t=5");

    // t=6, every low or offline device is recharged: the low one and both offline ones.
    let p = IotParams { recharge_prob: 1.0, ..p };
    let (out, host) = tick_at(&p, &out.fleet, 6, 1);
    let kinds: Vec<String> = on(&host, ALERTS).iter().map(|(k, v)| format!("{k} {}", s(v, "kind"))).collect();
    assert_eq!(kinds, ["dev-00000 recharged", "dev-00001 recharged", "dev-00004 recharged"]);
    assert_eq!(out.fleet.battery[..2], [100.0, 100.0]);
    assert_eq!(out.fleet.status, [Ok as u8, Ok as u8, Overheat as u8, Ok as u8, Ok as u8]);
    let tel: Vec<(String, String)> = on(&host, TELEMETRY).iter().map(|(k, v)| (k.clone(), s(v, "status"))).collect();
    assert_eq!(tel, [("dev-00002".into(), "overheat".into())]);
    assert_eq!(out.fleet.next, [16, 16, 7, 15, 3], "every second while overheating; overdue stays overdue");
    // t=7: the hot device again, and the device back from offline (it was overdue).
    let (out, host) = tick_at(&p, &out.fleet, 7, 1);
    let tel: Vec<String> = on(&host, TELEMETRY).iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(tel, ["dev-00002", "dev-00004"]);
    assert_eq!(out.fleet.next[4], 17);
}

#[test]
fn a_report_that_empties_the_battery_says_offline() {
    let p = IotParams { tx_cost: 0.05, ..quiet(1) };
    let fleet = Fleet {
        battery: vec![0.04],
        temperature: vec![35.0],
        status: vec![Status::LowBattery as u8],
        interval: vec![5],
        next: vec![3],
        seq: vec![9],
    };
    let (out, host) = tick_at(&p, &fleet, 3, 1);
    let tel = on(&host, TELEMETRY);
    assert_eq!(tel.len(), 1);
    assert_eq!((s(&tel[0].1, "status"), f(&tel[0].1, "battery")), ("offline".into(), 0.0));
    assert_eq!(on(&host, ALERTS).len(), 1);
    assert_eq!(out.fleet.status, [Status::Offline as u8]);
    // Offline devices stay silent.
    let (out, host) = tick_at(&p, &out.fleet, 20, 1);
    assert!(host.emitted.is_empty() && out.telemetry == 0);
}

#[test]
fn bad_input_fails_with_a_message() {
    let mut host = TestHost::new(1, 0);
    let ctx = CtxIn { simulation: 0, subset: 0, run: 1, timestep: 1, substep: 1, seed: 1, time_ns: 0 };
    let p = IotParams { interval_min: 0, ..params(3) };
    let input = In { ctx, params: &p, state: StateIn { fleet: &Fleet::default() } };
    let e = invoke::<_, Tick>(__distroduce_native_tick, &input, &mut host).unwrap_err();
    assert!(e.contains("interval_min"), "{e}");
    let mut bad = five();
    bad.seq.pop();
    let (ctx, p) =
        (CtxIn { simulation: 0, subset: 0, run: 1, timestep: 2, substep: 1, seed: 1, time_ns: 0 }, params(5));
    let input = In { ctx, params: &p, state: StateIn { fleet: &bad } };
    let e = invoke::<_, Tick>(__distroduce_native_tick, &input, &mut host).unwrap_err();
    assert!(e.contains("differ in length"), "{e}");
}
