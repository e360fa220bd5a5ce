//! [`Table`]: the hash table of [`Packed`] entries behind the `hashtable` encodings of sets and hashes and
//! the member index of big sorted sets, resized incrementally.
//!
//! A `hashbrown` table grows by rehashing every entry at once, which for a million-member set is tens of
//! milliseconds inside one command. Like Redis's `dict`, this table instead resizes over many operations: it
//! allocates the new array, keeps the old one as `old`, and every mutating operation moves at most
//! [`MOVE_ENTRIES_PER_STEP`] entries (visiting at most [`MOVE_BUCKETS_PER_STEP`] old buckets) until `old` is
//! empty and freed. New entries go to the new array; lookups, updates and removals look in both.
//!
//! The new array is sized for every entry of both arrays plus the growth to come, so moving an entry or
//! inserting one never reallocates it; should it fill up before the move ends (only when entries arrive much
//! faster than a step moves them), the rest of the move is done at once. A reservation at least as large as
//! the table (a bulk build) also resizes at once: its cost is then proportional to the caller's own work.
//!
//! SCAN pages by home bucket with Redis's reverse-binary cursor (see [`super::super::home_scan`]).
//!
//! Random picks stay exactly uniform: every occupied bucket holds one entry, the array is chosen in
//! proportion to its entries, and the bucket by rejection sampling over the part that can hold entries.

use super::super::home_scan::{scan_arrays, with_home_tag};
use super::{KeyOf, Packed};
use crate::types::{AllocError, Rng};
use allocator_api2::alloc::Allocator;
use core::hash::BuildHasher;
use hashbrown::{DefaultHashBuilder, HashTable};

/// Entries moved per mutating operation at most during a resize.
pub(crate) const MOVE_ENTRIES_PER_STEP: usize = 16;

/// Old buckets visited per mutating operation at most during a resize (empty ones included).
pub(crate) const MOVE_BUCKETS_PER_STEP: usize = 128;

/// Random probes before falling back to a scan (a table >= 1/8 full fails all with p < 1e-29).
const RANDOM_TRIES_MAX: usize = 512;

/// Tables with at least this many buckets shrink when under 1/8 full (Redis: 10%).
const SHRINK_BUCKETS_MIN: usize = 64;

/// Iterator over every entry of a [`Table`] (both arrays during a resize).
pub(crate) type TableIter<'a, A, const N: usize> = core::iter::Chain<
    hashbrown::hash_table::Iter<'a, Packed<A, N>>,
    hashbrown::hash_table::Iter<'a, Packed<A, N>>,
>;

/// A hash table of [`Packed`] entries keyed by [`KeyOf::key`], hashed with a per-table random
/// seed (hash-flooding resistance, as Redis's siphash seed).
pub(crate) struct Table<A: Allocator, const N: usize, K> {
    /// Receives new entries, and the moved ones during a resize. Invariant during a resize:
    /// `table.capacity() >= table.len() + old.len()`, so neither a move nor an insert reallocates it.
    table: HashTable<Packed<A, N>, A>,
    /// The array being emptied into `table` during a resize; unallocated (capacity 0) otherwise. Its
    /// buckets below `move_idx` are empty.
    old: HashTable<Packed<A, N>, A>,
    /// The next bucket of `old` to move.
    move_idx: usize,
    hasher: DefaultHashBuilder,
    /// Sum of `heap_bytes` over entries (kept for O(1) `mem_bytes`).
    heap_bytes: usize,
    key_of: core::marker::PhantomData<K>,
}

/// The hash `hashbrown` gets for `key`: the seeded hash with its low 7 bits repeated as the tag, so SCAN
/// finds a home bucket's entries with one tag probe ([`with_home_tag`]).
fn hash_key(hasher: &DefaultHashBuilder, key: &[u8]) -> u64 {
    with_home_tag(hasher.hash_one(key))
}

impl<A: Allocator + Copy, const N: usize, K: KeyOf> Table<A, N, K> {
    pub(crate) fn with_capacity_in(capacity: usize, alloc: A) -> Result<Self, AllocError> {
        let mut table = Table {
            table: HashTable::new_in(alloc),
            old: HashTable::new_in(alloc),
            move_idx: 0,
            hasher: DefaultHashBuilder::default(),
            heap_bytes: 0,
            key_of: core::marker::PhantomData,
        };
        table.reserve(capacity)?;
        Ok(table)
    }

    fn hash(&self, key: &[u8]) -> u64 {
        hash_key(&self.hasher, key)
    }

    fn alloc(&self) -> A {
        *self.table.allocator()
    }

    pub(crate) fn len(&self) -> usize {
        self.table.len() + self.old.len()
    }

