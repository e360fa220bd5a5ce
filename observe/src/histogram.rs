//! Per-command latency histograms as Redis 7.0 keeps them (`latency-tracking`): an HdrHistogram of
//! nanoseconds from 1 ns to 1 s with 2 significant figures, read back as LATENCY HISTOGRAM's power-of-two
//! cumulative buckets and as INFO `latencystats` percentiles.

use hdrhistogram::Histogram;
use std::borrow::Cow;
use zedis_resp::{reply, Protocol};

/// Redis's `LATENCY_HISTOGRAM_MIN_VALUE` in ns.
pub const LATENCY_HISTOGRAM_MIN_NS: u64 = 1;
/// Redis's `LATENCY_HISTOGRAM_MAX_VALUE` in ns (1 s; longer durations are recorded as 1 s).
pub const LATENCY_HISTOGRAM_MAX_NS: u64 = 1_000_000_000;
/// Redis's `LATENCY_HISTOGRAM_PRECISION`.
const LATENCY_HISTOGRAM_SIGFIG: u8 = 2;
/// LATENCY HISTOGRAM's first bucket (1024 ns) and log base, as Redis's `hdr_iter_log_init(.., 1024, 2)`.
const FIRST_BUCKET_NS: u64 = 1024;

/// One command's latency histogram.
#[derive(Debug, Clone)]
pub struct CommandHistogram {
    hist: Histogram<u64>,
    /// Calls under 1 µs (most of a pipelined load), counted here and not yet in `hist`: each is a 1 ns
    /// sample (the lowest bound), added to a copy of `hist` when it is read (see [`CommandHistogram::settled`]).
    sub_us: u64,
}

impl Default for CommandHistogram {
    fn default() -> Self {
        CommandHistogram::new()
    }
}

impl CommandHistogram {
    /// An empty histogram with Redis's bounds.
    pub fn new() -> CommandHistogram {
        // The bounds are constants Redis uses: creation cannot fail.
        let hist = Histogram::new_with_bounds(
            LATENCY_HISTOGRAM_MIN_NS,
            LATENCY_HISTOGRAM_MAX_NS,
            LATENCY_HISTOGRAM_SIGFIG,
        )
        .unwrap_or_else(|_| unreachable!("constant bounds are valid"));
        CommandHistogram { hist, sub_us: 0 }
    }

