//! Redis's `string2ll`: the strict integer syntax of `*N` and `$N` headers.

/// Parses `s` exactly as Redis 7.0's `string2ll` does: an optional `-`, then `0` alone or a digit `1`-`9` followed
/// by digits; no `+`, no spaces, no leading zeros, no `-0`; the value must fit an `i64`. The rule is written
/// once, in `zedis_util::num`.
#[inline]
pub(crate) fn parse_i64_strict(s: &[u8]) -> Option<i64> {
    zedis_util::num::parse_i64_exact(s)
}

#[cfg(test)]
mod tests {
    use super::parse_i64_strict;

    #[test]
    fn accepts_redis_integers() {
        assert_eq!(parse_i64_strict(b"0"), Some(0));
        assert_eq!(parse_i64_strict(b"7"), Some(7));
        assert_eq!(parse_i64_strict(b"-1"), Some(-1));
        assert_eq!(parse_i64_strict(b"1234567890"), Some(1_234_567_890));
        assert_eq!(parse_i64_strict(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64_strict(b"-9223372036854775808"), Some(i64::MIN));
    }

    #[test]
    fn rejects_what_redis_rejects() {
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"00",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"1x",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"18446744073709551616",
            b"000000000000000000001",
        ] {
            assert_eq!(
                parse_i64_strict(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
