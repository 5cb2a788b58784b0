//! `engine bench`'s report.html as a reader sees it: rendered by a real headless browser
//! (Debian's chromium, from scripts/setup-browser), which lays the charts out; a probe script added
//! to a copy of the page measures what was drawn. The report itself has no script.

use crate::common::*;
use std::path::Path;

fn browser() -> String {
    std::env::var("DISTRODUCE_BROWSER").expect(
        "DISTRODUCE_BROWSER must name a chromium binary: run the tests with scripts/test (it runs scripts/setup-browser)",
    )
}

/// Measures every chart after layout and writes the result into the page as `<pre id="probe">`.
const PROBE: &str = r#"<script>
const out = {charts: {}, errors: [], scripts: document.scripts.length - 1};
window.addEventListener('error', e => out.errors.push(String(e.message)));
const within = (b, box) => b.width > 0 && b.left >= box.left - 1 && b.right <= box.right + 1 && b.top >= box.top - 1 && b.bottom <= box.bottom + 1;
for (const f of document.querySelectorAll('figure.chart')) {
  const box = f.querySelector('svg').getBoundingClientRect();
  const series = [...f.querySelectorAll('polyline.series')].map(p => {
    const b = p.getBoundingClientRect();
    return {name: p.dataset.series, points: p.points.numberOfItems, width: b.width, inside: within(b, box)};
  });
  const labels = [...f.querySelectorAll('text.axis-label')].map(t => ({text: t.textContent, inside: within(t.getBoundingClientRect(), box)}));
  const ticks = [...f.querySelectorAll('text.tick')].map(t => t.textContent);
  out.charts[f.dataset.chart] = {width: box.width, height: box.height, series, labels, ticks};
}
const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
</script>"#;

