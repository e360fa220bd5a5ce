//! The node layer of [`super::ZSet`]: how pairs and scores sit in listpacks, and the `skiplist`
//! encoding's ordered chain of listpack nodes with its `member -> score` table.

use super::super::elem::{Elem, Needle, INT_TEXT_BYTES_MAX};
use super::super::listpack::{self, Listpack};
use super::super::AllocError;
use super::fence::Fence;
use super::index::ScoreIndex;
use allocator_api2::alloc::Allocator;
use allocator_api2::vec::Vec;
use core::cell::RefCell;
use core::cmp::Ordering;

/// Pairs per node of the `skiplist` encoding before it splits (small in tests, so model tests cross
/// node boundaries).
#[cfg(not(test))]
pub const NODE_PAIRS_MAX: usize = 32;
/// Pairs per node of the `skiplist` encoding before it splits.
#[cfg(test)]
pub const NODE_PAIRS_MAX: usize = 8;

/// Debug builds compare every fence with its node after each change up to this many nodes.
const FENCES_CHECKED_NODES_MAX: usize = 256;

/// Largest magnitude stored as an integer (every integer up to it is exact in a double).
pub(super) const EXACT_INT_MAX: f64 = 9_007_199_254_740_992.0;

/// The listpack element holding `score` (bytes written to `buf` when not an integer). `-0` keeps its
/// sign (8 bytes): a `skiplist` node holds what Redis's skiplist holds, a double. The `listpack`
/// encoding passes [`pack_score`]s, which have no `-0`.
pub(super) fn score_elem(score: f64, buf: &mut [u8; 8]) -> Elem<'_> {
    if score.fract() == 0.0
        && score.abs() < EXACT_INT_MAX
        && !(score == 0.0 && score.is_sign_negative())
    {
        Elem::Int(score as i64)
    } else {
        *buf = score.to_le_bytes();
        Elem::Bytes(&buf[..])
    }
}

/// `score` as the `listpack` encoding stores it: `-0` becomes 0, as in Redis's `zzlInsertAt`
/// (`double2ll` accepts `-0` and an integer entry has no sign of zero).
pub(super) fn pack_score(score: f64) -> f64 {
    score + 0.0
}

/// The score a listpack element holds.
pub(super) fn elem_score(elem: Elem<'_>) -> f64 {
    match elem {
        Elem::Int(value) => value as f64,
        Elem::Bytes(bytes) => {
            let mut raw = [0u8; 8];
            let n = bytes.len().min(8);
            raw[..n].copy_from_slice(&bytes[..n]);
            f64::from_le_bytes(raw)
        }
    }
}

/// Orders `(score_a, member_a)` against `(score_b, member_b)`: by score, then by member bytes.
pub fn cmp_pair(score_a: f64, member_a: Elem<'_>, score_b: f64, member_b: &[u8]) -> Ordering {
    match score_a.partial_cmp(&score_b) {
        Some(Ordering::Equal) | None => {
            let mut buf = [0u8; INT_TEXT_BYTES_MAX];
            member_a.to_bytes(&mut buf).cmp(member_b)
        }
        Some(order) => order,
    }
}

/// Inserts the pair at byte offset `off` of `lp`. On `Err` `lp` is unchanged.
pub(super) fn insert_pair<A: Allocator>(
    lp: &mut Listpack<A>,
    off: usize,
    member: &[u8],
    score: f64,
) -> Result<(), AllocError> {
    let member = Elem::from_bytes(member);
    lp.insert_at(off, member)?;
    let mut buf = [0u8; 8];
    let score_off = off + listpack::entry_bytes(member);
    if let Err(error) = lp.insert_at(score_off, score_elem(score, &mut buf)) {
        lp.remove_at(off);
        return Err(error);
    }
    Ok(())
}

