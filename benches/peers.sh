#!/usr/bin/env bash
# Peer comparison against one local Apache Kafka broker (scripts/kafka-local), same message size
# and producer settings for everyone:
#   * kafka-producer-perf-test (org.apache.kafka.tools.ProducerPerformance, from the Kafka jars)
#   * bare-producer: a bare rdkafka ThreadedProducer (benches/bare_producer.rs), the engine's ceiling
#   * engine run scenarios/loadgen.yaml (minimal model), scenarios/chat.yaml, scenarios/iot.yaml
# Prints one table; every line is acknowledged msgs/s timed from first send to last acknowledgement.
#
#   benches/peers.sh            # COUNT=1000000 SIZE=100 KAFKA_PORT=19192
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
COUNT="${COUNT:-1000000}"
SIZE="${SIZE:-100}"
export KAFKA_PORT="${KAFKA_PORT:-19192}"
target="${CARGO_TARGET_DIR:-$root/target}"
PROPS=(acks=1 linger.ms=5 batch.size=1000000)

cargo build --release -q -p distroduce-cli -p distroduce-benches --bin engine --bin bare-producer
scripts/build-plugins >/dev/null
started_here=0
if ! scripts/kafka-local status >/dev/null 2>&1; then
    scripts/kafka-local start >/dev/null
    started_here=1
fi
trap '[ "$started_here" = 1 ] && scripts/kafka-local stop >/dev/null 2>&1 || true' EXIT
brokers="$(scripts/kafka-local bootstrap)"
cp="$(scripts/kafka-local classpath)"
stamp="$(date +%s)"
java_tool() { java -Xmx512m -Dlog4j2.level=warn -cp "$cp" "$@"; }
create() { java_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$brokers" --create --topic "$1" --partitions 8 --replication-factor 1 >/dev/null; }

row() { printf '%-58s %12s %10s\n' "$1" "$2" "$3"; }
row "producer" "msgs/s" "MB/s"

t="peers-perf-$stamp"; create "$t"
line="$(java_tool org.apache.kafka.tools.ProducerPerformance --topic "$t" --num-records "$COUNT" --record-size "$SIZE" \
    --throughput -1 --producer-props bootstrap.servers="$brokers" acks=1 linger.ms=5 batch.size=1000000 2>/dev/null | tail -1)"
perf_rate="$(sed -E 's/.*, ([0-9.]+) records\/sec \(([0-9.]+) MB\/sec\).*/\1/' <<<"$line")"
perf_mb="$(sed -E 's/.*, ([0-9.]+) records\/sec \(([0-9.]+) MB\/sec\).*/\2/' <<<"$line")"
row "kafka-producer-perf-test (Java client 4.1.1)" "$perf_rate" "$perf_mb"

t="peers-bare-$stamp"; create "$t"
bare="$("$target/release/bare-producer" "$brokers" "$t" "$COUNT" "$SIZE" "${PROPS[@]}")"
bare_rate="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["msgs_per_sec"])' "$bare")"
row "bare rdkafka ThreadedProducer (librdkafka 2.12.1)" "$bare_rate" "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["mb_per_sec"])' "$bare")"

engine_row() {
    local label="$1"; shift
    local out; out="$(mktemp -d)"
    "$target/release/engine" run "$@" --brokers "$brokers" --format none --out "$out" --summary-json "$out/s.json" >/dev/null
    local rate mb
    rate="$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["msgs_per_sec"]))' "$out/s.json")"
    mb="$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["mb_per_sec"], 2))' "$out/s.json")"
    row "$label" "$rate" "$mb"
    LAST_RATE="$rate"
}
runs=$(( COUNT / 500 / 1000 ))
engine_row "engine: loadgen (minimal model, ${SIZE} B, $runs runs x 500 x 1000)" scenarios/loadgen.yaml --runs "$runs"
lg="$LAST_RATE"
engine_row "engine: chat (runs 10 x 2000 timesteps)" scenarios/chat.yaml --runs 10 --timesteps 2000
engine_row "engine: iot (10,000 devices, 60 timesteps)" scenarios/iot.yaml
python3 - "$lg" "$bare_rate" "$perf_rate" <<'PY'
import sys
lg, bare, perf = map(float, sys.argv[1:])
print(f"engine loadgen / bare rdkafka: {lg / bare:.1%} (target >= 95%)")
print(f"engine loadgen / kafka-producer-perf-test: {lg / perf:.1%} (target >= 100%)")
PY
