//! `state_updates.py`. Each state update reads the aggregated actions of its block:
//! `{types: [..], messages: [..], send_times: [..], msg_counts: [..]}`.

use crate::policies::{created, Text};
use distroduce_sdk::{state_update, Ctx, Value};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The signals `send_message` reads. Messages and types stay dynamic so that they pass through
/// untouched and compare the way Python compares them.
#[derive(Debug, Deserialize)]
pub struct Actions {
    pub types: Vec<Value>,
    pub messages: Vec<Value>,
    pub msg_counts: Vec<i64>,
    pub send_times: Vec<f64>,
}

/// A client's next value. The plural `msg_counts`/`send_times` differ from the initial state's
/// `msg_count`/`send_time`: that schema drift is the original's and is kept.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Client {
    pub users: Vec<Value>,
    pub messages: Vec<Value>,
    pub msg_counts: i64,
    pub send_times: f64,
}

/// `functools.reduce(add, xs)` over integers: Python's error for an empty list, and a failure
/// where Python's unbounded integers would leave the `i64` range.
pub(crate) fn reduce_ints(xs: &[i64]) -> Result<i64, String> {
    let (first, rest) = xs.split_first().ok_or(EMPTY_REDUCE)?;
    rest.iter().try_fold(*first, |acc, x| acc.checked_add(*x).ok_or_else(|| "integer overflow".to_string()))
}

/// `functools.reduce(add, xs)` over floats: a left fold, as Python adds them.
pub(crate) fn reduce_floats(xs: &[f64]) -> Result<f64, String> {
    let (first, rest) = xs.split_first().ok_or(EMPTY_REDUCE)?;
    Ok(rest.iter().fold(*first, |acc, x| acc + x))
}

const EMPTY_REDUCE: &str = "reduce() of empty iterable with no initial value";

/// `for user in msg['sender']`: a string yields its characters (so only one-letter user names
/// work, as in the original), a list its items.
fn sender_items(msg: &Value) -> Result<Vec<Value>, String> {
    match msg.get("sender") {
        Some(Value::Str(s)) => Ok(s.chars().map(|c| Value::Str(c.to_string())).collect()),
        Some(Value::List(items)) => Ok(items.clone()),
        Some(other) => Err(format!("'{}' object is not iterable", other.type_name())),
        None => Err("KeyError: 'sender'".to_string()),
    }
}

/// `update_users(users, actions)`: action kinds are processed in the order send, enter, exit
/// (whatever their order in the block); enter appends the sender, exit removes its first
/// occurrence and fails if it is absent (`list.remove`), send changes nothing.
pub fn update_users(users: &[Value], actions: &Actions) -> Result<Vec<Value>, String> {
    let mut users = users.to_vec();
    for kind in ["send", "enter", "exit"] {
        if !actions.types.iter().any(|t| t.as_str() == Some(kind)) {
            continue;
        }
        for msg in &actions.messages {
            let action = msg.get("action").ok_or("KeyError: 'action'")?;
            if action.as_str() != Some(kind) || kind == "send" {
                continue;
            }
            for user in sender_items(msg)? {
                if kind == "enter" {
                    users.push(user);
                } else {
                    let at = users.iter().position(|u| *u == user).ok_or("list.remove(x): x not in list")?;
                    users.remove(at);
                }
            }
        }
    }
    Ok(users)
}

/// The `users` entry of one state variable, the only part of it `send_message` reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Users {
    /// The variable is a map whose (first) `users` entry is this list.
    List(Vec<Value>),
    /// The variable is a map whose (first) `users` entry is not a list: its type name.
    NotAList(&'static str),
    /// The variable is not a map, or a map without `users`.
    Missing,
}

/// The state as `send_message` sees it: every variable, in input order, reduced to its
/// [`Users`]. Everything else is skipped without being decoded, which is what makes this cheaper
/// than a `BTreeMap<String, Value>` of the whole state; lookups give the same answers (the last
/// of repeated variable names, the first of repeated `users` keys).
///
/// Deserialized as a map whose fields are unknown, so the describe map says nothing about its
/// reads, as for a `BTreeMap`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StateUsers(pub Vec<(String, Users)>);

