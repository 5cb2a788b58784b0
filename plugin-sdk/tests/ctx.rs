//! The host services as a plugin function sees them through `Ctx`.

use distroduce_sdk::native::{invoke, TestHost};
use distroduce_sdk::{policy, Ctx, Level, Value};
use std::collections::BTreeMap;

/// Returns the ctx header, a few draws and the clock, and emits in every form.
#[policy]
fn services(ctx: &Ctx) -> BTreeMap<String, Value> {
    ctx.emit_with_headers("t", None, &[1, 2], &[("h", "v")]);
    ctx.emit_bytes("t", Some("k"), b"\x00raw");
    ctx.log(Level::Trace, "trace");
    ctx.warn("warn");
    ctx.error("error");
    let mut out = BTreeMap::new();
    out.insert("seed".to_string(), Value::Str(ctx.seed().to_string()));
    out.insert("var".to_string(), ctx.variable().map_or(Value::Nil, |v| Value::Str(v.to_string())));
    out.insert("now".to_string(), Value::Int(ctx.now_ns()));
    out.insert("u".to_string(), Value::Float(ctx.rng_f64()));
    out
}

/// 20 000 normal draws: their mean and standard deviation.
#[policy]
fn normals(ctx: &mut Ctx) -> (f64, f64) {
    let xs: Vec<f64> = (0..20_000).map(|_| ctx.normal(5.0, 2.0)).collect();
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
    (mean, var.sqrt())
}

fn input(seed: Value) -> Value {
    let ctx = ["simulation", "subset", "run", "timestep", "substep", "time_ns"]
        .iter()
        .map(|k| (k.to_string(), Value::Int(1)))
        .chain([("seed".to_string(), seed)])
        .collect();
    Value::Map(vec![("ctx".into(), Value::Map(ctx))])
}

#[test]
fn services_reach_the_host() {
    let mut host = TestHost::new(3, 99);
    let out: BTreeMap<String, Value> = invoke(__distroduce_native_services, &input(Value::Int(-1)), &mut host).unwrap();
    // A seed written as a negative int64 keeps its 64 bits.
    assert_eq!(out["seed"], Value::Str(u64::MAX.to_string()));
    assert_eq!(out["var"], Value::Nil);
    assert_eq!(out["now"], Value::Int(99));
    assert!(matches!(out["u"], Value::Float(u) if (0.0..1.0).contains(&u)));
    let levels: Vec<i32> = host.logs.iter().map(|(l, _)| *l).collect();
    assert_eq!(levels, [0, 3, 4]);
    let m = |e: &[(&str, Value)]| Value::Map(e.iter().map(|(k, v)| (k.to_string(), v.clone())).collect());
    assert_eq!(
        host.emitted,
        [
            m(&[
                ("topic", "t".into()),
                ("value", Value::List(vec![Value::Int(1), Value::Int(2)])),
                ("headers", m(&[("h", "v".into())])),
            ]),
            m(&[("topic", "t".into()), ("value", Value::Bin(b"\x00raw".to_vec())), ("key", "k".into())]),
        ]
    );
}

#[test]
fn normal_has_the_asked_moments_and_follows_the_seed() {
    let run = |seed| {
        let mut host = TestHost::new(seed, 0);
        invoke::<_, (f64, f64)>(__distroduce_native_normals, &input(Value::Int(0)), &mut host).unwrap()
    };
    let (mean, sd) = run(11);
    assert!((mean - 5.0).abs() < 0.05, "mean {mean}");
    assert!((sd - 2.0).abs() < 0.05, "sd {sd}");
    assert_eq!(run(11), (mean, sd));
    assert_ne!(run(12), (mean, sd));
}
