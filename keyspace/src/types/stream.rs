//! [`Stream`]: Redis's append-only log type.
//!
//! Memory layout: an ordered index (a sorted `Vec`, appended at the end and trimmed at the front as a stream
//! is used) of `Node`s, each a byte buffer of up to `stream-node-max-entries` entries and about
//! `stream-node-max-bytes` bytes, with ids delta-encoded against the node's first id and field names shared
//! with the node's first entry (see `stream_node.rs`). Deleted entries are flagged in place; a node
//! whose entries are all deleted is dropped. Consumer groups live in [`super::stream_cg`]. Everything is
//! allocated from the KV strategy `A`.
//!
//! Metadata follows Redis 7.0's `stream` struct: `last_id`, `entries_added`, `max_deleted_entry_id`
//! (`first_id` is derived from the first node).

use super::stream_cg::Group;
use super::stream_node::{Node, RawEntry};
use super::AllocError;
use allocator_api2::alloc::Allocator;
use allocator_api2::vec::Vec;
use std::fmt;

/// A stream entry id, `<ms>-<seq>`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl StreamId {
    /// `0-0`.
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    /// The largest id.
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    /// `ms-seq`.
    pub const fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// The next id (`None` after [`StreamId::MAX`]).
    pub fn incr(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }

    /// The previous id (`None` before `0-0`).
    pub fn decr(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }

    /// Whether this is `0-0`.
    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// Parses `<ms>[-<seq>]`; a missing seq is `missing_seq`. `None` on bad syntax.
    pub fn parse(text: &[u8], missing_seq: u64) -> Option<(StreamId, bool)> {
        let text = std::str::from_utf8(text).ok()?;
        let parse_u64 = |s: &str| -> Option<u64> {
            if s.is_empty() || s.starts_with('+') || s.starts_with('-') {
                return None;
            }
            s.parse().ok()
        };
        match text.split_once('-') {
            None => Some((StreamId::new(parse_u64(text)?, missing_seq), false)),
            Some((ms, seq)) => Some((StreamId::new(parse_u64(ms)?, parse_u64(seq)?), true)),
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Node size limits (`stream-node-max-bytes`, `stream-node-max-entries`; 0 = unlimited).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeLimits {
    /// `stream-node-max-bytes`.
    pub node_bytes_max: usize,
    /// `stream-node-max-entries`.
    pub node_entries_max: usize,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits {
            node_bytes_max: 4096,
            node_entries_max: 100,
        }
    }
}

/// How XADD/XTRIM trim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trim {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Drop entries below this id.
    MinId(StreamId),
}

/// An entry read from a stream.
pub struct Entry<'a, A: Allocator + Copy> {
    /// Its id.
    pub id: StreamId,
    node: &'a Node<A>,
    raw: RawEntry,
}

impl<'a, A: Allocator + Copy> Entry<'a, A> {
    /// Number of field-value pairs.
    pub fn len(&self) -> usize {
        self.raw.nfields
    }

    /// Whether it has no fields (never for entries XADD made).
    pub fn is_empty(&self) -> bool {
        self.raw.nfields == 0
    }

    /// Its field-value pairs.
    pub fn pairs(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        self.node.pairs(&self.raw)
    }
}

/// A stream (see the module docs).
pub struct Stream<A: Allocator + Copy> {
    /// Nodes sorted by master id; none is empty.
    nodes: Vec<Node<A>, A>,
    /// Live entries.
    length: u64,
    /// Largest id ever added (or set by XSETID).
    pub last_id: StreamId,
    /// Largest id ever deleted by XDEL (Redis's `max_deleted_entry_id`).
    pub max_deleted_id: StreamId,
    /// Entries ever added (XSETID may set it).
    pub entries_added: u64,
    /// Consumer groups, sorted by name.
    pub groups: Vec<Group<A>, A>,
    alloc: A,
}

impl<A: Allocator + Copy> Stream<A> {
    /// An empty stream; allocates nothing.
    pub fn new_in(alloc: A) -> Self {
        Stream {
            nodes: Vec::new_in(alloc),
            length: 0,
            last_id: StreamId::MIN,
            max_deleted_id: StreamId::MIN,
            entries_added: 0,
            groups: Vec::new_in(alloc),
            alloc,
        }
    }

    /// The allocator.
    pub fn alloc(&self) -> A {
        self.alloc
    }

    /// Live entries (XLEN).
    pub fn len(&self) -> u64 {
        self.length
    }

