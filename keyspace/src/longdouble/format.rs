//! Formatting as Redis's `ld2string(LD_STR_HUMAN)`: `"%.17Lf"` with trailing zeros trimmed.

use super::big::Big;
use super::{Class, LongDouble};

impl LongDouble {
    /// Appends the text `ld2string(LD_STR_HUMAN)` gives: `"%.17Lf"`, trailing zeros (and a bare `.`) trimmed,
    /// `-0` printed as `0`; infinities as `inf`/`-inf`.
    pub fn format_human(self, out: &mut Vec<u8>) {
        let start = out.len();
        if self.negative {
            out.push(b'-');
        }
        match self.class {
            Class::NaN => {
                out.truncate(start);
                out.extend_from_slice(b"nan");
                return;
            }
            Class::Infinite => {
                out.extend_from_slice(b"inf");
                return;
            }
            Class::Zero => out.push(b'0'),
            Class::Finite { mant, exp } if exp >= 0 => {
                let mut n = Big::from_u64(mant);
                n.shl(exp as u64);
                n.write_decimal(out);
            }
            Class::Finite { mant, exp } => format_fraction(mant, (-exp) as u32, out),
        }
        if &out[start..] == b"-0" {
            out.truncate(start);
            out.push(b'0');
        }
    }
}

/// Writes `mant / 2^shift` (shift >= 1) with 17 decimals rounded to nearest even, then trimmed.
fn format_fraction(mant: u64, shift: u32, out: &mut Vec<u8>) {
    const SCALE: u128 = 100_000_000_000_000_000; // 10^17 < 2^57, so frac·SCALE < 2^121
    let (mut int_part, frac) = if shift < 64 {
        (mant >> shift, u128::from(mant & ((1u64 << shift) - 1)))
    } else {
        (0, u128::from(mant))
    };
    let scaled = frac * SCALE;
    let (mut digits, round_up) = if shift >= 122 {
        // scaled < 2^121 <= half of 2^shift: rounds down.
        (0, false)
    } else {
        let q = scaled >> shift;
        let rem = scaled - (q << shift);
        let half = 1u128 << (shift - 1);
        (q, rem > half || (rem == half && q & 1 == 1))
    };
    if round_up {
        digits += 1;
        if digits == SCALE {
            digits = 0;
            int_part += 1;
        }
    }
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(int_part).as_bytes());
    if digits != 0 {
        let text = format!("{digits:017}");
        out.push(b'.');
        out.extend_from_slice(text.trim_end_matches('0').as_bytes());
    }
}
