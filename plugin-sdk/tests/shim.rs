//! The generated code, exercised through the native backend exactly as the engine calls it.

use distroduce_sdk::native::{invoke, TestHost};
use distroduce_sdk::{policy, state_update, Ctx, RawOutput, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct State {
    a: i64,
    timestep: i64,
}

#[derive(Deserialize)]
struct Sig {
    da: i64,
}

#[derive(Deserialize)]
struct Params {
    scale: i64,
}

#[derive(Deserialize)]
struct EnterArgs {
    room: String,
    user: String,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Out {
    moved: Vec<String>,
    da: i64,
}

#[derive(Serialize)]
struct Msg<'a> {
    user: &'a str,
    room: &'a str,
}

/// Parameters in an unusual order, `&mut Ctx`, a `Result` return and an emit.
#[policy]
fn enter(args: &EnterArgs, ctx: &mut Ctx, params: &Params, state: &State) -> Result<Out, String> {
    ctx.info(&format!("{} enters {}", args.user, args.room));
    ctx.emit("chat", Some(&args.room), &Msg { user: &args.user, room: &args.room });
    Ok(Out { moved: vec![args.user.clone()], da: state.a * params.scale + ctx.timestep as i64 })
}

#[state_update(name = "s_a")]
fn add_da(ctx: &Ctx, state: &State, signals: &Sig) -> i64 {
    assert_eq!(ctx.variable(), Some("a"));
    state.a + signals.da
}

#[policy]
fn boom(state: &State) -> BTreeMap<String, i64> {
    if state.timestep >= 3 {
        panic!("boom at timestep {}", state.timestep);
    }
    BTreeMap::new()
}

#[policy]
fn refuse() -> Result<BTreeMap<String, i64>, String> {
    Err("refused on purpose".into())
}

#[policy]
fn raw() -> RawOutput {
    RawOutput(vec![0xc1])
}

#[state_update]
fn with_history(history: &[Vec<State>], args: Option<i64>) -> usize {
    history.len() + args.unwrap_or(0) as usize
}

distroduce_sdk::native_table!(enter, s_a, boom, refuse, raw, with_history);

fn input(state: (i64, i64), extra: &[(&str, Value)]) -> Value {
    let ctx = Value::Map(vec![
        ("simulation".into(), Value::Int(0)),
        ("subset".into(), Value::Int(1)),
        ("run".into(), Value::Int(2)),
        ("timestep".into(), Value::Int(state.1 + 1)),
        ("substep".into(), Value::Int(1)),
        ("seed".into(), Value::Int(42)),
        ("time_ns".into(), Value::Int(1_570_060_800_000_000_000)),
        ("variable".into(), Value::from("a")),
        ("a_future_key".into(), Value::Bool(true)),
    ]);
    let st = Value::Map(vec![("a".into(), Value::Int(state.0)), ("timestep".into(), Value::Int(state.1))]);
    let mut m = vec![("ctx".to_string(), ctx), ("state".to_string(), st)];
    m.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    Value::Map(m)
}

fn args(room: &str, user: &str) -> Value {
    Value::Map(vec![("room".into(), Value::from(room)), ("user".into(), Value::from(user))])
}

#[test]
fn policy_round_trip_with_ctx_args_params_and_emit() {
    let mut host = TestHost::new(1, 0);
    let params = Value::Map(vec![("scale".into(), Value::Int(10))]);
    let inp = input((4, 0), &[("params", params), ("args", args("room_1", "A"))]);
    let out: Out = invoke(__distroduce_native_enter, &inp, &mut host).unwrap();
    assert_eq!(out, Out { moved: vec!["A".into()], da: 41 });
    assert_eq!(host.logs, vec![(2, "A enters room_1".to_string())]);
    let expected = Value::Map(vec![
        ("topic".into(), Value::from("chat")),
        ("value".into(), Value::Map(vec![("user".into(), Value::from("A")), ("room".into(), Value::from("room_1"))])),
        ("key".into(), Value::from("room_1")),
    ]);
    assert_eq!(host.emitted, vec![expected]);
}

#[test]
fn state_update_round_trip_and_renamed_export() {
    let mut host = TestHost::new(1, 0);
    let sig = Value::Map(vec![("da".into(), Value::Int(11)), ("other".into(), Value::Int(0))]);
    let out: i64 = invoke(__distroduce_native_s_a, &input((5, 0), &[("signals", sig)]), &mut host).unwrap();
    assert_eq!(out, 16);
    let names: Vec<_> = native_functions().iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["enter", "s_a", "boom", "refuse", "raw", "with_history"]);
}

#[test]
fn decode_errors_fail_the_call_with_a_message() {
    let mut host = TestHost::new(1, 0);
    let a = args("r", "u");
    let err = invoke::<_, Out>(__distroduce_native_enter, &input((4, 0), &[("args", a)]), &mut host).unwrap_err();
    assert!(err.contains("`params`") && err.contains("scale"), "{err}");
    let p = Value::Map(vec![("scale".into(), Value::Int(1))]);
    let err = invoke::<_, Out>(__distroduce_native_enter, &input((4, 0), &[("params", p)]), &mut host).unwrap_err();
    assert!(err.contains("binds no `args`"), "{err}");
    let err = invoke::<_, i64>(__distroduce_native_s_a, &Value::Int(3), &mut host).unwrap_err();
    assert!(err.contains("malformed call input"), "{err}");
}