/// Byte offset of the first pair of `lp` for which `before` is false (or `bytes_len`), and its index.
pub(super) fn partition_pairs<A: Allocator>(
    lp: &Listpack<A>,
    mut before: impl FnMut(Elem<'_>, f64) -> bool,
) -> (usize, usize) {
    let mut iter = lp.iter();
    let mut off = 0;
    let mut index = 0;
    while let (Some(member), Some(score)) = (iter.next(), iter.next()) {
        if !before(member, elem_score(score)) {
            return (off, index);
        }
        off += listpack::entry_bytes(member) + listpack::entry_bytes(score);
        index += 1;
    }
    (lp.bytes_len(), index)
}

/// The last pair of a non-empty node.
pub(super) fn last_pair<A: Allocator>(lp: &Listpack<A>) -> Option<(Elem<'_>, f64)> {
    let score_off = lp.last_off()?;
    let member_off = lp.prev_off(score_off)?;
    Some((lp.get_at(member_off), elem_score(lp.get_at(score_off))))
}

/// The `skiplist` encoding: ordered nodes plus the member index.
pub(super) struct Sorted<A: Allocator + Copy> {
    /// Non-empty nodes in order; every pair of node `i` sorts before every pair of node `i + 1`.
    pub(super) nodes: Vec<Listpack<A>, A>,
    /// `member -> score` for every pair in `nodes` (by hash, confirmed against the nodes).
    pub(super) table: ScoreIndex<A>,
    /// A Fenwick tree over the nodes' pair counts (`index[i]` sums nodes `i + 1 - lowbit(i + 1) ..= i`), so
    /// ranks cost O(log nodes). Single-pair changes keep it in step; a change in the number of nodes (a
    /// split, a merge, a removal) marks it stale (clears it) and the next rank query rebuilds it in
    /// O(nodes), so a run of inserts that splits many nodes pays for one rebuild, not one per split.
    /// Valid iff `len() == nodes.len()`; after a failed allocation rank queries add node lengths instead.
    index: RefCell<Vec<usize, A>>,
    /// `fences[i]` is `Fence::of(&nodes[i])`, kept in step by [`Self::node_changed`] after every change
    /// to a node, so finding a pair's node reads one array. `fences.len() != nodes.len()` means it is
    /// stale (an allocation failed): searches then read the nodes.
    fences: Vec<Fence, A>,
}

impl<A: Allocator + Copy> Sorted<A> {
    pub(super) fn new_in(capacity: usize, alloc: A) -> Result<Self, AllocError> {
        Ok(Sorted {
            nodes: Vec::new_in(alloc),
            table: ScoreIndex::with_capacity_in(capacity, alloc)?,
            index: RefCell::new(Vec::new_in(alloc)),
            fences: Vec::new_in(alloc),
        })
    }

    /// Marks the rank index stale (after nodes were added, removed or split).
    pub(super) fn reindex(&mut self) {
        self.index.get_mut().clear();
    }

    /// Rebuilds a stale rank index from the node lengths; best effort.
    fn refresh_index(&self) {
        let n = self.nodes.len();
        let mut index = self.index.borrow_mut();
        if index.len() == n {
            return;
        }
        index.clear();
        if index.try_reserve(n).is_err() {
            return;
        }
        index.extend(self.nodes.iter().map(|node| node.len() / 2));
        for i in 1..=n {
            let parent = i + (i & i.wrapping_neg());
            if parent <= n {
                index[parent - 1] += index[i - 1];
            }
        }
    }

    /// Records that node `idx` gained (`grew`) or lost one pair.
    pub(super) fn index_step(&mut self, idx: usize, grew: bool) {
        let n = self.nodes.len();
        let index = self.index.get_mut();
        if index.len() != n {
            return;
        }
        let mut i = idx + 1;
        while i <= n {
            if grew {
                index[i - 1] += 1;
            } else {
                index[i - 1] -= 1;
            }
            i += i & i.wrapping_neg();
        }
    }

    /// Pairs in nodes `0..idx`.
    pub(super) fn pairs_before(&self, idx: usize) -> usize {
        self.refresh_index();
        let index = self.index.borrow();
        if index.len() != self.nodes.len() {
            return self.nodes[..idx].iter().map(|n| n.len() / 2).sum();
        }
        fenwick_prefix(&index, idx)
    }

    /// Node index and pair index within it of rank `rank` (`rank < len`).
    pub(super) fn locate(&self, rank: usize) -> (usize, usize) {
        self.refresh_index();
        let index = self.index.borrow();
        let n = index.len();
        if n != self.nodes.len() {
            return locate(&self.nodes, rank);
        }
        let (mut pos, mut rest) = (0, rank);
        let mut step = if n == 0 {
            0
        } else {
            1 << (usize::BITS - 1 - n.leading_zeros())
        };
        while step > 0 {
            if pos + step <= n && index[pos + step - 1] <= rest {
                pos += step;
                rest -= index[pos - 1];
            }
            step >>= 1;
        }
        (pos.min(n.saturating_sub(1)), rest)
    }

    pub(super) fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member).map(|(score, _, _)| score)
    }

    /// The score of `member`, the index of its node and its pair index in that node.
    pub(super) fn find(&self, member: &[u8]) -> Option<(f64, usize, usize)> {
        let hash = self.table.hash(member);
        let mut at = None;
        let score = self.table.find(hash, |score| {
            at = self.position(score, member);
            at.is_some()
        })?;
        at.map(|(idx, index)| (score, idx, index))
    }

    /// Where the pair `(score, member)` is in the nodes: node index and pair index in it.
    fn position(&self, score: f64, member: &[u8]) -> Option<(usize, usize)> {
        if self.nodes.is_empty() {
            return None;
        }
        let idx = self.node_for(score, member);
        let node = &self.nodes[idx];
        if self.nearer_the_end(idx, score) {
            return position_from_back(node, score, member).map(|index| (idx, index));
        }
        let (off, index) =
            partition_pairs(node, |m, s| cmp_pair(s, m, score, member) == Ordering::Less);
        let score_off = node.next_off(off).filter(|_| off < node.bytes_len())?;
        let found = node.get_at(off);
        let equal =
            cmp_pair(elem_score(node.get_at(score_off)), found, score, member) == Ordering::Equal;
        equal.then_some((idx, index))
    }

    /// Whether `score` is nearer node `idx`'s last score than the previous node's (so a scan from the
    /// back is likely shorter); false when unknown.
    fn nearer_the_end(&self, idx: usize, score: f64) -> bool {
        if idx == 0 || self.fences.len() != self.nodes.len() {
            return false;
        }
        let (low, high) = (self.fences[idx - 1].score(), self.fences[idx].score());
        high - score < score - low
    }

    /// Keeps `fences` in step after node `idx` changed: its pairs changed, or it was split (the new node
    /// is `idx + 1`, or `idx` is a node just pushed at the end), or it was removed or the node after it
    /// merged into it (one node fewer).
    pub(super) fn node_changed(&mut self, idx: usize) {
        let (nodes, fences) = (self.nodes.len(), self.fences.len());
        if nodes == fences {
            if let Some(node) = self.nodes.get(idx) {
                self.fences[idx] = Fence::of(node);
            }
        } else if nodes == fences + 1 && idx < nodes && self.fences.try_reserve(1).is_ok() {
            self.fences.insert(idx, Fence::of(&self.nodes[idx]));
            // The new node inherits the fence, which a pair appended before the split may have moved.
            if let Some(next) = self.nodes.get(idx + 1) {
                self.fences[idx + 1] = Fence::of(next);
            }
        } else if nodes + 1 == fences && idx < fences {
            self.fences.remove(idx);
        } else {
            self.fences.clear();
            if self.fences.try_reserve(nodes).is_ok() {
                self.fences.extend(self.nodes.iter().map(Fence::of));
            }
        }
        debug_assert!(self.fences_exact());
    }

    /// Whether the fences are stale or exactly the nodes' (checked in debug builds, up to a size that
    /// keeps a debug server linear).
    fn fences_exact(&self) -> bool {
        self.fences.len() != self.nodes.len()
            || self.nodes.len() > FENCES_CHECKED_NODES_MAX
            || self
                .nodes
                .iter()
                .zip(self.fences.iter())
                .all(|(node, fence)| Fence::of(node) == *fence)
    }

    /// Index of the node a pair `(score, member)` belongs in (the last node when past the end).
    pub(super) fn node_for(&self, score: f64, member: &[u8]) -> usize {
        let node_before = |node: &Listpack<A>| {
            last_pair(node).is_some_and(|(m, s)| cmp_pair(s, m, score, member) == Ordering::Less)
        };
        let idx = if self.fences.len() == self.nodes.len() {
            let (mut lo, mut hi) = (0, self.nodes.len());
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                let before = self.fences[mid]
                    .before(score, member)
                    .unwrap_or_else(|| node_before(&self.nodes[mid]));
                if before {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            lo
        } else {
            self.nodes.partition_point(node_before)
        };
        idx.min(self.nodes.len().saturating_sub(1))
    }

    /// Appends a pair known to sort after every present pair (conversion and bulk builds).
    pub(super) fn push_sorted(
        &mut self,
        member: &[u8],
        score: f64,
        alloc: A,
    ) -> Result<(), AllocError> {
        self.table.reserve(1)?;
        let full = self
            .nodes
            .last()
            .is_none_or(|n| n.len() / 2 >= NODE_PAIRS_MAX);
        if full {
            self.nodes.try_reserve(1).map_err(|_| AllocError)?;
            if let Some(previous) = self.nodes.last_mut() {
                previous.shrink_to_fit(alloc);
            }
            self.nodes.push(Listpack::new_in(alloc));
        }
        let last = self.nodes.len() - 1;
        let node = &mut self.nodes[last];
        let end = node.bytes_len();
        let hash = self.table.hash(member);
        let result =
            insert_pair(node, end, member, score).and_then(|()| self.table.insert(hash, score));
        if result.is_err() {
            let node = &mut self.nodes[last];
            if node.bytes_len() > end {
                node.remove_range(end, 2);
            }
            if node.is_empty() {
                self.nodes.pop();
            }
        } else {
            if full {
                self.index_push_last();
            } else {
                self.index_step(last, true);
            }
            self.node_changed(last);
        }
        result
    }

    /// Extends the index by the last node (just pushed, holding one pair), or leaves it stale.
    fn index_push_last(&mut self) {
        let n = self.nodes.len();
        let index = self.index.get_mut();
        if index.len() + 1 != n || index.try_reserve(1).is_err() {
            return index.clear();
        }
        // The new slot n covers nodes n - lowbit(n) + 1 ..= n: its own pair plus the slots below it.
        let low = n & n.wrapping_neg();
        let below = fenwick_prefix(index, n - 1) - fenwick_prefix(index, n - low);
        index.push(1 + below);
    }

    /// Inserts an absent member. On `Err` nothing changed.
    pub(super) fn insert(&mut self, member: &[u8], score: f64, alloc: A) -> Result<(), AllocError> {
        if self.nodes.is_empty() {
            return self.push_sorted(member, score, alloc);
        }
        self.table.reserve(1)?;
        self.nodes.try_reserve(1).map_err(|_| AllocError)?;
        let idx = self.node_for(score, member);
        let is_last = idx + 1 == self.nodes.len();
        let node = &mut self.nodes[idx];
        let (off, _) =
            partition_pairs(node, |m, s| cmp_pair(s, m, score, member) == Ordering::Less);
        insert_pair(node, off, member, score)?;
        if let Err(error) = self.table.insert(self.table.hash(member), score) {
            node.remove_range(off, 2);
            return Err(error);
        }
        if node.len() / 2 > NODE_PAIRS_MAX {
            // Appending past the end of the last node (ascending scores: timestamps, counters) leaves
            // the full node full and starts a new one; any other overflow splits in half.
            let appended = is_last && off + pair_bytes(member, score) == node.bytes_len();
            let keep_pairs = if appended {
                node.len() / 2 - 1
            } else {
                node.len() / 4
            };
            split_node_at(&mut self.nodes, idx, keep_pairs, alloc);
        }
        if self.nodes.len() == self.index.get_mut().len() {
            self.index_step(idx, true);
        } else {
            self.reindex();
        }
        self.node_changed(idx);
        Ok(())
    }

    /// Removes the pair of `member` (whose score is `score`) from the nodes only.
    pub(super) fn remove_from_nodes(&mut self, member: &[u8], score: f64) {
        let idx = self.node_for(score, member);
        let node = &mut self.nodes[idx];
        let Some(off) = node.find(&Needle::new(member), 0, 2) else {
            debug_assert!(false, "zset member missing from its node");
            return;
        };
        node.remove_range(off, 2);
        if node.is_empty() {
            self.nodes.remove(idx);
            self.node_changed(idx);
            return self.reindex();
        }
        // Merge with the next node when both are small, so nodes stay at least a quarter full.
        let pairs = node.len() / 2;
        if pairs < NODE_PAIRS_MAX / 4 && idx + 1 < self.nodes.len() {
            let next_pairs = self.nodes[idx + 1].len() / 2;
            if pairs + next_pairs <= NODE_PAIRS_MAX / 2 {
                let (left, right) = self.nodes.split_at_mut(idx + 1);
                if left[idx].try_append(&mut right[0]).is_ok() {
                    self.nodes.remove(idx + 1);
                    self.node_changed(idx);
                    return self.reindex();
                }
            }
        }
        self.node_changed(idx);
        self.index_step(idx, false);
    }

    /// Removes the pair `(old, member)` while the pair `(new, member)` is also present (a score
    /// update inserts the new pair first).
    pub(super) fn remove_old_pair(&mut self, member: &[u8], old: f64, new: f64) {
        let before = self.nodes.len();
        let idx = self.node_for(old, member);
        if remove_pair_at_score(&mut self.nodes, idx, member, old, new) {
            self.node_changed(idx);
            if self.nodes.len() == before {
                self.index_step(idx, false);
            } else {
                self.reindex();
            }
        }
    }

    /// Splits node `idx` in half if it is oversized (best effort).
    pub(super) fn split_if_full(&mut self, idx: usize, alloc: A) {
        if self
            .nodes
            .get(idx)
            .is_some_and(|n| n.len() / 2 > NODE_PAIRS_MAX)
        {
            split_node(&mut self.nodes, idx, alloc);
            self.node_changed(idx);
            self.reindex();
        }
    }

    pub(super) fn mem_bytes(&self) -> usize {
        core::mem::size_of::<Self>()
            + self.nodes.capacity() * core::mem::size_of::<Listpack<A>>()
            + self.nodes.iter().map(Listpack::mem_bytes).sum::<usize>()
            + self.table.mem_bytes()
            + self.index.borrow().capacity() * core::mem::size_of::<usize>()
    }
}

