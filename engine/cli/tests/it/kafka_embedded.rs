//! Messages really reach Kafka: run the chat scenario against the embedded broker, then consume the
//! topic back and compare every message (key and value) with what the plugins emitted.

use crate::common::*;
use distroduce::model::output::MessageSink;
use distroduce::plugin_host::wasm::WasmBackend;
use distroduce::sim::{self as exec, RunOptions};
use distroduce::sink::kafka::{EmbeddedBroker, KafkaSink};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use std::time::{Duration, Instant};

#[test]
fn chat_messages_are_consumed_back_from_the_embedded_broker() {
    let mut model = distroduce::scenario::load(&repo().join("scenarios/chat.yaml")).unwrap();
    model.runs = 3;
    model.timesteps = 20;
    let (backend, resolved) = WasmBackend::load(&model).unwrap();
    let broker = EmbeddedBroker::start(&model.kafka).unwrap();
    let sink = KafkaSink::connect(&model.kafka, &broker.bootstrap_servers(), true).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("messages.jsonl");
    let opts = RunOptions { threads: 2, messages_file: Some(file.clone()), ..Default::default() };
    let report = exec::run(&model, &backend, &resolved, &sink, &mut [], &opts).unwrap();
    assert!(report.failures.is_empty());
    let stats = sink.finish(Duration::from_secs(30));
    // What the run wrote to its messages file, as it sent them (chat's keys and values are text).
    let expected: Vec<(Option<Vec<u8>>, Vec<u8>)> = read(&file)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|m| (m["key"].as_str().map(|k| k.as_bytes().to_vec()), m["value"].as_str().unwrap().as_bytes().to_vec()))
        .collect();
    assert_eq!(expected.len(), 3 * 20 * 4);
    assert_eq!((stats.produced, stats.acked, stats.failed), (240, 240, 0));
    assert!(stats.latency_ms.is_some() && stats.warnings.is_empty(), "{stats:?}");

    let topic = &model.kafka.topics[0];
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap_servers())
        .set("group.id", "distroduce-test")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..topic.partitions {
        tpl.add_partition_offset(&topic.name, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < expected.len() && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            got.push((m.key().map(<[u8]>::to_vec), m.payload().unwrap_or_default().to_vec()));
        }
    }
    let mut want = expected;
    got.sort();
    want.sort();
    assert_eq!(got.len(), want.len(), "every message came back, none twice");
    assert_eq!(got, want);
    // Keyed by room, JSON values.
    let v: serde_json::Value = serde_json::from_slice(&want[0].1).unwrap();
    assert_eq!(want[0].0.as_deref(), Some(&b"room_1"[..]));
    assert_eq!(v["action"], "send");
}

#[test]
fn the_user_is_told_when_the_embedded_broker_dropped_messages() {
    // One partition, ~40k chat messages of ~135 bytes: more than the 5 MiB the mock keeps.
    let dir = tempfile::tempdir().unwrap();
    let y = read(&repo().join("scenarios/chat.yaml"))
        .replace("chat: {name: chat, partitions: 8}", "chat: {name: chat, partitions: 1}")
        .replace("{crate: ../plugins/chat}", &format!("{{wasm: {}}}", plugin("chat_plugin")));
    let p = scenario(dir.path(), &y);
    let out = dir.path().join("out");
    let o = engine(&[
        "run",
        p.to_str().unwrap(),
        "--timesteps",
        "10000",
        "--format",
        "none",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("warning: the embedded broker keeps only ~5 MiB") && err.contains("chat[0]: 40000 msgs"),
        "{err}"
    );
    let small =
        engine(&["run", p.to_str().unwrap(), "--timesteps", "10", "--format", "none", "--out", out.to_str().unwrap()]);
    assert!(!stderr(&small).contains("warning"), "{}", stderr(&small));
}

#[test]
fn a_target_rate_paces_sends_and_reports_latency_from_due_time() {
    let dir = tempfile::tempdir().unwrap();
    let y = read(&repo().join("scenarios/chat.yaml"))
        .replace("kafka:\n  topics:", "kafka:\n  rate: 1000\n  warmup: 200ms\n  topics:")
        .replace("{crate: ../plugins/chat}", &format!("{{wasm: {}}}", plugin("chat_plugin")));
    let p = scenario(dir.path(), &y);
    let out = dir.path().join("out");
    let started = Instant::now();
    // 250 timesteps x 4 messages = 1000 messages at 1000/s: about one second.
    let o =
        engine(&["run", p.to_str().unwrap(), "--timesteps", "250", "--format", "none", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(started.elapsed() >= Duration::from_millis(990), "paced: {:?}", started.elapsed());
    let s: serde_json::Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    let rate = s["msgs_per_sec"].as_f64().unwrap();
    assert!((850.0..1150.0).contains(&rate), "measured {rate} msgs/s for a target of 1000");
    assert!(s["delivery"]["latency_from_due_ms"].is_array(), "{s}");
    let measured = s["delivery"]["measured_acked"].as_u64().unwrap();
    assert!(measured < 1000 && measured > 700, "the 200 ms warm-up is left out: {measured}");
    assert_eq!(s["delivery"]["acked"], 1000);
}
