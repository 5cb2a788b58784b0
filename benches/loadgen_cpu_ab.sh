#!/usr/bin/env bash
# CPU time of the emit path alone (issue 14 part 1): `engine run scenarios/loadgen.yaml --kafka none`
# with each ENGINE=PLUGIN pair given, pinned to one core, interleaved (the order reversed every
# other round); prints each round's task-clock (ms, all threads, `perf stat`) and each pair's median.
#
#   ROUNDS=8 RUNS=8 SIZE=100 benches/loadgen_cpu_ab.sh main=/tmp/engine-main:/tmp/loadgen-main.wasm \
#       branch=target/release/engine:target/wasm/wasm32-unknown-unknown/release/loadgen_plugin.wasm
#   # RUNS x 500 timesteps x 1,000 messages of SIZE bytes; KEYS=N for gen.emit_keyed; CPU (1)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${ROUNDS:-8}"; RUNS="${RUNS:-8}"; SIZE="${SIZE:-100}"; KEYS="${KEYS:-0}"; CPU="${CPU:-1}"
(( $# > 0 )) || { echo "usage: benches/loadgen_cpu_ab.sh LABEL=ENGINE:PLUGIN.wasm ..." >&2; exit 2; }
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
if [ "$KEYS" = 0 ]; then fn="{fn: gen.emit, args: {count: 1000, size: $SIZE}}"
else fn="{fn: gen.emit_keyed, args: {count: 1000, size: $SIZE, keys: $KEYS}}"; fi
sed -e "s#{fn: gen.emit, args: {count: 1000, size: 100}}#$fn#" -e "s#crate: ../plugins/loadgen#crate: $root/plugins/loadgen#" \
    "$root/scenarios/loadgen.yaml" >"$work/loadgen.yaml"
grep -q "size: $SIZE" "$work/loadgen.yaml" || { echo "loadgen_cpu_ab.sh: scenarios/loadgen.yaml no longer has the args this script rewrites" >&2; exit 1; }
declare -A ms
for spec in "$@"; do # compile each plugin once (wasm cache) before the rounds
    IFS='=:' read -r _ eng wasm <<<"$spec"
    "$eng" run "$work/loadgen.yaml" --plugin gen="$wasm" --runs 1 --timesteps 1 --kafka none --format none --out "$work/o" >/dev/null 2>&1
done
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
    order=("$@"); if (( r % 2 == 0 )); then order=(); for (( i=$#; i>0; i-- )); do order+=("${!i}"); done; fi
    line="round $r:"
    for spec in "${order[@]}"; do
        IFS='=:' read -r label eng wasm <<<"$spec"
        perf stat -x, -e task-clock -o "$work/stat" -- taskset -c "$CPU" "$eng" run "$work/loadgen.yaml" --plugin gen="$wasm" \
            --runs "$RUNS" --kafka none --format none --threads 1 --out "$work/o" >/dev/null 2>&1
        t="$(grep task-clock "$work/stat" | cut -d, -f1)"
        ms[$label]="${ms[$label]:-} $t"; line="$line $label $t"
    done
    echo "$line"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
for spec in "$@"; do
    IFS='=:' read -r label _ <<<"$spec"
    python3 -c 'import statistics, sys; x = [float(v) for v in sys.argv[2].split()]; print(f"{sys.argv[1]}: median {statistics.median(x):.0f} ms (min {min(x):.0f}, max {max(x):.0f})")' "$label" "${ms[$label]}"
done
