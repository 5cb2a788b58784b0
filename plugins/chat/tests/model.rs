//! Runs the chat model's four blocks through the native backend with a hand-written engine
//! loop (policy results concatenated in order, all state updates reading the previous record),
//! and checks the trajectory the original produces (cadcad-semantics.md B4).

use chat_plugin::policies::{self, Actions};
use chat_plugin::state_updates::{self, Client};
use distroduce_sdk::native::{invoke, NativeFn, TestHost};
use distroduce_sdk::{List, Value};

/// 2019-10-03 00:00:00 UTC: the frozen clock of the original's fixtures.
const CLOCK: i64 = 1_570_060_800_000_000_000;

fn v(s: &str) -> Value {
    Value::from(s)
}

fn map(entries: &[(&str, Value)]) -> Value {
    Value::Map(entries.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
}

fn presence(client: &str, user: &str) -> Value {
    map(&[("client", v(client)), ("room", v("room_1")), ("user", v(user))])
}

fn send(client: &str, input: &str, sender: &str, receiver: &str) -> Value {
    map(&[
        ("client", v(client)),
        ("room", v("room_1")),
        ("input", v(input)),
        ("sender", v(sender)),
        ("receiver", v(receiver)),
    ])
}

fn call<O: serde::de::DeserializeOwned>(f: NativeFn, state: &Value, extra: &[(&str, Value)], host: &mut TestHost) -> O {
    let ctx = map(&[
        ("simulation", Value::Int(0)),
        ("subset", Value::Int(0)),
        ("run", Value::Int(1)),
        ("timestep", Value::Int(1)),
        ("substep", Value::Int(1)),
        ("seed", Value::Int(7)),
        ("time_ns", Value::Int(CLOCK)),
        ("variable", extra.iter().find(|(k, _)| *k == "variable").map_or(Value::Nil, |(_, v)| v.clone())),
    ]);
    let mut input = vec![("ctx", ctx), ("params", map(&[])), ("state", state.clone())];
    input.extend(extra.iter().filter(|(k, _)| *k != "variable").cloned());
    invoke(f, &map(&input), host).unwrap()
}

fn to_value<T: serde::Serialize>(t: &T) -> Value {
    rmp_serde::from_slice(&rmp_serde::to_vec_named(t).unwrap()).unwrap()
}

#[test]
fn one_timestep_matches_the_original() {
    let mut host = TestHost::new(1, CLOCK);
    let client0 = map(&[
        ("users", Value::List(vec![])),
        ("messages", Value::List(vec![])),
        ("msg_count", Value::Int(0)),
        ("send_time", Value::Float(0.0)),
    ]);
    let mut state = map(&[
        ("record_creation", v("2019-10-03 00:00:00")),
        ("client_a", client0.clone()),
        ("client_b", client0),
        ("total_msg_count", Value::Int(0)),
        ("total_send_time", Value::Float(0.0)),
    ]);
    let blocks: [[(NativeFn, Value); 2]; 4] = [
        [
            (policies::__distroduce_native_enter, presence("server", "A")),
            (policies::__distroduce_native_enter, presence("server", "B")),
        ],
        [
            (policies::__distroduce_native_send, send("client_A", "Hi B", "A", "B")),
            (policies::__distroduce_native_send, send("client_B", "Hi A", "B", "A")),
        ],
        [
            (policies::__distroduce_native_send, send("client_A", "Bye B", "A", "B")),
            (policies::__distroduce_native_send, send("client_B", "Bye A", "B", "A")),
        ],
        [
            (policies::__distroduce_native_exit, presence("server", "A")),
            (policies::__distroduce_native_exit, presence("server", "B")),
        ],
    ];
    let mut users_after = Vec::new();
    for block in &blocks {
        let results: Vec<Actions> =
            block.iter().map(|(f, args)| call(*f, &state, &[("args", args.clone())], &mut host)).collect();
        let agg = Actions {
            types: results.iter().flat_map(|r| r.types.clone()).collect(),
            messages: results.iter().flat_map(|r| r.messages.clone()).collect(),
            send_times: results.iter().flat_map(|r| r.send_times.clone()).collect(),
            msg_counts: results.iter().flat_map(|r| r.msg_counts.clone()).collect(),
        };
        let signals = to_value(&agg);
        let sig = |var: &str| [("signals", signals.clone()), ("variable", v(var))];
        let a: Client = call(state_updates::__distroduce_native_send_message, &state, &sig("client_a"), &mut host);
        let b: Client = call(state_updates::__distroduce_native_send_message, &state, &sig("client_b"), &mut host);
        let n: i64 =
            call(state_updates::__distroduce_native_count_messages, &state, &sig("total_msg_count"), &mut host);
        let t: f64 = call(state_updates::__distroduce_native_add_send_time, &state, &sig("total_send_time"), &mut host);
        let rc: String =
            call(state_updates::__distroduce_native_current_time, &state, &sig("record_creation"), &mut host);
        assert_eq!(a, b, "both clients record the same thing");
        assert_eq!(rc, "2019-10-03 00:00:00");
        users_after.push(a.users.iter().map(|u| u.as_str().unwrap().to_string()).collect::<Vec<_>>().join(""));
        state = map(&[
            ("record_creation", v(&rc)),
            ("client_a", to_value(&a)),
            ("client_b", to_value(&b)),
            ("total_msg_count", Value::Int(n)),
            ("total_send_time", Value::Float(t)),
        ]);
    }
    assert_eq!(users_after, ["AB", "AB", "AB", ""]);
    assert_eq!(state.get("total_msg_count"), Some(&Value::Int(8)));
    assert_eq!(state.get("total_send_time"), Some(&Value::Float(0.0)));
    // The last block's record, key for key.
    let last = state.get("client_a").unwrap();
    let keys: Vec<_> = match last {
        Value::Map(e) => e.iter().map(|(k, _)| k.as_str()).collect(),
        _ => panic!(),
    };
    assert_eq!(keys, ["users", "messages", "msg_counts", "send_times"]);
    let exit_a = &last.get("messages").unwrap().as_list().unwrap()[0];
    assert_eq!(
        exit_a,
        &map(&[
            ("client", v("server")),
            ("room", v("room_1")),
            ("action", v("exit")),
            ("sender", v("A")),
            ("receiver", Value::Nil),
            ("input", v("A exited room_1")),
            ("created", v("2019-10-03 00:00:00")),
        ])
    );
    // Only the four sends are published, keyed by room, on the `chat` alias.
    assert_eq!(host.emitted.len(), 4);
    let first = &host.emitted[0];
    assert_eq!(first.get("topic"), Some(&v("chat")));
    assert_eq!(first.get("key"), Some(&v("room_1")));
    assert_eq!(first.get("value").unwrap().get("input"), Some(&v("Hi B")));
    assert_eq!(first.get("value").unwrap().get("receiver"), Some(&v("B")));
    assert!(host.failures.is_empty());
}

#[test]
fn exit_of_an_absent_user_fails_like_list_remove() {
    let mut host = TestHost::new(1, CLOCK);
    let state = map(&[("client_a", map(&[("users", Value::List(vec![]))]))]);
    let exit = to_value(&Actions {
        types: List::one("exit".into()),
        messages: List::new(),
        send_times: List::one(0.0),
        msg_counts: List::one(1),
    });
    // No exit message in the list: nothing to remove, so no error.
    let ok: Client = call(
        state_updates::__distroduce_native_send_message,
        &state,
        &[("signals", exit), ("variable", v("client_a"))],
        &mut host,
    );
    assert!(ok.users.is_empty());
    let msg = map(&[("action", v("exit")), ("sender", v("A"))]);
    let signals = map(&[
        ("types", Value::List(vec![v("exit")])),
        ("messages", Value::List(vec![msg])),
        ("send_times", Value::List(vec![Value::Float(0.0)])),
        ("msg_counts", Value::List(vec![Value::Int(1)])),
    ]);
    let input = map(&[
        (
            "ctx",
            map(&[
                ("simulation", Value::Int(0)),
                ("subset", Value::Int(0)),
                ("run", Value::Int(1)),
                ("timestep", Value::Int(1)),
                ("substep", Value::Int(1)),
                ("seed", Value::Int(0)),
                ("time_ns", Value::Int(0)),
                ("variable", v("client_a")),
            ]),
        ),
        ("state", state),
        ("signals", signals),
    ]);
    let err = invoke::<_, Client>(state_updates::__distroduce_native_send_message, &input, &mut host).unwrap_err();
    assert_eq!(err, "list.remove(x): x not in list");
}

#[test]
fn describe_maps() {
    let d: Value = rmp_serde::from_slice(&state_updates::__distroduce_describe_current_time()).unwrap();
    assert_eq!(d.get("output"), Some(&v("str")));
    let d: Value = rmp_serde::from_slice(&state_updates::__distroduce_describe_add_send_time()).unwrap();
    assert_eq!(d.get("output"), Some(&v("float")));
    assert_eq!(d.get("reads").unwrap().get("state"), Some(&Value::List(vec![v("total_send_time")])));
    let d: Value = rmp_serde::from_slice(&state_updates::__distroduce_describe_send_message()).unwrap();
    assert_eq!(d.get("reads").unwrap().get("state"), Some(&Value::Nil));
    assert_eq!(d.get("output"), Some(&v("map")));
    let names: Vec<_> = chat_plugin::native_functions().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["enter", "send", "exit", "send_message", "count_messages", "add_send_time", "current_time"]);
}
