//! The typed in-guest loop (ABI.md §11) against the MessagePack loop (§10) on the same program:
//! the same records byte for byte, the same messages, random streams, failures and blame.

use distroduce_sdk::fused::{run_many, Loop, RunLoop};
use distroduce_sdk::native::TestHost;
use distroduce_sdk::{policy, state_update, Ctx, TypedLoop, Value};
use std::collections::BTreeMap;

#[distroduce_sdk::state]
pub struct State {
    x: i64,
    y: f64,
    n: i64,
}

#[distroduce_sdk::signals]
pub struct Sig {
    dx: i64,
    dy: f64,
}

#[derive(Clone, serde::Deserialize)]
pub struct Params {
    k: f64,
    limit: i64,
}

#[policy]
fn p_rand(ctx: &Ctx) -> Sig {
    Sig { dx: (ctx.rng_u64() % 5) as i64, dy: ctx.rng_f64() }
}

#[policy]
fn p_emit(ctx: &Ctx, state: &State) -> Sig {
    ctx.emit("t", Some("k"), &state.x);
    Sig { dx: 1, dy: state.y }
}

#[policy]
fn p_map(args: Option<i64>) -> BTreeMap<String, i64> {
    [("dx".to_string(), args.unwrap_or(2))].into()
}

#[policy]
fn p_big() -> Sig {
    Sig { dx: i64::MAX, dy: 0.0 }
}

/// Fails once `x` reaches `args`.
#[policy]
fn p_upto(state: &State, args: Option<i64>) -> Result<Sig, String> {
    match args {
        Some(limit) if state.x >= limit => Err(format!("x reached {limit}")),
        _ => Ok(Sig { dx: 1, dy: 0.0 }),
    }
}

#[state_update]
fn u_x(state: &State, signals: &Sig) -> i64 {
    state.x + signals.dx
}

#[state_update]
fn u_y(state: &State, signals: &Sig, params: &Params) -> f64 {
    state.y * 0.5 + signals.dy * params.k
}

#[state_update]
fn u_x_map(state: &State, signals: Sig) -> i64 {
    state.x - signals.dx
}

#[state_update]
fn u_n(ctx: &Ctx, state: &State, params: &Params) -> Result<i64, String> {
    if state.n >= params.limit {
        return Err(format!("n reached {} at timestep {}", state.n, ctx.timestep));
    }
    Ok(state.n + 1)
}

#[state_update]
fn u_ident(state: &State, signals: &BTreeMap<String, i64>) -> i64 {
    state.x + signals.values().sum::<i64>() + 1
}

#[state_update]
fn u_other(state: &State) -> f64 {
    state.x as f64
}

/// `u_y` with its params behind a type whose lifetime is elided: a struct field cannot elide
/// one, so this body stays a closure (`FnBody`).
#[state_update]
#[allow(clippy::ptr_arg)] // the `&Cow` is the point of this function
fn u_y_cow(state: &State, signals: &Sig, params: &std::borrow::Cow<'_, Params>) -> f64 {
    state.y * 0.5 + signals.dy * params.k
}

/// A `Result` alias without type arguments: the macros cannot name its output type, so its typed
/// body stays a closure (`FnBody`) where the others are structs with an inlined `call`.
mod alias {
    use super::State;
    type Result = std::result::Result<f64, String>;

    #[distroduce_sdk::state_update]
    pub fn u_alias(state: &State) -> Result {
        if state.y > 1e300 {
            return Err(format!("y = {} is too large", state.y));
        }
        Ok(state.y * 2.0 + state.x as f64)
    }
}

distroduce_sdk::native_table!(state = State; p_rand, p_emit, p_map, p_big, u_x, u_y, u_x_map, u_n, u_other, u_ident, p_upto, alias::u_alias, u_y_cow);

fn enc(v: &Value) -> Value {
    Value::Bin(rmp_serde::to_vec_named(v).unwrap())
}

