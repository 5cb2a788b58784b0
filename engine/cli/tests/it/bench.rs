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
    assert_eq!(html.matches("<svg").count(), 2, "a throughput and a latency chart");
    for label in ["linger.ms=0 compression.type=none", "linger.ms=5 compression.type=lz4"] {
        // Each configuration appears in both charts and in the table.
        assert!(html.matches(label).count() >= 3, "{label} in the report");
    }
}

#[test]
#[ignore = "needs Apache Kafka (DISTRODUCE_KAFKA_BROKERS): scripts/test starts one"]
fn the_rate_search_converges_on_the_real_broker_and_reports_its_curve() {
    let dir = tempfile::tempdir().unwrap();
    let y = read(&repo().join("scenarios/loadgen.yaml"))
        .replace("{crate: ../plugins/loadgen}", &format!("{{wasm: {}}}", plugin("loadgen_plugin")))
        .replace("load: {name: load,", &format!("load: {{name: {},", crate::common::kafka::fresh("maxrate")));
    let p = scenario(dir.path(), &y);
    let out = dir.path().join("search");
    let o = engine(&[
        "bench",
        p.to_str().unwrap(),
        "--brokers",
        &crate::common::kafka::brokers(),
        "--runs",
        "1",
        "--timesteps",
        "200",
        "--find-max-rate",
        "--slo",
        "p99=1s",
        "--trials",
        "2",
        "--precision",
        "0.1",
        "--trial-seconds",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(&read(&out.join("max-rate.json"))).unwrap();
    let oc = &json["outcome"];
    let max = oc["max_rate"].as_f64().expect("a rate met the objective");
    let trials = oc["trials"].as_array().unwrap();
    let at = |r: f64| trials.iter().filter(move |t| t["rate"].as_f64() == Some(r));
    // The answer passed every one of its trials, each of which ran about a second's worth.
    assert_eq!(at(max).count(), 2, "{oc}");
    for t in at(max) {
        assert_eq!(t["passed"], true, "{t}");
        assert!(t["latency_from_due_ms"][2].as_f64().unwrap() <= 1000.0, "{t}");
        let msgs = t["messages"].as_f64().unwrap();
        assert!(msgs >= max * 2.0 && msgs <= max * 2.5 + 1000.0, "rate x (2 s + 0.4 s warm-up) messages: {t}");
    }
    match oc["failed_at"].as_f64() {
        // Limited by the ceiling: the probe's rate itself passed.
        None => assert_eq!(max, oc["ceiling"].as_f64().unwrap().round()),
        Some(f) => {
            assert!(f > max && (f - max) / f <= 0.1, "bracket [{max}, {f}) within the precision");
            assert!(at(f).any(|t| t["passed"] == false && t["reason"].as_str().is_some()), "{oc}");
        }
    }
    // Bisection: no rate is tried twice, however noisy the trials.
    let mut rates: Vec<f64> = trials.iter().map(|t| t["rate"].as_f64().unwrap()).collect();
    rates.dedup();
    assert_eq!(rates.len() as u64, oc["iterations"].as_u64().unwrap());
    let mut distinct = rates.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    assert_eq!(distinct.len(), rates.len(), "a rate was tried twice: {rates:?}");
    assert_eq!(read(&out.join("max-rate.csv")).lines().count(), trials.len() + 1);
    let html = read(&out.join("report.html"));
    assert!(html.contains("max sustainable") && html.contains("SLO p99"), "the curve marks the result and the SLO");
    assert_eq!(html.matches("<circle").count() >= trials.len(), true);
    assert!(stderr(&o).contains("probe (unpaced)"), "{}", stderr(&o));
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
