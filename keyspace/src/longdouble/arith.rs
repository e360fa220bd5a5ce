//! Addition and rounding to the x87 extended format (round to nearest, ties to even).

use super::big::Big;
use super::{Class, LongDouble, EXP_MAX, EXP_MIN};
use std::cmp::Ordering;

impl std::ops::Add for LongDouble {
    type Output = LongDouble;

    /// `self + other`, correctly rounded to nearest (ties to even) as the x87 unit does in extended precision.
    fn add(self, other: LongDouble) -> LongDouble {
        use Class::{Finite, Infinite, NaN, Zero};
        match (self.class, other.class) {
            (NaN, _) | (_, NaN) => LongDouble {
                negative: false,
                class: NaN,
            },
            (Infinite, Infinite) if self.negative != other.negative => LongDouble {
                negative: false,
                class: NaN,
            },
            (Infinite, _) => self,
            (_, Infinite) => other,
            (Zero, Zero) => LongDouble {
                negative: self.negative && other.negative,
                class: Zero,
            },
            (Zero, _) => other,
            (_, Zero) => self,
            (Finite { mant: ma, exp: ea }, Finite { mant: mb, exp: eb }) => {
                let (big, small) = if ea >= eb {
                    ((self.negative, ma, ea), (other.negative, mb, eb))
                } else {
                    ((other.negative, mb, eb), (self.negative, ma, ea))
                };
                add_finite(big, small)
            }
        }
    }
}

/// Adds two finite nonzero values where `big.2 >= small.2` (exponent of the least significant bit).
fn add_finite(big: (bool, u64, i64), small: (bool, u64, i64)) -> LongDouble {
    // 62 guard bits below the larger operand: an aligned smaller operand loses bits only when it is shifted
    // past them, and then its lost bits are "jammed" into bit 0, far below the rounding position.
    const GUARD: u32 = 62;
    let (neg_a, ma, ea) = big;
    let (neg_b, mb, eb) = small;
    let a = u128::from(ma) << GUARD;
    let b_full = u128::from(mb) << GUARD;
    let distance = ea - eb;
    let b = match distance {
        0 => b_full,
        1..=127 => {
            let lost = b_full & ((1u128 << distance) - 1);
            (b_full >> distance) | u128::from(lost != 0)
        }
        _ => 1,
    };
    let exp = ea - i64::from(GUARD);
    if neg_a == neg_b {
        return round_pack(neg_a, a + b, exp, false);
    }
    match a.cmp(&b) {
        Ordering::Equal => LongDouble::ZERO,
        Ordering::Greater => round_pack(neg_a, a - b, exp, false),
        Ordering::Less => round_pack(neg_b, b - a, exp, false),
    }
}

/// Rounds `m · 2^e` (plus a nonzero tail below bit 0 when `sticky`) to the format. With `sticky`, `m` must
/// have at least 66 significant bits so the tail lies below the rounding bits.
pub(super) fn round_pack(negative: bool, m: u128, e: i64, sticky: bool) -> LongDouble {
    let zero = LongDouble {
        negative,
        class: Class::Zero,
    };
    if m == 0 {
        return zero;
    }
    let bits = i64::from(128 - m.leading_zeros());
    let shift = (bits - 64).max(EXP_MIN - e);
    let (mant, mut exp) = if shift <= 0 {
        debug_assert!(!sticky, "sticky tail with too few bits");
        ((m << (-shift)) as u64, e + shift)
    } else {
        let (q, round_up) = if shift > 128 {
            (0, false)
        } else {
            let q = if shift == 128 { 0 } else { m >> shift };
            let rem = if shift == 128 {
                m
            } else {
                m & ((1u128 << shift) - 1)
            };
            let half = 1u128 << (shift - 1);
            let up = rem > half || (rem == half && (sticky || q & 1 == 1));
            (q, up)
        };
        let (q, exp) = (q + u128::from(round_up), e + shift);
        // Rounding up may carry into a 65th bit.
        if q >> 64 != 0 {
            ((q >> 1) as u64, exp + 1)
        } else {
            (q as u64, exp)
        }
    };
    if mant == 0 {
        return zero;
    }
    if exp > EXP_MAX {
        return LongDouble {
            negative,
            class: Class::Infinite,
        };
    }
    if mant < 1 << 63 {
        exp = EXP_MIN;
    }
    LongDouble {
        negative,
        class: Class::Finite { mant, exp },
    }
}

/// Rounds the big integer `n · 2^e` to the format.
pub(super) fn round_big(negative: bool, n: &Big, e: i64) -> LongDouble {
    let bits = n.bit_len();
    if bits <= 128 {
        return round_pack(negative, n.low_u128(), e, false);
    }
    let drop = bits - 128;
    let (top, sticky) = n.shr_sticky(drop);
    round_pack(negative, top, e + drop as i64, sticky)
}
