//! Redis's `long double` arithmetic for INCRBYFLOAT and HINCRBYFLOAT, in software.
//!
//! Redis 7.0 on x86-64 Linux computes these two commands in the x87 80-bit extended format (64-bit
//! significand with an explicit integer bit, 15-bit exponent), parses operands with glibc's `strtold`
//! (correctly rounded decimal and hexadecimal input, `inf`/`infinity`, a range up to ~1.19e4932) through its
//! `string2ld` rules, and replies with `ld2string(LD_STR_HUMAN)`: `"%.17Lf"` with trailing zeros trimmed. Rust
//! has no such type, so this module implements exactly the three operations Redis uses — parse, add (round to
//! nearest, ties to even) and format — exactly, on a small big-integer helper (`Big`).
//!
//! Non-goals: other operations, other rounding modes, signalling NaNs.
//!
//! Layout: [`parse`](LongDouble::parse) in `parse.rs` (`strtold`'s decimal and hexadecimal input),
//! [`format_human`](LongDouble::format_human) in `format.rs` (`"%.17Lf"` trimmed), addition and rounding to
//! the format in `arith.rs`, the big-integer helper in `big.rs`, and the glibc/x87 test vectors in `tests.rs`.

mod arith;
mod big;
mod format;
mod parse;
#[cfg(test)]
mod tests;

use arith::round_pack;

/// Exponent of the least significant significand bit of the smallest subnormal (2^-16445).
const EXP_MIN: i64 = -16445;
/// Largest exponent of the least significant significand bit of a finite value ((2^64-1)·2^16320 < 2^16384).
const EXP_MAX: i64 = 16320;

/// An x87 extended-precision value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongDouble {
    negative: bool,
    class: Class,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Zero,
    /// `mant · 2^exp`. Invariant: `mant != 0`, and either `mant >= 2^63` with `EXP_MIN <= exp <= EXP_MAX`
    /// (normal) or `exp == EXP_MIN` (subnormal).
    Finite {
        mant: u64,
        exp: i64,
    },
    Infinite,
    NaN,
}

impl LongDouble {
    /// Positive zero.
    pub const ZERO: LongDouble = LongDouble {
        negative: false,
        class: Class::Zero,
    };

    /// The exact value of an integer (every i64 fits in 64 significand bits).
    pub fn from_i64(n: i64) -> LongDouble {
        if n == 0 {
            return LongDouble::ZERO;
        }
        round_pack(n < 0, u128::from(n.unsigned_abs()), 0, false)
    }

    /// The exact value of a double (every double fits in 64 significand bits).
    pub fn from_f64(d: f64) -> LongDouble {
        let negative = d.is_sign_negative();
        if d.is_nan() {
            return LongDouble {
                negative,
                class: Class::NaN,
            };
        }
        if d.is_infinite() {
            return LongDouble {
                negative,
                class: Class::Infinite,
            };
        }
        let bits = d.to_bits();
        let exp_bits = ((bits >> 52) & 0x7ff) as i64;
        let frac = bits & ((1 << 52) - 1);
        let (mant, exp) = if exp_bits == 0 {
            (frac, -1074)
        } else {
            (frac | (1 << 52), exp_bits - 1075)
        };
        if mant == 0 {
            return LongDouble {
                negative,
                class: Class::Zero,
            };
        }
        round_pack(negative, u128::from(mant), exp, false)
    }

    /// True unless infinite or NaN.
    pub fn is_finite(self) -> bool {
        matches!(self.class, Class::Zero | Class::Finite { .. })
    }
}
