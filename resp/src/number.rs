//! Redis's `string2ll`: the strict integer syntax of `*N` and `$N` headers.

/// Longest accepted input, as Redis's `LONG_STR_SIZE` (21) minus one: inputs of 21 bytes or more are rejected.
const INTEGER_BYTES_MAX: usize = 20;

/// Parses `s` exactly as Redis 7.0's `string2ll` does: an optional `-`, then `0` alone or a digit `1`-`9` followed
/// by digits; no `+`, no spaces, no leading zeros, no `-0`; the value must fit an `i64`.
pub(crate) fn parse_i64_strict(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > INTEGER_BYTES_MAX {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let (&first, rest) = digits.split_first()?;
    if !(b'1'..=b'9').contains(&first) {
        return None;
    }
    let mut value = u64::from(first - b'0');
    for &byte in rest {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(byte - b'0'))?;
    }
    if negative {
        // -(i64::MIN) == i64::MAX + 1 is the largest magnitude allowed.
        if value > i64::MAX as u64 + 1 {
            return None;
        }
        Some((value as i64).wrapping_neg())
    } else {
        i64::try_from(value).ok()
    }
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
