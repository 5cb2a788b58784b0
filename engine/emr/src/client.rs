//! Talking to EMR: the SDK client (region, credentials from the default chain, endpoint override),
//! the RunJobFlow request built from a [`Cluster`], and the `spark-submit` step.

use super::config::{self, Cluster, InstanceGroup};
use super::EmrError;
use aws_sdk_emr::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_emr::config::{BehaviorVersion, ConfigBag, Intercept, Region, RuntimeComponents, SharedHttpClient};
use aws_sdk_emr::error::BoxError;
use aws_sdk_emr::types::{
    ActionOnFailure, Application, BootstrapActionConfig, Configuration, EbsBlockDeviceConfig, EbsConfiguration,
    HadoopJarStepConfig, InstanceGroupConfig, InstanceRoleType, JobFlowInstancesConfig, MarketType,
    ScriptBootstrapActionConfig, StepConfig, Tag, VolumeSpecification,
};
use aws_sdk_emr::Client;

/// Set (to anything but `0` or empty) to make the EMR client refuse every request that is not for
/// 127.0.0.1, localhost or [::1]: the tests set it so that nothing they do can reach real AWS.
pub const LOOPBACK_ONLY_ENV: &str = "DISTRODUCE_EMR_LOOPBACK_ONLY";

/// Where and how to connect.
#[derive(Debug, Clone, Default)]
pub struct Connect {
    /// Region; absent: the default chain (`AWS_REGION`, the profile).
    pub region: Option<String>,
    /// Endpoint override (moto, a proxy); absent: `AWS_ENDPOINT_URL_EMR`, `AWS_ENDPOINT_URL`, or AWS.
    pub endpoint_url: Option<String>,
}

/// The one HTTP client: hyper 1 with rustls and ring (no aws-lc, no second TLS stack).
pub fn http_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// An EMR client; credentials come from the default chain (environment, profile, web identity,
/// ECS, instance metadata).
pub async fn connect(c: &Connect) -> Result<Client, EmrError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client());
    if let Some(r) = &c.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(u) = &c.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    let sdk = loader.load().await;
    if sdk.region().is_none() {
        return Err(EmrError::NoRegion);
    }
    let mut conf = aws_sdk_emr::config::Builder::from(&sdk);
    if std::env::var(LOOPBACK_ONLY_ENV).is_ok_and(|v| !v.is_empty() && v != "0") {
        conf = conf.interceptor(LoopbackOnly);
    }
    Ok(Client::from_conf(conf.build()))
}

/// Refuses, before anything is sent, every request whose URL is not on the loopback interface.
#[derive(Debug, Clone, Copy)]
pub struct LoopbackOnly;

impl Intercept for LoopbackOnly {
    fn name(&self) -> &'static str {
        "LoopbackOnly"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let uri = context.request().uri();
        if is_loopback_url(uri) {
            Ok(())
        } else {
            Err(format!("refusing to send a request to {uri}: {LOOPBACK_ONLY_ENV} allows only http://127.0.0.1, localhost and [::1]").into())
        }
    }
}

/// `http://127.0.0.1:PORT`, `http://localhost:PORT` or `http://[::1]:PORT`, optionally followed by a
/// path or query (no user info, no other host hidden behind a prefix).
pub fn is_loopback_url(url: &str) -> bool {
    ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"].iter().any(|p| {
        url.strip_prefix(p).is_some_and(|rest| {
            let port_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            port_len > 0 && matches!(rest.as_bytes().get(port_len), None | Some(b'/') | Some(b'?'))
        })
    })
}

/// What RunJobFlow returned.
#[derive(Debug, Clone)]
pub struct Launched {
    pub cluster_id: String,
    pub cluster_arn: Option<String>,
}

/// Create the cluster (RunJobFlow).
pub async fn launch(client: &Client, c: &Cluster) -> Result<Launched, EmrError> {
    let out = client
        .run_job_flow()
        .name(&c.name)
        .release_label(&c.release_label)
        .set_log_uri(c.log_uri.clone())
        .service_role(&c.roles.service_role)
        .job_flow_role(&c.roles.job_flow_role)
        .set_applications(Some(applications(c)))
        .set_bootstrap_actions(Some(bootstrap_actions(c)).filter(|b| !b.is_empty()))
        .set_configurations(Some(configurations(&c.configurations)).filter(|v| !v.is_empty()))
        .instances(instances(c))
        .set_tags(Some(tags(c)).filter(|t| !t.is_empty()))
        .step_concurrency_level(c.step_concurrency as i32)
        .visible_to_all_users(true)
        .send()
        .await
        .map_err(|e| EmrError::api("RunJobFlow", e))?;
    let cluster_id = out.job_flow_id.ok_or(EmrError::Incomplete { op: "RunJobFlow", what: "a cluster id" })?;
    Ok(Launched { cluster_id, cluster_arn: out.cluster_arn })
}

