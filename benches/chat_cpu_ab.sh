#!/usr/bin/env bash
# CPU time (perf stat task-clock) of two chat plugin builds on one engine, interleaved pairs, and
# the hand-written chat's: for judging a change to the chat plugin or the guest SDK on a machine
# too busy for rates. Chat (scenarios/chat.yaml), 10 runs x 4000 timesteps, one engine thread,
# `--kafka none --format $FORMAT` (default none; jsonl, csv, parquet, ... to judge the cost of
# writing records, which the native chat does not pay: its figure stays `none`'s). Prints each pair's B/A ratio and their median (the figure to
# judge by), the CPU medians and each build's CPU over the native chat's.
#
#   benches/chat_cpu_ab.sh PAIRS A.wasm B.wasm
#
# Env: ENGINE (default target/release/engine), NATIVE_CHAT (default target/release/native-chat),
# FORMAT (default none), SCENARIO (default scenarios/chat.yaml; e.g. a copy with a moving clock).
# The first run of a module compiles it (an outlier of ~1 s); the pair medians ignore it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
(($# == 3)) || { echo "usage: benches/chat_cpu_ab.sh PAIRS A.wasm B.wasm" >&2; exit 2; }
N="$1" A="$2" B="$3"
[[ "$N" =~ ^[1-9][0-9]*$ ]] || { echo "chat_cpu_ab: PAIRS must be a positive integer, got '$N'" >&2; exit 2; }
for w in "$A" "$B"; do [[ -f "$w" ]] || { echo "chat_cpu_ab: '$w' is not a file" >&2; exit 2; }; done
ENGINE="${ENGINE:-target/release/engine}" NATIVE_CHAT="${NATIVE_CHAT:-target/release/native-chat}"
FORMAT="${FORMAT:-none}" SCENARIO="${SCENARIO:-scenarios/chat.yaml}"
[[ -f "$SCENARIO" ]] || { echo "chat_cpu_ab: SCENARIO '$SCENARIO' is not a file" >&2; exit 2; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cpu() { grep task-clock "$TMP/perf" | cut -d, -f1; }
echo "format $FORMAT, scenario $SCENARIO; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 1; i <= N; i++)); do
  for x in A B; do
    perf stat -x, -e task-clock -o "$TMP/perf" timeout -k 10 300 "$ENGINE" run "$SCENARIO" --kafka none \
      --runs 10 --timesteps 4000 --threads 1 --format "$FORMAT" --out "$TMP/o" --plugin "chat=${!x}" >/dev/null
    echo "$x $(cpu)" >>"$TMP/all"
  done
  perf stat -x, -e task-clock -o "$TMP/perf" "$NATIVE_CHAT" 10 4000 >/dev/null
  echo "native $(cpu)" >>"$TMP/all"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$TMP/all" <<'PY'
import collections, statistics, sys
c = collections.defaultdict(list)
for line in open(sys.argv[1]):
    k, ms = line.split()
    c[k].append(float(ms))
med = {k: statistics.median(v) for k, v in c.items()}
for k, v in c.items():
    print(f"{k:6} cpu median {med[k]:6.0f} ms | {', '.join(f'{x:.0f}' for x in v)}")
print(f"cpu / native: A {med['A'] / med['native']:.2f}x  B {med['B'] / med['native']:.2f}x")
d = [b / a for a, b in zip(c["A"], c["B"])]
print(f"B/A per pair: median {statistics.median(d):.3f} ({', '.join(f'{x:.3f}' for x in d)})")
PY
