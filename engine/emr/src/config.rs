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

fn is_s3(s: &str) -> bool {
    s.strip_prefix("s3://").is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
}

/// `emr-X.Y.Z`.
fn release_ok(s: &str) -> bool {
    let Some(v) = s.strip_prefix("emr-") else { return false };
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-4`…
fn region_ok(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// `family.size`, e.g. `m5.xlarge`, `r6gd.2xlarge`.
fn instance_type_ok(s: &str) -> bool {
    let mut it = s.split('.');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
    };
    ok(it.next()) && ok(it.next()) && it.next().is_none()
}

/// A positive decimal such as `0.10`.
fn price_ok(s: &str) -> bool {
    s.parse::<f64>().is_ok_and(|p| p.is_finite() && p > 0.0) && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

fn check(c: &Cluster, r: &mut Reporter<'_>) {
    if c.name.trim().is_empty() || c.name.len() > 256 {
        r.at("name", "the cluster name must have 1 to 256 characters", None);
    }
    if !region_ok(&c.region) {
        r.at("region", format!("`{}` is not an AWS region", c.region), Some("e.g. us-east-1".into()));
    }
    if !release_ok(&c.release_label) {
        r.at(
            "release_label",
            format!("`{}` is not an EMR release label", c.release_label),
            Some("write emr-X.Y.Z, e.g. emr-7.2.0".into()),
        );
    }
    if !c.applications.iter().any(|a| a.eq_ignore_ascii_case("spark")) {
        r.at(
            "applications",
            "applications must include Spark: scenarios run through spark-submit",
            Some("e.g. applications: [Hadoop, Spark]".into()),
        );
    }
    for (i, a) in c.applications.iter().enumerate() {
        if a.trim().is_empty() {
            r.at(&format!("applications[{i}]"), "empty application name", None);
        }
        if c.applications[..i].iter().any(|b| b.eq_ignore_ascii_case(a)) {
            r.at(&format!("applications[{i}]"), format!("`{a}` is listed twice"), None);
        }
    }
    if let Some(l) = &c.log_uri {
        if !is_s3(l) {
            r.at("log_uri", format!("log_uri `{l}` is not an S3 location"), Some("write s3://bucket/prefix/".into()));
        }
    }
    if let Some(a) = &c.artifacts {
        if !is_s3(a) {
            r.at(
                "artifacts",
                format!("artifacts `{a}` is not an S3 location"),
                Some("write s3://bucket/prefix".into()),
            );
        }
    }
    for (field, v) in [("roles.service_role", &c.roles.service_role), ("roles.job_flow_role", &c.roles.job_flow_role)] {
        if v.trim().is_empty() {
            r.at(field, "empty role name", None);
        }
    }
    if let Some(s) = &c.ec2.subnet_id {
        if !s.starts_with("subnet-") {
            r.at(
                "ec2.subnet_id",
                format!("`{s}` is not a subnet id"),
                Some("subnet ids look like subnet-0123abcd".into()),
            );
        }
    }
    check_groups(c, r);
    for (i, b) in c.bootstrap_actions.iter().enumerate() {
        let at = format!("bootstrap_actions[{i}]");
        if b.name.trim().is_empty() {
            r.at(&format!("{at}.name"), "empty bootstrap action name", None);
        }
        if !(is_s3(&b.script) || b.script.starts_with("file:/")) {
            r.at(
                &format!("{at}.script"),
                format!("bootstrap script `{}` must be an s3:// or file:/ location", b.script),
                Some("upload deploy/emr/bootstrap.sh to S3 and give its s3:// path".into()),
            );
        }
    }
    check_configurations(&c.configurations, "configurations", r);
    for (k, _) in &c.tags {
        if k.is_empty() || k.len() > 128 || k.starts_with("aws:") {
            r.at_key(
                &format!("tags.{k}"),
                format!("`{k}` is not a valid tag key"),
                Some("1 to 128 characters, not starting with aws:".into()),
            );
        }
    }
    if !(1..=256).contains(&c.step_concurrency) {
        r.at("step_concurrency", format!("step_concurrency must be 1 to 256, not {}", c.step_concurrency), None);
    }
}

fn check_groups(c: &Cluster, r: &mut Reporter<'_>) {
    let count = |role| c.instance_groups.iter().filter(|g| g.role == role).count();
    if count(InstanceRole::Master) != 1 {
        r.at(
            "instance_groups",
            format!("a cluster needs exactly one MASTER instance group, found {}", count(InstanceRole::Master)),
            None,
        );
    }
    if count(InstanceRole::Core) > 1 {
        r.at(
            "instance_groups",
            "a cluster can have only one CORE instance group",
            Some("use TASK groups for more".into()),
        );
    }
    if count(InstanceRole::Task) > 48 {
        r.at("instance_groups", "a cluster can have at most 48 TASK instance groups", None);
    }
    for (i, g) in c.instance_groups.iter().enumerate() {
        let at = format!("instance_groups[{i}]");
        if !instance_type_ok(&g.instance_type) {
            r.at(
                &format!("{at}.instance_type"),
                format!("`{}` is not an EC2 instance type", g.instance_type),
                Some("e.g. m5.xlarge".into()),
            );
        }
        match g.role {
            InstanceRole::Master if g.count != 1 && g.count != 3 => r.at(
                &format!("{at}.count"),
                format!("the MASTER group has 1 instance (or 3 for high availability), not {}", g.count),
                None,
            ),
            InstanceRole::Core if g.count == 0 => r.at(
                &format!("{at}.count"),
                "the CORE group needs at least 1 instance; remove the group for none",
                None,
            ),
            _ => {}
        }
        match (&g.bid_price, g.market) {
            (Some(_), Market::OnDemand) => r.at_key(
                &format!("{at}.bid_price"),
                "bid_price applies to SPOT instances only",
                Some("add `market: SPOT` or remove bid_price".into()),
            ),
            (Some(p), Market::Spot) if !price_ok(&p.to_string()) => r.at(
                &format!("{at}.bid_price"),
                format!("bid_price `{p}` is not a price in USD"),
                Some("write it as a string, e.g. \"0.10\"".into()),
            ),
            _ => {}
        }
        for (j, v) in g.ebs.iter().enumerate() {
            let at = format!("{at}.ebs[{j}]");
            if !(1..=16384).contains(&v.size_gb) {
                r.at(&format!("{at}.size_gb"), format!("size_gb must be 1 to 16384, not {}", v.size_gb), None);
            }
            if !(1..=25).contains(&v.per_instance) {
                r.at(
                    &format!("{at}.per_instance"),
                    format!("per_instance must be 1 to 25, not {}", v.per_instance),
                    None,
                );
            }
            let t = v.volume_type;
            match (v.iops, t) {
                (None, VolumeType::Io1 | VolumeType::Io2) => {
                    r.at(&format!("{at}.type"), format!("{} volumes need `iops`", t.as_str()), None)
                }
                (Some(_), VolumeType::Io1 | VolumeType::Io2 | VolumeType::Gp3) | (None, _) => {}
                (Some(_), _) => {
                    r.at_key(&format!("{at}.iops"), format!("iops does not apply to {} volumes", t.as_str()), None)
                }
            }
            if v.throughput.is_some() && t != VolumeType::Gp3 {
                r.at_key(&format!("{at}.throughput"), "throughput applies to gp3 volumes only", None);
            }
        }
    }
}

fn check_configurations(cs: &[Configuration], at: &str, r: &mut Reporter<'_>) {
    for (i, c) in cs.iter().enumerate() {
        let at = format!("{at}[{i}]");
        if c.classification.trim().is_empty() {
            r.at(&format!("{at}.classification"), "empty classification", None);
        }
        if c.properties.is_empty() && c.configurations.is_empty() {
            r.at(
                &at,
                format!("configuration `{}` sets nothing", c.classification),
                Some("give properties or configurations".into()),
            );
        }
        check_configurations(&c.configurations, &format!("{at}.configurations"), r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(src: &str) -> Result<Cluster, String> {
        load_str(Path::new("c.yaml"), src).map_err(|e| e.to_string())
    }

    const MIN: &str =
        "name: x\nregion: us-east-1\ninstance_groups:\n  - {role: MASTER, instance_type: m5.xlarge, count: 1}\n";

    #[test]
    fn defaults() {
        let c = load(MIN).unwrap();
        assert_eq!(c.release_label, "emr-7.2.0");
        assert_eq!(c.applications, ["Hadoop", "Spark"]);
        assert_eq!(c.roles, Roles::default());
        assert_eq!(c.roles.service_role, "EMR_DefaultRole");
        assert!(c.keep_alive);
        assert_eq!(c.step_concurrency, 1);
        assert_eq!(c.instance_groups[0].market, Market::OnDemand);
        assert_eq!(c.instance_groups[0].effective_name(), "Master");
    }

    #[test]
    fn the_example_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/emr/cluster.yaml");
        let c = super::load(&path).unwrap();
        assert_eq!(c.release_label, "emr-7.2.0");
        let core = c.instance_groups.iter().find(|g| g.role == InstanceRole::Core).unwrap();
        assert_eq!((core.instance_type.as_str(), core.count), ("m5.xlarge", 5));
        assert_eq!((core.ebs[0].size_gb, core.ebs[0].per_instance), (32, 2));
    }

    #[test]
    fn scalars_become_strings() {
        let c = load(&format!(
            "{MIN}configurations:\n  - classification: spark\n    properties: {{a: true, b: 3, c: 0.5, d: x}}\n"
        ))
        .unwrap();
        let p: Vec<String> = c.configurations[0].properties.values().map(|v| v.to_string()).collect();
        assert_eq!(p, ["true", "3", "0.5", "x"]);
    }

    #[test]
    fn errors_name_the_place() {
        let e = load("name: x\nregion: us-east-1\ninstance_groups:\n  - {role: MASTER, instance_type: m5.xlarge, count: 1, typo: 1}\n")
            .unwrap_err();
        assert!(e.starts_with("error: c.yaml:4:"), "{e}");
        assert!(e.contains("unknown field `typo`"), "{e}");
        let e =
            load(&format!("{MIN}  - role: CORE\n    instance_type: m5.xlarge\n    count: 2\n    bid_price: \"0.1\"\n"))
                .unwrap_err();
        assert!(e.starts_with("error: c.yaml:8:5: bid_price applies to SPOT instances only"), "{e}");
        let e = load("name: x\nregion: mars\nrelease_label: emr-7\napplications: [Hive]\ninstance_groups: []\n")
            .unwrap_err();
        for want in [
            "c.yaml:2:9: `mars` is not an AWS region",
            "c.yaml:3:16: `emr-7` is not an EMR release label",
            "c.yaml:4:15: applications must include Spark",
            "c.yaml:5:18: a cluster needs exactly one MASTER instance group, found 0",
        ] {
            assert!(e.contains(want), "missing {want:?} in:\n{e}");
        }
    }

    #[test]
    fn validators() {
        assert!(region_ok("us-east-1") && region_ok("us-gov-west-1") && !region_ok("us-east") && !region_ok("useast1"));
        assert!(instance_type_ok("m5.xlarge") && instance_type_ok("r6gd.2xlarge") && !instance_type_ok("m5"));
        assert!(price_ok("0.10") && !price_ok("-1") && !price_ok("1e3") && !price_ok("0"));
        assert!(is_s3("s3://b/p") && !is_s3("s3://") && !is_s3("/tmp/x"));
    }
}
