//! [`ScoreIndex`]: the `member -> score` index of the `skiplist` encoding, holding no member bytes.
//!
//! The members already sit in the ordered listpack nodes, so a slot keeps only a 32-bit hash of its member
//! and the member's score: 12 bytes plus hashbrown's control byte, where a slot carrying the member inline
//! took 32 and a long member a heap block more. A lookup probes for slots whose hash matches and confirms
//! each candidate by asking the caller whether the pair `(candidate score, member)` is in the nodes (the
//! caller's `verify`), which a member passes with its own score only. Slots are therefore a multiset of
//! `(hash, score)`, one per member: slots that compare equal are interchangeable, so an update or a
//! removal may take any slot with the member's hash and current score.
//!
//! Growing moves the slots into the new array a few per mutating operation, as [`super::super::packed`]'s
//! `Table` and Redis's `dict` do; the stored hash makes a move cost no member hashing and no node access.
//!
//! ZSCAN walks the arrays with Redis's reverse-binary cursor one *home* bucket at a time, through
//! [`super::super::home_scan`] (shared with the `hashtable` encodings of sets and hashes).

use super::super::home_scan::{scan_arrays, with_home_tag};
use super::super::AllocError;
use allocator_api2::alloc::Allocator;
use core::hash::BuildHasher;
use hashbrown::{DefaultHashBuilder, HashTable};

/// Slots moved per mutating operation at most during a resize.
const MOVE_SLOTS_PER_STEP: usize = 8;

/// Old buckets visited per mutating operation at most during a resize (empty ones included).
const MOVE_BUCKETS_PER_STEP: usize = 64;

/// Indexes with at least this many buckets shrink when under 1/8 full.
const SHRINK_BUCKETS_MIN: usize = 64;

/// One member: its 32-bit hash and its score's bits (two halves, so the slot is 4-aligned, 12 bytes).
#[derive(Clone, Copy)]
#[repr(C)]
struct Slot {
    hash: u32,
    score: [u32; 2],
}

const _: () = assert!(core::mem::size_of::<Slot>() == 12);

impl Slot {
    fn new(hash: u32, score: f64) -> Self {
        let bits = score.to_bits();
        Slot {
            hash,
            score: [bits as u32, (bits >> 32) as u32],
        }
    }

    fn score(&self) -> f64 {
        f64::from_bits(u64::from(self.score[0]) | (u64::from(self.score[1]) << 32))
    }
}

