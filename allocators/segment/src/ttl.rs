//! TTL buckets: Segcache's logarithmic grouping of items by time-to-live.
//!
//! Bucket 0 holds items without expiry. Buckets 1..=1024 hold items by their TTL at write time, in four
//! ranges of 256 buckets whose width grows 16x from one range to the next: 8 s wide below 2048 s, 128 s
//! below 32768 s, 2048 s below 524288 s, and 32768 s beyond (the last bucket takes everything longer).
//! Items of one bucket expire at about the same time, so whole segments can be freed when their last item
//! expires.

/// Number of TTL buckets, including bucket 0 (no expiry).
pub const TTL_BUCKETS: usize = 1 + 4 * 256;

/// Bucket of items without expiry.
pub const NO_TTL_BUCKET: usize = 0;

/// The bucket for an item expiring at `expire_at_ms` written at `now_ms`.
pub fn bucket_for(expire_at_ms: Option<i64>, now_ms: i64) -> usize {
    let Some(at) = expire_at_ms else {
        return NO_TTL_BUCKET;
    };
    let ttl_s = (at.saturating_sub(now_ms).max(0) / 1000) as u64;
    let (range, width_shift) = match ttl_s {
        0..2048 => (0, 3),
        2048..32_768 => (1, 7),
        32_768..524_288 => (2, 11),
        _ => (3, 15),
    };
    let range_start: u64 = [0, 2048, 32_768, 524_288][range];
    let within = ((ttl_s - range_start) >> width_shift).min(255) as usize;
    1 + range * 256 + within
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_in_ttl_and_bounded() {
        assert_eq!(bucket_for(None, 5), NO_TTL_BUCKET);
        assert_eq!(bucket_for(Some(0), 10_000), 1);
        assert_eq!(bucket_for(Some(7_999), 0), 1);
        assert_eq!(bucket_for(Some(8_000), 0), 2);
        assert_eq!(bucket_for(Some(2_048_000), 0), 257);
        assert_eq!(bucket_for(Some(i64::MAX), i64::MIN), TTL_BUCKETS - 1);
        let mut last = 0;
        for ttl_s in (0..2_000_000i64).step_by(997) {
            let b = bucket_for(Some(ttl_s * 1000), 0);
            assert!(b >= last && b < TTL_BUCKETS);
            last = b;
        }
    }
}
