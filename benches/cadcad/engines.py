"""Run one cadCAD-style model with cadCAD 0.5.3 or radCAD 0.14.0 and write its records as JSONL.

A model is the usual cadCAD triple: ``initial_state`` (dict), ``partial_state_update_blocks``
(list of ``{'policies': {...}, 'variables': {...}}``) and ``params`` (cadCAD ``M``: a dict of
scalars and/or sweep lists). The same functions run under both engines; only the engine differs.

Both engines run in-process and sequentially (cadCAD ``single_proc``, radCAD
``Backend.SINGLE_PROCESS``), so a run is reproducible. Each engine is imported only when it is
used: cadCAD 0.5.3 and radCAD 0.14.0 need different numpy versions and live in two venvs
(``benches/.venv`` and ``benches/.venv-radcad``).

Record format (the same as ``chat_model.py`` and ``shared/conformance/*.cadcad.jsonl``): one JSON
object per record, in the engine's output order; keys are the state variables in declaration
order, then ``simulation, subset, run, substep, timestep``; ``json.dumps`` with default
separators, ``default=str`` and ``ensure_ascii=False``.
"""
import json
import os

BOOKKEEPING = ["simulation", "subset", "run", "substep", "timestep"]


def run_cadcad(initial_state, psubs, params, runs, timesteps, policy_ops=None):
    """Execute with cadCAD 0.5.3 (single_proc); returns the list of records."""
    from cadCAD.configuration import Experiment
    from cadCAD.configuration.utils import config_sim
    from cadCAD.engine import ExecutionMode, ExecutionContext, Executor

    sim = {"N": runs, "T": range(timesteps)}
    if params:
        sim["M"] = params
    kwargs = {} if policy_ops is None else {"policy_ops": policy_ops}
    exp = Experiment()
    exp.append_model(sim_configs=config_sim(sim), initial_state=initial_state,
                     partial_state_update_blocks=psubs, **kwargs)
    ctx = ExecutionContext(context=ExecutionMode().single_mode)
    records, _tensor_fields, _sessions = Executor(
        exec_context=ctx, configs=exp.configs, supress_print=True).execute()
    return records


def run_radcad(initial_state, psubs, params, runs, timesteps):
    """Execute with radCAD 0.14.0 (single process, default deepcopy); returns the records."""
    os.environ.pop("RADCAD_BACKEND", None)  # it would override the backend chosen here
    from radcad import Backend, Engine, Model, Simulation

    model = Model(initial_state=initial_state, state_update_blocks=psubs, params=params)
    sim = Simulation(model=model, timesteps=timesteps, runs=runs)
    # set after construction: radCAD 0.14's Simulation(engine=...) raises "Invalid Simulation option"
    sim.engine = Engine(backend=Backend.SINGLE_PROCESS)
    return sim.run()


def run_engine(engine, initial_state, psubs, params, runs, timesteps):
    if engine == "cadcad":
        return run_cadcad(initial_state, psubs, params, runs, timesteps)
    if engine == "radcad":
        return run_radcad(initial_state, psubs, params, runs, timesteps)
    raise ValueError(f"unknown engine {engine!r} (cadcad|radcad)")


def engine_version(engine):
    import importlib.metadata as md
    return md.version({"cadcad": "cadCAD", "radcad": "radcad"}[engine])


def write_jsonl(records, state_vars, path):
    """Write records with keys ``state_vars`` + bookkeeping, in that order.

    Every record must have exactly these keys (a SUF that creates a new variable, which cadCAD
    allows, is rejected here rather than silently written in a different layout)."""
    keys = list(state_vars) + BOOKKEEPING
    with open(path, "w", encoding="utf-8") as fh:
        for i, r in enumerate(records):
            if set(r) != set(keys):
                raise ValueError(f"record {i} has keys {sorted(r)}, expected {sorted(keys)}")
            fh.write(json.dumps({k: r[k] for k in keys}, default=str, ensure_ascii=False))
            fh.write("\n")
