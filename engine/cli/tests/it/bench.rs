//! `engine bench` runs every combination of producer settings and writes the results matrix (CSV,
//! JSON) and an HTML report whose charts show every configuration.

use crate::common::*;

#[test]
fn bench_writes_matrix_and_report_for_every_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let y = read(&repo().join("scenarios/chat.yaml"))
        .replace("{crate: ../plugins/chat}", &format!("{{wasm: {}}}", plugin("chat_plugin")));
    let p = scenario(dir.path(), &y);
    let out = dir.path().join("bench");
    let o = engine(&[
        "bench",
        p.to_str().unwrap(),
        "--timesteps",
        "50",
        "--vary",
        "linger.ms=0,5",
        "--vary",
        "compression.type=none,lz4,bogus",
        "--out",
        out.to_str().unwrap(),
    ]);
    // The bogus compression cells fail (exit 1) but do not stop the others.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let csv = read(&out.join("bench.csv"));
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 6, "{csv}");
    for r in &rows {
        let acked: u64 = r[4].parse().unwrap_or(0);
        if r[1] == "bogus" {
            assert!(r.last().unwrap().contains("compression.type"), "the error names the setting: {r:?}");
        } else {
            assert_eq!(acked, 200, "50 timesteps x 4 messages: {r:?}");
            assert!(r[6].parse::<f64>().unwrap() > 0.0, "msgs/s: {r:?}");
        }
    }
    let json: serde_json::Value = serde_json::from_str(&read(&out.join("bench.json"))).unwrap();
    assert_eq!(json["cells"].as_array().unwrap().len(), 6);
    let html = read(&out.join("report.html"));
    // Throughput and latency bars, the HDR percentile plot, rate and p99 over time.
    assert_eq!(html.matches("<svg").count(), 5, "a throughput and a latency chart, and three line charts");
    assert_eq!(html.matches("<polyline class=\"series\"").count(), 3 * 4, "a line per configuration that ran");
    for label in ["linger.ms=0 compression.type=none", "linger.ms=5 compression.type=lz4"] {
        // Each configuration appears in both charts and in the table.
        assert!(html.matches(label).count() >= 3, "{label} in the report");
    }
}

/// `engine bench --find-max-rate` on `scenarios/loadgen.yaml` (1000 messages of 100 B per
/// timestep) against the real broker, writing to a fresh topic; returns the output and its folder.
fn rate_search(dir: &std::path::Path, flags: &[&str]) -> (std::process::Output, std::path::PathBuf) {
    let y = read(&repo().join("scenarios/loadgen.yaml"))
        .replace("{crate: ../plugins/loadgen}", &format!("{{wasm: {}}}", plugin("loadgen_plugin")))
        .replace("load: {name: load,", &format!("load: {{name: {},", crate::common::kafka::fresh("maxrate")));
    let p = scenario(dir, &y);
    let out = dir.join("search");
    let brokers = crate::common::kafka::brokers();
    let mut args = vec!["bench", p.to_str().unwrap(), "--brokers", &brokers, "--runs", "1", "--timesteps", "200"];
    args.extend_from_slice(&["--find-max-rate", "--out", out.to_str().unwrap()]);
    args.extend_from_slice(flags);
    (engine(&args), out)
}

