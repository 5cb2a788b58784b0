//! The chat model (scenarios/chat.yaml) written by hand in plain Rust: no engine, no plugin, no
//! MessagePack. It is the floor the engine's chat is measured against ("within 2× of hand-written
//! Rust"): it builds every record's state as plain structs and JSON-encodes every published
//! message (the engine encodes them too, even with `--kafka none`), and it produces the same
//! records as the engine with the scenario's frozen clock (checked by benches/tests/native_chat.rs).
//!
//!   native-chat RUNS TIMESTEPS [--jsonl FILE]
//!
//! Prints `{"substeps": N, "messages": M, "seconds": S}`; with `--jsonl`, writes every record as
//! the engine's `records.jsonl` has them.

use serde::Serialize;
use std::io::Write;
use std::rc::Rc;

/// The scenario's frozen virtual clock, as Python's `str(datetime)`.
const NOW: &str = "2019-10-03 00:00:00";
const ROOM: &str = "room_1";

/// One chat event, fields in the order of the original's dict.
#[derive(Debug, Clone, Serialize)]
struct Msg {
    client: String,
    room: String,
    action: &'static str,
    sender: String,
    receiver: Option<String>,
    input: String,
    created: String,
}

/// A client variable after its first update (the initial state's `msg_count`/`send_time` become
/// `msg_counts`/`send_times`, the original's schema drift). Both clients and the record share one
/// copy of the block's messages, as a Rust programmer would write it.
#[derive(Debug, Clone)]
struct Client {
    users: Vec<String>,
    messages: Rc<Vec<Msg>>,
    msg_counts: i64,
    send_times: f64,
}

#[derive(Debug, Clone)]
struct State {
    record_creation: String,
    client_a: Client,
    client_b: Client,
    total_msg_count: i64,
    total_send_time: f64,
}

#[derive(Debug, Clone)]
struct Record {
    state: State,
    run: u32,
    substep: u32,
    timestep: u64,
}

/// The two policies of each block, as (client, input, sender, receiver) or presence actions.
#[derive(Clone, Copy)]
enum Block {
    Enter,
    Send(&'static str, &'static str),
    Exit,
}

const BLOCKS: [Block; 4] = [Block::Enter, Block::Send("Hi B", "Hi A"), Block::Send("Bye B", "Bye A"), Block::Exit];

/// The two actions of `block`, in policy order (A's, then B's); sends are JSON-encoded into
/// `payload` as the engine's emit would publish them.
fn actions(block: Block, payload: &mut Vec<u8>, messages: &mut u64) -> Vec<Msg> {
    let presence = |action: &'static str, user: &str, verb: &str| Msg {
        client: "server".into(),
        room: ROOM.into(),
        action,
        sender: user.into(),
        receiver: None,
        input: format!("{user} {verb} {ROOM}"),
        created: NOW.into(),
    };
    match block {
        Block::Enter => vec![presence("enter", "A", "enters"), presence("enter", "B", "enters")],
        Block::Exit => vec![presence("exit", "A", "exited"), presence("exit", "B", "exited")],
        Block::Send(from_a, from_b) => [("client_A", from_a, "A", "B"), ("client_B", from_b, "B", "A")]
            .into_iter()
            .map(|(client, input, sender, receiver)| {
                let msg = Msg {
                    client: client.into(),
                    room: ROOM.into(),
                    action: "send",
                    sender: sender.into(),
                    receiver: Some(receiver.into()),
                    input: input.into(),
                    created: NOW.into(),
                };
                payload.clear();
                serde_json::to_writer(&mut *payload, &msg).expect("encode a message");
                std::hint::black_box(&payload);
                *messages += 1;
                msg
            })
            .collect(),
    }
}

/// `update_users`: enter appends the sender, exit removes it, send changes nothing.
fn users(prev: &[String], msgs: &[Msg]) -> Vec<String> {
    let mut users = prev.to_vec();
    for m in msgs {
        match m.action {
            "enter" => users.push(m.sender.clone()),
            "exit" => {
                let at = users.iter().position(|u| *u == m.sender).expect("the user entered before");
                users.remove(at);
            }
            _ => {}
        }
    }
    users
}

fn job(run: u32, timesteps: u64, out: &mut Vec<Record>, payload: &mut Vec<u8>, messages: &mut u64) {
    let empty = Client { users: vec![], messages: Rc::new(vec![]), msg_counts: 0, send_times: 0.0 };
    let mut s = State {
        record_creation: NOW.into(),
        client_a: empty.clone(),
        client_b: empty,
        total_msg_count: 0,
        total_send_time: 0.0,
    };
    out.push(Record { state: s.clone(), run, substep: 0, timestep: 0 });
    for t in 1..=timesteps {
        for (i, block) in BLOCKS.into_iter().enumerate() {
            let msgs = Rc::new(actions(block, payload, messages));
            let client = |prev: &Client| Client {
                users: users(&prev.users, &msgs),
                messages: Rc::clone(&msgs),
                msg_counts: msgs.len() as i64,
                send_times: 0.0,
            };
            s = State {
                record_creation: NOW.into(),
                client_a: client(&s.client_a),
                client_b: client(&s.client_b),
                total_msg_count: s.total_msg_count + msgs.len() as i64,
                total_send_time: s.total_send_time + (0.0 + 0.0),
            };
            out.push(Record { state: s.clone(), run, substep: i as u32 + 1, timestep: t });
        }
    }
}

/// A record as the engine writes it: state variables in declared order, then the bookkeeping.
/// The initial clients keep the original's singular keys.
fn json(r: &Record) -> serde_json::Value {
    let client = |c: &Client| {
        let messages: &[Msg] = &c.messages;
        if r.timestep == 0 {
            serde_json::json!({"users": c.users, "messages": messages, "msg_count": 0, "send_time": 0.0})
        } else {
            serde_json::json!({"users": c.users, "messages": messages, "msg_counts": c.msg_counts,
                               "send_times": c.send_times})
        }
    };
    serde_json::json!({
        "record_creation": r.state.record_creation, "client_a": client(&r.state.client_a),
        "client_b": client(&r.state.client_b), "total_msg_count": r.state.total_msg_count,
        "total_send_time": r.state.total_send_time, "simulation": 0, "subset": 0, "run": r.run,
        "substep": r.substep, "timestep": r.timestep,
    })
}

fn main() {
    let (runs, timesteps, mut file) = distroduce_benches::native_args("native-chat");
    let mut records = Vec::with_capacity(1 + 4 * timesteps as usize);
    let (mut substeps, mut messages, mut seconds) = (0u64, 0u64, 0.0);
    let mut payload = Vec::with_capacity(256);
    for run in 1..=runs {
        records.clear();
        let started = std::time::Instant::now();
        job(run, timesteps, &mut records, &mut payload, &mut messages);
        seconds += started.elapsed().as_secs_f64();
        substeps += records.len() as u64 - 1;
        if let Some(f) = &mut file {
            for r in &records {
                writeln!(f, "{}", json(r)).expect("write records");
            }
        }
        std::hint::black_box(&records);
    }
    if let Some(f) = &mut file {
        f.flush().expect("write records");
    }
    println!("{{\"substeps\": {substeps}, \"messages\": {messages}, \"seconds\": {seconds}}}");
}
