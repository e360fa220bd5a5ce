//! The per-slot key index of cluster mode: for each of the 16384 hash slots, the set of its entries.
//!
//! Redis Cluster asks a node how many keys a slot holds (CLUSTER COUNTKEYSINSLOT, in O(1)), for some of
//! them (GETKEYSINSLOT, in O(count): resharding moves a slot with it), and to delete them all (a slot
//! lost to another node). Each slot keeps an open-addressing set of its entries' addresses
//! ([`SlotSet`], `slot_set.rs`), between 30% and 85% full and using the whole block its allocator hands
//! out. An entry is found by its address: the entries carry nothing, so the index costs no byte in them
//! and can be turned on over existing keys.
//!
//! Memory: 8 bytes per bucket, about 11 bytes per key, plus 16384 set headers of 24 bytes (384 KiB)
//! allocated with the first key. Redis 7.0 spends 16 bytes of dictEntry metadata per key (a doubly linked
//! list per slot). A db without the index spends nothing. Everything comes from the db's KV allocator, so
//! it is charged to the budget as the key index is.
//!
//! A slot's set is rebuilt whole when it grows past its load bound or shrinks under its lower one: O(keys
//! of the slot) at once, as a `Vec` doubling is, which matters only for a slot holding millions of keys
//! through one hash tag.

#[path = "slot_set.rs"]
mod set;

use crate::commands::Effects;
use crate::entry::EntryPtr;
use crate::{notify, Keyspace};
use allocator_api2::alloc::{AllocError, Allocator};
use allocator_api2::vec::Vec;
use set::SlotSet;
use zedis_kv_pool::KvAllocator;

pub use zedis_cluster::slot::key_hash_slot;

/// Number of hash slots.
pub const SLOTS: usize = 16384;

/// Every entry of a db by hash slot (see the module docs).
pub struct SlotIndex<A: Allocator + Copy> {
    /// Empty (unallocated) until the first key; then `SLOTS` sets whose blocks come from this vector's
    /// allocator. Invariant: the entries of `slots[s]` are exactly the db's entries with a key of slot `s`.
    slots: Vec<SlotSet, A>,
    /// Sum of the sets' bucket counts (so [`SlotIndex::bytes`] is O(1)).
    buckets_total: usize,
}

impl<A: Allocator + Copy> SlotIndex<A> {
    /// An empty index; allocates nothing.
    pub fn new_in(alloc: A) -> Self {
        SlotIndex {
            slots: Vec::new_in(alloc),
            buckets_total: 0,
        }
    }

    fn alloc(&self) -> A {
        *self.slots.allocator()
    }

    /// Bytes held (set headers and buckets).
    pub fn bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<SlotSet>()
            + self.buckets_total * std::mem::size_of::<Option<EntryPtr>>()
    }

    /// Keys in `slot` (0 for a slot out of range).
    pub fn count(&self, slot: u16) -> usize {
        self.slots.get(usize::from(slot)).map_or(0, SlotSet::len)
    }

    /// The entries of `slot`, in no particular order.
    pub fn entries(&self, slot: u16) -> impl Iterator<Item = EntryPtr> + '_ {
        self.slots
            .get(usize::from(slot))
            .into_iter()
            .flat_map(SlotSet::iter)
    }

    /// Runs `change` on `slot`'s set, keeping `buckets_total` in step.
    fn with_set<R>(&mut self, slot: u16, change: impl FnOnce(&mut SlotSet, A) -> R) -> R {
        let alloc = self.alloc();
        let set = &mut self.slots[usize::from(slot)];
        let before = set.buckets();
        let result = change(set, alloc);
        self.buckets_total = self.buckets_total - before + set.buckets();
        result
    }

    /// Makes room for one more entry of `slot`; afterwards [`SlotIndex::insert`] cannot fail.
    pub fn try_reserve_one(&mut self, slot: u16) -> Result<(), AllocError> {
        if self.slots.is_empty() {
            self.slots
                .try_reserve_exact(SLOTS)
                .map_err(|_| AllocError)?;
            self.slots.extend((0..SLOTS).map(|_| SlotSet::EMPTY));
        }
        self.with_set(slot, |set, alloc| set.try_reserve_one(alloc))
    }

    /// Adds `entry`, whose key is of `slot`, after [`SlotIndex::try_reserve_one`].
    pub fn insert(&mut self, slot: u16, entry: EntryPtr) {
        debug_assert_eq!(key_hash_slot(entry.key()), slot);
        self.slots[usize::from(slot)].insert(entry);
    }

    /// Puts `new` where `old` (same key) was. Allocates nothing.
    pub fn replace(&mut self, old: EntryPtr, new: EntryPtr) {
        let set = &mut self.slots[usize::from(key_hash_slot(old.key()))];
        let found = set.remove::<A>(old, None);
        debug_assert!(found, "slot index lost an entry");
        set.insert(new);
    }

    /// Removes `entry`.
    pub fn remove(&mut self, entry: EntryPtr) {
        let slot = key_hash_slot(entry.key());
        let found = self.with_set(slot, |set, alloc| set.remove(entry, Some(alloc)));
        debug_assert!(found, "slot index lost an entry");
    }

    /// Frees everything (the entries are the db's to free).
    pub fn clear(&mut self) {
        let alloc = self.alloc();
        for set in self.slots.iter_mut() {
            // SAFETY: every set's block came from `alloc`.
            unsafe { set.free(alloc) };
        }
        self.slots = Vec::new_in(alloc);
        self.buckets_total = 0;
    }

    /// Forgets everything without freeing: only after the KV strategy reset all its memory at once.
    pub fn forget(&mut self) {
        let alloc = self.alloc();
        std::mem::forget(std::mem::replace(&mut self.slots, Vec::new_in(alloc)));
        self.buckets_total = 0;
    }
}

