//! The C library and Redis number readers DEBUG and LOLWUT rely on, with their exact leniency: `atoi`
//! (glibc: `(int)strtol`), the `strtod` prefix DEBUG SLEEP reads, Redis's `memtoull`, `string2ll`-based
//! `getLongFromObjectOrReply`, and C-string views (Redis compares names with `strcasecmp`, which stops at NUL).

use crate::ObserveError;

/// `bytes` up to its first NUL, as a C function taking `argv[i]->ptr` sees it.
pub fn c_str(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&b| b == 0) {
        Some(end) => &bytes[..end],
        None => bytes,
    }
}

/// `strcasecmp(bytes, name) == 0` (`name` is ASCII without NUL).
pub fn c_eq(bytes: &[u8], name: &str) -> bool {
    c_str(bytes).eq_ignore_ascii_case(name.as_bytes())
}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// glibc's `atoi`: `(int)strtol(s, NULL, 10)`: leading white space, a sign, digits up to the first
/// non-digit; `strtol` saturates at the `long` range, and the cast keeps the low 32 bits.
pub fn atoi(bytes: &[u8]) -> i32 {
    let s = c_str(bytes);
    let mut i = s.iter().take_while(|&&b| is_c_space(b)).count();
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    // Accumulate as a negative number so i64::MIN is reachable; saturate like strtol.
    let mut value: i64 = 0;
    let mut saturated = false;
    for &b in s[i..].iter().take_while(|b| b.is_ascii_digit()) {
        let digit = i64::from(b - b'0');
        match value.checked_mul(10).and_then(|v| v.checked_sub(digit)) {
            Some(v) => value = v,
            None => {
                saturated = true;
                break;
            }
        }
    }
    let long = match (negative, saturated) {
        (true, true) => i64::MIN,
        (false, true) => i64::MAX,
        (true, false) => value,
        (false, false) => value.checked_neg().unwrap_or(i64::MAX),
    };
    long as i32
}

/// The number `strtod(s, NULL)` reads from the start of `bytes` (0.0 when none): leading white space, a
/// sign, then `inf`/`infinity`/`nan` or decimal digits with an optional fraction and exponent. Hexadecimal
/// floats (`0x1p3`) read as 0, where glibc would accept them.
pub fn strtod_prefix(bytes: &[u8]) -> f64 {
    let s = c_str(bytes);
    let start = s.iter().take_while(|&&b| is_c_space(b)).count();
    let s = &s[start..];
    let mut i = usize::from(matches!(s.first(), Some(b'-' | b'+')));
    let rest = &s[i..];
    for word in ["infinity", "inf", "nan"] {
        if rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word.as_bytes()) {
            let value = if word == "nan" {
                f64::NAN
            } else {
                f64::INFINITY
            };
            return if s[0] == b'-' { -value } else { value };
        }
    }
    let int_digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if s.get(i) == Some(&b'.') {
        frac_digits = s[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if int_digits + frac_digits > 0 {
            i += 1 + frac_digits;
        }
    }
    if int_digits + frac_digits == 0 {
        return 0.0;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(s.get(j), Some(b'-' | b'+')) {
            j += 1;
        }
        let exp_digits = s[j.min(s.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if exp_digits > 0 {
            i = j + exp_digits;
        }
    }
    std::str::from_utf8(&s[..i])
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// Redis's `memtoull`: digits then an optional unit (`b`, `k`, `kb`, `m`, `mb`, `g`, `gb`, any case); `None`
/// where Redis sets `err`. Like Redis, an empty number reads as 0, and overflow wraps.
pub fn memtoull(bytes: &[u8]) -> Option<u64> {
    let s = c_str(bytes);
    if s.first() == Some(&b'-') {
        return None;
    }
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let unit = &s[digits..];
    let mul: u64 = match unit.to_ascii_lowercase().as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits >= 128 {
        return None;
    }
    // strtoull saturates on overflow (ERANGE is not checked by memtoull).
    let value = s[..digits].iter().fold(0u64, |acc, &b| {
        acc.checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .unwrap_or(u64::MAX)
    });
    Some(value.wrapping_mul(mul))
}

/// Redis's `getLongFromObjectOrReply(c, o, &v, NULL)` on a string argument.
pub fn get_long(bytes: &[u8]) -> Result<i64, ObserveError> {
    zedis_util::num::parse_i64_exact(bytes).ok_or(ObserveError::NotAnInteger)
}

/// Redis's `getPositiveLongFromObjectOrReply(c, o, &v, NULL)`: any failure gets the "must be positive" text.
pub fn get_positive_long(bytes: &[u8]) -> Result<i64, ObserveError> {
    match zedis_util::num::parse_i64_exact(bytes) {
        Some(v) if v >= 0 => Ok(v),
        _ => Err(ObserveError::MustBePositive),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_is_glibc() {
        assert_eq!(atoi(b"1"), 1);
        assert_eq!(atoi(b"  -12abc"), -12);
        assert_eq!(atoi(b"+7"), 7);
        assert_eq!(atoi(b"x1"), 0);
        assert_eq!(atoi(b""), 0);
        assert_eq!(atoi(b"4294967297"), 1);
        assert_eq!(atoi(b"99999999999999999999"), -1); // LONG_MAX's low 32 bits
        assert_eq!(atoi(b"-99999999999999999999"), 0); // LONG_MIN's low 32 bits
        assert_eq!(atoi(b"3\x004"), 3);
    }

    #[test]
    fn strtod_reads_a_prefix() {
        assert_eq!(strtod_prefix(b"0.5"), 0.5);
        assert_eq!(strtod_prefix(b" 1.5s"), 1.5);
        assert_eq!(strtod_prefix(b".25"), 0.25);
        assert_eq!(strtod_prefix(b"2."), 2.0);
        assert_eq!(strtod_prefix(b"1e3x"), 1000.0);
        assert_eq!(strtod_prefix(b"1e+"), 1.0);
        assert_eq!(strtod_prefix(b"-3"), -3.0);
        assert_eq!(strtod_prefix(b"abc"), 0.0);
        assert_eq!(strtod_prefix(b"."), 0.0);
        assert_eq!(strtod_prefix(b"-inf"), f64::NEG_INFINITY);
        assert!(strtod_prefix(b"NaN").is_nan());
    }

    #[test]
    fn memtoull_units() {
        assert_eq!(memtoull(b"10"), Some(10));
        assert_eq!(memtoull(b"1kb"), Some(1024));
        assert_eq!(memtoull(b"2K"), Some(2000));
        assert_eq!(memtoull(b"1GB"), Some(1 << 30));
        assert_eq!(memtoull(b""), Some(0));
        assert_eq!(memtoull(b"-1"), None);
        assert_eq!(memtoull(b"1x"), None);
        assert_eq!(memtoull(b" 1"), None);
    }

    #[test]
    fn longs_as_redis() {
        assert_eq!(get_long(b"-5"), Ok(-5));
        assert_eq!(get_long(b"05"), Err(ObserveError::NotAnInteger));
        assert_eq!(get_positive_long(b"-5"), Err(ObserveError::MustBePositive));
        assert_eq!(get_positive_long(b"x"), Err(ObserveError::MustBePositive));
    }
}