    /// Whether there are no live entries (a stream key is not deleted when empty).
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Number of nodes (XINFO STREAM `radix-tree-nodes` stand-in).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Heap bytes held.
    pub fn mem_bytes(&self) -> usize {
        let nodes: usize = self.nodes.iter().map(Node::mem_bytes).sum();
        let groups: usize = self.groups.iter().map(Group::mem_bytes).sum();
        nodes
            + self.nodes.capacity() * std::mem::size_of::<Node<A>>()
            + groups
            + self.groups.capacity() * std::mem::size_of::<Group<A>>()
    }

    /// The first live id (Redis's `first_id`): `0-0` when empty.
    pub fn first_id(&self) -> StreamId {
        self.first_entry().map_or(StreamId::MIN, |e| e.id)
    }

    /// The first live entry.
    pub fn first_entry(&self) -> Option<Entry<'_, A>> {
        self.range(StreamId::MIN, StreamId::MAX, false).next()
    }

    /// The last live entry.
    pub fn last_entry(&self) -> Option<Entry<'_, A>> {
        self.range(StreamId::MIN, StreamId::MAX, true).next()
    }

    /// The id XADD `*` would use now, or `None` if the stream is at its last possible id.
    pub fn next_auto_id(&self, now_ms: u64) -> Option<StreamId> {
        if now_ms > self.last_id.ms {
            Some(StreamId::new(now_ms, 0))
        } else {
            self.last_id.incr()
        }
    }

    /// Appends an entry with `id` (> `last_id`, checked by the caller) and `pairs` (field, value, ...).
    pub fn append(
        &mut self,
        id: StreamId,
        pairs: &[&[u8]],
        limits: &NodeLimits,
    ) -> Result<(), AllocError> {
        debug_assert!(id > self.last_id || (self.last_id.is_zero() && self.entries_added == 0));
        let fits = self.nodes.last().is_some_and(|node| {
            let bytes_ok = limits.node_bytes_max == 0
                || node.bytes_len() + node.encoded_len(id, pairs) < limits.node_bytes_max;
            let entries_ok =
                limits.node_entries_max == 0 || (node.total as usize) < limits.node_entries_max;
            bytes_ok && entries_ok
        });
        let ceiling = limits.node_bytes_max.max(64);
        if fits {
            if let Some(node) = self.nodes.last_mut() {
                node.push(id, pairs, ceiling)?;
            }
        } else {
            let mut node = Node::new(id, pairs, self.alloc)?;
            node.push(id, pairs, ceiling)?;
            self.nodes.try_reserve(1).map_err(|_| AllocError)?;
            if let Some(full) = self.nodes.last_mut() {
                full.compact();
            }
            self.nodes.push(node);
        }
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        Ok(())
    }

    /// Index of the node that may hold `id` (the last with master <= id), if any.
    fn node_for(&self, id: StreamId) -> Option<usize> {
        self.nodes
            .partition_point(|n| n.master <= id)
            .checked_sub(1)
    }

    /// Live entries with `start <= id <= end`, ascending or (`rev`) descending.
    pub fn range(&self, start: StreamId, end: StreamId, rev: bool) -> Range<'_, A> {
        let node = if rev {
            self.node_for(end)
        } else {
            Some(self.node_for(start).unwrap_or(0))
        };
        let mut range = Range {
            stream: self,
            start,
            end,
            rev,
            node,
            offs: std::vec::Vec::new(),
            pos: 0,
        };
        range.load_node();
        range
    }

    /// Whether a live entry has this id.
    pub fn contains(&self, id: StreamId) -> bool {
        self.range(id, id, false).next().is_some()
    }

    /// Deletes the entry `id`; whether it existed. Updates `max_deleted_id` as XDEL does.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some(idx) = self.node_for(id) else {
            return false;
        };
        let node = &mut self.nodes[idx];
        let mut off = node.first_off();
        while !node.at_end(off) {
            let raw = node.entry_at(off);
            // As Redis's iterator: a deleted entry is passed over before any id comparison (after an
            // XSETID below a deleted id, later entries of the node can have smaller ids).
            if raw.deleted {
                off = raw.end_off;
                continue;
            }
            if raw.id == id {
                if !node.mark_deleted(off) {
                    return false;
                }
                if node.live == 0 {
                    self.nodes.remove(idx);
                }
                self.length -= 1;
                if id > self.max_deleted_id {
                    self.max_deleted_id = id;
                }
                return true;
            }
            if raw.id > id {
                break;
            }
            off = raw.end_off;
        }
        false
    }

    /// Trims as Redis's `streamTrim`: whole nodes first, then (unless `approx`) entries of the next node.
    /// `limit` caps the entries removed (0 = no cap). Returns how many were removed.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        // Nodes wholly removed so far: dropped together at the end (one move of the index).
        let mut gone = 0;
        while let Some(node) = self.nodes.get_mut(gone) {
            if matches!(how, Trim::MaxLen(max) if self.length <= max) {
                break;
            }
            let entries = u64::from(node.live);
            if limit > 0 && deleted + entries > limit {
                break;
            }
            let remove_node = match how {
                Trim::MaxLen(max) => self.length - entries >= max,
                Trim::MinId(min) => node_last_id(node) < min,
            };
            if remove_node {
                gone += 1;
                self.length -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let mut off = node.first_off();
            while !node.at_end(off) {
                let raw = node.entry_at(off);
                let stop = match how {
                    Trim::MaxLen(max) => self.length <= max,
                    Trim::MinId(min) => raw.id >= min,
                };
                if stop {
                    break;
                }
                if node.mark_deleted(off) {
                    self.length -= 1;
                    deleted += 1;
                }
                off = raw.end_off;
            }
            if node.live == 0 {
                gone += 1;
            }
            break;
        }
        self.nodes.drain(..gone);
        deleted
    }

    /// A deep copy (COPY).
    pub fn try_clone(&self) -> Result<Self, AllocError> {
        let mut copy = Stream::new_in(self.alloc);
        copy.nodes
            .try_reserve_exact(self.nodes.len())
            .map_err(|_| AllocError)?;
        for node in self.nodes.iter() {
            copy.nodes.push(node.try_clone(self.alloc)?);
        }
        copy.groups
            .try_reserve_exact(self.groups.len())
            .map_err(|_| AllocError)?;
        for group in self.groups.iter() {
            copy.groups.push(group.try_clone(self.alloc)?);
        }
        copy.length = self.length;
        copy.last_id = self.last_id;
        copy.max_deleted_id = self.max_deleted_id;
        copy.entries_added = self.entries_added;
        Ok(copy)
    }
}

