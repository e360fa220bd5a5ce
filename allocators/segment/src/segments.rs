//! The segment table: fixed-size append-only buffers, each charged to the budget while held, chained
//! oldest to newest within their TTL bucket.

use crate::index::SEGMENTS_MAX;
use crate::ttl::TTL_BUCKETS;
use zedis_budget::{Budget, Component, GlobalBudget};

/// No segment.
pub const NONE: u32 = u32::MAX;

/// One segment. A free segment has an empty `data`.
pub struct Segment {
    /// `seg_bytes` bytes while held; items live in `data[..write]`.
    pub data: Box<[u8]>,
    /// Append position. Invariant: `live_bytes <= write <= data.len()`.
    pub write: u32,
    /// Items not deleted (expired ones included until removed).
    pub live_items: u32,
    /// Bytes of those items; `write - live_bytes` are holes.
    pub live_bytes: u32,
    /// TTL bucket this segment belongs to.
    pub bucket: u16,
    /// Older neighbour in the bucket chain.
    pub prev: u32,
    /// Newer neighbour in the bucket chain.
    pub next: u32,
    /// Allocation order (FIFO eviction picks the smallest).
    pub seq: u64,
    /// Latest expiry of any item ever written here (`i64::MAX` if one had none): once it has passed,
    /// every item in the segment is expired and the segment can be freed whole.
    pub expire_max_ms: i64,
}

impl std::fmt::Debug for Segment {
    /// Everything but the data bytes (a segment is a megabyte).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("data_len", &self.data.len())
            .field("write", &self.write)
            .field("live_items", &self.live_items)
            .field("live_bytes", &self.live_bytes)
            .field("bucket", &self.bucket)
            .field("prev", &self.prev)
            .field("next", &self.next)
            .field("seq", &self.seq)
            .field("expire_max_ms", &self.expire_max_ms)
            .finish()
    }
}

impl Segment {
    /// Whether the segment is held.
    pub fn is_held(&self) -> bool {
        !self.data.is_empty()
    }
}

/// All segments and the TTL bucket chains. Invariant: `held * seg_bytes` bytes are reserved in the
/// budget under `Keyspace`, and `held` == segments with data.
#[derive(Debug)]
pub struct Segments {
    /// Indexed by segment id.
    pub segs: Vec<Segment>,
    free_ids: Vec<u32>,
    /// Oldest segment per TTL bucket.
    pub heads: Vec<u32>,
    /// Newest (active, appended to) segment per TTL bucket.
    pub tails: Vec<u32>,
    /// Segments per TTL bucket.
    pub counts: Vec<u32>,
    /// Segment size.
    pub seg_bytes: usize,
    /// Segments held.
    pub held: usize,
    budget: &'static Budget,
    seq: u64,
}

/// No segment could be allocated (budget or segment ids exhausted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoSegment;

impl Segments {
    /// An empty table of `seg_bytes` segments.
    pub fn new(seg_bytes: usize, budget: &'static Budget) -> Self {
        Segments {
            segs: Vec::new(),
            free_ids: Vec::new(),
            heads: vec![NONE; TTL_BUCKETS],
            tails: vec![NONE; TTL_BUCKETS],
            counts: vec![0; TTL_BUCKETS],
            seg_bytes,
            held: 0,
            budget,
            seq: 0,
        }
    }

    /// Bytes charged to the budget.
    pub fn charged_bytes(&self) -> usize {
        self.held * self.seg_bytes
    }

    /// Where `len` bytes can be appended in `bucket`: the active segment if it has room, else a new one
    /// chained as the bucket's tail. Returns (segment, offset); the caller writes and calls `commit`.
    pub fn room(&mut self, bucket: usize, len: usize) -> Result<(u32, usize), NoSegment> {
        let tail = self.tails[bucket];
        if tail != NONE {
            let seg = &self.segs[tail as usize];
            if seg.write as usize + len <= self.seg_bytes {
                return Ok((tail, seg.write as usize));
            }
        }
        let id = self.alloc(bucket)?;
        Ok((id, 0))
    }

