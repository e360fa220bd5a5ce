//! [`ZSet`]: Redis's sorted set encodings, ordered by `(score, member)` (members compared as bytes).
//!
//! - `listpack`: one [`Listpack`] of `member, score, member, score, ...` pairs in order, while at most
//!   `zset-max-listpack-entries` members of at most `zset-max-listpack-value` bytes (Redis's rule).
//! - `skiplist` (the name `OBJECT ENCODING` reports, as Redis): the pairs in order in a chain of listpack
//!   nodes of at most [`NODE_PAIRS_MAX`] pairs (found by binary search on each node's last pair), plus a
//!   `member -> score` index for O(1) member lookups that stores no member bytes (`zset_index.rs`: a 32-bit
//!   hash and the score per member, each hit confirmed against the nodes), and a Fenwick tree over the node
//!   lengths for O(log nodes) ranks. Appends past the end fill nodes completely (ascending scores such as
//!   timestamps); other overflows split a node in half. Like Redis, a sorted set never converts back by itself (the STORE commands build their result in
//!   the encoding its size calls for).
//!
//! Scores are stored as listpack integers when they are integral and below 2^53 in magnitude (exact in
//! a double; -0 is stored as 0, as Redis's listpack does), else as their 8 IEEE-754 bytes. NaN is never
//! stored.

#[path = "zset_fence.rs"]
mod fence;
#[path = "zset_index.rs"]
mod index;
#[path = "zset_nodes.rs"]
mod nodes;
#[path = "zset_scan.rs"]
mod scan;

use super::elem::{Elem, Needle, INT_TEXT_BYTES_MAX};
use super::listpack::{self, Listpack};
use super::{AllocError, Limits, Rng};
use allocator_api2::alloc::Allocator;
use allocator_api2::boxed::Box;
use core::cmp::Ordering;
pub use nodes::{cmp_pair, NODE_PAIRS_MAX};
use nodes::{elem_score, insert_pair, last_pair, pack_score, partition_pairs, score_elem, Sorted};

enum Repr<A: Allocator + Copy> {
    Pack(Listpack<A>),
    Skip(Box<Sorted<A>, A>),
}

/// A sorted set: members (byte strings) with `f64` scores, ordered by `(score, member)`.
pub struct ZSet<A: Allocator + Copy> {
    repr: Repr<A>,
    alloc: A,
}

/// What [`ZSet::upsert`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upsert {
    /// The member was added.
    Added,
    /// The member's score changed.
    Updated,
    /// The member already had this score.
    Same,
}

impl<A: Allocator + Copy> ZSet<A> {
    /// An empty sorted set (`listpack`); allocates nothing.
    pub fn new_in(alloc: A) -> Self {
        ZSet {
            repr: Repr::Pack(Listpack::new_in(alloc)),
            alloc,
        }
    }

    /// An empty sorted set in the `skiplist` encoding, sized for `capacity` members.
    pub fn new_skiplist_in(capacity: usize, alloc: A) -> Result<Self, AllocError> {
        let sorted = Sorted::new_in(capacity, alloc)?;
        let boxed = Box::try_new_in(sorted, alloc).map_err(|_| AllocError)?;
        Ok(ZSet {
            repr: Repr::Skip(boxed),
            alloc,
        })
    }

    /// Appends pairs that sort after every present pair, in ascending order, with unique members (a
    /// copy or a computed result). Keeps the encoding. On `Err` some pairs may have been added.
    pub fn extend_sorted<'e>(
        &mut self,
        pairs: impl Iterator<Item = (Elem<'e>, f64)>,
    ) -> Result<(), AllocError> {
        let alloc = self.alloc;
        let mut buf = [0u8; INT_TEXT_BYTES_MAX];
        for (member, score) in pairs {
            let member = member.to_bytes(&mut buf);
            match &mut self.repr {
                Repr::Pack(lp) => insert_pair(lp, lp.bytes_len(), member, pack_score(score))?,
                Repr::Skip(sorted) => sorted.push_sorted(member, score, alloc)?,
            }
        }
        Ok(())
    }

