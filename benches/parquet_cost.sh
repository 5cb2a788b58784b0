#!/usr/bin/env bash
# What `--format parquet` costs on top of `--format none`, next to `--format jsonl`: the chat
# scenario, interleaved (none, jsonl, parquet; REPEATS rounds), each run under /usr/bin/time.
#
#   T=100000 REPEATS=3 benches/parquet_cost.sh
#
# Env:
#   ENGINE   engine binary (default target/release/engine)
#   T        timesteps of the one run (default 100000: 400,001 records)
#   RUNS     Monte Carlo runs (default 1)
#   REPEATS  rounds (default 3)
#   OUT      scratch directory (default a temporary one, removed at the end)
#
# Output: one line per run: format, round, wall s, user s, sys s, peak RSS KB, record file bytes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENGINE="${ENGINE:-$ROOT/target/release/engine}"
T="${T:-100000}" RUNS="${RUNS:-1}" REPEATS="${REPEATS:-3}"
OUT="${OUT:-$(mktemp -d)}"
trap 'rm -rf "$OUT"' EXIT
cd "$ROOT"
# Warm-up: the plugin build and compilation caches.
"$ENGINE" run scenarios/chat.yaml --runs 1 --timesteps 10 --kafka none --format none --out "$OUT/warm" >/dev/null
for rep in $(seq 1 "$REPEATS"); do
  for fmt in none jsonl parquet; do
    rm -rf "$OUT/$fmt"
    /usr/bin/time -o "$OUT/time" -f "%e %U %S %M" "$ENGINE" run scenarios/chat.yaml --runs "$RUNS" \
      --timesteps "$T" --kafka none --format "$fmt" --out "$OUT/$fmt" >/dev/null
    read -r wall user sys rss <"$OUT/time"
    size=$(stat -c %s "$OUT/$fmt/records.$fmt" 2>/dev/null || echo 0)
    echo "$fmt round=$rep wall_s=$wall user_s=$user sys_s=$sys rss_kb=$rss file_bytes=$size"
  done
done
