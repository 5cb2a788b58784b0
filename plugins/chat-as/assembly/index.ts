// The distroduce chat model in AssemblyScript: the same exports and behaviour as the Rust plugin
// (plugins/chat; see its README.md for the model and for each deliberate difference from the
// 2019 Python original). Records and messages are byte-identical to the Rust plugin's.

import { Ctx, describe, fail, formatPython, policy, stateUpdate, Value } from "@distroduce/sdk";
export { distroduce_abi_version, distroduce_alloc } from "@distroduce/sdk";

/** The topic alias the `send` messages go to (the original's `kafkaConfig['send_topic']`). */
const TOPIC = "chat";

// ---- action_policies.py -------------------------------------------------------------------

/**
 * `messages(client_id, room, action, _input, sender, receiver=None)`: one chat event, keys in the
 * order of the Python dict.
 */
function message(ctx: Ctx, client: string, room: string, action: string, input: string, sender: string, receiver: string | null): Value {
  return Value.map()
    .set("client", client)
    .set("room", room)
    .set("action", action)
    .set("sender", sender)
    .set("receiver", receiver)
    .set("input", input)
    .set("created", formatPython(ctx.now_ns()));
}

/** A policy's result: one action as four one-element lists, in the original's key order. */
function actions(msg: Value, action: string, sendTime: f64): Value {
  return Value.map()
    .set("types", Value.list([Value.str(action)]))
    .set("messages", Value.list([msg]))
    .set("send_times", Value.list([Value.float(sendTime)]))
    .set("msg_counts", Value.list([Value.int(1)]));
}

/** `timedelta.total_seconds()`: whole microseconds, as a float. */
function totalSeconds(ns: i64): f64 {
  let us = ns / 1000;
  if (ns % 1000 < 0) us -= 1;
  return <f64>us / 1e6;
}

/** `enter_action`: the user joins the room. Nothing is published. */
function enterAction(ctx: Ctx): Value {
  const client = ctx.args.getStr("client");
  const room = ctx.args.getStr("room");
  const user = ctx.args.getStr("user");
  const msg = message(ctx, client, room, "enter", user + " enters " + room, user, null);
  return actions(msg, "enter", 0.0);
}

/**
 * `message_actions`: publishes the message to `chat`, keyed by room, and reports how long the
 * publishing took on the virtual clock (0.0 unless the host advances the clock during a call).
 */
function messageActions(ctx: Ctx): Value {
  const client = ctx.args.getStr("client");
  const room = ctx.args.getStr("room");
  const input = ctx.args.getStr("input");
  const sender = ctx.args.getStr("sender");
  const receiver = ctx.args.getStr("receiver");
  const start = ctx.now_ns();
  const msg = message(ctx, client, room, "send", input, sender, receiver);
  ctx.emit(TOPIC, room, msg);
  const now = ctx.now_ns();
  // saturating_sub
  let elapsed = now - start;
  if (start < 0 && now > 0 && elapsed < 0) elapsed = i64.MAX_VALUE;
  else if (start > 0 && now < 0 && elapsed > 0) elapsed = i64.MIN_VALUE;
  return actions(msg, "send", totalSeconds(elapsed));
}

/** `exit_action`: the user leaves the room. Nothing is published. */
function exitAction(ctx: Ctx): Value {
  const client = ctx.args.getStr("client");
  const room = ctx.args.getStr("room");
  const user = ctx.args.getStr("user");
  const msg = message(ctx, client, room, "exit", user + " exited " + room, user, null);
  return actions(msg, "exit", 0.0);
}

// ---- state_updates.py ---------------------------------------------------------------------

const EMPTY_REDUCE = "reduce() of empty iterable with no initial value";

/** `a + b` on i64, failing where Python's unbounded integers would leave the range. */
function checkedAdd(a: i64, b: i64): i64 {
  const r = a + b;
  if (((a ^ r) & (b ^ r)) < 0) return fail<i64>("integer overflow");
  return r;
}

/** `functools.reduce(add, xs)` over integers (a float entry fails the call). */
function reduceInts(xs: Array<Value>): i64 {
  if (xs.length == 0) return fail<i64>(EMPTY_REDUCE);
  let acc = xs[0].asInt();
  for (let i = 1; i < xs.length; i++) acc = checkedAdd(acc, xs[i].asInt());
  return acc;
}

/** `functools.reduce(add, xs)` over floats: a left fold, as Python adds them. */
function reduceFloats(xs: Array<Value>): f64 {
  if (xs.length == 0) return fail<f64>(EMPTY_REDUCE);
  let acc = xs[0].asFloat();
  for (let i = 1; i < xs.length; i++) acc += xs[i].asFloat();
  return acc;
}

/**
 * `for user in msg['sender']`: a string yields its characters (so only one-letter user names
 * work, as in the original), a list its items.
 */
function senderItems(msg: Value): Array<Value> {
  const sender = msg.get("sender");
  if (sender == null) return fail<Array<Value>>("KeyError: 'sender'");
  if (sender.isStr()) {
    const s = sender.asStr();
    const out = new Array<Value>();
    for (let i = 0; i < s.length; ) {
      const cp = s.codePointAt(i);
      const units = cp > 0xffff ? 2 : 1;
      out.push(Value.str(s.substring(i, i + units)));
      i += units;
    }
    return out;
  }
  if (sender.isList()) return sender.asList().slice(0);
  return fail<Array<Value>>("'" + sender.typeName() + "' object is not iterable");
}

