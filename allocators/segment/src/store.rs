//! [`SegStore`]: reads and writes.

use crate::index::{pack, slot_freq, slot_loc, tag_of, Index, Loc, Pos};
use crate::item::{self, Item, FLAG_INT, INT_BYTES};
use crate::segments::{Segments, NONE};
use crate::ttl::{bucket_for, TTL_BUCKETS};
use crate::{
    Found, Lookup, Replaced, SegConfig, SegError, SegStats, ValueRef, OFFSET_MAX, SEGMENT_BYTES_MIN,
};
use zedis_budget::Budget;

/// The segment-structured store. Invariants: every index slot points at a non-deleted item of a held
/// segment, and every non-deleted item is pointed at by exactly one slot; `items` is the slot count; the
/// budget holds exactly `segments.charged_bytes() + index.charged_bytes()` for it.
#[derive(Debug)]
pub struct SegStore {
    pub(crate) config: SegConfig,
    pub(crate) index: Index,
    pub(crate) segs: Segments,
    pub(crate) items: usize,
    rng: u64,
    pub(crate) expire_cursor: usize,
    pub(crate) merge_cursor: usize,
    pub(crate) evicted_items: u64,
    pub(crate) expired_items: u64,
    pub(crate) expired_segments: u64,
    pub(crate) merges: u64,
}

/// The key bytes of the item at `loc`.
pub(crate) fn key_of(segs: &Segments, loc: Loc) -> &[u8] {
    let data = &segs.segs[loc.seg as usize].data;
    let it = item::read(data, loc.offset as usize);
    &data[it.key_at..it.key_at + it.key_len]
}

impl SegStore {
    /// A store charging this thread's budget (`zedis_budget::current()`).
    pub fn new(config: SegConfig) -> Result<Self, SegError> {
        Self::with_budget(config, zedis_budget::current())
    }

    /// A store charging `budget`. Fails with `Full` if the initial index does not fit.
    pub fn with_budget(config: SegConfig, budget: &'static Budget) -> Result<Self, SegError> {
        if !(SEGMENT_BYTES_MIN..=OFFSET_MAX).contains(&config.segment_bytes)
            || config.merge_segments < 2
            || config.hash_power > 30
            || !(25..=100).contains(&config.index_load_max_percent)
        {
            return Err(SegError::BadConfig);
        }
        Ok(SegStore {
            config,
            index: Index::new(config.hash_power, config.index_load_max_percent, budget)
                .map_err(|_| SegError::Full)?,
            segs: Segments::new(config.segment_bytes, budget),
            items: 0,
            rng: 0x9E37_79B9_7F4A_7C15,
            expire_cursor: 1,
            merge_cursor: 0,
            evicted_items: 0,
            expired_items: 0,
            expired_segments: 0,
            merges: 0,
        })
    }

    /// The settings.
    pub fn config(&self) -> SegConfig {
        self.config
    }

    pub(crate) fn rand(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    pub(crate) fn item_at(&self, loc: Loc) -> Item {
        item::read(&self.segs.segs[loc.seg as usize].data, loc.offset as usize)
    }

    fn value_of(&self, loc: Loc, it: &Item) -> ValueRef<'_> {
        let data = &self.segs.segs[loc.seg as usize].data;
        let bytes = &data[it.value_at()..it.value_at() + it.value_len];
        if it.flags & FLAG_INT != 0 {
            let mut raw = [0u8; INT_BYTES];
            raw.copy_from_slice(bytes);
            ValueRef::Int(i64::from_le_bytes(raw))
        } else {
            ValueRef::Bytes(bytes)
        }
    }

    fn locate(&self, key: &[u8], hash: u64) -> Option<Pos> {
        let segs = &self.segs;
        self.index.find(hash, |loc| key_of(segs, loc) == key)
    }

