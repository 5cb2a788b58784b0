//! Producer properties checked when a scenario is validated, with librdkafka's own configuration
//! parser, so that a typo (`acks: banana`, `lingr.ms: 5`) is reported by `validate` at the YAML
//! key instead of failing `run` after the plugins were compiled. Nothing here connects anywhere.

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, DefaultProducerContext};

/// The defaults [`super::kafka::KafkaSink::connect`] sets before the scenario's properties.
const DEFAULTS: [(&str, &str); 2] = [("queue.buffering.max.messages", "1000000"), ("message.timeout.ms", "30000")];

/// Properties that would make a client connect; left out of the whole-configuration check.
const CONNECTING: [&str; 2] = ["bootstrap.servers", "metadata.broker.list"];

/// A producer property librdkafka refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadProperty {
    /// The property, or `None` when the properties are each valid but not together.
    pub key: Option<String>,
    /// librdkafka's reason.
    pub message: String,
}

fn base() -> ClientConfig {
    let mut cfg = ClientConfig::new();
    for (k, v) in DEFAULTS {
        cfg.set(k, v);
    }
    cfg
}

fn reason(e: KafkaError) -> String {
    let m = match e {
        KafkaError::ClientConfig(_, desc, _, _) => desc,
        KafkaError::ClientCreation(m) => m,
        e => e.to_string(),
    };
    m.trim().to_string()
}

/// Check `props` (the scenario's `kafka.producer`) as librdkafka will: each property on its own
/// (unknown names, values of the wrong type or out of range), then, if each is fine, all of them
/// together with the `connection` properties (from `kafka.tls`/`kafka.sasl`) and a placeholder
/// for each credential in `secret_keys` (never the secret itself, which is not read here), in a
/// producer that is created and dropped without connecting (properties that only conflict with
/// each other). `transactional`: with `kafka.transactions` on, the check includes a placeholder
/// `transactional.id`, so that librdkafka also refuses what a transactional producer cannot use.
pub fn check_producer_properties(
    props: &[(String, String)],
    connection: &[(String, String)],
    secret_keys: &[&str],
    transactional: bool,
) -> Vec<BadProperty> {
    let mut bad = Vec::new();
    for (k, v) in props {
        let mut cfg = base();
        cfg.set(k, v);
        if let Err(e) = cfg.create_native_config() {
            bad.push(BadProperty { key: Some(k.clone()), message: reason(e) });
        }
    }
    if bad.is_empty() {
        let mut cfg = base();
        for (k, v) in props.iter().chain(connection).filter(|(k, _)| !CONNECTING.contains(&k.as_str())) {
            cfg.set(k, v);
        }
        for k in secret_keys {
            cfg.set(*k, "placeholder");
        }
        if transactional {
            cfg.set("transactional.id", "placeholder");
        }
        let created: Result<BaseProducer<DefaultProducerContext>, _> = cfg.create();
        if let Err(e) = created {
            bad.push(BadProperty { key: None, message: reason(e) });
        }
    }
    bad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn good_properties_pass() {
        let p =
            props(&[("acks", "all"), ("linger.ms", "5"), ("compression.type", "lz4"), ("enable.idempotence", "true")]);
        assert_eq!(check_producer_properties(&p, &[], &[], false), vec![]);
        // SCRAM needs its credentials; their placeholders stand in for them.
        let conn = props(&[("security.protocol", "SASL_SSL"), ("sasl.mechanism", "SCRAM-SHA-512")]);
        assert_eq!(check_producer_properties(&p, &conn, &["sasl.username", "sasl.password"], true), vec![]);
    }

    /// What librdkafka refuses only in a transactional producer is refused with transactions on.
    #[test]
    fn transactional_conflicts_are_found() {
        let p = props(&[("max.in.flight.requests.per.connection", "10")]);
        assert_eq!(check_producer_properties(&p, &[], &[], false), vec![]);
        let bad = check_producer_properties(&p, &[], &[], true);
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(bad[0].key.is_none() && bad[0].message.contains("max.in.flight"), "{bad:?}");
    }

    #[test]
    fn typos_and_bad_values_are_named() {
        let bad = check_producer_properties(
            &props(&[("acks", "banana"), ("lingr.ms", "5"), ("linger.ms", "-3")]),
            &[],
            &[],
            false,
        );
        let keys: Vec<_> = bad.iter().map(|b| b.key.clone().unwrap()).collect();
        assert_eq!(keys, ["acks", "lingr.ms", "linger.ms"], "{bad:?}");
        assert!(bad[0].message.contains("Invalid value"), "{bad:?}");
        assert!(bad[2].message.contains("outside allowed range"), "{bad:?}");
        assert!(bad[1].message.contains("No such configuration property"), "{bad:?}");
    }
}
