//! Getting a Kafka cluster ready for a run: connecting (and telling a refused login from a slow
//! cluster), the connection settings and credentials, creating the run's topics and waiting until
//! they have leaders, before the first message is sent.

use distroduce_model::types::TimestampMode;
use distroduce_model::KafkaPlan;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::ClientContext;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Connection errors librdkafka would retry forever that only a configuration change can fix,
/// named for people.
pub fn unrecoverable(code: RDKafkaErrorCode) -> Option<&'static str> {
    match code {
        RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SaslAuthenticationFailed => {
            Some("SASL authentication failed (check the username and password)")
        }
        RDKafkaErrorCode::SSL => Some("TLS handshake failed (is the broker's certificate trusted? see kafka.tls)"),
        _ => None,
    }
}

/// How long a real cluster may take to answer a first metadata request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Wait until the cluster answers a metadata request, or fail at once on an authentication or TLS
/// error (which librdkafka would otherwise retry until `message.timeout.ms`).
pub(crate) fn wait_until_connected<C: ClientContext>(
    client: &rdkafka::client::Client<C>,
    fatal: &Mutex<Option<String>>,
    brokers: &str,
) -> Result<(), String> {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        let last = match client.fetch_metadata(None, Duration::from_millis(200)) {
            Ok(_) => return Ok(()),
            Err(e) => e.to_string(),
        };
        if let Some(reason) = fatal.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Err(format!("cannot connect to Kafka at {brokers}: {reason}"));
        }
        if Instant::now() >= deadline {
            return Err(format!("cannot reach Kafka at {brokers} within {}s: {last}", CONNECT_TIMEOUT.as_secs()));
        }
    }
}

/// Set the connection settings and credentials of `plan` on `cfg` (for every client the engine
/// creates). Credentials are read now, from where the scenario says.
pub fn apply_security(cfg: &mut ClientConfig, plan: &KafkaPlan) -> Result<(), String> {
    for (k, v) in &plan.connection {
        cfg.set(k, v);
    }
    if plan.connection.iter().any(|(k, v)| k == "enable.ssl.certificate.verification" && v == "false") {
        tracing::warn!("kafka.tls.verify is false: the brokers' certificates are not checked (test clusters only)");
    }
    for (k, src) in &plan.secrets {
        let value = src.resolve().map_err(|e| format!("cannot read `{k}` from {}: {e}", src.describe()))?;
        cfg.set(k, value);
    }
    Ok(())
}

/// Wait until the producer's metadata names a leader for every partition of the run's topics.
/// A topic created a moment ago has none for a while; without this wait its first messages sit in
/// the producer's queue until the leaders are elected, which an open-loop trial would count as
/// latency (hundreds of ms) and a throughput run as a slow start.
pub(crate) fn wait_for_leaders<C: ClientContext>(
    client: &rdkafka::client::Client<C>,
    plan: &KafkaPlan,
) -> Result<(), String> {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    for t in &plan.topics {
        loop {
            let ready = match client.fetch_metadata(Some(&t.name), Duration::from_millis(500)) {
                Ok(md) => md.topics().iter().any(|mt| {
                    mt.name() == t.name
                        && mt.error().is_none()
                        && !mt.partitions().is_empty()
                        && mt.partitions().iter().all(|p| p.leader() >= 0 && p.error().is_none())
                }),
                Err(_) => false,
            };
            if ready {
                break;
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "topic `{}` has no leader for every partition after {}s (is the cluster healthy?)",
                    t.name,
                    CONNECT_TIMEOUT.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(())
}

pub(crate) fn create_topics(plan: &KafkaPlan, cfg: &ClientConfig) -> Result<(), String> {
    if plan.topics.is_empty() {
        return Ok(());
    }
    let admin: AdminClient<DefaultClientContext> =
        cfg.create().map_err(|e| format!("cannot create a Kafka admin client: {e}"))?;
    let new: Vec<NewTopic> = plan
        .topics
        .iter()
        .map(|t| {
            let topic = NewTopic::new(&t.name, t.partitions, TopicReplication::Fixed(t.replication));
            // Event times start at the virtual clock (often years ago); with the broker's default
            // time-based retention, such records would be deleted at its next retention check,
            // before a job under test reads them. Topics the engine creates keep them.
            if plan.timestamps == TimestampMode::Event {
                topic.set("retention.ms", "-1")
            } else {
                topic
            }
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().map_err(|e| e.to_string())?;
    let opts = AdminOptions::new()
        .request_timeout(Some(Duration::from_secs(10)))
        .operation_timeout(Some(Duration::from_secs(10)));
    let results = rt.block_on(admin.create_topics(&new, &opts)).map_err(|e| {
        format!("cannot reach Kafka at {} to create topics: {e}", cfg.get("bootstrap.servers").unwrap_or("?"))
    })?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, e)) => return Err(format!("cannot create topic `{t}`: {e}")),
        }
    }
    Ok(())
}
