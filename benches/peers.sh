#!/usr/bin/env bash
# Peer comparison against one local Apache Kafka broker (scripts/kafka-local), same message size,
# key scheme and producer settings for everyone:
#   * kafka-producer-perf-test (org.apache.kafka.tools.ProducerPerformance, from the Kafka jars)
#   * bare-producer: a bare rdkafka ThreadedProducer (benches/bare_producer.rs), the engine's ceiling
#   * engine run scenarios/loadgen.yaml (minimal model), scenarios/chat.yaml, scenarios/iot.yaml
# Every line is acknowledged msgs/s timed from the first send to the last acknowledgement.
#
# The engine/bare ratio is measured for three workloads, each ROUNDS times with the bare producer
# and the engine run back to back (interleaved, so that both see the same machine load): SIZE-byte
# unkeyed values, 1,000-byte unkeyed values, and SIZE-byte values keyed with KEYS distinct keys
# (message i: the decimal text of i % KEYS, in the plugin and in the bare producer alike); which
# of the two goes first alternates from round to round. The ratio reported is the median of the
# per-round ratios, with their quartiles and range. Next to it, the CPU time (user + sys, all
# threads, /usr/bin/time) each side's process took for the same messages, engine / bare: a cost
# ratio that depends far less than throughput on what else the machine runs. (The engine runs the
# prebuilt plugin, see `wasm` below, so that cargo's build check is not in its CPU time.)
#
# Pinning (PIN=1, the default, on a machine of 2 or more cores): the broker's JVM runs on core
# BROKER_CPU (0) and every producer (kafka-producer-perf-test, the bare producer, the engine, with
# all their threads) on core PRODUCER_CPU (1), the same for all, so that the broker and the
# producer under test no longer take each other's core in bursts (with 2 shared cores the
# per-round ratios spread from 51 % to 116 % unpinned). The engine then sees one core and runs one
# job thread; the bare producer has one sending thread. The shared broker on 19092 is never
# pinned (PIN=0 there).
#
#   benches/peers.sh            # COUNT=1000000 SIZE=100 COUNT_1K=250000 KEYS=1000 ROUNDS=5 KAFKA_PORT=19192
#   SKIP_BUILD=1 benches/peers.sh   # use the engine, bare-producer and plugins already built
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
COUNT="${COUNT:-1000000}"
SIZE="${SIZE:-100}"
COUNT_1K="${COUNT_1K:-250000}"
KEYS="${KEYS:-1000}"
ROUNDS="${ROUNDS:-5}"
export KAFKA_PORT="${KAFKA_PORT:-19192}"
target="${CARGO_TARGET_DIR:-$root/target}"
PROPS=(acks=1 linger.ms=5 batch.size=1000000)
(( COUNT % 2000 == 0 && COUNT_1K % 2000 == 0 )) || { echo "peers.sh: COUNT and COUNT_1K must be multiples of 2000" >&2; exit 2; }

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    cargo build --release -q -p distroduce-cli -p distroduce-benches --bin engine --bin bare-producer
    scripts/build-plugins >/dev/null
fi
started_here=0
if ! scripts/kafka-local status >/dev/null 2>&1; then
    scripts/kafka-local start >/dev/null
    started_here=1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"; [ "$started_here" = 1 ] && scripts/kafka-local stop >/dev/null 2>&1 || true' EXIT
brokers="$(scripts/kafka-local bootstrap)"
# Producers run through `on_producer_core`; the broker and the topic tools on the other core.
source "$root/benches/pin.sh"
cp="$(scripts/kafka-local classpath)"
stamp="$(date +%s)"
java_tool() { on_broker_core java -Xmx512m -Dlog4j2.level=warn -cp "$cp" "$@"; }
create() { java_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$brokers" --create --topic "$1" --partitions 8 --replication-factor 1 >/dev/null; }
# Each round's topics are deleted after it: rounds of 1 M messages left ~19 GB on the broker.
drop_round() { java_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$brokers" --delete --topic "peers-(bare|engine)-$stamp-.*" >/dev/null 2>&1 || true; }
json() { python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))[sys.argv[2]], 2))' "$@"; }

row() { printf '%-80s %12s %10s\n' "$1" "$2" "$3"; }
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "pinning: $pinning"
row "producer" "msgs/s" "MB/s"

t="peers-perf-$stamp"; create "$t"
line="$(on_producer_core java -Xmx512m -Dlog4j2.level=warn -cp "$cp" org.apache.kafka.tools.ProducerPerformance --topic "$t" --num-records "$COUNT" --record-size "$SIZE" \
    --throughput -1 --producer-props bootstrap.servers="$brokers" "${PROPS[@]}" 2>/dev/null | tail -1)"
perf_rate="$(sed -E 's/.*, ([0-9.]+) records\/sec \(([0-9.]+) MB\/sec\).*/\1/' <<<"$line")"
perf_mb="$(sed -E 's/.*, ([0-9.]+) records\/sec \(([0-9.]+) MB\/sec\).*/\2/' <<<"$line")"
row "kafka-producer-perf-test (Java client 4.1.1), ${SIZE} B" "$perf_rate" "$perf_mb"

# The loadgen scenario with another value size and key count (a copy next to nothing: the plugin
# crate is named by its absolute path).
loadgen() { # SIZE KEYS -> scenario path
    local f="$work/loadgen-$1-$2.yaml"
    sed -e "s#crate: ../plugins/loadgen#crate: $root/plugins/loadgen#" \
        -e "s#{fn: gen.emit, args: {count: 1000, size: 100}}#{fn: gen.emit_keyed, args: {count: 1000, size: $1, keys: $2}}#" \
        scenarios/loadgen.yaml >"$f"
    [ "$2" = 0 ] && sed -i "s#{fn: gen.emit_keyed, args: {count: 1000, size: $1, keys: 0}}#{fn: gen.emit, args: {count: 1000, size: $1}}#" "$f"
    grep -q "args: {count: 1000, size: $1" "$f" || { echo "peers.sh: scenarios/loadgen.yaml no longer has the args this script rewrites" >&2; exit 1; }
    echo "$f"
}

