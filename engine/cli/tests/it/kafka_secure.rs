//! Against a secured Apache Kafka broker (scripts/kafka-secure: SASL_SSL only, SCRAM, a throwaway
//! CA; started by scripts/test, which exports DISTRODUCE_KAFKA_SECURE_*): `engine run`, `bench` and
//! `verify` connect with the password from a file or an environment variable; every message
//! arrives; a wrong password or an untrusted certificate fails fast with the reason; and the
//! password appears in no output file and in no `-vv` log (librdkafka's debug logs included).

use crate::common::kafka::fresh;
use crate::common::*;
use distroduce_model::expect::ExpectedRecord;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

const NEEDS: &str = "DISTRODUCE_KAFKA_SECURE_BROKERS etc. must name a running secured broker: run the tests with scripts/test (it starts scripts/kafka-secure)";

/// The secured test broker, as scripts/kafka-secure describes it.
struct Secure {
    brokers: String,
    ca: String,
    user: String,
    password_file: PathBuf,
    password: String,
}

fn secure() -> Secure {
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set. {NEEDS}"));
    let password_file = PathBuf::from(var("DISTRODUCE_KAFKA_SECURE_PASSWORD_FILE"));
    let password = read(&password_file).trim_end().to_string();
    assert!(password.len() >= 16, "the test broker's password is long enough to grep for");
    Secure {
        brokers: var("DISTRODUCE_KAFKA_SECURE_BROKERS"),
        ca: var("DISTRODUCE_KAFKA_SECURE_CA"),
        user: var("DISTRODUCE_KAFKA_SECURE_USER"),
        password_file,
        password,
    }
}

impl Secure {
    /// A librdkafka client config for the test's own producer and consumer.
    fn client(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("security.protocol", "SASL_SSL")
            .set("sasl.mechanism", "SCRAM-SHA-512")
            .set("sasl.username", &self.user)
            .set("sasl.password", &self.password)
            .set("ssl.ca.location", &self.ca);
        c
    }
}

/// scenarios/chat-windows.yaml on fresh topics, with `kafka_extra` (tls, sasl, producer) added to
/// its `kafka:` section. Returns the scenario text and the (chat, room-counts) topic names.
fn chat_windows(kafka_extra: &str) -> (String, String, String) {
    let (chat, counts) = (fresh("secure-chat"), fresh("secure-counts"));
    let y = read(&repo().join("scenarios/chat-windows.yaml"))
        .replace("{crate: ../plugins/chat}", &format!("{{wasm: {}}}", plugin("chat_plugin")))
        .replace("kafka:\n", &format!("kafka:\n{kafka_extra}"))
        .replace("      name: chat\n", &format!("      name: {chat}\n"))
        .replace("output: {topic: room-counts,", &format!("output: {{topic: {counts},"));
    assert!(y.contains(&chat) && y.contains(&counts) && y.contains("wasm:"), "the scenario template changed");
    (y, chat, counts)
}

fn sasl_ssl(s: &Secure, ca: &str, password: &str) -> String {
    format!(
        "  brokers: {}\n  tls: {ca}\n  sasl: {{mechanism: SCRAM-SHA-512, username: {}, password: {password}}}\n",
        s.brokers, s.user
    )
}

fn engine_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_engine"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("engine binary runs")
}

/// Fail if `secret` is in any file under `dir` or in any of `outputs`' stdout and stderr.
fn assert_secret_nowhere(secret: &str, dir: &Path, outputs: &[&Output]) {
    let mut files = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files += 1;
                let bytes = std::fs::read(&p).unwrap();
                let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
                assert!(!found, "the password is in {}", p.display());
            }
        }
    }
    assert!(files > 0, "no output files under {}", dir.display());
    for o in outputs {
        assert!(!String::from_utf8_lossy(&o.stdout).contains(secret), "the password is on stdout");
        assert!(!stderr(o).contains(secret), "the password is in the -vv log");
        assert!(!stderr(o).is_empty(), "-vv logs something");
    }
}

/// Every message on `topic` from the beginning, read with the secured settings, until `n` came and
/// nothing more for 2 s (or 60 s passed): (distroduce-id, value) pairs.
fn consume_secure(s: &Secure, topic: &str, n: usize) -> Vec<(String, String)> {
    let consumer: BaseConsumer = s.client().set("group.id", fresh("secure-test")).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..8 {
        tpl.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let (deadline, mut got, mut quiet) = (Instant::now() + Duration::from_secs(60), Vec::new(), None);
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                quiet = None;
                let id = m
                    .headers()
                    .and_then(|h| h.iter().find(|h| h.key == "distroduce-id").and_then(|h| h.value))
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .expect("every message carries its distroduce-id");
                got.push((id, String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned()));
            }
            Some(Err(e)) => panic!("consume error: {e}"),
            None if got.len() >= n && quiet.get_or_insert_with(Instant::now).elapsed() > Duration::from_secs(2) => {
                break
            }
            None => {}
        }
    }
    got
}

