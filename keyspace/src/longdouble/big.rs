//! The unsigned big integer the exact parse and format steps work on.

use std::cmp::Ordering;

/// An unsigned big integer, little-endian 32-bit limbs, no high zero limbs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Big {
    limbs: Vec<u32>,
}

impl Big {
    pub(super) fn zero() -> Big {
        Big { limbs: Vec::new() }
    }

    pub(super) fn from_u64(n: u64) -> Big {
        let mut big = Big {
            limbs: vec![n as u32, (n >> 32) as u32],
        };
        big.trim();
        big
    }

    pub(super) fn trim(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    pub(super) fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    pub(super) fn bit_len(&self) -> u64 {
        match self.limbs.last() {
            None => 0,
            Some(&top) => self.limbs.len() as u64 * 32 - u64::from(top.leading_zeros()),
        }
    }

    pub(super) fn low_u128(&self) -> u128 {
        self.limbs
            .iter()
            .take(4)
            .enumerate()
            .fold(0, |acc, (i, &l)| acc | (u128::from(l) << (32 * i)))
    }

    pub(super) fn mul_small(&mut self, factor: u32) {
        let mut carry = 0u64;
        for limb in &mut self.limbs {
            let v = u64::from(*limb) * u64::from(factor) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
        self.trim();
    }

    pub(super) fn add_small(&mut self, addend: u32) {
        let mut carry = u64::from(addend);
        for limb in &mut self.limbs {
            if carry == 0 {
                return;
            }
            let v = u64::from(*limb) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
    }

    pub(super) fn mul_pow10(&mut self, mut power: u32) {
        while power >= 9 {
            self.mul_small(1_000_000_000);
            power -= 9;
        }
        self.mul_small(10u32.pow(power));
    }

    pub(super) fn shl(&mut self, bits: u64) {
        if self.is_zero() {
            return;
        }
        let (words, rest) = ((bits / 32) as usize, (bits % 32) as u32);
        if rest != 0 {
            let mut carry = 0u32;
            for limb in &mut self.limbs {
                let v = (u64::from(*limb) << rest) | u64::from(carry);
                *limb = v as u32;
                carry = (v >> 32) as u32;
            }
            if carry != 0 {
                self.limbs.push(carry);
            }
        }
        self.limbs.splice(0..0, std::iter::repeat_n(0, words));
    }

    /// The bits above `drop` as a u128 (the caller keeps the result within 128 bits) and whether any bit below
    /// was set.
    pub(super) fn shr_sticky(&self, drop: u64) -> (u128, bool) {
        let (words, rest) = ((drop / 32) as usize, (drop % 32) as u32);
        let sticky = self.limbs[..words].iter().any(|&l| l != 0)
            || (rest != 0 && self.limbs[words] & ((1u32 << rest) - 1) != 0);
        let mut high = Big {
            limbs: self.limbs[words..].to_vec(),
        };
        if rest != 0 {
            let mut carry = 0u32;
            for limb in high.limbs.iter_mut().rev() {
                let v = *limb;
                *limb = (v >> rest) | carry;
                carry = v << (32 - rest);
            }
            high.trim();
        }
        debug_assert!(high.bit_len() <= 128);
        (high.low_u128(), sticky)
    }

    pub(super) fn cmp(&self, other: &Big) -> Ordering {
        self.limbs
            .len()
            .cmp(&other.limbs.len())
            .then_with(|| self.limbs.iter().rev().cmp(other.limbs.iter().rev()))
    }

    /// `self -= other`; requires `self >= other`.
    pub(super) fn sub_assign(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for (i, limb) in self.limbs.iter_mut().enumerate() {
            let v = i64::from(*limb) - i64::from(other.limbs.get(i).copied().unwrap_or(0)) - borrow;
            *limb = v.rem_euclid(1 << 32) as u32;
            borrow = i64::from(v < 0);
        }
        debug_assert_eq!(borrow, 0);
        self.trim();
    }

    /// `floor(self / den)` (which must fit in 127 bits) and whether the division was exact.
    pub(super) fn div_small_quotient(mut self, den: &Big) -> (u128, bool) {
        let span = self.bit_len().saturating_sub(den.bit_len());
        debug_assert!(span < 127);
        let mut q: u128 = 0;
        for i in (0..=span).rev() {
            let mut shifted = den.clone();
            shifted.shl(i);
            if self.cmp(&shifted) != Ordering::Less {
                self.sub_assign(&shifted);
                q |= 1 << i;
            }
        }
        (q, self.is_zero())
    }

    pub(super) fn div_small(&mut self, divisor: u32) -> u32 {
        let mut rem = 0u64;
        for limb in self.limbs.iter_mut().rev() {
            let v = (rem << 32) | u64::from(*limb);
            *limb = (v / u64::from(divisor)) as u32;
            rem = v % u64::from(divisor);
        }
        self.trim();
        rem as u32
    }

    pub(super) fn write_decimal(mut self, out: &mut Vec<u8>) {
        let mut chunks = Vec::new();
        while !self.is_zero() {
            chunks.push(self.div_small(1_000_000_000));
        }
        match chunks.pop() {
            None => out.push(b'0'),
            Some(first) => {
                out.extend_from_slice(first.to_string().as_bytes());
                for chunk in chunks.iter().rev() {
                    out.extend_from_slice(format!("{chunk:09}").as_bytes());
                }
            }
        }
    }
}