const KINDS: StaticArray<string> = ["send", "enter", "exit"];

/**
 * `update_users(users, actions)`: action kinds are processed in the order send, enter, exit
 * (whatever their order in the block); enter appends the sender, exit removes its first
 * occurrence and fails if it is absent (`list.remove`), send changes nothing.
 */
function updateUsers(prev: Array<Value>, types: Array<Value>, messages: Array<Value>): Array<Value> {
  const users = prev.slice(0);
  for (let k = 0; k < KINDS.length; k++) {
    const kind = KINDS[k];
    let present = false;
    for (let i = 0; i < types.length; i++) {
      if (types[i].equalsStr(kind)) {
        present = true;
        break;
      }
    }
    if (!present) continue;
    for (let m = 0; m < messages.length; m++) {
      const msg = messages[m];
      const action = msg.get("action");
      if (action == null) fail("KeyError: 'action'");
      if (!action!.equalsStr(kind) || kind == "send") continue;
      const items = senderItems(msg);
      for (let j = 0; j < items.length; j++) {
        const user = items[j];
        if (kind == "enter") {
          users.push(user);
        } else {
          let at = -1;
          for (let u = 0; u < users.length; u++) {
            if (users[u].equals(user)) {
              at = u;
              break;
            }
          }
          if (at < 0) fail("list.remove(x): x not in list");
          users.splice(at, 1);
        }
      }
    }
  }
  return users;
}

/**
 * `send_message(state)`, for `client_a` and `client_b` alike: the variable being updated is
 * `ctx.variable`. Every client records all messages of the block (no per-client filtering). The
 * result's `msg_counts`/`send_times` differ from the initial state's `msg_count`/`send_time`:
 * that schema drift is the original's and is kept.
 */
function sendMessage(ctx: Ctx): Value {
  const types = ctx.signals.getList("types");
  const messages = ctx.signals.req("messages");
  const msgCounts = ctx.signals.getList("msg_counts");
  const sendTimes = ctx.signals.getList("send_times");
  messages.asList();
  const variable = ctx.variable;
  if (variable == null) return fail<Value>("send_message must be used as a state update");
  const client = ctx.state.get(variable);
  if (client == null) return fail<Value>("KeyError: '" + variable + "'");
  const users = client.get("users");
  if (users == null) return fail<Value>("KeyError: '" + variable + ".users'");
  if (!users.isList()) return fail<Value>("`" + variable + ".users` is a " + users.typeName() + ", not a list");
  const next = updateUsers(users.asList(), types, messages.asList());
  const count = reduceInts(msgCounts);
  const time = reduceFloats(sendTimes);
  return Value.map().set("users", Value.list(next)).set("messages", messages).set("msg_counts", count).set("send_times", time);
}

/**
 * `count_messages`: counts every action, enter and exit included (+8 per timestep although only
 * 4 messages are published, as in the original).
 */
function countMessages(ctx: Ctx): i64 {
  const n = reduceInts(ctx.signals.getList("msg_counts"));
  return checkedAdd(ctx.state.getInt("total_msg_count"), n);
}

/** `add_send_time`: `total + reduce(add, send_times)`, in that association order. */
function addSendTime(ctx: Ctx): f64 {
  const total = ctx.state.getFloat("total_send_time");
  return total + reduceFloats(ctx.signals.getList("send_times"));
}

/** `current_time('record_creation')`: the virtual clock as Python's `str(datetime.now())`. */
function currentTime(ctx: Ctx): string {
  return formatPython(ctx.now_ns());
}

// ---- Exports ------------------------------------------------------------------------------

export function enter(ptr: i32, len: i32): i64 { return policy(ptr, len, enterAction); }
export function send(ptr: i32, len: i32): i64 { return policy(ptr, len, messageActions); }
export function exit(ptr: i32, len: i32): i64 { return policy(ptr, len, exitAction); }
export function send_message(ptr: i32, len: i32): i64 { return stateUpdate(ptr, len, sendMessage); }
export function count_messages(ptr: i32, len: i32): i64 { return stateUpdate(ptr, len, countMessages); }
export function add_send_time(ptr: i32, len: i32): i64 { return stateUpdate(ptr, len, addSendTime); }
export function current_time(ptr: i32, len: i32): i64 { return stateUpdate(ptr, len, currentTime); }

// Optional: what `engine plugin check` and `engine validate` use to check a scenario.
const PRESENCE = "state:; params:; signals:; args: client room user";
export function distroduce_describe_enter(): i64 { return describe("policy", "", PRESENCE); }
export function distroduce_describe_send(): i64 { return describe("policy", "", "state:; params:; signals:; args: client room input sender receiver"); }
export function distroduce_describe_exit(): i64 { return describe("policy", "", PRESENCE); }
export function distroduce_describe_send_message(): i64 { return describe("state_update", "map", "params:; signals: types messages msg_counts send_times; args:"); }
export function distroduce_describe_count_messages(): i64 { return describe("state_update", "int", "state: total_msg_count; params:; signals: msg_counts; args:"); }
export function distroduce_describe_add_send_time(): i64 { return describe("state_update", "float", "state: total_send_time; params:; signals: send_times; args:"); }
export function distroduce_describe_current_time(): i64 { return describe("state_update", "str", "state:; params:; signals:; args:"); }
