//! A chained hash table of [`EntryPtr`]s, like Redis's `dict`: power-of-two bucket arrays whose chains run
//! through each entry's own `next` field (no per-entry node), so the index costs 5 or 6 bytes per bucket (an entry
//! address, `dict_buckets.rs`: 5 bytes in a KV pool region below 2^42, the default) and nothing per key. Owning the bucket layout gives what an open-addressing map cannot: Redis's reverse-binary SCAN cursor
//! (a key present for the whole scan is returned even if the table grows or shrinks between calls) and O(1) random
//! sampling for RANDOMKEY, eviction and active expiry.
//!
//! # Incremental rehashing
//! The table grows at load 1 and shrinks below 1/8 (Redis's 10% minimum fill). A resize never moves the whole
//! table at once: as in Redis, the dict then holds two bucket arrays, `tables[0]` (the old one) and `tables[1]`
//! (the new one), and every mutation ([`Dict::insert`], [`Dict::unlink`], [`Dict::replace`]), every
//! [`Dict::rehash_step`] (the keyspace calls it on each key lookup) and the cron ([`Dict::rehash_for`]) does a
//! bounded slice of the work. A resize goes through two phases:
//! 1. *preparing*: the new array is allocated (and charged to the budget) at once but zero-filled
//!    [`PREPARE_BUCKETS_PER_STEP`] buckets per step, so no single operation touches (and page-faults) tens of
//!    megabytes; lookups and inserts still use `tables[0]` only;
//! 2. *moving*: each step relinks the chains of one non-empty old bucket into the new array (visiting at most
//!    ten empty buckets, as Redis's `dictRehash`); new keys go to `tables[1]`; lookups, unlinks and replaces look
//!    in both. When the old array is empty it is freed on the spot and `tables[1]` becomes `tables[0]`.
//!
//! SCAN walks both arrays during the moving phase as Redis's `dictScan` does (the bucket of the smaller array,
//! then every bucket of the larger one that expands it), so its guarantee holds throughout. Random picks draw
//! from the buckets of both arrays that can still hold entries.
//!
//! A failed allocation of the new array (budget full) is not an error: chains just get longer, and the resize is
//! tried again on a later insert or unlink.
//!
//! The dict links and unlinks entries; it never frees them. The owner ([`crate::db::Db`]) does.

use crate::entry::EntryPtr;
use allocator_api2::alloc::{AllocError, Allocator};
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

#[path = "dict_buckets.rs"]
mod buckets;
#[path = "dict_iter.rs"]
mod iter;

use buckets::Buckets;
pub(crate) use iter::scan_buckets;

const BUCKETS_MIN: usize = 4;

/// The most buckets [`Dict::reserve`] makes from a hint (32 MB of index): more keys grow the table as usual.
pub const RESERVE_BUCKETS_MAX: usize = 1 << 22;

/// Buckets zero-filled per step while a new array is being prepared (8 KiB: two pages).
pub const PREPARE_BUCKETS_PER_STEP: usize = 1024;

/// Empty old buckets one moved bucket may cost a step (Redis's `empty_visits = n * 10`).
const EMPTY_VISITS_PER_BUCKET: usize = 10;

/// Buckets moved between two clock reads in [`Dict::rehash_for`] (Redis's `dictRehashMilliseconds` uses 100).
const CRON_BUCKETS_PER_ROUND: usize = 100;

/// One bucket array.
struct Table<A: Allocator + Copy> {
    /// `capacity() == size` once allocated; `len() == size` once prepared (zero-filled). Empty, or `size` a
    /// power of two.
    buckets: Buckets<A>,
    /// The intended length of `buckets` (0: no array).
    size: usize,
    /// Entries linked in this array.
    used: usize,
}

impl<A: Allocator + Copy> Table<A> {
    fn empty(alloc: A) -> Self {
        Table {
            buckets: Buckets::new_in(alloc),
            size: 0,
            used: 0,
        }
    }

    /// A zero-filled array of `size` buckets.
    fn filled(alloc: A, size: usize) -> Result<Self, AllocError> {
        let mut table = Self::reserved(alloc, size)?;
        table.buckets.fill_to(size);
        Ok(table)
    }

    /// An allocated but not yet zero-filled array of `size` buckets.
    fn reserved(alloc: A, size: usize) -> Result<Self, AllocError> {
        debug_assert!(size.is_power_of_two());
        Ok(Table {
            buckets: Buckets::with_capacity_in(alloc, size)?,
            size,
            used: 0,
        })
    }

