//! Bulk expiry, eviction by whole segments, and merge/compaction of segments.

use crate::index::{pack, slot_freq, slot_tag, Loc, Pos};
use crate::item;
use crate::segments::NONE;
use crate::store::SegStore;
use crate::ttl::{NO_TTL_BUCKET, TTL_BUCKETS};
use crate::{EvictPolicy, Removed, SegError};

/// A live item found while walking a segment.
struct Candidate {
    freq: u8,
    offset: usize,
    len: usize,
    pos: Pos,
    keep: bool,
}

impl SegStore {
    /// The index position of the item at `loc`, found through its key's hash.
    fn pos_of(&self, key: &[u8], loc: Loc) -> Option<Pos> {
        self.index.find(self.index.hash(key), |l| l == loc)
    }

    /// Clears the slot at `pos`, recording the key as expired or evicted.
    fn drop_item(&mut self, pos: Pos, key: Vec<u8>, expired: bool, out: &mut Removed) {
        self.index.set(pos, 0);
        self.items -= 1;
        if expired {
            self.expired_items += 1;
            out.expired.push(key);
        } else {
            self.evicted_items += 1;
            out.evicted.push(key);
        }
    }

    /// Takes every live item of segment `id` out of the index and frees the segment.
    fn drop_segment(&mut self, id: u32, now_ms: i64, out: &mut Removed) {
        let write = self.segs.segs[id as usize].write as usize;
        let mut at = 0;
        while at < write {
            let data = &self.segs.segs[id as usize].data;
            let it = item::read(data, at);
            if !it.is_deleted() {
                let key = data[it.key_at..it.key_at + it.key_len].to_vec();
                let loc = Loc {
                    seg: id,
                    offset: at as u32,
                };
                match self.pos_of(&key, loc) {
                    Some(pos) => self.drop_item(pos, key, it.is_expired(now_ms), out),
                    None => debug_assert!(false, "live item without a slot"),
                }
            }
            at += it.total_len;
        }
        self.segs.free(id);
    }

    /// Proactive expiry: visits TTL buckets round-robin and frees, whole, each bucket's oldest segments
    /// whose items have all expired at `now_ms`. Work is one unit per bucket visited plus one per item
    /// removed; it stops once `work_max` is reached (after finishing the segment at hand).
    pub fn expire_step(&mut self, now_ms: i64, work_max: usize) -> Removed {
        let mut out = Removed::default();
        let mut work = 0;
        for _ in 1..TTL_BUCKETS {
            if work >= work_max {
                break;
            }
            let bucket = self.expire_cursor;
            self.expire_cursor = if bucket + 1 >= TTL_BUCKETS {
                1
            } else {
                bucket + 1
            };
            work += 1;
            while work < work_max {
                let head = self.segs.heads[bucket];
                if head == NONE || self.segs.segs[head as usize].expire_max_ms > now_ms {
                    break;
                }
                work += self.segs.segs[head as usize].live_items as usize;
                self.drop_segment(head, now_ms, &mut out);
                self.expired_segments += 1;
            }
        }
        out
    }

    /// Frees at least one segment by `policy`, returning the keys removed (live ones as evicted, expired
    /// ones as expired). With `volatile_only`, only segments of TTL buckets are candidates.
    pub fn evict_one_unit(
        &mut self,
        policy: EvictPolicy,
        volatile_only: bool,
        now_ms: i64,
    ) -> Result<Removed, SegError> {
        let first = if volatile_only { 1 } else { NO_TTL_BUCKET };
        let mut out = Removed::default();
        let victim = match policy {
            EvictPolicy::Merge => {
                if let Some(bucket) = self.merge_candidate(first) {
                    let ids: Vec<u32> = self
                        .chain(bucket)
                        .into_iter()
                        .take(self.config.merge_segments)
                        .collect();
                    self.merge(&ids, false, now_ms, &mut out);
                    return Ok(out);
                }
                self.oldest(first)
            }
            EvictPolicy::Fifo => self.oldest(first),
            EvictPolicy::Random => self.random_segment(first).or_else(|| self.oldest(first)),
            EvictPolicy::NearestExpiry => self
                .segs
                .held_ids()
                .filter(|&id| self.segs.segs[id as usize].bucket as usize >= 1)
                .min_by_key(|&id| self.segs.segs[id as usize].expire_max_ms),
        };
        let victim = victim.ok_or(SegError::NothingToEvict)?;
        self.drop_segment(victim, now_ms, &mut out);
        Ok(out)
    }

