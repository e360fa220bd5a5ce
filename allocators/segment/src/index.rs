//! The compact bulk-chained hash index (Segcache's), with two choices of bucket per key.
//!
//! A slot is 8 bytes: `tag:12 | freq:8 | segment:22 | offset:22` (high to low bits). The tag is 12 bits of
//! the key's hash (never 0, so an all-zero slot is empty); a lookup compares tags and reads the key from
//! the segment only on a tag match. A bucket is 8 slots (one cache line); a full bucket chains to an
//! overflow bucket. Every byte of the table is charged to the budget.
//!
//! Each key has three candidate primary buckets, from independent functions of its hash (`side_value`);
//! a new key takes a free slot in the emptiest of them (the power of d choices), and a lookup scans their
//! chains. With one choice, 8-slot buckets at 95% load overflow for about a third of the buckets (Poisson
//! occupancy), and an overflow bucket costs 68 bytes for the few slots it holds: about 11 bytes a key in
//! all at 1M keys. With two choices 12% of the buckets still overflowed at 95% load, with three 4%
//! (`tests/index_model.rs`), so the table runs nearly full: it doubles only at 100%
//! (`SegConfig::index_load_max_percent`) and costs about 9.3 bytes a key at 95%. A miss reads three
//! buckets instead of one.
//!
//! A key keeps its side across a doubling (it moves to one of the two halves of its old bucket), so a
//! SCAN cursor, which walks the primary buckets in Redis's reverse-binary order, still returns every key
//! present for the whole scan.

use hashbrown::DefaultHashBuilder;
use std::hash::BuildHasher;
use zedis_budget::{Budget, Component, GlobalBudget};

/// Slots per bucket.
pub const SLOTS_PER_BUCKET: usize = 8;
/// Largest segment id + 1.
pub const SEGMENTS_MAX: usize = 1 << 22;
/// Largest offset in a segment + 1 (so the largest segment size).
pub const OFFSET_MAX: usize = 1 << 22;

const NONE: u32 = u32::MAX;
/// Candidate primary buckets per key.
const CHOICES: usize = 3;

/// The value whose low bits give the key's bucket on `side`: the hash itself, the hash from bit 20 up
/// (independent of the first up to a million buckets), and a multiplicative mix of it.
fn side_value(hash: u64, side: usize) -> u64 {
    match side {
        0 => hash,
        1 => hash >> 20,
        _ => (hash ^ hash >> 29).wrapping_mul(0xbf58_476d_1ce4_e5b9) >> 24,
    }
}
const OFFSET_BITS: u32 = 22;
const SEGMENT_BITS: u32 = 22;
const FREQ_SHIFT: u32 = 44;
const TAG_SHIFT: u32 = 52;
const BUCKET_BYTES: usize = SLOTS_PER_BUCKET * 8;
/// Per-bucket chain link (4 bytes) plus the bucket.
const BUCKET_CHARGE: usize = BUCKET_BYTES + 4;

/// Where an item lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Loc {
    /// Segment id.
    pub seg: u32,
    /// Byte offset of the item header in the segment.
    pub offset: u32,
}

/// A slot's position in the table: (bucket, slot).
pub type Pos = (u32, u8);

/// Tag bits of a hash (never 0).
pub fn tag_of(hash: u64) -> u64 {
    (hash >> TAG_SHIFT).max(1)
}

/// A slot's tag.
pub fn slot_tag(slot: u64) -> u64 {
    slot >> TAG_SHIFT
}

/// A slot's frequency counter.
pub fn slot_freq(slot: u64) -> u8 {
    (slot >> FREQ_SHIFT) as u8
}

/// A slot's location.
pub fn slot_loc(slot: u64) -> Loc {
    Loc {
        seg: ((slot >> OFFSET_BITS) & ((1 << SEGMENT_BITS) - 1)) as u32,
        offset: (slot & ((1 << OFFSET_BITS) - 1)) as u32,
    }
}

/// Packs a slot.
pub fn pack(tag: u64, freq: u8, loc: Loc) -> u64 {
    debug_assert!(tag != 0 && tag < 1 << 12);
    debug_assert!((loc.seg as usize) < SEGMENTS_MAX && (loc.offset as usize) < OFFSET_MAX);
    tag << TAG_SHIFT
        | (freq as u64) << FREQ_SHIFT
        | (loc.seg as u64) << OFFSET_BITS
        | loc.offset as u64
}

