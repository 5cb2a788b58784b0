//! `engine emr` against a local moto server (scripts/moto-local, started by scripts/test, which
//! exports DISTRODUCE_MOTO_URL): a cluster file launched through the CLI reads back, value for value,
//! through the SDK; `engine emr submit` adds exactly the spark-submit step it should; bad cluster
//! files fail before anything is sent, naming file:line:col.
//!
//! Nothing here can reach AWS: the engine runs with fake credentials, no profile files, no instance
//! metadata, and DISTRODUCE_EMR_LOOPBACK_ONLY (its client refuses any URL but 127.0.0.1/localhost);
//! the tests' own SDK client has the same guard, and the moto URL must be http://127.0.0.1:PORT.

use crate::common::repo;
use aws_sdk_emr::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_emr::types::{InstanceGroupType, MarketType};
use aws_sdk_emr::Client;
use distroduce_emr::client::{http_client, is_loopback_url, LoopbackOnly, LOOPBACK_ONLY_ENV};
use distroduce_emr::config::{self, Cluster};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(crate) fn moto_url() -> String {
    let url = std::env::var("DISTRODUCE_MOTO_URL").unwrap_or_else(|_| {
        panic!("DISTRODUCE_MOTO_URL is unset: run the tests with scripts/test (it starts moto with scripts/moto-local)")
    });
    assert!(
        url.starts_with("http://127.0.0.1:") && is_loopback_url(&url),
        "refusing to run: DISTRODUCE_MOTO_URL={url} is not http://127.0.0.1:PORT (these tests never talk to AWS)"
    );
    url
}

pub(crate) fn example() -> PathBuf {
    repo().join("deploy/emr/cluster.yaml")
}

/// The CLI, with every AWS_* variable of the caller removed and fake credentials set.
pub(crate) fn engine(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_engine"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs([
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_MAX_ATTEMPTS", "1"), // moto can fail after creating a cluster; a retry would make another
        (LOOPBACK_ONLY_ENV, "1"),
    ]);
    cmd.args(args).output().expect("run engine")
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `engine emr launch FILE --endpoint-url moto`; returns the cluster id it printed.
pub(crate) fn launch(file: &Path) -> String {
    let o = engine(&["emr", "launch", file.to_str().unwrap(), "--endpoint-url", &moto_url()]);
    assert!(o.status.success(), "launch failed: {}", stderr(&o));
    let id = stdout(&o);
    assert!(id.starts_with("j-") && !id.contains(char::is_whitespace), "stdout is not a cluster id: {id:?}");
    id
}

/// The tests' own SDK client for moto: static fake credentials, no retries, loopback only.
pub(crate) fn sdk(region: &str) -> Client {
    let conf = aws_sdk_emr::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .endpoint_url(moto_url())
        .http_client(http_client())
        .retry_config(aws_sdk_emr::config::retry::RetryConfig::disabled())
        .interceptor(LoopbackOnly)
        .build();
    Client::from_conf(conf)
}

pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// A plain HTTP/1.0 request to moto's own API (`/moto-api/…`); returns the body.
fn moto_api(method: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let url = moto_url();
    let mut s = std::net::TcpStream::connect(url.trim_start_matches("http://").trim_end_matches('/')).unwrap();
    write!(s, "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n").unwrap();
    let mut r = String::new();
    s.read_to_string(&mut r).unwrap();
    let (head, body) = r.split_once("\r\n\r\n").unwrap_or((&r, ""));
    assert!(head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"), "{method} {path}: {head}");
    body.to_string()
}

/// The RunJobFlow request for cluster `name` as moto's request recorder saw it: the region it was
/// signed for (moto ignores the region when reached through an endpoint URL) and its JSON body
/// (which also shows what moto drops, such as gp3 throughput).
fn recorded_run_job_flow(name: &str) -> (String, serde_json::Value) {
    for line in moto_api("GET", "/moto-api/recorder/download-recording").lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        let h = &e["headers"];
        if h["X-Amz-Target"] != "ElasticMapReduce.RunJobFlow" {
            continue;
        }
        let raw = e["body"].as_str().unwrap_or_default();
        let raw = if e["body_encoded"] == true { base64_decode(raw) } else { raw.as_bytes().to_vec() };
        let body: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        if body["Name"] == name {
            let auth = h["Authorization"].as_str().unwrap();
            // AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/elasticmapreduce/aws4_request, …
            let scope = auth.split("Credential=").nth(1).unwrap().split(',').next().unwrap();
            assert!(scope.starts_with("testing/"), "not our fake key: {scope}");
            return (scope.split('/').nth(2).unwrap().to_string(), body);
        }
    }
    panic!("no RunJobFlow request for {name} in moto's recording")
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = s.bytes().filter(|&c| c != b'=' && !c.is_ascii_whitespace()).map(val).collect();
    digits
        .chunks(4)
        .flat_map(|q| {
            let n = q.iter().enumerate().fold(0u32, |n, (i, &d)| n | (d as u32) << (18 - 6 * i));
            [(n >> 16) as u8, (n >> 8) as u8, n as u8].into_iter().take(q.len() - 1)
        })
        .collect()
}

