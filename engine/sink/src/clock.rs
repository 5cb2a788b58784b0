//! The delivery clock: one read of the monotonic clock per acknowledgement.
//!
//! An acknowledgement needs two times: when it arrived (throughput, the per-second series) and
//! how long after its `produce` call (the latency). librdkafka stamps every message when it is
//! enqueued (`ts_enq`, µs of `CLOCK_MONOTONIC`, `rd_clock()`), but its only public reader,
//! `rd_kafka_message_latency`, reads the clock again to subtract. The profile of
//! `scenarios/loadgen.yaml` showed the delivery thread spending about half its samples in
//! `clock_gettime` for those two reads (benches/results/publish-efficiency.md, session #4). So the
//! sink reads `CLOCK_MONOTONIC` once ([`mono_us`], the same clock and unit as `rd_clock()`) and
//! subtracts librdkafka's enqueue stamp itself ([`enqueued_mono_us`]); both times come from that
//! one read and the latency is exactly enqueue to acknowledgement.
//!
//! The stamp is a field of librdkafka's private message struct. It is read only on the librdkafka
//! version whose layout [`MsgHead`] mirrors and on Linux (where `rd_clock()` is
//! `CLOCK_MONOTONIC`); anywhere else [`enqueued_mono_us`] says `None` and the caller falls back to
//! `rd_kafka_message_latency` (a second clock read, the same meaning).

use rdkafka::bindings::rd_kafka_message_t;
use rdkafka::message::BorrowedMessage;
use std::os::raw::{c_int, c_void};
use std::sync::OnceLock;

/// `CLOCK_MONOTONIC` in µs, computed as librdkafka's `rd_clock()` computes it.
pub(crate) fn mono_us() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC exists on every supported target.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000
}

/// The librdkafka release whose `rd_kafka_msg_t` (src/rdkafka_msg.h) [`MsgHead`] mirrors.
const LAYOUT_VERSION: c_int = 0x020c_01ff; // 2.12.1

/// The head of librdkafka 2.12.1's `rd_kafka_msg_t`, up to the producer's enqueue stamp.
#[repr(C)]
struct MsgHead {
    rkmessage: rd_kafka_message_t,
    /// `TAILQ_ENTRY(rd_kafka_msg_s) rkm_link`: next and prev pointers.
    link: [*mut c_void; 2],
    flags: c_int,
    /// `rd_kafka_timestamp_type_t` (a C enum: an int).
    tstype: c_int,
    timestamp: i64,
    headers: *mut c_void,
    /// `rd_kafka_msg_status_t` (a C enum).
    status: c_int,
    broker_id: i32,
    /// `rkm_u.producer.ts_timeout`, then `ts_enq`.
    ts_timeout: i64,
    ts_enq: i64,
}

/// Whether [`MsgHead`] describes the librdkafka linked into this binary.
fn layout_known() -> bool {
    static KNOWN: OnceLock<bool> = OnceLock::new();
    *KNOWN.get_or_init(|| {
        // SAFETY: a plain getter without arguments.
        let version = unsafe { rdkafka::bindings::rd_kafka_version() };
        cfg!(target_os = "linux") && version == LAYOUT_VERSION
    })
}

/// When librdkafka enqueued `m` (its `produce` call), µs on [`mono_us`]'s clock; `None` when this
/// librdkafka's layout is not known here, or it has no stamp for `m`.
pub(crate) fn enqueued_mono_us(m: &BorrowedMessage<'_>) -> Option<u64> {
    if !layout_known() {
        return None;
    }
    // SAFETY: a delivery report's `rd_kafka_message_t` is the first field of librdkafka's
    // `rd_kafka_msg_t` (`rd_kafka_message2msg` casts the same way), whose head [`MsgHead`] mirrors
    // for the version checked above; the message is valid for the borrow and only read.
    let ts = unsafe { (*(m.ptr() as *const MsgHead)).ts_enq };
    u64::try_from(ts).ok().filter(|&t| t > 0)
}

