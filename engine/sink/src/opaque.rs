//! What a message carries to its delivery callback, packed into the one machine word librdkafka
//! stores with it (`rd_kafka_message_t._private`), so that sending allocates nothing and the
//! callback frees nothing. The profile of `scenarios/loadgen.yaml` showed the boxed
//! `(enqueue time, due time, topic)` and the clock read that filled it among the per-message costs
//! a bare producer does not pay (benches/results/publish-efficiency.md).
//!
//! The enqueue time is not carried at all: librdkafka stamps every message when it is enqueued and
//! the delivery callback reads that stamp back ([`crate::clock`]), so the latency keeps its meaning
//! (enqueue to acknowledgement).

/// Bits of the topic index.
const TOPIC_BITS: u32 = 16;
/// Set when the message was paced (a due time follows).
const PACED: usize = 1 << TOPIC_BITS;
/// The due time (µs since the sink started) takes the bits above [`PACED`]: 47 bits, 4.4 years.
const DUE_SHIFT: u32 = TOPIC_BITS + 1;

/// The most topics a sink can tell apart in its delivery callback.
pub const MAX_TOPICS: usize = 1 << TOPIC_BITS;

/// Pack the topic index (below [`MAX_TOPICS`]) and, when paced, the due time in µs.
pub fn pack(topic: usize, due_us: Option<u64>) -> usize {
    debug_assert!(topic < MAX_TOPICS);
    match due_us {
        None => topic,
        Some(d) => topic | PACED | ((d as usize) << DUE_SHIFT),
    }
}

/// The topic index and due time [`pack`] was given.
pub fn unpack(word: usize) -> (usize, Option<u64>) {
    let topic = word & (MAX_TOPICS - 1);
    let due = (word & PACED != 0).then_some((word >> DUE_SHIFT) as u64);
    (topic, due)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_and_due_time_survive_packing() {
        assert_eq!(unpack(pack(0, None)), (0, None));
        assert_eq!(unpack(pack(7, None)), (7, None));
        assert_eq!(unpack(pack(MAX_TOPICS - 1, Some(0))), (MAX_TOPICS - 1, Some(0)));
        // A due time four years into a run.
        let due = 4 * 365 * 24 * 3600 * 1_000_000u64;
        assert_eq!(unpack(pack(3, Some(due))), (3, Some(due)));
    }
}