/// Render `page` in the headless browser and return what the probe measured.
fn render(page: &Path) -> serde_json::Value {
    let html = read(page);
    assert!(!html.contains("<script"), "the report is static: no script");
    assert!(
        !html.contains("http://")
            || html.matches("http://").count() == html.matches("http://www.w3.org/2000/svg").count(),
        "nothing fetched from the network"
    );
    let probed = page.with_file_name("probed.html");
    std::fs::write(&probed, html.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let o = std::process::Command::new(browser())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,900"])
        .arg(format!("--user-data-dir={}", page.with_file_name("browser-profile").display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", probed.display()))
        .output()
        .expect("the browser runs");
    let dom = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "browser failed: {}", stderr(&o));
    assert!(!stderr(&o).contains("Uncaught"), "script error: {}", stderr(&o));
    let json = dom
        .split("<pre id=\"probe\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| panic!("the probe did not run: {dom}"));
    let json = json.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

#[test]
#[ignore = "needs a headless browser (DISTRODUCE_BROWSER): scripts/test installs chromium with scripts/setup-browser"]
fn the_bench_report_draws_one_line_per_configuration_in_every_chart() {
    let browser_is_there = browser();
    assert!(!browser_is_there.is_empty());
    let dir = tempfile::tempdir().unwrap();
    // About 3 s per configuration (1000 messages a timestep at 2000 msgs/s) on the embedded
    // broker, so the per-second charts have points.
    let y = read(&repo().join("scenarios/loadgen.yaml"))
        .replace("{crate: ../plugins/loadgen}", &format!("{{wasm: {}}}", plugin("loadgen_plugin")))
        .replace("  timestamps: produce\n", "  timestamps: produce\n  rate: 2000\n");
    let p = scenario(dir.path(), &y);
    let out = dir.path().join("bench");
    let o = engine(&[
        "bench",
        p.to_str().unwrap(),
        "--runs",
        "1",
        "--timesteps",
        "6",
        "--vary",
        "linger.ms=0,20",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let probe = render(&out.join("report.html"));
    assert_eq!(probe["errors"], serde_json::json!([]), "{probe}");
    assert_eq!(probe["scripts"], 0, "only the probe ran");
    let configurations = ["linger.ms=0", "linger.ms=20"];
    for (id, x, y) in [
        ("latency-distribution", "percentile", "latency, ms"),
        ("rate-over-time", "seconds since the first send", "acknowledged msgs/s"),
        ("p99-over-time", "seconds since the first send", "p99 latency, ms"),
    ] {
        let c = &probe["charts"][id];
        assert!(c["width"].as_f64().unwrap() > 400.0 && c["height"].as_f64().unwrap() > 200.0, "{id} drawn: {c}");
        let series = c["series"].as_array().unwrap();
        let names: Vec<&str> = series.iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(names, configurations, "{id}: one line per configuration");
        for s in series {
            assert!(
                s["points"].as_u64().unwrap() >= 2 && s["width"].as_f64().unwrap() > 10.0,
                "{id}: a visible line: {s}"
            );
            assert_eq!(s["inside"], true, "{id}: the line lies inside the chart: {s}");
        }
        let labels: Vec<String> =
            c["labels"].as_array().unwrap().iter().map(|l| l["text"].as_str().unwrap().to_string()).collect();
        assert!(labels[0].starts_with(x) && labels[1].starts_with(y), "{id}: axis labels {labels:?}");
        assert!(c["labels"].as_array().unwrap().iter().all(|l| l["inside"] == true), "{id}: labels visible: {c}");
    }
    // The HDR plot's x axis runs from 50 % to 99.999 % on its log scale.
    let ticks = probe["charts"]["latency-distribution"]["ticks"].as_array().unwrap();
    for t in ["50%", "90%", "99%", "99.9%", "99.99%", "99.999%"] {
        assert!(ticks.iter().any(|x| x == t), "tick {t} in {ticks:?}");
    }
    // The points behind the HDR plot and the per-second charts are in each run's summary too.
    let summaries: Vec<serde_json::Value> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path().join("summary.json")).ok())
        .map(|s| serde_json::from_str(&s).unwrap())
        .collect();
    assert_eq!(summaries.len(), 2, "one run per configuration");
    for s in &summaries {
        let d = &s["delivery"];
        let pts = d["latency_distribution"].as_array().unwrap();
        assert_eq!(pts.first().unwrap()["percentile"], 50.0);
        assert_eq!(pts[pts.len() - 2]["percentile"], 99.999);
        let acked: u64 = d["per_second"].as_array().unwrap().iter().map(|s| s["acked"].as_u64().unwrap()).sum();
        assert_eq!(acked, d["acked"].as_u64().unwrap(), "every acknowledgement is in a second");
    }
}

#[test]
#[ignore = "needs a headless browser (DISTRODUCE_BROWSER): scripts/test installs chromium with scripts/setup-browser"]
fn the_max_rate_report_draws_the_latency_curve_per_percentile() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let outcome: distroduce::maxrate::Outcome = {
        let slos = vec!["p99=20ms".parse().unwrap()];
        let cfg = distroduce::maxrate::SearchConfig { trials: 2, precision: 0.1, ..Default::default() };
        // A made-up cluster whose latency grows with the rate: the curve must show it.
        distroduce::maxrate::search(80_000.0, &slos, &cfg, |rate, trial| {
            let p99 = 2.0 + rate / 2000.0;
            Ok(distroduce::maxrate::Trial {
                rate,
                trial,
                passed: p99 <= 20.0,
                latency_from_due_ms: Some([p99 / 4.0, p99 / 2.0, p99, p99 * 1.5, p99 * 3.0]),
                achieved: rate,
                messages: rate as u64,
                timesteps: 1,
                reason: (p99 > 20.0).then(|| format!("p99 {p99:.2} ms > 20 ms")),
            })
        })
        .unwrap()
    };
    std::fs::write(&page, distroduce::report::max_rate_html("made-up", &outcome)).unwrap();
    let probe = render(&page);
    assert_eq!(probe["errors"], serde_json::json!([]), "{probe}");
    let c = &probe["charts"]["rate-curve"];
    let names: Vec<&str> = c["series"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["p50", "p99", "p99.9", "max"]);
    for s in c["series"].as_array().unwrap() {
        assert_eq!(s["points"].as_u64().unwrap(), outcome.iterations as u64, "a point per rate: {s}");
        assert_eq!(s["inside"], true, "{s}");
    }
    let labels: Vec<&str> = c["labels"].as_array().unwrap().iter().map(|l| l["text"].as_str().unwrap()).collect();
    assert_eq!(labels, ["offered (target) rate, msgs/s", "latency from due time, ms (log scale)"]);
}
