#!/usr/bin/env bash
# The throughput cost of Kafka transactions per transaction size: scenarios/loadgen.yaml (unkeyed
# 100-byte messages, 2 jobs) at N messages per timestep, with `kafka.transactions: off` against
# `timestep` (one transaction per job and timestep, i.e. N messages each), the same total number of
# messages in every cell, interleaved repeats, against a real broker. Both modes use acks=all and
# the idempotent producer (which transactions require), so only the transactions differ.
#
#   BROKERS=127.0.0.1:19092 REPEAT=3 benches/txn.sh          # prints one line per run, then a table
#
# Env: ENGINE (default target/release/engine), SIZES (default "10 100 1000 10000"),
#      TOTAL messages per run (default 200000), REPEAT (default 3), THREADS (default 2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${BROKERS:?set BROKERS to a real broker, e.g. 127.0.0.1:19092 (scripts/kafka-local start)}"
ENGINE="${ENGINE:-target/release/engine}"
SIZES="${SIZES:-10 100 1000 10000}"
TOTAL="${TOTAL:-200000}"
REPEAT="${REPEAT:-3}"
THREADS="${THREADS:-2}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
stamp="$(date +%s)"
wasm="$(pwd)/target/wasm/wasm32-unknown-unknown/release/loadgen_plugin.wasm"
[[ -f "$wasm" ]] || scripts/build-plugins >/dev/null

# scenario N MODE: loadgen with N messages per timestep, TOTAL/N/2 timesteps per job (2 jobs).
scenario() {
  local n="$1" mode="$2" f="$tmp/loadgen-$1-$2.yaml"
  sed -e "s|{crate: ../plugins/loadgen}|{wasm: $wasm}|" \
    -e "s|^timesteps: .*|timesteps: $((TOTAL / n / 2))|" \
    -e "s|args: {count: 1000, size: 100}|args: {count: $n, size: 100}|" \
    -e "s|load: {name: load,|load: {name: load-txnbench-$stamp,|" \
    -e "s|producer: {linger.ms: 5, batch.size: 1000000, acks: 1}|producer: {linger.ms: 5, batch.size: 1000000, acks: all, enable.idempotence: true}\n  transactions: $mode\n  transactional_id_prefix: txnbench-$stamp-$n|" \
    scenarios/loadgen.yaml >"$f"
  grep -q "transactions: $mode" "$f" && grep -q "count: $n," "$f" || { echo "txn.sh: scenarios/loadgen.yaml changed" >&2; exit 1; }
  echo "$f"
}

results="$tmp/results.tsv"
for rep in $(seq "$REPEAT"); do
  for n in $SIZES; do
    for mode in off timestep; do
      "$ENGINE" run "$(scenario "$n" "$mode")" --brokers "$BROKERS" --threads "$THREADS" --format none \
        --out "$tmp/out" --summary-json "$tmp/s.json" >/dev/null
      line="$(python3 - "$tmp/s.json" "$n" "$mode" "$rep" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
d = s["delivery"]
t = d.get("transactions") or {}
c = t.get("commit_ms") or [0, 0, 0, 0, 0]
assert d["acked"] == d["produced"] == s["messages_emitted"] and d["failed"] == 0, d
print("\t".join(map(str, [sys.argv[2], sys.argv[3], sys.argv[4], d["produced"], round(s["msgs_per_sec"]),
      round(s["wall_seconds"], 2), t.get("committed", 0), c[0], c[2]])))
PY
)"
      echo "$line" | tee -a "$results"
    done
  done
done

python3 - "$results" <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
cell = {}
for n, mode, rep, msgs, rate, wall, commits, c50, c99 in rows:
    cell.setdefault((int(n), mode), []).append((float(rate), float(wall), int(commits), float(c50), float(c99)))
print("\n| msgs per transaction | off: msgs/s (median) | timestep: msgs/s (median) | timestep / off | transactions per run | commit ms p50 / p99 (median) |")
print("|---|---|---|---|---|---|")
for n in sorted({k[0] for k in cell}):
    off, on = cell[(n, "off")], cell[(n, "timestep")]
    r_off = statistics.median(r[0] for r in off)
    r_on = statistics.median(r[0] for r in on)
    print(f"| {n:,} | {r_off:,.0f} | {r_on:,.0f} | {r_on / r_off:.2f} | {on[0][2]:,} | "
          f"{statistics.median(r[3] for r in on):.2f} / {statistics.median(r[4] for r in on):.2f} |")
PY
