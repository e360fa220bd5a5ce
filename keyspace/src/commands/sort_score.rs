//! The numeric value SORT gives an element or a BY value, as Redis 7.0.15's `sortCommand` reads it:
//! `strtod` on the value as a C string (so up to its first NUL), refused (`One or more scores can't be
//! converted into double`) unless the conversion ends at that NUL, sets no `ERANGE` and is not NaN.
//!
//! What follows from `strtod` (glibc): the empty string (or one starting with a NUL) converts nothing
//! and its end pointer is the terminator, so it is 0; leading white space is skipped; `inf`,
//! `infinity`, hexadecimal (`0x1.8p3`) and `1.`/`.5` forms are numbers; a decimal that overflows, or
//! underflows to zero or a subnormal, sets `ERANGE`.

use super::c_string;

/// C's `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

/// Number of leading bytes of `s` that satisfy `f`.
fn count(s: &[u8], f: impl Fn(u8) -> bool) -> usize {
    s.iter().take_while(|&&b| f(b)).count()
}

/// The SORT score of `bytes`, `None` when Redis refuses it.
pub fn sort_score(bytes: &[u8]) -> Option<f64> {
    let s = c_string(bytes);
    if s.is_empty() {
        return Some(0.0);
    }
    let body = &s[count(s, is_c_space)..];
    let (negative, unsigned) = match body.first() {
        Some(b'-') => (true, &body[1..]),
        Some(b'+') => (false, &body[1..]),
        _ => (false, body),
    };
    let magnitude = if unsigned.len() >= 3 && unsigned[..3].eq_ignore_ascii_case(b"inf") {
        // `strtod` takes "infinity" whole or "inf" alone: anything else is left over.
        (unsigned.len() == 3 || unsigned.eq_ignore_ascii_case(b"infinity"))
            .then_some(f64::INFINITY)?
    } else if unsigned.len() >= 2 && unsigned[0] == b'0' && unsigned[1].eq_ignore_ascii_case(&b'x')
    {
        hex(&unsigned[2..])?
    } else {
        decimal(unsigned)?
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// A whole `digits[.digits][(e|E)[sign]digits]` (at least one mantissa digit), without `ERANGE`.
fn decimal(s: &[u8]) -> Option<f64> {
    let int = count(s, |b| b.is_ascii_digit());
    let mut end = int;
    let mut frac = 0;
    if s.get(end) == Some(&b'.') {
        frac = count(&s[end + 1..], |b| b.is_ascii_digit());
        end += 1 + frac;
    }
    if int + frac == 0 {
        return None; // No conversion: the end pointer stays at the start.
    }
    let mantissa_end = end;
    if matches!(s.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(s.get(end + 1), Some(b'+' | b'-')));
        let exp = count(&s[end + 1 + sign..], |b| b.is_ascii_digit());
        if exp > 0 {
            end += 1 + sign + exp;
        }
    }
    if end != s.len() {
        return None; // Bytes left before the NUL (NaN spellings land here too).
    }
    let value: f64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    let nonzero_digits = s[..mantissa_end].iter().any(|b| (b'1'..=b'9').contains(b));
    let range_error = value.is_infinite()
        || (value == 0.0 && nonzero_digits)
        || (value != 0.0 && value < f64::MIN_POSITIVE);
    (!range_error).then_some(value)
}

/// A whole hexadecimal `hexdigits[.hexdigits][(p|P)[sign]digits]` after `0x`. With no hex digit,
/// `strtod` converts the `0` alone and the `x` is left over.
fn hex(s: &[u8]) -> Option<f64> {
    let int = count(s, |b| b.is_ascii_hexdigit());
    let mut end = int;
    let mut frac = 0;
    if s.get(end) == Some(&b'.') {
        frac = count(&s[end + 1..], |b| b.is_ascii_hexdigit());
        end += 1 + frac;
    }
    if int + frac == 0 {
        return None;
    }
    let mantissa_end = end;
    let mut exp: i64 = 0;
    if matches!(s.get(end), Some(b'p' | b'P')) {
        let sign = usize::from(matches!(s.get(end + 1), Some(b'+' | b'-')));
        let digits = count(&s[end + 1 + sign..], |b| b.is_ascii_digit());
        if digits > 0 {
            let text = &s[end + 1 + sign..end + 1 + sign + digits];
            let value = std::str::from_utf8(text)
                .ok()?
                .parse::<i64>()
                .unwrap_or(i64::MAX / 2);
            exp = if s[end + 1] == b'-' { -value } else { value };
            end += 1 + sign + digits;
        }
    }
    if end != s.len() {
        return None;
    }
    let mut mantissa = 0.0f64;
    for &b in s[..mantissa_end].iter().filter(|&&b| b != b'.') {
        mantissa = mantissa * 16.0 + f64::from((b as char).to_digit(16)?);
    }
    let value = mantissa * 2f64.powi((exp - 4 * frac as i64).clamp(-2000, 2000) as i32);
    (!value.is_infinite()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::sort_score;

    #[test]
    fn scores_follow_glibc_strtod() {
        // Each case checked against glibc's strtod (end pointer at the NUL, errno, isnan).
        assert_eq!(sort_score(b""), Some(0.0));
        assert_eq!(sort_score(b"\0abc"), Some(0.0));
        assert_eq!(sort_score(b"12\0abc"), Some(12.0));
        assert_eq!(sort_score(b" 1.5"), Some(1.5));
        assert_eq!(sort_score(b"1."), Some(1.0));
        assert_eq!(sort_score(b"-.5"), Some(-0.5));
        assert_eq!(sort_score(b"+3e2"), Some(300.0));
        assert_eq!(sort_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(sort_score(b"Infinity"), Some(f64::INFINITY));
        assert_eq!(sort_score(b"0x1.8p1"), Some(3.0));
        assert_eq!(sort_score(b"0X10"), Some(16.0));
        assert_eq!(sort_score(b"0e-999"), Some(0.0));
        for refused in [
            &b"1e999"[..],
            b"1e-400",
            b"1e-310",
            b"nan",
            b"NaN(1)",
            b"12abc",
            b"1e",
            b"1 ",
            b"  ",
            b".",
            b"infx",
            b"0x",
            b"0xg",
            b"\xff",
        ] {
            assert_eq!(sort_score(refused), None, "{}", refused.escape_ascii());
        }
    }
}
