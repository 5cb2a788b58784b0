package distroduce.streaming;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorSupplier;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;

/**
 * Counts chat messages per room per tumbling event-time window, deduplicated by the
 * {@code distroduce-id} header, accepting events up to a lateness bound (grace).
 *
 * <p>Input: key = room (UTF-8), value = the message JSON (not parsed), timestamp = event time,
 * header {@code distroduce-id} = unique id per logical message. Output: key = room, value =
 * {@code {"window_start":MS,"window_end":MS,"count":N}}, one record per update (a changelog).
 *
 * <p>Deliberate bugs ({@code --bug}): {@code window-off-by-one} shifts every event 1 ms back
 * before windowing, so windows are effectively (start, end] (an event at exactly 10.000 s counts
 * in [0 s, 10 s)); {@code drop-late} uses grace 0, so every out-of-order event whose window has
 * already ended (by stream time) is dropped.
 */
public final class RoomWindowCount {
  static final String ID_HEADER = "distroduce-id";
  static final String DEDUP_STORE = "dedup";
  static final String COUNT_STORE = "counts";
  /**
   * The changelogs hold event-time (e.g. 2019) timestamps: time-based retention would delete them
   * at once, so keep them by compaction alone (state is bounded by the stores' own retention).
   */
  static final java.util.Map<String, String> CHANGELOG_CONFIG =
      java.util.Map.of("retention.ms", "-1", "cleanup.policy", "compact");

  /** Wall-clock ms of the last input record seen (for --idle-exit). */
  static final AtomicLong LAST_INPUT = new AtomicLong(System.currentTimeMillis());
  static final AtomicLong FIRST_INPUT = new AtomicLong();
  static final AtomicLong INPUT = new AtomicLong();
  static final AtomicLong DUPLICATES = new AtomicLong();
  static final AtomicLong NO_ID = new AtomicLong();

  record Options(
      String bootstrap,
      String input,
      String output,
      Duration window,
      Duration grace,
      String applicationId,
      String bug,
      Duration idleExit,
      Path stateDir,
      boolean keepState,
      String guarantee) {}

  public static void main(String[] args) throws Exception {
    Options o;
    try {
      o = parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("kafka-streams-count: " + e.getMessage());
      System.err.println(USAGE);
      System.exit(2);
      return;
    }
    System.exit(run(o));
  }

  static final String USAGE =
      "usage: run --input TOPIC --output TOPIC [--bootstrap HOST:PORT] [--window 10s] [--grace 30s]\n"
          + "           [--application-id ID] [--bug window-off-by-one|drop-late] [--idle-exit 20s]\n"
          + "           [--state-dir DIR] [--processing-guarantee at_least_once|exactly_once_v2]";

