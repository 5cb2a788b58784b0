#!/usr/bin/env python3
"""radCAD's benchmark model, run by radCAD 0.14.0 or cadCAD 0.5.3 in one process.

The Python reference for ``scenarios/bench/radcad.yaml`` (plugin ``plugins/radcad-bench``), both for
speed (``benches/radcad_ratio.sh``) and for exact records (``engine/cli/tests/fixtures/radcad_bench_*``).

Origin
------
The model functions and data are those of radCAD's ``tests/test_cases/benchmark_model.py``
(CADLabs/radCAD), kept as they are, including the unused assignment in ``update_a`` (it is part
of the cost radCAD measures):

* state ``a = 1.0``, ``b = 2.0``; params ``a: [1, 2]``, ``b: [1]`` (2 subsets; ``b`` broadcast);
  RUNS = 5, TIMESTEPS = 100,000 there (here ``--runs`` and ``--timesteps``);
* PSUB 1: no policies; ``a <- a * |cos(a)|``;
* PSUB 2: five identical policies returning ``{'step_size': 1}`` (aggregated with ``+``: 5);
  ``b <- b + step_size * params['a']``.

Execution
---------
* ``--engine radcad``: ``Simulation(model, timesteps=T, runs=N)`` with
  ``Engine(backend=Backend.SINGLE_PROCESS)`` and radCAD's defaults otherwise (deepcopy on);
  times ``simulation.run()``. Needs ``radcad==0.14.0`` (``benches/radcad/requirements.txt``,
  venv ``benches/radcad/.venv`` made by ``scripts/setup-radcad``: radCAD pins numpy < 1.26.4,
  which conflicts with the cadCAD venv's numpy 2).
* ``--engine cadcad``: ``config_sim({'N': N, 'T': range(T), 'M': params})``, ``Experiment``,
  ``Executor`` in ``single_proc`` mode; times ``Executor.execute()`` (no DataFrame). Needs
  ``cadCAD==0.5.3`` (``benches/cadcad/requirements.txt``, ``benches/.venv``).

Output
------
One JSON line: ``{"engine", "runs", "timesteps", "substeps", "seconds", "substeps_per_sec"}``, where
``substeps = 2 * subsets * N * T`` and ``seconds`` is the simulation call only.

``--records FILE`` also writes the records as JSON lines, by default in the engine's output order
(simulation, subset, run: a stable sort, as radCAD runs ``for run: for subset:``;
``--native-order`` keeps the framework's order), keys ``a, b, simulation, subset,
run, substep, timestep``, ``json.dumps`` default separators (floats as Python's ``repr``), the
same format as ``engine/cli/tests/fixtures/*.cadcad.jsonl``. Writing is not timed.
"""
import argparse
import json
import math
import sys
import time

# --------------------------------------------------------------------------------------------
# radCAD tests/test_cases/benchmark_model.py
# --------------------------------------------------------------------------------------------


def policy(params, substep, state_history, previous_state):
    return {'step_size': 1}


def update_a(params, substep, state_history, previous_state, policy_input):
    a = b = c = d = e = 100.0
    return 'a', previous_state['a'] * abs(math.cos(previous_state['a']))


def update_b(params, substep, state_history, previous_state, policy_input):
    return 'b', previous_state['b'] + policy_input['step_size'] * params['a']


params = {
    'a': [1, 2],
    'b': [1]
}

states = {
    'a': 1.0,
    'b': 2.0
}

state_update_blocks = [
    {
        'policies': {},
        'variables': {
            'a': update_a
        }
    },
    {
        'policies': {
            'p_1': policy,
            'p_2': policy,
            'p_3': policy,
            'p_4': policy,
            'p_5': policy,
        },
        'variables': {
            'b': update_b
        }
    }
]

TIMESTEPS = 100_000
RUNS = 5

SUBSETS = 2                      # zip of a: [1, 2] with b: [1]
COLUMNS = ['a', 'b', 'simulation', 'subset', 'run', 'substep', 'timestep']

# --------------------------------------------------------------------------------------------
# execution
# --------------------------------------------------------------------------------------------


def run_radcad(runs, timesteps):
    """Returns (records, seconds, version)."""
    import importlib.metadata as md
    from radcad import Model, Simulation
    from radcad.engine import Engine, Backend

    model = Model(initial_state=states, state_update_blocks=state_update_blocks, params=params)
    simulation = Simulation(model=model, timesteps=timesteps, runs=runs)
    simulation.engine = Engine(backend=Backend.SINGLE_PROCESS)

    t0 = time.perf_counter()
    records = simulation.run()
    seconds = time.perf_counter() - t0
    return records, seconds, f"radCAD {md.version('radcad')}"


def run_cadcad(runs, timesteps):
    """Returns (records, seconds, version)."""
    import importlib.metadata as md
    from cadCAD.configuration import Experiment
    from cadCAD.configuration.utils import config_sim
    from cadCAD.engine import ExecutionMode, ExecutionContext, Executor

    sim_config = config_sim({'N': runs, 'T': range(timesteps), 'M': params})
    exp = Experiment()
    exp.append_model(
        initial_state=states,
        partial_state_update_blocks=state_update_blocks,
        sim_configs=sim_config,
    )
    ctx = ExecutionContext(context=ExecutionMode().single_mode)
    executor = Executor(exec_context=ctx, configs=exp.configs, supress_print=True)

    t0 = time.perf_counter()
    records, _tensor_fields, _sessions = executor.execute()
    seconds = time.perf_counter() - t0
    return records, seconds, f"cadCAD {md.version('cadCAD')}"


def engine_order(records):
    """Records in the engine's order: simulation, subset, run, then as produced (timestep, substep).

    A stable sort, so each job's rows keep the order the framework produced them in."""
    return sorted(records, key=lambda r: (r['simulation'], r['subset'], r['run']))


def write_records(records, path, native_order=False):
    with open(path, 'w', encoding='utf-8') as fh:
        for r in (records if native_order else engine_order(records)):
            fh.write(json.dumps({k: r[k] for k in COLUMNS}))
            fh.write('\n')


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--engine', choices=['radcad', 'cadcad'], required=True)
    ap.add_argument('--runs', type=int, default=RUNS, help=f'Monte Carlo runs per subset (default {RUNS})')
    ap.add_argument('--timesteps', type=int, default=TIMESTEPS, help=f'timesteps (default {TIMESTEPS})')
    ap.add_argument('--records', metavar='FILE', default=None, help='also write the records as JSON lines')
    ap.add_argument('--native-order', action='store_true',
                    help="write the records in the framework's own order instead of the engine's")
    args = ap.parse_args(argv)
    if args.runs < 1 or args.timesteps < 1:
        ap.error('--runs and --timesteps must be >= 1')

    run = run_radcad if args.engine == 'radcad' else run_cadcad
    records, seconds, version = run(args.runs, args.timesteps)

    blocks = len(state_update_blocks)
    jobs = SUBSETS * args.runs
    expected = jobs * (1 + args.timesteps * blocks)
    if len(records) != expected:
        print(f'error: {version} returned {len(records)} records, expected {expected}', file=sys.stderr)
        return 1
    if args.records:
        write_records(records, args.records, args.native_order)

    substeps = jobs * args.timesteps * blocks
    print(json.dumps({
        'engine': version, 'runs': args.runs, 'timesteps': args.timesteps, 'substeps': substeps,
        'seconds': seconds, 'substeps_per_sec': substeps / seconds if seconds > 0 else None,
    }))
    return 0


if __name__ == '__main__':
    sys.exit(main())
