// A test input for the stream apps, until the engine produces it: chat messages keyed by room,
// with explicit event timestamps (CreateTime) and a distroduce-id header, some of them late and
// some duplicated. Run with Java's single-file launcher and the jars of scripts/kafka-local:
//
//   java -cp "$(scripts/kafka-local classpath)" streaming/tools/TestProducer.java \
//       --bootstrap 127.0.0.1:19092 --topic chat-in [--partitions 1] [--steps 60] \
//       [--records-out FILE]
//
// Steps t = 0..steps-1 at 1 s from 2019-10-03T00:00:00Z; per step 4 messages (k = 0..3): k 0,1 in
// room_1 and k 2,3 in room_2, id "t<t>-k<k>". Some are sent 15 s late (after the messages of step
// t + 15, or at the end), some twice (same id, same timestamp). --records-out writes one JSON line
// per record sent, in send (= offset) order: {"ts": ms, "room": ..., "id": ...}; tools/check.py
// reads it. The topic is created with --partitions partitions and retention.ms=-1 if it does not
// exist yet.
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class TestProducer {
  record Msg(long ts, String room, String id, String sender, String receiver, int client) {}

  // (t, k) pairs sent 15 s late, and pairs sent twice: immediately (0) or N steps later.
  static final Set<String> LATE = Set.of("t7-k1", "t23-k2", "t24-k0", "t41-k3", "t44-k1", "t50-k2");
  static final Map<String, Integer> DUP = Map.of("t3-k0", 0, "t12-k2", 20, "t23-k2", 0, "t35-k1", 0, "t58-k3", 0);

  public static void main(String[] args) throws Exception {
    String bootstrap = "127.0.0.1:19092", topic = null, out = null;
    int partitions = 1, steps = 60;
    for (int i = 0; i < args.length; i += 2) {
      switch (args[i]) {
        case "--bootstrap" -> bootstrap = args[i + 1];
        case "--topic" -> topic = args[i + 1];
        case "--partitions" -> partitions = Integer.parseInt(args[i + 1]);
        case "--steps" -> steps = Integer.parseInt(args[i + 1]);
        case "--records-out" -> out = args[i + 1];
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    if (topic == null) throw new IllegalArgumentException("--topic is required");
    long t0 = Instant.parse("2019-10-03T00:00:00Z").toEpochMilli();

    // The send order: a map from "send slot" (step after whose messages it goes) to messages.
    TreeMap<Integer, List<Msg>> slots = new TreeMap<>();
    String[] who = {"A", "B", "C", "D"};
    for (int t = 0; t < steps; t++) {
      for (int k = 0; k < 4; k++) {
        String id = "t" + t + "-k" + k;
        String room = k < 2 ? "room_1" : "room_2";
        Msg m = new Msg(t0 + t * 1000L, room, id, who[k], who[(k + 1) % 4], k);
        int slot = LATE.contains(id) ? Math.min(t + 15, steps - 1) : t;
        slots.computeIfAbsent(slot, x -> new ArrayList<>()).add(m);
        if (DUP.containsKey(id)) {
          int again = Math.min(slot + DUP.get(id), steps - 1);
          slots.computeIfAbsent(again, x -> new ArrayList<>()).add(m);
        }
      }
    }

    Properties ap = new Properties();
    ap.put("bootstrap.servers", bootstrap);
    try (Admin admin = Admin.create(ap)) {
      if (!admin.listTopics().names().get().contains(topic)) {
        // retention.ms=-1: the 2019 event timestamps are years past any time-based retention, so
        // the broker would delete the records at its next retention check (every 5 min).
        admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1)
            .configs(Map.of("retention.ms", "-1")))).all().get();
      }
    }

    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true); // keeps the send order on retries
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    DateTimeFormatter py = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);
    int n = 0;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p);
        PrintWriter rec = out == null ? null : new PrintWriter(Files.newBufferedWriter(Path.of(out)))) {
      for (List<Msg> batch : slots.values()) {
        for (Msg m : batch) {
          String value = String.format(
              "{\"client\":%d,\"room\":\"%s\",\"action\":\"send\",\"sender\":\"%s\",\"receiver\":\"%s\","
                  + "\"input\":\"Hi %s\",\"created\":\"%s\"}",
              m.client(), m.room(), m.sender(), m.receiver(), m.receiver(), py.format(Instant.ofEpochMilli(m.ts())));
          RecordHeaders h = new RecordHeaders();
          h.add("distroduce-id", m.id().getBytes(StandardCharsets.UTF_8));
          producer.send(new ProducerRecord<>(topic, null, m.ts(), m.room().getBytes(StandardCharsets.UTF_8),
              value.getBytes(StandardCharsets.UTF_8), h)).get();
          if (rec != null) rec.printf("{\"ts\":%d,\"room\":\"%s\",\"id\":\"%s\"}%n", m.ts(), m.room(), m.id());
          n++;
        }
      }
    }
    System.err.println("TestProducer: sent " + n + " records to " + topic + " (" + steps * 4 + " unique)");
  }
}
