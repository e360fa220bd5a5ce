//! [`SlotSet`]: one hash slot's entries, an open-addressing set of entry addresses.
//!
//! Linear probing with backward-shift deletion (no tombstones) over any number of buckets: a bucket is
//! picked by a multiply-shift range reduction of the mixed address, so the set takes every bucket its
//! allocation holds (a pool size class is used whole) instead of a power of two. It grows when an insert
//! would pass [`LOAD_MAX_PERCENT`] and shrinks when a removal leaves it under [`LOAD_MIN_PERCENT`] of the
//! buckets it last asked for, each time rebuilt about [`buckets_for`] 70% full. The allocator is passed to
//! every call that allocates, so a set is 24 bytes (16384 of them per db).

use crate::entry::EntryPtr;
use allocator_api2::alloc::{AllocError, Allocator};
use std::alloc::Layout;
use std::ptr::NonNull;

/// A set grows when an insert would make it fuller than this (percent of its buckets).
pub(super) const LOAD_MAX_PERCENT: usize = 85;

/// A set shrinks when a removal leaves fewer keys than this percent of the buckets it last asked for.
pub(super) const LOAD_MIN_PERCENT: usize = 30;

type Bucket = Option<EntryPtr>;

/// Buckets to ask for when rebuilding a set for `len` keys: about 70% full.
pub(super) fn buckets_for(len: usize) -> usize {
    len + len * 3 / 7 + 2
}

/// The bucket an entry's address prefers among `buckets`.
#[inline]
fn home(entry: EntryPtr, buckets: usize) -> usize {
    let mixed = ((entry.addr() as u64) >> 2).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((u128::from(mixed) * buckets as u128) >> 64) as usize
}

#[inline]
fn next(i: usize, buckets: usize) -> usize {
    if i + 1 == buckets {
        0
    } else {
        i + 1
    }
}

/// One slot's entries (see the module docs).
pub(super) struct SlotSet {
    /// `buckets` initialised buckets (`None` = empty) in a block from the index's allocator, dangling when
    /// `buckets` is 0. Invariant: every entry sits at its home bucket or after it (cyclically) with no empty
    /// bucket in between.
    ptr: NonNull<Bucket>,
    /// Buckets the block holds (all of it: the allocator's returned length, not the length asked for).
    buckets: u32,
    /// Buckets asked for at the last rebuild (the shrink threshold's base, so a block that an allocator
    /// rounds up is not rebuilt again and again).
    wanted: u32,
    /// Entries held.
    len: u32,
}

impl SlotSet {
    /// An empty set; allocates nothing.
    pub(super) const EMPTY: SlotSet = SlotSet {
        ptr: NonNull::dangling(),
        buckets: 0,
        wanted: 0,
        len: 0,
    };

    /// Entries held.
    pub(super) fn len(&self) -> usize {
        self.len as usize
    }

    /// Buckets held.
    pub(super) fn buckets(&self) -> usize {
        self.buckets as usize
    }

    fn slice(&self) -> &[Bucket] {
        // SAFETY: `ptr` holds `buckets` initialised buckets (or is dangling with 0).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.buckets()) }
    }

    fn slice_mut(&mut self) -> &mut [Bucket] {
        // SAFETY: as in `slice`, and `&mut self` is unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.buckets()) }
    }

