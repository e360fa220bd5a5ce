//! Byte strings stored inline in a hash-table slot when short, on the heap otherwise, and the
//! hash table of them shared by [`super::Set`] and [`super::Hash`].

use super::{AllocError, Rng};
use allocator_api2::alloc::Allocator;
use allocator_api2::boxed::Box;
use allocator_api2::vec::Vec;
use core::hash::BuildHasher;
use hashbrown::{DefaultHashBuilder, HashTable};

/// Bytes inline up to `N` (slot size `N + 2` rounded to 8), else a boxed slice.
pub(crate) enum Packed<A: Allocator, const N: usize> {
    /// `len <= N`; `buf[..len]` is the content.
    Inline { len: u8, buf: [u8; N] },
    /// Content longer than `N`.
    Heap(Box<[u8], A>),
}

impl<A: Allocator + Copy, const N: usize> Packed<A, N> {
    /// The concatenation of `parts`, allocating only when longer than `N`.
    pub(crate) fn try_new(parts: &[&[u8]], alloc: A) -> Result<Self, AllocError> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if total <= N {
            let mut buf = [0u8; N];
            let mut at = 0;
            for part in parts {
                buf[at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
            return Ok(Packed::Inline {
                len: total as u8,
                buf,
            });
        }
        let mut heap = Vec::new_in(alloc);
        heap.try_reserve_exact(total).map_err(|_| AllocError)?;
        for part in parts {
            heap.extend_from_slice(part);
        }
        // `try_reserve_exact` on an empty Vec allocates exactly `total`, so this does not realloc.
        debug_assert_eq!(heap.capacity(), heap.len());
        Ok(Packed::Heap(heap.into_boxed_slice()))
    }
}

impl<A: Allocator, const N: usize> Packed<A, N> {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Packed::Inline { len, buf } => &buf[..usize::from(*len)],
            Packed::Heap(bytes) => bytes,
        }
    }

    /// The content for in-place edits that keep its length (and its key).
    pub(crate) fn as_bytes_mut(&mut self) -> &mut [u8] {
        match self {
            Packed::Inline { len, buf } => &mut buf[..usize::from(*len)],
            Packed::Heap(bytes) => bytes,
        }
    }

    /// Heap bytes held outside the slot.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Packed::Inline { .. } => 0,
            Packed::Heap(bytes) => bytes.len(),
        }
    }
}

/// How a table finds an entry's key inside its packed bytes.
pub(crate) trait KeyOf {
    fn key(entry: &[u8]) -> &[u8];
}

/// A hash table of [`Packed`] entries keyed by [`KeyOf::key`], hashed with a per-table random
/// seed (hash-flooding resistance, as Redis's siphash seed).
pub(crate) struct Table<A: Allocator, const N: usize, K> {
    table: HashTable<Packed<A, N>, A>,
    hasher: DefaultHashBuilder,
    /// Sum of `heap_bytes` over entries (kept for O(1) `mem_bytes`).
    heap_bytes: usize,
    key_of: core::marker::PhantomData<K>,
}

/// Random probes before falling back to a scan (a table >= 1/8 full fails all with p < 1e-29).
const RANDOM_TRIES_MAX: usize = 512;

/// Tables with at least this many buckets shrink when under 1/8 full (Redis: 10%).
const SHRINK_BUCKETS_MIN: usize = 64;

impl<A: Allocator + Copy, const N: usize, K: KeyOf> Table<A, N, K> {
    pub(crate) fn with_capacity_in(capacity: usize, alloc: A) -> Result<Self, AllocError> {
        let mut table = Table {
            table: HashTable::new_in(alloc),
            hasher: DefaultHashBuilder::default(),
            heap_bytes: 0,
            key_of: core::marker::PhantomData,
        };
        table.reserve(capacity)?;
        Ok(table)
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    pub(crate) fn mem_bytes(&self) -> usize {
        self.table.allocation_size() + self.heap_bytes
    }

    pub(crate) fn reserve(&mut self, additional: usize) -> Result<(), AllocError> {
        let hasher = &self.hasher;
        self.table
            .try_reserve(additional, |e| hasher.hash_one(K::key(e.as_bytes())))
            .map_err(|_| AllocError)
    }

    pub(crate) fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.table
            .find(self.hash(key), |e| K::key(e.as_bytes()) == key)
            .map(|e| e.as_bytes())
    }