    /// The next bucket (round-robin) with at least two segments.
    fn merge_candidate(&mut self, first: usize) -> Option<usize> {
        let span = TTL_BUCKETS - first;
        for i in 0..span {
            let bucket = first + (self.merge_cursor + i) % span;
            if self.segs.counts[bucket] >= 2 {
                self.merge_cursor = (bucket + 1 - first) % span;
                return Some(bucket);
            }
        }
        None
    }

    /// The oldest segment among the buckets' heads.
    fn oldest(&self, first: usize) -> Option<u32> {
        (first..TTL_BUCKETS)
            .map(|b| self.segs.heads[b])
            .filter(|&id| id != NONE)
            .min_by_key(|&id| self.segs.segs[id as usize].seq)
    }

    fn random_segment(&mut self, first: usize) -> Option<u32> {
        let n = self.segs.segs.len() as u64;
        for _ in 0..64.min(n * 4) {
            let id = (self.rand() % n) as u32;
            let seg = &self.segs.segs[id as usize];
            if seg.is_held() && seg.bucket as usize >= first {
                return Some(id);
            }
        }
        None
    }

    /// Lossless compaction: merges the first pair of neighbouring segments (in any bucket) whose live
    /// items fit in one segment, freeing one. Returns the expired keys dropped on the way, or `None` if
    /// no pair qualifies.
    pub fn compact_step(&mut self, now_ms: i64) -> Option<Removed> {
        let seg_bytes = self.config.segment_bytes as u32;
        for bucket in 0..TTL_BUCKETS {
            let mut id = self.segs.heads[bucket];
            while id != NONE {
                let seg = &self.segs.segs[id as usize];
                let next = seg.next;
                if next != NONE
                    && seg.live_bytes + self.segs.segs[next as usize].live_bytes <= seg_bytes
                {
                    let mut out = Removed::default();
                    self.merge(&[id, next], true, now_ms, &mut out);
                    return Some(out);
                }
                id = next;
            }
        }
        None
    }

    /// Merges consecutive segments `ids` (oldest first, one bucket) into `ids[0]`. With `keep_all` every
    /// live item is kept (the caller checked they fit); otherwise each source keeps its most frequently
    /// read live items up to `1/N` of a segment, with halved counters, and the rest are evicted.
    /// Expired items are dropped either way. Frees `ids[1..]` (and `ids[0]` if nothing is kept).
    pub(crate) fn merge(&mut self, ids: &[u32], keep_all: bool, now_ms: i64, out: &mut Removed) {
        let seg_bytes = self.config.segment_bytes;
        let share = if keep_all {
            seg_bytes
        } else {
            seg_bytes / ids.len()
        };
        let dest = ids[0];
        let (mut dest_write, mut live_items, mut expire_max) = (0usize, 0u32, i64::MIN);
        let mut scratch = Vec::new();
        for &src in ids {
            let mut cands = self.gather(src, now_ms, out);
            let mut order: Vec<usize> = (0..cands.len()).collect();
            order.sort_by_key(|&i| (std::cmp::Reverse(cands[i].freq), cands[i].offset));
            let mut kept = 0;
            for i in order {
                let len = cands[i].len;
                if keep_all || (kept + len <= share && dest_write + kept + len <= seg_bytes) {
                    cands[i].keep = true;
                    kept += len;
                }
            }
            for cand in cands {
                let src_data = &self.segs.segs[src as usize].data;
                let it = item::read(src_data, cand.offset);
                if !cand.keep {
                    let key = src_data[it.key_at..it.key_at + it.key_len].to_vec();
                    self.drop_item(cand.pos, key, false, out);
                    continue;
                }
                scratch.clear();
                scratch.extend_from_slice(&src_data[cand.offset..cand.offset + cand.len]);
                let dest_data = &mut self.segs.segs[dest as usize].data;
                dest_data[dest_write..dest_write + cand.len].copy_from_slice(&scratch);
                let slot = self.index.get(cand.pos);
                let freq = if keep_all { cand.freq } else { cand.freq / 2 };
                let loc = Loc {
                    seg: dest,
                    offset: dest_write as u32,
                };
                self.index.set(cand.pos, pack(slot_tag(slot), freq, loc));
                dest_write += cand.len;
                live_items += 1;
                expire_max = expire_max.max(it.expire_at_ms.unwrap_or(i64::MAX));
            }
        }
        let seg = &mut self.segs.segs[dest as usize];
        seg.write = dest_write as u32;
        seg.live_bytes = dest_write as u32;
        seg.live_items = live_items;
        seg.expire_max_ms = expire_max;
        for &id in &ids[1..] {
            self.segs.free(id);
        }
        if live_items == 0 {
            self.segs.free(dest);
        }
        self.merges += 1;
    }