/// The last id stored in `node` (deleted entries included, as Redis's `lpGetEdgeStreamID`).
fn node_last_id<A: Allocator + Copy>(node: &Node<A>) -> StreamId {
    node.offsets()
        .last()
        .map_or(node.master, |&off| node.entry_at(off).id)
}

/// Iterator of [`Stream::range`].
pub struct Range<'a, A: Allocator + Copy> {
    stream: &'a Stream<A>,
    start: StreamId,
    end: StreamId,
    rev: bool,
    /// Current node index; `None` when done.
    node: Option<usize>,
    /// Reverse walks: entry offsets of the current node.
    offs: std::vec::Vec<usize>,
    /// Forward: byte offset of the next entry; reverse: one past the next index in `offs`.
    pos: usize,
}

impl<A: Allocator + Copy> Range<'_, A> {
    fn load_node(&mut self) {
        match self.node {
            Some(idx) if idx < self.stream.nodes.len() => {
                let node = &self.stream.nodes[idx];
                if self.rev {
                    self.offs = node.offsets();
                    self.pos = self.offs.len();
                } else {
                    // Forward walks decode in place: `pos` is a byte offset into the node.
                    self.pos = node.first_off();
                }
            }
            _ => self.node = None,
        }
    }
}

impl<'a, A: Allocator + Copy> Iterator for Range<'a, A> {
    type Item = Entry<'a, A>;

    fn next(&mut self) -> Option<Entry<'a, A>> {
        if self.start > self.end {
            return None;
        }
        loop {
            let idx = self.node?;
            let node = &self.stream.nodes[idx];
            let next_off = if self.rev {
                self.pos.checked_sub(1).map(|p| {
                    self.pos = p;
                    self.offs[p]
                })
            } else if node.at_end(self.pos) {
                None
            } else {
                Some(self.pos)
            };
            let Some(off) = next_off else {
                self.node = if self.rev {
                    idx.checked_sub(1)
                } else {
                    Some(idx + 1)
                };
                self.load_node();
                continue;
            };
            let raw = node.entry_at(off);
            if !self.rev {
                self.pos = raw.end_off;
            }
            // `streamIteratorGetID`: deleted entries are skipped before the range checks, so a
            // deleted entry out of order (left by XSETID) does not end the walk.
            if raw.deleted {
                continue;
            }
            if self.rev {
                if raw.id < self.start {
                    self.node = None;
                    return None;
                }
                if raw.id > self.end {
                    continue;
                }
            } else {
                if raw.id > self.end {
                    self.node = None;
                    return None;
                }
                if raw.id < self.start {
                    continue;
                }
            }
            return Some(Entry {
                id: raw.id,
                node,
                raw,
            });
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