impl<A: Allocator + Copy> Drop for SlotIndex<A> {
    fn drop(&mut self) {
        self.clear();
    }
}

/// The db Redis Cluster uses (cluster mode has no other).
const CLUSTER_DB: usize = 0;

/// Cluster mode's questions about db 0 (Redis's `countKeysInSlot`, `getKeysInSlot`, `delKeysInSlot`). With
/// the index on ([`Keyspace::enable_slot_index`]) they cost O(1), O(count) and O(keys of the slot); without
/// it they scan the whole db, which is correct and slow.
impl<A: KvAllocator> Keyspace<A> {
    /// Turns the per-slot key index on for every db, indexing the keys already there (an empty db
    /// allocates it with its first key; cluster mode only uses db 0, and keeping it on every db keeps it
    /// right across SWAPDB). Call it once at startup when `cluster-enabled yes`. On `Err` (out of memory)
    /// no db keeps one.
    pub fn enable_slot_index(&mut self) -> Result<(), AllocError> {
        for db in 0..self.db_count() {
            if let Err(e) = self.db_mut(db).enable_slot_index() {
                (0..self.db_count()).for_each(|db| self.db_mut(db).disable_slot_index());
                return Err(e);
            }
        }
        Ok(())
    }

    /// Keys of db 0 in `slot`, expired ones not yet reclaimed included (CLUSTER COUNTKEYSINSLOT).
    pub fn count_keys_in_slot(&self, slot: u16) -> u64 {
        let db = self.db(CLUSTER_DB);
        match db.slot_index() {
            Some(index) => index.count(slot) as u64,
            None => {
                let mut count = 0;
                db.dict()
                    .for_each(|e| count += u64::from(key_hash_slot(e.key()) == slot));
                count
            }
        }
    }

    /// Up to `count` keys of db 0 in `slot` (CLUSTER GETKEYSINSLOT), in no particular order.
    pub fn keys_in_slot(&self, slot: u16, count: usize) -> std::vec::Vec<std::vec::Vec<u8>> {
        let db = self.db(CLUSTER_DB);
        match db.slot_index() {
            Some(index) => index
                .entries(slot)
                .take(count)
                .map(|e| e.key().to_vec())
                .collect(),
            None => {
                let mut keys = std::vec::Vec::new();
                db.dict().for_each(|e| {
                    if keys.len() < count && key_hash_slot(e.key()) == slot {
                        keys.push(e.key().to_vec());
                    }
                });
                keys
            }
        }
    }

    /// Deletes every key of db 0 in `slot` as Redis's `delKeysInSlot` (a slot now served elsewhere): each
    /// is recorded in `fx` as a change with a `del` event (generic class) and as a deletion to propagate
    /// (`fx.expired`, logged and replicated as DEL). Returns the number deleted.
    pub fn delete_keys_in_slot(&mut self, slot: u16, fx: &mut Effects) -> u64 {
        let keys = self.keys_in_slot(slot, usize::MAX);
        let mut deleted = 0;
        for key in keys {
            if !self.db_mut(CLUSTER_DB).remove(&key) {
                continue;
            }
            deleted += 1;
            fx.dirty += 1;
            fx.touch(CLUSTER_DB, &key);
            fx.notify(notify::GENERIC, "del", CLUSTER_DB, &key);
            fx.expired.push((CLUSTER_DB, key));
        }
        deleted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slot function agrees with redis-server 7.0.15's `CLUSTER KEYSLOT` (values asked of it), hash
    /// tags included.
    #[test]
    fn key_hash_slot_matches_redis() {
        let cases: [(&[u8], u16); 10] = [
            (b"foo", 12182),
            (b"bar", 5061),
            (b"{user1000}.following", 3443),
            (b"{user1000}.followers", 3443),
            (b"foo{}{bar}", 8363),
            (b"foo{{bar}}zap", 4015),
            (b"foo{bar}{zap}", 5061),
            (b"", 0),
            (b"{}", 15257),
            (b"key:000000000001", 8924),
        ];
        for (key, slot) in cases {
            assert_eq!(
                key_hash_slot(key),
                slot,
                "{:?}",
                String::from_utf8_lossy(key)
            );
        }
    }
}

#[cfg(test)]
#[path = "slots_tests.rs"]
mod model_tests;
