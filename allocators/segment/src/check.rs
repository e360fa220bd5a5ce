//! A full structural check of the store, for tests: O(items + index slots).

use std::collections::HashMap;

use crate::index::{slot_loc, Loc};
use crate::item;
use crate::segments::NONE;
use crate::store::{key_of, SegStore};
use crate::ttl::TTL_BUCKETS;

impl SegStore {
    /// Checks every invariant and describes the first one broken:
    /// - the items of each held segment tile `[0, write)` exactly (no overlap, no gap), and its live
    ///   item and byte counts match the non-deleted items;
    /// - every index slot points at the start of a non-deleted item, no two slots at the same item, and
    ///   every non-deleted item has a slot whose tag is its key's;
    /// - `len()` equals the slot count; the bucket chains link each held segment exactly once;
    /// - the budget charge is exactly the held segments plus the index.
    pub fn verify(&self) -> Result<(), String> {
        let mut starts: HashMap<Loc, bool> = HashMap::new();
        let mut chained = 0usize;
        for bucket in 0..TTL_BUCKETS {
            let (mut id, mut prev, mut count) = (self.segs.heads[bucket], NONE, 0u32);
            while id != NONE {
                let seg = &self.segs.segs[id as usize];
                if !seg.is_held() || seg.bucket as usize != bucket || seg.prev != prev {
                    return Err(format!("segment {id} badly chained in bucket {bucket}"));
                }
                let (mut at, mut live_items, mut live_bytes) = (0usize, 0u32, 0u32);
                while at < seg.write as usize {
                    let it = item::read(&seg.data, at);
                    if !it.is_deleted() {
                        live_items += 1;
                        live_bytes += it.total_len as u32;
                        starts.insert(
                            Loc {
                                seg: id,
                                offset: at as u32,
                            },
                            false,
                        );
                    }
                    at += it.total_len;
                }
                if at != seg.write as usize || at > self.config.segment_bytes {
                    return Err(format!(
                        "segment {id}: items end at {at}, write {}",
                        seg.write
                    ));
                }
                if (live_items, live_bytes) != (seg.live_items, seg.live_bytes) {
                    return Err(format!("segment {id}: live counts differ"));
                }
                prev = id;
                id = seg.next;
                count += 1;
            }
            if self.segs.tails[bucket] != prev || self.segs.counts[bucket] != count {
                return Err(format!("bucket {bucket}: tail or count wrong"));
            }
            chained += count as usize;
        }
        if chained != self.segs.held || self.segs.held_ids().count() != chained {
            return Err("held segments not all chained".into());
        }
        let mut slots = 0;
        let mut cursor = 0;
        let mut bad = None;
        loop {
            cursor = self.index.scan(cursor, |slot| {
                slots += 1;
                let loc = slot_loc(slot);
                match starts.get_mut(&loc) {
                    Some(seen @ false) => *seen = true,
                    _ => bad = Some(format!("slot at {loc:?} is not a unique live item")),
                }
            });
            if cursor == 0 {
                break;
            }
        }
        if let Some(bad) = bad {
            return Err(bad);
        }
        if slots != starts.len() || slots != self.items {
            return Err(format!(
                "{slots} slots, {} live items, len {}",
                starts.len(),
                self.items
            ));
        }
        for loc in starts.keys() {
            let key = key_of(&self.segs, *loc);
            if self
                .index
                .find(self.index.hash(key), |l| l == *loc)
                .is_none()
            {
                return Err(format!("item at {loc:?} not findable by its key"));
            }
        }
        let charged = self.segs.held * self.config.segment_bytes + self.index.charged_bytes();
        if self.stats().charged_bytes != charged {
            return Err("charge mismatch".into());
        }
        Ok(())
    }
}