pub fn applications(c: &Cluster) -> Vec<Application> {
    c.applications.iter().map(|a| Application::builder().name(a).build()).collect()
}

pub fn bootstrap_actions(c: &Cluster) -> Vec<BootstrapActionConfig> {
    c.bootstrap_actions
        .iter()
        .map(|b| {
            BootstrapActionConfig::builder()
                .name(&b.name)
                .script_bootstrap_action(
                    ScriptBootstrapActionConfig::builder()
                        .path(&b.script)
                        .set_args(Some(b.args.iter().map(|a| a.to_string()).collect()))
                        .build(),
                )
                .build()
        })
        .collect()
}

pub fn configurations(cs: &[config::Configuration]) -> Vec<Configuration> {
    cs.iter()
        .map(|c| {
            let props: std::collections::HashMap<String, String> =
                c.properties.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
            Configuration::builder()
                .classification(&c.classification)
                .set_properties(Some(props).filter(|p| !p.is_empty()))
                .set_configurations(Some(configurations(&c.configurations)).filter(|n| !n.is_empty()))
                .build()
        })
        .collect()
}

pub fn instances(c: &Cluster) -> JobFlowInstancesConfig {
    JobFlowInstancesConfig::builder()
        .keep_job_flow_alive_when_no_steps(c.keep_alive)
        .set_ec2_key_name(c.ec2.key_name.clone())
        .set_ec2_subnet_id(c.ec2.subnet_id.clone())
        .set_instance_groups(Some(c.instance_groups.iter().map(instance_group).collect()))
        .build()
}

fn instance_group(g: &InstanceGroup) -> InstanceGroupConfig {
    let ebs = (!g.ebs.is_empty()).then(|| {
        let devices = g.ebs.iter().map(|v| {
            EbsBlockDeviceConfig::builder()
                .volume_specification(
                    VolumeSpecification::builder()
                        .volume_type(v.volume_type.as_str())
                        .size_in_gb(v.size_gb as i32)
                        .set_iops(v.iops.map(|x| x as i32))
                        .set_throughput(v.throughput.map(|x| x as i32))
                        .build(),
                )
                .volumes_per_instance(v.per_instance as i32)
                .build()
        });
        EbsConfiguration::builder().set_ebs_block_device_configs(Some(devices.collect())).build()
    });
    InstanceGroupConfig::builder()
        .name(g.effective_name())
        .instance_role(InstanceRoleType::from(g.role.as_str()))
        .instance_type(&g.instance_type)
        .instance_count(g.count as i32)
        .market(MarketType::from(g.market.as_str()))
        .set_bid_price(g.bid_price.as_ref().map(|p| p.to_string()))
        .set_ebs_configuration(ebs)
        .build()
}

pub fn tags(c: &Cluster) -> Vec<Tag> {
    c.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v.to_string()).build()).collect()
}

/// One `command-runner.jar` step, ready to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    pub action_on_failure: &'static str,
    /// The command line `command-runner.jar` runs: `spark-submit …`.
    pub args: Vec<String>,
}

/// Add the step (AddJobFlowSteps); returns its id.
pub async fn submit(client: &Client, cluster_id: &str, step: &Step) -> Result<String, EmrError> {
    let config = StepConfig::builder()
        .name(&step.name)
        .action_on_failure(ActionOnFailure::from(step.action_on_failure))
        .hadoop_jar_step(
            HadoopJarStepConfig::builder().jar("command-runner.jar").set_args(Some(step.args.clone())).build(),
        )
        .build();
    let out = client
        .add_job_flow_steps()
        .job_flow_id(cluster_id)
        .steps(config)
        .send()
        .await
        .map_err(|e| EmrError::api("AddJobFlowSteps", e))?;
    out.step_ids
        .and_then(|ids| ids.into_iter().next())
        .ok_or(EmrError::Incomplete { op: "AddJobFlowSteps", what: "a step id" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls() {
        for ok in ["http://127.0.0.1:5055", "http://127.0.0.1:5055/", "http://localhost:1/x", "http://[::1]:9?a"] {
            assert!(is_loopback_url(ok), "{ok}");
        }
        for bad in [
            "https://elasticmapreduce.us-east-1.amazonaws.com/",
            "http://127.0.0.1:80@evil.example/",
            "http://127.0.0.1.evil.example:80/",
            "http://127.0.0.1/",
            "http://10.0.0.1:5055/",
        ] {
            assert!(!is_loopback_url(bad), "{bad}");
        }
    }
}
