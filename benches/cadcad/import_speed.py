#!/usr/bin/env python3
"""Speed of `engine import cadcad` models against cadCAD 0.5.3 (and the Rust port of robot_marbles).

Imports scenarios/cadcad/{robot_marbles,predator_prey} with the engine, then runs, interleaved,
ROUNDS times each:
  * cadCAD 0.5.3, single_proc, in-process (benches/cadcad/run_model.py),
  * the imported scenario (the model's Python functions in a component), --threads 1,
  * robot_marbles only: the hand port to Rust (scenarios/cadcad/robot_marbles/scenario.yaml), --threads 1,
all with the same N and T, records written as JSONL and compared with cadCAD's (they must be equal).
Prints the medians of the simulation time (cadCAD: around `Executor.execute()`; engine:
`sim_seconds` of its summary, which excludes loading the plugin) and of the whole process.

    benches/.venv/bin/python benches/cadcad/import_speed.py --engine target/release/engine \\
        --runs 10 --timesteps 1000 --rounds 5
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def timed(cmd, env=None):
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr}")
    return out.stdout, wall


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", default=os.path.join(ROOT, "target/release/engine"))
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--timesteps", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="import-speed-")
    n, t = str(args.runs), str(args.timesteps)
    py = sys.executable
    models = ["robot_marbles", "predator_prey"]
    for m in models:
        timed([args.engine, "import", "cadcad", os.path.join(ROOT, "scenarios/cadcad", m),
               "--out", os.path.join(work, m)])

    def cadcad(m):
        out = os.path.join(work, f"{m}.cadcad.jsonl")
        stdout, wall = timed([py, os.path.join(ROOT, "benches/cadcad/run_model.py"),
                              os.path.join(ROOT, "scenarios/cadcad", m), "--runs", n, "--timesteps", t,
                              "--out", out])
        return json.loads(stdout.strip().splitlines()[-1])["sim_seconds"], wall, out

    def engine(scenario, tag):
        out = os.path.join(work, f"out-{tag}")
        summary = os.path.join(work, f"{tag}.summary.json")
        _, wall = timed([args.engine, "run", scenario, "--runs", n, "--timesteps", t, "--kafka", "none",
                         "--threads", "1", "--out", out, "--summary-json", summary])
        with open(summary) as fh:
            return json.load(fh)["sim_seconds"], wall, os.path.join(out, "records.jsonl")

    configs = []
    for m in models:
        configs.append((f"{m}: cadCAD 0.5.3", lambda m=m: cadcad(m), m))
        configs.append((f"{m}: imported (Python component)",
                        lambda m=m: engine(os.path.join(work, m, "scenario.yaml"), f"{m}-imported"), m))
        if m == "robot_marbles":
            configs.append((f"{m}: Rust port",
                            lambda m=m: engine(os.path.join(ROOT, "scenarios/cadcad", m, "scenario.yaml"),
                                               f"{m}-rust"), m))
    # One untimed run each: compiles the components into the cache, builds the Rust plugin.
    for _, f, _ in configs:
        f()
    times = {name: [] for name, _, _ in configs}
    for _ in range(args.rounds):
        for name, f, m in configs:
            sim, wall, records = f()
            with open(records) as a, open(os.path.join(work, f"{m}.cadcad.jsonl")) as b:
                if a.read() != b.read():
                    sys.exit(f"{name}: records differ from cadCAD's ({records})")
            times[name].append((sim, wall))
    print(f"N = {args.runs}, T = {args.timesteps}, {args.rounds} interleaved rounds, medians; "
          "records equal cadCAD's in every run")
    print("| model: engine | simulation s | process s | runs (simulation s) |")
    print("|---|---|---|---|")
    for name, _, _ in configs:
        sims = [s for s, _ in times[name]]
        walls = [w for _, w in times[name]]
        print(f"| {name} | {statistics.median(sims):.3f} | {statistics.median(walls):.3f} | "
              f"{', '.join(f'{s:.2f}' for s in sims)} |")


if __name__ == "__main__":
    main()
