//! Runs the three reference models through the native backend with a minimal cadCAD loop
//! (signals combined with `+` in policy order, every state update reading the previous record)
//! and checks the values the fixtures' README states.

use distroduce_sdk::native::{invoke, NativeFn, TestHost};
use distroduce_sdk::Value;

fn f(name: &str) -> NativeFn {
    let table = conformance_plugin::native_functions();
    table.into_iter().find(|(n, _)| *n == name).map(|(_, f)| f).unwrap()
}

/// cadCAD's default policy op, `a + b`, for the value kinds these models use.
fn add(a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Value::Int(x + y),
        (Value::List(x), Value::List(y)) => Value::List(x.iter().chain(y).cloned().collect()),
        _ => panic!("cannot add {a:?} and {b:?}"),
    }
}

fn map(entries: Vec<(String, Value)>) -> Value {
    Value::Map(entries)
}

fn set(m: &mut Vec<(String, Value)>, k: &str, v: Value) {
    match m.iter_mut().find(|(key, _)| key == k) {
        Some(e) => e.1 = v,
        None => m.push((k.to_string(), v)),
    }
}

struct Block<'a> {
    policies: &'a [&'a str],
    updates: &'a [(&'a str, &'a str)],
}

/// Runs T timesteps of one job and returns every record after the initial one.
fn run(init: &[(&str, Value)], params: Value, blocks: &[Block<'_>], timesteps: i64) -> Vec<Vec<(String, Value)>> {
    let mut host = TestHost::new(0, 0);
    let mut rec: Vec<(String, Value)> = init.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    set(&mut rec, "substep", Value::Int(0));
    set(&mut rec, "timestep", Value::Int(0));
    let mut out = Vec::new();
    for t in 1..=timesteps {
        for (k, block) in blocks.iter().enumerate() {
            let ctx = |var: Option<&str>| {
                let mut c = vec![("timestep".to_string(), Value::Int(t)), ("substep".into(), Value::Int(k as i64 + 1))];
                for key in ["simulation", "subset", "run", "seed", "time_ns"] {
                    c.push((key.to_string(), Value::Int(0)));
                }
                c.push(("variable".into(), var.map_or(Value::Nil, Value::from)));
                map(c)
            };
            let base = vec![("params".to_string(), params.clone()), ("state".into(), map(rec.clone()))];
            let mut signals: Vec<(String, Value)> = Vec::new();
            for p in block.policies {
                let input = map([base.clone(), vec![("ctx".into(), ctx(None))]].concat());
                let Value::Map(sig) = invoke::<_, Value>(f(p), &input, &mut host).unwrap() else { panic!() };
                for (name, v) in sig {
                    let merged = signals.iter().find(|(n, _)| *n == name).map_or(v.clone(), |(_, old)| add(old, &v));
                    set(&mut signals, &name, merged);
                }
            }
            let mut next = rec.clone();
            for (var, u) in block.updates {
                let extra = vec![("ctx".into(), ctx(Some(var))), ("signals".into(), map(signals.clone()))];
                let input = map([base.clone(), extra].concat());
                set(&mut next, var, invoke::<_, Value>(f(u), &input, &mut host).unwrap());
            }
            set(&mut next, "substep", Value::Int(k as i64 + 1));
            set(&mut next, "timestep", Value::Int(t));
            rec = next.clone();
            out.push(next);
        }
    }
    assert!(host.failures.is_empty(), "{:?}", host.failures);
    out
}

fn ints(rec: &[(String, Value)], keys: &[&str]) -> Vec<i64> {
    keys.iter().map(|k| rec.iter().find(|(n, _)| n == k).unwrap().1.as_i64().unwrap()).collect()
}

#[test]
fn ref1_policy_agg() {
    let init = [("a", Value::Int(0)), ("b", Value::Int(0)), ("c", Value::Int(0)), ("d", Value::Int(1))];
    let blocks = [
        Block { policies: &["p_inc_a", "p_inc_b"], updates: &[("a", "s_a"), ("b", "s_b1"), ("c", "s_c")] },
        Block { policies: &["p_m2", "p_m3", "p_empty"], updates: &[("d", "s_d"), ("b", "s_b2")] },
    ];
    let recs = run(&init, map(vec![]), &blocks, 5);
    assert_eq!(ints(&recs[0], &["a", "b", "c", "d"]), [11, 2, 0, 1]);
    assert_eq!(ints(&recs[1], &["a", "b", "c", "d"]), [11, 13, 0, 6]);
    assert_eq!(ints(&recs[9], &["a", "b", "c", "d"]), [55, 175, 110, 26]);
}

#[test]
fn ref2_param_sweep() {
    for alpha in 1..=3 {
        let params = map(vec![("alpha".into(), Value::Int(alpha)), ("beta".into(), Value::Int(10))]);
        let init = [("x", Value::Int(0)), ("y", Value::Int(0)), ("tag", Value::Int(0))];
        let blocks = [Block { policies: &["p_step"], updates: &[("x", "s_x"), ("y", "s_y"), ("tag", "s_tag")] }];
        for (t, rec) in run(&init, params, &blocks, 3).iter().enumerate() {
            let t = t as i64 + 1;
            assert_eq!(ints(rec, &["x", "y", "tag"]), [alpha * t, 10 * t, 100 * alpha + 10]);
        }
    }
}

#[test]
fn ref4_list_signals() {
    let init = [("log", Value::List(vec![])), ("count", Value::Int(0))];
    let blocks = [
        Block { policies: &["p_first", "p_second"], updates: &[("log", "s_log"), ("count", "s_count")] },
        Block { policies: &["p_third"], updates: &[("log", "s_log")] },
    ];
    let recs = run(&init, map(vec![]), &blocks, 3);
    let last = recs.last().unwrap();
    let log: Vec<&str> = last[0].1.as_list().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let want = ["first@0", "second@0", "third", "first@1", "second@1", "third", "first@2", "second@2", "third"];
    assert_eq!(log, want);
    assert_eq!(ints(last, &["count"]), [9]);
}
