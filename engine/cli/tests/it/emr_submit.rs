//! `engine emr submit` and what fails before anything is sent, against the local moto server of
//! emr.rs (same guards: fake credentials, loopback only): the spark-submit step it adds, an unknown
//! cluster, a bad cluster file at file:line:col, and the loopback guard.

use crate::emr::{block_on, engine, example, launch, moto_url, sdk, stderr, stdout};
use aws_sdk_emr::types::ActionOnFailure;

/// The args of the newest step of `cluster`, with its name and ActionOnFailure.
fn newest_step(region: &str, cluster: &str, step_id: &str) -> (String, ActionOnFailure, String, Vec<String>) {
    let s = block_on(async {
        sdk(region).describe_step().cluster_id(cluster).step_id(step_id).send().await.unwrap().step.unwrap()
    });
    let cfg = s.config().unwrap();
    (
        s.name().unwrap_or_default().to_string(),
        s.action_on_failure().unwrap().clone(),
        cfg.jar().unwrap_or_default().to_string(),
        cfg.args().to_vec(),
    )
}

#[test]
#[ignore = "needs moto (DISTRODUCE_MOTO_URL): scripts/test starts it"]
fn submit_adds_one_spark_submit_step() {
    let id = launch(&example());
    let url = moto_url();
    let ex = example();
    let o = engine(&[
        "emr",
        "submit",
        "--cluster-id",
        &id,
        "--config",
        ex.to_str().unwrap(),
        "--scenario",
        "s3://my-distroduce-bucket/distroduce/scenarios/chat.yaml",
        "--shards",
        "8",
        "--brokers",
        "b-1.kafka:9092,b-2.kafka:9092",
        "--endpoint-url",
        &url,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let step = stdout(&o);
    assert!(step.starts_with("s-"), "stdout is not a step id: {step:?}");
    let (name, aof, jar, args) = newest_step("us-east-1", &id, &step);
    assert_eq!(name, "distroduce-chat");
    assert_eq!(aof, ActionOnFailure::Continue);
    assert_eq!(jar, "command-runner.jar");
    assert_eq!(
        args,
        [
            "spark-submit",
            "--master",
            "yarn",
            "--deploy-mode",
            "cluster",
            "s3://my-distroduce-bucket/distroduce/distroduce_spark.py",
            "s3://my-distroduce-bucket/distroduce/scenarios/chat.yaml",
            "--shards",
            "8",
            "--brokers",
            "b-1.kafka:9092,b-2.kafka:9092",
            "--out",
            "s3://my-distroduce-bucket/distroduce/runs/distroduce-chat",
            "--engine",
            "/usr/local/bin/engine",
        ]
    );

    // Every option, and no cluster file (the region comes from --region).
    let o = engine(&[
        "emr",
        "submit",
        "--cluster-id",
        &id,
        "--region",
        "us-east-1",
        "--scenario",
        "/opt/distroduce/iot.yaml",
        "--shards",
        "2",
        "--brokers",
        "k:9092",
        "--name",
        "iot run 7",
        "--driver",
        "s3://other/driver.py",
        "--out",
        "s3://other/out/7",
        "--engine",
        "/opt/engine",
        "--conf",
        "spark.executor.instances=2",
        "--conf",
        "spark.task.cpus=2",
        "--action-on-failure",
        "terminate-cluster",
        "--endpoint-url",
        &url,
        "--",
        "--timesteps",
        "500",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let step2 = stdout(&o);
    assert_ne!(step2, step);
    let (name, aof, jar, args) = newest_step("us-east-1", &id, &step2);
    assert_eq!(
        (name.as_str(), aof, jar.as_str()),
        ("iot run 7", ActionOnFailure::TerminateCluster, "command-runner.jar")
    );
    assert_eq!(
        args.join(" "),
        "spark-submit --master yarn --deploy-mode cluster --conf spark.executor.instances=2 --conf spark.task.cpus=2 \
         s3://other/driver.py /opt/distroduce/iot.yaml --shards 2 --brokers k:9092 --out s3://other/out/7 \
         --engine /opt/engine --timesteps 500"
    );
    let steps = block_on(async { sdk("us-east-1").list_steps().cluster_id(&id).send().await.unwrap().steps.unwrap() });
    assert_eq!(steps.len(), 2, "one step per submit: {steps:#?}");
}

#[test]
#[ignore = "needs moto (DISTRODUCE_MOTO_URL): scripts/test starts it"]
fn submit_to_an_unknown_cluster_fails_with_exit_1() {
    let o = engine(&[
        "emr",
        "submit",
        "--cluster-id",
        "j-DOESNOTEXIST",
        "--region",
        "us-east-1",
        "--driver",
        "s3://b/d.py",
        "--out",
        "s3://b/o",
        "--scenario",
        "s3://b/s.yaml",
        "--shards",
        "1",
        "--brokers",
        "k:9092",
        "--endpoint-url",
        &moto_url(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("error: EMR AddJobFlowSteps failed"), "{}", stderr(&o));
}

// The tests below send nothing: the engine stops at the cluster file or at its loopback guard.
// The endpoint given is a closed port on 127.0.0.1 in case a check ever lets a request through.

#[test]
fn a_bad_cluster_file_names_file_line_col() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    let src = std::fs::read_to_string(example()).unwrap();
    std::fs::write(
        &bad,
        src.replace("    instance_type: m5.xlarge\n    count: 5", "    instance_typ: m5.xlarge\n    count: 5"),
    )
    .unwrap();
    let line = src.lines().position(|l| l.contains("count: 5")).unwrap(); // 1-based, the line before
    let o = engine(&["emr", "launch", bad.to_str().unwrap(), "--endpoint-url", "http://127.0.0.1:9"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let want = format!("error: {}:{line}:5: instance_groups[1]: unknown field `instance_typ`", bad.display());
    let err = stderr(&o);
    assert!(err.starts_with(&want), "want {want:?}, got:\n{err}");
    assert!(err.contains("hint: see `engine emr schema`"), "{err}");

    // Checks after parsing point at the value too, and list every problem at once.
    let bad2 = dir.path().join("bad2.yaml");
    std::fs::write(
        &bad2,
        src.replace("release_label: emr-7.2.0", "release_label: emr-7.2").replace(
            "    count: 5\n    market: ON_DEMAND",
            "    count: 5\n    market: ON_DEMAND\n    bid_price: \"0.2\"",
        ),
    )
    .unwrap();
    let o = engine(&["emr", "validate", bad2.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    let bad2s = std::fs::read_to_string(&bad2).unwrap();
    let at = |needle: &str| bad2s.lines().position(|l| l.contains(needle)).unwrap() + 1;
    for want in [
        format!("error: {}:{}:16: `emr-7.2` is not an EMR release label", bad2.display(), at("release_label")),
        format!("error: {}:{}:5: bid_price applies to SPOT instances only", bad2.display(), at("bid_price")),
    ] {
        assert!(err.contains(&want), "want {want:?}, got:\n{err}");
    }
    let o = engine(&["emr", "launch", dir.path().join("missing.yaml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.yaml: cannot read cluster file"), "{}", stderr(&o));
}

#[test]
fn the_loopback_guard_stops_requests_to_aws() {
    // No endpoint: the SDK would go to AWS; the guard refuses before anything is sent.
    let o = engine(&["emr", "launch", example().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("refusing to send a request to https://elasticmapreduce.us-east-1.amazonaws.com/"),
        "{}",
        stderr(&o)
    );
}