    #[inline]
    fn mask(&self) -> usize {
        self.size.wrapping_sub(1)
    }

    fn is_prepared(&self) -> bool {
        self.buckets.len() == self.size
    }

    /// Finds `key` in the chain of its bucket.
    #[inline]
    fn find(&self, hash: u64, key: &[u8]) -> Option<EntryPtr> {
        let mut cursor = self.buckets.get((hash as usize) & self.mask());
        while let Some(entry) = cursor {
            entry.prefetch_tail();
            if entry.key() == key {
                return Some(entry);
            }
            cursor = entry.next();
        }
        None
    }

    #[inline]
    fn link(&mut self, hash: u64, entry: EntryPtr) {
        let slot = (hash as usize) & self.mask();
        entry.set_next(self.buckets.get(slot));
        self.buckets.set(slot, Some(entry));
        self.used += 1;
    }

    /// Unlinks the entry with `key` from its chain.
    fn unlink(&mut self, hash: u64, key: &[u8]) -> Option<EntryPtr> {
        let slot = (hash as usize) & self.mask();
        let mut prev: Option<EntryPtr> = None;
        let mut cursor = self.buckets.get(slot);
        while let Some(entry) = cursor {
            if entry.key() == key {
                match prev {
                    Some(prev) => prev.set_next(entry.next()),
                    None => self.buckets.set(slot, entry.next()),
                }
                entry.set_next(None);
                self.used -= 1;
                return Some(entry);
            }
            prev = Some(entry);
            cursor = entry.next();
        }
        None
    }

    /// Puts `new` where `old` is linked; whether `old` was in this array.
    fn replace(&mut self, hash: u64, old: EntryPtr, new: EntryPtr) -> bool {
        let slot = (hash as usize) & self.mask();
        let mut cursor = self.buckets.get(slot);
        if cursor == Some(old) {
            new.set_next(old.next());
            self.buckets.set(slot, Some(new));
            return true;
        }
        while let Some(entry) = cursor {
            if entry.next() == Some(old) {
                new.set_next(old.next());
                entry.set_next(Some(new));
                return true;
            }
            cursor = entry.next();
        }
        false
    }

    /// Hands every entry to `visit` (which may free it: the next link is read first).
    fn drain_each(&self, visit: &mut impl FnMut(EntryPtr)) {
        for head in self.buckets.iter() {
            let mut cursor = head;
            while let Some(e) = cursor {
                cursor = e.next();
                visit(e);
            }
        }
    }

    fn bytes(&self) -> usize {
        self.buckets.bytes()
    }
}

/// The chained table. `A` is the KV strategy: the bucket arrays are allocated from it.
pub struct Dict<A: Allocator + Copy> {
    /// `tables[0]` holds the entries; during a resize `tables[1]` is the new array (`size > 0`), being
    /// prepared or, once prepared, receiving entries. Outside a resize `tables[1]` has no array.
    tables: [Table<A>; 2],
    /// While moving: every bucket of `tables[0]` below this index is empty.
    rehash_idx: usize,
    hasher: hashbrown::DefaultHashBuilder,
}

impl<A: Allocator + Copy + Default> Default for Dict<A> {
    fn default() -> Self {
        Dict::new(A::default())
    }
}

impl<A: Allocator + Copy> Dict<A> {
    /// An empty dict allocating its buckets from `alloc`.
    pub fn new(alloc: A) -> Self {
        Dict {
            tables: [Table::empty(alloc), Table::empty(alloc)],
            rehash_idx: 0,
            hasher: hashbrown::DefaultHashBuilder::default(),
        }
    }

    /// The allocator the bucket arrays come from.
    pub fn allocator(&self) -> A {
        self.tables[0].buckets.allocator()
    }

    /// Linked entries.
    pub fn len(&self) -> usize {
        self.tables[0].used + self.tables[1].used
    }

    /// Whether nothing is linked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Buckets of both arrays (the second one only exists during a resize).
    pub fn bucket_count(&self) -> usize {
        self.tables[0].size + self.tables[1].size
    }

    /// Bytes held by the bucket arrays (both during a resize: the new array is charged from its allocation).
    pub fn index_bytes(&self) -> usize {
        self.tables[0].bytes() + self.tables[1].bytes()
    }

    /// Whether a resize is under way (two arrays held).
    pub fn is_rehashing(&self) -> bool {
        self.tables[1].size != 0
    }

