"""Spark Structured Streaming job: chat messages per room per tumbling event-time window,
deduplicated by the distroduce-id header, with a watermark of --grace. Run it with ./run
(spark-submit with the spark-sql-kafka jars); see streaming/README.md.

Input: Kafka key = room, timestamp = event time, header distroduce-id = unique id per message.
Output (update mode): Kafka key = {"room": ROOM, "window_start": "2019-10-03T00:00:10.000Z"},
value = the count as text ("40"); the last record per key is the answer.
"""

import argparse
import atexit
import os
import re
import shutil
import signal
import sys
import tempfile
import time

ID_HEADER = "distroduce-id"
BUGS = ("window-off-by-one", "drop-late")
T0 = time.time()


def log(msg):
    print(f"spark-count: {msg}", file=sys.stderr, flush=True)


def duration_ms(s):
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|h)?\s*", s.lower())
    if not m:
        raise argparse.ArgumentTypeError(f"bad duration '{s}' (e.g. 10s, 500ms, 2m)")
    mul = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, None: 1000}[m.group(2)]
    return int(round(float(m.group(1)) * mul))


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="streaming/spark/run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", default="127.0.0.1:19092")
    ap.add_argument("--input", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--window", type=duration_ms, default=10000, help="window size (default 10s)")
    ap.add_argument("--grace", type=duration_ms, default=30000, help="watermark delay (default 30s)")
    ap.add_argument("--application-id", default=None,
                    help="Spark app name and Kafka group id prefix (default: unique per run)")
    ap.add_argument("--bug", choices=BUGS + ("none",), default=None)
    ap.add_argument("--idle-exit", type=duration_ms, default=None,
                    help="exit 0 after no input rows for this long")
    ap.add_argument("--max-offsets-per-trigger", type=int, default=50,
                    help="records per micro-batch (default 50), so the watermark advances between batches")
    ap.add_argument("--checkpoint", default=None,
                    help="checkpoint dir (default: a temp dir removed at exit)")
    ap.add_argument("--shuffle-partitions", type=int, default=2)
    a = ap.parse_args(argv)
    if a.bug == "none":
        a.bug = None
    if a.window <= 0:
        ap.error("--window must be > 0")
    if a.application_id is None:
        a.application_id = f"distroduce-spark-count-{a.input}-{int(time.time() * 1000)}-{os.getpid()}"
    return a


def prepare_topics(spark, a):
    """Waits for the input topic (up to --idle-exit) and creates the output with retention.ms=-1.

    Through the driver JVM's kafka-clients (on the classpath via --jars). retention.ms=-1 because
    the window keys carry event time, and the output must survive the broker's time-based
    retention however old the simulated clock is (the Kafka sink stamps records with wall time,
    but the harness may also reuse topics written by the Kafka Streams app)."""
    jvm = spark._jvm
    props = jvm.java.util.Properties()
    props.put("bootstrap.servers", a.bootstrap)
    admin = jvm.org.apache.kafka.clients.admin.Admin.create(props)
    TimeUnit = jvm.java.util.concurrent.TimeUnit
    try:
        t0, said = time.time(), False
        while True:
            try:
                names = set(admin.listTopics().names().get(10, TimeUnit.SECONDS))
            except Exception as e:  # noqa: BLE001 - py4j wraps Java exceptions
                names = set()
                if not said:
                    log(f"cannot list topics yet ({str(e).splitlines()[0][:120]}); retrying")
                    said = True
            if a.input in names:
                break
            if not said:
                log(f"waiting for topic {a.input}")
                said = True
            if a.idle_exit is not None and (time.time() - t0) * 1000 >= a.idle_exit:
                log(f"topic {a.input} did not appear within {a.idle_exit} ms")
                return False
            time.sleep(0.5)
        if a.output not in names:
            desc = admin.describeTopics(jvm.java.util.List.of(a.input)).allTopicNames().get(30, TimeUnit.SECONDS)
            partitions = desc.get(a.input).partitions().size()
            cfg = jvm.java.util.HashMap()
            cfg.put("retention.ms", "-1")
            nt = jvm.org.apache.kafka.clients.admin.NewTopic(a.output, partitions, jvm.java.lang.Short.valueOf("-1"))
            nt.configs(cfg)
            try:
                admin.createTopics(jvm.java.util.List.of(nt)).all().get(30, TimeUnit.SECONDS)
                log(f"created output topic {a.output} ({partitions} partitions, retention.ms=-1)")
            except Exception as e:  # noqa: BLE001
                if "TopicExistsException" not in str(e):
                    raise
        return True
    finally:
        admin.close()


def build_query(spark, a, checkpoint):
    from pyspark.sql import functions as F

    grace = 0 if a.bug == "drop-late" else a.grace
    raw = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", a.bootstrap)
        .option("subscribe", a.input)
        .option("startingOffsets", "earliest")
        .option("includeHeaders", "true")
        .option("maxOffsetsPerTrigger", str(a.max_offsets_per_trigger))
        .option("groupIdPrefix", a.application_id)
        .load()
    )
    # The id: the last distroduce-id header; a record without one is unique by its offset.
    id_bytes = F.expr(f"try_element_at(filter(headers, h -> h.key = '{ID_HEADER}'), -1).value")
    fallback = F.concat_ws(":", F.lit("offset"), F.col("partition").cast("string"), F.col("offset").cast("string"))
    ts = F.col("timestamp")
    if a.bug == "window-off-by-one":
        # The deliberate bug: windows become (start, end] instead of [start, end).
        ts = ts - F.expr("INTERVAL 1 MILLISECOND")
    events = raw.select(
        F.col("key").cast("string").alias("room"),
        ts.alias("ts"),
        F.coalesce(F.base64(id_bytes), fallback).alias("id"),
    )
    counts = (
        events.withWatermark("ts", f"{grace} milliseconds")
        .dropDuplicatesWithinWatermark(["id"])
        .groupBy(F.col("room"), F.window("ts", f"{a.window} milliseconds"))
        .count()
    )
    out = counts.select(
        F.to_json(
            F.struct(
                F.col("room"),
                F.date_format(F.col("window.start"), "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").alias("window_start"),
            )
        ).alias("key"),
        F.col("count").cast("string").alias("value"),
    )
    return (
        out.writeStream.format("kafka")
        .option("kafka.bootstrap.servers", a.bootstrap)
        .option("topic", a.output)
        .option("checkpointLocation", checkpoint)
        .outputMode("update")
        .queryName(re.sub(r"[^A-Za-z0-9_]", "_", a.application_id))
        .start()
    )


