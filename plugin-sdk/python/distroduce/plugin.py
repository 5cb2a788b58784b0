"""Plugin functions: the `@policy` and `@state_update` decorators, the call context, and the
dispatch the component's `call` export runs (plugin-sdk/ABI.md §3-§5).

As with the Rust SDK's macros, a function asks for parts of the input by naming them as
parameters: `ctx`, `params`, `state`, `signals`, `args`, `history`. Anything else is an error at
import time, so a typo fails the build rather than a run.
"""

import inspect
import traceback

from . import msgpack
from .time import format_python, to_datetime

INPUTS = ("ctx", "params", "state", "signals", "args", "history")
OUTPUTS = ("int", "float", "number", "str", "bool", "list", "map", "any")

# Log levels of the `log` host function.
TRACE, DEBUG, INFO, WARN, ERROR = 0, 1, 2, 3, 4


class PluginError(Exception):
    """Raise it to fail a call with just its message (any other exception reports a traceback)."""


class Function:
    """A registered plugin function."""

    __slots__ = ("name", "fn", "kind", "inputs", "describe_bytes")

    def __init__(self, name, fn, kind, inputs, describe_bytes):
        self.name = name
        self.fn = fn
        self.kind = kind
        self.inputs = inputs
        self.describe_bytes = describe_bytes


REGISTRY = {}


def _register(fn, kind, name, output, reads):
    name = name or fn.__name__
    params = list(inspect.signature(fn).parameters)
    unknown = [p for p in params if p not in INPUTS]
    if unknown:
        raise TypeError(
            f"plugin function `{name}`: unknown parameter(s) {', '.join(unknown)}; "
            f"parameters are matched by name with {', '.join(INPUTS)}"
        )
    if name in REGISTRY:
        raise TypeError(f"plugin function `{name}` is defined twice")
    if output is not None and output not in OUTPUTS:
        raise TypeError(f"plugin function `{name}`: output must be one of {', '.join(OUTPUTS)}")
    d = {"kind": kind}
    if kind == "state_update":
        d["output"] = output or "any"
    # What is not a parameter is not read (an empty list); a read parameter is unknown (nil)
    # unless `reads` names its fields.
    reads = dict(reads or {})
    r = {}
    for part in ("state", "params", "signals", "args"):
        if part in reads:
            r[part] = list(reads[part]) if reads[part] is not None else None
        else:
            r[part] = None if part in params else []
    d["reads"] = r
    REGISTRY[name] = Function(name, fn, kind, tuple(params), msgpack.packb(d))
    return fn


def policy(fn=None, *, name=None, reads=None):
    """Register a policy: it returns a dict of signals.

    `reads` (optional) names what it reads, e.g. `{"args": ["room"]}`, so that the engine checks
    scenarios against it and sends only that (ABI.md §2)."""
    if fn is None:
        return lambda f: _register(f, "policy", name, None, reads)
    return _register(fn, "policy", name, None, reads)


def state_update(fn=None, *, name=None, output=None, reads=None):
    """Register a state update: it returns the new value of its variable.

    `output` is the type of that value (int, float, number, str, bool, list, map or any)."""
    if fn is None:
        return lambda f: _register(f, "state_update", name, output, reads)
    return _register(fn, "state_update", name, output, reads)


class Ctx:
    """The call's context (`ctx` of the input) and the host functions."""

    __slots__ = ("simulation", "subset", "run", "timestep", "substep", "seed", "time_ns", "variable", "_host")

    def __init__(self, header, host):
        self.simulation = header.get("simulation", 0)
        self.subset = header.get("subset", 0)
        self.run = header.get("run", 0)
        self.timestep = header.get("timestep", 0)
        self.substep = header.get("substep", 0)
        self.seed = header.get("seed", 0)
        self.time_ns = header.get("time_ns", 0)
        self.variable = header.get("variable")
        self._host = host

    def rng_u64(self):
        """The next 64 random bits of this call's stream (ABI.md §5)."""
        return self._host.rng_u64()

    def rng_f64(self):
        """A uniform float in [0, 1) from the same stream."""
        return self._host.rng_f64()

    def now_ns(self):
        """The virtual clock, ns since the Unix epoch."""
        return self._host.now_ns()

    def now(self):
        """The virtual clock as a naive UTC `datetime`."""
        return to_datetime(self.now_ns())

    def now_str(self):
        """`str(datetime)` of the virtual clock, as the 2019 Python models printed it."""
        return format_python(self.now_ns())

    def emit(self, topic, key, value, headers=None):
        """Publish `value` to the topic alias `topic`, keyed by `key` (str, bytes or None)."""
        m = {"topic": topic, "value": value}
        if key is not None:
            m["key"] = key
        if headers:
            m["headers"] = headers
        self._host.emit(msgpack.packb(m))

    def log(self, level, msg):
        self._host.log(level, str(msg))

    def debug(self, msg):
        self.log(DEBUG, msg)

    def info(self, msg):
        self.log(INFO, msg)

    def warn(self, msg):
        self.log(WARN, msg)

    def error(self, msg):
        self.log(ERROR, msg)


_DEFAULTS = {"params": {}, "state": {}, "signals": {}, "args": None, "history": None}


def call(name, data, host):
    """Run function `name` on MessagePack input `data`; returns the MessagePack output. A failure
    is reported through `host.fail` (and empty bytes returned), as core plugins do."""
    try:
        f = REGISTRY.get(name)
        if f is None:
            raise PluginError(f"no plugin function `{name}` (have: {', '.join(sorted(REGISTRY)) or 'none'})")
        inp = msgpack.unpackb(data)
        kwargs = {}
        for p in f.inputs:
            if p == "ctx":
                kwargs[p] = Ctx(inp.get("ctx") or {}, host)
            else:
                kwargs[p] = inp.get(p, _DEFAULTS[p])
        return msgpack.packb(f.fn(**kwargs))
    except PluginError as e:
        host.fail(str(e))
    except BaseException:  # noqa: BLE001 - every failure must reach the engine, with its traceback
        host.fail(traceback.format_exc().rstrip())
    return b""


def describe(name):
    """The describe map (ABI.md §2) of `name`, or None."""
    f = REGISTRY.get(name)
    return f.describe_bytes if f else None


def functions():
    return list(REGISTRY)
