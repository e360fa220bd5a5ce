//! A chained hash table of [`EntryPtr`]s, like Redis's `dict`: a power-of-two bucket array whose chains run
//! through each entry's own `next` field (no per-entry node), so the index costs 8 bytes per bucket and nothing per
//! key. Owning the bucket layout gives what an open-addressing map cannot: Redis's reverse-binary SCAN cursor
//! (a key present for the whole scan is returned even if the table grows or shrinks between calls) and O(1) random
//! sampling for RANDOMKEY, eviction and active expiry.
//!
//! The table grows at load 1 and shrinks below 1/8 (Redis's 10% minimum fill), rehashing all at once. A failed
//! growth allocation (budget full) is not an error: chains just get longer until memory is available.
//!
//! The dict links and unlinks entries; it never frees them. The owner ([`crate::db::Db`]) does.

use crate::entry::EntryPtr;
use allocator_api2::alloc::{AllocError, Allocator};
use allocator_api2::vec::Vec;
use std::hash::BuildHasher;

const BUCKETS_MIN: usize = 4;

/// The chained table. `A` is the KV strategy: the bucket array is allocated from it.
pub struct Dict<A: Allocator + Copy> {
    /// Empty or a power of two long.
    buckets: Vec<Option<EntryPtr>, A>,
    /// Number of linked entries.
    len: usize,
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
            buckets: Vec::new_in(alloc),
            len: 0,
            hasher: hashbrown::DefaultHashBuilder::default(),
        }
    }

    /// The allocator the bucket array comes from.
    pub fn allocator(&self) -> A {
        *self.buckets.allocator()
    }

    /// Linked entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is linked.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Size of the bucket array.
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    /// Bytes held by the bucket array.
    pub fn index_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<Option<EntryPtr>>()
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    #[inline]
    fn slot(&self, key: &[u8]) -> usize {
        (self.hash(key) as usize) & (self.buckets.len() - 1)
    }

    /// The entry with this key.
    #[inline]
    pub fn find(&self, key: &[u8]) -> Option<EntryPtr> {
        if self.len == 0 {
            return None;
        }
        let mut cursor = self.buckets[self.slot(key)];
        while let Some(entry) = cursor {
            if entry.key() == key {
                return Some(entry);
            }
            cursor = entry.next();
        }
        None
    }

    /// Links `entry`, whose key must not be present. Fails only when the very first bucket array cannot be
    /// allocated.
    pub fn insert(&mut self, entry: EntryPtr) -> Result<(), AllocError> {
        debug_assert!(self.find(entry.key()).is_none());
        if self.buckets.is_empty() {
            self.resize(BUCKETS_MIN)?;
        } else if self.len >= self.buckets.len() {
            // A failed growth only lengthens chains.
            let _ = self.resize(self.buckets.len() * 2);
        }
        let slot = self.slot(entry.key());
        entry.set_next(self.buckets[slot]);
        self.buckets[slot] = Some(entry);
        self.len += 1;
        Ok(())
    }

    /// Unlinks and returns the entry with this key.
    pub fn unlink(&mut self, key: &[u8]) -> Option<EntryPtr> {
        if self.len == 0 {
            return None;
        }
        let slot = self.slot(key);
        let mut prev: Option<EntryPtr> = None;
        let mut cursor = self.buckets[slot];
        while let Some(entry) = cursor {
            if entry.key() == key {
                match prev {
                    Some(prev) => prev.set_next(entry.next()),
                    None => self.buckets[slot] = entry.next(),
                }
                entry.set_next(None);
                self.len -= 1;
                self.maybe_shrink();
                return Some(entry);
            }
            prev = Some(entry);
            cursor = entry.next();
        }
        None
    }

    /// Puts `new` where `old` is linked. Both must have the same key.
    pub fn replace(&mut self, old: EntryPtr, new: EntryPtr) {
        debug_assert_eq!(old.key(), new.key());
        let slot = self.slot(old.key());
        new.set_next(old.next());
        let mut cursor = self.buckets[slot];
        if cursor == Some(old) {
            self.buckets[slot] = Some(new);
            return;
        }
        while let Some(entry) = cursor {
            if entry.next() == Some(old) {
                entry.set_next(Some(new));
                return;
            }
            cursor = entry.next();
        }
        debug_assert!(false, "replace: old entry not linked");
    }

    fn maybe_shrink(&mut self) {
        let buckets = self.buckets.len();
        if buckets > BUCKETS_MIN && self.len * 8 < buckets {
            let target = self.len.next_power_of_two().max(BUCKETS_MIN);
            let _ = self.resize(target);
        }
    }

    /// Rehashes into `size` buckets (a power of two).
    fn resize(&mut self, size: usize) -> Result<(), AllocError> {
        debug_assert!(size.is_power_of_two());
        let mut fresh: Vec<Option<EntryPtr>, A> = Vec::new_in(*self.buckets.allocator());
        fresh.try_reserve_exact(size).map_err(|_| AllocError)?;
        fresh.resize(size, None);
        let mask = size - 1;
        for head in self.buckets.iter() {
            let mut cursor = *head;
            while let Some(entry) = cursor {
                cursor = entry.next();
                let slot = (self.hash(entry.key()) as usize) & mask;
                entry.set_next(fresh[slot]);
                fresh[slot] = Some(entry);
            }
        }
        self.buckets = fresh;
        Ok(())
    }

    /// Visits one bucket's worth of entries for SCAN and returns the next cursor (0 when done). Redis's
    /// reverse-binary iteration: every entry present from the first call to the last is visited at least once,
    /// even if the table was resized in between.
    pub fn scan(&self, cursor: u64, mut visit: impl FnMut(EntryPtr)) -> u64 {
        if self.buckets.is_empty() {
            return 0;
        }
        let mask = (self.buckets.len() - 1) as u64;
        let mut entry = self.buckets[(cursor & mask) as usize];
        while let Some(e) = entry {
            visit(e);
            entry = e.next();
        }
        let mut v = cursor | !mask;
        v = v.reverse_bits();
        v = v.wrapping_add(1);
        v.reverse_bits()
    }

    /// A uniformly chosen bucket's random entry (Redis's dictGetRandomKey); `rng` gives random u64s.
    pub fn random_entry(&self, rng: &mut impl FnMut() -> u64) -> Option<EntryPtr> {
        if self.len == 0 {
            return None;
        }
        let mask = self.buckets.len() - 1;
        let mut head = None;
        // Load is at least 1/8, so a non-empty bucket is found in a few tries; bound the loop all the same.
        for _ in 0..1024 {
            head = self.buckets[(rng() as usize) & mask];
            if head.is_some() {
                break;
            }
        }
        if head.is_none() {
            head = self.buckets.iter().flatten().next().copied();
        }
        let head = head?;
        let mut chain_len = 0;
        let mut cursor = Some(head);
        while let Some(e) = cursor {
            chain_len += 1;
            cursor = e.next();
        }
        let mut pick = (rng() as usize) % chain_len;
        let mut cursor = head;
        while pick > 0 {
            cursor = cursor.next()?;
            pick -= 1;
        }
        Some(cursor)
    }

    /// Up to `count` entries from consecutive buckets starting at a random one (Redis's dictGetSomeKeys), for
    /// eviction sampling.
    pub fn sample(
        &self,
        count: usize,
        rng: &mut impl FnMut() -> u64,
        out: &mut std::vec::Vec<EntryPtr>,
    ) {
        if self.len == 0 || count == 0 {
            return;
        }
        let mask = self.buckets.len() - 1;
        let mut slot = (rng() as usize) & mask;
        let mut empty_run = 0;
        let mut taken = 0;
        for _ in 0..self.buckets.len() {
            let mut cursor = self.buckets[slot];
            if cursor.is_none() {
                empty_run += 1;
                if empty_run >= 5 && empty_run > count {
                    slot = (rng() as usize) & mask;
                    empty_run = 0;
                    continue;
                }
            } else {
                empty_run = 0;
            }
            while let Some(e) = cursor {
                out.push(e);
                taken += 1;
                if taken == count {
                    return;
                }
                cursor = e.next();
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Calls `visit` on every entry (the callback must not link or unlink).
    pub fn for_each(&self, mut visit: impl FnMut(EntryPtr)) {
        for head in self.buckets.iter() {
            let mut cursor = *head;
            while let Some(e) = cursor {
                cursor = e.next();
                visit(e);
            }
        }
    }

    /// Unlinks every entry, handing each to `free`, and releases the bucket array.
    pub fn clear(&mut self, mut free: impl FnMut(EntryPtr)) {
        for head in self.buckets.iter() {
            let mut cursor = *head;
            while let Some(e) = cursor {
                cursor = e.next();
                free(e);
            }
        }
        let alloc = *self.buckets.allocator();
        self.buckets = Vec::new_in(alloc);
        self.len = 0;
    }

    /// Forgets every entry and the bucket array without touching their memory: only after the KV strategy freed
    /// it all at once (pool reset).
    pub fn forget(&mut self) {
        let alloc = *self.buckets.allocator();
        std::mem::forget(std::mem::replace(&mut self.buckets, Vec::new_in(alloc)));
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::PayloadInit;
    use allocator_api2::alloc::Global;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn entry(key: &[u8]) -> EntryPtr {
        EntryPtr::new(Global, key, None, PayloadInit::Int(1), 0).unwrap()
    }

    proptest! {
        #[test]
        fn behaves_like_a_set(ops in proptest::collection::vec((any::<bool>(), 0u16..300), 0..600)) {
            let mut dict: Dict<Global> = Dict::new(Global);
            let mut model = BTreeMap::new();
            for (insert, k) in ops {
                let key = k.to_string().into_bytes();
                if insert {
                    if !model.contains_key(&key) {
                        let e = entry(&key);
                        dict.insert(e).unwrap();
                        model.insert(key.clone(), e);
                    }
                } else if let Some(e) = dict.unlink(&key) {
                    prop_assert_eq!(model.remove(&key), Some(e));
                    unsafe { e.free(Global) };
                } else {
                    prop_assert!(!model.contains_key(&key));
                }
                prop_assert_eq!(dict.len(), model.len());
            }
            for (k, e) in &model {
                prop_assert_eq!(dict.find(k), Some(*e));
            }
            let mut seen = BTreeSet::new();
            dict.for_each(|e| { seen.insert(e.key().to_vec()); });
            prop_assert_eq!(seen.len(), model.len());
            dict.clear(|e| unsafe { e.free(Global) });
            prop_assert_eq!(dict.len(), 0);
        }

        /// Keys present for the whole scan are returned, even though the table grows and shrinks during it.
        #[test]
        fn scan_survives_resizes(n in 1usize..400, churn in 0usize..400) {
            let mut dict: Dict<Global> = Dict::new(Global);
            for i in 0..n {
                dict.insert(entry(format!("stable{i}").as_bytes())).unwrap();
            }
            let mut seen = BTreeSet::new();
            let mut cursor = 0;
            let mut step = 0;
            loop {
                cursor = dict.scan(cursor, |e| { seen.insert(e.key().to_vec()); });
                // Grow, then shrink, the table between calls.
                if step % 2 == 0 {
                    for j in 0..churn { dict.insert(entry(format!("temp{step}_{j}").as_bytes())).unwrap(); }
                } else {
                    for j in 0..churn {
                        if let Some(e) = dict.unlink(format!("temp{}_{j}", step - 1).as_bytes()) { unsafe { e.free(Global) }; }
                    }
                }
                step += 1;
                if cursor == 0 { break; }
                prop_assert!(step < 100_000);
            }
            for i in 0..n {
                let key = format!("stable{i}").into_bytes();
                prop_assert!(seen.contains(&key));
            }
            dict.clear(|e| unsafe { e.free(Global) });
        }
    }

    #[test]
    fn random_and_sample_return_members() {
        let mut dict: Dict<Global> = Dict::new(Global);
        let mut state = 12345u64;
        let mut rng = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        assert!(dict.random_entry(&mut rng).is_none());
        for i in 0..100 {
            dict.insert(entry(format!("k{i}").as_bytes())).unwrap();
        }
        for _ in 0..100 {
            let e = dict.random_entry(&mut rng).unwrap();
            assert_eq!(dict.find(e.key()), Some(e));
        }
        let mut out = std::vec::Vec::new();
        dict.sample(16, &mut rng, &mut out);
        assert_eq!(out.len(), 16);
        dict.clear(|e| unsafe { e.free(Global) });
    }
}
