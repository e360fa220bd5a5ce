//! [`ZSet`]: Redis's sorted set encodings, ordered by `(score, member)` (members compared as bytes).
//!
//! - `listpack`: one [`Listpack`] of `member, score, member, score, ...` pairs in order, while at most
//!   `zset-max-listpack-entries` members of at most `zset-max-listpack-value` bytes (Redis's rule).
//! - `skiplist` (the name `OBJECT ENCODING` reports, as Redis): the pairs in order in a chain of listpack
//!   nodes of at most [`NODE_PAIRS_MAX`] pairs (found by binary search on each node's last pair), plus a
//!   hash table `member -> score` for O(1) ZSCORE and member lookups. Rank queries add node lengths.
//!   Like Redis, a sorted set never converts back by itself (the STORE commands build their result in
//!   the encoding its size calls for).
//!
//! Scores are stored as listpack integers when they are integral and below 2^53 in magnitude (exact in
//! a double), else as their 8 IEEE-754 bytes. NaN is never stored.

use super::elem::{Elem, Needle, INT_TEXT_BYTES_MAX};
use super::listpack::{self, Listpack};
use super::packed::{KeyOf, Table};
use super::{AllocError, Limits, Rng};
use allocator_api2::alloc::Allocator;
use allocator_api2::boxed::Box;
use allocator_api2::vec::Vec;
use core::cmp::Ordering;

/// Pairs per node of the `skiplist` encoding before it splits (small in tests, so model tests cross
/// node boundaries).
#[cfg(not(test))]
pub const NODE_PAIRS_MAX: usize = 128;
/// Pairs per node of the `skiplist` encoding before it splits.
#[cfg(test)]
pub const NODE_PAIRS_MAX: usize = 8;

/// Table entries (8 score bytes + member) up to this size live inside the 32-byte slot.
const INLINE_BYTES_MAX: usize = 30;

/// Table entries are `score (f64 LE) member`.
struct ScoreKey;

impl KeyOf for ScoreKey {
    fn key(entry: &[u8]) -> &[u8] {
        &entry[8..]
    }
}

type ScoreTable<A> = Table<A, INLINE_BYTES_MAX, ScoreKey>;

/// Largest magnitude stored as an integer (every integer up to it is exact in a double).
const EXACT_INT_MAX: f64 = 9_007_199_254_740_992.0;

/// The listpack element holding `score` (bytes written to `buf` when not an integer).
fn score_elem(score: f64, buf: &mut [u8; 8]) -> Elem<'_> {
    // -0 becomes 0, as Redis's listpack stores it (`double2ll` accepts it).
    if score.fract() == 0.0 && score.abs() < EXACT_INT_MAX {
        Elem::Int(score as i64)
    } else {
        *buf = score.to_le_bytes();
        Elem::Bytes(&buf[..])
    }
}