#[test]
#[ignore = "needs Apache Kafka (DISTRODUCE_KAFKA_BROKERS): scripts/test starts one"]
fn the_rate_search_converges_on_the_real_broker_and_reports_its_curve() {
    let _broker = crate::common::kafka::shared();
    let dir = tempfile::tempdir().unwrap();
    let (o, out) =
        rate_search(dir.path(), &["--slo", "p99=50ms", "--trials", "2", "--precision", "0.1", "--trial-seconds", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(&read(&out.join("max-rate.json"))).unwrap();
    let oc = &json["outcome"];
    let max = oc["max_rate"].as_f64().expect("a rate met the objective");
    let ceiling = oc["ceiling"].as_f64().unwrap();
    assert!(max > 0.0 && max <= ceiling.round(), "{max} within (0, the unpaced {ceiling}]");
    let trials = oc["trials"].as_array().unwrap();
    let at = |r: f64| trials.iter().filter(move |t| t["rate"].as_f64() == Some(r));
    // The answer passed every one of its trials, each of which ran about two seconds' worth.
    assert_eq!(at(max).count(), 2, "{oc}");
    for t in at(max) {
        assert_eq!(t["passed"], true, "{t}");
        assert!(t["latency_from_due_ms"][2].as_f64().unwrap() <= 50.0, "{t}");
        let msgs = t["messages"].as_f64().unwrap();
        assert!(msgs >= max * 2.0 && msgs <= max * 2.5 + 1000.0, "rate x (2 s + 0.4 s warm-up) messages: {t}");
    }
    match oc["failed_at"].as_f64() {
        // Limited by the ceiling: the probe's rate itself passed.
        None => assert_eq!(max, ceiling.round()),
        Some(f) => {
            assert!(f > max && (f - max) / f <= 0.1, "bracket [{max}, {f}) within the precision");
            assert!(at(f).any(|t| t["passed"] == false && t["reason"].as_str().unwrap().contains("p99")), "{oc}");
        }
    }
    // Bisection: no rate is tried twice however noisy the trials, and every step narrows the
    // bracket [highest passed, lowest failed) (OpenMessaging Benchmark's search can oscillate).
    let path = oc["path"].as_array().unwrap();
    assert_eq!(path.len() as u64, oc["iterations"].as_u64().unwrap());
    let mut rates: Vec<f64> = path.iter().map(|s| s["rate"].as_f64().unwrap()).collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    assert_eq!(rates.len(), path.len(), "a rate was tried twice: {path:?}");
    let width = |s: &serde_json::Value| {
        s["lowest_failed"].as_f64().unwrap_or(ceiling * 2.0) - s["highest_passed"].as_f64().unwrap_or(0.0)
    };
    for w in path.windows(2) {
        assert!(width(&w[1]) < width(&w[0]), "the bracket did not narrow: {path:?}");
    }
    assert_eq!(path.last().unwrap()["highest_passed"].as_f64(), Some(max));
    assert_eq!(read(&out.join("max-rate.csv")).lines().count(), trials.len() + 1);
    // What the user reads: every trial as it ends, the result in one sentence, the report.
    let err = stderr(&o);
    assert!(err.contains("probe (unpaced)"), "{err}");
    assert_eq!(err.matches("msgs/s, trial ").count(), trials.len(), "{err}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains(&format!("max rate        {max:.0} msgs/s meets p99≤50ms in 2 of 2 trials")), "{stdout}");
    let html = read(&out.join("report.html"));
    assert!(
        html.contains("max sustainable") && html.contains("SLO p99≤50ms"),
        "the curve marks the result and the SLO"
    );
    for q in ["p50", "p99", "p99.9", "max"] {
        assert!(html.contains(&format!("data-series=\"{q}\"")), "a {q} curve in the report");
    }
    assert!(html.contains("2 trials per rate"), "the confidence statement");
}

#[test]
#[ignore = "needs Apache Kafka (DISTRODUCE_KAFKA_BROKERS): scripts/test starts one"]
fn an_objective_no_rate_can_meet_ends_the_search_with_exit_1() {
    let _broker = crate::common::kafka::shared();
    let dir = tempfile::tempdir().unwrap();
    // The p50 objective is easy; no acknowledgement comes within a microsecond of its due time.
    let (o, out) =
        rate_search(dir.path(), &["--slo", "p50=10s", "--slo", "max=1us", "--trials", "1", "--trial-seconds", "0.5"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("error: no rate met the objectives"), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("no rate down to") && stdout.contains("met p50≤10000ms, max≤0.001ms"), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&read(&out.join("max-rate.json"))).unwrap();
    let oc = &json["outcome"];
    assert!(oc["max_rate"].is_null(), "{oc}");
    let trials = oc["trials"].as_array().unwrap();
    assert!(trials.len() >= 2, "it halved the rate before giving up: {oc}");
    for t in trials {
        assert_eq!(t["passed"], false, "{t}");
        assert!(t["reason"].as_str().unwrap().starts_with("max "), "failed on the max objective: {t}");
    }
    assert!(read(&out.join("report.html")).contains("no rate down to"));
}

#[test]
fn the_rate_search_refuses_incomplete_or_wrong_objectives() {
    let p = repo().join("scenarios/loadgen.yaml");
    for (args, says) in [
        (vec!["--find-max-rate"], "--slo"),
        (vec!["--slo", "p99=5ms"], "--find-max-rate"),
        (vec!["--find-max-rate", "--slo", "p98=5ms"], "p50, p90, p99, p99.9 or max"),
        (vec!["--find-max-rate", "--slo", "p99=5"], "ms, s or us"),
        (vec!["--find-max-rate", "--slo", "p99=5ms", "--vary", "acks=1"], "--vary"),
        (vec!["--find-max-rate", "--slo", "p99=5ms", "--precision", "2"], "between 0 and 1"),
        (vec!["--find-max-rate", "--slo", "p99=-3ms"], "positive duration"),
        (vec!["--find-max-rate", "--slo", "p99 50ms"], "PERCENTILE=LIMIT"),
    ] {
        let mut a = vec!["bench", p.to_str().unwrap()];
        a.extend(args.iter().copied());
        let o = engine(&a);
        assert_eq!(o.status.code(), Some(2), "{a:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{a:?} should mention {says}: {}", stderr(&o));
    }
    let o = engine(&["bench", p.to_str().unwrap(), "--find-max-rate", "--slo", "p99=5ms", "--kafka", "none"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("needs a broker"), "{}", stderr(&o));
}
