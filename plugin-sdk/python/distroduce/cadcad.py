"""Run cadCAD 0.5.3 functions unchanged as plugin functions.

`engine import cadcad` writes an `app.py` that registers a model's own functions through this
module; it can also be used by hand:

    from distroduce import cadcad
    import model
    cadcad.policy(model.p_prey_births, name="p_prey_births")
    cadcad.state_update(model.s_prey_population, name="s_prey_population")

A policy is called as cadCAD calls it, `fn(params, substep, sH, s)`, and must return a dict of
signals; a state update as `fn(params, substep, sH, s, _input)`, and must return
`(variable, value)` for the variable the scenario maps it to (the engine records `value`).

* `params`: the parameter subset of the job (a dict), as cadCAD's sweep gives it.
* `substep`: the 1-based index of the block (cadCAD's `substep` argument).
* `s`: the previous record as a dict: the state variables plus `simulation, subset, run, substep,
  timestep`, with the values cadCAD gives (the engine follows cadCAD's numbering).
* `sH`: the records of completed timesteps, a list of lists of such dicts, if the scenario sets
  `history`; otherwise an object that fails the call, with a message saying to enable history,
  as soon as the function reads it.
* `_input`: the block's aggregated signals.

Each call gets fresh dicts, so a function that changes `s` in place cannot affect another call
(cadCAD shares one copy between the functions of a block).
"""

from .plugin import PluginError
from .plugin import policy as _policy
from .plugin import state_update as _state_update


class NoHistory:
    """`sH` when the scenario keeps no history: reading it fails the call with a clear message."""

    __slots__ = ("_who",)

    def __init__(self, who):
        self._who = who

    def _fail(self, *_args, **_kwargs):
        raise PluginError(
            f"{self._who} reads state_history (sH), but the scenario keeps no history: "
            "add `history: true` to the scenario (or `history: N` for the last N timesteps)"
        )

    __getitem__ = __len__ = __iter__ = __reversed__ = __contains__ = __bool__ = _fail

    def __getattr__(self, _name):
        self._fail()

    def __repr__(self):
        return "<no state history: the scenario does not set `history`>"


def _label(fn, label):
    if label:
        return label
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def policy(fn, name, label=None):
    """Register the cadCAD policy `fn` as the plugin function `name`."""
    who = _label(fn, label)
    no_history = NoHistory(who)

    def call(ctx, params, state, history):
        out = fn(params, ctx.substep, no_history if history is None else history, state)
        if not isinstance(out, dict):
            raise PluginError(
                f"{who} returned {type(out).__name__} {out!r:.80}; a cadCAD policy returns a dict of signals"
            )
        return out

    call.__name__ = name
    return _policy(call, name=name)


def state_update(fn, name, label=None):
    """Register the cadCAD state update function `fn` as the plugin function `name`."""
    who = _label(fn, label)
    no_history = NoHistory(who)

    def call(ctx, params, state, signals, history):
        out = fn(params, ctx.substep, no_history if history is None else history, state, signals)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise PluginError(
                f"{who} returned {type(out).__name__} {out!r:.80}; a cadCAD state update returns "
                f"(name, value), here ({ctx.variable!r}, value)"
            )
        variable, value = out
        if variable != ctx.variable:
            raise PluginError(
                f"{who} returned the variable {variable!r}, but the scenario uses it to update "
                f"{ctx.variable!r}; a cadCAD state update returns (name, value) for the variable "
                "its block maps it to"
            )
        return value

    call.__name__ = name
    return _state_update(call, name=name)