fn m(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn call(f: usize, pos: usize, args: Option<i64>) -> Value {
    m(vec![
        ("f", Value::Int(f as i64)),
        ("pos", Value::Int(pos as i64)),
        ("args", args.map_or(Value::Nil, |a| enc(&Value::Int(a)))),
    ])
}

fn update(var: usize, f: usize, i: usize) -> Value {
    m(vec![
        ("var", Value::Int(var as i64)),
        ("f", Value::Int(f as i64)),
        ("pos", Value::Int(0x8000_0000 + i as i64)),
        ("args", Value::Nil),
    ])
}

/// A program over `fns` (all names in [`native_table!`]'s order) with these blocks.
fn program(limit: i64, blocks: Vec<(Vec<Value>, Vec<Value>)>) -> Vec<u8> {
    program_with(limit, blocks, None)
}

/// [`program`], with the key `values` if given (ABI.md §10).
fn program_with(limit: i64, blocks: Vec<(Vec<Value>, Vec<Value>)>, values: Option<bool>) -> Vec<u8> {
    program_keys(limit, blocks, values.map(|v| ("values", Value::Bool(v))).into_iter().collect())
}

/// [`program`] with these keys added.
fn program_keys(limit: i64, blocks: Vec<(Vec<Value>, Vec<Value>)>, keys: Vec<(&str, Value)>) -> Vec<u8> {
    let fns = [
        "p_rand", "p_emit", "p_map", "p_big", "u_x", "u_y", "u_x_map", "u_n", "u_other", "u_ident", "p_upto",
        "u_alias", "u_y_cow",
    ];
    let reads = |_| m(vec![("state", Value::Nil), ("bookkeeping", Value::Bool(true)), ("signals", Value::Nil)]);
    let blocks =
        blocks.into_iter().map(|(p, u)| m(vec![("policies", Value::List(p)), ("updates", Value::List(u))])).collect();
    let mut p = vec![
        ("fns", Value::List(fns.iter().map(|f| Value::from(*f)).collect())),
        ("reads", Value::List(fns.iter().map(reads).collect())),
        ("vars", Value::List(["x", "y", "n"].iter().map(|f| Value::from(*f)).collect())),
        ("state", Value::List(vec![enc(&Value::Int(3)), enc(&Value::Float(1.5)), enc(&Value::Int(0))])),
        ("params", enc(&m(vec![("k", Value::Float(0.25)), ("limit", Value::Int(limit))]))),
        ("job", Value::List(vec![Value::Int(0), Value::Int(1), Value::Int(2)])),
        ("seed", Value::Int(99)),
        ("zero_lone", Value::Bool(false)),
        ("agg_default", Value::from("add")),
        ("agg", Value::List(vec![Value::List(vec![Value::from("dy"), Value::from("max")])])),
        ("blocks", Value::List(blocks)),
    ];
    p.extend(keys);
    rmp_serde::to_vec_named(&m(p)).unwrap()
}

/// What one timestep of a loop leaves: status, cursor, records, message.
type Step = (u32, distroduce_sdk::fused::Cursor, Vec<u8>, String);

/// Each loop's trace of `timesteps` timesteps: per timestep the status, cursor fields and
/// records; then everything the host saw. `typed`: the typed loop, run both with the boxed
/// factories (`typed_functions`) and with the direct table the plugin runs in the guest
/// (`typed_direct_loop`), which must leave the same trace.
fn trace(program: &[u8], typed: bool, timesteps: u64) -> (Vec<String>, TestHost) {
    if !typed {
        let mut l = Loop::load(program, &fused_functions()).unwrap();
        return steps(timesteps, |t, h| {
            let s = l.run_timestep(t, t as i64 * 1000, h);
            (s, l.cursor, l.output().to_vec(), l.message().to_string())
        });
    }
    let mut boxed = TypedLoop::load(program, &typed_functions()).unwrap();
    let (lines, host) = steps(timesteps, |t, h| {
        let s = boxed.run_timestep(t, t as i64 * 1000, h);
        (s, boxed.cursor, boxed.output().to_vec(), boxed.message().to_string())
    });
    let mut direct = typed_direct_loop(program).unwrap();
    let (d_lines, d_host) = steps(timesteps, |t, h| {
        let s = direct.run_timestep(t, t as i64 * 1000, h);
        (s, direct.cursor, direct.output().to_vec(), direct.message().to_string())
    });
    assert_eq!(d_lines, lines, "the direct table's loop leaves the boxed one's trace");
    assert_eq!((&d_host.emitted, &d_host.failures, d_host.rng_state), (&host.emitted, &host.failures, host.rng_state));
    (lines, host)
}

/// Runs `run` for timesteps `1..=timesteps` until one fails, on one host.
fn steps(timesteps: u64, mut run: impl FnMut(u64, &mut TestHost) -> Step) -> (Vec<String>, TestHost) {
    let mut host = TestHost::new(7, 0);
    let mut lines = Vec::new();
    for t in 1..=timesteps {
        let (status, c, out, msg) = run(t, &mut host);
        lines.push(format!(
            "t={t} status={status} substep={} pos={} done={} out={out:?} msg={msg}",
            c.substep, c.pos, c.blocks_done
        ));
        if status != 0 {
            break;
        }
    }
    (lines, host)
}

fn same_in_both(program: &[u8], timesteps: u64) -> Vec<String> {
    let (typed, th) = trace(program, true, timesteps);
    let (msgpack, mh) = trace(program, false, timesteps);
    assert_eq!(typed, msgpack);
    assert_eq!(th.emitted, mh.emitted);
    assert_eq!(th.failures, mh.failures);
    assert_eq!(th.rng_state, mh.rng_state);
    typed
}

#[test]
fn records_messages_and_streams_match_the_msgpack_loop() {
    let blocks = vec![
        // Typed aggregation (two `Sig`s, `dy` by max), two updates on the pre-block state.
        (vec![call(0, 0, None), call(1, 1, None)], vec![update(0, 4, 0), update(1, 5, 1)]),
        // Mixed output types: MessagePack aggregation, decoded by each update.
        (vec![call(2, 1, Some(4)), call(0, 0, None)], vec![update(0, 6, 0), update(1, 5, 1)]),
        // cadCAD's identity policy, its signals read or not.
        (vec![Value::Nil], vec![update(2, 7, 0)]),
        (vec![Value::Nil, Value::Nil], vec![update(0, 9, 0)]),
    ];
    let program = program(1000, blocks);
    let typed = TypedLoop::<State>::load(&program, &typed_functions()).unwrap();
    assert_eq!(typed.typed_aggregation(), [true, false, false, false]);
    let lines = same_in_both(&program, 25);
    assert_eq!(lines.len(), 25);
    assert!(lines.iter().all(|l| l.contains("status=0") && l.contains("done=4")), "{lines:?}");
}

#[test]
fn a_function_returning_a_result_alias_runs_typed_with_the_same_records() {
    let blocks = vec![
        (vec![call(0, 0, None), call(1, 1, None)], vec![update(0, 4, 0), update(1, 11, 1)]),
        (vec![Value::Nil], vec![update(1, 11, 0)]),
    ];
    let lines = same_in_both(&program(1000, blocks), 12);
    assert_eq!(lines.len(), 12);
    assert!(lines.iter().all(|l| l.contains("status=0") && l.contains("done=2")), "{lines:?}");
}

#[test]
fn a_function_with_an_elided_lifetime_in_its_params_runs_typed_as_its_twin() {
    let with = |y_fn| vec![(vec![call(0, 0, None), call(1, 1, None)], vec![update(0, 4, 0), update(1, y_fn, 1)])];
    let twin = same_in_both(&program(1000, with(5)), 12);
    let cow = same_in_both(&program(1000, with(12)), 12);
    assert_eq!(cow, twin);
    assert!(cow.iter().all(|l| l.contains("status=0") && l.contains("done=1")), "{cow:?}");
}

#[test]
fn a_failing_update_is_blamed_alike() {
    let blocks = vec![
        (vec![call(0, 0, None), call(1, 1, None)], vec![update(0, 4, 0)]),
        (vec![Value::Nil], vec![update(2, 7, 0)]),
    ];
    let lines = same_in_both(&program(4, blocks), 10);
    let last = lines.last().unwrap();
    assert!(last.starts_with("t=5 status=1 substep=2 pos=2147483648 done=1"), "{last}");
}

/// Uses of one function next to each other run through one call (`TypedPolicy::call_run`):
/// each use still draws its own random stream, leaves its own message mark, and a failure names
/// the use that failed.
#[test]
fn runs_of_one_function_keep_each_uses_stream_marks_and_blame() {
    let policies = vec![
        call(0, 0, None),
        call(0, 1, None),
        call(1, 2, None),
        call(1, 3, None),
        call(10, 4, Some(1000)),
        call(10, 5, Some(40)),
        call(0, 6, None),
    ];
    let program = program(1000, vec![(policies, vec![update(0, 4, 0)])]);
    let typed = TypedLoop::<State>::load(&program, &typed_functions()).unwrap();
    assert_eq!(typed.typed_aggregation(), [true]);
    let lines = same_in_both(&program, 50);
    assert!(lines.len() > 2 && lines[..lines.len() - 1].iter().all(|l| l.contains("status=0")), "{lines:?}");
    let last = lines.last().unwrap();
    assert!(last.contains("status=1 substep=1 pos=5 done=0"), "{last}");
}

#[test]
fn an_aggregation_overflow_is_blamed_alike() {
    let blocks = vec![(vec![call(3, 0, None), call(3, 1, None)], vec![update(0, 4, 0)])];
    let lines = same_in_both(&program(4, blocks), 3);
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].contains("status=2") && lines[0].contains("msg=signal `dx`: integer overflow in add"),
        "{lines:?}"
    );
}

