#!/usr/bin/env bash
# The cost of the per-second delivery series (bench reports): two engine builds, interleaved, on
# the unpaced publish path (scenarios/loadgen.yaml: 1M x 100 B, 2 jobs, one warm topic).
#   BEFORE=/path/engine-without AFTER=/path/engine-with BROKERS=127.0.0.1:19092 benches/series_cost.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${BEFORE:?engine without the series}" "${AFTER:?engine with the series}"
BROKERS="${BROKERS:-127.0.0.1:19092}" PAIRS="${PAIRS:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$root/scripts/build-plugins" >/dev/null
sed -e "s#{crate: ../plugins/loadgen}#{wasm: $root/target/wasm/wasm32-unknown-unknown/release/loadgen_plugin.wasm}#" \
    -e "s#load: {name: load,#load: {name: series-cost-$$,#" "$root/scenarios/loadgen.yaml" >"$work/s.yaml"
uptime
for i in $(seq "$PAIRS"); do
  for v in BEFORE AFTER; do
    "${!v}" run "$work/s.yaml" --brokers "$BROKERS" --format none --out "$work/$v-$i" >/dev/null 2>&1
    python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(sys.argv[2], sys.argv[3], round(s['msgs_per_sec']))" \
      "$work/$v-$i/summary.json" "$v" "$i"
  done
done
uptime
