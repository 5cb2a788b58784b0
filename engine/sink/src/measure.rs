//! Benchmark-grade measurement of deliveries, as OpenMessaging Benchmark does it: throughput by
//! acknowledgement time, latency as an HdrHistogram, a warm-up left out of both, and an open-loop
//! pacer whose latency is also measured from each message's due time (coordinated omission).

use crate::series::Series;
pub use distroduce_model::output::{Buckets, PercentilePoint, SecondStats};
use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest one pacing sleep lasts before the cancel flag is read again: at a low `kafka.rate`
/// one interval can be minutes, and Ctrl-C must not wait for it.
const SLICE: Duration = Duration::from_millis(50);

/// Sends at a target rate: message i is due `i / rate` seconds after the start.
pub struct Pacer {
    interval_ns: f64,
    next: AtomicU64,
    /// Set when the run is interrupted: from then on nobody waits, so the messages of the
    /// timestep under way go out at once and the run ends promptly.
    cancel: Option<Arc<AtomicBool>>,
}

impl Pacer {
    pub fn new(rate_per_sec: f64) -> Self {
        Self { interval_ns: 1e9 / rate_per_sec, next: AtomicU64::new(0), cancel: None }
    }

    /// Stop waiting once `cancel` is set.
    pub fn interruptible(mut self, cancel: Option<Arc<AtomicBool>>) -> Self {
        self.cancel = cancel;
        self
    }

    fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// Claim the next slot, wait until it is due (a late caller does not wait, nor does anyone
    /// after the run was interrupted), and return the due time in µs since `start`.
    pub fn wait_turn(&self, start: Instant) -> u64 {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let due = Duration::from_nanos((i as f64 * self.interval_ns) as u64);
        while let Some(wait) = (start + due).checked_duration_since(Instant::now()).filter(|w| !w.is_zero()) {
            if self.cancelled() {
                break;
            }
            std::thread::sleep(wait.min(SLICE));
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

/// The percentiles of the HDR plot (50 % to 99.999 %, equally spaced on its log axis).
pub const DISTRIBUTION: [f64; 13] =
    [50.0, 75.0, 90.0, 95.0, 97.5, 99.0, 99.5, 99.9, 99.95, 99.99, 99.995, 99.999, 100.0];

/// The latency distribution of `h` (µs) at [`DISTRIBUTION`], in ms (100 % is the maximum).
pub fn distribution(h: &Histogram<u64>) -> Vec<PercentilePoint> {
    if h.is_empty() {
        return Vec::new();
    }
    DISTRIBUTION
        .iter()
        .map(|&p| PercentilePoint { percentile: p, latency_ms: h.value_at_quantile(p / 100.0) as f64 / 1000.0 })
        .collect()
}

/// Acknowledgements after the warm-up, and every second of the run.
pub struct Meter {
    warmup_us: u64,
    acked: AtomicU64,
    bytes: AtomicU64,
    last_ack_us: AtomicU64,
    /// One lock per acknowledgement for both histograms and the time series.
    inner: Mutex<Inner>,
}

/// The run's histograms hold the seconds the time series has closed (added as each closes), and
/// what the series could not take; the series holds the current second.
struct Inner {
    latency: Histogram<u64>,
    latency_from_due: Histogram<u64>,
    series: Series,
    /// Whether the series records latency from the due time (a paced run) or from enqueue.
    paced: bool,
}

impl Inner {
    /// The run's histogram that the series' latencies belong in.
    fn of_series(&mut self) -> &mut Histogram<u64> {
        if self.paced {
            &mut self.latency_from_due
        } else {
            &mut self.latency
        }
    }
}

/// What the meter saw.
pub struct Measured {
    pub acked: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub latency_ms: Option<[f64; 5]>,
    pub latency_from_due_ms: Option<[f64; 5]>,
    pub buckets: Buckets,
    pub latency_distribution: Vec<PercentilePoint>,
    pub per_second: Vec<SecondStats>,
}

/// A histogram as (µs, count) pairs ([`Buckets`]).
pub fn buckets(h: &Histogram<u64>) -> Vec<(u64, u64)> {
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
            inner: Mutex::new(Inner {
                latency: histogram(),
                latency_from_due: histogram(),
                series: Series::new(),
                paced: false,
            }),
        }
    }

    /// Whether second `s` of the delivery clock lies wholly after the warm-up: its latencies go
    /// into the run's histograms as a whole when the series closes it. The second the warm-up
    /// ends in records its measured acknowledgements one by one.
    fn whole(&self, s: u64) -> bool {
        s.saturating_mul(1_000_000) >= self.warmup_us
    }

    /// An acknowledgement at `now_us` of a message enqueued at `sent_us` (due at `due_us` when paced).
    /// The time series counts the warm-up too (a slow start is worth seeing); its latency is from
    /// the due time when paced, else from enqueue.
    pub fn ack(&self, now_us: u64, sent_us: u64, due_us: Option<u64>, bytes: u64) {
        let latency = now_us.saturating_sub(sent_us).max(1);
        let from_due = due_us.map(|due| now_us.saturating_sub(due).max(1));
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let inner = &mut *guard;
        // A run is paced or not as a whole (one pacer per publisher), so the seconds the series
        // closes here belong where this acknowledgement's would.
        inner.paced = from_due.is_some();
        let series_latency = from_due.unwrap_or(latency);
        let run = if inner.paced { &mut inner.latency_from_due } else { &mut inner.latency };
        let in_series = inner.series.ack(now_us, series_latency, bytes, |second, h| {
            if self.whole(second) {
                let _ = run.add(h);
            }
        });
        if now_us < self.warmup_us {
            return;
        }
        // One record per acknowledgement: its second's, unless that one cannot be added whole.
        if !in_series || !self.whole(now_us / 1_000_000) {
            inner.of_series().saturating_record(series_latency);
        }
        if from_due.is_some() {
            inner.latency.saturating_record(latency);
        }
        drop(guard);
        self.acked.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.last_ack_us.fetch_max(now_us, Ordering::Relaxed);
    }

    pub fn measured(&self) -> Measured {
        let last = self.last_ack_us.load(Ordering::Relaxed);
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        // The run's histograms with the second the series has not closed yet.
        let (mut latency, mut latency_from_due) = (inner.latency.clone(), inner.latency_from_due.clone());
        if let Some((_, h)) = inner.series.current().filter(|(s, _)| self.whole(*s)) {
            let _ = if inner.paced { latency_from_due.add(h) } else { latency.add(h) };
        }
        Measured {
            acked: self.acked.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            seconds: last.saturating_sub(self.warmup_us) as f64 / 1e6,
            latency_ms: percentiles(&latency),
            latency_from_due_ms: percentiles(&latency_from_due),
            buckets: Buckets {
                latency_us: buckets(&latency),
                latency_from_due_us: buckets(&latency_from_due),
                per_second_us: inner.series.latency_buckets(),
            },
            latency_distribution: distribution(&latency),
            per_second: inner.series.rows(),
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
    fn the_distribution_and_the_seconds_show_what_happened() {
        let m = Meter::new(Duration::from_millis(500));
        // Second 0 (half of it warm-up): 1000 acks at 2 ms; second 1: nothing (a stall);
        // second 2: 10 acks at 300 ms, one at 900 ms.
        for i in 0..1000u64 {
            m.ack(i * 900, i * 900 - 2000.min(i * 900), None, 100);
        }
        for i in 0..10u64 {
            m.ack(2_000_000 + i, 1_700_000 + i, None, 100);
        }
        m.ack(2_100_000, 1_200_000, Some(1_200_000), 100);
        let r = m.measured();
        let secs: Vec<(u64, u64)> = r.per_second.iter().map(|s| (s.second, s.acked)).collect();
        assert_eq!(secs, [(0, 1000), (1, 0), (2, 11)]);
        assert_eq!(r.per_second[1].p99_ms, None, "an empty second has no latency");
        let near = |x: Option<f64>, want: f64| (x.unwrap() - want).abs() <= want * 0.01;
        assert!(near(r.per_second[0].p99_ms, 2.0), "{:?}", r.per_second[0]);
        assert!(near(r.per_second[2].p50_ms, 300.0) && near(r.per_second[2].max_ms, 900.0), "{:?}", r.per_second[2]);
        // The distribution leaves the warm-up out: 444 acks after 0.5 s at 2 ms, 11 slow ones.
        let d = &r.latency_distribution;
        assert_eq!(d.iter().map(|p| p.percentile).collect::<Vec<_>>(), DISTRIBUTION);
        assert!((d[0].latency_ms - 2.0).abs() < 0.01, "{d:?}");
        assert!((d.last().unwrap().latency_ms - 900.0).abs() < 1.0, "{d:?}");
        assert!(d.windows(2).all(|w| w[0].latency_ms <= w[1].latency_ms), "{d:?}");
    }

    /// One record per acknowledgement gives what two gave: the run's histograms are those of the
    /// acknowledgements after the warm-up (which ends inside a second here), late ones included,
    /// and each second's row and buckets those of its latencies at 2 digits.
    #[test]
    fn the_seconds_added_up_are_the_runs_histogram() {
        for paced in [false, true] {
            let m = Meter::new(Duration::from_millis(1_500));
            let (mut want, mut want_due) = (histogram(), histogram());
            let mut seconds = vec![crate::series::second_histogram(); 4];
            let mut x = 0x9E37_79B9_7F4A_7C15u64;
            let mut now = 0u64;
            for i in 0..20_000u64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                now += x % 300;
                // Every 100th acknowledgement after 2.5 s was timed 2 s earlier, as another
                // producer's can be.
                let at = if i % 100 == 99 && now > 2_500_000 { now - 2_000_000 } else { now };
                let latency = 1 + x % 250_000;
                let due = paced.then(|| at.saturating_sub(latency + x % 1000));
                m.ack(at, at - latency.min(at), due, 10);
                let lat = at.saturating_sub(at - latency.min(at)).max(1);
                let from_due = due.map(|d| at.saturating_sub(d).max(1));
                if at == now {
                    let _ = seconds[(at / 1_000_000) as usize].record(from_due.unwrap_or(lat));
                }
                if at >= 1_500_000 {
                    want.record(lat).unwrap();
                    if let Some(l) = from_due {
                        want_due.record(l).unwrap();
                    }
                }
            }
            assert!(now > 2_600_000 && now < 3_400_000, "{now}");
            let r = m.measured();
            assert_eq!(r.buckets.latency_us, buckets(&want), "paced {paced}");
            assert_eq!(r.buckets.latency_from_due_us, buckets(&want_due), "paced {paced}");
            assert_eq!(r.latency_ms, percentiles(&want));
            assert_eq!(r.per_second.len(), seconds.iter().filter(|h| !h.is_empty()).count());
            for (s, h) in seconds.iter().enumerate().take(r.per_second.len()) {
                assert_eq!(r.buckets.per_second_us[s], buckets(h), "second {s}");
                let row = crate::series::second_row(s as u64, r.per_second[s].acked, r.per_second[s].bytes, h);
                assert_eq!(format!("{:?}", r.per_second[s]), format!("{row:?}"));
            }
        }
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

    #[test]
    fn an_interrupted_pacer_stops_waiting_at_once() {
        let cancel = Arc::new(AtomicBool::new(false));
        // One message every hour: the second is due an hour after the start.
        let p = Pacer::new(1.0 / 3600.0).interruptible(Some(cancel.clone()));
        let start = Instant::now();
        assert_eq!(p.wait_turn(start), 0);
        let setter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            cancel.store(true, Ordering::Relaxed);
        });
        assert_eq!(p.wait_turn(start), 3_600_000_000, "the due time is still the schedule's");
        assert!(start.elapsed() < Duration::from_secs(10), "waited {:?}", start.elapsed());
        setter.join().unwrap();
        // Once interrupted, nobody waits.
        assert_eq!(p.wait_turn(start), 7_200_000_000);
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
