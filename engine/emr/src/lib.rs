//! Running distroduce on Amazon EMR: a cluster file ([`config`]) becomes a RunJobFlow request, and a
//! scenario becomes one `spark-submit` step on a running cluster ([`client`]). The PySpark driver
//! (`deploy/spark/distroduce_spark.py`) then runs `engine run --shard I/N` on the executors.
//!
//! The command line (`engine emr launch|submit|validate|schema`) lives in the `engine` binary; this
//! crate is the only one that links the AWS SDK, so the binary builds it only with feature `emr`.

pub mod client;
pub mod config;

use distroduce_scenario::ConfigErrors;
use std::path::PathBuf;

/// Where the bootstrap action (`deploy/emr/bootstrap.sh`) installs the engine on every node.
pub const NODE_ENGINE_PATH: &str = "/usr/local/bin/engine";

/// What can go wrong in `engine emr`.
#[derive(Debug, thiserror::Error)]
pub enum EmrError {
    /// The cluster file is unreadable or wrong (with `file:line:col`).
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    /// A command-line value is wrong or missing.
    #[error("{message}{}", hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
    Usage { message: String, hint: Option<String> },
    #[error("no AWS region\n  hint: give --region or --config CLUSTER.yaml, or set AWS_REGION")]
    NoRegion,
    /// The request failed: network, credentials, or an error from EMR.
    #[error("EMR {op} failed: {detail}")]
    Api { op: &'static str, detail: String },
    #[error("EMR {op} answered without {what}")]
    Incomplete { op: &'static str, what: &'static str },
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

impl EmrError {
    pub(crate) fn api<E: std::error::Error + 'static>(op: &'static str, e: E) -> Self {
        // The SDK's errors nest (dispatch failure: io error: …); print the chain, each text once.
        let mut detail = e.to_string();
        let mut src = e.source();
        while let Some(s) = src {
            let t = s.to_string();
            if !detail.contains(&t) {
                detail = format!("{detail}: {t}");
            }
            src = s.source();
        }
        Self::Api { op, detail }
    }

    fn usage(message: impl Into<String>, hint: Option<&str>) -> Self {
        Self::Usage { message: message.into(), hint: hint.map(str::to_string) }
    }

    /// 2 for bad input (nothing was sent), 1 when a request failed.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Config(_) | Self::Usage { .. } | Self::NoRegion => 2,
            Self::Api { .. } | Self::Incomplete { .. } | Self::Runtime(_) => 1,
        }
    }
}

/// `engine emr submit`
#[derive(Debug, Clone)]
pub struct SubmitArgs {
    /// The cluster, as printed by `engine emr launch` (j-…).
    pub cluster_id: String,
    /// The scenario: an s3:// URI, or an absolute path on the cluster's nodes.
    pub scenario: String,
    /// Number of shards (Spark tasks), each running `engine run --shard I/N`.
    pub shards: u32,
    /// Kafka bootstrap servers the executors publish to.
    pub brokers: String,
    /// Step name (default: distroduce-<scenario file stem>).
    pub name: Option<String>,
    /// The cluster file: its region, and its `artifacts` prefix for the defaults of --driver and --out.
    pub config: Option<PathBuf>,
    /// Region (default: the cluster file's, else AWS_REGION or the profile's).
    pub region: Option<String>,
    /// The PySpark driver (default: <artifacts>/distroduce_spark.py).
    pub driver: Option<String>,
    /// The engine binary on the nodes.
    pub engine: String,
    /// Where the driver writes the merged output (default: <artifacts>/runs/<name>).
    pub out: Option<String>,
    /// What EMR does when the step fails.
    pub action_on_failure: OnFailure,
    /// Extra Spark settings, `--conf KEY=VALUE` (repeatable), passed to spark-submit.
    pub spark_conf: Vec<String>,
    /// Send requests here instead of AWS (e.g. a moto server). AWS_ENDPOINT_URL also works.
    pub endpoint_url: Option<String>,
    /// More arguments for the driver, after `--`.
    pub driver_args: Vec<String>,
}

