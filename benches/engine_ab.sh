#!/usr/bin/env bash
# Interleaved A/B of engine binaries on chat (N=10, T=2000, --kafka none): ROUNDS rounds, each
# running every case of CASES ("threads:format" pairs) with every binary in turn; prints each
# run's substeps/s and the medians, and the load average before and after.
#
#   ROUNDS=10 CASES="1:none 1:jsonl 2:none" benches/engine_ab.sh /tmp/engine-main target/release/engine
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ROUNDS="${ROUNDS:-5}" CASES="${CASES:-1:none 1:jsonl 2:none}"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "engine_ab: ROUNDS must be a positive integer, got '$ROUNDS'" >&2; exit 2; }
(($# > 0)) || { echo "usage: benches/engine_ab.sh ENGINE [ENGINE...]" >&2; exit 2; }
for b in "$@"; do [[ -x "$b" ]] || { echo "engine_ab: '$b' is not an executable" >&2; exit 1; }; done
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 1; i <= ROUNDS; i++)); do
  for c in $CASES; do
    t="${c%%:*}" f="${c#*:}"
    for n in $(seq 1 $#); do
      b="${!n}"
      "$b" run scenarios/chat.yaml --kafka none --runs 10 --timesteps 2000 --threads "$t" --format "$f" \
        --out "$TMP/o" --summary-json "$TMP/s.json" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; exit 1; }
      python3 -c "import json,sys; print(sys.argv[1], sys.argv[2], round(json.load(open(sys.argv[3]))['substeps_per_sec']))" \
        "$n:$(basename "$b")" "$c" "$TMP/s.json" >> "$TMP/all"
    done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$TMP/all" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    b, c, v = line.split()
    runs[(b, c)].append(int(v))
for (b, c), v in runs.items():
    print(f"{b:28} {c:8} median {statistics.median(v):>9,.0f}   all {', '.join(f'{x:,}' for x in v)}")
PY
