#!/usr/bin/env python3
"""Fixtures that pin down where cadCAD 0.5.3 and radCAD 0.14.0 differ, produced by both engines.

Each tiny model below is run, unchanged, by cadCAD 0.5.3 and by radCAD 0.14.0, and the records
are written to ``engine/cli/tests/fixtures/sem_<name>.cadcad.jsonl`` and ``sem_<name>.radcad.jsonl``
(format: see ``engines.py``). The models make the difference visible *in the records*: a state
variable holds what a policy or SUF observed (``s['run']``, the aggregated ``_input``, the
order in which policies ran, ``s['substep']``). ``benches/cadcad/SEMANTICS.md`` states each
difference in words; ``check_claims`` below asserts those statements against the files, so a
regeneration that no longer matches the document fails.

The two engines need different numpy versions, so they live in two venvs. Without ``--engine``
this script runs itself once per engine with that engine's interpreter, then checks the claims:

    benches/.venv/bin/python benches/cadcad/semantics_fixtures.py
    # = .../benches/.venv/bin/python semantics_fixtures.py --engine cadcad
    # + .../benches/.venv-radcad/bin/python semantics_fixtures.py --engine radcad
    # + claim checks on the written files

Everything is deterministic (no clocks, no randomness, sequential execution), so rerunning
writes byte-identical files.

Function signatures are cadCAD's: ``policy(params, substep, sH, s)`` and
``suf(params, substep, sH, s, _input)``. No function here reads the ``substep`` argument:
radCAD 0.14 passes a bound method there instead of the substep number (see SEMANTICS.md).
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_OUT = os.path.join(ROOT, "engine", "cli", "tests", "fixtures")
DEFAULT_PYTHON = {
    "cadcad": os.path.join(ROOT, "benches", ".venv", "bin", "python"),
    "radcad": os.path.join(ROOT, "benches", "radcad", ".venv", "bin", "python"),
}


def sorted_dict(d):
    """A dict with sorted keys, so a record shows *which* signals arrived, not their order."""
    return {k: d[k] for k in sorted(d)}


# ---------------------------------------------------------------------------------------------
# (a) run numbering: what `run` a policy and a SUF observe, and the output order of runs/subsets
# ---------------------------------------------------------------------------------------------
def p_observe_run(params, substep, sH, s):
    return {"seen_run": s["run"]}


def s_policy_run(params, substep, sH, s, _input):
    return "policy_run", _input["seen_run"]


def s_suf_run(params, substep, sH, s, _input):
    return "suf_run", s["run"]


def s_score(params, substep, sH, s, _input):
    return "score", s["score"] + 10 * params["k"] + s["run"]


RUN_PSUBS = [{
    "policies": {"observe_run": p_observe_run},
    "variables": {"policy_run": s_policy_run, "suf_run": s_suf_run, "score": s_score},
}]
RUN_STATE = {"policy_run": 0, "suf_run": 0, "score": 0}


# ---------------------------------------------------------------------------------------------
# (b) the identity policy: what `_input` is in a block that lacks a policy name used elsewhere
# ---------------------------------------------------------------------------------------------
def emits(signals):
    """A policy that always returns a copy of `signals`."""
    def policy(params, substep, sH, s):
        return dict(signals)
    return policy


def s_record_signals(params, substep, sH, s, _input):
    return "signals", sorted_dict(_input)


IDENTITY_PSUBS = [
    # 1: both names, each emitting its own key
    {"policies": {"p_x": emits({"x": 1}), "p_y": emits({"y": 2})},
     "variables": {"signals": s_record_signals}},
    # 2: no policies at all
    {"policies": {},
     "variables": {"signals": s_record_signals}},
    # 3: only p_x (p_y is missing)
    {"policies": {"p_x": emits({"x": 10})},
     "variables": {"signals": s_record_signals}},
    # 4: both names again, but neither emits x or y (one emits z, the other nothing)
    {"policies": {"p_x": emits({"z": 3}), "p_y": emits({})},
     "variables": {"signals": s_record_signals}},
]
NO_POLICY_PSUBS = [
    {"policies": {}, "variables": {"signals": s_record_signals}},
    {"policies": {}, "variables": {"signals": s_record_signals}},
]
SIGNALS_STATE = {"signals": {}}


# ---------------------------------------------------------------------------------------------
# (c) the order in which a block's policies run and are aggregated
# ---------------------------------------------------------------------------------------------
AMOUNT = {"a": 0.1, "b": 0.2, "c": 0.3}


def labelled(name, block):
    """Policy `name` of block `block`: emits its label (list, concatenated) and a float (summed)."""
    def policy(params, substep, sH, s):
        return {"order": [f"{name}{block}"], "total": AMOUNT[name]}
    return policy


def s_order(params, substep, sH, s, _input):
    return "order", _input["order"]


def s_total(params, substep, sH, s, _input):
    return "total", _input["total"]


ORDER_VARIABLES = {"order": s_order, "total": s_total}
ORDER_PSUBS = [
    {"policies": {n: labelled(n, 1) for n in ["b", "a", "c"]}, "variables": ORDER_VARIABLES},
    {"policies": {n: labelled(n, 2) for n in ["a", "c", "b"]}, "variables": ORDER_VARIABLES},
    {"policies": {n: labelled(n, 3) for n in ["c", "b", "a"]}, "variables": ORDER_VARIABLES},
]
ORDER_STATE = {"order": [], "total": 0.0}


# ---------------------------------------------------------------------------------------------
# (d) previous_state's substep in block 1 when the model has a single block (K = 1)
# ---------------------------------------------------------------------------------------------
def p_observe_prev(params, substep, sH, s):
    return {"prev": [s["substep"], s["timestep"]]}


def s_prev(params, substep, sH, s, _input):
    return "prev", _input["prev"]


PREV_PSUBS = [{"policies": {"observe_prev": p_observe_prev}, "variables": {"prev": s_prev}}]
PREV_STATE = {"prev": []}


# name -> (initial_state, psubs, params, runs N, timesteps T)
MODELS = {
    "run_numbering": (RUN_STATE, RUN_PSUBS, {"k": [1, 2, 3]}, 1, 2),
    "run_order": (RUN_STATE, RUN_PSUBS, {"k": [1, 2]}, 2, 2),
    "identity": (SIGNALS_STATE, IDENTITY_PSUBS, {}, 1, 2),
    "no_policies": (SIGNALS_STATE, NO_POLICY_PSUBS, {}, 1, 2),
    "policy_order": (ORDER_STATE, ORDER_PSUBS, {}, 1, 2),
    "prev_substep_k1": (PREV_STATE, PREV_PSUBS, {}, 1, 3),
}


def fixture_path(out_dir, name, engine):
    return os.path.join(out_dir, f"sem_{name}.{engine}.jsonl")


def write_fixtures(engine, out_dir):
    sys.path.insert(0, HERE)
    import engines
    for name, (state, psubs, params, runs, timesteps) in MODELS.items():
        records = engines.run_engine(engine, state, psubs, params, runs, timesteps)
        engines.write_jsonl(records, list(state), fixture_path(out_dir, name, engine))
    print(f"{engine} {engines.engine_version(engine)}: wrote {len(MODELS)} fixtures to {out_dir}")


# ---------------------------------------------------------------------------------------------
# the statements of SEMANTICS.md, checked against the written files
# ---------------------------------------------------------------------------------------------
def load(out_dir, name, engine):
    with open(fixture_path(out_dir, name, engine), encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def key(r):
    return (r["subset"], r["run"], r["timestep"], r["substep"])


def check_claims(out_dir):
    cad = {n: load(out_dir, n, "cadcad") for n in MODELS}
    rad = {n: load(out_dir, n, "radcad") for n in MODELS}

    # (a) N = 1 with 3 subsets: cadCAD run = subset + 1, radCAD run = 1; policies and SUFs see it.
    for r in cad["run_numbering"]:
        assert r["run"] == r["subset"] + 1, r
    for r in rad["run_numbering"]:
        assert r["run"] == 1, r
    for r in cad["run_numbering"] + rad["run_numbering"]:
        if r["timestep"] > 0:
            assert r["policy_run"] == r["suf_run"] == r["run"], r
            k = r["subset"] + 1
            assert r["score"] == r["timestep"] * (10 * k + r["run"]), r
    # N = 2 with 2 subsets: same runs 1..N and same rows, different order.
    order = lambda recs: [(r["subset"], r["run"]) for r in recs if r["timestep"] == 0]
    assert order(cad["run_order"]) == [(0, 1), (0, 2), (1, 1), (1, 2)], order(cad["run_order"])
    assert order(rad["run_order"]) == [(0, 1), (1, 1), (0, 2), (1, 2)], order(rad["run_order"])
    assert sorted(cad["run_order"], key=key) == sorted(rad["run_order"], key=key)

    # (b) identity: cadCAD adds {'identity': 0} to _input of a block lacking a policy *name*
    # that some other block declares (or of every block when no block has policies).
    want_cad = [{"x": 1, "y": 2}, {"identity": 0}, {"identity": 0, "x": 10}, {"z": 3}]
    want_rad = [{"x": 1, "y": 2}, {}, {"x": 10}, {"z": 3}]
    for recs, want in [(cad["identity"], want_cad), (rad["identity"], want_rad)]:
        for r in recs[1:]:
            assert r["signals"] == want[r["substep"] - 1], r
    assert all(r["signals"] == {"identity": 0} for r in cad["no_policies"][1:])
    assert all(r["signals"] == {} for r in rad["no_policies"][1:])

    # (c) order: cadCAD runs every block's policies in first-appearance order of the names
    # across all blocks (b, a, c); radCAD in the block's own order.
    for r in cad["policy_order"][1:]:
        assert r["order"] == [f"{n}{r['substep']}" for n in "bac"], r
        assert r["total"] == (0.2 + 0.1) + 0.3, r
    own = {1: "bac", 2: "acb", 3: "cba"}
    for r in rad["policy_order"][1:]:
        names = own[r["substep"]]
        assert r["order"] == [f"{n}{r['substep']}" for n in names], r
        assert r["total"] == (AMOUNT[names[0]] + AMOUNT[names[1]]) + AMOUNT[names[2]], r

    # (d) K = 1: block 1 at t >= 2 sees previous substep 0 in cadCAD, 1 in radCAD.
    assert [r["prev"] for r in cad["prev_substep_k1"][1:]] == [[0, 0], [0, 1], [0, 2]]
    assert [r["prev"] for r in rad["prev_substep_k1"][1:]] == [[0, 0], [1, 1], [1, 2]]

    # Everything else is equal: the identity, policy-order and run-order models differ only where
    # stated above (checked), and the bookkeeping columns agree wherever run numbering agrees.
    for n in ["identity", "no_policies", "policy_order", "prev_substep_k1"]:
        assert [key(r) for r in cad[n]] == [key(r) for r in rad[n]], n
    print("claims of SEMANTICS.md: all hold")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", choices=["cadcad", "radcad"],
                    help="write this engine's fixtures with the current interpreter and stop")
    ap.add_argument("--out-dir", default=DEFAULT_OUT, help="default: engine/cli/tests/fixtures")
    ap.add_argument("--cadcad-python", default=DEFAULT_PYTHON["cadcad"])
    ap.add_argument("--radcad-python", default=DEFAULT_PYTHON["radcad"])
    args = ap.parse_args(argv)

    if args.engine:
        write_fixtures(args.engine, args.out_dir)
        return 0
    for engine, python in [("cadcad", args.cadcad_python), ("radcad", args.radcad_python)]:
        if not os.path.exists(python):
            sys.exit(f"semantics_fixtures: no {engine} interpreter at {python}; see the "
                     "regeneration commands in benches/cadcad/SEMANTICS.md")
        t0 = time.perf_counter()
        subprocess.run([python, os.path.abspath(__file__), "--engine", engine,
                        "--out-dir", args.out_dir], check=True)
        print(f"{engine}: {time.perf_counter() - t0:.1f} s")
    check_claims(args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
