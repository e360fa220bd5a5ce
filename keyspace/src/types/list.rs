//! [`List`]: a quicklist, i.e. a sequence of [`Listpack`] nodes each bounded by
//! `list-max-listpack-size` (positive: entries per node, with an 8 KiB safety cap; -1..=-5: node
//! bytes 4/8/16/32/64 KiB). Encoding names follow Redis 7.2: `listpack` while the list is one
//! node within the limit, `quicklist` once it outgrows it, and back to `listpack` after deletions
//! leave a single node within half the limit.
//!
//! `list-compress-depth` N > 0 (read when the list is created, as Redis's `quicklistCreate`): nodes more
//! than N nodes from both ends are kept LZF-compressed ([`node::Node`]); every mutation ends with a
//! compression pass, and reads decompress into a per-node cache that the next pass (or
//! [`List::recompress`]) drops again.

use super::elem::{Elem, Needle};
use super::listpack::{entry_bytes, Listpack};
use super::{AllocError, Limits};
use allocator_api2::alloc::Allocator;
use allocator_api2::vec::Vec;
use compress::thaw_if_has;
pub use compress::{compress_depth, set_compress_depth};
use node::Node;
use std::cell::Cell;

#[path = "list_node.rs"]
mod node;

#[path = "list_compress.rs"]
mod compress;

#[path = "list_iter.rs"]
mod iter;
pub use iter::Iter;

/// Redis's `SIZE_SAFETY_LIMIT`: node bytes cap when the limit is an entry count.
const NODE_SAFETY_BYTES_MAX: usize = 8192;

/// `(node bytes max, node entries max)` for a `list-max-listpack-size` value.
fn node_limits(fill: i64) -> (usize, usize) {
    if fill >= 0 {
        (
            NODE_SAFETY_BYTES_MAX,
            usize::try_from(fill.max(1)).unwrap_or(usize::MAX),
        )
    } else {
        let level = (-fill - 1).min(4) as u32;
        (4096 << level, usize::MAX)
    }
}

fn exceeds(limits: &Limits, bytes: usize, count: usize) -> bool {
    let (bytes_max, count_max) = node_limits(limits.list_max_listpack_size);
    bytes > bytes_max || count > count_max
}

/// A list of byte strings stored as a quicklist of listpacks.
pub struct List<A: Allocator + Copy> {
    /// Nodes in order; none is empty.
    nodes: Vec<Node<A>, A>,
    /// `list-compress-depth` this list was created with (0: never compress).
    depth: usize,
    /// Whether some node may hold a read cache or be plain though inner (a pass is due).
    dirty: Cell<bool>,
    /// Shown in place of a node that cannot be decompressed for lack of memory.
    empty: Listpack<A>,
    /// Sum of the nodes' lengths.
    len: usize,
    /// Whether `OBJECT ENCODING` says `quicklist` (else `listpack`; then `nodes.len() <= 1`).
    quicklist: bool,
    alloc: A,
}

impl<A: Allocator + Copy> List<A> {
    /// An empty list; allocates nothing.
    pub fn new_in(alloc: A) -> Self {
        List {
            nodes: Vec::new_in(alloc),
            len: 0,
            quicklist: false,
            depth: compress_depth(),
            dirty: Cell::new(false),
            empty: Listpack::new_in(alloc),
            alloc,
        }
    }