/// Pair index of `(score, member)` in `node`, scanning from the back.
fn position_from_back<A: Allocator>(
    node: &Listpack<A>,
    score: f64,
    member: &[u8],
) -> Option<usize> {
    let mut iter = node.iter();
    let mut index = node.len() / 2;
    while let (Some(s), Some(m)) = (iter.next_back(), iter.next_back()) {
        index -= 1;
        match cmp_pair(elem_score(s), m, score, member) {
            Ordering::Equal => return Some(index),
            Ordering::Less => return None,
            Ordering::Greater => {}
        }
    }
    None
}

/// Pairs in the nodes before `idx` by the Fenwick tree `index` (`idx <= index.len()`).
fn fenwick_prefix(index: &[usize], idx: usize) -> usize {
    let (mut sum, mut i) = (0, idx);
    while i > 0 {
        sum += index[i - 1];
        i -= i & i.wrapping_neg();
    }
    sum
}

/// Node index and pair index within it of rank `rank` (`rank < len`).
pub(super) fn locate<A: Allocator>(nodes: &[Listpack<A>], mut rank: usize) -> (usize, usize) {
    for (idx, node) in nodes.iter().enumerate() {
        let pairs = node.len() / 2;
        if rank < pairs {
            return (idx, rank);
        }
        rank -= pairs;
    }
    (nodes.len().saturating_sub(1), 0)
}

