#!/usr/bin/env bash
# Interleaved A/B of radCAD's benchmark model (scenarios/bench/radcad.yaml, one thread, no
# output) with pairs of engine and plugin builds. Per run: sim_seconds (wall, jobs only) and the
# process's CPU time (`perf stat -e task-clock`), which other processes on the machine inflate
# less than wall time. Prints medians and minima per case, and the load before and after.
#
#   ROUNDS=9 benches/radcad_ab.sh main=/tmp/engine-main:/tmp/rb-main.wasm new=target/release/engine:target/wasm/radcad_bench.wasm
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ROUNDS="${ROUNDS:-5}"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "radcad_ab: ROUNDS must be a positive integer, got '$ROUNDS'" >&2; exit 2; }
(($# > 0)) || { echo "usage: benches/radcad_ab.sh NAME=ENGINE:PLUGIN.wasm ..." >&2; exit 2; }
command -v perf >/dev/null || { echo "radcad_ab: needs perf (Debian: apt-get install linux-perf)" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
declare -A wall cpu
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= ROUNDS; r++)); do
  for spec in "$@"; do
    name="${spec%%=*}" rest="${spec#*=}"
    eng="${rest%%:*}" wasm="${rest#*:}"
    perf stat -x, -e task-clock -o "$TMP/stat" "$eng" run scenarios/bench/radcad.yaml --threads 1 --kafka none \
      --format none --plugin "rb=$wasm" --out "$TMP/out" --summary-json "$TMP/s.json" >/dev/null 2>"$TMP/err" \
      || { cat "$TMP/err" >&2; exit 1; }
    wall[$name]="${wall[$name]:-} $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['sim_seconds'])" "$TMP/s.json")"
    cpu[$name]="${cpu[$name]:-} $(grep task-clock "$TMP/stat" | cut -d, -f1)"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
for spec in "$@"; do
  name="${spec%%=*}"
  python3 - "$name" "${wall[$name]}" "${cpu[$name]}" <<'PY'
import statistics, sys
name, wall, cpu = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
print(f"{name}: sim_seconds median {statistics.median(wall):.3f} (min {min(wall):.3f}), "
      f"task-clock ms median {statistics.median(cpu):.0f} (min {min(cpu):.0f})")
PY
done