#[test]
fn programs_the_struct_cannot_hold_are_refused_with_the_reason() {
    // `u_other` returns f64 for the i64 variable `x`.
    let blocks = vec![(vec![], vec![update(0, 8, 0)])];
    let err = TypedLoop::<State>::load(&program(4, blocks), &typed_functions()).err().unwrap();
    assert!(err.contains("`u_other` returns another type than the state field `x`"), "{err}");
    // A policy used as a state update.
    let blocks = vec![(vec![], vec![update(0, 0, 0)])];
    let err = TypedLoop::<State>::load(&program(4, blocks), &typed_functions()).err().unwrap();
    assert!(err.contains("`p_rand` is a policy used as a state update"), "{err}");
}

/// `kind`: 0 the MessagePack loop, 1 the typed loop (boxed factories), 2 the typed loop over the
/// direct table (as in the guest).
fn load(program: &[u8], kind: u8) -> Box<dyn RunLoop> {
    match kind {
        0 => Box::new(Loop::load(program, &fused_functions()).unwrap()),
        1 => Box::new(TypedLoop::<State>::load(program, &typed_functions()).unwrap()),
        _ => Box::new(typed_direct_loop(program).unwrap()),
    }
}

/// `distroduce_fused_run_many` (ABI.md §10): timesteps run many per call give the records of one
/// timestep per call back to back, the same messages, streams and cursor; a failure stops the
/// call on the failing timestep with every record before it kept.
#[test]
fn many_timesteps_per_call_match_one_per_call() {
    let blocks = || {
        vec![
            (vec![call(0, 0, None), call(1, 1, None)], vec![update(0, 4, 0), update(1, 5, 1)]),
            (vec![Value::Nil], vec![update(2, 7, 0)]),
        ]
    };
    // With `limit: 4`, `u_n` fails in block 2 of timestep 5.
    for (limit, want) in [(1000, (0, 12, 2)), (4, (1, 5, 1))] {
        let program = program(limit, blocks());
        for typed in 0..3 {
            let (mut h1, mut h2) = (TestHost::new(7, 0), TestHost::new(7, 0));
            let mut one = load(&program, typed);
            let (mut expect, mut code) = (Vec::new(), 0);
            for t in 1..=12 {
                one.clear_output();
                code = one.step(t, t as i64 * 1000, &mut h1);
                expect.extend_from_slice(one.output());
                if code != 0 {
                    break;
                }
            }
            let mut many = load(&program, typed);
            // The free function (one dynamic `step` per timestep) and the loop's own `run_many`
            // (what the guest calls) give the same.
            assert_eq!(run_many(many.as_mut(), 1, 3, (0, 1000), &mut h2), 0);
            let mut got = many.output().to_vec();
            let code_many = many.run_many(4, 9, (0, 1000), &mut h2);
            got.extend_from_slice(many.output());
            let c = |l: &dyn RunLoop| {
                let c = l.cursor();
                (c.timestep, c.substep, c.pos, c.blocks_done, c.status)
            };
            assert_eq!((code_many, c(many.as_ref())), (code, c(one.as_ref())), "typed {typed}, limit {limit}");
            assert_eq!((code, one.cursor().timestep, one.cursor().blocks_done), want);
            assert!(got == expect, "typed {typed}, limit {limit}: the records differ");
            assert_eq!(h2.emitted, h1.emitted);
            assert_eq!(h2.failures, h1.failures);
            assert_eq!(h2.rng_state, h1.rng_state);
        }
    }
}

