//! Parsing as Redis's `string2ld`: glibc `strtold`'s decimal and hexadecimal input, correctly rounded.

use super::arith::{round_big, round_pack};
use super::big::Big;
use super::{Class, LongDouble, EXP_MAX, EXP_MIN};

/// Bytes `string2ld` copies into its stack buffer; longer input is rejected.
const INPUT_BYTES_MAX: usize = 5 * 1024 - 1;
/// Decimal exponents beyond this (in either direction) only ever overflow or underflow; parsing saturates.
const EXP10_ABS_MAX: i64 = 100_000;

impl LongDouble {
    /// Parses as Redis's `string2ld` (glibc `strtold` that must consume every byte): no leading space, no
    /// trailing garbage, no NaN, no result that overflows to infinity or underflows to zero; `inf` and
    /// `infinity` are accepted (callers reject infinite results where Redis does).
    pub fn parse(bytes: &[u8]) -> Option<LongDouble> {
        if bytes.is_empty() || bytes.len() > INPUT_BYTES_MAX {
            return None;
        }
        // strtold must consume every byte (Redis checks `eptr - buf == slen`), so a NUL never passes.
        if is_c_space(bytes[0]) {
            return None;
        }
        let (negative, body) = match bytes[0] {
            b'-' => (true, &bytes[1..]),
            b'+' => (false, &bytes[1..]),
            _ => (false, bytes),
        };
        let value = if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            LongDouble {
                negative,
                class: Class::Infinite,
            }
        } else if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
            parse_hex(negative, &body[2..])?
        } else {
            parse_decimal(negative, body)?
        };
        Some(value)
    }
}

/// The C locale's `isspace`.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Parses the part after `0x`: hex digits with an optional `.`, then an optional `p[+-]digits`.
fn parse_hex(negative: bool, text: &[u8]) -> Option<LongDouble> {
    let mut n = Big::zero();
    let (frac_digits, exp2) = scan_number(text, 16, b'p', |d| {
        n.mul_small(16);
        n.add_small(d);
    })?;
    if n.is_zero() {
        return Some(signed_zero(negative));
    }
    let e = exp2 - 4 * frac_digits;
    let top = n.bit_len() as i64 + e; // value < 2^top
    if top > EXP_MAX + 64 {
        return None;
    }
    if top < EXP_MIN - 1 {
        return None; // below half the smallest subnormal: underflows to zero
    }
    finite_or_none(round_big(negative, &n, e))
}

/// Parses a decimal mantissa with an optional `e[+-]digits` exponent.
fn parse_decimal(negative: bool, text: &[u8]) -> Option<LongDouble> {
    // The significant digits (leading zeros skipped), one per byte.
    let mut digits: Vec<u8> = Vec::new();
    let (frac_digits, exp10) = scan_number(text, 10, b'e', |d| {
        if !(digits.is_empty() && d == 0) {
            digits.push(d as u8);
        }
    })?;
    if digits.is_empty() {
        return Some(signed_zero(negative));
    }
    let e = exp10 - frac_digits;
    let magnitude = digits.len() as i64 + e; // 10^(magnitude-1) <= value < 10^magnitude
    if magnitude - 1 > 4933 || magnitude < -4952 {
        return None; // overflows to infinity or underflows to zero
    }
    let mut n = Big::zero();
    for chunk in digits.chunks(9) {
        let mut part = 0u32;
        for &d in chunk {
            part = part * 10 + u32::from(d);
        }
        n.mul_small(10u32.pow(chunk.len() as u32));
        n.add_small(part);
    }
    if e >= 0 {
        n.mul_pow10(e as u32);
        return finite_or_none(round_big(negative, &n, 0));
    }
    let mut den = Big::from_u64(1);
    den.mul_pow10((-e) as u32);
    // Scale so the quotient has at least 66 bits: q = floor(n·2^k / den).
    let k = 67 + den.bit_len() as i64 - n.bit_len() as i64;
    if k >= 0 {
        n.shl(k as u64);
    } else {
        den.shl((-k) as u64);
    }
    let (q, exact) = n.div_small_quotient(&den);
    finite_or_none(round_pack(negative, q, -k, !exact))
}

/// Scans a mantissa of `radix` digits with at most one `.`, then an optional exponent introduced by `marker`
/// (either case): `digit` gets each digit's value in order; returns (how many digits follow the dot, the
/// exponent). `None` without any digit or with anything else left.
fn scan_number(
    text: &[u8],
    radix: u32,
    marker: u8,
    mut digit: impl FnMut(u32),
) -> Option<(i64, i64)> {
    let mut any_digit = false;
    let mut frac_digits: i64 = 0;
    let mut seen_dot = false;
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        if c == b'.' && !seen_dot {
            seen_dot = true;
        } else if let Some(d) = (c as char).to_digit(radix) {
            any_digit = true;
            digit(d);
            frac_digits += i64::from(seen_dot);
        } else {
            break;
        }
        i += 1;
    }
    if !any_digit {
        return None;
    }
    let exponent = match text.get(i) {
        None => 0,
        Some(&c) if (c | 0x20) == marker => parse_exponent(&text[i + 1..])?,
        Some(_) => return None,
    };
    Some((frac_digits, exponent))
}

/// Parses an exponent: optional sign and at least one decimal digit, saturating far beyond any finite range.
fn parse_exponent(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut value: i64 = 0;
    for &d in digits {
        value = (value * 10 + i64::from(d - b'0')).min(EXP10_ABS_MAX);
    }
    Some(if negative { -value } else { value })
}

fn signed_zero(negative: bool) -> LongDouble {
    LongDouble {
        negative,
        class: Class::Zero,
    }
}

/// A finite nonzero input must stay finite and nonzero (`strtold` reports ERANGE otherwise).
fn finite_or_none(value: LongDouble) -> Option<LongDouble> {
    match value.class {
        Class::Finite { .. } => Some(value),
        _ => None,
    }
}
