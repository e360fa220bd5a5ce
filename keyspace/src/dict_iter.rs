//! Reading the whole [`Dict`] without changing it: SCAN's reverse-binary cursor, random picks and sampling,
//! and plain iteration, each aware of the two bucket arrays a resize holds.

use super::{Dict, Table};
use crate::entry::EntryPtr;
use allocator_api2::alloc::Allocator;

/// Random bucket probes before [`Dict::random_entry`] falls back to a linear search (a table at least 1/8 full
/// fails them all with p < 1e-59).
const RANDOM_TRIES_MAX: usize = 1024;

/// Buckets visited per entry asked of [`Dict::sample`] at most (Redis's `maxsteps = count * 10`).
const SAMPLE_STEPS_PER_ENTRY: usize = 10;

/// Hands every entry of one bucket to `visit`.
#[inline]
fn visit_chain(mut cursor: Option<EntryPtr>, visit: &mut impl FnMut(EntryPtr)) {
    while let Some(e) = cursor {
        cursor = e.next();
        visit(e);
    }
}

/// Redis's cursor increment: the next value of the bits under `mask`, counted in reverse-binary order.
#[inline]
fn next_cursor(cursor: u64, mask: u64) -> u64 {
    (cursor | !mask)
        .reverse_bits()
        .wrapping_add(1)
        .reverse_bits()
}

/// One step of Redis's `dictScan` over a hash table of one or two bucket arrays (two during a resize), given
/// by their masks (`size - 1`, sizes powers of two): hands `bucket(array, idx)` (`array` 0 for the first
/// mask, 1 for the second) the cursor's bucket of the smaller array, then every bucket of the larger one
/// whose low bits are that bucket's, and returns the next cursor (0 when the iteration is complete). An
/// entry that sits in bucket `hash & mask` of whichever array holds it, and is present from the first call
/// to the last, is handed over at least once, whatever resizes happen between calls. Shared by the key index
/// ([`Dict::scan`]) and the sorted-set member index.
pub(crate) fn scan_buckets(
    cursor: u64,
    masks: (u64, Option<u64>),
    mut bucket: impl FnMut(usize, u64),
) -> u64 {
    let (first, second) = match masks {
        (mask, None) => {
            bucket(0, cursor & mask);
            return next_cursor(cursor, mask);
        }
        (first, Some(second)) => (first, second),
    };
    let ((small, small_mask), (large, large_mask)) = if first <= second {
        ((0, first), (1, second))
    } else {
        ((1, second), (0, first))
    };
    let mut v = cursor;
    bucket(small, v & small_mask);
    loop {
        bucket(large, v & large_mask);
        v = next_cursor(v, large_mask);
        if v & (small_mask ^ large_mask) == 0 {
            return v;
        }
    }
}

impl<A: Allocator + Copy> Dict<A> {
    /// Visits one bucket's worth of entries for SCAN and returns the next cursor (0 when done). Redis's
    /// reverse-binary iteration: every entry present from the first call to the last is visited at least once,
    /// even if the table was resized in between or is being resized.
    pub fn scan(&self, cursor: u64, mut visit: impl FnMut(EntryPtr)) -> u64 {
        if self.tables[0].size == 0 {
            return 0;
        }
        let first = self.tables[0].mask() as u64;
        let masks = if self.is_moving() {
            (first, Some(self.tables[1].mask() as u64))
        } else {
            (first, None)
        };
        scan_buckets(cursor, masks, |array, idx| {
            visit_chain(self.tables[array].buckets.get(idx as usize), &mut visit);
        })
    }

    /// The bucket at `idx` of the virtual concatenation `tables[0] ++ tables[1]` (moving phase).
    #[inline]
    fn bucket_of_both(&self, idx: usize) -> Option<EntryPtr> {
        let first = self.tables[0].size;
        if idx < first {
            self.tables[0].buckets.get(idx)
        } else {
            self.tables[1].buckets.get(idx - first)
        }
    }

    /// A uniformly chosen non-empty bucket's random entry (Redis's dictGetRandomKey); `rng` gives random u64s.
    /// During a resize the buckets are drawn from both arrays, skipping the old array's already emptied prefix.
    pub fn random_entry(&self, rng: &mut impl FnMut() -> u64) -> Option<EntryPtr> {
        if self.is_empty() {
            return None;
        }
        let mut head = None;
        if self.is_moving() {
            let start = self.rehash_idx;
            let span = self.tables[0].size + self.tables[1].size - start;
            for _ in 0..RANDOM_TRIES_MAX {
                head = self.bucket_of_both(start + (rng() as usize) % span);
                if head.is_some() {
                    break;
                }
            }
        } else {
            let table = &self.tables[0];
            for _ in 0..RANDOM_TRIES_MAX {
                head = table.buckets.get((rng() as usize) & table.mask());
                if head.is_some() {
                    break;
                }
            }
        }
        if head.is_none() {
            // Only when a shrink could not be allocated and the table is very sparse.
            head = self
                .tables
                .iter()
                .flat_map(|t| t.buckets.iter())
                .flatten()
                .next();
        }
        let head = head?;
        let mut chain_len = 0;
        visit_chain(Some(head), &mut |_| chain_len += 1);
        let mut pick = (rng() as usize) % chain_len;
        let mut cursor = head;
        while pick > 0 {
            cursor = cursor.next()?;
            pick -= 1;
        }
        Some(cursor)
    }

    /// Up to `count` entries from consecutive buckets starting at a random one (Redis's dictGetSomeKeys), for
    /// eviction sampling. Visits at most `10 * count` bucket positions, so the work per call is bounded however
    /// sparse the table is; it may then return fewer than `count`.
    pub fn sample(
        &self,
        count: usize,
        rng: &mut impl FnMut() -> u64,
        out: &mut std::vec::Vec<EntryPtr>,
    ) {
        if self.is_empty() || count == 0 {
            return;
        }
        let tables: &[Table<A>] = if self.is_moving() {
            &self.tables
        } else {
            &self.tables[..1]
        };
        let moving = tables.len() == 2;
        let max_mask = tables.iter().map(Table::mask).max().unwrap_or(0);
        let mut idx = (rng() as usize) & max_mask;
        let mut empty_run = 0;
        let mut taken = 0;
        for _ in 0..count.saturating_mul(SAMPLE_STEPS_PER_ENTRY) {
            for (j, table) in tables.iter().enumerate() {
                if moving && j == 0 && idx < self.rehash_idx {
                    // Already moved: nothing there. Past the end of the new array too (a shrink), jump to the
                    // part of the old array still holding entries.
                    if idx >= self.tables[1].size {
                        idx = self.rehash_idx;
                    } else {
                        continue;
                    }
                }
                if idx >= table.size {
                    continue;
                }
                let mut cursor = table.buckets.get(idx);
                if cursor.is_none() {
                    empty_run += 1;
                    if empty_run >= 5 && empty_run > count {
                        idx = (rng() as usize) & max_mask;
                        empty_run = 0;
                    }
                    continue;
                }
                empty_run = 0;
                while let Some(e) = cursor {
                    out.push(e);
                    taken += 1;
                    if taken == count {
                        return;
                    }
                    cursor = e.next();
                }
            }
            idx = (idx + 1) & max_mask;
        }
    }

    /// Calls `visit` on every entry (the callback must not link or unlink).
    pub fn for_each(&self, mut visit: impl FnMut(EntryPtr)) {
        for table in &self.tables {
            table.drain_each(&mut visit);
        }
    }
}
