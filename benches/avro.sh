#!/usr/bin/env bash
# The cost of `format: avro` and `format: protobuf` against `format: json`: scenarios/chat.yaml (4
# messages of 7 string fields per timestep) with RUNS jobs of TIMESTEPS timesteps, the same messages
# in every format, interleaved repeats, once against a real broker (throughput by acknowledgement,
# wall time) and once with `--kafka none` (generation and encoding only, no producer). Avro and
# Protobuf register their schema in the registry first (part of the wall time, not of the throughput).
#
#   BROKERS=127.0.0.1:19092 REGISTRY="$(scripts/schema-registry url)" REPEAT=3 benches/avro.sh
#
# Env: ENGINE (default target/release/engine), TIMESTEPS (default 5000), RUNS (default 4),
#      REPEAT (default 3), THREADS (default 2), FORMATS (default "json avro protobuf"; json first: the base).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${BROKERS:?set BROKERS to a real broker, e.g. 127.0.0.1:19092 (scripts/kafka-local start)}"
: "${REGISTRY:?set REGISTRY to a schema registry URL (scripts/schema-registry start prints one)}"
ENGINE="${ENGINE:-target/release/engine}"
TIMESTEPS="${TIMESTEPS:-5000}"
RUNS="${RUNS:-4}"
REPEAT="${REPEAT:-3}"
THREADS="${THREADS:-2}"
FORMATS="${FORMATS:-json avro protobuf}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
stamp="$(date +%s)"
wasm="$(pwd)/target/wasm/wasm32-unknown-unknown/release/chat_plugin.wasm"
[[ -f "$wasm" ]] || scripts/build-plugins >/dev/null
cat >"$tmp/message.avsc" <<'AVSC'
{"type": "record", "name": "Message", "namespace": "chat", "fields": [
  {"name": "client", "type": "string"}, {"name": "room", "type": "string"},
  {"name": "action", "type": "string"}, {"name": "sender", "type": "string"},
  {"name": "receiver", "type": ["null", "string"], "default": null},
  {"name": "input", "type": "string"}, {"name": "created", "type": "string"}]}
AVSC
cat >"$tmp/message.proto" <<'PROTO'
syntax = "proto3";
package chat;
message Message {
  string client = 1; string room = 2; string action = 3; string sender = 4;
  optional string receiver = 5; string input = 6; string created = 7;
}
PROTO

# scenario FORMAT: chat with RUNS runs of TIMESTEPS timesteps, its topic in FORMAT.
scenario() {
  local fmt="$1" f="$tmp/chat-$1.yaml" extra=""
  [[ "$fmt" == avro ]] && extra=", schema: {file: message.avsc}"
  [[ "$fmt" == protobuf ]] && extra=", schema: {file: message.proto}"
  sed -e "s|{crate: ../plugins/chat}|{wasm: $wasm}|" \
    -e "s|^timesteps: .*|timesteps: $TIMESTEPS|" -e "s|^runs: .*|runs: $RUNS|" \
    -e "s|chat: {name: chat, partitions: 8}|chat: {name: chat-avrobench-$stamp-$fmt, partitions: 8, format: $fmt$extra}\n  timestamps: produce\n  producer: {linger.ms: 5, acks: 1}|" \
    scenarios/chat.yaml >"$f"
  grep -q "format: $fmt" "$f" || { echo "avro.sh: scenarios/chat.yaml changed" >&2; exit 1; }
  echo "$f"
}

results="$tmp/results.tsv"
for rep in $(seq "$REPEAT"); do
  for target in broker none; do
    for fmt in $FORMATS; do
      kafka=(--brokers "$BROKERS"); [[ "$target" == none ]] && kafka=(--kafka none)
      "$ENGINE" run "$(scenario "$fmt")" "${kafka[@]}" --schema-registry "$REGISTRY" --threads "$THREADS" \
        --format none --out "$tmp/out" --summary-json "$tmp/s.json" >/dev/null
      python3 - "$tmp/s.json" "$target" "$fmt" "$rep" <<'PY' | tee -a "$results"
import json, sys
s = json.load(open(sys.argv[1]))
d = s["delivery"]
if sys.argv[2] == "broker":
    assert d["acked"] == d["produced"] == s["messages_emitted"] and d["failed"] == 0, d
rate = s["msgs_per_sec"] if sys.argv[2] == "broker" else s["messages_emitted"] / s["generation_seconds"]
print("\t".join(map(str, [sys.argv[2], sys.argv[3], sys.argv[4], s["messages_emitted"], round(rate),
      round(s["wall_seconds"], 2), round(s["generation_seconds"], 2)])))
PY
    done
  done
done
echo
echo "target  format  median msgs/s  median wall s   (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
python3 - "$results" $FORMATS <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
for target in ("broker", "none"):
    base = None
    for fmt in sys.argv[2:]:
        r = [x for x in rows if x[0] == target and x[1] == fmt]
        rate = statistics.median(float(x[4]) for x in r)
        wall = statistics.median(float(x[5]) for x in r)
        base = base or rate
        print(f"{target:7} {fmt:8} {rate:14,.0f} {wall:14.2f}   {rate / base:6.1%} of {sys.argv[2]}")
PY
