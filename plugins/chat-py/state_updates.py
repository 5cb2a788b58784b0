"""`state_updates.py`, as plugins/chat/src/state_updates.rs: the same values and the same
failures (message texts included) for the same inputs."""

from distroduce import PluginError, format_python, state_update

EMPTY_REDUCE = "reduce() of empty iterable with no initial value"
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1


def _ints(xs):
    """`functools.reduce(add, xs)` over 64-bit integers (the Rust port fails on overflow)."""
    if not xs:
        raise PluginError(EMPTY_REDUCE)
    acc = _int(xs[0])
    for x in xs[1:]:
        acc += _int(x)
        if not I64_MIN <= acc <= I64_MAX:
            raise PluginError("integer overflow")
    return acc


def _int(x):
    if type(x) is not int:
        raise PluginError(f"invalid type: expected i64, found {type(x).__name__}")
    return x


def _floats(xs):
    """`functools.reduce(add, xs)` over floats: a left fold."""
    if not xs:
        raise PluginError(EMPTY_REDUCE)
    acc = float(xs[0])
    for x in xs[1:]:
        acc = acc + float(x)
    return acc


_TYPE_NAMES = {int: "int", float: "float", str: "str", bool: "bool", list: "list", dict: "map", bytes: "bytes"}


def _type_name(v):
    return "nil" if v is None else _TYPE_NAMES.get(type(v), type(v).__name__)


def _sender_items(msg):
    if "sender" not in msg:
        raise PluginError("KeyError: 'sender'")
    s = msg["sender"]
    if type(s) is str or type(s) is list:
        return list(s)
    raise PluginError(f"'{_type_name(s)}' object is not iterable")


def update_users(users, actions):
    """Action kinds in the order send, enter, exit: enter appends the sender, exit removes its
    first occurrence (failing like `list.remove`), send changes nothing."""
    users = list(users)
    types = actions["types"]
    for kind in ("send", "enter", "exit"):
        if kind not in types:
            continue
        for msg in actions["messages"]:
            if type(msg) is not dict or "action" not in msg:
                raise PluginError("KeyError: 'action'")
            if msg["action"] != kind or kind == "send":
                continue
            for user in _sender_items(msg):
                if kind == "enter":
                    users.append(user)
                elif user in users:
                    users.remove(user)
                else:
                    raise PluginError("list.remove(x): x not in list")
    return users


def _users(state, var):
    if var not in state:
        raise PluginError(f"KeyError: '{var}'")
    v = state[var]
    if type(v) is not dict or "users" not in v:
        raise PluginError(f"KeyError: '{var}.users'")
    users = v["users"]
    if type(users) is not list:
        raise PluginError(f"`{var}.users` is a {_type_name(users)}, not a list")
    return users


@state_update(output="map", reads={"params": [], "signals": ["types", "messages", "msg_counts", "send_times"], "args": []})
def send_message(ctx, state, signals):
    """For `client_a` and `client_b` alike: the variable being updated is `ctx.variable`."""
    var = ctx.variable
    if var is None:
        raise PluginError("send_message must be used as a state update")
    users = update_users(_users(state, var), signals)
    msg_counts = _ints(signals["msg_counts"])
    send_times = _floats(signals["send_times"])
    return {"users": users, "messages": signals["messages"], "msg_counts": msg_counts, "send_times": send_times}


@state_update(output="int", reads={"state": ["total_msg_count"], "params": [], "signals": ["msg_counts"], "args": []})
def count_messages(state, signals):
    """Counts every action, enter and exit included (+8 per timestep, as in the original)."""
    n = state["total_msg_count"] + _ints(signals["msg_counts"])
    if not I64_MIN <= n <= I64_MAX:
        raise PluginError("integer overflow")
    return n


@state_update(output="float", reads={"state": ["total_send_time"], "params": [], "signals": ["send_times"], "args": []})
def add_send_time(state, signals):
    """`total + reduce(add, send_times)`, in that association order."""
    return float(state["total_send_time"]) + _floats(signals["send_times"])


@state_update(output="str", reads={"state": [], "params": [], "signals": [], "args": []})
def current_time(ctx):
    """The virtual clock as Python's `str(datetime.now())`."""
    return format_python(ctx.now_ns())
