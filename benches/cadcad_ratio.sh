#!/usr/bin/env bash
# Side-by-side speed of the distroduce chat model: cadCAD 0.5.3 (single_proc, one process)
# versus our engine (--threads 1), same N and T, in one script run so the ratio is not
# skewed by machine noise between runs.
#
#   RUNS=10 TIMESTEPS=2000 benches/cadcad_ratio.sh
#
# Env:
#   RUNS, TIMESTEPS  Monte Carlo runs and timesteps (defaults 10 and 2000: 80,000 substeps)
#   FROZEN           if set (e.g. "2019-10-03 00:00:00"), run the cadCAD model with a frozen
#                    clock; default is the real clock, as the original model used
#   ENGINE           engine binary (default target/release/engine; build it with
#                    `cargo build --release` first)
#   CADCAD_ONLY=1    measure only the cadCAD half (no engine needed; no ratio)
#
# Output: one human line, e.g.
#   chat N=10 T=2000: cadCAD 16,600 substeps/s, engine 2,000,000 substeps/s, ratio 120.5x
# then one JSON line with the raw numbers. Both sides report simulation time only:
# cadCAD's Executor.execute() (no DataFrame) and the engine's summary `sim_seconds`
# (which excludes plugin compilation).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

RUNS="${RUNS:-10}"
TIMESTEPS="${TIMESTEPS:-2000}"
ENGINE="${ENGINE:-target/release/engine}"
CADCAD_ONLY="${CADCAD_ONLY:-0}"
FROZEN="${FROZEN:-}"

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "cadcad_ratio: RUNS must be a positive integer, got '$RUNS'" >&2; exit 2; }
[[ "$TIMESTEPS" =~ ^[1-9][0-9]*$ ]] || { echo "cadcad_ratio: TIMESTEPS must be a positive integer, got '$TIMESTEPS'" >&2; exit 2; }

if [[ "$CADCAD_ONLY" != "1" ]]; then
  if [[ ! -x "$ENGINE" ]]; then
    echo "cadcad_ratio: engine binary '$ENGINE' not found or not executable." >&2
    echo "cadcad_ratio: build it first: cargo build --release  (or set ENGINE=path, or CADCAD_ONLY=1)" >&2
    exit 1
  fi
  if [[ ! -f scenarios/chat.yaml ]]; then
    echo "cadcad_ratio: scenarios/chat.yaml is missing" >&2
    exit 1
  fi
fi

scripts/setup-python
PY="$ROOT/benches/.venv/bin/python"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# Single-threaded Python side (cadCAD single_proc is one process; keep numpy's BLAS to one thread).
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

cadcad_args=(--runs "$RUNS" --timesteps "$TIMESTEPS" --time-only)
[[ -n "$FROZEN" ]] && cadcad_args+=(--frozen "$FROZEN")
echo "cadcad_ratio: cadCAD 0.5.3 chat N=$RUNS T=$TIMESTEPS ..." >&2
"$PY" benches/cadcad/chat_model.py "${cadcad_args[@]}" > "$TMP/cadcad.json"

if [[ "$CADCAD_ONLY" != "1" ]]; then
  echo "cadcad_ratio: engine chat N=$RUNS T=$TIMESTEPS ..." >&2
  "$ENGINE" run scenarios/chat.yaml --threads 1 --runs "$RUNS" --timesteps "$TIMESTEPS" \
    --kafka none --format none --summary-json "$TMP/summary.json" > "$TMP/engine.stdout"
  if [[ ! -s "$TMP/summary.json" ]]; then
    echo "cadcad_ratio: the engine did not write $TMP/summary.json" >&2
    exit 1
  fi
fi

"$PY" - "$TMP/cadcad.json" "$TMP/summary.json" "$RUNS" "$TIMESTEPS" "$CADCAD_ONLY" "$FROZEN" <<'PY'
import json, sys

cad_path, eng_path, runs, timesteps, cadcad_only, frozen = sys.argv[1:7]
runs, timesteps = int(runs), int(timesteps)
expected = runs * timesteps * 4

cad = json.loads(open(cad_path).read().strip().splitlines()[-1])
if cad["substeps"] != expected:
    sys.exit(f"cadcad_ratio: cadCAD reports {cad['substeps']} substeps, expected {expected}")
cad_rate = cad["substeps"] / cad["sim_seconds"]
out = {
    "model": "chat", "runs": runs, "timesteps": timesteps, "substeps": expected,
    "cadcad": {"engine": cad["engine"], "sim_seconds": cad["sim_seconds"],
               "substeps_per_second": cad_rate, "frozen_clock": frozen or None},
}
line = f"chat N={runs} T={timesteps}: cadCAD {cad_rate:,.0f} substeps/s"

if cadcad_only != "1":
    eng = json.load(open(eng_path))
    for key in ("substeps", "sim_seconds", "wall_seconds"):
        if key not in eng:
            sys.exit(f"cadcad_ratio: engine summary lacks '{key}': {eng}")
    if eng["substeps"] != expected:
        sys.exit(f"cadcad_ratio: engine reports {eng['substeps']} substeps, expected {expected}")
    if not eng["sim_seconds"] > 0:
        sys.exit(f"cadcad_ratio: engine sim_seconds must be > 0, got {eng['sim_seconds']}")
    eng_rate = eng["substeps"] / eng["sim_seconds"]
    ratio = eng_rate / cad_rate
    out["engine"] = {"sim_seconds": eng["sim_seconds"], "wall_seconds": eng["wall_seconds"],
                     "substeps_per_second": eng_rate, "threads": 1}
    out["ratio"] = ratio
    line += f", engine {eng_rate:,.0f} substeps/s, ratio {ratio:,.1f}x"
else:
    out["engine"] = None
    out["ratio"] = None
    line += " (engine not run: CADCAD_ONLY=1)"

print(line)
print(json.dumps(out))
PY
