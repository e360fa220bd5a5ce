//! One numbered database: the key index ([`Dict`]) plus the vector of keys that have a TTL.
//!
//! The volatile vector holds every entry with an expire block, each entry knowing its own index there, so
//! removing a TTL is O(1) (swap-remove) and active expiry and the `volatile-*` eviction policies sample TTL keys
//! uniformly in O(1). That costs 8 bytes per volatile key here plus 12 in the entry; Redis's separate `expires`
//! dict spends a 24-byte dictEntry and a bucket on each.
//!
//! In cluster mode a db also keeps the per-slot key index ([`SlotIndex`]); every entry enters and leaves it
//! here, with the key index, so no command path has to know about it.
//!
//! `Db` owns its entries: whatever it unlinks it frees, including the collection an entry points to.

use crate::chunked::ChunkedVec;
use crate::dict::Dict;
use crate::entry::{EntryPtr, Payload};
use crate::slots::{key_hash_slot, SlotIndex};
use crate::value;
use allocator_api2::alloc::{AllocError, Allocator};

/// A database.
pub struct Db<A: Allocator + Copy> {
    dict: Dict<A>,
    /// Every entry with an expire block; `volatile[e.volatile_idx()] == e`.
    volatile: ChunkedVec<A>,
    /// Cluster mode's per-slot key index; when `Some` it holds exactly the entries of `dict`.
    slots: Option<SlotIndex<A>>,
    /// The segment store's plain string keys (`--kv-allocator segment`), created on the first one. A key is
    /// never in both `dict` and here (see `crate::seg`).
    pub(crate) seg: Option<Box<zedis_segment::SegStore>>,
}

impl<A: Allocator + Copy + Default> Default for Db<A> {
    fn default() -> Self {
        Db {
            dict: Dict::new(A::default()),
            volatile: ChunkedVec::new_in(A::default()),
            slots: None,
            seg: None,
        }
    }
}

impl<A: Allocator + Copy> Db<A> {
    /// Number of keys (expired ones not yet reclaimed included, as in Redis's DBSIZE), in the tables and
    /// the segment store.
    pub fn len(&self) -> usize {
        self.dict.len() + self.seg_len()
    }

    /// Keys in the segment store (expired ones not yet removed included).
    pub fn seg_len(&self) -> usize {
        self.seg.as_ref().map_or(0, |s| s.len())
    }

    /// Whether the db has no keys.
    pub fn is_empty(&self) -> bool {
        self.dict.is_empty() && self.seg_len() == 0
    }

    /// The segment store, if this db has one.
    pub fn seg(&self) -> Option<&zedis_segment::SegStore> {
        self.seg.as_deref()
    }

    /// Sizes the key index of an empty db for `keys` keys (see [`Dict::reserve`]).
    pub fn reserve(&mut self, keys: usize) {
        self.dict.reserve(keys);
    }

    /// Number of keys with a TTL.
    pub fn volatile_len(&self) -> usize {
        self.volatile.len()
    }

    /// Bytes of index overhead (bucket array, volatile vector and slot index).
    pub fn index_bytes(&self) -> usize {
        self.dict.index_bytes() + self.volatile.bytes() + self.slot_index_bytes()
    }

    /// Bytes of the per-slot key index (0 without one).
    pub fn slot_index_bytes(&self) -> usize {
        self.slots.as_ref().map_or(0, SlotIndex::bytes)
    }

    /// Turns the per-slot key index on (cluster mode), indexing the keys already there; idempotent. On
    /// `Err` (the index could not be allocated) the db stays without one.
    pub fn enable_slot_index(&mut self) -> Result<(), AllocError> {
        if self.slots.is_some() {
            return Ok(());
        }
        let mut index = SlotIndex::new_in(self.alloc());
        let mut result = Ok(());
        self.dict.for_each(|entry| {
            if result.is_ok() {
                let slot = key_hash_slot(entry.key());
                result = index.try_reserve_one(slot);
                if result.is_ok() {
                    index.insert(slot, entry);
                }
            }
        });
        result?;
        self.slots = Some(index);
        Ok(())
    }

    /// Turns the per-slot key index off and frees it.
    pub fn disable_slot_index(&mut self) {
        self.slots = None;
    }

    /// The per-slot key index, if on.
    pub fn slot_index(&self) -> Option<&SlotIndex<A>> {
        self.slots.as_ref()
    }

    /// The entry for `key`, expired or not.
    #[inline]
    pub fn find(&self, key: &[u8]) -> Option<EntryPtr> {
        self.dict.find(key)
    }

    /// One bounded step of a key-index resize under way (see [`Dict::rehash_step`]); whether one is still under
    /// way.
    #[inline]
    pub fn rehash_step(&mut self) -> bool {
        self.dict.rehash_step()
    }

    /// Key-index resize work for about `budget`; whether a resize is still under way.
    pub fn rehash_for(&mut self, budget: std::time::Duration) -> bool {
        self.dict.rehash_for(budget)
    }

    /// The key index's hash of `key`, for [`Db::prefetch_bucket`] and [`Db::prefetch_chain`].
    #[inline]
    pub fn prefetch_hash(&self, key: &[u8]) -> u64 {
        self.dict.prefetch_hash(key)
    }

    /// Cache hint for the bucket(s) of a key with this hash (see [`Dict::prefetch_bucket`]).
    #[inline]
    pub fn prefetch_bucket(&self, hash: u64) {
        self.dict.prefetch_bucket(hash);
    }