/// With `values: false` (no writer reads the values, ABI.md §10) the typed loop sends each
/// update's first value of the job and leaves out the later ones (their types fix their kind);
/// everything else (marks, messages, streams, failures) is unchanged. The MessagePack loop sends
/// every value.
#[test]
fn without_values_the_typed_loop_leaves_out_all_but_the_first() {
    let blocks = || {
        vec![
            (vec![call(0, 0, None), call(1, 1, None)], vec![update(0, 4, 0), update(1, 5, 1)]),
            (vec![call(2, 1, Some(4)), call(0, 0, None)], vec![update(0, 6, 0), update(1, 5, 1)]),
            (vec![Value::Nil], vec![update(2, 7, 0)]),
        ]
    };
    let updates = [2, 2, 1];
    let (full, fh) = trace(&program(1000, blocks()), true, 6);
    let (lean, lh) = trace(&program_with(1000, blocks(), Some(false)), true, 6);
    let (msgpack, _) = trace(&program_with(1000, blocks(), Some(false)), false, 6);
    assert_eq!(msgpack, full, "the MessagePack loop sends every value");
    assert_eq!((lh.emitted, lh.failures, lh.rng_state), (fh.emitted, fh.failures, fh.rng_state));
    assert_eq!(lean[0], full[0], "timestep 1 sends every value");
    // Later timesteps: the same records with each value's length and bytes as one 0xFFFFFFFF.
    let mut one = TypedLoop::<State>::load(&program(1000, blocks()), &typed_functions()).unwrap();
    let mut lean_loop =
        TypedLoop::<State>::load(&program_with(1000, blocks(), Some(false)), &typed_functions()).unwrap();
    let (mut h1, mut h2) = (TestHost::new(7, 0), TestHost::new(7, 0));
    for t in 1..=6 {
        assert_eq!(one.run_timestep(t, 0, &mut h1), 0);
        assert_eq!(lean_loop.run_timestep(t, 0, &mut h2), 0);
        let want = if t == 1 { one.output().to_vec() } else { left_out(one.output(), &updates) };
        assert_eq!(lean_loop.output(), want, "timestep {t}");
    }
}