    /// The histogram with the pending sub-microsecond calls recorded.
    fn settled(&self) -> Cow<'_, Histogram<u64>> {
        if self.sub_us == 0 {
            return Cow::Borrowed(&self.hist);
        }
        let mut hist = self.hist.clone();
        hist.saturating_record_n(LATENCY_HISTOGRAM_MIN_NS, self.sub_us);
        Cow::Owned(hist)
    }

    /// Redis's `updateCommandLatencyHistogram(duration_us * 1000)`: clamps into the bounds and records.
    #[inline]
    pub fn record_us(&mut self, duration_us: i64) {
        if duration_us <= 0 {
            // Clamps to the lowest bound: counted now, recorded when read.
            self.sub_us += 1;
            return;
        }
        let ns = duration_us.saturating_mul(1000).clamp(
            LATENCY_HISTOGRAM_MIN_NS as i64,
            LATENCY_HISTOGRAM_MAX_NS as i64,
        );
        self.hist.saturating_record(ns as u64);
    }

    /// Number of recorded calls.
    pub fn calls(&self) -> u64 {
        self.hist.len() + self.sub_us
    }

    /// Bytes held (the counts array dominates), for the budget.
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.hist.distinct_values() * std::mem::size_of::<u64>()
    }

    /// The C library's `hdr_value_at_percentile` in ns: the highest value equivalent to the first bucket whose
    /// cumulative count reaches `round(percentile% of calls)` (at least 1); 0 for an empty histogram.
    pub fn value_at_percentile_ns(&self, percentile: f64) -> u64 {
        let hist = self.settled();
        let requested = percentile.min(100.0);
        let total = hist.len();
        let wanted = ((requested / 100.0) * total as f64 + 0.5) as i64;
        let wanted = wanted.max(1) as u64;
        let mut cumulative = 0u64;
        for value in hist.iter_all() {
            cumulative += value.count_at_value();
            if cumulative >= wanted {
                let highest = value.value_iterated_to();
                return if percentile == 0.0 {
                    hist.lowest_equivalent(highest)
                } else {
                    highest
                };
            }
        }
        0
    }

    /// LATENCY HISTOGRAM's buckets: `(µs, cumulative calls)` exactly as Redis's `fillCommandCDF` reports them
    /// from the C library's logarithmic iterator (first bucket 1024 ns, base 2). That iterator reports the
    /// highest value of the histogram slot that crossed each power of two, so the µs figures are 1, 2, 4, 8,
    /// 16, 32, 65, 131, ... rather than exact powers; a bucket is listed only when its count grew.
    pub fn cdf_buckets(&self) -> Vec<(u64, u64)> {
        let hist = self.settled();
        let slots: Vec<(u64, u64, u64)> = hist
            .iter_all()
            .map(|v| {
                let highest = v.value_iterated_to();
                (hist.lowest_equivalent(highest), highest, v.count_at_value())
            })
            .collect();
        let total = hist.len();
        let slots_len = slots.len() as isize;
        let mut level = FIRST_BUCKET_NS;
        let mut level_lowest = hist.lowest_equivalent(level);
        // The C iterator's state: slot index (-1 before the first), its lowest and highest values, and the
        // counts up to it.
        let (mut index, mut value, mut highest, mut cumulative) = (-1isize, 0u64, 0u64, 0u64);
        let mut buckets = Vec::new();
        let mut previous = 0u64;
        // Each pass is one `log_iter_next` call that returned true.
        loop {
            let has_next = cumulative < total;
            let next_above = if index >= slots_len {
                false
            } else if index + 1 >= slots_len {
                true // C computes a value past the last slot, above any reporting level.
            } else {
                slots[(index + 1) as usize].0 > level_lowest
            };
            if !(has_next || next_above) {
                break;
            }
            loop {
                if value >= level_lowest {
                    level = level.saturating_mul(2);
                    level_lowest = hist.lowest_equivalent(level);
                    break;
                }
                index += 1;
                let Some(&(lowest, high, count)) = slots.get(index as usize) else {
                    break;
                };
                (value, highest) = (lowest, high);
                cumulative += count;
            }
            if cumulative > previous {
                buckets.push((highest / 1000, cumulative));
            }
            previous = cumulative;
        }
        buckets
    }

    /// Redis's `fillCommandCDF`: `{calls: n, histogram_usec: {µs: cumulative, ...}}`.
    pub fn reply_cdf(&self, out: &mut Vec<u8>, proto: Protocol) {
        reply::map_len(out, proto, 2);
        reply::bulk(out, b"calls");
        reply::integer(out, self.calls() as i64);
        reply::bulk(out, b"histogram_usec");
        let buckets = self.cdf_buckets();
        reply::map_len(out, proto, buckets.len());
        for (us, count) in buckets {
            reply::integer(out, us as i64);
            reply::integer(out, count as i64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_buckets_of_known_values() {
        let mut h = CommandHistogram::new();
        for us in [1, 1, 2, 3, 10, 100, 5000] {
            h.record_us(us);
        }
        h.record_us(0);
        h.record_us(10_000_000);
        assert_eq!(h.calls(), 9);
        let buckets = h.cdf_buckets();
        assert_eq!(buckets.last().map(|b| b.1), Some(9));
        assert!(buckets
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1));
        assert_eq!(
            h.value_at_percentile_ns(100.0),
            h.hist.highest_equivalent(LATENCY_HISTOGRAM_MAX_NS)
        );
        assert_eq!(h.value_at_percentile_ns(0.0), 1);
        assert!(CommandHistogram::new().cdf_buckets().is_empty());
    }

    /// Sub-microsecond calls counted aside read back exactly as if each were recorded in the histogram.
    #[test]
    fn sub_microsecond_calls_read_as_recorded() {
        let mut fast = CommandHistogram::new();
        let mut direct = CommandHistogram::new();
        for (i, us) in [0, 0, 3, 0, -5, 17, 0, 250, 0, 0, 1, 40_000, 0]
            .iter()
            .enumerate()
        {
            fast.record_us(*us);
            direct
                .hist
                .saturating_record(((*us).max(0) as u64 * 1000).max(1));
            assert_eq!(fast.calls(), i as u64 + 1);
            assert_eq!(fast.cdf_buckets(), direct.cdf_buckets());
            for p in [0.0, 1.0, 50.0, 75.0, 99.0, 99.9, 100.0] {
                assert_eq!(
                    fast.value_at_percentile_ns(p),
                    direct.value_at_percentile_ns(p)
                );
            }
        }
        assert!(fast.sub_us > 0);
    }
}
