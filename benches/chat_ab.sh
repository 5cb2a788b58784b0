#!/usr/bin/env bash
# Chat (scenarios/chat.yaml, frozen clock) with two builds of the chat plugin against cadCAD
# 0.5.3 and the hand-written chat, interleaved in one script run (cadCAD, A, B, native, cadCAD,
# ...), one engine thread, `--kafka none --format none`. For judging a change to the plugin or the
# SDK: the engine binary is the same for A and B.
#
#   A=old/chat_plugin.wasm B=new/chat_plugin.wasm REPEAT=3 benches/chat_ab.sh
#
# Env: A, B (plugin modules, `--plugin chat=FILE`; B defaults to the worktree's crate), REPEAT
# (default 3), RUNS, TIMESTEPS (defaults 10 and 2000), ENGINE (default target/release/engine),
# NATIVE_CHAT (default target/release/native-chat; unset it to skip). Prints one line per
# measurement and the medians in substeps/s with the load average before and after.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS="${RUNS:-10}" TIMESTEPS="${TIMESTEPS:-2000}" REPEAT="${REPEAT:-3}"
ENGINE="${ENGINE:-target/release/engine}"
NATIVE_CHAT="${NATIVE_CHAT-target/release/native-chat}"
[[ -n "${A:-}" && -f "$A" ]] || { echo "chat_ab: set A to a chat plugin .wasm" >&2; exit 2; }
[[ -z "${B:-}" || -f "$B" ]] || { echo "chat_ab: B=$B is not a file" >&2; exit 2; }
scripts/setup-python >&2
PY="$ROOT/benches/.venv/bin/python"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
engine() { # label, plugin or empty
  local args=(run scenarios/chat.yaml --threads 1 --runs "$RUNS" --timesteps "$TIMESTEPS" --kafka none
    --format none --out "$TMP/o" --summary-json "$TMP/s.json")
  [[ -n "$2" ]] && args+=(--plugin "chat=$2")
  "$ENGINE" "${args[@]}" >/dev/null
  "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[2], d["substeps"]/d["sim_seconds"])' \
    "$TMP/s.json" "$1"
}
"$ENGINE" validate scenarios/chat.yaml >/dev/null # builds and compiles the crate before timing
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$REPEAT"); do
  "$PY" benches/cadcad/chat_model.py --runs "$RUNS" --timesteps "$TIMESTEPS" --time-only \
    --frozen "2019-10-03 00:00:00" | tail -1 | "$PY" -c 'import json,sys; d=json.loads(sys.stdin.read()); print("cadcad", d["substeps"]/d["sim_seconds"])'
  engine A "$A"
  engine B "${B:-}"
  if [[ -n "$NATIVE_CHAT" ]]; then
    "$NATIVE_CHAT" "$RUNS" "$TIMESTEPS" | "$PY" -c 'import json,sys; d=json.loads(sys.stdin.read()); print("native", d["substeps"]/d["seconds"])'
  fi
done | tee "$TMP/lines"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" - "$TMP/lines" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    rows.setdefault(k, []).append(float(v))
med = {k: statistics.median(v) for k, v in rows.items()}
for k, v in rows.items():
    print(f"{k:7} median {med[k]:>12,.0f} substeps/s  ({', '.join(f'{x:,.0f}' for x in v)})")
for k in ("A", "B", "native"):
    if k in med:
        print(f"{k} / cadCAD: {med[k] / med['cadcad']:.1f}x")
if "native" in med:
    print(f"native / B: {med['native'] / med['B']:.1f}x")
PY