/// The hash table. Invariant: `charged == buckets.capacity() * 64 + next.capacity() * 4`, reserved in
/// the budget under `Keyspace`; buckets `0..=mask` are primary, the rest overflow.
pub struct Index {
    buckets: Vec<[u64; SLOTS_PER_BUCKET]>,
    next: Vec<u32>,
    mask: usize,
    hasher: DefaultHashBuilder,
    budget: &'static Budget,
    charged: usize,
    initial_power: u32,
    /// The primary table doubles past this percentage of used slots.
    load_max_percent: u8,
}

/// Buckets, chain links, and the bytes reserved for them.
type Table = (Vec<[u64; SLOTS_PER_BUCKET]>, Vec<u32>, usize);

/// The index could not get memory from the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexFull;

impl std::fmt::Debug for Index {
    /// Sizes only (the table can be hundreds of megabytes).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("primary_buckets", &self.primary_buckets())
            .field("overflow_buckets", &self.overflow_buckets())
            .field("charged", &self.charged)
            .finish()
    }
}

impl Index {
    /// An index with `2^power` primary buckets, or `IndexFull` when they do not fit the budget.
    pub fn new(
        power: u32,
        load_max_percent: u8,
        budget: &'static Budget,
    ) -> Result<Self, IndexFull> {
        let mut index = Index {
            buckets: Vec::new(),
            next: Vec::new(),
            mask: 0,
            hasher: DefaultHashBuilder::default(),
            budget,
            charged: 0,
            initial_power: power,
            load_max_percent,
        };
        let table = index.alloc_table(1 << power, 0)?;
        index.install(table);
        Ok(index)
    }

    /// Empties the table back to its initial size. The small initial table is charged even past the
    /// limit (the caller just freed everything else it held), so the index always stays usable.
    pub fn reset(&mut self) {
        self.budget.release(Component::Keyspace, self.charged);
        self.charged = 0;
        self.buckets = Vec::new();
        self.next = Vec::new();
        let count = 1usize << self.initial_power;
        self.budget
            .reserve(Component::Keyspace, count * BUCKET_CHARGE);
        let table = (
            vec![[0u64; SLOTS_PER_BUCKET]; count],
            vec![NONE; count],
            count * BUCKET_CHARGE,
        );
        self.install(table);
    }

    /// A table of `count` primary buckets with room for `spare` overflow buckets, reserved in the budget.
    /// Returns it with the bytes reserved.
    fn alloc_table(&self, count: usize, spare: usize) -> Result<Table, IndexFull> {
        let bytes = (count + spare) * BUCKET_CHARGE;
        self.budget
            .try_reserve(Component::Keyspace, bytes)
            .map_err(|_| IndexFull)?;
        let mut buckets = Vec::with_capacity(count + spare);
        buckets.resize(count, [0u64; SLOTS_PER_BUCKET]);
        let mut next = Vec::with_capacity(count + spare);
        next.resize(count, NONE);
        Ok((buckets, next, bytes))
    }

    /// Replaces the table (the old one's charge is released) and settles the charge to the exact
    /// capacities.
    fn install(&mut self, (buckets, next, reserved): Table) {
        self.budget.release(Component::Keyspace, self.charged);
        self.mask = buckets.len() - 1;
        self.buckets = buckets;
        self.next = next;
        self.charged = reserved;
        self.resettle();
    }

    /// Bytes charged to the budget.
    pub fn charged_bytes(&self) -> usize {
        self.charged
    }

    /// Primary buckets.
    pub fn primary_buckets(&self) -> usize {
        self.mask + 1
    }

    /// Overflow buckets.
    pub fn overflow_buckets(&self) -> usize {
        self.buckets.len() - self.primary_buckets()
    }

    /// The key's hash.
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The slot at `pos`.
    pub fn get(&self, pos: Pos) -> u64 {
        self.buckets[pos.0 as usize][pos.1 as usize]
    }

    /// Overwrites the slot at `pos` (0 empties it).
    pub fn set(&mut self, pos: Pos, slot: u64) {
        self.buckets[pos.0 as usize][pos.1 as usize] = slot;
    }

    /// The key's candidate primary buckets, `CHOICES` of them (some may coincide). Each is the low bits
    /// of a fixed function of the hash, so a table that doubles sends a key on one side to one of the two
    /// halves of its old bucket (what keeps SCAN complete).
    fn candidates(&self, hash: u64) -> [u32; CHOICES] {
        let mut out = [0u32; CHOICES];
        for (side, bucket) in out.iter_mut().enumerate() {
            *bucket = (side_value(hash, side) as usize & self.mask) as u32;
        }
        out
    }

