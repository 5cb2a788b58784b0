#!/usr/bin/env bash
# The chat model per plugin language, to a null sink (`--kafka none --format none`, one thread),
# in substeps/s of simulation time (the summary's `substeps_per_sec`, which excludes plugin
# compilation), and the ratio to the Rust plugin. Each language is measured REPEAT times and the
# median is reported; all languages run in one script run, so machine noise hits them alike.
#
#   scripts/build-plugins && cargo build --release -p distroduce-cli
#   RUNS=10 TIMESTEPS=2000 REPEAT=3 benches/languages.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS="${RUNS:-10}"
TIMESTEPS="${TIMESTEPS:-2000}"
REPEAT="${REPEAT:-3}"
ENGINE="${ENGINE:-target/release/engine}"

declare -A wasm=(
  [rust]=target/wasm/wasm32-unknown-unknown/release/chat_plugin.wasm
  [go]=target/wasm/lang/chat_go.wasm
  [assemblyscript]=target/wasm/lang/chat_as.wasm
  [c]=target/wasm/lang/chat_c.wasm
  [python]=target/wasm/lang/chat_py.wasm
)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

declare -A median
for lang in rust go assemblyscript c python; do
  w="${wasm[$lang]}"
  if [[ ! -f "$w" ]]; then
    echo "languages: $w is missing (scripts/build-plugins builds it)" >&2
    exit 1
  fi
  rates=()
  for i in $(seq "$REPEAT"); do
    "$ENGINE" run scenarios/chat.yaml --plugin "chat=$w" --kafka none --format none --threads 1 \
      --runs "$RUNS" --timesteps "$TIMESTEPS" --out "$tmp/$lang" --summary-json "$tmp/s.json" >/dev/null
    rates+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["substeps_per_sec"])' "$tmp/s.json")")
  done
  median[$lang]="$(printf '%s\n' "${rates[@]}" | sort -g | sed -n "$(( (REPEAT + 1) / 2 ))p")"
  printf '%-15s %12.0f substeps/s   (runs: %s)\n' "$lang" "${median[$lang]}" "$(printf '%.0f ' "${rates[@]}")"
done
echo
for lang in go assemblyscript c python; do
  python3 -c 'import sys; l, x, r = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]); print(f"{l:<15} {x / r:6.3f} x Rust")' \
    "$lang" "${median[$lang]}" "${median[rust]}"
done