cpu_of() { awk '{print $1 + $2}' "$work/cpu"; }
bare_run() { # COUNT SIZE KEYS -> sets RATE MB CPU
    local t="peers-bare-$stamp-$RANDOM$RANDOM" out
    create "$t"
    out="$(on_producer_core /usr/bin/time -o "$work/cpu" -f '%U %S' "$target/release/bare-producer" --keys "$3" "$brokers" "$t" "$1" "$2" "${PROPS[@]}")"
    RATE="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["msgs_per_sec"])' "$out")"
    MB="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["mb_per_sec"])' "$out")"
    CPU="$(cpu_of)"
}

engine_run() { # SCENARIO ARGS... -> sets RATE MB CPU
    local out; out="$(mktemp -d -p "$work")"
    on_producer_core /usr/bin/time -o "$work/cpu" -f '%U %S' "$target/release/engine" run "$@" --brokers "$brokers" --format none --out "$out" --summary-json "$out/s.json" >/dev/null
    RATE="$(json "$out/s.json" msgs_per_sec)"
    MB="$(json "$out/s.json" mb_per_sec)"
    CPU="$(cpu_of)"
}

# The engine's loadgen runs take the plugin already built (scripts/build-plugins, above) rather
# than the scenario's `crate:`: with `crate:` every run first runs cargo's freshness check of the
# plugin crate, 0.15-0.25 s of CPU on this machine (a child process, so /usr/bin/time counts it),
# which the CPU column would charge to publishing. The throughput is timed from the first send
# either way.
wasm="$root/target/wasm/wasm32-unknown-unknown/release/loadgen_plugin.wasm"
[ -f "$wasm" ] || { echo "peers.sh: $wasm is missing; run scripts/build-plugins (or drop SKIP_BUILD=1)" >&2; exit 1; }

ratios=()
compare() { # LABEL COUNT SIZE KEYS
    local label="$1" count="$2" size="$3" keys="$4" scen r rs=() cs=()
    scen="$(loadgen "$size" "$keys")"
    for r in $(seq "$ROUNDS"); do
        # A fresh topic for the engine too, created the same way: a topic that already holds the
        # earlier rounds' messages (gigabytes of log segments) is not what the bare producer gets.
        local et="peers-engine-$stamp-$RANDOM$RANDOM" bare engine bare_cpu engine_cpu
        create "$et"
        sed "s#load: {name: load,#load: {name: $et,#" "$scen" >"$scen.round"
        grep -q "name: $et," "$scen.round" || { echo "peers.sh: scenarios/loadgen.yaml no longer names its topic 'load'" >&2; exit 1; }
        local side
        for side in $( (( r % 2 )) && echo "bare engine" || echo "engine bare"); do
            if [ "$side" = bare ]; then
                bare_run "$count" "$size" "$keys"; bare="$RATE" bare_cpu="$CPU"
                row "bare rdkafka ThreadedProducer (librdkafka 2.12.1), $label #$r" "$RATE" "$MB"
            else
                engine_run "$scen.round" --plugin gen="$wasm" --runs 2 --timesteps $(( count / 2000 )); engine="$RATE" engine_cpu="$CPU"
                row "engine: loadgen, $label #$r" "$RATE" "$MB"
            fi
        done
        rs+=("$(python3 -c "print($engine / $bare)")")
        cs+=("$(python3 -c "print($engine_cpu / max($bare_cpu, 0.01))")")
        drop_round
    done
    ratios+=("$label|${rs[*]}|${cs[*]}")
}
compare "${SIZE} B, unkeyed, $COUNT msgs" "$COUNT" "$SIZE" 0
compare "1000 B, unkeyed, $COUNT_1K msgs" "$COUNT_1K" 1000 0
compare "${SIZE} B, $KEYS keys, $COUNT msgs" "$COUNT" "$SIZE" "$KEYS"
lg_scen="$(loadgen "$SIZE" 0)"
engine_run "$lg_scen" --plugin gen="$wasm" --runs 2 --timesteps $(( COUNT / 2000 )); lg="$RATE"
row "engine: loadgen, ${SIZE} B, unkeyed (for the Java ratio)" "$RATE" "$MB"
engine_run scenarios/chat.yaml --runs 10 --timesteps 2000
row "engine: chat (runs 10 x 2000 timesteps)" "$RATE" "$MB"
engine_run scenarios/iot.yaml
row "engine: iot (10,000 devices, 60 timesteps)" "$RATE" "$MB"
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$lg" "$perf_rate" "${ratios[@]}" <<'PY'
import statistics, sys
lg, perf = map(float, sys.argv[1:3])
def spread(rs):
    q = statistics.quantiles(rs, n=4) if len(rs) > 1 else [rs[0]] * 3
    each = ", ".join(f"{r:.1%}" for r in rs)
    return (f"median {statistics.median(rs):.1%}, quartiles {q[0]:.1%}-{q[2]:.1%}, "
            f"range {min(rs):.1%}-{max(rs):.1%} (rounds: {each}")
for spec in sys.argv[3:]:
    label, rs, cs = spec.split("|")
    print(f"engine loadgen / bare rdkafka, {label}: {spread([float(x) for x in rs.split()])}; target >= 95%)")
    print(f"  CPU time, engine / bare, same messages: {spread([float(x) for x in cs.split()])})")
print(f"engine loadgen / kafka-producer-perf-test: {lg / perf:.1%} (target >= 100%)")
PY