    /// The entries, in bucket order.
    pub(super) fn iter(&self) -> impl Iterator<Item = EntryPtr> + '_ {
        self.slice().iter().flatten().copied()
    }

    fn place(buckets: &mut [Bucket], entry: EntryPtr) {
        let n = buckets.len();
        let mut i = home(entry, n);
        while buckets[i].is_some() {
            i = next(i, n);
        }
        buckets[i] = Some(entry);
    }

    /// Moves the entries into a block of at least `wanted` buckets (none when 0), freeing the old one.
    /// On `Err` the set is unchanged.
    fn rebuild<A: Allocator>(&mut self, wanted: usize, alloc: A) -> Result<(), AllocError> {
        debug_assert!(wanted == 0 || wanted > self.len());
        let wanted_u32 = u32::try_from(wanted).map_err(|_| AllocError)?;
        let mut fresh = SlotSet::EMPTY;
        if wanted > 0 {
            let layout = Layout::array::<Bucket>(wanted).map_err(|_| AllocError)?;
            let block = alloc.allocate(layout)?;
            let buckets = (block.len() / size_of::<Bucket>()).min(u32::MAX as usize);
            let ptr = block.cast::<Bucket>();
            for i in 0..buckets {
                // SAFETY: the block holds `buckets` buckets.
                unsafe { ptr.as_ptr().add(i).write(None) };
            }
            fresh = SlotSet {
                ptr,
                buckets: buckets as u32,
                wanted: wanted_u32,
                len: self.len,
            };
            let slice = fresh.slice_mut();
            for entry in self.iter() {
                Self::place(slice, entry);
            }
        }
        fresh.len = self.len;
        let mut old = std::mem::replace(self, fresh);
        // SAFETY: `old` came from `alloc` (every block of the index does).
        unsafe { old.free(alloc) };
        Ok(())
    }

    /// Makes room for one more entry.
    pub(super) fn try_reserve_one<A: Allocator>(&mut self, alloc: A) -> Result<(), AllocError> {
        if (self.len() + 1) * 100 <= self.buckets() * LOAD_MAX_PERCENT {
            return Ok(());
        }
        self.rebuild(buckets_for(self.len() + 1), alloc)
    }

    /// Adds `entry` (absent) after [`SlotSet::try_reserve_one`].
    pub(super) fn insert(&mut self, entry: EntryPtr) {
        debug_assert!(
            self.len() < self.buckets(),
            "insert without try_reserve_one"
        );
        Self::place(self.slice_mut(), entry);
        self.len += 1;
    }

    /// Removes `entry`; whether it was there. With `shrink`, a set left sparse moves into a smaller block
    /// when one can be allocated.
    pub(super) fn remove<A: Allocator>(&mut self, entry: EntryPtr, shrink: Option<A>) -> bool {
        let n = self.buckets();
        if n == 0 {
            return false;
        }
        let buckets = self.slice_mut();
        let mut i = home(entry, n);
        loop {
            match buckets[i] {
                None => return false,
                Some(e) if e == entry => break,
                Some(_) => i = next(i, n),
            }
        }
        // Backward shift: an entry later in the run moves into the hole when the hole lies on its probe
        // path, cyclically in [home, its bucket).
        let mut hole = i;
        let mut j = i;
        loop {
            j = next(j, n);
            let Some(moved) = buckets[j] else {
                break;
            };
            let h = home(moved, n);
            let on_path = if hole <= j {
                h <= hole || h > j
            } else {
                h <= hole && h > j
            };
            if on_path {
                buckets[hole] = Some(moved);
                hole = j;
            }
        }
        buckets[hole] = None;
        self.len -= 1;
        if let Some(alloc) = shrink {
            if self.len() * 100 < self.wanted as usize * LOAD_MIN_PERCENT {
                let wanted = if self.len == 0 {
                    0
                } else {
                    buckets_for(self.len())
                };
                // Best effort: a failed allocation keeps the larger block.
                let _ = self.rebuild(wanted, alloc);
            }
        }
        true
    }

    /// Frees the block.
    ///
    /// # Safety
    /// The block must come from `alloc`; the set is empty afterwards.
    pub(super) unsafe fn free<A: Allocator>(&mut self, alloc: A) {
        if self.buckets > 0 {
            // The block's returned length is at least this size and the request was at most it.
            if let Ok(layout) = Layout::array::<Bucket>(self.buckets()) {
                alloc.deallocate(self.ptr.cast(), layout);
            }
        }
        *self = SlotSet::EMPTY;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::PayloadInit;
    use allocator_api2::alloc::Global;
    use proptest::prelude::*;
    use std::collections::HashSet;

    proptest! {
        /// Against a `HashSet`: random inserts and removals (of present and absent entries) through growth,
        /// shrinking and wrapped probe runs; the contents and the load bound.
        #[test]
        fn behaves_like_a_set(ops in proptest::collection::vec((any::<bool>(), 0usize..300), 0..1000)) {
            let pool: std::vec::Vec<EntryPtr> = (0..300u32)
                .map(|n| EntryPtr::new(Global, &n.to_le_bytes(), None, PayloadInit::Int(0), 0).unwrap())
                .collect();
            let mut set = SlotSet::EMPTY;
            let mut model = HashSet::new();
            for (add, n) in ops {
                if add && !model.contains(&n) {
                    set.try_reserve_one(Global).unwrap();
                    set.insert(pool[n]);
                    model.insert(n);
                } else {
                    prop_assert_eq!(set.remove(pool[n], Some(Global)), model.remove(&n));
                }
                prop_assert_eq!(set.len(), model.len());
                let got: HashSet<usize> = set.iter().map(EntryPtr::addr).collect();
                let want: HashSet<usize> = model.iter().map(|&n| pool[n].addr()).collect();
                prop_assert_eq!(got, want);
                prop_assert!(set.len() * 100 <= set.buckets() * LOAD_MAX_PERCENT);
            }
            // SAFETY: the set's block came from Global; the entries too, linked nowhere.
            unsafe {
                set.free(Global);
                pool.into_iter().for_each(|e| e.free(Global));
            }
        }
    }
}
