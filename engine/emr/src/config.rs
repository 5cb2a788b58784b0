//! The EMR cluster file (`deploy/emr/cluster.yaml`): parsed by serde into these types, then checked
//! here, before any request is sent, because EMR (and moto) accept much that cannot work. Every
//! problem is reported with the `file:line:col` it comes from, like scenario files. Field docs
//! become the JSON Schema descriptions printed by `engine emr schema`.

use distroduce_scenario::span::SpanIndex;
use distroduce_scenario::{ConfigErrors, Reporter};
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

mod check;
use check::check;

/// An EMR cluster that runs distroduce scenarios with Spark: what `engine emr launch` asks
/// RunJobFlow for.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// Cluster name, shown in the EMR console.
    pub name: String,
    /// AWS region the cluster runs in, e.g. `us-east-1`.
    pub region: String,
    /// EMR release (`emr-X.Y.Z`). 7.x runs Spark 3.5 on Amazon Linux 2023 with Python 3.
    #[serde(default = "default_release_label")]
    pub release_label: String,
    /// Applications to install. Spark is needed to run scenarios (`engine emr submit`).
    #[serde(default = "default_applications")]
    pub applications: Vec<String>,
    /// Where EMR writes the cluster's logs (`s3://bucket/prefix/`).
    #[serde(default)]
    pub log_uri: Option<String>,
    /// S3 prefix holding the distroduce artifacts: `engine` (the binary), `plugins/`,
    /// `distroduce_spark.py` (the PySpark driver) and `bootstrap.sh`. `engine emr submit` takes the
    /// driver from here unless `--driver` is given.
    #[serde(default)]
    pub artifacts: Option<String>,
    /// IAM roles.
    #[serde(default)]
    pub roles: Roles,
    /// EC2 settings shared by every node.
    #[serde(default)]
    pub ec2: Ec2,
    /// The instance groups: one MASTER, at most one CORE, any number of TASK groups.
    pub instance_groups: Vec<InstanceGroup>,
    /// Scripts every node runs before the applications start, in order.
    #[serde(default)]
    pub bootstrap_actions: Vec<BootstrapAction>,
    /// Application configuration (EMR classifications such as `spark`, `spark-defaults`,
    /// `spark-env`).
    #[serde(default)]
    pub configurations: Vec<Configuration>,
    /// Keep the cluster running when it has no steps left (`false`: it terminates after the last
    /// step, or at once if it has none).
    #[serde(default = "default_true")]
    pub keep_alive: bool,
    /// Tags on the cluster and its EC2 instances.
    #[serde(default)]
    pub tags: IndexMap<String, Scalar>,
    /// How many steps may run at once (1 to 256).
    #[serde(default = "default_step_concurrency")]
    pub step_concurrency: u32,
}

/// IAM roles of the cluster.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    /// The role EMR assumes to manage the cluster.
    #[serde(default = "default_service_role")]
    pub service_role: String,
    /// The instance profile of the cluster's EC2 instances.
    #[serde(default = "default_job_flow_role")]
    pub job_flow_role: String,
}

impl Default for Roles {
    fn default() -> Self {
        Self { service_role: default_service_role(), job_flow_role: default_job_flow_role() }
    }
}

/// EC2 settings of the cluster's nodes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ec2 {
    /// EC2 key pair for SSH to the nodes (as user `hadoop`).
    #[serde(default)]
    pub key_name: Option<String>,
    /// VPC subnet to launch in (`subnet-…`); absent: the default VPC.
    #[serde(default)]
    pub subnet_id: Option<String>,
}

/// A group of identical instances.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstanceGroup {
    /// Name of the group (default: `Master`, `Core` or `Task`).
    #[serde(default)]
    pub name: Option<String>,
    /// What the group does.
    pub role: InstanceRole,
    /// EC2 instance type, e.g. `m5.xlarge`.
    pub instance_type: String,
    /// Number of instances (MASTER: 1, or 3 for high availability).
    pub count: u32,
    /// On-demand or spot instances.
    #[serde(default)]
    pub market: Market,
    /// Maximum spot price in USD per hour (SPOT only), e.g. `"0.10"`; absent: the on-demand price.
    #[serde(default)]
    pub bid_price: Option<Scalar>,
    /// EBS volumes attached to every instance of the group.
    #[serde(default)]
    pub ebs: Vec<EbsVolumes>,
}

/// Instance group role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InstanceRole {
    /// The primary node (YARN resource manager, Spark driver in client mode).
    Master,
    /// HDFS and YARN node managers.
    Core,
    /// YARN node managers only.
    Task,
}