/// EMR's ActionOnFailure for a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Keep the cluster and the later steps going.
    Continue,
    /// Cancel the later steps; keep the cluster.
    CancelAndWait,
    /// Terminate the cluster.
    TerminateCluster,
}

impl OnFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Continue => "CONTINUE",
            Self::CancelAndWait => "CANCEL_AND_WAIT",
            Self::TerminateCluster => "TERMINATE_CLUSTER",
        }
    }
}

/// The step `engine emr submit` adds, from its arguments and the cluster file (if given).
pub fn plan_step(a: &SubmitArgs, cluster: Option<&config::Cluster>) -> Result<client::Step, EmrError> {
    let s = a.scenario.as_str();
    if !(s.starts_with("s3://") || s.starts_with('/')) {
        return Err(EmrError::usage(
            format!("--scenario `{s}` is not on S3 nor an absolute path on the cluster's nodes"),
            Some("upload it first, e.g. `aws s3 cp scenarios/chat.yaml s3://BUCKET/distroduce/scenarios/`"),
        ));
    }
    if a.brokers.trim().is_empty() {
        return Err(EmrError::usage("--brokers is empty", None));
    }
    let name = match &a.name {
        Some(n) if n.trim().is_empty() => return Err(EmrError::usage("--name is empty", None)),
        Some(n) => n.clone(),
        None => {
            let file = s.rsplit('/').next().unwrap_or(s);
            let stem = file.strip_suffix(".yaml").or_else(|| file.strip_suffix(".yml")).unwrap_or(file);
            format!("distroduce-{stem}")
        }
    };
    let artifacts = cluster.and_then(|c| c.artifacts_prefix());
    let no_artifacts = |flag: &str| {
        EmrError::usage(
            format!("give {flag}, or --config with a cluster file that sets `artifacts`"),
            Some("artifacts is the S3 prefix holding engine, plugins/ and distroduce_spark.py"),
        )
    };
    let driver = match (&a.driver, artifacts) {
        (Some(d), _) => d.clone(),
        (None, Some(p)) => format!("{p}/distroduce_spark.py"),
        (None, None) => return Err(no_artifacts("--driver")),
    };
    let out = match (&a.out, artifacts) {
        (Some(o), _) => o.clone(),
        (None, Some(p)) => {
            let safe: String =
                name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '-' }).collect();
            format!("{p}/runs/{safe}")
        }
        (None, None) => return Err(no_artifacts("--out")),
    };
    let mut args: Vec<String> =
        ["spark-submit", "--master", "yarn", "--deploy-mode", "cluster"].map(String::from).into();
    for kv in &a.spark_conf {
        if !kv.contains('=') || kv.starts_with('=') {
            return Err(EmrError::usage(format!("--conf `{kv}` is not KEY=VALUE"), None));
        }
        args.extend(["--conf".to_string(), kv.clone()]);
    }
    args.extend([driver, a.scenario.clone()]);
    for (flag, v) in [
        ("--shards", a.shards.to_string()),
        ("--brokers", a.brokers.clone()),
        ("--out", out),
        ("--engine", a.engine.clone()),
    ] {
        args.extend([flag.to_string(), v]);
    }
    args.extend(a.driver_args.iter().cloned());
    Ok(client::Step { name, action_on_failure: a.action_on_failure.as_str(), args })
}

fn runtime() -> Result<tokio::runtime::Runtime, EmrError> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(EmrError::Runtime)
}

/// `engine emr launch`: returns what RunJobFlow answered.
pub fn launch(
    cluster_file: &std::path::Path,
    endpoint_url: Option<String>,
) -> Result<(config::Cluster, client::Launched), EmrError> {
    let cluster = config::load(cluster_file)?;
    let conn = client::Connect { region: Some(cluster.region.clone()), endpoint_url };
    let launched = runtime()?.block_on(async {
        let c = client::connect(&conn).await?;
        client::launch(&c, &cluster).await
    })?;
    Ok((cluster, launched))
}