def main(argv):
    a = parse_args(argv)
    from pyspark.sql import SparkSession

    checkpoint = a.checkpoint
    if checkpoint is None:
        checkpoint = tempfile.mkdtemp(prefix="distroduce-spark-ckpt-")
        atexit.register(shutil.rmtree, checkpoint, True)

        def on_term(signum, frame):  # the harness stops the app with SIGTERM: no leftovers
            shutil.rmtree(checkpoint, True)
            os._exit(128 + signum)

        signal.signal(signal.SIGTERM, on_term)

    spark = (
        SparkSession.builder.appName(a.application_id)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(a.shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel(os.environ.get("STREAMING_LOG_LEVEL", "WARN").upper())
    grace = 0 if a.bug == "drop-late" else a.grace
    log(f"app {a.application_id}: {a.input} -> {a.output}, window {a.window} ms, watermark {grace} ms"
        f"{', BUG ' + a.bug if a.bug else ''}, {a.max_offsets_per_trigger} records per batch, "
        f"bootstrap {a.bootstrap} (session up {int((time.time() - T0) * 1000)} ms after start)")

    if not prepare_topics(spark, a):
        log("no input topic; exiting")
        spark.stop()
        return 0

    log(f"topics ready ({int((time.time() - T0) * 1000)} ms after start)")
    q = build_query(spark, a, checkpoint)
    log(f"query started ({int((time.time() - T0) * 1000)} ms after start)")
    last_input = time.time()  # idle time counts from here, and never while a batch runs
    first_data = last_data = None
    seen_batch = -1
    rows = 0
    rc = 0
    try:
        while True:
            if q.awaitTermination(0.5):
                break
            for p in q.recentProgress:
                if p["batchId"] <= seen_batch:
                    continue
                seen_batch = p["batchId"]
                n = p.get("numInputRows", 0) or 0
                if n > 0:
                    rows += n
                    now = time.time()
                    last_input = now
                    if first_data is None:
                        first_data = now
                    last_data = now
            if q.status.get("isTriggerActive"):
                last_input = max(last_input, time.time() - 0.5) if first_data is None else last_input
            if (a.idle_exit is not None and (time.time() - last_input) * 1000 >= a.idle_exit
                    and not q.status.get("isTriggerActive")):
                log(f"idle for {a.idle_exit} ms; exiting")
                break
    except KeyboardInterrupt:
        pass
    err = q.exception()
    if err is not None:
        log(f"failed: {err}")
        rc = 1
    q.stop()
    if first_data is None:
        log(f"processed no records; exit after {int((time.time() - T0) * 1000)} ms")
    else:
        log(f"processed {rows} records in {seen_batch + 1} batches; first data batch seen "
            f"{int((first_data - T0) * 1000)} ms after start, last {int((last_data - first_data) * 1000)} ms "
            f"after it; exit after {int((time.time() - T0) * 1000)} ms")
    spark.stop()
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
