//! `action_policies.py`: one policy per action kind.
//!
//! Each returns one action as four one-element lists, which the engine's default aggregation
//! (`a + b`) concatenates in policy order:
//! `{types: [action], messages: [msg], send_times: [seconds], msg_counts: [1]}`.

use distroduce_sdk::time::format_python;
use distroduce_sdk::{policy, Ctx, List, Shared};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};

/// A string the args, messages, records and published values share (one allocation per job in
/// the typed loop, where the args are decoded once); encoded as a plain string.
pub type Text = Shared<String>;

/// The topic alias the `send` messages go to (the original's `kafkaConfig['send_topic']`).
pub const TOPIC: &str = "chat";

/// Args of `enter` and `exit`: `enter_action(state, room, user)`, whose first argument (named
/// `state` in the original) is the client id.
#[derive(Debug, Deserialize)]
pub struct PresenceArgs {
    pub client: Text,
    pub room: Text,
    pub user: Text,
    /// The `input` strings of `enter` and `exit`, built on first use: the typed loop decodes the
    /// args once per job, so every call of the job shares them.
    #[serde(skip)]
    inputs: [OnceCell<Text>; 2],
}

impl PresenceArgs {
    /// `"{user} {verb} {room}"` (`enters` for `which` 0, `exited` for 1), kept with the args.
    fn input(&self, which: usize, verb: &str) -> Text {
        self.inputs[which].get_or_init(|| Text::new(format!("{} {verb} {}", *self.user, *self.room))).clone()
    }
}

thread_local! {
    /// The last clock reading formatted by [`created`] and its text.
    static CREATED: RefCell<Option<(i64, Text)>> = const { RefCell::new(None) };
}

/// `str(datetime)` of the virtual clock at `ns`, shared with every other reading of the same
/// instant (a frozen or per-timestep clock formats once per step, not once per call).
pub fn created(ns: i64) -> Text {
    CREATED.with_borrow_mut(|last| match last {
        Some((at, text)) if *at == ns => text.clone(),
        _ => last.insert((ns, Text::new(format_python(ns)))).1.clone(),
    })
}

/// Args of `send`: `message_actions(state, room, message_input, sender, receiver)`.
#[derive(Debug, Deserialize)]
pub struct SendArgs {
    pub client: Text,
    pub room: Text,
    pub input: Text,
    pub sender: Text,
    pub receiver: Text,
}

/// One chat event; the field order is the key order of the Python dict in `messages()`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Msg {
    pub client: Text,
    pub room: Text,
    pub action: Cow<'static, str>,
    pub sender: Text,
    pub receiver: Option<Text>,
    pub input: Text,
    /// `str(datetime)` of the virtual clock when the action was taken.
    pub created: Text,
}

/// A policy's result, keys in the order the original inserted them. A `#[signals]` struct, so
/// that the typed loop (ABI.md §11) concatenates the lists of a block's policies without encoding
/// them; the messages are [`Shared`], so both clients and the records hold one copy of each. The
/// lists are [`List`]s: a policy's one-element lists take no allocation.
#[distroduce_sdk::signals]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actions {
    pub types: List<Cow<'static, str>>,
    pub messages: List<Shared<Msg>>,
    pub send_times: List<f64>,
    pub msg_counts: List<i64>,
}

/// `messages(client_id, room, action, _input, sender, receiver=None)`. The args' strings are
/// shared, not copied.
fn message(
    ctx: &Ctx,
    client: &Text,
    room: &Text,
    action: &'static str,
    input: Text,
    sender: &Text,
    receiver: Option<&Text>,
) -> Msg {
    Msg {
        client: client.clone(),
        room: room.clone(),
        action: Cow::Borrowed(action),
        sender: sender.clone(),
        receiver: receiver.cloned(),
        input,
        created: created(ctx.now_ns()),
    }
}

fn actions(msg: Shared<Msg>, send_time: f64) -> Actions {
    Actions {
        types: List::one(msg.action.clone()),
        messages: List::one(msg),
        send_times: List::one(send_time),
        msg_counts: List::one(1),
    }
}

/// `timedelta.total_seconds()`: whole microseconds, as a float.
fn total_seconds(ns: i64) -> f64 {
    ns.div_euclid(1_000) as f64 / 1e6
}

/// `enter_action`: the user joins the room. Nothing is published.
#[policy]
pub fn enter(ctx: &Ctx, args: &PresenceArgs) -> Actions {
    let input = args.input(0, "enters");
    actions(Shared::new(message(ctx, &args.client, &args.room, "enter", input, &args.user, None)), 0.0)
}

/// `message_actions`: publishes the message to `chat`, keyed by room, and reports how long the
/// publishing took on the virtual clock (0.0 unless the host advances the clock during a call).
#[policy]
pub fn send(ctx: &Ctx, args: &SendArgs) -> Actions {
    let start = ctx.now_ns();
    let SendArgs { client, room, input, sender, receiver } = args;
    // Emitted as the `Shared` that the records hold: the SDK's encoder keeps the bytes it
    // writes here and copies them into both clients' values.
    let msg = Shared::new(message(ctx, client, room, "send", input.clone(), sender, Some(receiver)));
    ctx.emit(TOPIC, Some(&msg.room), &msg);
    let elapsed = total_seconds(ctx.now_ns().saturating_sub(start));
    actions(msg, elapsed)
}

/// `exit_action`: the user leaves the room. Nothing is published.
#[policy]
pub fn exit(ctx: &Ctx, args: &PresenceArgs) -> Actions {
    let input = args.input(1, "exited");
    actions(Shared::new(message(ctx, &args.client, &args.room, "exit", input, &args.user, None)), 0.0)
}
