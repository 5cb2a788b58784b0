//! A broker restart in the middle of a run, with `acks=all` and idempotence on, loses nothing and
//! duplicates nothing: a paced run (~9 s) publishes to the scripts/kafka-local broker while
//! `scripts/kafka-local restart` stops it (SIGTERM) and starts it again on the same data; then every
//! message of messages.jsonl is consumed back exactly once, with its value, in order per key.
//!
//! With `kafka.transactions: timestep` the same holds for a `read_committed` consumer, and every
//! transaction commits: the commits that the outage holds up wait for the broker instead of failing.
//!
//! It restarts the shared broker, so each test holds it alone (`common::kafka::BROKER`, which the
//! other broker tests' runs and reads hold shared) and returns only once the broker serves again.

use crate::common::kafka::{brokers, consume_alone, fresh, Got, BROKER};
use crate::common::*;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const PARTITIONS: i32 = 4;
const JOBS: u64 = 12; // randomwalk.yaml: 2 x 2 cartesian subsets x 3 runs, one thread each
const TIMESTEPS: u64 = 450; // x 20 ms of wall time = ~9 s per job, all jobs in parallel
/// Restart once the run is ~3 s old and has published at least a fifth of its messages, so that
/// a slow engine start cannot make the restart miss the run.
const RESTART_AFTER: Duration = Duration::from_secs(3);
const RESTART_AFTER_MESSAGES: i64 = (JOBS * TIMESTEPS * 3 / 5) as i64;
/// The whole test stays well under 90 s; every wait below is bounded by this.
const BUDGET: Duration = Duration::from_secs(80);

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn kafka_local(arg: &str) -> std::process::Output {
    Command::new(repo().join("scripts/kafka-local")).arg(arg).output().expect("scripts/kafka-local runs")
}

/// Wait for `child` until `deadline`; kill it and fail past that.
fn wait_until(child: &mut Child, deadline: Instant, what: &str) -> std::process::ExitStatus {
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within the test's time budget");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Messages on `topic` so far (the sum of its partitions' high watermarks); 0 until the engine has
/// created it. Never creates the topic itself (the broker auto-creates topics on request).
fn published(topic: &str) -> i64 {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("allow.auto.create.topics", "false")
        .create()
        .unwrap();
    let ready = c.fetch_metadata(Some(topic), Duration::from_secs(5)).is_ok_and(|m| {
        m.topics()
            .iter()
            .any(|t| t.name() == topic && t.error().is_none() && t.partitions().len() == PARTITIONS as usize)
    });
    if !ready {
        return 0;
    }
    (0..PARTITIONS).map(|p| c.fetch_watermarks(topic, p, Duration::from_secs(5)).map_or(0, |(_, high)| high)).sum()
}

/// The last lines of the engine's log, for failure messages.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn restart_scenario(dir: &Path, topic: &str, transactions: bool) -> std::path::PathBuf {
    // A transaction must outlive the messages it waits for (librdkafka refuses a message timeout
    // longer than the transaction timeout).
    let txn = if transactions {
        format!(
            "  transactions: timestep\n  transactional_id_prefix: {}\n  producer: {{acks: all, message.timeout.ms: 120000, transaction.timeout.ms: 120000}}\n",
            fresh("restart")
        )
    } else {
        "  producer: {acks: all, enable.idempotence: true, message.timeout.ms: 120000}\n".to_string()
    };
    let mut y = std::fs::read_to_string(repo().join("scenarios/randomwalk.yaml")).unwrap();
    for (from, to) in [
        ("timesteps: 50\n", format!("timesteps: {TIMESTEPS}\n")),
        (
            "clock: {start: \"2024-01-02T09:30:00Z\", step: 1d}",
            "clock: {start: \"2024-01-02T09:30:00Z\", step: 20ms, realtime: true}".to_string(),
        ),
        ("{crate: ../plugins/randomwalk}", format!("{{wasm: {}}}", plugin("randomwalk_plugin"))),
        (
            "kafka:\n  topics:\n    prices: {name: prices, partitions: 8}",
            format!(
                "kafka:\n  id_header: true\n  timestamps: produce\n{txn}  topics:\n    prices: {{name: {topic}, partitions: {PARTITIONS}}}"
            ),
        ),
    ] {
        assert!(y.contains(from), "scenarios/randomwalk.yaml changed: no `{from}` to replace");
        y = y.replace(from, &to);
    }
    scenario(dir, &y)
}