/// `records` (ABI.md §10) with every value replaced by the left-out word.
fn left_out(records: &[u8], updates: &[usize]) -> Vec<u8> {
    let word = |at: usize| u32::from_le_bytes(records[at..at + 4].try_into().unwrap()) as usize;
    let (mut out, mut at) = (Vec::new(), 0);
    for &n in updates {
        let marks = 4 + 8 * word(at);
        out.extend_from_slice(&records[at..at + marks]);
        at += marks;
        for _ in 0..n {
            at += 4 + word(at);
            out.extend_from_slice(&distroduce_abi::fused::OMITTED.to_le_bytes());
        }
    }
    assert_eq!(at, records.len());
    out
}

/// Quiet runs (ABI.md §10, `quiet_runs`): with no values read, blocks that emitted nothing and
/// left out every value are counted, runs spanning timesteps of one call; expanded, the records
/// are those without quiet runs, with the same cursor, messages, streams and failure (`u_n`
/// fails in block 3 of timestep 5 with `limit: 4`). Without `values: false` nothing changes.
#[test]
fn quiet_runs_count_the_blocks_that_left_out_everything() {
    let blocks = || {
        vec![
            (vec![call(0, 0, None)], vec![update(0, 4, 0), update(1, 5, 1)]),
            (vec![call(1, 0, None), call(0, 1, None)], vec![update(0, 4, 0), update(1, 5, 1)]),
            (vec![Value::Nil], vec![update(2, 7, 0)]),
        ]
    };
    let updates = [2, 2, 1];
    let quiet = |values: bool| vec![("values", Value::Bool(values)), ("quiet_runs", Value::Bool(true))];
    for limit in [1000, 4] {
        let lean = program_with(limit, blocks(), Some(false));
        let runs = program_keys(limit, blocks(), quiet(false));
        assert_eq!(
            same_in_both(&program_keys(limit, blocks(), quiet(true)), 8),
            same_in_both(&program(limit, blocks()), 8)
        );
        // The typed loop with the boxed factories (1) and with the direct table (2).
        for (kind, (t0, n)) in [1, 2].into_iter().flat_map(|k| [(1, 1), (1, 8), (2, 3)].map(|x| (k, x))) {
            let (mut h1, mut h2) = (TestHost::new(7, 0), TestHost::new(7, 0));
            let (mut want, mut got) = (load(&lean, kind), load(&runs, kind));
            let mut expect = Vec::new();
            let mut code = 0;
            if t0 > 1 {
                // Earlier timesteps, so that the first block of the call is already quiet.
                assert_eq!(run_many(want.as_mut(), 1, t0 as u32 - 1, (0, 1000), &mut h1), 0);
                assert_eq!(run_many(got.as_mut(), 1, t0 as u32 - 1, (0, 1000), &mut h2), 0);
            }
            for t in t0..t0 + n {
                want.clear_output();
                code = want.step(t, t as i64 * 1000, &mut h1);
                expect.extend_from_slice(want.output());
                if code != 0 {
                    break;
                }
            }
            let code_runs = got.run_many(t0, n as u32, (0, 1000), &mut h2);
            let out = got.output();
            let word = distroduce_abi::fused::QUIET_RUN.to_le_bytes();
            assert_eq!(
                out.windows(4).any(|w| w == word),
                t0 > 1 || n > 1,
                "loop {kind}, limit {limit}, t0 {t0}, n {n}"
            );
            assert_eq!(expand(out, &updates), expect, "loop {kind}, limit {limit}, t0 {t0}, n {n}");
            let c = |l: &dyn RunLoop| {
                let c = l.cursor();
                (c.timestep, c.substep, c.pos, c.blocks_done, c.status)
            };
            assert_eq!((code_runs, c(got.as_ref())), (code, c(want.as_ref())));
            assert_eq!((h2.emitted, h2.failures, h2.rng_state), (h1.emitted, h1.failures, h1.rng_state));
        }
    }
}