impl StateUsers {
    /// The variable `name`: the last entry of that name, as a map would keep it.
    pub fn get(&self, name: &str) -> Option<&Users> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, u)| u)
    }
}

impl<'de> Deserialize<'de> for StateUsers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StateUsers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of state variables")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StateUsers, A::Error> {
                let mut vars = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some((k, v)) = map.next_entry::<String, Users>()? {
                    vars.push((k, v));
                }
                Ok(StateUsers(vars))
            }
        }
        d.deserialize_map(V)
    }
}

/// A map key, compared with `users` without being copied.
struct IsUsers(bool);

impl<'de> Deserialize<'de> for IsUsers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IsUsers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<IsUsers, E> {
                Ok(IsUsers(s == "users"))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Users {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Users;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a MessagePack value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Users, A::Error> {
                let mut users = Users::Missing;
                while let Some(IsUsers(is_users)) = map.next_key()? {
                    if is_users && users == Users::Missing {
                        users = match map.next_value::<Value>()? {
                            Value::List(items) => Users::List(items),
                            other => Users::NotAList(other.type_name()),
                        };
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(users)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Users, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Users::Missing)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Users, D::Error> {
                IgnoredAny::deserialize(d).map(|_| Users::Missing)
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Users, D::Error> {
                IgnoredAny::deserialize(d).map(|_| Users::Missing)
            }
            fn visit_unit<E>(self) -> Result<Users, E> {
                Ok(Users::Missing)
            }
            fn visit_none<E>(self) -> Result<Users, E> {
                Ok(Users::Missing)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Users, E> {
                Ok(Users::Missing)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Users, E> {
                Ok(Users::Missing)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Users, E> {
                Ok(Users::Missing)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Users, E> {
                Ok(Users::Missing)
            }
            fn visit_str<E>(self, _: &str) -> Result<Users, E> {
                Ok(Users::Missing)
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<Users, E> {
                Ok(Users::Missing)
            }
        }
        d.deserialize_any(V)
    }
}

/// `send_message(state)`, for `client_a` and `client_b` alike: the variable being updated is
/// `ctx.variable()`. Every client records all messages of the block (no per-client filtering).
#[state_update]
pub fn send_message(ctx: &Ctx, state: &StateUsers, signals: Actions) -> Result<Client, String> {
    let var = ctx.variable().ok_or("send_message must be used as a state update")?;
    let users = match state.get(var).ok_or_else(|| format!("KeyError: '{var}'"))? {
        Users::List(users) => users.as_slice(),
        Users::NotAList(type_name) => return Err(format!("`{var}.users` is a {type_name}, not a list")),
        Users::Missing => return Err(format!("KeyError: '{var}.users'")),
    };
    // The same order of checks as before: users, then the two reductions.
    let users = update_users(users, &signals)?;
    let msg_counts = reduce_ints(&signals.msg_counts)?;
    let send_times = reduce_floats(&signals.send_times)?;
    Ok(Client { users, messages: signals.messages, msg_counts, send_times })
}

#[derive(Debug, Deserialize)]
pub struct MsgCount {
    pub total_msg_count: i64,
}

#[derive(Debug, Deserialize)]
pub struct MsgCounts {
    pub msg_counts: Vec<i64>,
}

/// `count_messages`: counts every action, enter and exit included (+8 per timestep although
/// only 4 messages are published, as in the original).
#[state_update]
pub fn count_messages(state: &MsgCount, signals: &MsgCounts) -> Result<i64, String> {
    let n = reduce_ints(&signals.msg_counts)?;
    state.total_msg_count.checked_add(n).ok_or_else(|| "integer overflow".to_string())
}

#[derive(Debug, Deserialize)]
pub struct SendTime {
    pub total_send_time: f64,
}

#[derive(Debug, Deserialize)]
pub struct SendTimes {
    pub send_times: Vec<f64>,
}

/// `add_send_time`: `total + reduce(add, send_times)`, in that association order.
#[state_update]
pub fn add_send_time(state: &SendTime, signals: &SendTimes) -> Result<f64, String> {
    Ok(state.total_send_time + reduce_floats(&signals.send_times)?)
}

/// `current_time('record_creation')`: the virtual clock as Python's `str(datetime.now())`.
#[state_update]
pub fn current_time(ctx: &Ctx) -> Text {
    created(ctx.now_ns())
}
