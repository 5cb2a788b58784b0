//! The chat model in the SDK's typed loop (ABI.md §11, `chat_plugin::typed`) against the
//! MessagePack loop (§10) on the program of `scenarios/chat.yaml`: the same records byte for
//! byte, the same messages and the same failures, blamed on the same call.

use chat_plugin::typed::State;
use chat_plugin::{fused_functions, typed_functions};
use distroduce_sdk::fused::Loop;
use distroduce_sdk::native::TestHost;
use distroduce_sdk::{TypedLoop, Value};

/// 2019-10-03 00:00:00 UTC: the scenario's frozen clock.
const CLOCK: i64 = 1_570_060_800_000_000_000;
const FNS: [&str; 7] = ["enter", "send", "exit", "send_message", "count_messages", "add_send_time", "current_time"];
const VARS: [&str; 5] = ["record_creation", "client_a", "client_b", "total_msg_count", "total_send_time"];

fn v(s: &str) -> Value {
    Value::from(s)
}

fn m(entries: &[(&str, Value)]) -> Value {
    Value::Map(entries.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
}

fn enc(x: &Value) -> Value {
    Value::Bin(rmp_serde::to_vec_named(x).unwrap())
}

fn policy(f: &str, pos: i64, args: &[(&str, &str)]) -> Value {
    let f = FNS.iter().position(|n| *n == f).unwrap() as i64;
    let args: Vec<(&str, Value)> = args.iter().map(|(k, x)| (*k, v(x))).collect();
    m(&[("f", Value::Int(f)), ("pos", Value::Int(pos)), ("args", enc(&m(&args)))])
}

fn presence(f: &str, user: &str) -> Vec<Value> {
    let args = |u| [("client", "server"), ("room", "room_1"), ("user", u)];
    let other = if user == "A" { "B" } else { "A" };
    vec![policy(f, 0, &args(user)), policy(f, 1, &args(other))]
}

fn send(hi: &str) -> Vec<Value> {
    let (to_b, to_a) = (format!("{hi} B"), format!("{hi} A"));
    vec![
        policy(
            "send",
            0,
            &[("client", "client_A"), ("room", "room_1"), ("input", &to_b), ("sender", "A"), ("receiver", "B")],
        ),
        policy(
            "send",
            1,
            &[("client", "client_B"), ("room", "room_1"), ("input", &to_a), ("sender", "B"), ("receiver", "A")],
        ),
    ]
}

/// The updates of every block (the scenario's `&updates` anchor), in block order.
fn updates() -> Value {
    // (variable index in VARS, function)
    let ups =
        [(1, "send_message"), (2, "send_message"), (3, "count_messages"), (4, "add_send_time"), (0, "current_time")];
    let ups = ups.iter().enumerate().map(|(i, (var, f))| {
        let f = FNS.iter().position(|n| n == f).unwrap() as i64;
        let pos = Value::Int(0x8000_0000 + i as i64);
        m(&[("var", Value::Int(*var)), ("f", Value::Int(f)), ("pos", pos), ("args", Value::Nil)])
    });
    Value::List(ups.collect())
}

/// The program of `scenarios/chat.yaml` with `blocks` (lists of policies) and this initial client.
fn program(blocks: Vec<Vec<Value>>, client: Value) -> Vec<u8> {
    program_values(blocks, client, true)
}

/// [`program`] with the key `values` (false: no record writer, ABI.md §10).
fn program_values(blocks: Vec<Vec<Value>>, client: Value, values: bool) -> Vec<u8> {
    let reads = m(&[("state", Value::Nil), ("bookkeeping", Value::Bool(true)), ("signals", Value::Nil)]);
    let state = [v("2019-10-03 00:00:00"), client.clone(), client, Value::Int(0), Value::Float(0.0)];
    let blocks = blocks.into_iter().map(|p| m(&[("policies", Value::List(p)), ("updates", updates())])).collect();
    let p = m(&[
        ("fns", Value::List(FNS.iter().map(|f| v(f)).collect())),
        ("reads", Value::List(vec![reads; FNS.len()])),
        ("vars", Value::List(VARS.iter().map(|f| v(f)).collect())),
        ("state", Value::List(state.iter().map(enc).collect())),
        ("params", enc(&m(&[]))),
        ("job", Value::List(vec![Value::Int(0), Value::Int(0), Value::Int(1)])),
        ("seed", Value::Int(1)),
        ("zero_lone", Value::Bool(false)),
        ("agg_default", v("add")),
        ("agg", Value::List(vec![])),
        ("blocks", Value::List(blocks)),
        ("values", Value::Bool(values)),
    ]);
    rmp_serde::to_vec_named(&p).unwrap()
}

fn client0() -> Value {
    m(&[
        ("users", Value::List(vec![])),
        ("messages", Value::List(vec![])),
        ("msg_count", Value::Int(0)),
        ("send_time", Value::Float(0.0)),
    ])
}

fn chat_blocks() -> Vec<Vec<Value>> {
    vec![presence("enter", "A"), send("Hi"), send("Bye"), presence("exit", "A")]
}

/// Per timestep: status, cursor and records; then everything the host saw.
fn trace(program: &[u8], typed: bool, timesteps: u64) -> (Vec<String>, TestHost) {
    let mut host = TestHost::new(1, CLOCK);
    let mut lines = Vec::new();
    let mut typed_loop = typed.then(|| TypedLoop::<State>::load(program, &typed_functions()).unwrap());
    let mut msgpack_loop = (!typed).then(|| Loop::load(program, &fused_functions()).unwrap());
    for t in 1..=timesteps {
        let (status, c, out, msg) = match (&mut typed_loop, &mut msgpack_loop) {
            (Some(l), _) => {
                (l.run_timestep(t, CLOCK, &mut host), l.cursor, l.output().to_vec(), l.message().to_string())
            }
            (_, Some(l)) => {
                (l.run_timestep(t, CLOCK, &mut host), l.cursor, l.output().to_vec(), l.message().to_string())
            }
            _ => unreachable!(),
        };
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
    typed
}

#[test]
fn the_scenario_runs_typed_with_the_records_and_messages_of_the_msgpack_loop() {
    let program = program(chat_blocks(), client0());
    let typed = TypedLoop::<State>::load(&program, &typed_functions()).unwrap();
    assert_eq!(typed.typed_aggregation(), [true; 4], "every block concatenates its actions typed");
    let lines = same_in_both(&program, 6);
    assert!(lines.iter().all(|l| l.contains("status=0") && l.contains("done=4")), "{lines:?}");
    let (_, host) = trace(&program, true, 6);
    assert_eq!(host.emitted.len(), 6 * 4, "two sends in each of two blocks per timestep");
}

#[test]
fn an_exit_before_enter_fails_alike_in_both_loops() {
    let blocks = vec![presence("exit", "A"), presence("enter", "A")];
    let lines = same_in_both(&program(blocks, client0()), 3);
    let last = lines.last().unwrap();
    assert!(last.starts_with("t=1 status=1 substep=1 pos=2147483648 done=0"), "{last}");
    let (_, host) = trace(&program(vec![presence("exit", "A")], client0()), true, 1);
    assert_eq!(host.failures, ["list.remove(x): x not in list"]);
}

#[test]
fn users_entered_at_the_start_are_kept_as_in_the_msgpack_loop() {
    let client = m(&[("users", Value::List(vec![v("A"), v("B")])), ("messages", Value::List(vec![]))]);
    let blocks = vec![presence("exit", "B"), presence("enter", "A"), send("Hi")];
    let lines = same_in_both(&program(blocks, client), 4);
    assert!(lines.iter().all(|l| l.contains("status=0")), "{lines:?}");
}

#[test]
fn a_state_the_struct_cannot_hold_runs_the_msgpack_loop() {
    // Users that are not strings: the typed loop refuses with the reason, and the plugin's
    // `distroduce_fused_load` then runs the MessagePack loop.
    let client = m(&[("users", Value::List(vec![Value::Int(1)])), ("messages", Value::List(vec![]))]);
    let err = TypedLoop::<State>::load(&program(chat_blocks(), client.clone()), &typed_functions()).err().unwrap();
    assert!(err.contains("state.client_a"), "{err}");
    assert!(Loop::load(&program(chat_blocks(), client), &fused_functions()).is_ok());
}

/// Without a record writer (`values: false`) every update of chat sends its first value of the
/// job and leaves out the rest (ABI.md §10): strings, numbers and the `Client` struct
/// (`FixedKind`) fix their MessagePack kind. Messages and everything else stay the same.
#[test]
fn without_records_every_value_after_the_first_is_left_out() {
    let full = program(chat_blocks(), client0());
    let lean = program_values(chat_blocks(), client0(), false);
    let mut full = TypedLoop::<State>::load(&full, &typed_functions()).unwrap();
    let mut lean = TypedLoop::<State>::load(&lean, &typed_functions()).unwrap();
    let (mut fh, mut lh) = (TestHost::new(1, CLOCK), TestHost::new(1, CLOCK));
    for t in 1..=4 {
        assert_eq!(full.run_timestep(t, CLOCK, &mut fh), 0);
        assert_eq!(lean.run_timestep(t, CLOCK, &mut lh), 0);
        let out = lean.output();
        if t == 1 {
            assert_eq!(out, full.output(), "the first timestep sends every value");
            continue;
        }
        let word = |at: usize| u32::from_le_bytes(out[at..at + 4].try_into().unwrap());
        let mut at = 0;
        for block in 0..4 {
            at += 4 + 8 * word(at) as usize; // the marks
            for update in 0..VARS.len() {
                assert_eq!(word(at), u32::MAX, "t={t} block {block} update {update}: the left-out word");
                at += 4;
            }
        }
        assert_eq!(at, out.len(), "t={t}");
    }
    assert_eq!(lh.emitted, fh.emitted);
    assert_eq!(full.state().client_a, lean.state().client_a, "the state itself is kept");
}

/// The policies share a message made at the same clock reading (a frozen clock) and make a new
/// one at another: with the clock frozen, moving, going back to an earlier reading and moving
/// again, the typed loop gives the MessagePack loop's records and messages (whose args, decoded
/// per call, share nothing), every message `created` at its timestep's reading.
#[test]
fn messages_follow_the_clock_however_it_moves() {
    const S: i64 = 1_000_000_000;
    let times = [CLOCK, CLOCK, CLOCK + S, CLOCK, CLOCK + 2 * S, CLOCK + 2 * S, CLOCK - S];
    let program = program(chat_blocks(), client0());
    let run = |typed: bool| {
        let mut host = TestHost::new(1, CLOCK);
        let mut typed_loop = typed.then(|| TypedLoop::<State>::load(&program, &typed_functions()).unwrap());
        let mut msgpack_loop = (!typed).then(|| Loop::load(&program, &fused_functions()).unwrap());
        let mut outs = Vec::new();
        for (t, &at) in (1..).zip(&times) {
            host.now_ns = at;
            let (status, out) = match (&mut typed_loop, &mut msgpack_loop) {
                (Some(l), _) => (l.run_timestep(t, at, &mut host), l.output().to_vec()),
                (_, Some(l)) => (l.run_timestep(t, at, &mut host), l.output().to_vec()),
                _ => unreachable!(),
            };
            assert_eq!(status, 0, "t={t}");
            outs.push(out);
        }
        (outs, host)
    };
    let ((typed, th), (msgpack, mh)) = (run(true), run(false));
    assert_eq!(typed, msgpack);
    assert_eq!(th.emitted, mh.emitted);
    assert_eq!(th.emitted.len(), 4 * times.len());
    for (i, e) in th.emitted.iter().enumerate() {
        let created = e.get("value").and_then(|v| v.get("created")).and_then(Value::as_str);
        let want = distroduce_sdk::time::format_python(times[i / 4]);
        assert_eq!(created, Some(want.as_str()), "message {i}");
    }
}
