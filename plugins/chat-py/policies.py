"""`action_policies.py`: one policy per action kind, as plugins/chat/src/policies.rs.

Each returns one action as four one-element lists, which the engine's default aggregation
(`a + b`) concatenates in policy order."""

from distroduce import format_python, policy

TOPIC = "chat"
PRESENCE = ["client", "room", "user"]


def _message(ctx, client, room, action, text, sender, receiver=None):
    # Key order of the Python dict in the original `messages()`.
    return {
        "client": client,
        "room": room,
        "action": action,
        "sender": sender,
        "receiver": receiver,
        "input": text,
        "created": format_python(ctx.now_ns()),
    }


def _actions(msg, send_time):
    return {"types": [msg["action"]], "messages": [msg], "send_times": [send_time], "msg_counts": [1]}


def _total_seconds(ns):
    """`timedelta.total_seconds()`: whole microseconds, as a float."""
    return (ns // 1000) / 1e6


@policy(reads={"state": [], "params": [], "signals": [], "args": PRESENCE})
def enter(ctx, args):
    """The user joins the room. Nothing is published."""
    text = f"{args['user']} enters {args['room']}"
    return _actions(_message(ctx, args["client"], args["room"], "enter", text, args["user"]), 0.0)


@policy(reads={"state": [], "params": [], "signals": [], "args": ["client", "room", "input", "sender", "receiver"]})
def send(ctx, args):
    """Publishes the message to `chat`, keyed by room; reports how long that took on the clock."""
    start = ctx.now_ns()
    msg = _message(ctx, args["client"], args["room"], "send", args["input"], args["sender"], args["receiver"])
    ctx.emit(TOPIC, msg["room"], msg)
    return _actions(msg, _total_seconds(ctx.now_ns() - start))


@policy(reads={"state": [], "params": [], "signals": [], "args": PRESENCE})
def exit(ctx, args):
    """The user leaves the room. Nothing is published."""
    text = f"{args['user']} exited {args['room']}"
    return _actions(_message(ctx, args["client"], args["room"], "exit", text, args["user"]), 0.0)
