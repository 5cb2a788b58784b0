# Sourced by benches/peers.sh and benches/publish_ab.sh (after KAFKA_PORT is set and the broker
# runs): with PIN=1 (the default, on 2 or more cores, never for the shared broker on 19092) the
# broker's JVM, every thread of it, is moved to core BROKER_CPU (0) and `on_producer_core CMD`
# runs CMD on core PRODUCER_CPU (1), `on_broker_core CMD` on the broker's. Sets `pinning` to a
# line saying which.
PIN="${PIN:-1}"; BROKER_CPU="${BROKER_CPU:-0}"; PRODUCER_CPU="${PRODUCER_CPU:-1}"
if [ "$PIN" = 1 ] && { [ "$(nproc)" -lt 2 ] || [ "$KAFKA_PORT" = 19092 ]; }; then PIN=0; fi
on_producer_core() { "$@"; }
on_broker_core() { "$@"; }
pinning="none (PIN=0)"
if [ "$PIN" = 1 ]; then
    taskset -a -p -c "$BROKER_CPU" "$(cat "${KAFKA_STATE_DIR:-${TMPDIR:-/tmp}/distroduce-kafka-$KAFKA_PORT}/kafka.pid")" >/dev/null
    on_producer_core() { taskset -c "$PRODUCER_CPU" "$@"; }
    on_broker_core() { taskset -c "$BROKER_CPU" "$@"; }
    pinning="broker (all JVM threads) on core $BROKER_CPU, every producer on core $PRODUCER_CPU (taskset)"
fi