/// hashbrown's hash of a slot: the 32-bit member hash spread over 64 bits (an odd multiplier is a
/// bijection of the low bits, which pick the bucket), with the low 7 bits repeated as the tag, so the
/// slots of one home bucket share a tag (see [`super::super::home_scan`]).
fn spread(hash: u32) -> u64 {
    with_home_tag(u64::from(hash).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

fn slot_hash(slot: &Slot) -> u64 {
    spread(slot.hash)
}

/// `member -> score` for a `skiplist` sorted set, by hash and score only (see the module docs).
pub(super) struct ScoreIndex<A: Allocator> {
    /// Receives new slots, and the moved ones during a resize. Invariant during a resize:
    /// `table.capacity() >= table.len() + old.len()`, so neither a move nor an insert reallocates it.
    table: HashTable<Slot, A>,
    /// The array being emptied into `table` during a resize; unallocated otherwise. Its buckets below
    /// `move_idx` are empty.
    old: HashTable<Slot, A>,
    /// The next bucket of `old` to move.
    move_idx: usize,
    /// Per-index random seed (hash-flooding resistance, as Redis's siphash seed).
    hasher: DefaultHashBuilder,
}

impl<A: Allocator + Copy> ScoreIndex<A> {
    /// An index with room for `capacity` members.
    pub(super) fn with_capacity_in(capacity: usize, alloc: A) -> Result<Self, AllocError> {
        let mut index = ScoreIndex {
            table: HashTable::new_in(alloc),
            old: HashTable::new_in(alloc),
            move_idx: 0,
            hasher: DefaultHashBuilder::default(),
        };
        index.reserve(capacity)?;
        Ok(index)
    }

    /// The 32-bit hash of `member` under this index's seed.
    pub(super) fn hash(&self, member: &[u8]) -> u32 {
        let full = self.hasher.hash_one(member);
        (full ^ (full >> 32)) as u32
    }

    /// Number of members.
    pub(super) fn len(&self) -> usize {
        self.table.len() + self.old.len()
    }

    fn is_resizing(&self) -> bool {
        self.old.capacity() != 0
    }

    /// Bytes held by both arrays.
    pub(super) fn mem_bytes(&self) -> usize {
        self.table.allocation_size() + self.old.allocation_size()
    }

    /// Makes room so that `additional` inserts cannot fail to allocate.
    pub(super) fn reserve(&mut self, additional: usize) -> Result<(), AllocError> {
        if self.is_resizing() {
            let free = self.table.capacity() - self.table.len();
            if free >= additional.saturating_add(self.old.len()) {
                return Ok(());
            }
            self.advance(usize::MAX, usize::MAX);
        }
        if self.table.capacity() - self.table.len() >= additional {
            return Ok(());
        }
        let len = self.table.len();
        if additional >= len {
            return self
                .table
                .try_reserve(additional, slot_hash)
                .map_err(|_| AllocError);
        }
        self.start_resize((self.table.capacity() * 2).max(len + additional))
    }

    /// Allocates the new array for `capacity` slots; the slots move over in later steps.
    fn start_resize(&mut self, capacity: usize) -> Result<(), AllocError> {
        debug_assert!(!self.is_resizing());
        let mut fresh = HashTable::new_in(*self.table.allocator());
        fresh
            .try_reserve(capacity, slot_hash)
            .map_err(|_| AllocError)?;
        self.old = core::mem::replace(&mut self.table, fresh);
        self.move_idx = 0;
        Ok(())
    }

    /// One step of a resize under way.
    fn step(&mut self) {
        if self.is_resizing() {
            self.advance(MOVE_SLOTS_PER_STEP, MOVE_BUCKETS_PER_STEP);
        }
    }

    /// Moves up to `slots_max` slots, visiting up to `buckets_max` old buckets; frees `old` once empty.
    fn advance(&mut self, slots_max: usize, buckets_max: usize) {
        let (mut moved, mut visited) = (0, 0);
        while !self.old.is_empty() && moved < slots_max && visited < buckets_max {
            debug_assert!(self.move_idx < self.old.num_buckets());
            if let Ok(found) = self.old.get_bucket_entry(self.move_idx) {
                let (slot, _) = found.remove();
                debug_assert!(self.table.len() < self.table.capacity());
                self.table.insert_unique(slot_hash(&slot), slot, slot_hash);
                moved += 1;
            }
            self.move_idx += 1;
            visited += 1;
        }
        if self.old.is_empty() && self.is_resizing() {
            self.old = HashTable::new_in(*self.table.allocator());
            self.move_idx = 0;
        }
    }

    /// The score of the member hashing to `hash` whose pair `verify` confirms.
    pub(super) fn find(&self, hash: u32, mut verify: impl FnMut(f64) -> bool) -> Option<f64> {
        let mut eq = |slot: &Slot| slot.hash == hash && verify(slot.score());
        let found = match self.table.find(spread(hash), &mut eq) {
            Some(slot) => Some(slot),
            None if self.old.is_empty() => None,
            None => self.old.find(spread(hash), &mut eq),
        };
        found.map(Slot::score)
    }

    /// Adds a member known to be absent. Cannot fail after `reserve(1)`.
    pub(super) fn insert(&mut self, hash: u32, score: f64) -> Result<(), AllocError> {
        self.step();
        self.reserve(1)?;
        self.table
            .insert_unique(spread(hash), Slot::new(hash, score), slot_hash);
        Ok(())
    }

    /// Changes a present member's score from `old` to `new`.
    pub(super) fn set_score(&mut self, hash: u32, old: f64, new: f64) {
        self.step();
        let eq = |slot: &Slot| slot.hash == hash && slot.score().to_bits() == old.to_bits();
        let slot = match self.table.find_mut(spread(hash), eq) {
            Some(slot) => Some(slot),
            None => self.old.find_mut(spread(hash), eq),
        };
        debug_assert!(slot.is_some(), "zset index slot missing");
        if let Some(slot) = slot {
            *slot = Slot::new(hash, new);
        }
    }

    /// Removes a present member whose score is `score`.
    pub(super) fn remove(&mut self, hash: u32, score: f64) {
        self.step();
        let eq = |slot: &Slot| slot.hash == hash && slot.score().to_bits() == score.to_bits();
        let removed = match self.table.find_entry(spread(hash), eq) {
            Ok(found) => found.remove().0,
            Err(_) => match self.old.find_entry(spread(hash), eq) {
                Ok(found) => found.remove().0,
                Err(_) => return debug_assert!(false, "zset index slot missing"),
            },
        };
        debug_assert_eq!(removed.hash, hash);
        self.maybe_shrink();
    }

    /// One ZSCAN step: hands `visit(hash, score)` every slot of the home buckets cursor `cursor` names (in
    /// both arrays during a resize) and returns the next cursor, 0 when done. A slot present from the first
    /// call to the last is handed over at least once (Redis's `dictScan` guarantee), possibly more than once.
    pub(super) fn scan(&self, cursor: u64, mut visit: impl FnMut(u32, f64)) -> u64 {
        scan_arrays(&self.table, &self.old, cursor, slot_hash, |slot| {
            visit(slot.hash, slot.score())
        })
    }

    /// Starts moving into a smaller array when sparse. Best effort.
    fn maybe_shrink(&mut self) {
        let buckets = self.table.num_buckets();
        if self.is_resizing() || buckets < SHRINK_BUCKETS_MIN || self.table.len() * 8 >= buckets {
            return;
        }
        let len = self.table.len();
        let _ = self.start_resize(len + len / 2 + buckets / MOVE_BUCKETS_PER_STEP + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use allocator_api2::alloc::Global;
    use std::collections::HashMap;

    /// A model run with random inserts, score changes and removals, through several resizes both ways;
    /// `verify` stands in for the nodes with the model map.
    #[test]
    fn matches_a_map_across_resizes() {
        let mut index = ScoreIndex::with_capacity_in(0, Global).unwrap();
        let mut model: HashMap<std::vec::Vec<u8>, f64> = HashMap::new();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..40_000u64 {
            let member = format!("m{}", next() % 3000).into_bytes();
            let hash = index.hash(&member);
            let found = index.find(hash, |s| model.get(&member) == Some(&s));
            assert_eq!(found, model.get(&member).copied());
            let score = (next() % 50) as f64;
            let shrinking = (round / 10_000) % 2 == 1;
            match (found, next() % 3) {
                (None, _) if !shrinking => {
                    index.insert(hash, score).unwrap();
                    model.insert(member, score);
                }
                (Some(old), 0) => {
                    index.set_score(hash, old, score);
                    model.insert(member, score);
                }
                (Some(old), _) => {
                    index.remove(hash, old);
                    model.remove(&member);
                }
                (None, _) => {}
            }
            assert_eq!(index.len(), model.len());
        }
    }

    /// A full scan, one call at a time, under random inserts and removals between calls (resizes both ways
    /// included): every member present for the whole scan is handed over.
    #[test]
    fn scan_returns_every_slot_present_throughout() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for size in [0u64, 1, 5, 60, 200, 3000] {
            let mut index = ScoreIndex::with_capacity_in(0, Global).unwrap();
            let mut model: HashMap<u32, f64> = HashMap::new();
            for i in 0..size {
                let hash = index.hash(&i.to_le_bytes());
                if model.insert(hash, i as f64).is_none() {
                    index.insert(hash, i as f64).unwrap();
                }
            }
            let mut kept: std::collections::HashSet<u32> = model.keys().copied().collect();
            let mut seen = std::collections::HashSet::new();
            let mut cursor = 0;
            loop {
                cursor = index.scan(cursor, |hash, score| {
                    assert_eq!(model.get(&hash), Some(&score));
                    seen.insert(hash);
                });
                if cursor == 0 {
                    break;
                }
                for _ in 0..(next() % 8) {
                    let hash = index.hash(&(next() % (2 * size + 10)).to_le_bytes());
                    match model.remove(&hash) {
                        Some(score) if next() % 2 == 0 => {
                            index.remove(hash, score);
                            kept.remove(&hash);
                        }
                        Some(score) => {
                            model.insert(hash, score);
                        }
                        None => {
                            index.insert(hash, 1.5).unwrap();
                            model.insert(hash, 1.5);
                        }
                    }
                }
            }
            assert!(kept.is_subset(&seen), "size {size}");
        }
    }
}