#[test]
fn panic_is_reported_through_fail_with_message_and_location() {
    let mut host = TestHost::new(1, 0);
    let ok: BTreeMap<String, i64> = invoke(__distroduce_native_boom, &input((0, 2), &[]), &mut host).unwrap();
    assert!(ok.is_empty());
    let err = invoke::<_, BTreeMap<String, i64>>(__distroduce_native_boom, &input((0, 3), &[]), &mut host).unwrap_err();
    assert!(err.contains("boom at timestep 3"), "{err}");
    assert!(err.contains("shim.rs"), "location missing: {err}");
    // The thread is fine afterwards and the next call works.
    let ok: BTreeMap<String, i64> = invoke(__distroduce_native_boom, &input((0, 1), &[]), &mut host).unwrap();
    assert!(ok.is_empty());
}

#[test]
fn err_result_and_raw_output() {
    let mut host = TestHost::new(1, 0);
    let err = invoke::<_, Value>(__distroduce_native_refuse, &input((0, 0), &[]), &mut host).unwrap_err();
    assert_eq!(err, "refused on purpose");
    let bytes = __distroduce_native_raw(&rmp_serde::to_vec_named(&input((0, 0), &[])).unwrap(), &mut host);
    assert_eq!(bytes, [0xc1]);
}

#[test]
fn absent_optional_args_and_history() {
    let mut host = TestHost::new(1, 0);
    let rec = Value::Map(vec![("a".into(), Value::Int(0)), ("timestep".into(), Value::Int(0))]);
    let hist = Value::List(vec![Value::List(vec![rec.clone()]), Value::List(vec![rec])]);
    let out: usize = invoke(__distroduce_native_with_history, &input((0, 1), &[("history", hist)]), &mut host).unwrap();
    assert_eq!(out, 2);
    let out: usize = invoke(
        __distroduce_native_with_history,
        &input((0, 1), &[("history", Value::List(vec![])), ("args", Value::Int(5))]),
        &mut host,
    )
    .unwrap();
    assert_eq!(out, 5);
    let err = invoke::<_, usize>(__distroduce_native_with_history, &input((0, 1), &[]), &mut host).unwrap_err();
    assert!(err.contains("does not set `history`"), "{err}");
}

fn describe(f: fn() -> Vec<u8>) -> Value {
    rmp_serde::from_slice(&f()).unwrap()
}

fn names(v: &[&str]) -> Value {
    Value::List(v.iter().map(|s| Value::from(*s)).collect())
}

#[test]
fn describe_reports_kind_output_and_reads() {
    let d = describe(__distroduce_describe_enter);
    assert_eq!(d.get("kind"), Some(&Value::from("policy")));
    assert_eq!(d.get("output"), None);
    let reads = d.get("reads").unwrap();
    assert_eq!(reads.get("state"), Some(&names(&["a", "timestep"])));
    assert_eq!(reads.get("params"), Some(&names(&["scale"])));
    assert_eq!(reads.get("signals"), Some(&names(&[])));
    assert_eq!(reads.get("args"), Some(&names(&["room", "user"])));

    let d = describe(__distroduce_describe_s_a);
    assert_eq!(d.get("kind"), Some(&Value::from("state_update")));
    assert_eq!(d.get("output"), Some(&Value::from("int")));
    assert_eq!(d.get("reads").unwrap().get("signals"), Some(&names(&["da"])));
    assert_eq!(d.get("reads").unwrap().get("params"), Some(&names(&[])));

    // History records count as state reads; a scalar `args` has no names (nil).
    let d = describe(__distroduce_describe_with_history);
    assert_eq!(d.get("reads").unwrap().get("state"), Some(&names(&["a", "timestep"])));
    assert_eq!(d.get("reads").unwrap().get("args"), Some(&Value::Nil));
    assert_eq!(d.get("output"), Some(&Value::from("int")));
}

/// Output words for the types authors return; the fallback covers types without Deserialize.
/// (The borrow clippy calls needless is what selects between the two traits.)
#[test]
#[allow(clippy::needless_borrow)]
fn output_kinds() {
    use distroduce_sdk::__private::{OutputProbe, OutputProbeFallback as _, OutputProbeReal as _};
    assert_eq!((&OutputProbe::<f64>::new()).output_kind(), "float");
    assert_eq!((&OutputProbe::<String>::new()).output_kind(), "str");
    assert_eq!((&OutputProbe::<bool>::new()).output_kind(), "bool");
    assert_eq!((&OutputProbe::<Vec<String>>::new()).output_kind(), "list");
    assert_eq!((&OutputProbe::<BTreeMap<String, i64>>::new()).output_kind(), "map");
    assert_eq!((&OutputProbe::<Out>::new()).output_kind(), "map");
    assert_eq!((&OutputProbe::<Option<i64>>::new()).output_kind(), "any");
    assert_eq!((&OutputProbe::<Value>::new()).output_kind(), "any");
    assert_eq!((&OutputProbe::<RawOutput>::new()).output_kind(), "any");
    assert_eq!((&OutputProbe::<&'static str>::new()).output_kind(), "str");
    assert_eq!((&OutputProbe::<std::fs::File>::new()).output_kind(), "any");
}
