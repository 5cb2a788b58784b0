//! Acknowledgements per second of a run, for the report's over-time charts: a stall or a broker
//! restart shows as a gap in the rate and a spike in p99.
//!
//! Kept cheap on the delivery path: each acknowledgement adds to the counters of the current
//! second and records into one histogram of the run's precision (3 significant digits) that is
//! summarised at 2 digits, handed to the meter (which adds it to the run's histogram: one record
//! per acknowledgement serves both) and cleared when the second changes. Nothing is allocated per
//! message; one row is appended per second.

use distroduce_model::output::SecondStats;
use hdrhistogram::Histogram;

/// The current second and the rows of the finished ones (row i is second i of the delivery clock).
pub(crate) struct Series {
    rows: Vec<SecondStats>,
    /// Each finished second's latency histogram as (µs, count) pairs, for `engine merge`.
    buckets: Vec<Vec<(u64, u64)>>,
    second: u64,
    acked: u64,
    bytes: u64,
    /// The current second's latencies at the run's precision ([`crate::measure::histogram`]).
    latency: Histogram<u64>,
}

/// Longer runs keep their first this-many seconds (a day): the rows stay bounded.
pub const MAX_SECONDS: u64 = 86_400;

impl Series {
    pub(crate) fn new() -> Self {
        Self {
            rows: Vec::new(),
            buckets: Vec::new(),
            second: 0,
            acked: 0,
            bytes: 0,
            latency: crate::measure::histogram(),
        }
    }

    /// One acknowledgement at `now_us` (delivery clock) with `latency_us`; each second it closes
    /// goes to `closed` (its number and latencies) first. `false` when the latency was not
    /// recorded in the current second (an acknowledgement timed in a second already closed, or
    /// past [`MAX_SECONDS`]): the caller then records it where it needs it itself.
    pub(crate) fn ack(
        &mut self,
        now_us: u64,
        latency_us: u64,
        bytes: u64,
        closed: impl FnMut(u64, &Histogram<u64>),
    ) -> bool {
        let second = now_us / 1_000_000;
        if second > self.second {
            self.close(second, closed);
        } else if second < self.second {
            // Another producer's acknowledgement, timed just before this second began.
            if let Some(r) = self.rows.get_mut(second as usize) {
                r.acked += 1;
                r.bytes += bytes;
            }
            return false;
        }
        if self.second < MAX_SECONDS {
            self.acked += 1;
            self.bytes += bytes;
            self.latency.saturating_record(latency_us.max(1));
            return true;
        }
        false
    }

    /// The current second and its latencies so far, if it has any.
    pub(crate) fn current(&self) -> Option<(u64, &Histogram<u64>)> {
        (self.acked > 0 && self.second < MAX_SECONDS).then_some((self.second, &self.latency))
    }

    /// Summarise the current second, hand it to `closed` and move to `next` (seconds with no
    /// acknowledgement between them get rows of zeros: that is what a stall looks like).
    fn close(&mut self, next: u64, mut closed: impl FnMut(u64, &Histogram<u64>)) {
        while self.second < next && self.second < MAX_SECONDS {
            let coarse = coarse(&self.latency);
            self.rows.push(second_row(self.second, self.acked, self.bytes, &coarse));
            self.buckets.push(crate::measure::buckets(&coarse));
            if self.acked > 0 {
                closed(self.second, &self.latency);
            }
            self.acked = 0;
            self.bytes = 0;
            self.latency.reset();
            self.second += 1;
        }
        self.second = next;
    }

    fn row(&self) -> SecondStats {
        second_row(self.second, self.acked, self.bytes, &coarse(&self.latency))
    }

    /// Every second so far, the current (partial) one last.
    pub(crate) fn rows(&self) -> Vec<SecondStats> {
        let mut rows = self.rows.clone();
        if self.current_counts() {
            rows.push(self.row());
        }
        rows
    }

    /// The latency buckets of each of [`Series::rows`], same index.
    pub(crate) fn latency_buckets(&self) -> Vec<Vec<(u64, u64)>> {
        let mut b = self.buckets.clone();
        if self.current_counts() {
            b.push(crate::measure::buckets(&coarse(&self.latency)));
        }
        b
    }

    fn current_counts(&self) -> bool {
        self.acked > 0 && self.second < MAX_SECONDS
    }
}

/// `h` (3 significant digits) at the 2 of [`second_histogram`]. Both histograms' buckets are
/// powers of two apart, so each of `h`'s lies inside one of the result's: the same counts, rows
/// and buckets as recording the latencies at 2 digits directly.
fn coarse(h: &Histogram<u64>) -> Histogram<u64> {
    let mut c = second_histogram();
    for v in h.iter_recorded() {
        let _ = c.record_n(v.value_iterated_to(), v.count_at_value());
    }
    c
}

/// The histogram of one second: 2 significant digits, 1 µs to an hour.
pub fn second_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("valid bounds")
}

/// A second's row from its counts and its latency histogram (of one run, or of a sharded run's
/// shards added together by `engine merge`).
pub fn second_row(second: u64, acked: u64, bytes: u64, h: &Histogram<u64>) -> SecondStats {
    let ms = |v: u64| v as f64 / 1000.0;
    let (p50, p99, max) = if h.is_empty() {
        (None, None, None)
    } else {
        (Some(ms(h.value_at_quantile(0.5))), Some(ms(h.value_at_quantile(0.99))), Some(ms(h.max())))
    };
    SecondStats { second, acked, bytes, p50_ms: p50, p99_ms: p99, max_ms: max }
}