#[test]
#[ignore = "needs a secured broker: scripts/test starts it"]
fn secure_run_bench_and_verify_with_the_password_from_a_file_or_the_environment_leak_it_nowhere() {
    let s = secure();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // The password from a file; librdkafka's own debug logs on, and -vv.
    let file_form = format!("{{file: {}}}", s.password_file.display());
    let (y, chat, counts) = chat_windows(&format!(
        "{}  producer: {{debug: 'security,broker,conf,protocol'}}\n",
        sasl_ssl(&s, &format!("{{ca: {}}}", s.ca), &file_form)
    ));
    let p = scenario(dir.path(), &y);
    let run = engine(&["run", p.to_str().unwrap(), "--write-messages", "--out", out.to_str().unwrap(), "-vv"]);
    assert!(run.status.success(), "engine run: {}", stderr(&run));
    let summary: serde_json::Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    let acked = summary["delivery"]["acked"].as_u64().unwrap() as usize;
    assert_eq!(summary["delivery"]["failed"], 0);
    assert_eq!(acked as u64, summary["messages_emitted"].as_u64().unwrap());
    assert!(summary["kafka"].as_str().unwrap().contains(&s.brokers), "{summary}");

    // Every message arrived (the disorder duplicates share an id, so compare id sets and counts).
    let got = consume_secure(&s, &chat, acked);
    assert_eq!(got.len(), acked, "every acknowledged message is on the topic, once");
    let ids: HashSet<String> = read(&out.join("messages.jsonl"))
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!("{}-{}-{}-{}", v["simulation"], v["subset"], v["run"], v["seq"])
        })
        .collect();
    assert_eq!(got.iter().map(|(id, _)| id.clone()).collect::<HashSet<_>>(), ids);

    // A correct "stream job" output, written by the test, read back by `engine verify` with the
    // password from the environment this time.
    let producer: BaseProducer = s.client().create().unwrap();
    let expected: Vec<ExpectedRecord> = read(&out.join("expected.jsonl"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &ExpectedRecord| r.expectation == "room_counts")
        .collect();
    assert!(!expected.is_empty());
    for r in &expected {
        let v = serde_json::json!({"window_start": r.window_start, "count": r.value}).to_string();
        producer.send(BaseRecord::to(&counts).key(&r.key).payload(&v)).unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    let env_form = sasl_ssl(&s, &format!("{{ca: {}}}", s.ca), "{env: DISTRODUCE_TEST_KAFKA_PASSWORD}");
    let y2 = y.replace(&sasl_ssl(&s, &format!("{{ca: {}}}", s.ca), &file_form), &env_form);
    assert_ne!(y, y2);
    let p2 = dir.path().join("env.yaml");
    std::fs::write(&p2, &y2).unwrap();
    let report = out.join("verify.json");
    let expected_file = out.join("expected.jsonl");
    let args = [
        "verify",
        p2.to_str().unwrap(),
        "--expected",
        expected_file.to_str().unwrap(),
        "--only",
        "room_counts",
        "--wait",
        "60s",
        "--report",
        report.to_str().unwrap(),
        "-vv",
    ];
    let verified = engine_env(&args, &[("DISTRODUCE_TEST_KAFKA_PASSWORD", &s.password)]);
    assert_eq!(verified.status.code(), Some(0), "engine verify: {}", stderr(&verified));
    let r: serde_json::Value = serde_json::from_str(&read(&report)).unwrap();
    assert_eq!(r["passed"], true, "{r}");

    // A bench report (bench.csv, bench.json, report.html) of two cells on the secured broker.
    let bench_out = out.join("bench");
    let bench = engine_env(
        &["bench", p2.to_str().unwrap(), "--vary", "linger.ms=0,5", "--out", bench_out.to_str().unwrap(), "-vv"],
        &[("DISTRODUCE_TEST_KAFKA_PASSWORD", &s.password)],
    );
    assert!(bench.status.success(), "engine bench: {}", stderr(&bench));
    for f in ["bench.csv", "bench.json", "report.html"] {
        assert!(bench_out.join(f).is_file(), "bench wrote no {f}");
    }
    // A credential cannot be a bench axis: it would be written into the report.
    let refused =
        engine(&["bench", p.to_str().unwrap(), "--vary", "sasl.password=a,b", "--out", bench_out.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("is a credential and cannot be varied"), "{}", stderr(&refused));

    // librdkafka's debug logs were on and said something about security.
    assert!(stderr(&run).contains("librdkafka"), "{}", stderr(&run));
    assert_secret_nowhere(&s.password, dir.path(), &[&run, &verified, &bench]);
}

#[test]
#[ignore = "needs a secured broker: scripts/test starts it"]
fn a_wrong_password_fails_fast_with_exit_1_and_the_reason() {
    let s = secure();
    let dir = tempfile::tempdir().unwrap();
    let wrong = "not-the-password-0123456789";
    let (y, _, _) = chat_windows(&sasl_ssl(&s, &format!("{{ca: {}}}", s.ca), "{env: DISTRODUCE_TEST_KAFKA_PASSWORD}"));
    let p = scenario(dir.path(), &y);
    let out = dir.path().join("out");
    let started = Instant::now();
    let o = engine_env(
        &["run", p.to_str().unwrap(), "--out", out.to_str().unwrap(), "-vv"],
        &[("DISTRODUCE_TEST_KAFKA_PASSWORD", wrong)],
    );
    let took = started.elapsed();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(took < Duration::from_secs(10), "took {took:?}, not fast (message.timeout.ms is 30 s)");
    let err = stderr(&o);
    assert!(err.contains("SASL authentication failed") && err.contains(&s.brokers), "{err}");
    assert!(!err.contains(wrong), "the wrong password is a secret too: {err}");

    // verify: the same credentials, the same fast refusal (verify's "could not run" is exit 2).
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("expected.jsonl"), "").unwrap();
    let started = Instant::now();
    let v = engine_env(
        &["verify", p.to_str().unwrap(), "--out", out.to_str().unwrap(), "--wait", "60s"],
        &[("DISTRODUCE_TEST_KAFKA_PASSWORD", wrong)],
    );
    assert_eq!(v.status.code(), Some(2), "{}", stderr(&v));
    assert!(started.elapsed() < Duration::from_secs(10), "verify took {:?}", started.elapsed());
    assert!(stderr(&v).contains("SASL authentication failed"), "{}", stderr(&v));

    // Unset: refused by validation, at the variable's position, before connecting.
    let o = engine(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("environment variable `DISTRODUCE_TEST_KAFKA_PASSWORD` is not set"), "{}", stderr(&o));
    assert!(stderr(&o).contains("scenario.yaml:"), "{}", stderr(&o));
}

#[test]
#[ignore = "needs a secured broker: scripts/test starts it"]
fn an_untrusted_certificate_is_refused_unless_the_scenario_opts_out() {
    let s = secure();
    let dir = tempfile::tempdir().unwrap();
    let pw = format!("{{file: {}}}", s.password_file.display());
    // No CA: the system trust store does not know the test CA.
    let (y, _, _) = chat_windows(&sasl_ssl(&s, "{}", &pw));
    let p = scenario(dir.path(), &y);
    let started = Instant::now();
    let o = engine(&["run", p.to_str().unwrap(), "--out", dir.path().join("a").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    let err = stderr(&o);
    assert!(err.contains("TLS handshake failed") && err.contains("certificate verify failed"), "{err}");

    // `tls: {verify: false}`: accepted, with a warning.
    let (y, _, _) = chat_windows(&sasl_ssl(&s, "{verify: false}", &pw));
    let p = scenario(dir.path(), &y);
    let o = engine(&["run", p.to_str().unwrap(), "--out", dir.path().join("b").to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("kafka.tls.verify is false"), "{}", stderr(&o));
}

#[test]
#[ignore = "needs a secured broker: scripts/test starts it"]
fn raw_librdkafka_properties_with_an_inline_password_still_work_and_are_redacted() {
    let s = secure();
    let dir = tempfile::tempdir().unwrap();
    let (y, _, _) = chat_windows(&format!(
        "  brokers: {}\n  producer: {{security.protocol: SASL_SSL, sasl.mechanism: SCRAM-SHA-256, sasl.username: {}, sasl.password: '{}', ssl.ca.location: {}, debug: all}}\n",
        s.brokers, s.user, s.password, s.ca
    ));
    let p = scenario(dir.path(), &y);
    let out = dir.path().join("out");
    let o = engine(&["run", p.to_str().unwrap(), "--out", out.to_str().unwrap(), "--write-messages", "-vv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("sasl.password = [redacted]"), "librdkafka dumped its config (debug: all)");
    // Only the output dir: the scenario file holds the password, by the user's choice.
    assert_secret_nowhere(&s.password, &out, &[&o]);
}