/// A configuration tree, comparable between the cluster file and what EMR returns.
#[derive(Debug, PartialEq)]
struct Conf {
    classification: String,
    properties: BTreeMap<String, String>,
    nested: Vec<Conf>,
}

fn conf_from_file(cs: &[config::Configuration]) -> Vec<Conf> {
    cs.iter()
        .map(|c| Conf {
            classification: c.classification.clone(),
            properties: c.properties.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
            nested: conf_from_file(&c.configurations),
        })
        .collect()
}

fn conf_from_emr(cs: &[aws_sdk_emr::types::Configuration]) -> Vec<Conf> {
    cs.iter()
        .map(|c| Conf {
            classification: c.classification().unwrap_or_default().to_string(),
            properties: c
                .properties()
                .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            nested: conf_from_emr(c.configurations()),
        })
        .collect()
}

/// (type, size GiB, iops, throughput) of every volume of one instance, as EMR lists them.
type Volume = (String, i32, Option<i32>, Option<i32>);

/// Describe cluster `id` and assert that every value of `c` came back exactly.
fn assert_round_trip(c: &Cluster, id: &str) {
    let emr = sdk(&c.region);
    let (d, groups, actions) = block_on(async {
        let d = emr.describe_cluster().cluster_id(id).send().await.unwrap().cluster.unwrap();
        let g = emr.list_instance_groups().cluster_id(id).send().await.unwrap();
        let b = emr.list_bootstrap_actions().cluster_id(id).send().await.unwrap();
        (d, g.instance_groups.unwrap_or_default(), b.bootstrap_actions.unwrap_or_default())
    });
    assert_eq!(d.id(), Some(id));
    assert_eq!(d.name(), Some(c.name.as_str()));
    assert_eq!(d.release_label(), Some(c.release_label.as_str()));
    assert_eq!(d.log_uri(), c.log_uri.as_deref());
    assert_eq!(d.service_role(), Some(c.roles.service_role.as_str()));
    // moto files every cluster under us-east-1 whatever the request's region (see signed_region).
    assert!(d.cluster_arn().unwrap().ends_with(&format!(":cluster/{id}")), "{:?}", d.cluster_arn());
    let ec2 = d.ec2_instance_attributes().unwrap();
    assert_eq!(ec2.iam_instance_profile(), Some(c.roles.job_flow_role.as_str()));
    assert_eq!(ec2.ec2_key_name(), c.ec2.key_name.as_deref());
    assert_eq!(ec2.ec2_subnet_id(), c.ec2.subnet_id.as_deref());
    assert_eq!(d.auto_terminate(), Some(!c.keep_alive));
    assert_eq!(d.step_concurrency_level(), Some(c.step_concurrency as i32));
    assert_eq!(d.visible_to_all_users(), Some(true));
    let apps: Vec<&str> = d.applications().iter().filter_map(|a| a.name()).collect();
    assert_eq!(apps, c.applications);
    let tags: Vec<(String, String)> =
        d.tags().iter().map(|t| (t.key().unwrap_or_default().into(), t.value().unwrap_or_default().into())).collect();
    let want: Vec<(String, String)> = c.tags.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
    assert_eq!(tags, want);
    assert_eq!(conf_from_emr(d.configurations()), conf_from_file(&c.configurations));

    assert_eq!(groups.len(), c.instance_groups.len(), "{groups:#?}");
    for g in &c.instance_groups {
        let name = g.effective_name();
        let got =
            groups.iter().find(|x| x.name() == Some(name)).unwrap_or_else(|| panic!("no group {name}: {groups:#?}"));
        assert_eq!(got.instance_group_type(), Some(&InstanceGroupType::from(g.role.as_str())), "{name}");
        assert_eq!(got.instance_type(), Some(g.instance_type.as_str()), "{name}");
        assert_eq!(got.requested_instance_count(), Some(g.count as i32), "{name}");
        assert_eq!(got.market(), Some(&MarketType::from(g.market.as_str())), "{name}");
        assert_eq!(got.bid_price(), g.bid_price.as_ref().map(|p| p.to_string()).as_deref(), "{name}");
        let vols: Vec<Volume> = got
            .ebs_block_devices()
            .iter()
            .map(|d| {
                let s = d.volume_specification().unwrap();
                (
                    s.volume_type().unwrap_or_default().into(),
                    s.size_in_gb().unwrap_or_default(),
                    s.iops(),
                    None, // moto keeps no throughput; every_field_round_trips checks the request
                )
            })
            .collect();
        let want: Vec<Volume> = g
            .ebs
            .iter()
            .flat_map(|v| {
                let one = (v.volume_type.as_str().to_string(), v.size_gb as i32, v.iops.map(|x| x as i32), None);
                std::iter::repeat_n(one, v.per_instance as usize)
            })
            .collect();
        assert_eq!(vols, want, "{name}: EBS volumes");
    }

    let got: Vec<(String, String, Vec<String>)> = actions
        .iter()
        .map(|a| (a.name().unwrap_or_default().into(), a.script_path().unwrap_or_default().into(), a.args().to_vec()))
        .collect();
    let want: Vec<(String, String, Vec<String>)> = c
        .bootstrap_actions
        .iter()
        .map(|b| (b.name.clone(), b.script.clone(), b.args.iter().map(|a| a.to_string()).collect()))
        .collect();
    assert_eq!(got, want);
}

