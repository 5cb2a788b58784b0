#!/usr/bin/env python3
"""Run a plain cadCAD-style model directory with cadCAD 0.5.3 (or radCAD 0.14.0) and write its records.

``MODEL_DIR/model.py`` must define module-level ``initial_state`` (dict),
``params`` (cadCAD ``M``: scalars and/or sweep lists; may be empty) and
``partial_state_update_blocks``. The records are written as JSONL in the fixture format of
``engines.py``: state variables in declaration order, then
``simulation, subset, run, substep, timestep``.

    benches/.venv/bin/python benches/cadcad/run_model.py scenarios/cadcad/robot_marbles \\
        --runs 2 --timesteps 20 --out engine/cli/tests/fixtures/robot_marbles.cadcad.jsonl

``--engine radcad`` runs the same model with radCAD instead (use benches/.venv-radcad/bin/python).
A JSON summary line (engine, runs, timesteps, records, seconds) goes to stdout.
"""
import argparse
import importlib.util
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import engines  # noqa: E402


def load_model(model_dir):
    path = os.path.join(model_dir, "model.py")
    name = "model_" + os.path.basename(os.path.normpath(model_dir))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", help="directory holding model.py")
    ap.add_argument("--runs", type=int, required=True, help="Monte Carlo runs N")
    ap.add_argument("--timesteps", type=int, required=True, help="timesteps T (T = range(T))")
    ap.add_argument("--out", metavar="PATH", help="write records as JSON lines")
    ap.add_argument("--engine", choices=["cadcad", "radcad"], default="cadcad")
    args = ap.parse_args(argv)
    if args.runs < 1 or args.timesteps < 0:
        ap.error("--runs must be >= 1 and --timesteps >= 0")

    m = load_model(args.model_dir)
    t0 = time.perf_counter()
    records = engines.run_engine(args.engine, m.initial_state, m.partial_state_update_blocks,
                                 m.params, args.runs, args.timesteps)
    seconds = time.perf_counter() - t0
    if args.out:
        engines.write_jsonl(records, list(m.initial_state), args.out)
    print(json.dumps({"engine": f"{args.engine} {engines.engine_version(args.engine)}",
                      "model": os.path.basename(os.path.normpath(args.model_dir)),
                      "runs": args.runs, "timesteps": args.timesteps,
                      "records": len(records), "sim_seconds": round(seconds, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
