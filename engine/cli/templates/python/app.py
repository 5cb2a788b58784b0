"""{{name}}: a counter that moves up by a random step (1..max_step) every timestep.

componentize-py's entry module: defining the functions registers them, and `WitWorld` is the
component's export class. Parameters are matched by name (ctx, params, state, signals, args,
history); `reads` tells the engine what each function reads, so that a scenario that lacks it is
rejected before a run and each call is sent only what it reads."""

from distroduce import PluginError, policy, state_update
from distroduce.component import WitWorld  # noqa: F401


@policy(reads={"state": [], "params": ["max_step"], "signals": [], "args": []})
def step(ctx, params):
    """Draws a step from this call's seeded random stream and publishes it to `steps`."""
    max_step = params["max_step"]
    if not isinstance(max_step, int) or max_step < 1:
        raise PluginError(f"params.max_step must be an integer >= 1, got {max_step!r}")
    s = 1 + ctx.rng_u64() % max_step
    ctx.emit("steps", None, {"step": s})
    return {"step": s}


@state_update(output="int", reads={"state": ["counter"], "params": [], "signals": ["step"], "args": []})
def add_step(state, signals):
    """The new counter: the old one plus the step."""
    return state["counter"] + signals["step"]