    /// Looks `key` up at `now_ms`, counting the access; an expired item is removed and reported.
    pub fn lookup(&mut self, key: &[u8], now_ms: i64) -> Lookup<'_> {
        match self.lookup_at(key, now_ms) {
            Found::Hit(loc) => Lookup::Hit(self.value_at(loc)),
            Found::Miss => Lookup::Miss,
            Found::Expired => Lookup::Expired,
        }
    }

    /// [`SegStore::lookup`] returning where the live item is instead of borrowing its value, so the
    /// caller can update its own state before reading it with [`SegStore::value_at`] and
    /// [`SegStore::expire_at`] (no second index lookup).
    pub fn lookup_at(&mut self, key: &[u8], now_ms: i64) -> Found {
        let hash = self.index.hash(key);
        let Some(pos) = self.locate(key, hash) else {
            return Found::Miss;
        };
        let slot = self.index.get(pos);
        let loc = slot_loc(slot);
        if self.item_at(loc).is_expired(now_ms) {
            self.remove_pos(pos, true);
            self.expired_items += 1;
            return Found::Expired;
        }
        let freq = slot_freq(slot);
        if freq < u8::MAX && (freq < 4 || self.rand() % freq as u64 == 0) {
            self.index.set(pos, slot + (1 << 44));
        }
        Found::Hit(loc)
    }

    /// The value of the item at `loc`, which [`SegStore::lookup_at`] returned with no write since.
    pub fn value_at(&self, loc: Loc) -> ValueRef<'_> {
        self.value_of(loc, &self.item_at(loc))
    }

    /// The expiry of the item at `loc` (as [`SegStore::value_at`]).
    pub fn expire_at(&self, loc: Loc) -> Option<i64> {
        self.item_at(loc).expire_at_ms
    }

    /// The value of `key` at `now_ms`, counting the access (an expired item is removed).
    pub fn get(&mut self, key: &[u8], now_ms: i64) -> Option<ValueRef<'_>> {
        match self.lookup(key, now_ms) {
            Lookup::Hit(value) => Some(value),
            Lookup::Miss | Lookup::Expired => None,
        }
    }

    /// The value of `key` at `now_ms` without counting the access or removing anything.
    pub fn peek(&self, key: &[u8], now_ms: i64) -> Option<ValueRef<'_>> {
        let loc = slot_loc(self.index.get(self.locate(key, self.index.hash(key))?));
        let it = self.item_at(loc);
        (!it.is_expired(now_ms)).then(|| self.value_of(loc, &it))
    }

    /// The expiry of `key`: `None` if absent or expired, `Some(None)` without expiry.
    pub fn ttl(&self, key: &[u8], now_ms: i64) -> Option<Option<i64>> {
        let loc = slot_loc(self.index.get(self.locate(key, self.index.hash(key))?));
        let it = self.item_at(loc);
        (!it.is_expired(now_ms)).then_some(it.expire_at_ms)
    }

    /// The item's access frequency counter (0..=255), if present.
    pub fn frequency(&self, key: &[u8]) -> Option<u8> {
        Some(slot_freq(
            self.index.get(self.locate(key, self.index.hash(key))?),
        ))
    }

    /// Bytes `key` costs (its item plus its 8-byte index slot), for MEMORY USAGE; `None` if absent or
    /// expired. The index's empty slots and the segments' holes are shared overhead, not counted here.
    pub fn item_bytes(&self, key: &[u8], now_ms: i64) -> Option<usize> {
        let it = self.item_at(slot_loc(
            self.index.get(self.locate(key, self.index.hash(key))?),
        ));
        (!it.is_expired(now_ms)).then_some(it.total_len + 8)
    }

    /// Sets `key` to `value`, expiring at `expire_at_ms` (unix ms; at or before `now_ms` deletes the key,
    /// as Redis does). On `Err` nothing changed.
    pub fn set(
        &mut self,
        key: &[u8],
        value: &[u8],
        expire_at_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<(), SegError> {
        self.write(key, value, 0, expire_at_ms, now_ms).map(|_| ())
    }

    /// [`SegStore::set`], also telling what it replaced (one index lookup where a probe and a set take
    /// two): an old item expired at `now_ms` is removed as the write overwrites it, and counted expired.
    pub fn set_replacing(
        &mut self,
        key: &[u8],
        value: &[u8],
        expire_at_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<Replaced, SegError> {
        self.write(key, value, 0, expire_at_ms, now_ms)
    }

    /// Sets `key` to the integer `value` (8 bytes in the segment; read back as [`ValueRef::Int`]).
    pub fn set_int(
        &mut self,
        key: &[u8],
        value: i64,
        expire_at_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<(), SegError> {
        self.write(key, &value.to_le_bytes(), FLAG_INT, expire_at_ms, now_ms)
            .map(|_| ())
    }

    fn write(
        &mut self,
        key: &[u8],
        value: &[u8],
        flags: u8,
        expire_at_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<Replaced, SegError> {
        if expire_at_ms.is_some_and(|at| at <= now_ms) {
            let live = self.delete(key, now_ms);
            return Ok(if live {
                Replaced::Live
            } else {
                Replaced::Nothing
            });
        }
        if let Some(at) = expire_at_ms.filter(|&at| at > item::EXPIRE_AT_MS_MAX) {
            return Err(SegError::ExpiryOutOfRange(at));
        }
        let len = item::item_len(key.len(), value.len(), expire_at_ms.is_some());
        if len > self.config.segment_bytes {
            return Err(SegError::TooLarge {
                len,
                segment_bytes: self.config.segment_bytes,
            });
        }
        let hash = self.index.hash(key);
        let existing = self.locate(key, hash);
        let pos = match existing {
            Some(pos) => pos,
            None => self.index.free_slot(hash).map_err(|_| SegError::Full)?,
        };
        let bucket = bucket_for(expire_at_ms, now_ms);
        let (seg, offset) = self.segs.room(bucket, len).map_err(|_| SegError::Full)?;
        let data = &mut self.segs.segs[seg as usize].data;
        item::write(data, offset, key, value, flags, expire_at_ms);
        self.segs.commit(seg, len, expire_at_ms);
        let loc = Loc {
            seg,
            offset: offset as u32,
        };
        let replaced = match existing {
            Some(pos) => {
                let old = self.index.get(pos);
                let expired = self.item_at(slot_loc(old)).is_expired(now_ms);
                self.kill(slot_loc(old), true);
                self.index.set(pos, pack(tag_of(hash), slot_freq(old), loc));
                if expired {
                    self.expired_items += 1;
                    Replaced::Expired
                } else {
                    Replaced::Live
                }
            }
            None => {
                self.index.set(pos, pack(tag_of(hash), 0, loc));
                self.items += 1;
                let segs = &self.segs;
                self.index.maybe_grow(self.items, |loc| key_of(segs, loc));
                Replaced::Nothing
            }
        };
        Ok(replaced)
    }

    /// Marks the item at `loc` deleted; with `free_empty`, frees its segment if that left it empty and
    /// it is not its bucket's active segment.
    pub(crate) fn kill(&mut self, loc: Loc, free_empty: bool) {
        let it = self.item_at(loc);
        item::mark_deleted(
            &mut self.segs.segs[loc.seg as usize].data,
            loc.offset as usize,
        );
        self.segs.kill(loc.seg, it.total_len);
        let seg = &self.segs.segs[loc.seg as usize];
        if free_empty && seg.live_items == 0 && self.segs.tails[seg.bucket as usize] != loc.seg {
            self.segs.free(loc.seg);
        }
    }

    /// Removes the item a slot points at, and the slot.
    pub(crate) fn remove_pos(&mut self, pos: Pos, free_empty: bool) {
        let loc = slot_loc(self.index.get(pos));
        self.index.set(pos, 0);
        self.items -= 1;
        self.kill(loc, free_empty);
    }

    /// Deletes `key`; true if it existed and had not expired at `now_ms`.
    pub fn delete(&mut self, key: &[u8], now_ms: i64) -> bool {
        let hash = self.index.hash(key);
        let Some(pos) = self.locate(key, hash) else {
            return false;
        };
        let live = !self
            .item_at(slot_loc(self.index.get(pos)))
            .is_expired(now_ms);
        self.remove_pos(pos, true);
        live
    }

    /// Changes the expiry of a live `key` (`None` = persist) by re-appending it into its new TTL bucket.
    /// False if absent or expired. An expiry at or before `now_ms` deletes it (still true). On `Err`
    /// nothing changed: `Full` (evict and retry) or `TooLarge` (the 8 expiry bytes no longer fit one
    /// segment; the caller moves the key elsewhere).
    pub fn set_expire(
        &mut self,
        key: &[u8],
        expire_at_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<bool, SegError> {
        let Some(pos) = self.locate(key, self.index.hash(key)) else {
            return Ok(false);
        };
        let loc = slot_loc(self.index.get(pos));
        let it = self.item_at(loc);
        if it.is_expired(now_ms) {
            return Ok(false);
        }
        let data = &self.segs.segs[loc.seg as usize].data;
        let value = data[it.value_at()..it.value_at() + it.value_len].to_vec();
        self.write(key, &value, it.flags, expire_at_ms, now_ms)?;
        Ok(true)
    }

    /// Removes the expiry of a live `key`; false if absent, expired or without expiry.
    pub fn persist(&mut self, key: &[u8], now_ms: i64) -> Result<bool, SegError> {
        match self.ttl(key, now_ms) {
            Some(Some(_)) => self.set_expire(key, None, now_ms),
            _ => Ok(false),
        }
    }

    /// Items held (expired ones not yet removed included, as Redis's DBSIZE).
    pub fn len(&self) -> usize {
        self.items
    }

    /// Items held in TTL buckets (expired ones not yet removed included, as Redis's `expires` count):
    /// O(segments held).
    pub fn items_with_ttl(&self) -> usize {
        self.segs
            .held_ids()
            .map(|id| &self.segs.segs[id as usize])
            .filter(|seg| seg.bucket != 0)
            .map(|seg| seg.live_items as usize)
            .sum()
    }

    /// Segments held; with `volatile_only`, only those of TTL buckets (the units a `volatile-*` eviction
    /// may free).
    pub fn held_segments(&self, volatile_only: bool) -> usize {
        if volatile_only {
            self.segs.held - self.segs.counts[crate::NO_TTL_BUCKET] as usize
        } else {
            self.segs.held
        }
    }

    /// Whether no item is held.
    pub fn is_empty(&self) -> bool {
        self.items == 0
    }

    /// Appends keys of at least `count` index buckets' worth, from `cursor` (0 starts), skipping expired
    /// items; returns the next cursor, 0 when done. A key present for the whole scan is returned at least
    /// once, even if the index doubles meanwhile.
    pub fn scan(&self, mut cursor: u64, count: usize, now_ms: i64, out: &mut Vec<Vec<u8>>) -> u64 {
        let mut visited = 0;
        loop {
            cursor = self.index.scan(cursor, |slot| {
                let loc = slot_loc(slot);
                if !self.item_at(loc).is_expired(now_ms) {
                    out.push(key_of(&self.segs, loc).to_vec());
                }
            });
            visited += 1;
            if cursor == 0 || visited * 8 >= count.max(1) {
                return cursor;
            }
        }
    }

    /// A random live key, if any is found in a bounded number of tries.
    pub fn random_key(&mut self, now_ms: i64) -> Option<Vec<u8>> {
        for _ in 0..16 {
            let mut rng = self.rng;
            let slot = self.index.random_slot(
                || {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    rng
                },
                64,
            )?;
            self.rng = rng;
            let loc = slot_loc(slot);
            if !self.item_at(loc).is_expired(now_ms) {
                return Some(key_of(&self.segs, loc).to_vec());
            }
        }
        None
    }

    /// Calls `f(key, value, expire_at_ms)` for every live item at `now_ms`, segment by segment (for a
    /// snapshot or an AOF rewrite). Order is storage order, not insertion order.
    pub fn for_each_live(&self, now_ms: i64, mut f: impl FnMut(&[u8], ValueRef<'_>, Option<i64>)) {
        for id in self.segs.held_ids() {
            let data = &self.segs.segs[id as usize].data;
            let mut at = 0;
            while at < self.segs.segs[id as usize].write as usize {
                let it = item::read(data, at);
                if !it.is_deleted() && !it.is_expired(now_ms) {
                    let loc = Loc {
                        seg: id,
                        offset: at as u32,
                    };
                    f(
                        &data[it.key_at..it.value_at()],
                        self.value_of(loc, &it),
                        it.expire_at_ms,
                    );
                }
                at += it.total_len;
            }
        }
    }

    /// Frees everything (FLUSHALL): all segments at once, and the index back to its initial size.
    pub fn flush_all(&mut self) {
        self.segs.clear();
        self.items = 0;
        self.index.reset();
    }

    /// Current figures.
    pub fn stats(&self) -> SegStats {
        let mut stats = SegStats {
            segment_bytes: self.config.segment_bytes,
            segments: self.segs.held,
            charged_bytes: self.segs.charged_bytes() + self.index.charged_bytes(),
            index_bytes: self.index.charged_bytes(),
            items: self.items,
            ttl_buckets_used: self.segs.counts.iter().filter(|&&c| c > 0).count(),
            index_buckets: (self.index.primary_buckets(), self.index.overflow_buckets()),
            evicted_items: self.evicted_items,
            expired_items: self.expired_items,
            expired_segments: self.expired_segments,
            merges: self.merges,
            ..SegStats::default()
        };
        for id in self.segs.held_ids() {
            let seg = &self.segs.segs[id as usize];
            stats.live_bytes += seg.live_bytes as usize;
            stats.dead_bytes += (seg.write - seg.live_bytes) as usize;
            stats.unwritten_bytes += self.config.segment_bytes - seg.write as usize;
        }
        stats
    }

    /// Segments per TTL bucket, for buckets holding any.
    pub fn bucket_segments(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (0..TTL_BUCKETS)
            .filter(|&b| self.segs.counts[b] > 0)
            .map(|b| (b, self.segs.counts[b] as usize))
    }

    /// Appends `INFO allocator` lines (`key:value\r\n`).
    pub fn write_info(&self, out: &mut String) {
        use std::fmt::Write;
        let s = self.stats();
        let _ = write!(
            out,
            "kv_allocator:segment\r\nseg_segment_bytes:{}\r\nseg_segments:{}\r\nseg_charged_bytes:{}\r\n\
             seg_index_bytes:{}\r\nseg_items:{}\r\nseg_live_bytes:{}\r\nseg_dead_bytes:{}\r\n\
             seg_unwritten_bytes:{}\r\nseg_ttl_buckets_used:{}\r\nseg_index_buckets:{},{}\r\n\
             seg_evicted_items:{}\r\nseg_expired_items:{}\r\nseg_expired_segments:{}\r\nseg_merges:{}\r\n",
            s.segment_bytes,
            s.segments,
            s.charged_bytes,
            s.index_bytes,
            s.items,
            s.live_bytes,
            s.dead_bytes,
            s.unwritten_bytes,
            s.ttl_buckets_used,
            s.index_buckets.0,
            s.index_buckets.1,
            s.evicted_items,
            s.expired_items,
            s.expired_segments,
            s.merges,
        );
        for (bucket, count) in self.bucket_segments() {
            let _ = write!(out, "seg_bucket_{bucket}:{count}\r\n");
        }
    }

    /// The bucket chain (oldest first) of segment ids, for tests and eviction.
    pub(crate) fn chain(&self, bucket: usize) -> Vec<u32> {
        let mut ids = Vec::new();
        let mut id = self.segs.heads[bucket];
        while id != NONE {
            ids.push(id);
            id = self.segs.segs[id as usize].next;
        }
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zedis_budget::GlobalBudget;

    fn store(segment_bytes: usize, limit: usize) -> SegStore {
        let config = SegConfig {
            segment_bytes,
            hash_power: 2,
            merge_segments: 2,
            ..SegConfig::default()
        };
        SegStore::with_budget(config, Budget::leak(limit)).unwrap()
    }

    #[test]
    fn overwrite_leaves_a_hole_and_keeps_frequency() {
        let mut s = store(4096, 0);
        s.set(b"k", b"one", None, 0).unwrap();
        for _ in 0..3 {
            s.get(b"k", 0);
        }
        s.set(b"k", b"two!", None, 0).unwrap();
        assert_eq!(s.get(b"k", 0), Some(ValueRef::Bytes(b"two!")));
        assert_eq!(s.frequency(b"k"), Some(4));
        assert_eq!(s.item_bytes(b"k", 0), Some(2 + 1 + 4 + 8));
        let stats = s.stats();
        assert_eq!(
            (stats.items, stats.dead_bytes),
            (1, item::item_len(1, 3, false))
        );
        s.verify().unwrap();
    }

    #[test]
    fn ttl_changes_move_the_item_between_buckets() {
        let mut s = store(4096, 0);
        s.set(b"k", b"v", Some(100_000), 0).unwrap();
        assert_eq!(s.ttl(b"k", 0), Some(Some(100_000)));
        assert_eq!(s.bucket_segments().collect::<Vec<_>>(), vec![(13, 1)]);
        assert!(s.persist(b"k", 0).unwrap());
        assert!(!s.persist(b"k", 0).unwrap());
        assert_eq!(s.ttl(b"k", 0), Some(None));
        // The emptied TTL segment was its bucket's active one, so it stays until merged or expired.
        assert!(s.set_expire(b"k", Some(5), 5).unwrap());
        assert_eq!((s.ttl(b"k", 5), s.len()), (None, 0));
        assert!(!s.set_expire(b"missing", Some(5), 0).unwrap());
        s.verify().unwrap();
    }

    #[test]
    fn bad_sizes_and_configs_are_errors() {
        let mut s = store(256, 0);
        assert_eq!(
            s.set(b"k", &[0; 300], None, 0),
            Err(SegError::TooLarge {
                len: 304,
                segment_bytes: 256
            })
        );
        // An expiry past what 6 bytes hold is refused, with nothing changed; the largest one fits.
        let max = crate::EXPIRE_AT_MS_MAX;
        s.set(b"k", b"v", Some(max), 0).unwrap();
        assert_eq!(
            s.set(b"k", b"w", Some(max + 1), 0),
            Err(SegError::ExpiryOutOfRange(max + 1))
        );
        assert_eq!(s.ttl(b"k", 0), Some(Some(max)));
        assert_eq!(s.get(b"k", 0), Some(ValueRef::Bytes(b"v")));
        let bad = SegConfig {
            segment_bytes: OFFSET_MAX + 1,
            ..SegConfig::default()
        };
        assert_eq!(
            SegStore::with_budget(bad, Budget::leak(0)).err(),
            Some(SegError::BadConfig)
        );
        // The initial index alone does not fit.
        assert_eq!(
            SegStore::with_budget(SegConfig::default(), Budget::leak(100)).err(),
            Some(SegError::Full)
        );
    }

    #[test]
    fn flush_and_for_each_live() {
        let budget = Budget::leak(0);
        let mut s = SegStore::with_budget(SegConfig::default(), budget).unwrap();
        let empty = budget.used();
        for i in 0..5000u32 {
            s.set(&i.to_le_bytes(), b"x", (i % 2 == 0).then_some(10), 0)
                .unwrap();
        }
        let mut seen = 0;
        s.for_each_live(10, |_, v, at| {
            assert_eq!((v, at), (ValueRef::Bytes(b"x"), None));
            seen += 1;
        });
        assert_eq!(seen, 2500);
        s.flush_all();
        assert_eq!((s.len(), budget.used()), (0, empty));
        s.verify().unwrap();
    }
}
