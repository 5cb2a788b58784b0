#!/usr/bin/env bash
# Interleaved A/B of engine builds on the publish path (issue 14 part 1): ROUNDS rounds of the bare
# rdkafka producer and each ENGINE given, on scenarios/loadgen.yaml against a running broker; the
# order reverses every other round (bare first, then last) and every run gets a fresh topic
# created the same way, so neither side gains from going first or from a warm topic. Prints each
# rate and, per engine, the median of its per-round ratios to the bare producer.
#
#   KAFKA_PORT=19192 scripts/kafka-local start
#   ROUNDS=6 KAFKA_PORT=19192 benches/publish_ab.sh /path/to/engine-a /path/to/engine-b
#   # COUNT (1000000), SIZE (100), KEYS (0: unkeyed), BARE (bare-producer of CARGO_TARGET_DIR)
#   # PIN (1): the broker on core BROKER_CPU (0), every producer on PRODUCER_CPU (1), as peers.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
ROUNDS="${ROUNDS:-5}"; COUNT="${COUNT:-1000000}"; SIZE="${SIZE:-100}"; KEYS="${KEYS:-0}"
export KAFKA_PORT="${KAFKA_PORT:-19192}"
(( $# > 0 )) || { echo "usage: benches/publish_ab.sh ENGINE [ENGINE ...]" >&2; exit 2; }
BARE="${BARE:-${CARGO_TARGET_DIR:-$root/target}/release/bare-producer}"
brokers="$(scripts/kafka-local bootstrap)"
source "$root/benches/pin.sh"
cp="$(scripts/kafka-local classpath)"
wasm="$root/target/wasm/wasm32-unknown-unknown/release/loadgen_plugin.wasm"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
scen="$work/loadgen.yaml"
if [ "$KEYS" = 0 ]; then fn="{fn: gen.emit, args: {count: 1000, size: $SIZE}}"
else fn="{fn: gen.emit_keyed, args: {count: 1000, size: $SIZE, keys: $KEYS}}"; fi
sed -e "s#{fn: gen.emit, args: {count: 1000, size: 100}}#$fn#" scenarios/loadgen.yaml >"$scen"
grep -q "size: $SIZE" "$scen" || { echo "publish_ab.sh: scenarios/loadgen.yaml no longer has the args this script rewrites" >&2; exit 1; }
grep -q "load: {name: load," "$scen" || { echo "publish_ab.sh: scenarios/loadgen.yaml no longer names its topic as this script rewrites" >&2; exit 1; }
create() { java -Xmx512m -Dlog4j2.level=warn -cp "$cp" org.apache.kafka.tools.TopicCommand --bootstrap-server "$brokers" --create --topic "$1" --partitions 8 --replication-factor 1 >/dev/null; }
json() { python3 -c 'import json,sys; print(json.load(sys.stdin)["msgs_per_sec"])'; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); pinning: $pinning"
declare -A ratios
bare_run() {
    local t="ab-bare-$(date +%s)-$RANDOM"; create "$t"
    on_producer_core "$BARE" --keys "$KEYS" "$brokers" "$t" "$COUNT" "$SIZE" acks=1 linger.ms=5 batch.size=1000000 | json
}
engine_run() {
    local t="ab-engine-$(date +%s)-$RANDOM" o; create "$t"
    o="$(mktemp -d -p "$work")"
    sed -e "s#load: {name: load,#load: {name: $t,#" "$scen" >"$o/loadgen.yaml"
    on_producer_core "$1" run "$o/loadgen.yaml" --plugin gen="$wasm" --runs 2 --timesteps $(( COUNT / 2000 )) \
        --brokers "$brokers" --format none --out "$o/out" --summary-json "$o/s.json" >/dev/null
    json <"$o/s.json"
}
for r in $(seq "$ROUNDS"); do
    order=("$@"); if (( r % 2 == 0 )); then order=(); for (( i=$#; i>0; i-- )); do order+=("${!i}"); done; fi
    declare -A rate=()
    (( r % 2 == 1 )) && bare="$(bare_run)"
    for e in "${order[@]}"; do rate[$e]="$(engine_run "$e")"; done
    (( r % 2 == 0 )) && bare="$(bare_run)"
    line="round $r: bare $bare"
    for e in "$@"; do
        ratio="$(python3 -c "print(round(${rate[$e]} / $bare, 4))")"
        ratios[$e]="${ratios[$e]:-} $ratio"
        line="$line | $e ${rate[$e]} ($ratio)"
    done
    echo "$line"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
for e in "$@"; do
    python3 - "$e" "${ratios[$e]}" <<'PY'
import statistics, sys
rs = [float(x) for x in sys.argv[2].split()]
each = ", ".join(f"{x:.1%}" for x in rs)
print(f"{sys.argv[1]}: median {statistics.median(rs):.1%} of bare (rounds: {each})")
PY
done
