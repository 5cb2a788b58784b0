package distroduce.streaming;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Topic chores shared by both apps (streaming/spark/run calls this class's main too):
 * wait until the input topic exists, and create the output topic with {@code retention.ms=-1}
 * when it is missing.
 *
 * <p>Why retention.ms=-1: the records carry the simulation's event time (e.g. 2019) as their
 * timestamp, and the output records inherit it. With the broker default retention (7 days),
 * the broker deletes such records at its next retention check (every 5 minutes), so an
 * auto-created output topic loses its content before anyone reads it.
 *
 * <pre>java -cp ... distroduce.streaming.Topics --bootstrap B --input IN --output OUT [--wait 20s]</pre>
 * exits 0 when the input exists and the output exists (now), 3 when the input did not appear
 * within --wait (no --wait: wait forever).
 */
public final class Topics {
  public static final Map<String, String> OUTPUT_CONFIG = Map.of("retention.ms", "-1");

  /** Waits for {@code input}; false when it did not appear within {@code wait} (null: forever). */
  static boolean waitForInput(Admin admin, String input, Duration wait) throws InterruptedException {
    long t0 = System.currentTimeMillis();
    boolean said = false;
    while (true) {
      Set<String> names;
      try {
        names = admin.listTopics().names().get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        names = Set.of();
        if (!said) log("cannot list topics yet (" + e.getClass().getSimpleName() + "); retrying");
        said = true;
      }
      if (names.contains(input)) return true;
      if (!said) log("waiting for topic " + input);
      said = true;
      if (wait != null && System.currentTimeMillis() - t0 >= wait.toMillis()) {
        log("topic " + input + " did not appear within " + wait.toMillis() + " ms");
        return false;
      }
      Thread.sleep(500);
    }
  }

  /** Creates {@code output} (partitions of the input, retention.ms=-1) unless it exists. */
  static void ensureOutput(Admin admin, String input, String output) throws Exception {
    if (admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(output)) return;
    int partitions =
        admin.describeTopics(List.of(input)).allTopicNames().get(30, TimeUnit.SECONDS)
            .get(input).partitions().size();
    try {
      admin.createTopics(List.of(new NewTopic(output, partitions, (short) -1).configs(OUTPUT_CONFIG)))
          .all().get(30, TimeUnit.SECONDS);
      log("created output topic " + output + " (" + partitions + " partitions, retention.ms=-1)");
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) throw e;
    }
  }

  /** Both chores; false when the input did not appear in time. */
  static boolean prepare(String bootstrap, String input, String output, Duration wait) throws Exception {
    Properties ap = new Properties();
    ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(ap)) {
      if (!waitForInput(admin, input, wait)) return false;
      ensureOutput(admin, input, output);
      return true;
    }
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = null, input = null, output = null;
    Duration wait = null;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--bootstrap" -> bootstrap = args[i + 1];
        case "--input" -> input = args[i + 1];
        case "--output" -> output = args[i + 1];
        case "--wait" -> wait = RoomWindowCount.duration(args[i + 1]);
        default -> {
          System.err.println("topics: unknown option " + args[i]);
          System.exit(2);
        }
      }
    }
    if (bootstrap == null || input == null || output == null) {
      System.err.println("usage: Topics --bootstrap B --input IN --output OUT [--wait 20s]");
      System.exit(2);
    }
    System.exit(prepare(bootstrap, input, output, wait) ? 0 : 3);
  }

  static void log(String msg) {
    System.err.println("topics: " + msg);
  }

  private Topics() {}
}
