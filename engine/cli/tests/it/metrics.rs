//! `--metrics-addr`: live Prometheus metrics while a run goes, scraped over plain HTTP the way a
//! Prometheus server does, and parsed by the Prometheus project's own Python client parser.

use crate::common::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port free on 127.0.0.1 right now.
fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// `GET /metrics`: (status line, content type, body), or None if nothing answers.
fn scrape(addr: SocketAddr) -> Option<(String, String, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/plain\r\n\r\n").ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.lines().next()?.to_string();
    let ctype = head.lines().find_map(|l| l.strip_prefix("Content-Type: "))?.to_string();
    Some((status, ctype, body.to_string()))
}

/// A sample's value from the text format (`name{labels} value`), for the plain checks.
fn value(body: &str, series: &str) -> Option<f64> {
    body.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Start a long chat run (its messages to `topic`; `extra` flags, e.g. `--brokers`, else the
/// embedded broker) with metrics on, scrape until three scrapes show acknowledgements, stop the run
/// with SIGINT and return the scrapes (and the engine's exit status).
fn scrape_during_a_run(topic: &str, extra: &[&str]) -> (Vec<String>, Option<i32>, SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    let y = read(&repo().join("scenarios/chat.yaml"))
        .replace("chat: {name: chat, partitions: 8}", &format!("chat: {{name: {topic}, partitions: 8}}"))
        .replace("{crate: ../plugins/chat}", &format!("{{wasm: {}}}", plugin("chat_plugin")));
    assert!(y.contains(&format!("name: {topic},")), "the scenario template changed");
    let scenario = scenario(dir.path(), &y);
    let addr = free_port();
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_engine"))
        .args(["run", scenario.to_str().unwrap()])
        .args(["--timesteps", "100000000", "--threads", "2", "--format", "none"])
        .args(extra)
        .args(["--out", dir.path().join("out").to_str().unwrap(), "--metrics-addr", &addr.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut scrapes: Vec<String> = Vec::new();
    // Three scrapes with progress, the last one also with librdkafka's statistics (every second).
    let enough = |s: &[String]| s.len() >= 3 && s.last().is_some_and(|l| l.contains("\nrdkafka_msg_cnt "));
    while !enough(&scrapes) && Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            panic!("the engine ended before it could be scraped ({status}): {err}");
        }
        match scrape(addr) {
            Some((status, ctype, body)) => {
                assert_eq!(status, "HTTP/1.1 200 OK");
                assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
                // Counted once the first timestep is done and the first acks came back.
                if value(&body, &format!("distroduce_messages_acked_total{{topic=\"{topic}\"}}")).unwrap_or(0.0) > 0.0 {
                    scrapes.push(body);
                }
                std::thread::sleep(Duration::from_millis(700));
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let status = wait_or_kill_group(&mut child, Duration::from_secs(60));
    assert!(scrapes.len() >= 2, "fewer than two scrapes with progress within 120 s: {scrapes:?}");
    (scrapes, status.and_then(|s| s.code()), addr)
}

#[test]
fn metrics_grow_during_a_run_and_the_endpoint_stops_with_it() {
    check_growing_scrapes("chat", &[]);
}

#[test]
#[ignore = "needs Apache Kafka (DISTRODUCE_KAFKA_BROKERS): scripts/test starts one"]
fn metrics_count_deliveries_to_a_real_broker() {
    let brokers = crate::common::kafka::brokers();
    check_growing_scrapes(&crate::common::kafka::fresh("metrics"), &["--brokers", &brokers]);
}

fn check_growing_scrapes(topic: &str, extra: &[&str]) {
    let (scrapes, code, addr) = scrape_during_a_run(topic, extra);
    assert_eq!(code, Some(130), "SIGINT ends the run with 130");
    assert!(scrape(addr).is_none(), "the endpoint stops when the run ends");
    let (emitted, acked, failed) = (
        format!("distroduce_messages_emitted_total{{topic=\"{topic}\"}}"),
        format!("distroduce_messages_acked_total{{topic=\"{topic}\"}}"),
        format!("distroduce_messages_failed_total{{topic=\"{topic}\"}}"),
    );
    let series = [
        "distroduce_substeps_total",
        "distroduce_timesteps_total",
        &emitted,
        &acked,
        "distroduce_ack_latency_seconds_count",
    ];
    let (first, last) = (&scrapes[0], &scrapes[scrapes.len() - 1]);
    for s in series {
        let (a, b) = (value(first, s), value(last, s));
        assert!(matches!((a, b), (Some(a), Some(b)) if b > a), "{s} does not grow: {a:?} -> {b:?}\n{last}");
    }
    // chat has four substeps per timestep (one per block) and one message per substep.
    let v = |s: &str| value(last, s).unwrap_or_else(|| panic!("no {s} in\n{last}"));
    assert!(v("distroduce_substeps_total") >= v("distroduce_timesteps_total"), "{last}");
    assert_eq!(v("distroduce_jobs{state=\"running\"}"), 1.0, "{last}");
    assert_eq!(v(&failed), 0.0, "{last}");
    assert!(v("rdkafka_tx_bytes") > 0.0, "{last}");
    assert_eq!(v("distroduce_ack_latency_seconds_bucket{le=\"+Inf\"}"), v("distroduce_ack_latency_seconds_count"));
    assert!(last.contains("\n# TYPE distroduce_producer_queue_messages gauge\n"), "{last}");

    // Every metric the sample Grafana dashboard queries is served.
    let dashboard = read(&repo().join("deploy/grafana/distroduce.json"));
    let mut names: Vec<&str> = dashboard
        .match_indices("distroduce_")
        .chain(dashboard.match_indices("rdkafka_"))
        .map(|(i, _)| {
            let rest = &dashboard[i..];
            &rest[..rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len())]
        })
        .filter(|n| n.len() > "rdkafka_".len() && *n != "distroduce_live")
        .collect();
    names.sort_unstable();
    names.dedup();
    assert!(names.len() >= 6, "{names:?}");
    for n in names {
        let family = n.strip_suffix("_bucket").unwrap_or(n);
        assert!(last.contains(&format!("# TYPE {family} ")), "the dashboard queries {n}, which is not served:\n{last}");
    }
}

#[test]
#[ignore = "needs the Python venv (pandas, prometheus_client): scripts/test sets it up"]
fn prometheus_client_parses_the_scrapes() {
    let python = std::env::var("DISTRODUCE_PYTHON")
        .expect("DISTRODUCE_PYTHON must point at a python with prometheus_client: run the tests with scripts/test");
    let (scrapes, _, _) = scrape_during_a_run("chat", &[]);
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<String> = scrapes
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let p = dir.path().join(format!("scrape{i}.txt"));
            std::fs::write(&p, s).unwrap();
            p.display().to_string()
        })
        .collect();
    // The parser of the Prometheus project's Python client: it rejects what a Prometheus server
    // would not read (bad names, labels, values, histogram shape).
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for path in sys.argv[1:]:
    fams = {f.name: f for f in text_string_to_metric_families(open(path).read())}
    assert fams["distroduce_substeps"].type == "counter", fams["distroduce_substeps"]
    assert fams["distroduce_timesteps"].type == "counter"
    for f in ("distroduce_messages_emitted", "distroduce_messages_acked", "distroduce_messages_failed"):
        assert fams[f].type == "counter", f
        assert [s.labels for s in fams[f].samples if s.name.endswith("_total")] == [{"topic": "chat"}], fams[f].samples
    h = fams["distroduce_ack_latency_seconds"]
    assert h.type == "histogram", h.type
    buckets = [s for s in h.samples if s.name.endswith("_bucket")]
    les = [float(s.labels["le"]) for s in buckets]
    assert les == sorted(les) and les[-1] == float("inf"), les
    counts = [s.value for s in buckets]
    assert counts == sorted(counts), counts
    count = [s.value for s in h.samples if s.name.endswith("_count")][0]
    assert counts[-1] == count, (counts, count)
    assert fams["distroduce_producer_queue_messages"].type == "gauge"
    assert fams["distroduce_jobs"].type == "gauge"
    value = lambda f, suffix="_total": [s.value for s in fams[f].samples if s.name == f + suffix][0]
    out.append({"substeps": value("distroduce_substeps"), "acked": value("distroduce_messages_acked"), "latency_count": count})
print(json.dumps(out))
"#;
    let o = Command::new(python).arg("-c").arg(script).args(&files).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let parsed: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(parsed.len(), scrapes.len());
    let (a, b) = (&parsed[0], &parsed[parsed.len() - 1]);
    for k in ["substeps", "acked", "latency_count"] {
        assert!(b[k].as_f64().unwrap() > a[k].as_f64().unwrap(), "{k} does not grow: {parsed:?}");
    }
}

#[test]
fn a_metrics_port_in_use_is_refused_before_anything_runs() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let chat = format!("chat={}", plugin("chat_plugin"));
    let scenario = repo().join("scenarios/chat.yaml");
    let o = engine(&[
        "run",
        scenario.to_str().unwrap(),
        "--plugin",
        &chat,
        "--kafka",
        "none",
        "--out",
        out.to_str().unwrap(),
        "--metrics-addr",
        &addr,
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("--metrics-addr {addr}: cannot listen")) && err.contains("in use"), "{err}");
    assert!(!out.join("summary.json").exists(), "no job ran");

    // Not loopback: refused unless allowed, also before anything runs.
    let o = engine(&[
        "run",
        scenario.to_str().unwrap(),
        "--plugin",
        &chat,
        "--kafka",
        "none",
        "--out",
        out.to_str().unwrap(),
        "--metrics-addr",
        "0.0.0.0:0",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("not a loopback address"), "{}", stderr(&o));
    assert!(!out.join("summary.json").exists(), "no job ran");
}
