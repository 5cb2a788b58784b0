//! Event time and the oracle topic on a real broker (scripts/kafka-local, started by scripts/test):
//! each Kafka record's timestamp is its message's event time, duplicates arrive with the same id,
//! and the oracle topic carries exactly the expected records.

use crate::common::kafka::{consume, fresh, run_on_broker};
use crate::common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[test]
#[ignore = "needs Apache Kafka (DISTRODUCE_KAFKA_BROKERS): scripts/test starts one"]
fn kafka_timestamps_are_event_times_and_the_oracle_topic_gets_the_expected_records() {
    let dir = tempfile::tempdir().unwrap();
    let (chat, oracle) = (fresh("cw-chat"), fresh("cw-oracle"));
    let mut y = read(&repo().join("scenarios/chat-windows.yaml"));
    for (from, to) in [
        ("{crate: ../plugins/chat}".to_string(), format!("{{wasm: {}}}", plugin("chat_plugin"))),
        ("      name: chat\n".to_string(), format!("      name: {chat}\n")),
        ("  topics:\n".to_string(), format!("  topics:\n    oracle: {{name: {oracle}, partitions: 1}}\n")),
        (
            "    aggregate: count\n    output: {topic: room-counts,".to_string(),
            "    aggregate: count\n    oracle_topic: oracle\n    output: {topic: room-counts,".to_string(),
        ),
    ] {
        assert!(y.contains(&from), "scenarios/chat-windows.yaml changed: no `{from}`");
        y = y.replace(&from, &to);
    }
    let p = scenario(dir.path(), &y);
    let out = dir.path().join("out");
    let o = run_on_broker(&p, &out);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("expectations    14 expected records"),
        "summary mentions them"
    );

    let sent: Vec<Value> =
        read(&out.join("messages.jsonl")).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let got = consume(&chat, 8, sent.len(), Duration::from_secs(1), deadline);
    assert_eq!(got.len(), sent.len(), "every message, duplicates included, arrived once per copy");
    let event: HashMap<String, i64> = sent
        .iter()
        .map(|m| (m["headers"]["distroduce-id"].as_str().unwrap().to_string(), m["event_time_ms"].as_i64().unwrap()))
        .collect();
    assert!(event.len() < sent.len(), "the run duplicated some messages");
    for g in &got {
        let id = &g.headers["distroduce-id"];
        assert_eq!(g.created_ms, Some(event[id]), "Kafka timestamp of {id} is its event time");
    }

    let expected: Vec<Value> = read(&out.join("expected.jsonl"))
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["expectation"] == "room_counts")
        .collect();
    let on_oracle = consume(&oracle, 1, expected.len(), Duration::from_secs(1), deadline);
    let got: Vec<Value> = on_oracle.iter().map(|g| serde_json::from_str(&g.value).unwrap()).collect();
    assert_eq!(got, expected, "the oracle topic has exactly the expected records, in order");
    for (g, e) in on_oracle.iter().zip(&expected) {
        assert_eq!(g.key.as_deref(), e["key"].as_str());
        assert_eq!(g.created_ms, e["window_start"].as_i64(), "stamped with the window start");
    }
}