/// µs from when librdkafka enqueued `m` to now, by librdkafka's own clock read
/// (`rd_kafka_message_latency`); `None` if it has no enqueue time for it.
pub(crate) fn latency_us(m: &BorrowedMessage<'_>) -> Option<u64> {
    // SAFETY: `m` is a delivery report librdkafka hands the callback; its pointer is valid for the
    // borrow, and the function only reads the message's enqueue time.
    let us = unsafe { rdkafka::bindings::rd_kafka_message_latency(m.ptr()) };
    u64::try_from(us).ok()
}

/// The acknowledgement of `m`, read now: (the clock, µs on [`mono_us`]; the latency from enqueue,
/// µs). One clock read when the enqueue stamp can be read directly, else two.
pub(crate) fn ack_times(m: &BorrowedMessage<'_>) -> (u64, u64) {
    let now = mono_us();
    let latency = match enqueued_mono_us(m) {
        Some(enq) => now.saturating_sub(enq),
        None => latency_us(m).unwrap_or(0),
    };
    (now, latency)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_is_checked_against_the_linked_librdkafka() {
        // A librdkafka upgrade must come with a look at src/rdkafka_msg.h: until then the sink
        // falls back to rd_kafka_message_latency, and this test says so.
        assert!(
            layout_known() || !cfg!(target_os = "linux"),
            "the linked librdkafka is {:#x}; MsgHead mirrors {LAYOUT_VERSION:#x}",
            unsafe { rdkafka::bindings::rd_kafka_version() }
        );
        // Field offsets of rd_kafka_msg_t on LP64, by the C rules: 72-byte rd_kafka_message_t,
        // 16-byte link, 4+4 ints, int64, pointer, 4+4, then the producer union.
        if cfg!(target_pointer_width = "64") {
            assert_eq!(std::mem::offset_of!(MsgHead, link), 72);
            assert_eq!(std::mem::offset_of!(MsgHead, ts_timeout), 120);
            assert_eq!(std::mem::offset_of!(MsgHead, ts_enq), 128);
        }
    }

    /// One acknowledgement: the enqueue stamp, our read, our latency, librdkafka's latency read after.
    type Row = (Option<u64>, u64, u64, Option<u64>);
    struct Seen(std::sync::Mutex<Vec<Row>>);
    impl rdkafka::ClientContext for Seen {}
    impl rdkafka::producer::ProducerContext for Seen {
        type DeliveryOpaque = ();
        fn delivery(&self, r: &rdkafka::producer::DeliveryResult<'_>, _: ()) {
            let m = r.as_ref().expect("delivered");
            let (now, latency) = ack_times(m);
            let row = (enqueued_mono_us(m), now, latency, latency_us(m));
            self.0.lock().unwrap().push(row);
        }
    }

    /// The stamp read through [`MsgHead`] is librdkafka's enqueue time on the clock of
    /// [`mono_us`]: a misread field (the timeout, the backoff, the message id) would put it after
    /// the acknowledgement or make the latency longer than librdkafka's own reading, taken later.
    #[test]
    fn the_enqueue_stamp_is_librdkafkas_on_the_same_clock() {
        use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
        let cluster = rdkafka::mocking::MockCluster::new(1).expect("mock cluster");
        cluster.create_topic("t", 2, 1).expect("topic");
        let before = mono_us();
        let producer: ThreadedProducer<Seen> = rdkafka::config::ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("linger.ms", "5")
            .create_with_context(Seen(Default::default()))
            .expect("producer");
        for i in 0..500u32 {
            producer.send(BaseRecord::<(), [u8], ()>::to("t").payload(&i.to_le_bytes()[..])).expect("send");
        }
        producer.flush(std::time::Duration::from_secs(30)).expect("flush");
        let after = mono_us();
        let seen = producer.context().0.lock().unwrap();
        assert_eq!(seen.len(), 500);
        for &(enq, now, latency, lib) in seen.iter() {
            if !layout_known() {
                assert_eq!(enq, None);
                continue;
            }
            let enq = enq.expect("an enqueue stamp");
            assert!(before <= enq && enq <= now && now <= after, "{before} {enq} {now} {after}");
            assert_eq!(latency, now - enq);
            assert!(
                latency <= lib.expect("librdkafka's latency"),
                "ours {latency} µs, librdkafka's later read {lib:?}"
            );
        }
    }
}
