//! The checks of a parsed cluster file: every value EMR (or moto) would accept but that cannot
//! work, reported with its `file:line:col` before any request is sent.

use super::*;
use distroduce_scenario::Reporter;

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

pub(super) fn check(c: &Cluster, r: &mut Reporter<'_>) {
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