    /// Records an item of `len` bytes appended at the segment's write position.
    pub fn commit(&mut self, id: u32, len: usize, expire_at_ms: Option<i64>) {
        let seg = &mut self.segs[id as usize];
        seg.write += len as u32;
        seg.live_items += 1;
        seg.live_bytes += len as u32;
        seg.expire_max_ms = seg.expire_max_ms.max(expire_at_ms.unwrap_or(i64::MAX));
        debug_assert!(seg.write as usize <= self.seg_bytes);
    }

    /// Records that an item of `len` bytes in segment `id` died.
    pub fn kill(&mut self, id: u32, len: usize) {
        let seg = &mut self.segs[id as usize];
        debug_assert!(seg.live_items > 0 && seg.live_bytes as usize >= len);
        seg.live_items -= 1;
        seg.live_bytes -= len as u32;
    }

    fn alloc(&mut self, bucket: usize) -> Result<u32, NoSegment> {
        let id = match self.free_ids.last() {
            Some(&id) => id,
            None if self.segs.len() < SEGMENTS_MAX => self.segs.len() as u32,
            None => return Err(NoSegment),
        };
        self.budget
            .try_reserve(Component::Keyspace, self.seg_bytes)
            .map_err(|_| NoSegment)?;
        // Zeroed memory comes from calloc/mmap: pages are only touched when items are written.
        let data = vec![0u8; self.seg_bytes].into_boxed_slice();
        self.seq += 1;
        let seg = Segment {
            data,
            write: 0,
            live_items: 0,
            live_bytes: 0,
            bucket: bucket as u16,
            prev: self.tails[bucket],
            next: NONE,
            seq: self.seq,
            expire_max_ms: i64::MIN,
        };
        if self.free_ids.pop().is_none() {
            self.segs.push(seg);
        } else {
            self.segs[id as usize] = seg;
        }
        match self.tails[bucket] {
            NONE => self.heads[bucket] = id,
            tail => self.segs[tail as usize].next = id,
        }
        self.tails[bucket] = id;
        self.counts[bucket] += 1;
        self.held += 1;
        Ok(id)
    }

    /// Unlinks segment `id` from its bucket and returns its memory. Its items must be out of the index.
    pub fn free(&mut self, id: u32) {
        let seg = &mut self.segs[id as usize];
        debug_assert!(seg.is_held());
        let (bucket, prev, next) = (seg.bucket as usize, seg.prev, seg.next);
        seg.data = Box::new([]);
        seg.prev = NONE;
        seg.next = NONE;
        match prev {
            NONE => self.heads[bucket] = next,
            p => self.segs[p as usize].next = next,
        }
        match next {
            NONE => self.tails[bucket] = prev,
            n => self.segs[n as usize].prev = prev,
        }
        self.counts[bucket] -= 1;
        self.held -= 1;
        self.free_ids.push(id);
        self.budget.release(Component::Keyspace, self.seg_bytes);
    }

    /// Frees every segment.
    pub fn clear(&mut self) {
        self.budget
            .release(Component::Keyspace, self.charged_bytes());
        self.segs.clear();
        self.free_ids.clear();
        self.heads.fill(NONE);
        self.tails.fill(NONE);
        self.counts.fill(0);
        self.held = 0;
    }

    /// Ids of held segments.
    pub fn held_ids(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.segs.len() as u32).filter(|&id| self.segs[id as usize].is_held())
    }
}

impl Drop for Segments {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_and_budget() {
        let budget = Budget::leak(3 * 1024);
        let mut segs = Segments::new(1024, budget);
        let (a, _) = segs.room(5, 1000).unwrap();
        segs.commit(a, 1000, Some(7));
        let (b, off) = segs.room(5, 100).unwrap();
        assert_ne!(a, b);
        assert_eq!(off, 0);
        segs.commit(b, 100, None);
        let (c, _) = segs.room(0, 10).unwrap();
        assert_eq!(segs.room(1, 2000), Err(NoSegment));
        assert_eq!((segs.heads[5], segs.tails[5], segs.counts[5]), (a, b, 2));
        assert_eq!(segs.segs[a as usize].expire_max_ms, 7);
        segs.free(a);
        assert_eq!((segs.heads[5], segs.tails[5], segs.counts[5]), (b, b, 1));
        assert_eq!(budget.used(), 2 * 1024);
        let (d, _) = segs.room(5, 1024).unwrap();
        assert_eq!(d, a, "ids are reused");
        let _ = c;
        drop(segs);
        assert_eq!(budget.used(), 0);
    }
}
