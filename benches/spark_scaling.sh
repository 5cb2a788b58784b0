#!/usr/bin/env bash
# Spark scaling on this machine: the same scenario through deploy/spark/distroduce_spark.py on
# local[2] with 1, 2 and 4 shards, against the local broker (scripts/kafka-local), next to plain
# local `engine run`s. Prints one line per run: wall time of spark-submit, the driver's own split
# (Spark context, staging, Spark job, merge) and the slowest shard's engine time.
#
#   benches/spark_scaling.sh                                   # chat, 8 runs x 4000 timesteps
#   SCENARIO=scenarios/randomwalk.yaml ARGS="--timesteps 20000" SHARDS="1 2 4 8" benches/spark_scaling.sh
#   FORMAT=none benches/spark_scaling.sh                       # no record files (nothing big to collect)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
SCENARIO="${SCENARIO:-scenarios/chat.yaml}"
ARGS="${ARGS:---runs 8 --timesteps 4000}"
SHARDS="${SHARDS:-1 2 4}"
FORMAT="${FORMAT:-jsonl}"
REPEAT="${REPEAT:-1}"
engine="${ENGINE:-$root/target/release/engine}"

scripts/setup-spark
started_here=0
if ! scripts/kafka-local status >/dev/null 2>&1; then
    scripts/kafka-local start >/dev/null
    started_here=1
fi
trap '[ "$started_here" = 1 ] && scripts/kafka-local stop >/dev/null 2>&1 || true' EXIT
brokers="$(scripts/kafka-local bootstrap)"
venv="$root/deploy/spark/.venv"
export SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_HOSTNAME=localhost SPARK_CONF_DIR="$root/deploy/spark/conf"
export PYSPARK_PYTHON="$venv/bin/python" PYSPARK_DRIVER_PYTHON="$venv/bin/python"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"; [ "$started_here" = 1 ] && scripts/kafka-local stop >/dev/null 2>&1 || true' EXIT

echo "scenario $SCENARIO $ARGS --format $FORMAT; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$REPEAT"); do
    for t in 1 2; do
        s=$(date +%s.%N)
        # shellcheck disable=SC2086
        "$engine" run "$SCENARIO" $ARGS --format "$FORMAT" --brokers "$brokers" --threads "$t" --out "$tmp/local" >"$tmp/local.log" 2>&1
        e=$(date +%s.%N)
        printf 'local engine, --threads %s: wall %.2fs (engine %s)\n' "$t" "$(echo "$e - $s" | bc)" \
            "$(grep -o '"wall_seconds": [0-9.]*' "$tmp/local/summary.json" | cut -d' ' -f2 | cut -c1-5)s"
    done
    for n in $SHARDS; do
        s=$(date +%s.%N)
        # shellcheck disable=SC2086
        "$venv/bin/spark-submit" --master 'local[2]' --conf spark.ui.enabled=false \
            deploy/spark/distroduce_spark.py "$SCENARIO" --shards "$n" --engine "$engine" --brokers "$brokers" \
            --out "$tmp/spark$n" -- $ARGS --format "$FORMAT" >"$tmp/spark$n.log" 2>&1
        e=$(date +%s.%N)
        printf 'spark local[2], %s shard(s): wall %.2fs; %s\n' "$n" "$(echo "$e - $s" | bc)" \
            "$(grep -o 'timing: .*' "$tmp/spark$n.log" | sed 's/^timing: //')"
        grep -o 'shard [0-9]*/[0-9]* on .*' "$tmp/spark$n.log" | sed 's/^/    /'
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
