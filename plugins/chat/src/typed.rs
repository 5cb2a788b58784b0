//! The chat model on typed state (ABI.md §11): the state updates of [`crate::state_updates`]
//! rewritten over [`State`] and the policies' [`Actions`], for the SDK's typed in-guest loop.
//!
//! The exports stay those of `state_updates` (the host loop and the MessagePack loop run them on
//! MessagePack); `native_table!` binds each of them to its typed form here, which must compute
//! the same values and fail with the same messages (`tests/typed.rs` runs both loops on the
//! scenario's program and compares records, messages and failures byte for byte). A scenario
//! whose state does not decode into [`State`] (other variables, users that are not strings) runs
//! the MessagePack loop instead.

use crate::policies::{Actions, Msg, Text};
use crate::state_updates::{reduce_floats, reduce_ints};
use distroduce_sdk::{state_update, Ctx, Shared};
use serde::{Deserialize, Serialize};

/// A client variable. Encodes as `state_updates::Client` does; decodes the initial state's
/// singular `msg_count`/`send_time` too (the original's schema drift), which nothing reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    pub users: Vec<Text>,
    #[serde(default)]
    pub messages: Vec<Shared<Msg>>,
    #[serde(default, alias = "msg_count")]
    pub msg_counts: i64,
    #[serde(default, alias = "send_time")]
    pub send_times: f64,
}

/// A derived struct with named fields: always a map. Without a record writer the typed loop
/// sends a client's first value of a job and leaves out the rest (ABI.md §10).
impl distroduce_sdk::FixedKind for Client {}

/// The scenario's state variables (`scenarios/chat.yaml`), kept typed in the guest.
#[distroduce_sdk::state]
#[derive(Debug)]
pub struct State {
    pub record_creation: Text,
    pub client_a: Client,
    pub client_b: Client,
    pub total_msg_count: i64,
    pub total_send_time: f64,
}

/// `update_users` on typed actions: enter appends each character of the sender, exit removes
/// its first occurrence (`list.remove`), send changes nothing; kinds in the order send, enter,
/// exit, each only if `types` names it. A one-character sender (every chat user) is appended as
/// the message's own string, so a user is one shared string however many lists hold it.
fn update_users(users: &[Text], actions: &Actions) -> Result<Vec<Text>, String> {
    let mut users = users.to_vec();
    // One look at `types` for both kinds; a block of sends names neither and changes nothing.
    let (mut enter, mut exit) = (false, false);
    for t in &actions.types {
        enter |= is(t, "enter");
        exit |= is(t, "exit");
    }
    for (kind, named) in [("enter", enter), ("exit", exit)] {
        if !named {
            continue;
        }
        for msg in actions.messages.iter().filter(|m| is(&m.action, kind)) {
            let whole = msg.sender.chars().nth(1).is_none();
            for c in msg.sender.chars() {
                if kind == "enter" {
                    users.push(if whole { msg.sender.clone() } else { Text::new(c.to_string()) });
                } else {
                    let at = users
                        .iter()
                        .position(|u| u.len() == c.len_utf8() && u.starts_with(c))
                        .ok_or("list.remove(x): x not in list")?;
                    users.remove(at);
                }
            }
        }
    }
    Ok(users)
}

/// `a == b` for the short action names, compared byte by byte in place (WebAssembly has no
/// inline `memcmp`: `==` on strings is a call).
#[inline]
fn is(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// The typed form of `state_updates::send_message`.
#[state_update(typed_only)]
pub fn send_message(ctx: &Ctx, state: &State, signals: &Actions) -> Result<Client, String> {
    let var = ctx.variable().ok_or("send_message must be used as a state update")?;
    let prev = match var {
        "client_a" => &state.client_a,
        "client_b" => &state.client_b,
        _ => return Err(format!("KeyError: '{var}'")),
    };
    let users = update_users(&prev.users, signals)?;
    let msg_counts = reduce_ints(&signals.msg_counts)?;
    let send_times = reduce_floats(&signals.send_times)?;
    Ok(Client { users, messages: signals.messages.to_vec(), msg_counts, send_times })
}

/// The typed form of `state_updates::count_messages`.
#[state_update(typed_only)]
pub fn count_messages(state: &State, signals: &Actions) -> Result<i64, String> {
    let n = reduce_ints(&signals.msg_counts)?;
    state.total_msg_count.checked_add(n).ok_or_else(|| "integer overflow".to_string())
}

/// The typed form of `state_updates::add_send_time`.
#[state_update(typed_only)]
pub fn add_send_time(state: &State, signals: &Actions) -> Result<f64, String> {
    Ok(state.total_send_time + reduce_floats(&signals.send_times)?)
}