/// `records` with each quiet run written out as its blocks' records (no marks, every value left
/// out); `updates`: per block of a timestep, its number of updates.
fn expand(records: &[u8], updates: &[usize]) -> Vec<u8> {
    use distroduce_abi::fused::{OMITTED, QUIET_RUN};
    let word = |at: usize| u32::from_le_bytes(records[at..at + 4].try_into().unwrap());
    let (mut out, mut at, mut quiet, mut block) = (Vec::new(), 0, 0, 0);
    while at < records.len() || quiet > 0 {
        let n = updates[block % updates.len()];
        block += 1;
        if quiet == 0 && word(at) == QUIET_RUN {
            quiet = word(at + 4);
            assert!(quiet > 0, "an empty quiet run");
            at += 8;
        }
        if quiet > 0 {
            quiet -= 1;
            out.extend_from_slice(&0u32.to_le_bytes());
            (0..n).for_each(|_| out.extend_from_slice(&OMITTED.to_le_bytes()));
            continue;
        }
        let marks = 4 + 8 * word(at) as usize;
        out.extend_from_slice(&records[at..at + marks]);
        at += marks;
        for _ in 0..n {
            let len = word(at);
            let end = if len == OMITTED { at + 4 } else { at + 4 + len as usize };
            out.extend_from_slice(&records[at..end]);
            at = end;
        }
    }
    out
}
