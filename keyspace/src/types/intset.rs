//! Redis's intset: a sorted array of distinct integers, all 2, 4 or 8 bytes wide. The width grows
//! (never shrinks) when a member that does not fit arrives.

use super::{reserve_bytes, AllocError};
use allocator_api2::alloc::Allocator;
use allocator_api2::vec::Vec;

/// A sorted set of `i64` packed at the narrowest width that held every member so far.
pub struct IntSet<A: Allocator + Copy> {
    /// Members in ascending order, no duplicates, each `width` bytes little endian.
    buf: Vec<u8, A>,
    /// 2, 4 or 8.
    width: usize,
}

fn width_for(value: i64) -> usize {
    if i16::try_from(value).is_ok() {
        2
    } else if i32::try_from(value).is_ok() {
        4
    } else {
        8
    }
}

fn read(bytes: &[u8], width: usize) -> i64 {
    match width {
        2 => i64::from(i16::from_le_bytes([bytes[0], bytes[1]])),
        4 => i64::from(i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        _ => {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(&bytes[..8]);
            i64::from_le_bytes(raw)
        }
    }
}

impl<A: Allocator + Copy> IntSet<A> {
    /// An empty intset (16-bit); allocates nothing.
    pub fn new_in(alloc: A) -> Self {
        IntSet {
            buf: Vec::new_in(alloc),
            width: 2,
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.buf.len() / self.width
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes per member (2, 4 or 8): Redis's `intset` encoding field.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Heap bytes held.
    pub fn mem_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// The member at sorted position `index`.
    pub fn get(&self, index: usize) -> Option<i64> {
        let start = index.checked_mul(self.width)?;
        self.buf
            .get(start..start + self.width)
            .map(|bytes| read(bytes, self.width))
    }

    /// `Ok(position)` of `value`, or `Err(insertion position)`.
    fn search(&self, value: i64) -> Result<usize, usize> {
        if width_for(value) > self.width {
            return Err(if value < 0 { 0 } else { self.len() });
        }
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let mid = (low + high) / 2;
            let here = read(&self.buf[mid * self.width..], self.width);
            match here.cmp(&value) {
                core::cmp::Ordering::Less => low = mid + 1,
                core::cmp::Ordering::Greater => high = mid,
                core::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(low)
    }

    /// Whether `value` is a member.
    pub fn contains(&self, value: i64) -> bool {
        self.search(value).is_ok()
    }

    /// Adds `value`; `Ok(false)` if it was already there. On `Err` nothing changed.
    pub fn insert(&mut self, value: i64) -> Result<bool, AllocError> {
        let position = match self.search(value) {
            Ok(_) => return Ok(false),
            Err(position) => position,
        };
        let width = width_for(value);
        if width > self.width {
            return self.upgrade_and_insert(value, width).map(|()| true);
        }
        reserve_bytes(&mut self.buf, self.width, usize::MAX)?;
        let at = position * self.width;
        let old_len = self.buf.len();
        self.buf.resize(old_len + self.width, 0);
        self.buf.copy_within(at..old_len, at + self.width);
        self.buf[at..at + self.width].copy_from_slice(&value.to_le_bytes()[..self.width]);
        Ok(true)
    }

    /// Rewrites every member at `width`; `value` (wider than all) goes first or last.
    fn upgrade_and_insert(&mut self, value: i64, width: usize) -> Result<(), AllocError> {
        let bytes = (self.len() + 1) * width;
        let mut owned: Vec<u8, A> = Vec::new_in(*self.buf.allocator());
        owned.try_reserve_exact(bytes).map_err(|_| AllocError)?;
        if value < 0 {
            owned.extend_from_slice(&value.to_le_bytes()[..width]);
        }
        for index in 0..self.len() {
            let member = read(&self.buf[index * self.width..], self.width);
            owned.extend_from_slice(&member.to_le_bytes()[..width]);
        }
        if value >= 0 {
            owned.extend_from_slice(&value.to_le_bytes()[..width]);
        }
        self.buf = owned;
        self.width = width;
        Ok(())
    }

    /// Removes `value`; whether it was a member. Never allocates.
    pub fn remove(&mut self, value: i64) -> bool {
        match self.search(value) {
            Ok(position) => {
                self.remove_index(position);
                true
            }
            Err(_) => false,
        }
    }

    /// Removes and returns the member at sorted position `index`.
    pub fn remove_index(&mut self, index: usize) -> Option<i64> {
        let value = self.get(index)?;
        let at = index * self.width;
        self.buf.copy_within(at + self.width.., at);
        self.buf.truncate(self.buf.len() - self.width);
        Some(value)
    }

    /// Members in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            chunks: self.buf.chunks_exact(self.width),
            width: self.width,
        }
    }
}

/// Iterator over an intset's members in ascending order; double-ended.
#[derive(Clone)]
pub struct Iter<'a> {
    chunks: core::slice::ChunksExact<'a, u8>,
    width: usize,
}

impl Iterator for Iter<'_> {
    type Item = i64;

    fn next(&mut self) -> Option<i64> {
        self.chunks.next().map(|bytes| read(bytes, self.width))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<i64> {
        self.chunks.next_back().map(|bytes| read(bytes, self.width))
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::test_alloc::{fail_every, live_bytes, TestAlloc};
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn widths_upgrade() {
        let mut set = IntSet::new_in(TestAlloc);
        assert!(set.insert(5).unwrap());
        assert_eq!(set.width(), 2);
        assert!(set.insert(-70_000).unwrap());
        assert_eq!(set.width(), 4);
        assert!(set.insert(i64::MAX).unwrap());
        assert_eq!(set.width(), 8);
        assert!(!set.insert(5).unwrap());
        assert_eq!(
            set.iter().collect::<std::vec::Vec<_>>(),
            [-70_000, 5, i64::MAX]
        );
        assert!(set.remove(5));
        assert!(!set.contains(5));
        assert!(set.mem_bytes() >= 16);
    }

    proptest! {
        #[test]
        fn model(ops in proptest::collection::vec((any::<bool>(), prop_oneof![-300i64..300, any::<i16>().prop_map(i64::from), any::<i64>()]), 0..200),
                 fail in prop_oneof![Just(0usize), 2usize..6]) {
            let base = live_bytes();
            {
                let mut set = IntSet::new_in(TestAlloc);
                let mut model = BTreeSet::new();
                fail_every(fail);
                for (add, value) in ops {
                    if add {
                        if let Ok(new) = set.insert(value) {
                            prop_assert_eq!(new, model.insert(value));
                        }
                    } else {
                        prop_assert_eq!(set.remove(value), model.remove(&value));
                    }
                    prop_assert_eq!(set.iter().collect::<std::vec::Vec<_>>(), model.iter().copied().collect::<std::vec::Vec<_>>());
                }
                fail_every(0);
            }
            prop_assert_eq!(live_bytes(), base);
        }
    }
}