  static Options parse(String[] args) {
    String bootstrap = "127.0.0.1:19092", input = null, output = null, appId = null, bug = null;
    Duration window = Duration.ofSeconds(10), grace = Duration.ofSeconds(30), idle = null;
    Path stateDir = null;
    String guarantee = StreamsConfig.AT_LEAST_ONCE;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String v = null;
      int eq = a.indexOf('=');
      if (a.startsWith("--") && eq > 0) {
        v = a.substring(eq + 1);
        a = a.substring(0, eq);
      }
      if (a.equals("-h") || a.equals("--help")) {
        System.out.println(USAGE);
        System.exit(0);
      }
      if (v == null) {
        if (i + 1 >= args.length) throw new IllegalArgumentException(a + " needs a value");
        v = args[++i];
      }
      switch (a) {
        case "--bootstrap" -> bootstrap = v;
        case "--input" -> input = v;
        case "--output" -> output = v;
        case "--window" -> window = duration(v);
        case "--grace" -> grace = duration(v);
        case "--application-id" -> appId = v;
        case "--bug" -> {
          if (!v.equals("window-off-by-one") && !v.equals("drop-late") && !v.equals("none"))
            throw new IllegalArgumentException("unknown --bug " + v);
          bug = v.equals("none") ? null : v;
        }
        case "--idle-exit" -> idle = duration(v);
        case "--state-dir" -> stateDir = Path.of(v);
        case "--processing-guarantee" -> {
          if (!v.equals(StreamsConfig.AT_LEAST_ONCE) && !v.equals(StreamsConfig.EXACTLY_ONCE_V2))
            throw new IllegalArgumentException("unknown --processing-guarantee " + v);
          guarantee = v;
        }
        default -> throw new IllegalArgumentException("unknown option " + a);
      }
    }
    if (input == null || output == null)
      throw new IllegalArgumentException("--input and --output are required");
    if (window.toMillis() <= 0) throw new IllegalArgumentException("--window must be > 0");
    if (grace.isNegative()) throw new IllegalArgumentException("--grace must be >= 0");
    if (appId == null)
      appId = "distroduce-count-" + input + "-" + System.currentTimeMillis() + "-" + ProcessHandle.current().pid();
    return new Options(
        bootstrap, input, output, window, grace, appId, bug, idle, stateDir, stateDir != null, guarantee);
  }

  /** "10s", "500ms", "2m", "1h" or a plain number of seconds. */
  static Duration duration(String s) {
    String t = s.trim().toLowerCase(Locale.ROOT);
    try {
      if (t.endsWith("ms")) return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
      if (t.endsWith("s")) return Duration.ofMillis(Math.round(Double.parseDouble(t.substring(0, t.length() - 1)) * 1000));
      if (t.endsWith("m")) return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)) * 60);
      if (t.endsWith("h")) return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)) * 3600);
      return Duration.ofMillis(Math.round(Double.parseDouble(t) * 1000));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("bad duration '" + s + "' (e.g. 10s, 500ms, 2m)");
    }
  }

  static Topology topology(Options o) {
    boolean offByOne = "window-off-by-one".equals(o.bug());
    Duration grace = "drop-late".equals(o.bug()) ? Duration.ZERO : o.grace();
    long window = o.window().toMillis();
    // An id is remembered for as long as a copy of it could still be counted: an event stays
    // acceptable until stream time passes its window's end + grace, so window + grace after its own
    // timestamp at most. Twice that is kept, and a copy is matched within +-(window + grace) of the
    // first one's timestamp (copies normally carry the very same timestamp).
    long horizon = window + grace.toMillis();
    Duration retention = Duration.ofMillis(Math.max(2 * horizon, 60_000));

    StreamsBuilder builder = new StreamsBuilder();
    StoreBuilder<WindowStore<Bytes, Long>> dedupStore =
        Stores.windowStoreBuilder(
            Stores.inMemoryWindowStore(DEDUP_STORE, retention, Duration.ofMillis(1), false),
            Serdes.Bytes(),
            Serdes.Long())
            .withLoggingEnabled(CHANGELOG_CONFIG);
    builder.addStateStore(dedupStore);

    FixedKeyProcessorSupplier<String, byte[], byte[]> dedup =
        () -> new Dedup(horizon, offByOne);

    builder
        .stream(o.input(), Consumed.with(Serdes.String(), Serdes.ByteArray()))
        // processValues keeps the key, so the aggregation below needs no repartition topic: the
        // count runs in the same task, in input offset order.
        .processValues(dedup, DEDUP_STORE)
        .groupByKey(Grouped.with(Serdes.String(), Serdes.ByteArray()))
        .windowedBy(TimeWindows.ofSizeAndGrace(o.window(), grace))
        .count(
            Materialized.<String, Long, WindowStore<Bytes, byte[]>>as(COUNT_STORE)
                .withKeySerde(Serdes.String())
                .withValueSerde(Serdes.Long())
                .withLoggingEnabled(CHANGELOG_CONFIG)
                .withCachingDisabled())
        .toStream()
        .map(
            (w, count) ->
                KeyValue.pair(
                    w.key(),
                    "{\"window_start\":" + w.window().start()
                        + ",\"window_end\":" + w.window().end()
                        + ",\"count\":" + count + "}"))
        .to(o.output(), Produced.with(Serdes.String(), Serdes.String()));
    return builder.build();
  }

  /** Drops records whose distroduce-id was already seen (within the retention). */
  static final class Dedup implements FixedKeyProcessor<String, byte[], byte[]> {
    private final long horizon;
    private final boolean offByOne;
    private FixedKeyProcessorContext<String, byte[]> ctx;
    private WindowStore<Bytes, Long> seen;

    Dedup(long horizon, boolean offByOne) {
      this.horizon = horizon;
      this.offByOne = offByOne;
    }

    @Override
    public void init(FixedKeyProcessorContext<String, byte[]> context) {
      ctx = context;
      seen = context.getStateStore(DEDUP_STORE);
    }

    @Override
    public void process(FixedKeyRecord<String, byte[]> rec) {
      long now = System.currentTimeMillis();
      LAST_INPUT.set(now);
      FIRST_INPUT.compareAndSet(0, now);
      INPUT.incrementAndGet();
      long ts = rec.timestamp();
      Header h = rec.headers().lastHeader(ID_HEADER);
      if (h == null || h.value() == null) {
        // Nothing to deduplicate by: count it (and say so once).
        if (NO_ID.getAndIncrement() == 0)
          System.err.println("kafka-streams-count: warning: a record without a '" + ID_HEADER + "' header; counting such records as unique");
      } else {
        Bytes id = Bytes.wrap(h.value());
        try (WindowStoreIterator<Long> it = seen.fetch(id, ts - horizon, ts + horizon)) {
          if (it.hasNext()) {
            DUPLICATES.incrementAndGet();
            return;
          }
        }
        seen.put(id, ts, ts);
      }
      // The deliberate bug: windows become (start, end] instead of [start, end).
      ctx.forward(offByOne ? rec.withTimestamp(ts - 1) : rec);
    }
  }

  static int run(Options o) throws Exception {
    Path stateDir = o.stateDir() != null ? o.stateDir() : Files.createTempDirectory("distroduce-kstreams-");
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, o.applicationId());
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, o.bootstrap());
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 1000);
    p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, -1);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    // exactly_once_v2: reads its input read_committed (so aborted producer transactions never count)
    // and writes its output and offsets in its own transactions.
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, o.guarantee());
    // Event time = the record's timestamp (CreateTime); a record with a negative one fails the app.
    p.put(
        StreamsConfig.DEFAULT_TIMESTAMP_EXTRACTOR_CLASS_CONFIG,
        org.apache.kafka.streams.processor.FailOnInvalidTimestamp.class);

    Topology topology = topology(o);
    log(String.format(
        "app %s: %s -> %s, window %d ms, grace %d ms%s, %s, bootstrap %s",
        o.applicationId(), o.input(), o.output(), o.window().toMillis(),
        ("drop-late".equals(o.bug()) ? 0 : o.grace().toMillis()),
        o.bug() == null ? "" : ", BUG " + o.bug(), o.guarantee(), o.bootstrap()));

    long t0 = System.currentTimeMillis();
    // Kafka Streams fails on a missing source topic: wait for it (the producer may start later).
    if (!Topics.prepare(o.bootstrap(), o.input(), o.output(), o.idleExit())) {
      log("no input topic; exiting");
      cleanup(o, stateDir);
      return 0;
    }

    KafkaStreams streams = new KafkaStreams(topology, p);
    CountDownLatch done = new CountDownLatch(1);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    AtomicLong runningAt = new AtomicLong();
    streams.setStateListener(
        (now, before) -> {
          if (now == KafkaStreams.State.RUNNING && runningAt.get() == 0) {
            runningAt.set(System.currentTimeMillis());
            log("running (" + (runningAt.get() - t0) + " ms after start)");
          }
          if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.PENDING_ERROR) done.countDown();
        });
    streams.setUncaughtExceptionHandler(
        e -> {
          failure.compareAndSet(null, e);
          return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  done.countDown();
                  streams.close(Duration.ofSeconds(10));
                  cleanup(o, stateDir);
                }));
    LAST_INPUT.set(System.currentTimeMillis());
    streams.start();

    int rc = 0;
    while (!done.await(200, TimeUnit.MILLISECONDS)) {
      if (o.idleExit() != null
          && streams.state() == KafkaStreams.State.RUNNING
          && System.currentTimeMillis() - LAST_INPUT.get() >= o.idleExit().toMillis()) {
        log("idle for " + o.idleExit().toMillis() + " ms; exiting");
        break;
      }
    }
    if (failure.get() != null || streams.state() == KafkaStreams.State.ERROR
        || streams.state() == KafkaStreams.State.PENDING_ERROR) {
      System.err.println("kafka-streams-count: failed: " + failure.get());
      rc = 1;
    }
    streams.close(Duration.ofSeconds(30));
    long first = FIRST_INPUT.get();
    log(String.format(
        "processed %d records (%d duplicates dropped by id, %d without id); first record %d ms after start, last %d ms after it; exit after %d ms",
        INPUT.get(), DUPLICATES.get(), NO_ID.get(), first == 0 ? -1 : first - t0,
        first == 0 ? -1 : LAST_INPUT.get() - first, System.currentTimeMillis() - t0));
    cleanup(o, stateDir);
    return rc;
  }

  static void cleanup(Options o, Path stateDir) {
    if (o.keepState()) return;
    try (Stream<Path> s = Files.walk(stateDir)) {
      s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException ignored) {
      // best effort
    }
  }

  static void log(String msg) {
    System.err.println("kafka-streams-count: " + msg);
  }

  private RoomWindowCount() {}
}
