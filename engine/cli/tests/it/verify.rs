//! `engine verify` against a real Kafka broker (scripts/kafka-local, started by scripts/test): a
//! stream job's output is simulated by producing records in the two shapes real jobs write (Kafka
//! Streams: string key, JSON value with window_start ms and count; Spark: JSON key with room and
//! RFC 3339 window_start, plain number value) to fresh topics, and verified against expected
//! records built in code. Each test checks a verdict a CI job relies on: exact output passes,
//! each kind of wrong output fails naming the (key, window), the wait for stragglers is bounded.

use crate::common::kafka::{brokers, fresh};
use distroduce::model::expect::{Expectation, ExpectedRecord, JobOutput, Locator, Tolerance};
use distroduce::model::KeyTemplate;
use distroduce::scenario::expect::AggregateKind;
use distroduce_verify::{self as verify, report::render, Counts, Report, Settings, Status, Stopped, VerifyError};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use std::time::{Duration, Instant};

/// 2019-10-03T00:00:00Z, the chat model's clock start.
const T0: i64 = 1_570_060_800_000;
const W: i64 = 10_000;

fn create_topic(topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", brokers()).create().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let res = rt
        .block_on(admin.create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        ))
        .unwrap();
    res.into_iter().for_each(|r| {
        r.unwrap();
    });
}

/// Produce (key, value) records in order (a `None` value is a tombstone) and wait for their acks.
fn produce(topic: &str, records: &[(String, Option<String>)]) {
    let p: BaseProducer = ClientConfig::new().set("bootstrap.servers", brokers()).create().unwrap();
    for (k, v) in records {
        let mut r = BaseRecord::<String, String>::to(topic).key(k);
        if let Some(v) = v {
            r = r.payload(v);
        }
        p.send(r).map_err(|(e, _)| e).unwrap();
    }
    p.flush(Duration::from_secs(30)).unwrap();
}