#[test]
#[ignore = "needs moto (DISTRODUCE_MOTO_URL): scripts/test starts it"]
fn the_example_cluster_round_trips() {
    let c = config::load(&example()).unwrap();
    // What the example must say (the seed's cluster, on EMR 7 and m5): literal, so that a value the
    // parser dropped cannot pass unnoticed as "absent on both sides".
    assert_eq!((c.release_label.as_str(), c.region.as_str()), ("emr-7.2.0", "us-east-1"));
    let core = c.instance_groups.iter().find(|g| g.role == config::InstanceRole::Core).unwrap();
    assert_eq!((core.instance_type.as_str(), core.count, core.ebs.len()), ("m5.xlarge", 5, 1));
    assert_eq!((core.ebs[0].size_gb, core.ebs[0].per_instance), (32, 2));
    assert_eq!(c.bootstrap_actions.len(), 1);
    assert!(c.bootstrap_actions[0].script.ends_with("/bootstrap.sh"));
    let id = launch(&example());
    assert_round_trip(&c, &id);
    let d =
        block_on(async { sdk("us-east-1").describe_cluster().cluster_id(&id).send().await.unwrap().cluster.unwrap() });
    let conf = conf_from_emr(d.configurations());
    assert_eq!(conf[0].properties.get("maximizeResourceAllocation").map(String::as_str), Some("true"));
    assert_eq!((conf[1].classification.as_str(), conf[1].nested[0].classification.as_str()), ("spark-env", "export"));
    assert_eq!(conf[1].nested[0].properties.get("PYSPARK_PYTHON").map(String::as_str), Some("/usr/bin/python3"));
}

/// Everything the cluster file can say that the example does not.
const FULL: &str = r#"
name: distroduce-full
region: eu-west-1
release_label: emr-7.5.0
applications: [Hadoop, Spark, Livy]
log_uri: s3://logs-bucket/emr/
artifacts: s3://art-bucket/distroduce/
roles: {service_role: MyEmrService, job_flow_role: MyEmrInstanceProfile}
ec2: {key_name: ops-key, subnet_id: subnet-0aa11bb22cc33dd44}
instance_groups:
  - {role: MASTER, instance_type: m5.2xlarge, count: 1}
  - name: Core nodes
    role: CORE
    instance_type: r5.xlarge
    count: 3
    market: SPOT
    bid_price: "0.12"
    ebs:
      - {type: gp3, size_gb: 100, per_instance: 1, iops: 4000, throughput: 250}
      - {type: st1, size_gb: 500, per_instance: 2}
  - name: Spot tasks
    role: TASK
    instance_type: c5.4xlarge
    count: 4
    market: SPOT
  - name: On-demand tasks
    role: TASK
    instance_type: c5.xlarge
    count: 2
bootstrap_actions:
  - {name: first, script: s3://art-bucket/distroduce/bootstrap.sh, args: [s3://art-bucket/distroduce, --flag, 3]}
  - {name: no args, script: "file:/usr/bin/true"}
configurations:
  - classification: spark-defaults
    properties: {spark.executor.memory: 4g, spark.dynamicAllocation.enabled: false, spark.executor.cores: 2}
  - classification: hadoop-env
    configurations:
      - classification: export
        properties: {JAVA_HOME: /usr/lib/jvm/java-17}
        configurations:
          - classification: deeper
            properties: {x: "1"}
keep_alive: false
step_concurrency: 10
tags: {project: distroduce, cost-center: 1234, env: test}
"#;

#[test]
#[ignore = "needs moto (DISTRODUCE_MOTO_URL): scripts/test starts it"]
fn every_field_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("full.yaml");
    std::fs::write(&file, FULL).unwrap();
    let c = config::load(&file).unwrap();
    moto_api("POST", "/moto-api/recorder/start-recording");
    assert_eq!(c.instance_groups[1].bid_price.as_ref().map(|p| p.to_string()).as_deref(), Some("0.12"));
    assert_eq!(c.tags.get("cost-center").map(|v| v.to_string()).as_deref(), Some("1234"));
    assert_eq!(c.instance_groups[0].effective_name(), "Master");
    let id = launch(&file);
    assert_round_trip(&c, &id);
    let (region, body) = recorded_run_job_flow(&c.name);
    assert_eq!(region, "eu-west-1", "the request must be signed for the cluster file's region");
    // moto drops gp3 throughput (it reads back as absent); the request carried it.
    let gp3 = &body["Instances"]["InstanceGroups"][1]["EbsConfiguration"]["EbsBlockDeviceConfigs"][0];
    assert_eq!(gp3["VolumeSpecification"]["Throughput"], 250, "{gp3}");
}