    /// Whether a resize is under way (two arrays held).
    pub(crate) fn is_resizing(&self) -> bool {
        self.old.capacity() != 0
    }

    /// Bytes held: both arrays during a resize, plus the entries' heap parts.
    pub(crate) fn mem_bytes(&self) -> usize {
        self.table.allocation_size() + self.old.allocation_size() + self.heap_bytes
    }

    /// Makes room so that `additional` inserts cannot fail to allocate.
    pub(crate) fn reserve(&mut self, additional: usize) -> Result<(), AllocError> {
        if self.is_resizing() {
            let free = self.table.capacity() - self.table.len();
            if free >= additional.saturating_add(self.old.len()) {
                return Ok(());
            }
            self.finish_resize();
        }
        if self.table.capacity() - self.table.len() >= additional {
            return Ok(());
        }
        let len = self.table.len();
        if additional >= len {
            let hasher = &self.hasher;
            return self
                .table
                .try_reserve(additional, |e| hash_key(hasher, K::key(e.as_bytes())))
                .map_err(|_| AllocError);
        }
        let capacity = (self.table.capacity() * 2).max(len + additional);
        self.start_resize(capacity)
    }

    /// Allocates the new array for `capacity` entries; the entries move over in later steps.
    fn start_resize(&mut self, capacity: usize) -> Result<(), AllocError> {
        debug_assert!(!self.is_resizing());
        let mut fresh: HashTable<Packed<A, N>, A> = HashTable::new_in(self.alloc());
        let hasher = &self.hasher;
        fresh
            .try_reserve(capacity, |e| hash_key(hasher, K::key(e.as_bytes())))
            .map_err(|_| AllocError)?;
        self.old = core::mem::replace(&mut self.table, fresh);
        self.move_idx = 0;
        Ok(())
    }

    /// One step of a resize under way: moves up to [`MOVE_ENTRIES_PER_STEP`] entries.
    fn step(&mut self) {
        if self.is_resizing() {
            self.advance(MOVE_ENTRIES_PER_STEP, MOVE_BUCKETS_PER_STEP);
        }
    }

    /// Ends a resize under way at once.
    fn finish_resize(&mut self) {
        if self.is_resizing() {
            self.advance(usize::MAX, usize::MAX);
        }
    }

    /// Moves up to `entries_max` entries, visiting up to `buckets_max` old buckets; frees `old` once empty.
    fn advance(&mut self, entries_max: usize, buckets_max: usize) {
        let (mut moved, mut visited) = (0, 0);
        let hasher = &self.hasher;
        while !self.old.is_empty() && moved < entries_max && visited < buckets_max {
            debug_assert!(self.move_idx < self.old.num_buckets());
            if let Ok(found) = self.old.get_bucket_entry(self.move_idx) {
                let (entry, _) = found.remove();
                let hash = hash_key(hasher, K::key(entry.as_bytes()));
                debug_assert!(self.table.len() < self.table.capacity());
                self.table
                    .insert_unique(hash, entry, |e| hash_key(hasher, K::key(e.as_bytes())));
                moved += 1;
            }
            self.move_idx += 1;
            visited += 1;
        }
        if self.old.is_empty() {
            self.old = HashTable::new_in(self.alloc());
            self.move_idx = 0;
        }
    }

    pub(crate) fn get(&self, key: &[u8]) -> Option<&[u8]> {
        let hash = self.hash(key);
        let eq = |e: &Packed<A, N>| K::key(e.as_bytes()) == key;
        match self.table.find(hash, eq) {
            Some(entry) => Some(entry.as_bytes()),
            None if self.old.is_empty() => None,
            None => self.old.find(hash, eq).map(|e| e.as_bytes()),
        }
    }

    /// The entry with `key`, for in-place edits that leave its key unchanged.
    #[cfg(test)]
    pub(crate) fn get_mut(&mut self, key: &[u8]) -> Option<&mut [u8]> {
        self.step();
        self.find_mut(self.hash(key), key).map(|e| e.as_bytes_mut())
    }

    fn find_mut(&mut self, hash: u64, key: &[u8]) -> Option<&mut Packed<A, N>> {
        let eq = |e: &Packed<A, N>| K::key(e.as_bytes()) == key;
        match self.table.find_mut(hash, eq) {
            Some(entry) => Some(entry),
            None if self.old.is_empty() => None,
            None => self.old.find_mut(hash, eq),
        }
    }

