//! Sending through one librdkafka topic handle per topic (`rd_kafka_topic_new` once, then
//! `rd_kafka_produce`). rdkafka-rs's `send` builds a `CString` of the topic name for every
//! message and librdkafka then looks the topic up by name under the client's lock; the profile of
//! `scenarios/loadgen.yaml` showed both among the sending threads' per-message costs
//! (benches/results/publish-efficiency.md). Used for messages without headers or an explicit
//! timestamp, which `rd_kafka_produce` cannot carry; everything else goes through `send`.

use rdkafka::bindings as rdsys;
use rdkafka::error::RDKafkaErrorCode;
use std::ffi::CString;

/// librdkafka's "any partition": the partitioner chooses (`RD_KAFKA_PARTITION_UA`).
const UNASSIGNED: i32 = -1;

/// One client's handle of one topic, released when dropped (before the client: see
/// [`crate::kafka::KafkaSink`]'s field order).
pub(crate) struct TopicHandle(*mut rdsys::rd_kafka_topic_t);

// SAFETY: librdkafka topic handles are reference-counted and thread-safe; `rd_kafka_produce` may
// be called on one handle from several threads at once.
unsafe impl Send for TopicHandle {}
unsafe impl Sync for TopicHandle {}

impl TopicHandle {
    /// Handles of `names`, in order, on the client `rk`.
    pub(crate) fn open_all(rk: *mut rdsys::rd_kafka_t, names: &[String]) -> Result<Vec<Self>, String> {
        names
            .iter()
            .map(|n| {
                let name = CString::new(n.as_str()).map_err(|_| format!("topic name `{n}` contains a NUL byte"))?;
                // SAFETY: `rk` is a live client and `name` is NUL-terminated. A NULL configuration
                // takes the client's default topic settings, as rdkafka-rs's `send` does.
                let rkt = unsafe { rdsys::rd_kafka_topic_new(rk, name.as_ptr(), std::ptr::null_mut()) };
                if rkt.is_null() {
                    // SAFETY: reads this thread's last librdkafka error.
                    let e: RDKafkaErrorCode = unsafe { rdsys::rd_kafka_last_error() }.into();
                    Err(format!("cannot open topic `{n}` on the producer: {e}"))
                } else {
                    Ok(Self(rkt))
                }
            })
            .collect()
    }

    /// Enqueue a copy of `value` (and `key`) for `partition` (`None`: the partitioner's choice),
    /// with the delivery opaque `tag`; librdkafka's error code if it refuses.
    pub(crate) fn produce(
        &self,
        partition: Option<i32>,
        value: &[u8],
        key: Option<&[u8]>,
        tag: usize,
    ) -> Result<(), RDKafkaErrorCode> {
        let (key_ptr, key_len) = key.map_or((std::ptr::null(), 0), |k| (k.as_ptr().cast(), k.len()));
        // SAFETY: a live handle; with RD_KAFKA_MSG_F_COPY librdkafka copies value and key before
        // it returns and never writes through the pointers. The opaque is the word the delivery
        // callback reads back (rdkafka-rs's `usize` opaque is the pointer value itself).
        let rc = unsafe {
            rdsys::rd_kafka_produce(
                self.0,
                partition.unwrap_or(UNASSIGNED),
                rdsys::RD_KAFKA_MSG_F_COPY,
                value.as_ptr() as *mut std::ffi::c_void,
                value.len(),
                key_ptr,
                key_len,
                tag as *mut std::ffi::c_void,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            // SAFETY: reads this thread's last librdkafka error, set by the failed call.
            Err(unsafe { rdsys::rd_kafka_last_error() }.into())
        }
    }
}

impl Drop for TopicHandle {
    fn drop(&mut self) {
        // SAFETY: the handle came from `rd_kafka_topic_new` and is released once.
        unsafe { rdsys::rd_kafka_topic_destroy(self.0) }
    }
}
