#!/usr/bin/env bash
# Side-by-side speed of radCAD's benchmark model: our engine (one thread) versus radCAD 0.14.0
# (single process) and cadCAD 0.5.3 (single_proc), same runs and timesteps, repeats interleaved
# (engine, radCAD, cadCAD, engine, ...) in one script run so machine noise hits all three alike.
#
#   RUNS=5 TIMESTEPS=100000 REPEAT=3 benches/radcad_ratio.sh
#
# Env:
#   RUNS, TIMESTEPS  Monte Carlo runs per subset and timesteps (defaults 5 and 100000, radCAD's
#                    own figures: 2 subsets x 5 x 100,000 x 2 blocks = 2,000,000 substeps)
#   REPEAT           measurements per engine (default 3); the table gives medians
#   ENGINE           engine binary (default target/release/engine; `cargo build --release`)
#   NATIVE           the hand-written Rust model, the floor (default target/release/native-radcad;
#                    `cargo build --release -p distroduce-benches --bin native-radcad`)
#
# Rows: the engine as users run it (the plugin's in-guest loop, `--data-plane auto`), the engine's
# host loop (`--data-plane host`: one plugin call per function), the hand-written model in plain
# Rust (benches/native_radcad.rs, same records), radCAD and cadCAD.
#
# Every side reports simulation time only: the engine's summary `sim_seconds` (jobs, without
# plugin compilation; the plugin is built and compiled by `engine validate` before the first
# measurement), radCAD's `Simulation.run()` and cadCAD's `Executor.execute()` (no DataFrame),
# see benches/radcad/benchmark_model.py. radCAD runs in benches/radcad/.venv
# (scripts/setup-radcad), cadCAD in benches/.venv (scripts/setup-python).
#
# Output: a markdown table (median seconds, substeps/s, every measurement) with the ratios
# engine/radCAD and engine/cadCAD, then one JSON line with the raw numbers.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

RUNS="${RUNS:-5}"
TIMESTEPS="${TIMESTEPS:-100000}"
REPEAT="${REPEAT:-3}"
ENGINE="${ENGINE:-target/release/engine}"
NATIVE="${NATIVE:-target/release/native-radcad}"
SCENARIO=scenarios/bench/radcad.yaml

for v in RUNS TIMESTEPS REPEAT; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "radcad_ratio: $v must be a positive integer, got '${!v}'" >&2; exit 2; }
done
if [[ ! -x "$ENGINE" ]]; then
  echo "radcad_ratio: engine binary '$ENGINE' not found or not executable." >&2
  echo "radcad_ratio: build it first: cargo build --release  (or set ENGINE=path)" >&2
  exit 1
fi

if [[ ! -x "$NATIVE" ]]; then
  echo "radcad_ratio: '$NATIVE' not found: cargo build --release -p distroduce-benches --bin native-radcad (or set NATIVE=path)" >&2
  exit 1
fi

scripts/setup-python
scripts/setup-radcad
PY_CADCAD="$ROOT/benches/.venv/bin/python"
PY_RADCAD="$ROOT/benches/radcad/.venv/bin/python"
MODEL=benches/radcad/benchmark_model.py

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# One thread everywhere (numpy's BLAS too).
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

# Build and compile the plugin outside the measurements.
"$ENGINE" validate "$SCENARIO" > "$TMP/validate.out" 2>&1 \
  || { cat "$TMP/validate.out" >&2; echo "radcad_ratio: engine validate failed" >&2; exit 1; }

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 1; i <= REPEAT; i++)); do
  echo "radcad_ratio: [$i/$REPEAT] engine N=$RUNS T=$TIMESTEPS ..." >&2
  "$ENGINE" run "$SCENARIO" --threads 1 --kafka none --format none --runs "$RUNS" --timesteps "$TIMESTEPS" \
    --out "$TMP/out" --summary-json "$TMP/engine.$i.json" > "$TMP/engine.$i.stdout"
  echo "radcad_ratio: [$i/$REPEAT] engine, host loop ..." >&2
  "$ENGINE" run "$SCENARIO" --threads 1 --kafka none --format none --runs "$RUNS" --timesteps "$TIMESTEPS" \
    --data-plane host --out "$TMP/out" --summary-json "$TMP/host.$i.json" > "$TMP/host.$i.stdout"
  echo "radcad_ratio: [$i/$REPEAT] native Rust ..." >&2
  "$NATIVE" "$RUNS" "$TIMESTEPS" > "$TMP/native.$i.json"
  echo "radcad_ratio: [$i/$REPEAT] radCAD single process ..." >&2
  "$PY_RADCAD" "$MODEL" --engine radcad --runs "$RUNS" --timesteps "$TIMESTEPS" > "$TMP/radcad.$i.json"
  echo "radcad_ratio: [$i/$REPEAT] cadCAD single_proc ..." >&2
  "$PY_CADCAD" "$MODEL" --engine cadcad --runs "$RUNS" --timesteps "$TIMESTEPS" > "$TMP/cadcad.$i.json"
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