/// `engine emr submit`: returns the step and its id.
pub fn submit(a: &SubmitArgs) -> Result<(client::Step, String), EmrError> {
    let cluster = a.config.as_deref().map(config::load).transpose()?;
    let step = plan_step(a, cluster.as_ref())?;
    let conn = client::Connect {
        region: a.region.clone().or_else(|| cluster.as_ref().map(|c| c.region.clone())),
        endpoint_url: a.endpoint_url.clone(),
    };
    let id = runtime()?.block_on(async {
        let c = client::connect(&conn).await?;
        client::submit(&c, &a.cluster_id, &step).await
    })?;
    Ok((step, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[(&str, &str)]) -> SubmitArgs {
        let mut a = SubmitArgs {
            cluster_id: "j-1".into(),
            scenario: "s3://b/p/chat.yaml".into(),
            shards: 4,
            brokers: "k:9092".into(),
            name: None,
            config: None,
            region: None,
            driver: None,
            engine: NODE_ENGINE_PATH.into(),
            out: None,
            action_on_failure: OnFailure::Continue,
            spark_conf: Vec::new(),
            endpoint_url: None,
            driver_args: Vec::new(),
        };
        for (k, v) in extra {
            match *k {
                "name" => a.name = Some(v.to_string()),
                "driver" => a.driver = Some(v.to_string()),
                "out" => a.out = Some(v.to_string()),
                "engine" => a.engine = v.to_string(),
                "conf" => a.spark_conf.push(v.to_string()),
                "--" => a.driver_args.push(v.to_string()),
                other => panic!("no such test argument {other}"),
            }
        }
        a
    }

    fn cluster() -> config::Cluster {
        let src = "name: x\nregion: us-east-1\nartifacts: s3://b/d/\ninstance_groups:\n  - {role: MASTER, instance_type: m5.xlarge, count: 1}\n";
        config::load_str(std::path::Path::new("c.yaml"), src).unwrap()
    }

    #[test]
    fn step_defaults_from_artifacts() {
        let s = plan_step(&args(&[]), Some(&cluster())).unwrap();
        assert_eq!(s.name, "distroduce-chat");
        assert_eq!(s.action_on_failure, "CONTINUE");
        assert_eq!(
            s.args.join(" "),
            "spark-submit --master yarn --deploy-mode cluster s3://b/d/distroduce_spark.py s3://b/p/chat.yaml \
             --shards 4 --brokers k:9092 --out s3://b/d/runs/distroduce-chat --engine /usr/local/bin/engine"
        );
    }

    #[test]
    fn step_with_every_option() {
        let mut a = args(&[
            ("name", "my run"),
            ("driver", "s3://x/d.py"),
            ("out", "s3://x/o"),
            ("engine", "/opt/engine"),
            ("conf", "spark.executor.instances=4"),
            ("--", "--timesteps"),
            ("--", "100"),
        ]);
        a.action_on_failure = OnFailure::CancelAndWait;
        let s = plan_step(&a, None).unwrap();
        assert_eq!(s.name, "my run");
        assert_eq!(s.action_on_failure, "CANCEL_AND_WAIT");
        assert_eq!(
            s.args.join(" "),
            "spark-submit --master yarn --deploy-mode cluster --conf spark.executor.instances=4 s3://x/d.py \
             s3://b/p/chat.yaml --shards 4 --brokers k:9092 --out s3://x/o --engine /opt/engine --timesteps 100"
        );
    }

    #[test]
    fn step_errors() {
        let e = plan_step(&args(&[]), None).unwrap_err().to_string();
        assert!(e.contains("give --driver, or --config"), "{e}");
        let mut a = args(&[]);
        a.scenario = "scenarios/chat.yaml".into();
        let e = plan_step(&a, Some(&cluster())).unwrap_err();
        assert!(e.to_string().contains("is not on S3"), "{e}");
        assert_eq!(e.exit_code(), 2);
        let e = plan_step(&args(&[("conf", "nokv")]), Some(&cluster())).unwrap_err();
        assert!(e.to_string().contains("not KEY=VALUE"), "{e}");
    }
}