    /// Inserts or replaces the entry with `entry`'s key (built from `parts`); whether it was new.
    pub(crate) fn upsert(&mut self, parts: &[&[u8]]) -> Result<bool, AllocError> {
        let entry = Packed::try_new(parts, self.alloc())?;
        let hash = self.hash(K::key(entry.as_bytes()));
        self.step();
        if let Some(slot) = self.find_mut(hash, K::key(entry.as_bytes())) {
            let (old_heap, new_heap) = (slot.heap_bytes(), entry.heap_bytes());
            *slot = entry;
            self.heap_bytes = self.heap_bytes - old_heap + new_heap;
            return Ok(false);
        }
        self.reserve(1)?;
        self.heap_bytes += entry.heap_bytes();
        let hasher = &self.hasher;
        // Cannot allocate: `reserve(1)` above left room for one more entry.
        self.table
            .insert_unique(hash, entry, |e| hash_key(hasher, K::key(e.as_bytes())));
        Ok(true)
    }

    pub(crate) fn remove(&mut self, key: &[u8]) -> bool {
        self.step();
        let hash = self.hash(key);
        let eq = |e: &Packed<A, N>| K::key(e.as_bytes()) == key;
        let removed = match self.table.find_entry(hash, eq) {
            Ok(found) => Some(found.remove().0),
            Err(_) if self.old.is_empty() => None,
            Err(_) => self
                .old
                .find_entry(hash, eq)
                .ok()
                .map(|found| found.remove().0),
        };
        let Some(entry) = removed else {
            return false;
        };
        self.heap_bytes -= entry.heap_bytes();
        drop(entry);
        self.maybe_shrink();
        true
    }

    /// Starts moving into a smaller array when sparse, so random sampling stays O(1). Best effort:
    /// if the allocation fails the sparse table is kept.
    fn maybe_shrink(&mut self) {
        let buckets = self.table.num_buckets();
        if self.is_resizing() || buckets < SHRINK_BUCKETS_MIN || self.table.len() * 8 >= buckets {
            return;
        }
        // Room for the entries plus what may arrive while the sparse old array is walked (at most
        // MOVE_BUCKETS_PER_STEP of its buckets per operation), so the move is not cut short.
        let len = self.table.len();
        let _ = self.start_resize(len + len / 2 + buckets / MOVE_BUCKETS_PER_STEP + 1);
    }

    /// One SCAN step (SSCAN/HSCAN of the `hashtable` encodings): hands `visit` every entry of the home buckets
    /// `cursor` names (both arrays during a resize) and returns the next cursor, 0 when done. An entry present
    /// from the first call to the last is handed over at least once, resizes included.
    pub(crate) fn scan(&self, cursor: u64, mut visit: impl FnMut(&[u8])) -> u64 {
        let hasher = &self.hasher;
        scan_arrays(
            &self.table,
            &self.old,
            cursor,
            |e| hash_key(hasher, K::key(e.as_bytes())),
            |e| visit(e.as_bytes()),
        )
    }

    pub(crate) fn iter(&self) -> TableIter<'_, A, N> {
        self.table.iter().chain(self.old.iter())
    }

    /// A uniformly random occupied bucket: `(in old, index)`. The array is drawn in proportion to its entries,
    /// then a bucket by rejection sampling (over `old`'s part not yet moved).
    fn random_bucket(&self, rng: &mut impl Rng) -> Option<(bool, usize)> {
        let total = self.len();
        if total == 0 {
            return None;
        }
        let in_old = !self.old.is_empty() && rng.below(total) < self.old.len();
        let (table, start) = if in_old {
            (&self.old, self.move_idx)
        } else {
            (&self.table, 0)
        };
        let span = table.num_buckets() - start;
        for _ in 0..RANDOM_TRIES_MAX {
            let index = start + rng.below(span);
            if table.get_bucket(index).is_some() {
                return Some((in_old, index));
            }
        }
        // Only reachable when a shrink failed to allocate: scan on from a random bucket.
        let first = rng.below(span);
        (0..span)
            .map(|i| start + (first + i) % span)
            .find(|&index| table.get_bucket(index).is_some())
            .map(|index| (in_old, index))
    }

    pub(crate) fn random(&self, rng: &mut impl Rng) -> Option<&[u8]> {
        let (in_old, index) = self.random_bucket(rng)?;
        let table = if in_old { &self.old } else { &self.table };
        table.get_bucket(index).map(|e| e.as_bytes())
    }

    /// Removes a random entry, showing it to `f` first.
    pub(crate) fn pop_random<R>(
        &mut self,
        rng: &mut impl Rng,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Option<R> {
        self.step();
        let (in_old, index) = self.random_bucket(rng)?;
        let table = if in_old {
            &mut self.old
        } else {
            &mut self.table
        };
        let (entry, _) = table.get_bucket_entry(index).ok()?.remove();
        self.heap_bytes -= entry.heap_bytes();
        let result = f(entry.as_bytes());
        drop(entry);
        self.maybe_shrink();
        Some(result)
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