    /// The first occupied slot in the key's chains with its tag for which `matches(loc)` holds.
    pub fn find(&self, hash: u64, mut matches: impl FnMut(Loc) -> bool) -> Option<Pos> {
        let tag = tag_of(hash);
        let buckets = self.candidates(hash);
        for (side, &bucket) in buckets.iter().enumerate() {
            if buckets[..side].contains(&bucket) {
                continue;
            }
            if let Some(pos) = self.find_in_chain(bucket, tag, &mut matches) {
                return Some(pos);
            }
        }
        None
    }

    fn find_in_chain(
        &self,
        mut bucket: u32,
        tag: u64,
        matches: &mut impl FnMut(Loc) -> bool,
    ) -> Option<Pos> {
        loop {
            for (i, &slot) in self.buckets[bucket as usize].iter().enumerate() {
                if slot != 0 && slot_tag(slot) == tag && matches(slot_loc(slot)) {
                    return Some((bucket, i as u8));
                }
            }
            bucket = self.next[bucket as usize];
            if bucket == NONE {
                return None;
            }
        }
    }

    /// An empty slot for a new key: in the emptiest of its primary buckets, else further down one of
    /// their chains, else in a new overflow bucket chained to the first.
    pub fn free_slot(&mut self, hash: u64) -> Result<Pos, IndexFull> {
        let buckets = self.candidates(hash);
        let free = |b: u32| self.buckets[b as usize].iter().filter(|&&s| s == 0).count();
        let mut best = (buckets[0], free(buckets[0]));
        for &bucket in &buckets[1..] {
            let n = free(bucket);
            if n > best.1 {
                best = (bucket, n);
            }
        }
        if best.1 == 0 {
            // Every primary full: a free slot further down a chain, else a new bucket on the first's.
            for &bucket in &buckets {
                if let Ok(pos) = self.chain_free_slot(bucket) {
                    return Ok(pos);
                }
            }
        }
        self.free_slot_in(best.0, false)
    }

    /// A free slot in the chain of `bucket`, or the chain's last bucket.
    fn chain_free_slot(&self, mut bucket: u32) -> Result<Pos, u32> {
        loop {
            if let Some(i) = self.buckets[bucket as usize].iter().position(|&s| s == 0) {
                return Ok((bucket, i as u8));
            }
            let next = self.next[bucket as usize];
            if next == NONE {
                return Err(bucket);
            }
            bucket = next;
        }
    }

    /// A free slot in the chain of primary `bucket`, chaining a new overflow bucket when it is full; with
    /// `force`, an overflow bucket is charged even past the limit (rehash only).
    fn free_slot_in(&mut self, bucket: u32, force: bool) -> Result<Pos, IndexFull> {
        let last = match self.chain_free_slot(bucket) {
            Ok(pos) => return Ok(pos),
            Err(last) => last,
        };
        let new = self.buckets.len() as u32;
        self.grow_overflow(force)?;
        self.buckets.push([0; 8]);
        self.next.push(NONE);
        self.next[last as usize] = new;
        Ok((new, 0))
    }

    /// Makes room for one more bucket, charging any capacity growth first.
    fn grow_overflow(&mut self, force: bool) -> Result<(), IndexFull> {
        if self.buckets.len() < self.buckets.capacity() && self.next.len() < self.next.capacity() {
            return Ok(());
        }
        let extra = (self.buckets.len() / 8).max(4);
        if force {
            self.budget
                .reserve(Component::Keyspace, extra * BUCKET_CHARGE);
        } else {
            self.budget
                .try_reserve(Component::Keyspace, extra * BUCKET_CHARGE)
                .map_err(|_| IndexFull)?;
        }
        self.charged += extra * BUCKET_CHARGE;
        self.buckets.reserve_exact(extra);
        self.next.reserve_exact(extra);
        // reserve_exact may round up: settle the charge to the exact capacities.
        self.resettle();
        Ok(())
    }