"$PY_CADCAD" - "$TMP" "$RUNS" "$TIMESTEPS" "$REPEAT" "$load_before" "$load_after" <<'PY'
import json, statistics, sys

tmp, runs, timesteps, repeat, load_before, load_after = sys.argv[1:7]
runs, timesteps, repeat = int(runs), int(timesteps), int(repeat)
substeps = 2 * runs * timesteps * 2   # 2 subsets, 2 blocks


def last_json(path):
    return json.loads(open(path).read().strip().splitlines()[-1])


def collect(name):
    seconds, label = [], None
    for i in range(1, repeat + 1):
        if name in ("engine", "host"):
            d = json.load(open(f"{tmp}/{name}.{i}.json"))
            got, s = d["substeps"], d["sim_seconds"]
            label = f"distroduce engine, --threads 1, {d.get('data_plane', '?')} loop"
            if d["jobs_failed"]:
                sys.exit(f"radcad_ratio: {name} run {i}: {d['jobs_failed']} jobs failed")
        elif name == "native":
            d = last_json(f"{tmp}/native.{i}.json")
            got, s, label = d["substeps"], d["seconds"], "hand-written Rust (benches/native_radcad.rs)"
        else:
            d = last_json(f"{tmp}/{name}.{i}.json")
            got, s = d["substeps"], d["seconds"]
            label = d["engine"] + (" single process" if name == "radcad" else " single_proc")
        if got != substeps:
            sys.exit(f"radcad_ratio: {name} run {i} reports {got} substeps, expected {substeps}")
        if not s > 0:
            sys.exit(f"radcad_ratio: {name} run {i}: seconds must be > 0, got {s}")
        seconds.append(s)
    med = statistics.median(seconds)
    return {"label": label, "seconds": seconds, "median_seconds": med, "substeps_per_sec": substeps / med}


ROWS = ("engine", "host", "native", "radcad", "cadcad")
res = {k: collect(k) for k in ROWS}
eng = res["engine"]["substeps_per_sec"]
ratio_radcad = eng / res["radcad"]["substeps_per_sec"]
ratio_cadcad = eng / res["cadcad"]["substeps_per_sec"]
ratio_host_radcad = res["host"]["substeps_per_sec"] / res["radcad"]["substeps_per_sec"]
native_over_engine = res["native"]["substeps_per_sec"] / eng

print(f"radCAD benchmark model N={runs} T={timesteps}: 2 subsets x N x T x 2 blocks = {substeps:,} substeps; "
      f"median of {repeat}; load average {load_before} before, {load_after} after")
print()
print("| engine | median s | substeps/s | all runs, s |")
print("|---|---|---|---|")
for k in ROWS:
    r = res[k]
    runs_s = ", ".join(f"{s:.3f}" for s in r["seconds"])
    print(f"| {r['label']} | {r['median_seconds']:.3f} | {r['substeps_per_sec']:,.0f} | {runs_s} |")
print()
print(f"engine / radCAD: **{ratio_radcad:,.1f}x**; engine / cadCAD: **{ratio_cadcad:,.1f}x**; "
      f"host loop / radCAD: {ratio_host_radcad:,.1f}x; hand-written Rust / engine: **{native_over_engine:,.1f}x** (target <= 2)")
print(json.dumps({"model": "radcad_benchmark", "runs": runs, "timesteps": timesteps, "substeps": substeps,
                  "repeat": repeat, "load_before": load_before, "load_after": load_after, **res,
                  "ratio_engine_radcad": ratio_radcad, "ratio_engine_cadcad": ratio_cadcad,
                  "ratio_host_radcad": ratio_host_radcad, "ratio_native_engine": native_over_engine}))
PY
