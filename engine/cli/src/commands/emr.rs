//! `engine emr launch|submit|validate|schema` (feature `emr`): the clap side of distroduce-emr.

use crate::exit::{print_error, Exit};
use distroduce_emr::{config, OnFailure, SubmitArgs, NODE_ENGINE_PATH};
use std::path::PathBuf;

/// `engine emr …`
#[derive(Debug, clap::Subcommand)]
pub enum EmrCmd {
    /// Create the cluster a cluster file describes (RunJobFlow) and print its id.
    Launch {
        /// Cluster file (YAML), e.g. deploy/emr/cluster.yaml.
        cluster: PathBuf,
        /// Send requests here instead of AWS (e.g. a moto server). AWS_ENDPOINT_URL also works.
        #[arg(long)]
        endpoint_url: Option<String>,
    },
    /// Run a scenario on a running cluster: add one `spark-submit` step (AddJobFlowSteps) running
    /// the PySpark driver on YARN, and print the step id.
    Submit(Box<SubmitFlags>),
    /// Check a cluster file without sending anything.
    Validate { cluster: PathBuf },
    /// Print the JSON Schema of cluster files.
    Schema,
}

/// `engine emr submit`
#[derive(Debug, Clone, clap::Args)]
pub struct SubmitFlags {
    /// The cluster, as printed by `engine emr launch` (j-…).
    #[arg(long)]
    cluster_id: String,
    /// The scenario: an s3:// URI, or an absolute path on the cluster's nodes.
    #[arg(long)]
    scenario: String,
    /// Number of shards (Spark tasks), each running `engine run --shard I/N`.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    shards: u32,
    /// Kafka bootstrap servers the executors publish to.
    #[arg(long)]
    brokers: String,
    /// Step name (default: distroduce-<scenario file stem>).
    #[arg(long)]
    name: Option<String>,
    /// The cluster file: its region, and its `artifacts` prefix for the defaults of --driver and --out.
    #[arg(long, value_name = "CLUSTER.yaml")]
    config: Option<PathBuf>,
    /// Region (default: the cluster file's, else AWS_REGION or the profile's).
    #[arg(long)]
    region: Option<String>,
    /// The PySpark driver (default: <artifacts>/distroduce_spark.py).
    #[arg(long)]
    driver: Option<String>,
    /// The engine binary on the nodes.
    #[arg(long, default_value = NODE_ENGINE_PATH)]
    engine: String,
    /// Where the driver writes the merged output (default: <artifacts>/runs/<name>).
    #[arg(long)]
    out: Option<String>,
    /// What EMR does when the step fails.
    #[arg(long, value_enum, default_value_t = FailureFlag::Continue)]
    action_on_failure: FailureFlag,
    /// Extra Spark settings, `--conf KEY=VALUE` (repeatable), passed to spark-submit.
    #[arg(long = "conf", value_name = "KEY=VALUE")]
    spark_conf: Vec<String>,
    /// Send requests here instead of AWS (e.g. a moto server). AWS_ENDPOINT_URL also works.
    #[arg(long)]
    endpoint_url: Option<String>,
    /// More arguments for the driver, after `--`.
    #[arg(last = true)]
    driver_args: Vec<String>,
}

/// EMR's ActionOnFailure for a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FailureFlag {
    /// Keep the cluster and the later steps going.
    Continue,
    /// Cancel the later steps; keep the cluster.
    CancelAndWait,
    /// Terminate the cluster.
    TerminateCluster,
}

impl From<SubmitFlags> for SubmitArgs {
    fn from(f: SubmitFlags) -> Self {
        SubmitArgs {
            cluster_id: f.cluster_id,
            scenario: f.scenario,
            shards: f.shards,
            brokers: f.brokers,
            name: f.name,
            config: f.config,
            region: f.region,
            driver: f.driver,
            engine: f.engine,
            out: f.out,
            action_on_failure: match f.action_on_failure {
                FailureFlag::Continue => OnFailure::Continue,
                FailureFlag::CancelAndWait => OnFailure::CancelAndWait,
                FailureFlag::TerminateCluster => OnFailure::TerminateCluster,
            },
            spark_conf: f.spark_conf,
            endpoint_url: f.endpoint_url,
            driver_args: f.driver_args,
        }
    }
}

/// Run an `engine emr` command: ids on stdout (for scripts), the rest on stderr.
pub fn run(cmd: EmrCmd) -> Exit {
    let result = match cmd {
        EmrCmd::Schema => {
            println!("{:#}", config::schema());
            Ok(())
        }
        EmrCmd::Validate { cluster } => config::load(&cluster).map_err(distroduce_emr::EmrError::from).map(|c| {
            let nodes: u32 = c.instance_groups.iter().map(|g| g.count).sum();
            println!(
                "{}: ok ({}, {}, {} instance groups, {nodes} nodes)",
                cluster.display(),
                c.release_label,
                c.region,
                c.instance_groups.len()
            );
        }),
        EmrCmd::Launch { cluster, endpoint_url } => distroduce_emr::launch(&cluster, endpoint_url).map(|(c, l)| {
            eprintln!(
                "launched cluster `{}` in {}: {}",
                c.name,
                c.region,
                l.cluster_arn.as_deref().unwrap_or(&l.cluster_id)
            );
            println!("{}", l.cluster_id);
        }),
        EmrCmd::Submit(f) => {
            let a = SubmitArgs::from(*f);
            distroduce_emr::submit(&a).map(|(step, id)| {
                eprintln!("added step `{}` to {}: {}", step.name, a.cluster_id, step.args.join(" "));
                println!("{id}");
            })
        }
    };
    match result {
        Ok(()) => Exit::Ok,
        Err(e) => {
            print_error(&e);
            Exit::from_code(e.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(subcommand)]
        cmd: EmrCmd,
    }

    #[test]
    fn submit_flags_become_the_step_arguments() {
        let argv = [
            "t",
            "submit",
            "--cluster-id",
            "j-1",
            "--scenario",
            "s3://b/p/chat.yaml",
            "--shards",
            "4",
            "--brokers",
            "k:9092",
            "--driver",
            "s3://x/d.py",
            "--out",
            "s3://x/o",
            "--action-on-failure",
            "cancel-and-wait",
            "--",
            "--timesteps",
            "100",
        ];
        let EmrCmd::Submit(f) = T::parse_from(argv).cmd else { panic!("not a submit") };
        let a = SubmitArgs::from(*f);
        assert_eq!(a.action_on_failure, OnFailure::CancelAndWait);
        assert_eq!(a.engine, NODE_ENGINE_PATH);
        let s = distroduce_emr::plan_step(&a, None).unwrap();
        assert_eq!(s.action_on_failure, "CANCEL_AND_WAIT");
        assert!(s.args.join(" ").ends_with("--engine /usr/local/bin/engine --timesteps 100"), "{:?}", s.args);
    }
}
