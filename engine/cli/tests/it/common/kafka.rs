//! Helpers for the tests against the real broker (scripts/kafka-local, started by scripts/test).

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{Message, Offset, TopicPartitionList};
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Tests that use the broker hold it shared ([`shared`]); the restart tests (kafka_restart.rs),
/// which stop it and start it again, hold it alone, so that no other test's run or read meets the
/// outage and fails for it.
pub static BROKER: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// Hold the broker shared until the guard drops (see [`BROKER`]).
pub fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    BROKER.read().unwrap_or_else(|p| p.into_inner())
}

pub fn brokers() -> String {
    std::env::var("DISTRODUCE_KAFKA_BROKERS")
        .expect("DISTRODUCE_KAFKA_BROKERS must name a running broker: run the tests with scripts/test (it starts scripts/kafka-local)")
}

/// A topic (or group) name no earlier run used, so a test reads only its own messages.
pub fn fresh(prefix: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// One consumed message.
pub struct Got {
    pub key: Option<String>,
    pub value: String,
    pub headers: HashMap<String, String>,
    pub partition: i32,
    /// CreateTime: when the producer enqueued it (ms since the epoch).
    pub created_ms: Option<i64>,
}

/// Everything on `topic` from the beginning of its `partitions`: read until `n` arrived and `quiet`
/// more brought nothing (so duplicates beyond `n` are seen too), or until `deadline`. Reads
/// committed messages only (librdkafka's default `isolation.level`, made explicit).
pub fn consume(topic: &str, partitions: i32, n: usize, quiet: Duration, deadline: Instant) -> Vec<Got> {
    consume_isolated(topic, partitions, n, quiet, deadline, "read_committed")
}

/// [`consume`] with `isolation` (`read_committed` or `read_uncommitted`, which also returns the
/// messages of aborted and still open transactions).
pub fn consume_isolated(
    topic: &str,
    partitions: i32,
    n: usize,
    quiet: Duration,
    deadline: Instant,
    isolation: &str,
) -> Vec<Got> {
    let _broker = shared();
    consume_alone(topic, partitions, n, quiet, deadline, isolation)
}

/// [`consume_isolated`] without taking the broker shared: for a test that holds it alone.
pub fn consume_alone(
    topic: &str,
    partitions: i32,
    n: usize,
    quiet: Duration,
    deadline: Instant,
    isolation: &str,
) -> Vec<Got> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", fresh("test"))
        .set("enable.auto.commit", "false")
        .set("isolation.level", isolation)
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut got = Vec::new();
    let mut quiet_since = None;
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                quiet_since = None;
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| {
                                (h.key.to_string(), String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                got.push(Got {
                    key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                    value: String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
                    headers,
                    partition: m.partition(),
                    created_ms: m.timestamp().to_millis(),
                });
            }
            Some(Err(e)) => panic!("consume error: {e}"),
            None if got.len() >= n && quiet_since.get_or_insert_with(Instant::now).elapsed() > quiet => break,
            None => {}
        }
    }
    got
}

/// Check that every message of a run's messages.jsonl (`expected`) was consumed exactly once, by its
/// `distroduce-id` header, with the same value and key; returns the consumed messages by id.
pub fn assert_each_once<'a>(got: &'a [Got], expected: &[serde_json::Value]) -> HashMap<&'a str, &'a Got> {
    let mut by_id: HashMap<&str, &Got> = HashMap::new();
    for g in got {
        let id = g.headers.get("distroduce-id").expect("every message carries a distroduce-id header");
        assert!(by_id.insert(id, g).is_none(), "duplicate message {id}");
    }
    for e in expected {
        let id = format!("{}-{}-{}-{}", e["simulation"], e["subset"], e["run"], e["seq"]);
        let g = by_id.get(id.as_str()).unwrap_or_else(|| panic!("message {id} never arrived"));
        assert_eq!(g.value, e["value"].as_str().unwrap(), "content of {id}");
        assert_eq!(g.key.as_deref(), e["key"].as_str(), "key of {id}");
    }
    assert_eq!(got.len(), expected.len(), "every message once, nothing else on the topic");
    by_id
}

/// `engine run SCENARIO --brokers <test broker> --write-messages --out OUT`, which must succeed.
pub fn run_on_broker(scenario: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    let _broker = shared();
    let o = super::engine(&[
        "run",
        scenario.to_str().unwrap(),
        "--brokers",
        &brokers(),
        "--write-messages",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "engine run: {}", super::stderr(&o));
    o
}