/// Removes the pair `(old, member)` from node `idx` of `nodes`, the node it sorts in (the pair
/// `(new, member)` is also present); whether it was there.
fn remove_pair_at_score<A: Allocator>(
    nodes: &mut Vec<Listpack<A>, A>,
    idx: usize,
    member: &[u8],
    old: f64,
    new: f64,
) -> bool {
    let Some(node) = nodes.get_mut(idx) else {
        return false;
    };
    let needle = Needle::new(member);
    let mut off = 0;
    while let Some(found) = node.find(&needle, off, 2) {
        let Some(score_off) = node.next_off(found) else {
            break;
        };
        let score = elem_score(node.get_at(score_off));
        if score == old && score != new {
            node.remove_range(found, 2);
            if node.is_empty() {
                nodes.remove(idx);
            }
            return true;
        }
        off = node.next_off(score_off).unwrap_or(node.bytes_len());
    }
    false
}

/// Splits node `idx` in half (best effort).
fn split_node<A: Allocator + Copy>(nodes: &mut Vec<Listpack<A>, A>, idx: usize, alloc: A) {
    let keep_pairs = nodes[idx].len() / 4;
    split_node_at(nodes, idx, keep_pairs, alloc);
}

/// Bytes the pair `(member, score)` takes in a listpack.
fn pair_bytes(member: &[u8], score: f64) -> usize {
    let mut buf = [0u8; 8];
    listpack::entry_bytes(Elem::from_bytes(member))
        + listpack::entry_bytes(score_elem(score, &mut buf))
}

/// Moves the pairs of node `idx` after the first `keep_pairs` into a new node after it, and gives the
/// kept node's spare capacity back. Best effort: an oversized node is still valid if this cannot
/// allocate.
fn split_node_at<A: Allocator + Copy>(
    nodes: &mut Vec<Listpack<A>, A>,
    idx: usize,
    keep_pairs: usize,
    alloc: A,
) {
    if nodes.try_reserve(1).is_err() {
        return;
    }
    let node = &mut nodes[idx];
    if let Some(mid) = node.offset_of(2 * keep_pairs) {
        if let Ok(tail) = node.split_off(mid, alloc) {
            node.shrink_to_fit(alloc);
            nodes.insert(idx + 1, tail);
        }
    }
}
