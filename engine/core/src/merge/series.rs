//! The per-second series of a sharded run: the shards' seconds laid on one clock.
//!
//! Each shard counts seconds from its own first send (`started_unix_ms`). The merged series
//! counts from the earliest shard's; a shard's second `i` becomes second `i + offset`, its start's
//! distance from the earliest rounded to whole seconds (so a row may hold up to half a second of
//! another shard's neighbouring second). Counts add; percentiles come from the shards' latency
//! buckets of that second added together, as one run's would. Shards written by an engine that
//! kept no per-second buckets give no series (an empty series, as before). As in one run, only
//! the first [`MAX_SECONDS`] are kept, whatever seconds and start times a metrics.json claims.

use distroduce_model::output::{Buckets, DeliveryStats, SecondStats};
use distroduce_sink::measure::buckets;
use distroduce_sink::series::{second_histogram, second_row, MAX_SECONDS};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;

/// The merged rows and, same index, their latency buckets, from each shard's delivery figures
/// and buckets (`metrics.json`).
pub(super) fn merge_series(shards: &[(&DeliveryStats, &Buckets)]) -> (Vec<SecondStats>, Vec<Vec<(u64, u64)>>) {
    let with_rows: Vec<_> = shards.iter().filter(|(d, _)| !d.per_second.is_empty()).collect();
    let complete =
        with_rows.iter().all(|(d, b)| d.started_unix_ms.is_some() && b.per_second_us.len() == d.per_second.len());
    if with_rows.is_empty() || !complete {
        return (Vec::new(), Vec::new());
    }
    let start = with_rows.iter().filter_map(|(d, _)| d.started_unix_ms).fold(f64::INFINITY, f64::min);
    let mut seconds: BTreeMap<u64, (u64, u64, Histogram<u64>)> = BTreeMap::new();
    for (d, b) in with_rows {
        // `as` saturates: an absurd start time gives an offset past every kept second.
        let offset = ((d.started_unix_ms.unwrap_or(start) - start) / 1e3).round().max(0.0) as u64;
        for (row, pairs) in d.per_second.iter().zip(&b.per_second_us) {
            let second = row.second.saturating_add(offset);
            if second >= MAX_SECONDS {
                continue;
            }
            let (acked, bytes, h) = seconds.entry(second).or_insert_with(|| (0, 0, second_histogram()));
            *acked = acked.saturating_add(row.acked);
            *bytes = bytes.saturating_add(row.bytes);
            for &(v, n) in pairs {
                let _ = h.record_n(v.max(1), n);
            }
        }
    }
    let last = seconds.keys().next_back().copied().unwrap_or(0);
    let empty = second_histogram();
    (0..=last)
        .map(|s| match seconds.get(&s) {
            Some((acked, bytes, h)) => (second_row(s, *acked, *bytes, h), buckets(h)),
            // A second no shard acknowledged anything in: a row of zeros, as a stall shows in one run.
            None => (second_row(s, 0, 0, &empty), Vec::new()),
        })
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(started_unix_ms: f64, seconds: &[(u64, &[u64])]) -> (DeliveryStats, Buckets) {
        let mut d = DeliveryStats { started_unix_ms: Some(started_unix_ms), ..Default::default() };
        let mut b = Buckets::default();
        for &(i, latencies) in seconds {
            let mut h = second_histogram();
            latencies.iter().for_each(|&l| h.record(l).unwrap());
            d.per_second.push(second_row(i, latencies.len() as u64, 100 * latencies.len() as u64, &h));
            b.per_second_us.push(buckets(&h));
        }
        (d, b)
    }

    #[test]
    fn shards_seconds_add_on_the_earliest_shards_clock_with_percentiles_of_all_their_acks() {
        // Shard A from t=1000 ms: 99 fast acks then one fast ack. Shard B starts 2.4 s later (its
        // second 0 is merged second 2) with slow acks only.
        let fast: Vec<u64> = vec![1_000; 99];
        let a = shard(1_000.0, &[(0, &fast), (1, &[1_000])]);
        let b = shard(3_400.0, &[(0, &[50_000; 3]), (1, &[])]);
        let (rows, buckets) = merge_series(&[(&a.0, &a.1), (&b.0, &b.1)]);
        let counts: Vec<(u64, u64, u64)> = rows.iter().map(|r| (r.second, r.acked, r.bytes)).collect();
        assert_eq!(counts, [(0, 99, 9_900), (1, 1, 100), (2, 3, 300), (3, 0, 0)]);
        assert_eq!(buckets.len(), rows.len());
        // Second 0: all of A's; second 2: all of B's (50 ms, within the 2-digit precision).
        let near = |x: Option<f64>, want: f64| x.is_some_and(|x| (x - want).abs() <= want * 0.01);
        assert!(near(rows[0].p99_ms, 1.0) && near(rows[2].p50_ms, 50.0), "{rows:?}");
        assert_eq!(rows[3].p99_ms, None, "an empty second has no latency");

        // Two shards in the same second: the percentile is of both shards' acks together, which
        // neither shard's own p50 is.
        let slow = shard(1_200.0, &[(0, &[40_000; 101])]);
        let (rows, _) = merge_series(&[(&a.0, &a.1), (&slow.0, &slow.1)]);
        assert_eq!(rows[0].acked, 200);
        assert!(near(rows[0].p50_ms, 40.0), "101 of 200 acks at 40 ms: {:?}", rows[0]);
        assert!(near(rows[0].max_ms, 40.0));
    }

    /// A hostile or corrupt metrics.json (a second or a start time far in the future, counts
    /// that would overflow) neither allocates rows up to it nor overflows.
    #[test]
    fn absurd_seconds_and_start_times_are_cut_at_the_series_limit() {
        let a = shard(0.0, &[(0, &[1_000])]);
        let (mut far, fb) = shard(1e300, &[(0, &[1_000])]);
        far.per_second[0].acked = u64::MAX;
        let (mut late, lb) = shard(0.0, &[(0, &[1_000])]);
        late.per_second[0].second = u64::MAX;
        let (mut big, bb) = shard(0.0, &[(0, &[1_000])]);
        big.per_second[0].acked = u64::MAX;
        let (rows, _) = merge_series(&[(&a.0, &a.1), (&far, &fb), (&late, &lb), (&big, &bb)]);
        assert_eq!(rows.len(), 1, "only second 0 is kept: {rows:?}");
        assert_eq!(rows[0].acked, u64::MAX, "saturated, not wrapped");
    }

    #[test]
    fn shards_of_an_engine_without_per_second_buckets_give_no_series() {
        let (d, mut b) = shard(0.0, &[(0, &[1_000])]);
        b.per_second_us.clear();
        assert_eq!(merge_series(&[(&d, &b)]), (Vec::new(), Vec::new()));
    }
}