    /// The entry with `key`, for in-place edits that leave its key unchanged.
    pub(crate) fn get_mut(&mut self, key: &[u8]) -> Option<&mut [u8]> {
        let hash = self.hash(key);
        self.table
            .find_mut(hash, |e| K::key(e.as_bytes()) == key)
            .map(|e| e.as_bytes_mut())
    }

    /// Inserts or replaces the entry with `entry`'s key (built from `parts`); whether it was new.
    pub(crate) fn upsert(&mut self, parts: &[&[u8]]) -> Result<bool, AllocError> {
        let entry = Packed::try_new(parts, *self.table.allocator())?;
        let key = K::key(entry.as_bytes());
        let hash = self.hash(key);
        if let Some(slot) = self.table.find_mut(hash, |e| K::key(e.as_bytes()) == key) {
            self.heap_bytes = self.heap_bytes - slot.heap_bytes() + entry.heap_bytes();
            *slot = entry;
            return Ok(false);
        }
        self.reserve(1)?;
        self.heap_bytes += entry.heap_bytes();
        let hasher = &self.hasher;
        // Cannot allocate: `reserve(1)` above left room for one more entry.
        self.table
            .insert_unique(hash, entry, |e| hasher.hash_one(K::key(e.as_bytes())));
        Ok(true)
    }

    pub(crate) fn remove(&mut self, key: &[u8]) -> bool {
        let hash = self.hash(key);
        match self.table.find_entry(hash, |e| K::key(e.as_bytes()) == key) {
            Ok(found) => {
                let (entry, _) = found.remove();
                self.heap_bytes -= entry.heap_bytes();
                self.maybe_shrink();
                true
            }
            Err(_) => false,
        }
    }

    /// Rebuilds into a smaller table when sparse, so random sampling stays O(1). Best effort:
    /// if the allocation fails the sparse table is kept.
    fn maybe_shrink(&mut self) {
        let buckets = self.table.num_buckets();
        if buckets < SHRINK_BUCKETS_MIN || self.table.len() * 8 >= buckets {
            return;
        }
        let mut smaller = HashTable::new_in(*self.table.allocator());
        let hasher = &self.hasher;
        let hash = |e: &Packed<A, N>| hasher.hash_one(K::key(e.as_bytes()));
        if smaller.try_reserve(self.table.len(), hash).is_err() {
            return;
        }
        for entry in self.table.drain() {
            smaller.insert_unique(hash(&entry), entry, hash);
        }
        self.table = smaller;
    }

    pub(crate) fn iter(&self) -> hashbrown::hash_table::Iter<'_, Packed<A, N>> {
        self.table.iter()
    }

    /// A uniformly random occupied bucket (rejection sampling; the table is kept >= 1/8 full).
    fn random_bucket(&self, rng: &mut impl Rng) -> Option<usize> {
        if self.table.is_empty() {
            return None;
        }
        let buckets = self.table.num_buckets();
        for _ in 0..RANDOM_TRIES_MAX {
            let index = rng.below(buckets);
            if self.table.get_bucket(index).is_some() {
                return Some(index);
            }
        }
        // Only reachable when a shrink failed to allocate: scan on from a random bucket.
        let start = rng.below(buckets);
        (0..buckets)
            .map(|i| (start + i) % buckets)
            .find(|&index| self.table.get_bucket(index).is_some())
    }

    pub(crate) fn random(&self, rng: &mut impl Rng) -> Option<&[u8]> {
        let index = self.random_bucket(rng)?;
        self.table.get_bucket(index).map(|e| e.as_bytes())
    }

    /// Removes a random entry, showing it to `f` first.
    pub(crate) fn pop_random<R>(
        &mut self,
        rng: &mut impl Rng,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Option<R> {
        let index = self.random_bucket(rng)?;
        let (entry, _) = self.table.get_bucket_entry(index).ok()?.remove();
        self.heap_bytes -= entry.heap_bytes();
        let result = f(entry.as_bytes());
        drop(entry);
        self.maybe_shrink();
        Some(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use allocator_api2::alloc::Global;

    #[test]
    fn slot_sizes() {
        assert_eq!(core::mem::size_of::<Packed<Global, 22>>(), 24);
        assert_eq!(core::mem::size_of::<Packed<Global, 30>>(), 32);
    }
}