    /// Whether entries are being moved to `tables[1]` (so both arrays must be consulted).
    #[inline]
    fn is_moving(&self) -> bool {
        self.tables[1].size != 0 && self.tables[1].is_prepared()
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The entry with this key.
    #[inline]
    pub fn find(&self, key: &[u8]) -> Option<EntryPtr> {
        if self.is_empty() {
            return None;
        }
        let hash = self.hash(key);
        if self.tables[0].used != 0 {
            if let Some(entry) = self.tables[0].find(hash, key) {
                return Some(entry);
            }
        }
        if self.is_moving() {
            return self.tables[1].find(hash, key);
        }
        None
    }

    /// The hash [`Dict::prefetch_bucket`] and [`Dict::prefetch_chain`] take for `key`.
    #[inline]
    pub fn prefetch_hash(&self, key: &[u8]) -> u64 {
        self.hash(key)
    }

    /// Asks the CPU for the bucket(s) a lookup of the key with `hash` ([`Dict::prefetch_hash`]) reads: the first
    /// half of a batch prefetch (a batch asks for all its buckets, then [`Dict::prefetch_chain`] for each).
    /// Only a cache hint: reads nothing.
    #[inline]
    pub fn prefetch_bucket(&self, hash: u64) {
        if self.is_empty() {
            return;
        }
        for table in self.live_tables() {
            table.buckets.prefetch((hash as usize) & table.mask());
        }
    }

    /// Reads the bucket(s) of `hash` (ordinary reads of the current arrays, so correct whatever changed since
    /// [`Dict::prefetch_bucket`]) and asks the CPU for the first entry of each chain (its key and tail lines).
    #[inline]
    pub fn prefetch_chain(&self, hash: u64) {
        if self.is_empty() {
            return;
        }
        for table in self.live_tables() {
            if let Some(entry) = table.buckets.get((hash as usize) & table.mask()) {
                entry.prefetch();
            }
        }
    }

    /// The arrays a lookup consults: `tables[0]` when it holds entries, and `tables[1]` while moving.
    #[inline]
    fn live_tables(&self) -> impl Iterator<Item = &Table<A>> {
        let first = (self.tables[0].used != 0).then_some(&self.tables[0]);
        let second = self.is_moving().then_some(&self.tables[1]);
        first.into_iter().chain(second)
    }

    /// Links `entry`, whose key must not be present. Fails only when the very first bucket array cannot be
    /// allocated.
    pub fn insert(&mut self, entry: EntryPtr) -> Result<(), AllocError> {
        debug_assert!(self.find(entry.key()).is_none());
        if self.tables[0].size == 0 {
            self.tables[0] = Table::filled(self.allocator(), BUCKETS_MIN)?;
        }
        self.rehash_step();
        if !self.is_rehashing() && self.tables[0].used >= self.tables[0].size {
            // A failed growth only lengthens chains.
            let _ = self.start_resize(self.tables[0].size * 2);
        }
        let hash = self.hash(entry.key());
        let target = usize::from(self.is_moving());
        self.tables[target].link(hash, entry);
        Ok(())
    }

    /// Sizes an empty dict for `keys` entries at once (a load's RESIZEDB hint, as Redis's `dictTryExpand`), so
    /// filling it rehashes nothing. The hint comes from a file: at most [`RESERVE_BUCKETS_MAX`] buckets are
    /// made, and a failed allocation (budget, memory) is ignored, the dict then growing as usual.
    pub fn reserve(&mut self, keys: usize) {
        if !self.is_empty() || self.is_rehashing() {
            return;
        }
        let size = keys
            .min(RESERVE_BUCKETS_MAX)
            .next_power_of_two()
            .max(BUCKETS_MIN);
        if size > self.tables[0].size {
            if let Ok(table) = Table::filled(self.allocator(), size) {
                self.tables[0] = table;
            }
        }
    }

    /// Unlinks and returns the entry with this key.
    pub fn unlink(&mut self, key: &[u8]) -> Option<EntryPtr> {
        if self.is_empty() {
            return None;
        }
        self.rehash_step();
        let hash = self.hash(key);
        let mut found = None;
        if self.tables[0].used != 0 {
            found = self.tables[0].unlink(hash, key);
        }
        if found.is_none() && self.is_moving() {
            found = self.tables[1].unlink(hash, key);
        }
        if found.is_some() {
            self.maybe_shrink();
        }
        found
    }

    /// Puts `new` where `old` is linked. Both must have the same key.
    pub fn replace(&mut self, old: EntryPtr, new: EntryPtr) {
        debug_assert_eq!(old.key(), new.key());
        self.rehash_step();
        let hash = self.hash(old.key());
        let replaced = (self.tables[0].used != 0 && self.tables[0].replace(hash, old, new))
            || (self.is_moving() && self.tables[1].replace(hash, old, new));
        debug_assert!(replaced, "replace: old entry not linked");
    }

    fn maybe_shrink(&mut self) {
        let size = self.tables[0].size;
        if !self.is_rehashing() && size > BUCKETS_MIN && self.tables[0].used * 8 < size {
            let target = self.tables[0].used.next_power_of_two().max(BUCKETS_MIN);
            let _ = self.start_resize(target);
        }
    }

    /// Allocates (and charges) the new array of `size` buckets; it is zero-filled and filled by later steps.
    fn start_resize(&mut self, size: usize) -> Result<(), AllocError> {
        debug_assert!(!self.is_rehashing());
        self.tables[1] = Table::reserved(self.allocator(), size)?;
        self.rehash_idx = 0;
        Ok(())
    }

    /// One step of a resize under way (Redis's `_dictRehashStep`): zero-fills up to
    /// [`PREPARE_BUCKETS_PER_STEP`] buckets of the new array, or moves one old bucket. Cheap when no resize is
    /// under way. Whether a resize is still under way afterwards.
    #[inline]
    pub fn rehash_step(&mut self) -> bool {
        if !self.is_rehashing() {
            return false;
        }
        self.rehash(1)
    }

    /// Resize work for about `budget` (Redis's `dictRehashMilliseconds`, which the cron gives 1 ms); returns
    /// whether a resize is still under way.
    pub fn rehash_for(&mut self, budget: Duration) -> bool {
        let start = Instant::now();
        while self.is_rehashing() {
            if !self.rehash(CRON_BUCKETS_PER_ROUND) {
                return false;
            }
            if start.elapsed() >= budget {
                break;
            }
        }
        self.is_rehashing()
    }

    /// Does `buckets` steps' worth of resize work; whether the resize is still under way.
    fn rehash(&mut self, buckets: usize) -> bool {
        let new = &mut self.tables[1];
        if !new.is_prepared() {
            let fill = (buckets * PREPARE_BUCKETS_PER_STEP).min(new.size - new.buckets.len());
            let len = new.buckets.len() + fill;
            new.buckets.fill_to(len);
            return true;
        }
        let mut moves = buckets;
        let mut empty_visits = buckets * EMPTY_VISITS_PER_BUCKET;
        while moves > 0 && self.tables[0].used != 0 {
            debug_assert!(self.rehash_idx < self.tables[0].size);
            let Some(head) = self.tables[0].buckets.take(self.rehash_idx) else {
                self.rehash_idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    return true;
                }
                continue;
            };
            let mut cursor = Some(head);
            while let Some(entry) = cursor {
                cursor = entry.next();
                let hash = self.hash(entry.key());
                self.tables[0].used -= 1;
                self.tables[1].link(hash, entry);
            }
            self.rehash_idx += 1;
            moves -= 1;
        }
        if self.tables[0].used != 0 {
            return true;
        }
        // Done: the old array is freed here, the new one takes its place.
        let alloc = self.allocator();
        self.tables[0] = std::mem::replace(&mut self.tables[1], Table::empty(alloc));
        self.rehash_idx = 0;
        false
    }

    /// Unlinks every entry, handing each to `free`, and releases the bucket arrays.
    pub fn clear(&mut self, mut free: impl FnMut(EntryPtr)) {
        for table in &self.tables {
            table.drain_each(&mut free);
        }
        let alloc = self.allocator();
        self.tables = [Table::empty(alloc), Table::empty(alloc)];
        self.rehash_idx = 0;
    }

    /// Forgets every entry and the bucket arrays without touching their memory: only after the KV strategy freed
    /// it all at once (pool reset).
    pub fn forget(&mut self) {
        let alloc = self.allocator();
        let tables =
            std::mem::replace(&mut self.tables, [Table::empty(alloc), Table::empty(alloc)]);
        std::mem::forget(tables);
        self.rehash_idx = 0;
    }
}

#[cfg(test)]
#[path = "dict_tests.rs"]
mod tests;