/// The score a listpack element holds.
fn elem_score(elem: Elem<'_>) -> f64 {
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
fn insert_pair<A: Allocator>(
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
fn partition_pairs<A: Allocator>(
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
fn last_pair<A: Allocator>(lp: &Listpack<A>) -> Option<(Elem<'_>, f64)> {
    let score_off = lp.last_off()?;
    let member_off = lp.prev_off(score_off)?;
    Some((lp.get_at(member_off), elem_score(lp.get_at(score_off))))
}

/// The `skiplist` encoding: ordered nodes plus the member index.
struct Sorted<A: Allocator + Copy> {
    /// Non-empty nodes in order; every pair of node `i` sorts before every pair of node `i + 1`.
    nodes: Vec<Listpack<A>, A>,
    /// `member -> score` for every pair in `nodes`.
    table: ScoreTable<A>,
}

impl<A: Allocator + Copy> Sorted<A> {
    fn new_in(capacity: usize, alloc: A) -> Result<Self, AllocError> {
        Ok(Sorted {
            nodes: Vec::new_in(alloc),
            table: ScoreTable::with_capacity_in(capacity, alloc)?,
        })
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        self.table.get(member).map(table_score)
    }

    /// Index of the node a pair `(score, member)` belongs in (the last node when past the end).
    fn node_for(&self, score: f64, member: &[u8]) -> usize {
        let idx = self.nodes.partition_point(|node| {
            last_pair(node).is_some_and(|(m, s)| cmp_pair(s, m, score, member) == Ordering::Less)
        });
        idx.min(self.nodes.len().saturating_sub(1))
    }

    /// Appends a pair known to sort after every present pair (conversion and bulk builds).
    fn push_sorted(&mut self, member: &[u8], score: f64, alloc: A) -> Result<(), AllocError> {
        self.table.reserve(1)?;
        let full = self
            .nodes
            .last()
            .is_none_or(|n| n.len() / 2 >= NODE_PAIRS_MAX);
        if full {
            self.nodes.try_reserve(1).map_err(|_| AllocError)?;
            self.nodes.push(Listpack::new_in(alloc));
        }
        let last = self.nodes.len() - 1;
        let node = &mut self.nodes[last];
        let end = node.bytes_len();
        let result = insert_pair(node, end, member, score).and_then(|()| {
            self.table
                .upsert(&[&score.to_le_bytes(), member])
                .map(|_| ())
        });
        if result.is_err() {
            let node = &mut self.nodes[last];
            if node.bytes_len() > end {
                node.remove_range(end, 2);
            }
            if node.is_empty() {
                self.nodes.pop();
            }
        }
        result
    }

    /// Inserts an absent member. On `Err` nothing changed.
    fn insert(&mut self, member: &[u8], score: f64, alloc: A) -> Result<(), AllocError> {
        if self.nodes.is_empty() {
            return self.push_sorted(member, score, alloc);
        }
        self.table.reserve(1)?;
        self.nodes.try_reserve(1).map_err(|_| AllocError)?;
        let idx = self.node_for(score, member);
        let node = &mut self.nodes[idx];
        let (off, _) =
            partition_pairs(node, |m, s| cmp_pair(s, m, score, member) == Ordering::Less);
        insert_pair(node, off, member, score)?;
        if let Err(error) = self.table.upsert(&[&score.to_le_bytes(), member]) {
            node.remove_range(off, 2);
            return Err(error);
        }
        if node.len() / 2 > NODE_PAIRS_MAX {
            // Best effort: an oversized node is still valid if the split cannot allocate.
            if let Some(mid) = node.offset_of(node.len() / 2 / 2 * 2) {
                if let Ok(tail) = node.split_off(mid, alloc) {
                    self.nodes.insert(idx + 1, tail);
                }
            }
        }
        Ok(())
    }

    /// Removes the pair of `member` (whose score is `score`) from the nodes only.
    fn remove_from_nodes(&mut self, member: &[u8], score: f64) {
        let idx = self.node_for(score, member);
        let node = &mut self.nodes[idx];
        let Some(off) = node.find(&Needle::new(member), 0, 2) else {
            debug_assert!(false, "zset member missing from its node");
            return;
        };
        node.remove_range(off, 2);
        if node.is_empty() {
            self.nodes.remove(idx);
            return;
        }
        // Merge with the next node when both are small, so nodes stay at least a quarter full.
        let pairs = node.len() / 2;
        if pairs < NODE_PAIRS_MAX / 4 && idx + 1 < self.nodes.len() {
            let next_pairs = self.nodes[idx + 1].len() / 2;
            if pairs + next_pairs <= NODE_PAIRS_MAX / 2 {
                let (left, right) = self.nodes.split_at_mut(idx + 1);
                if left[idx].try_append(&mut right[0]).is_ok() {
                    self.nodes.remove(idx + 1);
                }
            }
        }
    }

    fn mem_bytes(&self) -> usize {
        core::mem::size_of::<Self>()
            + self.nodes.capacity() * core::mem::size_of::<Listpack<A>>()
            + self.nodes.iter().map(Listpack::mem_bytes).sum::<usize>()
            + self.table.mem_bytes()
    }
}

fn table_score(entry: &[u8]) -> f64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&entry[..8]);
    f64::from_le_bytes(raw)
}

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
                Repr::Pack(lp) => insert_pair(lp, lp.bytes_len(), member, score)?,
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
                insert_pair(lp, off, member, score)
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
                // Insert the new pair into the nodes, then drop the old one, then fix the table in place.
                sorted.nodes.try_reserve(1).map_err(|_| AllocError)?;
                let idx = sorted.node_for(score, member);
                let node = &mut sorted.nodes[idx];
                let (off, _) =
                    partition_pairs(node, |m, s| cmp_pair(s, m, score, member) == Ordering::Less);
                // Mark the old pair position first: find it by (old, member).
                insert_pair(node, off, member, score)?;
                // Remove the old pair: it sorts by `old`; the new pair has a different score, so the
                // search by (old, member) finds the old one.
                remove_pair_at_score(&mut sorted.nodes, member, old, score);
                if let Some(entry) = sorted.table.get_mut(member) {
                    entry[..8].copy_from_slice(&score.to_le_bytes());
                }
                if let Some(node) = sorted.nodes.get(idx) {
                    if node.len() / 2 > NODE_PAIRS_MAX {
                        split_node(&mut sorted.nodes, idx, alloc);
                    }
                }
                Ok(())
            }
        }
    }

    fn convert_to_skiplist(&mut self) -> Result<(), AllocError> {
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
                sorted.table.remove(member);
                Some(score)
            }
        }
    }

    /// Number of leading members (in order) for which `before(member, score)` holds; `before` must be
    /// true for a prefix of the order only.
    pub fn count_before(&self, mut before: impl FnMut(Elem<'_>, f64) -> bool) -> usize {
        let nodes = self.nodes();
        let idx = nodes.partition_point(|node| last_pair(node).is_some_and(|(m, s)| before(m, s)));
        let skipped: usize = nodes[..idx].iter().map(|n| n.len() / 2).sum();
        match nodes.get(idx) {
            Some(node) => skipped + partition_pairs(node, before).1,
            None => skipped,
        }
    }

    /// 0-based rank (ascending) and score of `member`.
    pub fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
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
        let (idx, local) = locate(nodes, target);
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
        match &self.repr {
            Repr::Pack(lp) => {
                if lp.is_empty() {
                    return None;
                }
                let off = lp.offset_of(2 * rng.below(lp.len() / 2))?;
                let score = lp.next_off(off)?;
                Some((lp.get_at(off), elem_score(lp.get_at(score))))
            }
            Repr::Skip(sorted) => sorted
                .table
                .random(rng)
                .map(|entry| (Elem::from_bytes(&entry[8..]), table_score(entry))),
        }
    }
}

