//! C's `strtod` on a byte prefix, as Redis reads sorted-set scores out of listpacks and ziplists
//! (`zzlStrtod`: at most 127 bytes, then `strtod`) and, through `sscanf`, text doubles. Whatever the bytes, a value comes out: the
//! longest prefix that is a number (decimal, hexadecimal with a binary exponent, `inf`,
//! `infinity`, `nan`), after leading white space, or 0 when there is none.

/// Bytes `zzlStrtod` looks at.
pub const SCORE_TEXT_BYTES_MAX: usize = 127;

/// `strtod(s, NULL)` on the first [`SCORE_TEXT_BYTES_MAX`] bytes of `s` (stopping at a NUL).
pub fn strtod_prefix(s: &[u8]) -> f64 {
    scan_double(&s[..s.len().min(SCORE_TEXT_BYTES_MAX)]).unwrap_or(0.0)
}

/// `sscanf(s, "%lg", ..)` as the old text-double sorted sets are read (`rdbLoadDoubleValue`): the
/// number at the start of `s` (up to a NUL), `None` when nothing converts.
pub fn scan_double(s: &[u8]) -> Option<f64> {
    let s = &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())];
    let start = s
        .iter()
        .position(|&b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r'))
        .unwrap_or(s.len());
    let s = &s[start..];
    let (negative, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    // No conversion (`None`) reads as 0 in `strtod`, whatever the sign.
    unsigned(body).map(|magnitude| if negative { -magnitude } else { magnitude })
}

fn starts_with_ignore_case(s: &[u8], word: &[u8]) -> bool {
    s.len() >= word.len() && s[..word.len()].eq_ignore_ascii_case(word)
}

/// The number at the start of `s`, or `None` when nothing converts.
fn unsigned(s: &[u8]) -> Option<f64> {
    if starts_with_ignore_case(s, b"inf") {
        return Some(f64::INFINITY);
    }
    if starts_with_ignore_case(s, b"nan") {
        return Some(f64::NAN);
    }
    if starts_with_ignore_case(s, b"0x") {
        // "0x" without hex digits converts the "0" alone.
        return Some(hex(&s[2..]).unwrap_or(0.0));
    }
    decimal(s)
}

/// The longest `digits[.digits][e[sign]digits]` prefix, correctly rounded.
fn decimal(s: &[u8]) -> Option<f64> {
    let digits = |from: usize| s[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let int = digits(0);
    let mut end = int;
    let mut frac = 0;
    if s.get(end) == Some(&b'.') {
        frac = digits(end + 1);
        end += 1 + frac;
    }
    if int + frac == 0 {
        return None;
    }
    if matches!(s.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(s.get(end + 1), Some(b'+' | b'-')));
        let exp = digits(end + 1 + sign);
        if exp > 0 {
            end += 1 + sign + exp;
        }
    }
    let text = std::str::from_utf8(&s[..end]).unwrap_or("0");
    let text = text.strip_suffix('.').unwrap_or(text);
    let text = if text.starts_with('.') {
        format!("0{text}")
    } else {
        text.to_string()
    };
    text.parse::<f64>().ok()
}

/// `hexdigits[.hexdigits][p[sign]digits]` after `0x`; `None` without any hex digit.
fn hex(s: &[u8]) -> Option<f64> {
    let mut mantissa: u128 = 0;
    let mut exponent: i64 = 0;
    let mut sticky = false;
    let mut seen = false;
    let mut i = 0;
    let mut after_point = false;
    while let Some(&b) = s.get(i) {
        if b == b'.' && !after_point {
            after_point = true;
            i += 1;
            continue;
        }
        let Some(d) = (b as char).to_digit(16) else {
            break;
        };
        seen = true;
        if mantissa >> 120 == 0 {
            mantissa = (mantissa << 4) | d as u128;
            if after_point {
                exponent -= 4;
            }
        } else {
            sticky |= d != 0;
            if !after_point {
                exponent += 4;
            }
        }
        i += 1;
    }
    if !seen {
        return None;
    }
    if matches!(s.get(i), Some(b'p' | b'P')) {
        let (neg, from) = match s.get(i + 1) {
            Some(b'-') => (true, i + 2),
            Some(b'+') => (false, i + 2),
            _ => (false, i + 1),
        };
        let n = s[from..].iter().take_while(|b| b.is_ascii_digit()).count();
        if n > 0 {
            let e = s[from..from + n]
                .iter()
                .fold(0i64, |v, &d| (v * 10 + (d - b'0') as i64).min(1 << 20));
            exponent += if neg { -e } else { e };
        }
    }
    if sticky {
        mantissa |= 1;
    }
    let mut v = mantissa as f64;
    // Scaling by powers of two is exact until overflow or the subnormal range.
    let mut e = exponent.clamp(-4000, 4000);
    while e > 0 {
        let step = e.min(1000);
        v *= 2f64.powi(step as i32);
        e -= step;
    }
    while e < 0 {
        let step = (-e).min(1000);
        v /= 2f64.powi(step as i32);
        e += step;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_strtod_prefixes() {
        let cases: &[(&[u8], f64)] = &[
            (b"1.5", 1.5),
            (b"1.X", 1.0),
            (b"  -2e3xyz", -2000.0),
            (b"2e", 2.0),
            (b"2e+", 2.0),
            (b".5", 0.5),
            (b"5.", 5.0),
            (b".", 0.0),
            (b"abc", 0.0),
            (b"-in", 0.0),
            (b"-", 0.0),
            (b"-0x", -0.0),
            (b"-0", -0.0),
            (b"", 0.0),
            (b"-inf", f64::NEG_INFINITY),
            (b"Infinity!", f64::INFINITY),
            (b"0x1p3", 8.0),
            (b"0x1.8p1", 3.0),
            (b"0x", 0.0),
            (b"0xg", 0.0),
            (b"-0x10", -16.0),
            (b"1e400", f64::INFINITY),
            (b"1\x002", 1.0),
        ];
        for (text, want) in cases {
            let got = strtod_prefix(text);
            assert_eq!(got.to_bits(), want.to_bits(), "{}", text.escape_ascii());
        }
        assert!(strtod_prefix(b"nan(123)").is_nan());
        assert_eq!(scan_double(b"1e+\x010"), Some(1.0));
        assert_eq!(scan_double(b" x"), None);
        assert_eq!(scan_double(b"-"), None);
        let long = [b"1".repeat(127), b"9".to_vec()].concat();
        assert_eq!(
            strtod_prefix(&long),
            "1".repeat(127).parse::<f64>().unwrap()
        );
    }
}