    /// A sorted set of `pairs` (ascending, unique members) in the encoding Redis gives a computed
    /// result: `listpack` if it fits the limits, else `skiplist`.
    pub fn from_sorted<'e>(
        pairs: impl ExactSizeIterator<Item = (Elem<'e>, f64)> + Clone,
        limits: &Limits,
        alloc: A,
    ) -> Result<Self, AllocError> {
        let len = pairs.len();
        let widest = pairs.clone().map(|(m, _)| m.len_bytes()).max().unwrap_or(0);
        let mut zset = if len <= limits.zset_listpack_entries_max
            && widest <= limits.zset_listpack_value_bytes_max
        {
            ZSet::new_in(alloc)
        } else {
            ZSet::new_skiplist_in(len, alloc)?
        };
        zset.extend_sorted(pairs)?;
        Ok(zset)
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Pack(lp) => lp.len() / 2,
            Repr::Skip(sorted) => sorted.table.len(),
        }
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `OBJECT ENCODING`: `"listpack"` or `"skiplist"`.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Pack(_) => "listpack",
            Repr::Skip(_) => "skiplist",
        }
    }

    /// Approximate heap bytes held (for MEMORY USAGE).
    pub fn mem_bytes(&self) -> usize {
        match &self.repr {
            Repr::Pack(lp) => lp.mem_bytes(),
            Repr::Skip(sorted) => sorted.mem_bytes(),
        }
    }

    /// The nodes in order (one listpack for the `listpack` encoding).
    fn nodes(&self) -> &[Listpack<A>] {
        match &self.repr {
            Repr::Pack(lp) => core::slice::from_ref(lp),
            Repr::Skip(sorted) => &sorted.nodes,
        }
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Pack(lp) => {
                let off = lp.find(&Needle::new(member), 0, 2)?;
                lp.next_off(off).map(|s| elem_score(lp.get_at(s)))
            }
            Repr::Skip(sorted) => sorted.score(member),
        }
    }

    /// Sets `member`'s score (`score` must not be NaN), converting to `skiplist` as Redis does.
    /// On `Err` the set is unchanged.
    pub fn upsert(
        &mut self,
        member: &[u8],
        score: f64,
        limits: &Limits,
    ) -> Result<Upsert, AllocError> {
        debug_assert!(!score.is_nan());
        let old = self.score(member);
        match old {
            Some(old) if old == score => return Ok(Upsert::Same),
            Some(old) => self.update(member, old, score)?,
            None => self.insert_new(member, score, limits)?,
        }
        Ok(if old.is_some() {
            Upsert::Updated
        } else {
            Upsert::Added
        })
    }

    fn insert_new(&mut self, member: &[u8], score: f64, limits: &Limits) -> Result<(), AllocError> {
        if let Repr::Pack(lp) = &self.repr {
            if lp.len() / 2 + 1 > limits.zset_listpack_entries_max
                || member.len() > limits.zset_listpack_value_bytes_max
            {
                self.convert_to_skiplist()?;
            }
        }
        let alloc = self.alloc;
        match &mut self.repr {
            Repr::Pack(lp) => {
                let (off, _) =
                    partition_pairs(lp, |m, s| cmp_pair(s, m, score, member) == Ordering::Less);
                insert_pair(lp, off, member, pack_score(score))
            }
            Repr::Skip(sorted) => sorted.insert(member, score, alloc),
        }
    }

    /// Moves a present member from score `old` to `score`: the new pair goes in first, so a failed
    /// allocation leaves the old one.
    fn update(&mut self, member: &[u8], old: f64, score: f64) -> Result<(), AllocError> {
        let alloc = self.alloc;
        match &mut self.repr {
            Repr::Pack(lp) => {
                let Some(old_off) = lp.find(&Needle::new(member), 0, 2) else {
                    return Err(AllocError);
                };
                let score = pack_score(score);
                let (off, _) =
                    partition_pairs(lp, |m, s| cmp_pair(s, m, score, member) == Ordering::Less);
                insert_pair(lp, off, member, score)?;
                let old_off = if off <= old_off {
                    let member_elem = Elem::from_bytes(member);
                    let mut buf = [0u8; 8];
                    old_off
                        + listpack::entry_bytes(member_elem)
                        + listpack::entry_bytes(score_elem(score, &mut buf))
                } else {
                    old_off
                };
                lp.remove_range(old_off, 2);
                Ok(())
            }
            Repr::Skip(sorted) => {
                // Insert the new pair into the nodes, then drop the old one (the search by
                // `(old, member)` finds it: the new pair has another score), then fix the table in place.
                sorted.nodes.try_reserve(1).map_err(|_| AllocError)?;
                let idx = sorted.node_for(score, member);
                let node = &mut sorted.nodes[idx];
                let (off, _) =
                    partition_pairs(node, |m, s| cmp_pair(s, m, score, member) == Ordering::Less);
                insert_pair(node, off, member, score)?;
                sorted.index_step(idx, true);
                sorted.node_changed(idx);
                sorted.remove_old_pair(member, old, score);
                let hash = sorted.table.hash(member);
                sorted.table.set_score(hash, old, score);
                sorted.split_if_full(idx, alloc);
                Ok(())
            }
        }
    }

    /// Converts a `listpack` set to `skiplist` (as Redis's `zsetConvert`, which SORT calls); a
    /// `skiplist` stays as it is. On `Err` the set is unchanged.
    pub fn convert_to_skiplist(&mut self) -> Result<(), AllocError> {
        let Repr::Pack(lp) = &self.repr else {
            return Ok(());
        };
        let mut sorted = Sorted::new_in(lp.len() / 2 + 1, self.alloc)?;
        let mut buf = [0u8; INT_TEXT_BYTES_MAX];
        let mut iter = lp.iter();
        while let (Some(member), Some(score)) = (iter.next(), iter.next()) {
            sorted.push_sorted(member.to_bytes(&mut buf), elem_score(score), self.alloc)?;
        }
        let boxed = Box::try_new_in(sorted, self.alloc).map_err(|_| AllocError)?;
        self.repr = Repr::Skip(boxed);
        Ok(())
    }

    /// Removes `member`; its score if it was there. Never fails.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.repr {
            Repr::Pack(lp) => {
                let off = lp.find(&Needle::new(member), 0, 2)?;
                let score = lp.next_off(off).map(|s| elem_score(lp.get_at(s)))?;
                lp.remove_range(off, 2);
                Some(score)
            }
            Repr::Skip(sorted) => {
                let score = sorted.score(member)?;
                sorted.remove_from_nodes(member, score);
                let hash = sorted.table.hash(member);
                sorted.table.remove(hash, score);
                Some(score)
            }
        }
    }

    /// Number of leading members (in order) for which `before(member, score)` holds; `before` must be
    /// true for a prefix of the order only.
    pub fn count_before(&self, mut before: impl FnMut(Elem<'_>, f64) -> bool) -> usize {
        let nodes = self.nodes();
        let idx = nodes.partition_point(|node| last_pair(node).is_some_and(|(m, s)| before(m, s)));
        let skipped = match &self.repr {
            Repr::Pack(lp) if idx > 0 => lp.len() / 2,
            Repr::Pack(_) => 0,
            Repr::Skip(sorted) => sorted.pairs_before(idx),
        };
        match nodes.get(idx) {
            Some(node) => skipped + partition_pairs(node, before).1,
            None => skipped,
        }
    }

    /// 0-based rank (ascending) and score of `member`.
    pub fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        if let Repr::Skip(sorted) = &self.repr {
            let (score, idx, index) = sorted.find(member)?;
            return Some((sorted.pairs_before(idx) + index, score));
        }
        let score = self.score(member)?;
        let rank = self.count_before(|m, s| cmp_pair(s, m, score, member) == Ordering::Less);
        Some((rank, score))
    }

    /// The members of ranks `start..end` (`end <= len`), ascending, or descending when `rev` (then
    /// starting at rank `end - 1`).
    pub fn range(&self, start: usize, end: usize, rev: bool) -> RangeIter<'_, A> {
        let end = end.min(self.len());
        let remaining = end.saturating_sub(start);
        let nodes = self.nodes();
        if remaining == 0 {
            return RangeIter {
                nodes,
                idx: 0,
                iter: listpack::Iter::empty(),
                remaining: 0,
                rev,
            };
        }
        let target = if rev { end - 1 } else { start };
        let (idx, local) = match &self.repr {
            Repr::Pack(_) => (0, target),
            Repr::Skip(sorted) => sorted.locate(target),
        };
        let node = &nodes[idx];
        let member_off = node.offset_of(2 * local).unwrap_or(0);
        let iter = if rev {
            let after = node
                .next_off(member_off)
                .and_then(|s| node.next_off(s))
                .unwrap_or(node.bytes_len());
            node.iter_offsets(0, after)
        } else {
            node.iter_offsets(member_off, node.bytes_len())
        };
        RangeIter {
            nodes,
            idx,
            iter,
            remaining,
            rev,
        }
    }

    /// Every `(member, score)` in ascending order.
    pub fn iter(&self) -> RangeIter<'_, A> {
        self.range(0, self.len(), false)
    }

    /// Removes the members of ranks `start..end`, showing each (ascending) to `f` first; the count
    /// removed. Never fails.
    pub fn remove_range(
        &mut self,
        start: usize,
        end: usize,
        mut f: impl FnMut(Elem<'_>, f64),
    ) -> usize {
        let end = end.min(self.len());
        if start >= end {
            return 0;
        }
        match &mut self.repr {
            Repr::Pack(lp) => {
                let Some(off) = lp.offset_of(2 * start) else {
                    return 0;
                };
                let mut iter = lp.iter_offsets(off, lp.bytes_len());
                for _ in start..end {
                    if let (Some(m), Some(s)) = (iter.next(), iter.next()) {
                        f(m, elem_score(s));
                    }
                }
                lp.remove_range(off, 2 * (end - start)) / 2
            }
            Repr::Skip(_) => {
                let members: std::vec::Vec<(std::vec::Vec<u8>, f64)> = self
                    .range(start, end, false)
                    .map(|(m, s)| (m.to_vec(), s))
                    .collect();
                for (member, score) in &members {
                    f(Elem::from_bytes(member), *score);
                    self.remove(member);
                }
                members.len()
            }
        }
    }

    /// A uniformly random `(member, score)`, `None` when empty.
    pub fn random(&self, rng: &mut impl Rng) -> Option<(Elem<'_>, f64)> {
        let len = self.len();
        if len == 0 {
            return None;
        }
        let (idx, local) = match &self.repr {
            Repr::Pack(_) => (0, rng.below(len)),
            Repr::Skip(sorted) => sorted.locate(rng.below(len)),
        };
        let node = &self.nodes()[idx];
        let off = node.offset_of(2 * local)?;
        let member = node.get_at(off);
        let score = elem_score(node.get_at(node.next_off(off)?));
        Some((member, score))
    }
}

/// Iterator over a rank range of a [`ZSet`]: `(member, score)`.
pub struct RangeIter<'a, A: Allocator> {
    nodes: &'a [Listpack<A>],
    /// Node `iter` walks.
    idx: usize,
    iter: listpack::Iter<'a>,
    /// Pairs still to yield.
    remaining: usize,
    /// Descending.
    rev: bool,
}

impl<'a, A: Allocator> Iterator for RangeIter<'a, A> {
    type Item = (Elem<'a>, f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        loop {
            let pair = if self.rev {
                let score = self.iter.next_back();
                score.and_then(|s| Some((self.iter.next_back()?, s)))
            } else {
                let member = self.iter.next();
                member.and_then(|m| Some((m, self.iter.next()?)))
            };
            if let Some((member, score)) = pair {
                self.remaining -= 1;
                return Some((member, elem_score(score)));
            }
            if self.rev {
                self.idx = self.idx.checked_sub(1)?;
            } else {
                self.idx += 1;
            }
            self.iter = self.nodes.get(self.idx)?.iter();
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining))
    }
}

#[cfg(test)]
#[path = "zset_tests.rs"]
mod tests;