/// Kafka Streams' shape: key = room, value = {"window_start": ms, "window_end": ms, "count": n}.
fn ks(room: &str, w: i64, count: &str) -> (String, Option<String>) {
    let (s, e) = (T0 + w * W, T0 + (w + 1) * W);
    (room.into(), Some(format!(r#"{{"window_start":{s},"window_end":{e},"count":{count}}}"#)))
}

fn ks_output(topic: &str) -> JobOutput {
    JobOutput {
        topic: topic.into(),
        key: Locator::Key,
        window_start: Some(Locator::parse("value.window_start").unwrap()),
        value: Locator::parse("value.count").unwrap(),
    }
}

/// Spark's shape: key = {"room": ..., "window_start": RFC 3339}, value = the count as text.
fn spark(room: &str, w: i64, count: &str) -> (String, Option<String>) {
    let secs = (w * W) / 1000;
    let ts = format!("2019-10-03T00:{:02}:{:02}.000Z", secs / 60, secs % 60);
    (format!(r#"{{"room":"{room}","window_start":"{ts}"}}"#), Some(count.to_string()))
}

fn spark_output(topic: &str) -> JobOutput {
    JobOutput {
        topic: topic.into(),
        key: Locator::parse("key.room").unwrap(),
        window_start: Some(Locator::parse("key.window_start").unwrap()),
        value: Locator::Value,
    }
}

fn expectation(name: &str, output: JobOutput, tolerance: Tolerance) -> Expectation {
    Expectation {
        name: name.into(),
        from: 0,
        key: KeyTemplate { source: "{room}".into(), parts: vec![] },
        window_ms: Some(W),
        aggregate: AggregateKind::Count,
        field: None,
        oracle_topic: None,
        output: Some(output),
        tolerance,
    }
}

fn expected(name: &str, room: &str, w: i64, value: serde_json::Value) -> ExpectedRecord {
    ExpectedRecord {
        expectation: name.into(),
        key: room.into(),
        window_start: Some(T0 + w * W),
        window_end: Some(T0 + (w + 1) * W),
        value: serde_json::from_value(value).unwrap(),
        messages: 1,
    }
}

fn settings(wait_secs: u64) -> Settings {
    let mut s = Settings::new(brokers());
    s.wait = Duration::from_secs(wait_secs);
    s.settle = Duration::from_secs(1);
    s
}

/// (key, window start offset in windows, status) of every result that is not ok.
fn problems(r: &Report) -> Vec<(String, i64, Status)> {
    r.expectations
        .iter()
        .flat_map(|e| &e.results)
        .filter(|o| o.status != Status::Ok)
        .map(|o| (o.key.clone(), (o.window_start.unwrap() - T0) / W, o.status))
        .collect()
}

/// Windows 0..4 of rooms a and b, with counts 10*w + room number.
fn truth(name: &str) -> Vec<ExpectedRecord> {
    let mut v = Vec::new();
    for (room, n) in [("room_1", 1), ("room_2", 2)] {
        for w in 0..4 {
            v.push(expected(name, room, w, (10 * w + n).into()));
        }
    }
    v
}

fn job_output(shape: fn(&str, i64, &str) -> (String, Option<String>)) -> Vec<(String, Option<String>)> {
    let mut v = Vec::new();
    for (room, n) in [("room_1", 1), ("room_2", 2)] {
        for w in 0..4 {
            v.push(shape(room, w, &(10 * w + n).to_string()));
        }
    }
    v
}

#[test]
#[ignore = "needs Apache Kafka (DISTRODUCE_KAFKA_BROKERS): scripts/test starts one"]
fn exact_output_in_either_shape_passes_as_soon_as_it_settles() {
    let (t_ks, t_spark) = (fresh("verify-ks"), fresh("verify-spark"));
    create_topic(&t_ks, 2);
    create_topic(&t_spark, 3);
    produce(&t_ks, &job_output(ks));
    produce(&t_spark, &job_output(spark));
    let exps = [
        expectation("ks", ks_output(&t_ks), Tolerance::default()),
        expectation("spark", spark_output(&t_spark), Tolerance::default()),
    ];
    let mut truths = truth("ks");
    truths.extend(truth("spark"));
    let r = verify::run(&exps, &truths, &settings(30)).unwrap();
    assert!(r.passed, "{}", render(&r));
    assert_eq!(r.counts, Counts { ok: 16, ..Counts::default() });
    assert_eq!(r.stopped, Stopped::Settled);
    assert!(r.waited_seconds < 15.0, "settled early, not at --wait: {}", r.waited_seconds);
    assert!(r.expectations.iter().all(|e| e.records_read == 8 && e.topic_found));
    let text = render(&r);
    assert!(
        text.contains("verify PASSED: 16 ok, 0 missing, 0 unexpected, 0 mismatched, 0 unreadable (settled"),
        "{text}"
    );
}

#[test]
#[ignore = "needs Apache Kafka (DISTRODUCE_KAFKA_BROKERS): scripts/test starts one"]
fn an_off_by_one_window_boundary_mismatches_exactly_the_two_windows_it_shifts() {
    let topic = fresh("verify-offbyone");
    create_topic(&topic, 2);
    // The message at exactly 00:00:20 lands in [10, 20) instead of [20, 30) for room_1.
    let mut out = job_output(spark);
    out[1] = spark("room_1", 1, "12");
    out[2] = spark("room_1", 2, "20");
    produce(&topic, &out);
    let exps = [expectation("rooms", spark_output(&topic), Tolerance::default())];
    let r = verify::run(&exps, &truth("rooms"), &settings(4)).unwrap();
    assert!(!r.passed);
    assert_eq!(problems(&r), [("room_1".into(), 1, Status::Mismatched), ("room_1".into(), 2, Status::Mismatched)]);
    assert_eq!(r.stopped, Stopped::WaitElapsed, "a mismatch may still be corrected, so verify waits");
    let text = render(&r);
    assert!(
        text.contains(
            "mismatched  room_1 [2019-10-03T00:00:10Z, 00:00:20Z)  -expected 11  +actual 12  (difference +1)"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "mismatched  room_1 [2019-10-03T00:00:20Z, 00:00:30Z)  -expected 21  +actual 20  (difference -1)"
        ),
        "{text}"
    );
    assert!(text.contains("verify FAILED: 6 ok, 0 missing, 0 unexpected, 2 mismatched, 0 unreadable"), "{text}");
}

#[test]
#[ignore = "needs Apache Kafka (DISTRODUCE_KAFKA_BROKERS): scripts/test starts one"]
fn a_missing_window_fails_after_the_wait_and_an_unexpected_one_is_named() {
    let topic = fresh("verify-missing");
    create_topic(&topic, 1);
    let mut out = job_output(ks);
    out.remove(3); // room_1, window 3
    out.push(ks("room_3", 0, "1"));
    produce(&topic, &out);
    let exps = [expectation("rooms", ks_output(&topic), Tolerance::default())];
    let started = Instant::now();
    let r = verify::run(&exps, &truth("rooms"), &settings(4)).unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(4) && took < Duration::from_secs(15), "took {took:?}");
    assert_eq!(r.stopped, Stopped::WaitElapsed);
    assert_eq!(problems(&r), [("room_1".into(), 3, Status::Missing), ("room_3".into(), 0, Status::Unexpected)]);
    let text = render(&r);
    assert!(text.contains("missing     room_1 [2019-10-03T00:00:30Z, 00:00:40Z)  -expected 31\n"), "{text}");
    assert!(text.contains("unexpected  room_3 [2019-10-03T00:00:00Z, 00:00:10Z)  +actual 1\n"), "{text}");
}

#[test]
#[ignore = "needs Apache Kafka (DISTRODUCE_KAFKA_BROKERS): scripts/test starts one"]
fn floats_within_tolerance_pass_and_the_last_update_of_a_window_wins() {
    let topic = fresh("verify-changelog");
    create_topic(&topic, 2);
    let exps = [expectation("mean", ks_output(&topic), Tolerance { abs: 0.01, rel: 0.0 })];
    let want = [expected("mean", "room_1", 0, 2.5.into()), expected("mean", "room_2", 0, 7.25.into())];
    // A changelog: the job revises room_1's window as messages arrive, and ends right.
    produce(
        &topic,
        &[ks("room_1", 0, "1.0"), ks("room_2", 0, "7.2549"), ks("room_1", 0, "2.0"), ks("room_1", 0, "2.5049")],
    );
    let r = verify::run(&exps, &want, &settings(30)).unwrap();
    assert!(r.passed, "{}", render(&r));
    let first = &r.expectations[0].results[0];
    assert_eq!(
        (first.key.as_str(), first.updates, first.actual.as_ref().unwrap().to_string()),
        ("room_1", 3, "2.5049".into())
    );
    // One more update beyond the tolerance turns the verdict.
    produce(&topic, &[ks("room_1", 0, "2.52")]);
    let r = verify::run(&exps, &want, &settings(3)).unwrap();
    assert_eq!(problems(&r), [("room_1".into(), 0, Status::Mismatched)]);
    assert!((r.expectations[0].results[0].difference.unwrap() - 0.02).abs() < 1e-9);
}

#[test]
#[ignore = "needs Apache Kafka (DISTRODUCE_KAFKA_BROKERS): scripts/test starts one"]
fn an_unreadable_record_fails_verification_with_its_position_and_content() {
    let topic = fresh("verify-unreadable");
    create_topic(&topic, 1);
    let mut out = job_output(ks);
    out.insert(2, ("room_1".into(), Some("{\"window_start\": oops".into())));
    out.insert(5, ("room_2".into(), Some(r#"{"window_end": 1}"#.into())));
    produce(&topic, &out);
    let exps = [expectation("rooms", ks_output(&topic), Tolerance::default())];
    let r = verify::run(&exps, &truth("rooms"), &settings(30)).unwrap();
    assert!(!r.passed);
    assert_eq!(r.counts, Counts { ok: 8, unreadable: 2, ..Counts::default() });
    assert_eq!(r.stopped, Stopped::Settled, "unreadable records do not keep verify waiting");
    let u = &r.expectations[0].unreadable;
    assert_eq!((u[0].partition, u[0].offset, u[0].key.as_deref()), (0, 2, Some("room_1")));
    assert_eq!(u[0].value.as_deref(), Some("{\"window_start\": oops"));
    assert!(u[0].reason.contains("not JSON"), "{}", u[0].reason);
    assert!(u[1].reason.contains("no field `window_start`"), "{}", u[1].reason);
    let text = render(&r);
    assert!(text.contains("unreadable  partition 0 offset 2: the record value is not JSON"), "{text}");
}

#[test]
#[ignore = "needs Apache Kafka (DISTRODUCE_KAFKA_BROKERS): scripts/test starts one"]
fn a_straggler_on_a_topic_created_late_is_still_matched() {
    let topic = fresh("verify-straggler");
    let exps = [expectation("rooms", spark_output(&topic), Tolerance::default())];
    let late = {
        let topic = topic.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(2));
            create_topic(&topic, 2);
            let mut out = job_output(spark);
            let last = out.pop().unwrap();
            produce(&topic, &out);
            std::thread::sleep(Duration::from_secs(1));
            produce(&topic, &[last]);
        })
    };
    let started = Instant::now();
    let r = verify::run(&exps, &truth("rooms"), &settings(30)).unwrap();
    late.join().unwrap();
    assert!(r.passed, "{}", render(&r));
    assert_eq!(r.stopped, Stopped::Settled);
    assert!(started.elapsed() >= Duration::from_secs(3), "the last record came 3 s in");
    assert!(started.elapsed() < Duration::from_secs(20), "settled long before --wait: {:?}", started.elapsed());
}

#[test]
fn an_unreachable_broker_is_an_error_not_a_verdict() {
    let exps = [expectation("rooms", ks_output("nowhere"), Tolerance::default())];
    let mut s = Settings::new("127.0.0.1:9");
    s.wait = Duration::from_secs(60);
    let started = Instant::now();
    let e = verify::run(&exps, &truth("rooms"), &s).unwrap_err();
    assert!(matches!(e, VerifyError::Unreachable { .. }), "{e}");
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().starts_with("cannot reach Kafka at 127.0.0.1:9"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
}

#[test]
fn the_cli_says_why_it_cannot_verify_and_exits_2() {
    let o = crate::common::engine(&["verify", "/nonexistent/scenario.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", crate::common::stderr(&o));
    assert!(crate::common::stderr(&o).contains("cannot read scenario"), "{}", crate::common::stderr(&o));
    let chat = crate::common::repo().join("scenarios/chat.yaml");
    let o = crate::common::engine(&["verify", chat.to_str().unwrap(), "--brokers", "127.0.0.1:9"]);
    assert_eq!(o.status.code(), Some(2), "{}", crate::common::stderr(&o));
    assert!(crate::common::stderr(&o).contains("declares no `expectations`"), "{}", crate::common::stderr(&o));
    assert!(o.stdout.is_empty(), "no verdict is printed without a verification");
}