    /// Cache hint for the first entry of the chain(s) of this hash (see [`Dict::prefetch_chain`]).
    #[inline]
    pub fn prefetch_chain(&self, hash: u64) {
        self.dict.prefetch_chain(hash);
    }

    /// The dict, for scans and sampling.
    pub fn dict(&self) -> &Dict<A> {
        &self.dict
    }

    /// The `idx`th volatile entry.
    pub fn volatile_at(&self, idx: usize) -> Option<EntryPtr> {
        self.volatile.get(idx)
    }

    fn alloc(&self) -> A {
        self.dict.allocator()
    }

    /// Links a new entry whose key is absent.
    pub fn insert(&mut self, entry: EntryPtr) -> Result<(), AllocError> {
        if entry.has_expire() {
            self.volatile.try_reserve_one()?;
        }
        let slot = match &mut self.slots {
            Some(slots) => {
                let slot = key_hash_slot(entry.key());
                slots.try_reserve_one(slot)?;
                Some((slots, slot))
            }
            None => None,
        };
        self.dict.insert(entry)?;
        if let Some((slots, slot)) = slot {
            slots.insert(slot, entry);
        }
        if entry.has_expire() {
            entry.set_volatile_idx(self.volatile.len() as u32);
            self.volatile.push(entry);
        }
        Ok(())
    }

    /// Replaces linked `old` by `new` (same key) and frees `old`'s allocation; `free_object` says whether the
    /// collection `old` points to is freed too (false when `new` took it over).
    pub fn replace(
        &mut self,
        old: EntryPtr,
        new: EntryPtr,
        free_object: bool,
    ) -> Result<(), AllocError> {
        if new.has_expire() && !old.has_expire() {
            self.volatile.try_reserve_one()?;
        }
        self.dict.replace(old, new);
        if let Some(slots) = &mut self.slots {
            slots.replace(old, new);
        }
        match (old.has_expire(), new.has_expire()) {
            (true, true) => {
                let idx = old.volatile_idx();
                new.set_volatile_idx(idx);
                self.volatile.set(idx as usize, new);
            }
            (true, false) => self.volatile_remove(old),
            (false, true) => {
                new.set_volatile_idx(self.volatile.len() as u32);
                self.volatile.push(new);
            }
            (false, false) => {}
        }
        // SAFETY: `old` is unlinked from both structures and was allocated from this db's allocator.
        unsafe { self.free_entry(old, free_object) };
        Ok(())
    }

    /// Takes unlinked `entry` out of the volatile vector and the slot index.
    fn unindex(&mut self, entry: EntryPtr) {
        if entry.has_expire() {
            self.volatile_remove(entry);
        }
        if let Some(slots) = &mut self.slots {
            slots.remove(entry);
        }
    }

    fn volatile_remove(&mut self, entry: EntryPtr) {
        let idx = entry.volatile_idx() as usize;
        debug_assert_eq!(self.volatile.get(idx), Some(entry));
        if let Some(moved) = self.volatile.swap_remove(idx) {
            moved.set_volatile_idx(idx as u32);
        }
    }

    /// # Safety
    /// `entry` must be unlinked and come from this db's allocator.
    unsafe fn free_entry(&self, entry: EntryPtr, free_object: bool) {
        if free_object {
            if let Payload::Object(kind, object) = entry.payload() {
                value::free_object(self.alloc(), kind, object);
            }
        }
        entry.free(self.alloc());
    }

    /// Removes and frees the entry for `key`; whether it existed.
    pub fn remove(&mut self, key: &[u8]) -> bool {
        match self.dict.unlink(key) {
            Some(entry) => {
                self.unindex(entry);
                // SAFETY: just unlinked from every structure.
                unsafe { self.free_entry(entry, true) };
                true
            }
            None => false,
        }
    }

    /// Unlinks the entry for `key` without freeing its collection: the caller takes over the object (RENAME,
    /// MOVE). The entry allocation itself is freed.
    pub fn remove_keep_object(&mut self, key: &[u8]) -> bool {
        match self.dict.unlink(key) {
            Some(entry) => {
                self.unindex(entry);
                // SAFETY: just unlinked from every structure.
                unsafe { self.free_entry(entry, false) };
                true
            }
            None => false,
        }
    }

    /// Frees everything.
    pub fn clear(&mut self) {
        let alloc = self.alloc();
        self.dict.clear(|entry| {
            // SAFETY: `clear` unlinks each entry before handing it over.
            unsafe {
                if let Payload::Object(kind, object) = entry.payload() {
                    value::free_object(alloc, kind, object);
                }
                entry.free(alloc);
            }
        });
        self.volatile = ChunkedVec::new_in(alloc);
        if let Some(slots) = &mut self.slots {
            slots.clear();
        }
        // Dropping the store releases its segments and index from the budget.
        self.seg = None;
    }

    /// Forgets everything without freeing: only after the KV strategy reset all its memory at once. The
    /// segment store is not the strategy's memory: it is freed (and uncharged) here.
    pub fn forget(&mut self) {
        self.seg = None;
        self.dict.forget();
        self.volatile.forget();
        if let Some(slots) = &mut self.slots {
            slots.forget();
        }
    }
}

impl<A: Allocator + Copy> Drop for Db<A> {
    fn drop(&mut self) {
        self.clear();
    }
}