/// Node index and pair index within it of rank `rank` (`rank < len`).
fn locate<A: Allocator>(nodes: &[Listpack<A>], mut rank: usize) -> (usize, usize) {
    for (idx, node) in nodes.iter().enumerate() {
        let pairs = node.len() / 2;
        if rank < pairs {
            return (idx, rank);
        }
        rank -= pairs;
    }
    (nodes.len().saturating_sub(1), 0)
}

/// Removes the pair `(old, member)` from `nodes` (the pair `(new, member)` is also present).
fn remove_pair_at_score<A: Allocator>(
    nodes: &mut Vec<Listpack<A>, A>,
    member: &[u8],
    old: f64,
    new: f64,
) {
    let idx = nodes.partition_point(|node| {
        last_pair(node).is_some_and(|(m, s)| cmp_pair(s, m, old, member) == Ordering::Less)
    });
    let Some(node) = nodes.get_mut(idx) else {
        return;
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
            return;
        }
        off = node.next_off(score_off).unwrap_or(node.bytes_len());
    }
}

/// Splits node `idx` in half (best effort).
fn split_node<A: Allocator + Copy>(nodes: &mut Vec<Listpack<A>, A>, idx: usize, alloc: A) {
    if nodes.try_reserve(1).is_err() {
        return;
    }
    let node = &mut nodes[idx];
    if let Some(mid) = node.offset_of(node.len() / 2 / 2 * 2) {
        if let Ok(tail) = node.split_off(mid, alloc) {
            nodes.insert(idx + 1, tail);
        }
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
