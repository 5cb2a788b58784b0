//! `kafka.transactions` and `kafka.transactional_id_prefix`: checked here, at `engine validate`,
//! against the producer properties librdkafka's transactional producer cannot work with, so that a
//! run never starts only to fail at its first job with a librdkafka message.

use super::scenario as raw;
use super::Reporter;
use distroduce_model::types::TransactionMode;
use distroduce_model::KafkaPlan;

/// Set `plan.transactions` and its prefix from `k`, reporting settings that contradict them.
pub fn compile_transactions(r: &mut Reporter, k: &raw::KafkaConfig, scenario_name: &str, plan: &mut KafkaPlan) {
    plan.transactions = k.transactions;
    let prefix = k.transactional_id_prefix.clone().unwrap_or_else(|| scenario_name.to_string());
    if k.transactional_id_prefix.is_some() && (prefix.is_empty() || prefix.chars().any(char::is_whitespace)) {
        r.at(
            "kafka.transactional_id_prefix",
            format!("`transactional_id_prefix: {prefix:?}` must be a non-empty word without spaces"),
            "e.g. `transactional_id_prefix: chat-bench-1`".to_string(),
        );
    }
    plan.transactional_id_prefix = prefix;
    if k.transactions == TransactionMode::Off {
        return;
    }
    let mode = k.transactions.as_str();
    let off = format!("or set `kafka.transactions: off` (it is `{mode}`)");
    for (key, value) in &plan.producer {
        let path = format!("kafka.producer.{key}");
        match key.as_str() {
            "acks" | "request.required.acks" if !matches!(value.as_str(), "all" | "-1") => r.at(
                &path,
                format!(
                    "`kafka.transactions: {mode}` needs `{key}: all`, not `{value}`: a transactional producer is idempotent, and librdkafka's idempotence requires every in-sync replica to acknowledge"
                ),
                format!("remove `{key}` (the default is `all`) {off}"),
            ),
            "enable.idempotence" if value == "false" => r.at(
                &path,
                format!(
                    "`kafka.transactions: {mode}` needs idempotence: librdkafka's transactional producer cannot run with `enable.idempotence: false`"
                ),
                format!("remove `enable.idempotence` (transactions turn it on) {off}"),
            ),
            "transactional.id" => r.at_key(
                &path,
                format!(
                    "`transactional.id` is set by the engine with `kafka.transactions: {mode}`: every job has its own, `<prefix>-<simulation>-<subset>-<run>`"
                ),
                "remove it; to choose the ids' start, set `kafka.transactional_id_prefix`".to_string(),
            ),
            _ => {}
        }
    }
}
