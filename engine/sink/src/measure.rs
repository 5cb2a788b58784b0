//! Benchmark-grade measurement of deliveries, as OpenMessaging Benchmark does it: throughput by
//! acknowledgement time, latency as an HdrHistogram, a warm-up left out of both, and an open-loop
//! pacer whose latency is also measured from each message's due time (coordinated omission).

pub use distroduce_model::output::Buckets;
use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Sends at a target rate: message i is due `i / rate` seconds after the start.
pub struct Pacer {
    interval_ns: f64,
    next: AtomicU64,
}

impl Pacer {
    pub fn new(rate_per_sec: f64) -> Self {
        Self { interval_ns: 1e9 / rate_per_sec, next: AtomicU64::new(0) }
    }

    /// Claim the next slot, wait until it is due (a late caller does not wait), and return the due
    /// time in µs since `start`.
    pub fn wait_turn(&self, start: Instant) -> u64 {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let due = Duration::from_nanos((i as f64 * self.interval_ns) as u64);
        if let Some(wait) = (start + due).checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        due.as_micros() as u64
    }
}

pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds")
}

/// p50, p90, p99, p99.9 and max in milliseconds, from a histogram of microseconds.
pub fn percentiles(h: &Histogram<u64>) -> Option<[f64; 5]> {
    if h.is_empty() {
        return None;
    }
    let q = |x: f64| h.value_at_quantile(x) as f64 / 1000.0;
    Some([q(0.5), q(0.9), q(0.99), q(0.999), h.max() as f64 / 1000.0])
}

/// Acknowledgements after the warm-up.
pub struct Meter {
    warmup_us: u64,
    acked: AtomicU64,
    bytes: AtomicU64,
    last_ack_us: AtomicU64,
    latency: Mutex<Histogram<u64>>,
    latency_from_due: Mutex<Histogram<u64>>,
}

/// What the meter saw.
pub struct Measured {
    pub acked: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub latency_ms: Option<[f64; 5]>,
    pub latency_from_due_ms: Option<[f64; 5]>,
    pub buckets: Buckets,
}

fn buckets(h: &Histogram<u64>) -> Vec<(u64, u64)> {
    h.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect()
}

/// Rebuild a histogram from [`Buckets`] pairs (of one or several shards).
pub fn from_buckets<'a>(pairs: impl IntoIterator<Item = &'a (u64, u64)>) -> Histogram<u64> {
    let mut h = histogram();
    for &(v, n) in pairs {
        let _ = h.record_n(v.max(1), n);
    }
    h
}

impl Meter {
    pub fn new(warmup: Duration) -> Self {
        Self {
            warmup_us: warmup.as_micros() as u64,
            acked: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            last_ack_us: AtomicU64::new(0),
            latency: Mutex::new(histogram()),
            latency_from_due: Mutex::new(histogram()),
        }
    }

    /// An acknowledgement at `now_us` of a message enqueued at `sent_us` (due at `due_us` when paced).
    pub fn ack(&self, now_us: u64, sent_us: u64, due_us: Option<u64>, bytes: u64) {
        if now_us < self.warmup_us {
            return;
        }
        self.acked.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.last_ack_us.fetch_max(now_us, Ordering::Relaxed);
        if let Ok(mut h) = self.latency.lock() {
            h.saturating_record(now_us.saturating_sub(sent_us).max(1));
        }
        if let (Some(due), Ok(mut h)) = (due_us, self.latency_from_due.lock()) {
            h.saturating_record(now_us.saturating_sub(due).max(1));
        }
    }

    pub fn measured(&self) -> Measured {
        let last = self.last_ack_us.load(Ordering::Relaxed);
        Measured {
            acked: self.acked.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            seconds: last.saturating_sub(self.warmup_us) as f64 / 1e6,
            latency_ms: self.latency.lock().ok().and_then(|h| percentiles(&h)),
            latency_from_due_ms: self.latency_from_due.lock().ok().and_then(|h| percentiles(&h)),
            buckets: Buckets {
                latency_us: self.latency.lock().map(|h| buckets(&h)).unwrap_or_default(),
                latency_from_due_us: self.latency_from_due.lock().map(|h| buckets(&h)).unwrap_or_default(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_is_left_out_and_latency_from_due_includes_lateness() {
        let m = Meter::new(Duration::from_millis(100));
        m.ack(50_000, 40_000, None, 10); // during warm-up
        m.ack(200_000, 190_000, Some(150_000), 10);
        m.ack(300_000, 299_000, Some(250_000), 10);
        let r = m.measured();
        assert_eq!((r.acked, r.bytes), (2, 20));
        assert!((r.seconds - 0.2).abs() < 1e-9);
        // HdrHistogram keeps 3 significant digits.
        let near = |x: f64, want: f64| (x - want).abs() <= want * 0.001;
        assert!(near(r.latency_ms.unwrap()[4], 10.0), "max service latency 10 ms: {:?}", r.latency_ms);
        assert!(
            near(r.latency_from_due_ms.unwrap()[4], 50.0),
            "max latency from the due time 50 ms: {:?}",
            r.latency_from_due_ms
        );
    }

    #[test]
    fn buckets_round_trip_and_merge() {
        let m = Meter::new(Duration::ZERO);
        for i in 1..=1000u64 {
            m.ack(i * 10, 0, None, 1);
        }
        let b = m.measured().buckets;
        let h = from_buckets(b.latency_us.iter().chain(&b.latency_us));
        assert_eq!(h.len(), 2000);
        assert_eq!(percentiles(&h), m.measured().latency_ms);
    }

    #[test]
    fn pacer_spaces_messages_at_the_target_rate() {
        let p = Pacer::new(1000.0);
        let start = Instant::now();
        let dues: Vec<u64> = (0..50).map(|_| p.wait_turn(start)).collect();
        assert_eq!(dues[1], 1000);
        assert_eq!(dues[49], 49_000);
        assert!(start.elapsed() >= Duration::from_millis(49));
    }
}