    /// An empty list with an explicit `list-compress-depth` (0: never compress).
    pub fn with_depth_in(alloc: A, depth: usize) -> Self {
        List {
            depth,
            ..Self::new_in(alloc)
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `OBJECT ENCODING`: `"listpack"` or `"quicklist"`.
    pub fn encoding(&self) -> &'static str {
        if self.quicklist {
            "quicklist"
        } else {
            "listpack"
        }
    }

    /// Number of listpack nodes (for DEBUG-style introspection and tests).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Approximate heap bytes held (for MEMORY USAGE); O(nodes).
    pub fn mem_bytes(&self) -> usize {
        self.nodes.capacity() * core::mem::size_of::<Node<A>>()
            + self.nodes.iter().map(Node::mem_bytes).sum::<usize>()
    }

    fn allows(&self, node: usize, elem: Elem<'_>, limits: &Limits) -> bool {
        let node = self.lp(node);
        !exceeds(limits, node.bytes_len() + entry_bytes(elem), node.len() + 1)
    }

    /// Inserts a new node holding only `elem` at node position `at`.
    fn insert_node(&mut self, at: usize, elem: Elem<'_>) -> Result<(), AllocError> {
        self.nodes.try_reserve(1).map_err(|_| AllocError)?;
        let mut node = Listpack::new_in(self.alloc);
        node.insert_at(0, elem)?;
        self.nodes.insert(at, Node::plain(node, self.alloc));
        Ok(())
    }

    fn after_insert(&mut self, limits: &Limits) {
        self.len += 1;
        if self.nodes.len() > 1 || exceeds(limits, self.lp(0).bytes_len(), self.nodes[0].len()) {
            self.quicklist = true;
        }
    }

    /// Drops empty nodes and applies Redis 7.2's shrink conversion back to `listpack`.
    fn after_delete(&mut self, limits: &Limits) {
        self.nodes.retain(|node| !node.is_empty());
        if self.quicklist && self.nodes.len() <= 1 {
            let (bytes_max, count_max) = node_limits(limits.list_max_listpack_size);
            let (bytes, count) = match self.nodes.is_empty() {
                true => (0, 0),
                false => (self.lp(0).bytes_len(), self.nodes[0].len()),
            };
            if bytes <= bytes_max / 2 && count <= count_max / 2 {
                self.quicklist = false;
            }
        }
    }

    /// LPUSH one element. On `Err` the list is unchanged.
    pub fn push_front(&mut self, value: &[u8], limits: &Limits) -> Result<(), AllocError> {
        let elem = Elem::from_bytes(value);
        if !self.nodes.is_empty() && self.allows(0, elem, limits) {
            let ceiling = node_limits(limits.list_max_listpack_size).0;
            self.nodes[0]
                .view_mut()?
                .insert_at_bounded(0, elem, ceiling)?;
        } else {
            self.insert_node(0, elem)?;
        }
        self.after_insert(limits);
        self.compress_pass(false);
        Ok(())
    }

    /// RPUSH one element. On `Err` the list is unchanged.
    pub fn push_back(&mut self, value: &[u8], limits: &Limits) -> Result<(), AllocError> {
        let elem = Elem::from_bytes(value);
        let last = self.nodes.len().wrapping_sub(1);
        if !self.nodes.is_empty() && self.allows(last, elem, limits) {
            let ceiling = node_limits(limits.list_max_listpack_size).0;
            let node = self.nodes[last].view_mut()?;
            node.insert_at_bounded(node.bytes_len(), elem, ceiling)?;
        } else {
            self.insert_node(self.nodes.len(), elem)?;
        }
        self.after_insert(limits);
        self.compress_pass(false);
        Ok(())
    }

    /// LPOP one element, shown to `f` before it is freed. Never fails.
    pub fn pop_front_with<R>(
        &mut self,
        limits: &Limits,
        f: impl FnOnce(Elem<'_>) -> R,
    ) -> Option<R> {
        let node = self.nodes.first_mut()?.view_mut().ok()?;
        let result = f(node.get_at(0));
        node.remove_at(0);
        self.len -= 1;
        self.after_delete(limits);
        self.compress_pass(false);
        Some(result)
    }

    /// RPOP one element, shown to `f` before it is freed. Never fails.
    pub fn pop_back_with<R>(
        &mut self,
        limits: &Limits,
        f: impl FnOnce(Elem<'_>) -> R,
    ) -> Option<R> {
        let node = self.nodes.last_mut()?.view_mut().ok()?;
        let off = node.last_off()?;
        let result = f(node.get_at(off));
        node.remove_at(off);
        self.len -= 1;
        self.after_delete(limits);
        self.compress_pass(false);
        Some(result)
    }

    /// `(node, index in node)` of element `index`, scanning from the nearer end.
    fn locate(&self, index: usize) -> Option<(usize, usize)> {
        if index >= self.len {
            return None;
        }
        if index < self.len / 2 {
            let mut skipped = 0;
            for (i, node) in self.nodes.iter().enumerate() {
                if index < skipped + node.len() {
                    return Some((i, index - skipped));
                }
                skipped += node.len();
            }
            None
        } else {
            let mut start = self.len;
            for (i, node) in self.nodes.iter().enumerate().rev() {
                start -= node.len();
                if index >= start {
                    return Some((i, index - start));
                }
            }
            None
        }
    }

    /// `index` (negative counts from the tail, -1 = last) as a position, if in range.
    pub fn normalize_index(&self, index: i64) -> Option<usize> {
        let len = i64::try_from(self.len).ok()?;
        let index = if index < 0 {
            index.checked_add(len)?
        } else {
            index
        };
        usize::try_from(index).ok().filter(|&i| i < self.len)
    }

    /// LINDEX: the element at `index` (negative from the tail).
    pub fn get(&self, index: i64) -> Option<Elem<'_>> {
        let (node, at) = self.locate(self.normalize_index(index)?)?;
        let node = self.lp(node);
        node.offset_of(at).map(|off| node.get_at(off))
    }

    /// LSET: replaces the element at `index`; `Ok(false)` if out of range. On `Err` the content
    /// is unchanged (a full node may have been split).
    pub fn set(&mut self, index: i64, value: &[u8], limits: &Limits) -> Result<bool, AllocError> {
        let Some(index) = self.normalize_index(index) else {
            return Ok(false);
        };
        let elem = Elem::from_bytes(value);
        let (mut node, mut at) = self.locate(index).ok_or(AllocError)?;
        let current = self.lp(node);
        let off = current.offset_of(at).ok_or(AllocError)?;
        let grown = current.bytes_len() + entry_bytes(elem) - entry_bytes(current.get_at(off));
        if exceeds(limits, grown, current.len()) && current.len() >= 2 {
            let half = current.len() / 2;
            self.split_node(node, half)?;
            if at >= half {
                node += 1;
                at -= half;
            }
        }
        let target = self.lp_mut(node)?;
        let off = target.offset_of(at).ok_or(AllocError)?;
        target.replace_at(off, elem)?;
        self.after_insert_replace(limits);
        self.compress_pass(true);
        Ok(true)
    }

    fn after_insert_replace(&mut self, limits: &Limits) {
        self.len -= 1;
        self.after_insert(limits);
    }

    /// Splits node `node` so that its entries from `at` on form a new node right after it.
    fn split_node(&mut self, node: usize, at: usize) -> Result<(), AllocError> {
        self.nodes.try_reserve(1).map_err(|_| AllocError)?;
        let off = self.lp(node).offset_of(at).ok_or(AllocError)?;
        let alloc = self.alloc;
        let tail = self.lp_mut(node)?.split_off(off, alloc)?;
        self.nodes.insert(node + 1, Node::plain(tail, self.alloc));
        // A split is content-preserving but makes this a quicklist even if a later step fails.
        self.quicklist = true;
        Ok(())
    }

    /// LINSERT: inserts `value` before (or `after`) the first element equal to `pivot`;
    /// `Ok(false)` if there is none. On `Err` the content is unchanged.
    pub fn insert(
        &mut self,
        pivot: &[u8],
        value: &[u8],
        after: bool,
        limits: &Limits,
    ) -> Result<bool, AllocError> {
        let needle = Needle::new(pivot);
        let found =
            (0..self.nodes.len()).find_map(|i| self.lp(i).find(&needle, 0, 1).map(|off| (i, off)));
        let Some((node, off)) = found else {
            self.recompress();
            return Ok(false);
        };
        let off = match after {
            true => self
                .lp(node)
                .next_off(off)
                .unwrap_or(self.lp(node).bytes_len()),
            false => off,
        };
        let result = self.insert_at_offset(node, off, Elem::from_bytes(value), limits);
        if result.is_ok() {
            self.after_insert(limits);
        }
        self.compress_pass(true);
        result?;
        Ok(true)
    }

    /// Inserts `elem` at byte offset `off` of node `node`, splitting or spilling when full.
    fn insert_at_offset(
        &mut self,
        node: usize,
        off: usize,
        elem: Elem<'_>,
        limits: &Limits,
    ) -> Result<(), AllocError> {
        if self.allows(node, elem, limits) {
            return self.lp_mut(node)?.insert_at(off, elem);
        }
        let at_tail = off == self.lp(node).bytes_len();
        if at_tail && node + 1 < self.nodes.len() && self.allows(node + 1, elem, limits) {
            return self.lp_mut(node + 1)?.insert_at(0, elem);
        }
        if off == 0 && node > 0 && self.allows(node - 1, elem, limits) {
            let prev = self.lp_mut(node - 1)?;
            return prev.insert_at(prev.bytes_len(), elem);
        }
        if at_tail || off == 0 {
            return self.insert_node(if at_tail { node + 1 } else { node }, elem);
        }
        // Middle of a full node: split there, then the element ends the left half.
        self.nodes.try_reserve(1).map_err(|_| AllocError)?;
        let alloc = self.alloc;
        let tail = self.lp_mut(node)?.split_off(off, alloc)?;
        self.nodes.insert(node + 1, Node::plain(tail, self.alloc));
        self.quicklist = true;
        if self.allows(node, elem, limits) {
            let left = self.lp_mut(node)?;
            left.insert_at(left.bytes_len(), elem)?;
        } else {
            self.insert_node(node + 1, elem)?;
        }
        self.merge_small_neighbours(node, limits);
        Ok(())
    }

    /// After a split, folds small nodes around `node` into their neighbours when the result
    /// fits (Redis's `_quicklistMergeNodes`). Best effort: an allocation failure keeps them apart.
    fn merge_small_neighbours(&mut self, node: usize, limits: &Limits) {
        for left in [node + 1, node, node.wrapping_sub(1)] {
            if left >= self.nodes.len() || left + 1 >= self.nodes.len() {
                continue;
            }
            let (a, b) = (self.lp(left), self.lp(left + 1));
            if exceeds(limits, a.bytes_len() + b.bytes_len(), a.len() + b.len()) {
                continue;
            }
            if self.lp_mut(left).is_err() || self.lp_mut(left + 1).is_err() {
                continue;
            }
            let Ok(mut right) = self.nodes.remove(left + 1).into_plain() else {
                continue;
            };
            if let Err(AllocError) = self.nodes[left]
                .view_mut()
                .and_then(|l| l.try_append(&mut right))
            {
                self.nodes.insert(left + 1, Node::plain(right, self.alloc));
            }
        }
    }

    /// LREM: removes up to `|count|` elements equal to `value` (from the head if `count > 0`,
    /// from the tail if `count < 0`, all if 0); returns how many. Never fails.
    pub fn remove(&mut self, count: i64, value: &[u8], limits: &Limits) -> usize {
        let needle = Needle::new(value);
        let limit = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs() as usize
        };
        let mut removed = 0;
        if count >= 0 {
            for node in self.nodes.iter_mut() {
                let Some(node) = thaw_if_has(node, &needle) else {
                    continue;
                };
                let mut off = 0;
                while removed < limit {
                    let Some(found) = node.find(&needle, off, 1) else {
                        break;
                    };
                    node.remove_at(found);
                    removed += 1;
                    off = found;
                }
            }
        } else {
            for node in self.nodes.iter_mut().rev() {
                let Some(node) = thaw_if_has(node, &needle) else {
                    continue;
                };
                let mut end = node.bytes_len();
                while removed < limit {
                    let Some(off) = node.prev_off(end) else { break };
                    if needle.matches(&node.get_at(off)) {
                        node.remove_at(off);
                        removed += 1;
                    }
                    end = off;
                }
            }
        }
        self.len -= removed;
        self.after_delete(limits);
        self.compress_pass(true);
        removed
    }

    /// LTRIM with Redis's index rules (inclusive, negatives from the tail). Never fails; should a
    /// compressed node it cuts not decompress (out of memory) the list is left unchanged.
    pub fn trim(&mut self, start: i64, stop: i64, limits: &Limits) {
        let (first, end) = self.clamp_range(start, stop);
        // The nodes cut in the middle must be plain; if one cannot be decompressed (no memory),
        // the list is left as it was rather than half trimmed.
        for at in [first, end.wrapping_sub(1)]
            .into_iter()
            .filter(|_| first < end)
        {
            if let Some((node, _)) = self.locate(at) {
                if self.lp_mut(node).is_err() {
                    self.compress_pass(true);
                    return;
                }
            }
        }
        let tail = self.len - end;
        self.remove_back(tail);
        self.remove_front(first);
        self.after_delete(limits);
        self.compress_pass(true);
    }

    fn remove_front(&mut self, mut n: usize) {
        self.len -= n;
        let whole = self.nodes.iter().take_while(|node| {
            let take = node.len() <= n;
            if take {
                n -= node.len();
            }
            take
        });
        let whole = whole.count();
        self.nodes.drain(..whole);
        if let Some(node) = self.nodes.first_mut().filter(|_| n > 0) {
            if let Ok(node) = node.view_mut() {
                node.remove_range(0, n);
            }
        }
    }

    fn remove_back(&mut self, mut n: usize) {
        self.len -= n;
        while let Some(node) = self.nodes.last_mut() {
            if n == 0 {
                break;
            }
            if node.len() <= n {
                n -= node.len();
                self.nodes.pop();
            } else {
                if let Ok(node) = node.view_mut() {
                    let off = node.offset_of(node.len() - n).unwrap_or(node.bytes_len());
                    node.remove_range(off, n);
                }
                break;
            }
        }
    }

    /// `[first, end)` for Redis's inclusive `start`/`stop` (negatives from the tail).
    fn clamp_range(&self, start: i64, stop: i64) -> (usize, usize) {
        let len = i64::try_from(self.len).unwrap_or(i64::MAX);
        let start = if start < 0 {
            start.saturating_add(len).max(0)
        } else {
            start
        };
        let stop = if stop < 0 {
            stop.saturating_add(len)
        } else {
            stop.min(len - 1)
        };
        if start > stop || start >= len {
            return (0, 0);
        }
        (start as usize, stop as usize + 1)
    }
}

#[cfg(test)]
#[path = "list_tests.rs"]
mod tests;
