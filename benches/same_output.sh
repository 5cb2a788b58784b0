#!/usr/bin/env bash
# Do two builds write the same records and messages? Runs every example scenario (and radCAD's
# benchmark model, shortened) with a base engine and its plugins and with a new engine and its
# plugins, two threads, records as jsonl and parquet, message lines written, and compares every
# output file byte for byte (summary.json and metrics.json, which hold timings, excepted). For
# speed work: a step is kept only if this prints `same` for every file.
#
#   benches/same_output.sh BASE_ENGINE BASE_WASM_DIR NEW_ENGINE NEW_WASM_DIR
#
# A wasm dir holds chat_plugin.wasm, loadgen_plugin.wasm, iot_plugin.wasm, randomwalk_plugin.wasm
# and radcad_bench_plugin.wasm
# (`scripts/build-plugins` writes them to target/wasm/wasm32-unknown-unknown/release).
# Exit 0 when all are the same, 1 when any differs or is missing on one side, 2 on bad usage.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
(($# == 4)) || { echo "usage: benches/same_output.sh BASE_ENGINE BASE_WASM_DIR NEW_ENGINE NEW_WASM_DIR" >&2; exit 2; }
for f in "$1" "$3"; do [[ -x "$f" ]] || { echo "same_output: $f is not an executable" >&2; exit 2; }; done
for d in "$2" "$4"; do
  for w in chat loadgen iot randomwalk radcad_bench; do
    [[ -f "$d/${w}_plugin.wasm" ]] || { echo "same_output: $d/${w}_plugin.wasm is missing" >&2; exit 2; }
  done
done
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

# name | scenario | plugin alias=wasm | extra arguments
cases=(
  "chat|scenarios/chat.yaml|chat=chat|--runs 3 --timesteps 300"
  "chat-windows|scenarios/chat-windows.yaml|chat=chat|"
  "loadgen|scenarios/loadgen.yaml|gen=loadgen|"
  "iot|scenarios/iot.yaml|iot=iot|"
  "randomwalk|scenarios/randomwalk.yaml|walk=randomwalk|"
  "radcad|scenarios/bench/radcad.yaml|rb=radcad_bench|--timesteps 2000"
)
status=0
for c in "${cases[@]}"; do
  IFS='|' read -r name scenario plugin extra <<<"$c"
  alias="${plugin%%=*}" wasm="${plugin#*=}"
  for side in base new; do
    if [[ $side == base ]]; then eng="$1" dir="$2"; else eng="$3" dir="$4"; fi
    # shellcheck disable=SC2086 # $extra is a list of arguments
    "$eng" run "$scenario" --threads 2 --kafka none --format jsonl,parquet --write-messages \
      --plugin "$alias=$dir/${wasm}_plugin.wasm" --out "$OUT/$side/$name" $extra >/dev/null 2>"$OUT/$side-$name.err" \
      || { echo "$name: the $side engine failed:"; cat "$OUT/$side-$name.err"; status=1; continue 2; }
  done
  files="$( (cd "$OUT/base/$name" && find . -type f ! -name summary.json ! -name metrics.json; cd "$OUT/new/$name" && find . -type f ! -name summary.json ! -name metrics.json) | sort -u)"
  while read -r f; do
    a="$OUT/base/$name/$f" b="$OUT/new/$name/$f"
    if [[ ! -f $a || ! -f $b ]]; then
      echo "$name/${f#./}: only on one side"; status=1
    elif cmp -s "$a" "$b"; then
      echo "$name/${f#./}: same ($(wc -c <"$a") bytes)"
    else
      echo "$name/${f#./}: DIFFERS ($(cmp "$a" "$b" 2>&1 | head -1))"; status=1
    fi
  done <<<"$files"
done
exit $status
