//! Redis's number rules: `string2ll` (what counts as an integer) and a `double` argument parser. The
//! `long double` arithmetic of INCRBYFLOAT/HINCRBYFLOAT lives in `zedis_keyspace::longdouble`.

/// Parses `bytes` as Redis's `string2ll` does: optional `-`, no `+`, no leading zeros ("0" alone is fine, "-0"
/// is not), no spaces, fits in i64. Values that pass are exactly the ones that print back identically.
pub fn parse_i64_exact(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || bytes.len() > 20 {
        return None;
    }
    if bytes == b"0" {
        return Some(0);
    }
    let (negative, digits) = match bytes[0] {
        b'-' => (true, &bytes[1..]),
        _ => (false, bytes),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if value > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((value as i64).wrapping_neg())
    } else {
        i64::try_from(value).ok()
    }
}

/// Parses a `double` argument (Redis's `strtod`-based rules): no leading space, no trailing garbage, no NaN.
/// `inf`/`infinity` are accepted (callers reject infinite results where Redis does).
pub fn parse_f64(bytes: &[u8]) -> Option<f64> {
    if bytes.is_empty() || bytes.len() >= 5 * 1024 || bytes[0].is_ascii_whitespace() {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let value: f64 = text.parse().ok()?;
    if value.is_nan() {
        return None;
    }
    Some(value)
}

/// Appends the decimal text of `value`.
pub fn push_i64(out: &mut Vec<u8>, value: i64) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(value).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64_exact(b"0"), Some(0));
        assert_eq!(parse_i64_exact(b"-1"), Some(-1));
        assert_eq!(parse_i64_exact(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64_exact(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b"9223372036854775808"[..],
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"",
            b"-",
            b"1a",
            b"0x1",
        ] {
            assert_eq!(
                parse_i64_exact(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"1x"), None);
    }

    proptest! {
        #[test]
        fn integers_round_trip(n in any::<i64>()) {
            prop_assert_eq!(parse_i64_exact(n.to_string().as_bytes()), Some(n));
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..30)) {
            let _ = parse_i64_exact(&bytes);
            let _ = parse_f64(&bytes);
        }
    }
}