    /// Doubles the primary table if more than `load_max_percent` of its slots are used, rehashing with
    /// `key_of`.
    /// Does nothing when the bigger table does not fit the budget (chains just get longer).
    pub fn maybe_grow<'a>(&mut self, items: usize, key_of: impl Fn(Loc) -> &'a [u8]) {
        let slots = self.primary_buckets() * SLOTS_PER_BUCKET;
        if items * 100 <= slots * self.load_max_percent as usize
            || self.primary_buckets() >= 1 << 30
        {
            return;
        }
        // A new chain only receives items of one old chain, so it needs at most as many overflow
        // buckets as that chain had: reserving the old overflow count keeps the rehash within budget.
        let Ok(table) = self.alloc_table(self.primary_buckets() * 2, self.overflow_buckets())
        else {
            return;
        };
        let old_buckets = std::mem::take(&mut self.buckets);
        let old_next = std::mem::take(&mut self.next);
        let old_mask = self.mask;
        self.install(table);
        // Walk each old primary bucket's chain: a slot found there sits on its key's first or second
        // side, which it keeps in the new table.
        for root in 0..=old_mask {
            let mut bucket = root as u32;
            while bucket != NONE {
                for slot in old_buckets[bucket as usize]
                    .iter()
                    .copied()
                    .filter(|&s| s != 0)
                {
                    let hash = self.hash(key_of(slot_loc(slot)));
                    // The side the slot was on: one whose old bucket is this root (any such side
                    // sends it to one of this root's two halves).
                    let side = (0..CHOICES)
                        .find(|&side| side_value(hash, side) as usize & old_mask == root)
                        .unwrap_or(0);
                    let new_bucket = (side_value(hash, side) as usize & self.mask) as u32;
                    if let Ok(pos) = self.free_slot_in(new_bucket, true) {
                        self.set(pos, slot);
                    }
                }
                bucket = old_next[bucket as usize];
            }
        }
    }

    fn resettle(&mut self) {
        let exact = self.buckets.capacity() * BUCKET_BYTES + self.next.capacity() * 4;
        if exact > self.charged {
            self.budget
                .reserve(Component::Keyspace, exact - self.charged);
        } else {
            self.budget
                .release(Component::Keyspace, self.charged - exact);
        }
        self.charged = exact;
    }

    /// Calls `f` on every occupied slot of primary bucket `cursor`'s chain (keys whose first or second
    /// bucket it is); returns the next cursor
    /// (Redis's reverse-binary increment, so a scan survives doubling), 0 when done.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(u64)) -> u64 {
        let mask = self.mask as u64;
        let mut bucket = (cursor & mask) as u32;
        while bucket != NONE {
            for &slot in self.buckets[bucket as usize].iter().filter(|&&s| s != 0) {
                f(slot);
            }
            bucket = self.next[bucket as usize];
        }
        let mut v = cursor | !mask;
        v = v.reverse_bits().wrapping_add(1).reverse_bits();
        v
    }

    /// A random occupied slot, trying at most `tries` buckets.
    pub fn random_slot(&self, mut rand: impl FnMut() -> u64, tries: usize) -> Option<u64> {
        for _ in 0..tries {
            let r = rand();
            let bucket = (r as usize) % self.buckets.len();
            let slot = self.buckets[bucket][(r >> 40) as usize % SLOTS_PER_BUCKET];
            if slot != 0 {
                return Some(slot);
            }
        }
        self.buckets.iter().flatten().copied().find(|&s| s != 0)
    }
}

impl Drop for Index {
    fn drop(&mut self) {
        self.budget.release(Component::Keyspace, self.charged);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trips() {
        let loc = Loc {
            seg: (SEGMENTS_MAX - 1) as u32,
            offset: (OFFSET_MAX - 1) as u32,
        };
        let slot = pack(0xfff, 200, loc);
        assert_eq!(
            (slot_tag(slot), slot_freq(slot), slot_loc(slot)),
            (0xfff, 200, loc)
        );
        assert_eq!(tag_of(0), 1);
    }

    #[test]
    fn chains_grow_and_charge_exactly() {
        let budget = Budget::leak(0);
        let mut index = Index::new(0, 75, budget).unwrap();
        for i in 0..100u32 {
            let pos = index.free_slot(0).unwrap();
            index.set(pos, pack(1, 0, Loc { seg: i, offset: 0 }));
        }
        assert!(index.overflow_buckets() >= 12);
        assert_eq!(budget.used(), index.charged_bytes());
        assert!(index.find(0, |loc| loc.seg == 99).is_some());
        drop(index);
        assert_eq!(budget.used(), 0);
    }
}