impl InstanceRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Master => "MASTER",
            Self::Core => "CORE",
            Self::Task => "TASK",
        }
    }

    fn default_name(self) -> &'static str {
        match self {
            Self::Master => "Master",
            Self::Core => "Core",
            Self::Task => "Task",
        }
    }
}

/// EC2 purchasing option.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Market {
    #[default]
    OnDemand,
    Spot,
}

impl Market {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnDemand => "ON_DEMAND",
            Self::Spot => "SPOT",
        }
    }
}

/// `per_instance` identical EBS volumes on every instance of a group.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EbsVolumes {
    /// Volume type.
    #[serde(rename = "type")]
    pub volume_type: VolumeType,
    /// Size of each volume in GiB.
    pub size_gb: u32,
    /// Volumes per instance.
    #[serde(default = "default_one")]
    pub per_instance: u32,
    /// Provisioned IOPS (required for io1/io2, optional for gp3).
    #[serde(default)]
    pub iops: Option<u32>,
    /// Throughput in MiB/s (gp3 only).
    #[serde(default)]
    pub throughput: Option<u32>,
}

/// EBS volume type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VolumeType {
    Gp2,
    Gp3,
    Io1,
    Io2,
    St1,
    Sc1,
    Standard,
}

impl VolumeType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gp2 => "gp2",
            Self::Gp3 => "gp3",
            Self::Io1 => "io1",
            Self::Io2 => "io2",
            Self::St1 => "st1",
            Self::Sc1 => "sc1",
            Self::Standard => "standard",
        }
    }
}

/// A script run on every node while it starts.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BootstrapAction {
    /// Name shown by EMR.
    pub name: String,
    /// Location of the script: `s3://…`, or `file:/…` on the node's image.
    pub script: String,
    /// Arguments passed to the script.
    #[serde(default)]
    pub args: Vec<Scalar>,
}

/// An EMR configuration: properties of one classification, and nested classifications (such as
/// `export` under `spark-env`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Configuration {
    /// Classification, e.g. `spark`, `spark-defaults`, `spark-env`, `export`.
    pub classification: String,
    /// Properties; values are sent as strings (`true` becomes `"true"`).
    #[serde(default)]
    pub properties: IndexMap<String, Scalar>,
    /// Nested configurations.
    #[serde(default)]
    pub configurations: Vec<Configuration>,
}

/// A string, number or boolean; EMR takes every value as a string.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Scalar {
    Str(String),
    Bool(bool),
    Int(i64),
    Float(f64),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Str(s) => f.write_str(s),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Int(i) => write!(f, "{i}"),
            Self::Float(x) => write!(f, "{x}"),
        }
    }
}

fn default_release_label() -> String {
    "emr-7.2.0".into()
}
fn default_applications() -> Vec<String> {
    vec!["Hadoop".into(), "Spark".into()]
}
fn default_service_role() -> String {
    "EMR_DefaultRole".into()
}
fn default_job_flow_role() -> String {
    "EMR_EC2_DefaultRole".into()
}
fn default_true() -> bool {
    true
}
fn default_one() -> u32 {
    1
}
fn default_step_concurrency() -> u32 {
    1
}

impl Cluster {
    /// `artifacts` without a trailing slash.
    pub fn artifacts_prefix(&self) -> Option<&str> {
        self.artifacts.as_deref().map(|a| a.trim_end_matches('/'))
    }
}

impl InstanceGroup {
    /// The name sent to EMR: the configured one, else one from the role.
    pub fn effective_name(&self) -> &str {
        self.name.as_deref().unwrap_or(self.role.default_name())
    }
}

/// Read, parse and check a cluster file.
pub fn load(path: &Path) -> Result<Cluster, ConfigErrors> {
    let src = distroduce_scenario::read_source(
        path,
        "cluster file",
        "check the path; the example is deploy/emr/cluster.yaml",
    )?;
    load_str(path, &src)
}

/// Parse and check cluster text; `path` is used in messages.
pub fn load_str(path: &Path, src: &str) -> Result<Cluster, ConfigErrors> {
    let cluster: Cluster =
        distroduce_scenario::parse_yaml(path, src, "see `engine emr schema` for every field and its type")?;
    let spans = SpanIndex::build(src);
    let mut r = Reporter::new(path, &spans);
    check(&cluster, &mut r);
    if r.diags.is_empty() {
        Ok(cluster)
    } else {
        Err(ConfigErrors(r.diags))
    }
}

/// The JSON Schema of cluster files.
pub fn schema() -> serde_json::Value {
    schemars::schema_for!(Cluster).to_value()
}