    /// The live items of segment `src` in offset order; expired ones are dropped into `out`.
    fn gather(&mut self, src: u32, now_ms: i64, out: &mut Removed) -> Vec<Candidate> {
        let write = self.segs.segs[src as usize].write as usize;
        let mut cands = Vec::new();
        let mut at = 0;
        while at < write {
            let data = &self.segs.segs[src as usize].data;
            let it = item::read(data, at);
            if !it.is_deleted() {
                let key = data[it.key_at..it.key_at + it.key_len].to_vec();
                let loc = Loc {
                    seg: src,
                    offset: at as u32,
                };
                match self.pos_of(&key, loc) {
                    Some(pos) if it.is_expired(now_ms) => self.drop_item(pos, key, true, out),
                    Some(pos) => cands.push(Candidate {
                        freq: slot_freq(self.index.get(pos)),
                        offset: at,
                        len: it.total_len,
                        pos,
                        keep: false,
                    }),
                    None => debug_assert!(false, "live item without a slot"),
                }
            }
            at += it.total_len;
        }
        cands
    }
}

#[cfg(test)]
mod tests {
    use crate::{EvictPolicy, SegConfig, SegError, SegStore, ValueRef};
    use zedis_budget::Budget;

    fn filled() -> SegStore {
        let config = SegConfig {
            segment_bytes: 1024,
            hash_power: 2,
            merge_segments: 2,
            ..SegConfig::default()
        };
        let mut s = SegStore::with_budget(config, Budget::leak(0)).unwrap();
        // 3 segments of persistent keys 0..60, then 3 of keys 100..160 expiring at 10 s,
        // then 3 of keys 200..260 expiring at 2000 s.
        for i in 0..60u32 {
            s.set(&i.to_be_bytes(), &[0; 40], None, 0).unwrap();
        }
        for i in 100..160u32 {
            s.set(&i.to_be_bytes(), &[0; 40], Some(10_000), 0).unwrap();
        }
        for i in 200..260u32 {
            s.set(&i.to_be_bytes(), &[0; 40], Some(2_000_000), 0)
                .unwrap();
        }
        s
    }

    fn ids(keys: &[Vec<u8>]) -> Vec<u32> {
        let mut ids: Vec<u32> = keys
            .iter()
            .map(|k| u32::from_be_bytes(k[..4].try_into().unwrap()))
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn fifo_frees_the_oldest_segment_and_volatile_spares_persistent_keys() {
        let mut s = filled();
        let removed = s.evict_one_unit(EvictPolicy::Fifo, false, 0).unwrap();
        assert_eq!(ids(&removed.evicted)[0], 0);
        let removed = s.evict_one_unit(EvictPolicy::Fifo, true, 0).unwrap();
        assert_eq!(ids(&removed.evicted)[0], 100);
        let removed = s.evict_one_unit(EvictPolicy::Random, true, 0).unwrap();
        assert!(ids(&removed.evicted).iter().all(|&i| i >= 100));
        s.verify().unwrap();
    }

    #[test]
    fn nearest_expiry_and_expired_items_are_reported_as_expired() {
        let mut s = filled();
        let removed = s
            .evict_one_unit(EvictPolicy::NearestExpiry, true, 0)
            .unwrap();
        assert!(ids(&removed.evicted)
            .iter()
            .all(|&i| (100..160).contains(&i)));
        // At 10 s the remaining 100..160 items are expired: eviction reports them as such.
        let removed = s
            .evict_one_unit(EvictPolicy::NearestExpiry, true, 10_000)
            .unwrap();
        assert!(removed.evicted.is_empty() && !removed.expired.is_empty());
        s.verify().unwrap();
    }

    #[test]
    fn compaction_is_lossless_and_nothing_to_evict_when_empty() {
        let mut s = filled();
        for i in (0..60u32).filter(|i| i % 3 != 0) {
            assert!(s.delete(&i.to_be_bytes(), 0));
        }
        let before = s.stats();
        while let Some(removed) = s.compact_step(0) {
            assert!(removed.evicted.is_empty() && removed.expired.is_empty());
        }
        let after = s.stats();
        assert!(after.segments < before.segments);
        assert_eq!((after.items, after.dead_bytes), (before.items, 0));
        for i in (0..60u32).step_by(3) {
            assert_eq!(s.get(&i.to_be_bytes(), 0), Some(ValueRef::Bytes(&[0; 40])));
        }
        s.verify().unwrap();
        s.flush_all();
        assert_eq!(
            s.evict_one_unit(EvictPolicy::Merge, false, 0),
            Err(SegError::NothingToEvict)
        );
    }
}