#[test]
#[ignore = "needs Apache Kafka (DISTRODUCE_KAFKA_BROKERS): scripts/test starts one"]
fn a_broker_restart_mid_run_loses_and_duplicates_nothing() {
    restart_mid_run(false);
}

#[test]
#[ignore = "needs Apache Kafka (DISTRODUCE_KAFKA_BROKERS): scripts/test starts one"]
fn a_broker_restart_mid_run_keeps_transactions_exactly_once_for_read_committed() {
    restart_mid_run(true);
}

fn restart_mid_run(transactions: bool) {
    // The broker alone: one restart at a time, and no other test's run or read meets it.
    let _turn = BROKER.write().unwrap_or_else(|p| p.into_inner());
    let started = Instant::now();
    let deadline = started + BUDGET;
    // The restart goes through scripts/kafka-local, so the broker under test must be that one.
    let local = String::from_utf8_lossy(&kafka_local("bootstrap").stdout).trim().to_string();
    assert_eq!(
        brokers(),
        local,
        "this test restarts the scripts/kafka-local broker; DISTRODUCE_KAFKA_BROKERS must point at it"
    );
    assert!(kafka_local("status").status.success(), "the scripts/kafka-local broker is not running");

    let dir = tempfile::tempdir().unwrap();
    let topic = fresh("restart");
    let p = restart_scenario(dir.path(), &topic, transactions);
    let out = dir.path().join("out");
    let log = dir.path().join("engine.log");
    // Output to a file, not a pipe nobody reads while it runs (librdkafka logs the outage).
    let mut run = Command::new(env!("CARGO_BIN_EXE_engine"))
        .args(["run", p.to_str().unwrap(), "--brokers", &brokers(), "--write-messages", "--threads"])
        .arg(JOBS.to_string())
        .args(["--flush-timeout", "40s", "--out", out.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("engine binary runs");
    let run_started = Instant::now();

    loop {
        std::thread::sleep(Duration::from_millis(200));
        assert!(run.try_wait().unwrap().is_none(), "the run ended before the restart: {}", tail(&read(&log)));
        assert!(Instant::now() < deadline, "the run never got going: {}", tail(&read(&log)));
        if run_started.elapsed() >= RESTART_AFTER && published(&topic) >= RESTART_AFTER_MESSAGES {
            break;
        }
    }
    let restarted_after = run_started.elapsed();
    let (down_from_ms, t) = (now_ms(), Instant::now());
    let mut restart = Command::new(repo().join("scripts/kafka-local"))
        .arg("restart")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("scripts/kafka-local runs");
    let status = wait_until(&mut restart, deadline, "scripts/kafka-local restart");
    let (up_at_ms, restart_took) = (now_ms(), t.elapsed());
    let o = restart.wait_with_output().unwrap();
    assert!(status.success(), "scripts/kafka-local restart failed: {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), local, "restart prints the bootstrap address");
    let mid_run = run.try_wait().unwrap().is_none();

    let status = wait_until(&mut run, deadline, "the engine run");
    let run_took = run_started.elapsed();
    let engine_log = read(&log);
    assert!(status.success(), "the run failed across the restart ({status}): {}", tail(&engine_log));

    let summary: serde_json::Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    let d = &summary["delivery"];
    let (produced, acked, failed) =
        (d["produced"].as_u64().unwrap(), d["acked"].as_u64().unwrap(), d["failed"].as_u64().unwrap());
    assert_eq!(failed, 0, "failed deliveries: {}", d["first_error"]);
    assert_eq!(acked, produced, "every produced message acknowledged");
    let expected: Vec<serde_json::Value> =
        read(&out.join("messages.jsonl")).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(expected.len() as u64, produced, "messages.jsonl holds every produced message");
    assert_eq!(expected.len() as u64, JOBS * TIMESTEPS * 3, "one tick per asset, job and timestep");
    if transactions {
        let t = &d["transactions"];
        assert_eq!(t["committed"].as_u64(), Some(JOBS * TIMESTEPS), "one commit per job and timestep: {t}");
        assert_eq!(t["messages_committed"].as_u64(), Some(produced), "{t}");
        assert_eq!(t["aborted"].as_u64(), Some(0), "{t}");
    }

    // Everything is on the broker already (acknowledged, committed): reading it back takes
    // seconds, committed messages only.
    let got = consume_alone(
        &topic,
        PARTITIONS,
        expected.len(),
        Duration::from_secs(2),
        deadline.min(Instant::now() + Duration::from_secs(30)),
        "read_committed",
    );
    let mut by_id: HashMap<&str, &Got> = HashMap::new();
    let mut duplicates = Vec::new();
    for g in &got {
        let id =
            g.headers.get("distroduce-id").map(String::as_str).expect("every message carries a distroduce-id header");
        if by_id.insert(id, g).is_some() {
            duplicates.push(id);
        }
    }
    let lost: Vec<String> = expected
        .iter()
        .map(|e| format!("0-{}-{}-{}", e["subset"], e["run"], e["seq"]))
        .filter(|id| !by_id.contains_key(id.as_str()))
        .collect();
    assert!(
        lost.is_empty() && duplicates.is_empty(),
        "{} of {} messages lost (first: {:?}), {} duplicated (first: {:?}); {} read back",
        lost.len(),
        expected.len(),
        lost.iter().take(5).collect::<Vec<_>>(),
        duplicates.len(),
        duplicates.iter().take(5).collect::<Vec<_>>(),
        got.len()
    );
    assert_eq!(got.len(), expected.len(), "every message exactly once");
    for e in &expected {
        let id = format!("0-{}-{}-{}", e["subset"], e["run"], e["seq"]);
        let g = by_id[id.as_str()];
        assert_eq!(g.value, e["value"].as_str().unwrap(), "content of {id}");
        assert_eq!(g.key.as_deref(), e["key"].as_str(), "key of {id}");
    }
    // The idempotent producer also keeps order: one job's ticks of one asset (same key, same
    // partition) sit on the partition in the order they were sent.
    let mut last: HashMap<(String, String), (i32, u64)> = HashMap::new();
    for g in &got {
        let id = g.headers.get("distroduce-id").map(String::as_str).unwrap();
        let (job, seq) = id.rsplit_once('-').unwrap();
        let seq: u64 = seq.parse().unwrap();
        if let Some((p, prev)) = last.insert((job.to_string(), g.key.clone().unwrap_or_default()), (g.partition, seq)) {
            assert_eq!(p, g.partition, "{id}: one key, one partition");
            assert!(prev < seq, "{id} came after seq {prev} of the same job and key: reordered");
        }
    }

    // The restart really hit the run: the engine was still producing while the broker was down
    // (messages were enqueued inside the restart window), and messages waited for the broker.
    let during = got.iter().filter(|g| g.created_ms.is_some_and(|c| c > down_from_ms && c < up_at_ms)).count();
    let before = got.iter().filter(|g| g.created_ms.is_some_and(|c| c < down_from_ms)).count();
    let after = got.iter().filter(|g| g.created_ms.is_some_and(|c| c > up_at_ms)).count();
    assert!(before > 0 && during > 0, "no messages before ({before}) or during ({during}) the restart");
    let max_latency_ms = d["latency_ms"][4].as_f64().unwrap();
    assert!(max_latency_ms > 1000.0, "no message waited for the restarted broker (max latency {max_latency_ms} ms)");
    assert!(started.elapsed() < Duration::from_secs(90), "took {:?}", started.elapsed());
    let outage_logs = engine_log.lines().filter(|l| l.contains("rdkafka")).count();
    eprintln!(
        "restart-test (transactions: {transactions}): {} messages, all back exactly once; run {:.1}s, restart after {:.1}s, took {:.1}s (engine still running after it: {mid_run}); enqueued before/during/after the restart: {before}/{during}/{after}; ack latency max {max_latency_ms:.0} ms, p99 {:.0} ms; {outage_logs} librdkafka log lines; test {:.1}s",
        expected.len(),
        run_took.as_secs_f64(),
        restarted_after.as_secs_f64(),
        restart_took.as_secs_f64(),
        d["latency_ms"][2].as_f64().unwrap_or(0.0),
        started.elapsed().as_secs_f64()
    );
}
