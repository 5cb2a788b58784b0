//! What the Kafka sink measures, against librdkafka's in-process mock broker: throughput and the
//! pacer's due times count from the first send (not from when the sink was created, which a real
//! cluster's connection and topic creation precede), and the latency is enqueue to acknowledgement.

use distroduce_model::message::{MsgMeta, OutMessage};
use distroduce_model::types::ValueFormat;
use distroduce_model::{KafkaPlan, TopicPlan};
use distroduce_sink::kafka::{EmbeddedBroker, KafkaSink};
use distroduce_sink::MessageSink;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn plan(rate: Option<f64>) -> KafkaPlan {
    KafkaPlan {
        topics: vec![TopicPlan {
            alias: "t".into(),
            name: "t".into(),
            partitions: 2,
            replication: 1,
            format: ValueFormat::Raw,
            key: None,
            headers: Vec::new(),
            partition: None,
            disorder: None,
            schemas: Vec::new(),
            encoder: None,
        }],
        rate,
        ..Default::default()
    }
}

fn message(i: u64) -> OutMessage {
    OutMessage {
        topic: 0,
        key: i.is_multiple_of(2).then(|| i.to_string().into_bytes()),
        value: vec![b'x'; 100],
        headers: Vec::new(),
        partition: None,
        event_time_ms: None,
        meta: MsgMeta { seq: i, ..Default::default() },
    }
}

/// The sink is idle for `idle`, then sends `n` messages and waits for their acknowledgements.
fn run(plan: &KafkaPlan, idle: Duration, n: u64) -> (distroduce_sink::DeliveryStats, Duration) {
    let broker = EmbeddedBroker::start(plan).expect("mock broker");
    let sink = KafkaSink::connect(plan, &broker.bootstrap_servers(), true).expect("sink");
    std::thread::sleep(idle);
    let first_send = Instant::now();
    for i in 0..n {
        sink.send(&message(i)).expect("send");
    }
    let stats = sink.finish(Duration::from_secs(30));
    (stats, first_send.elapsed())
}

#[test]
fn throughput_counts_from_the_first_send_and_latency_from_each_enqueue() {
    let idle = Duration::from_millis(1500);
    let (s, sending) = run(&plan(None), idle, 2000);
    assert_eq!((s.acked, s.failed, s.measured_acked), (2000, 0, 2000), "{s:?}");
    // Before the first send the sink sat idle for 1.5 s; none of it is publishing time.
    assert!(
        s.ack_seconds > 0.0 && s.ack_seconds <= sending.as_secs_f64(),
        "ack_seconds {} > {sending:?}",
        s.ack_seconds
    );
    assert!(s.measured_seconds <= sending.as_secs_f64(), "{s:?}");
    assert!(s.started_unix_ms.is_some(), "{s:?}");
    // Enqueue to acknowledgement: positive, and never longer than the sending itself.
    let lat = s.latency_ms.expect("latency percentiles");
    assert!(lat[0] > 0.0, "{lat:?}");
    assert!(lat[4] <= sending.as_secs_f64() * 1e3 + 1.0, "max latency {} ms, sending took {sending:?}", lat[4]);
    assert_eq!(s.bytes_acked, 2000 * 100 + (0..2000u64).step_by(2).map(|i| i.to_string().len() as u64).sum::<u64>());
}

#[test]
fn paced_due_times_start_at_the_first_send() {
    // 200 messages at 2,000/s: 0.1 s of sending after 1.5 s idle. Due times counted from the
    // sink's creation would make every message 1.5 s late.
    let (s, _) = run(&plan(Some(2000.0)), Duration::from_millis(1500), 200);
    assert_eq!(s.acked, 200, "{s:?}");
    let from_due = s.latency_from_due_ms.expect("latency from the due time when paced");
    assert!(from_due[4] < 1000.0, "max latency from due {} ms: the idle time was counted", from_due[4]);
    let lat = s.latency_ms.expect("latency");
    assert!(from_due[4] >= lat[4] - 1.0, "latency from due {from_due:?} includes the service latency {lat:?}");
}

fn unix_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs_f64() * 1e3
}

/// The figures every report is made of hang on one clock read per acknowledgement (the ack time,
/// and the latency from librdkafka's enqueue stamp): they stay inside the run they describe.
#[test]
fn ack_times_latencies_and_the_series_stay_inside_the_run() {
    let plan = plan(None);
    let n = 20_000u64;
    let broker = EmbeddedBroker::start(&plan).expect("mock broker");
    let sink = KafkaSink::connect(&plan, &broker.bootstrap_servers(), true).expect("sink");
    let (unix_before, first_send) = (unix_ms(), Instant::now());
    for i in 0..n {
        sink.send(&message(i)).expect("send");
    }
    let s = sink.finish(Duration::from_secs(30));
    let (wall, unix_after) = (first_send.elapsed(), unix_ms());
    assert_eq!((s.acked, s.failed, s.measured_acked), (n, 0, n), "{s:?}");

    // Latency: positive, ordered, never longer than the run.
    let lat = s.latency_ms.expect("latency percentiles");
    assert!(lat[0] > 0.0 && lat.windows(2).all(|w| w[0] <= w[1]), "{lat:?}");
    assert!(lat[4] <= wall.as_secs_f64() * 1e3 * 1.001, "max latency {} ms, the run took {wall:?}", lat[4]);
    let recorded: u64 = s.buckets.latency_us.iter().map(|&(_, c)| c).sum();
    assert_eq!(recorded, n, "every acknowledgement has a latency");
    assert!(s.buckets.latency_us.iter().all(|&(us, _)| us as f64 <= wall.as_secs_f64() * 1e6 * 1.001));

    // The per-second series adds up to what was acknowledged, and ends where the acks end.
    let series_acked: u64 = s.per_second.iter().map(|r| r.acked).sum();
    let series_bytes: u64 = s.per_second.iter().map(|r| r.bytes).sum();
    assert_eq!((series_acked, series_bytes), (s.acked, s.bytes_acked), "{:?}", s.per_second);
    let last = s.per_second.last().expect("at least one second").second;
    assert_eq!(last, s.ack_seconds as u64, "the last row is the second of the last ack ({} s)", s.ack_seconds);
    assert!(s.ack_seconds > 0.0 && s.ack_seconds <= wall.as_secs_f64(), "{} s of {wall:?}", s.ack_seconds);

    // Unix time: the clock starts at the first send, and the series' seconds fall in the run.
    let start = s.started_unix_ms.expect("a start time");
    assert!(unix_before <= start && start <= unix_after, "{unix_before} <= {start} <= {unix_after}");
    assert!(start + s.ack_seconds * 1e3 <= unix_after, "last ack after the run ended");
    assert!(start + last as f64 * 1e3 <= unix_after, "series second {last} after the run ended");
}
