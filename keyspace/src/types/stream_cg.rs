//! Consumer groups of a [`super::Stream`]: Redis 7.0's `streamCG`, `streamConsumer` and `streamNACK`.
//!
//! A group's pending entries list (PEL) is a `Vec` sorted by id (new deliveries append at the end; XACK
//! mostly removes near the front). Each consumer keeps the sorted ids it owns; a [`Nack`] names its
//! consumer by slot index. Everything is allocated from the KV strategy `A`.

use super::stream::StreamId;
use super::AllocError;
use allocator_api2::alloc::Allocator;
use allocator_api2::vec::Vec;

/// Redis's `SCG_INVALID_ENTRIES_READ`: the group's read counter is unknown.
pub const ENTRIES_READ_INVALID: i64 = -1;

/// A delivered, not yet acknowledged entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nack {
    /// Last delivery time (unix ms).
    pub delivery_ms: i64,
    /// Times delivered.
    pub delivery_count: u64,
    /// Slot of the owning consumer in [`Group::consumers`].
    pub consumer: u32,
}

/// A consumer of a group.
pub struct Consumer<A: Allocator + Copy> {
    /// Its name.
    pub name: Vec<u8, A>,
    /// Last time it was seen (unix ms).
    pub seen_ms: i64,
    /// Ids it owns, sorted (each also in the group PEL with this consumer's slot).
    pub pel: Vec<StreamId, A>,
}

/// A consumer group.
pub struct Group<A: Allocator + Copy> {
    /// Its name.
    pub name: Vec<u8, A>,
    /// Last id delivered with `>`.
    pub last_id: StreamId,
    /// Logical read counter, or [`ENTRIES_READ_INVALID`].
    pub entries_read: i64,
    /// Pending entries, sorted by id.
    pub pel: Vec<(StreamId, Nack), A>,
    /// Consumer slots (`None` = free).
    pub consumers: Vec<Option<Consumer<A>>, A>,
}

fn bytes_in<A: Allocator + Copy>(bytes: &[u8], alloc: A) -> Result<Vec<u8, A>, AllocError> {
    let mut out = Vec::new_in(alloc);
    out.try_reserve_exact(bytes.len()).map_err(|_| AllocError)?;
    out.extend_from_slice(bytes);
    Ok(out)
}

/// Inserts `id` into the sorted `ids` (no-op if present).
fn sorted_insert<A: Allocator>(ids: &mut Vec<StreamId, A>, id: StreamId) -> Result<(), AllocError> {
    if let Err(at) = ids.binary_search(&id) {
        ids.try_reserve(1).map_err(|_| AllocError)?;
        ids.insert(at, id);
    }
    Ok(())
}

impl<A: Allocator + Copy> Group<A> {
    /// A group with no consumers.
    pub fn new(
        name: &[u8],
        last_id: StreamId,
        entries_read: i64,
        alloc: A,
    ) -> Result<Self, AllocError> {
        Ok(Group {
            name: bytes_in(name, alloc)?,
            last_id,
            entries_read,
            pel: Vec::new_in(alloc),
            consumers: Vec::new_in(alloc),
        })
    }

    /// Heap bytes held.
    pub fn mem_bytes(&self) -> usize {
        let consumers: usize = self
            .consumers
            .iter()
            .flatten()
            .map(|c| c.name.capacity() + c.pel.capacity() * std::mem::size_of::<StreamId>())
            .sum();
        self.name.capacity()
            + self.pel.capacity() * std::mem::size_of::<(StreamId, Nack)>()
            + self.consumers.capacity() * std::mem::size_of::<Option<Consumer<A>>>()
            + consumers
    }

    /// The slot of consumer `name`.
    pub fn find_consumer(&self, name: &[u8]) -> Option<u32> {
        self.consumers
            .iter()
            .position(|c| c.as_ref().is_some_and(|c| c.name.as_slice() == name))
            .map(|i| i as u32)
    }

    /// The consumer in `slot`.
    pub fn consumer(&self, slot: u32) -> Option<&Consumer<A>> {
        self.consumers.get(slot as usize).and_then(Option::as_ref)
    }

    /// The consumer in `slot`, mutably.
    pub fn consumer_mut(&mut self, slot: u32) -> Option<&mut Consumer<A>> {
        self.consumers
            .get_mut(slot as usize)
            .and_then(Option::as_mut)
    }

    /// Number of consumers.
    pub fn consumer_count(&self) -> usize {
        self.consumers.iter().flatten().count()
    }

    /// Consumer slots sorted by name.
    pub fn consumers_by_name(&self) -> std::vec::Vec<u32> {
        let mut slots: std::vec::Vec<u32> = (0..self.consumers.len() as u32)
            .filter(|&s| self.consumer(s).is_some())
            .collect();
        slots.sort_by(|&a, &b| {
            let name = |s| self.consumer(s).map(|c| c.name.as_slice());
            name(a).cmp(&name(b))
        });
        slots
    }

    /// Creates consumer `name` (absent) seen at `now_ms`; its slot.
    pub fn create_consumer(&mut self, name: &[u8], now_ms: i64) -> Result<u32, AllocError> {
        let alloc = *self.pel.allocator();
        let consumer = Consumer {
            name: bytes_in(name, alloc)?,
            seen_ms: now_ms,
            pel: Vec::new_in(alloc),
        };
        if let Some(free) = self.consumers.iter().position(Option::is_none) {
            self.consumers[free] = Some(consumer);
            return Ok(free as u32);
        }
        self.consumers.try_reserve(1).map_err(|_| AllocError)?;
        self.consumers.push(Some(consumer));
        Ok(self.consumers.len() as u32 - 1)
    }

    /// Deletes the consumer in `slot` and its pending entries; how many it had.
    pub fn delete_consumer(&mut self, slot: u32) -> usize {
        let Some(consumer) = self.consumers.get_mut(slot as usize).and_then(Option::take) else {
            return 0;
        };
        for id in consumer.pel.iter() {
            if let Ok(at) = self.pel.binary_search_by(|(k, _)| k.cmp(id)) {
                self.pel.remove(at);
            }
        }
        consumer.pel.len()
    }

    /// The pending entry `id`.
    pub fn nack(&self, id: StreamId) -> Option<&Nack> {
        self.pel
            .binary_search_by(|(k, _)| k.cmp(&id))
            .ok()
            .map(|at| &self.pel[at].1)
    }

    /// The pending entry `id`, mutably.
    pub fn nack_mut(&mut self, id: StreamId) -> Option<&mut Nack> {
        self.pel
            .binary_search_by(|(k, _)| k.cmp(&id))
            .ok()
            .map(|at| &mut self.pel[at].1)
    }

    /// Acknowledges `id`: removes it from the group and consumer PELs; whether it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Ok(at) = self.pel.binary_search_by(|(k, _)| k.cmp(&id)) else {
            return false;
        };
        let (_, nack) = self.pel.remove(at);
        if let Some(consumer) = self.consumer_mut(nack.consumer) {
            if let Ok(at) = consumer.pel.binary_search(&id) {
                consumer.pel.remove(at);
            }
        }
        true
    }

    /// Makes `id` pending for consumer `slot` with the given time and count, moving it from any other
    /// consumer (XREADGROUP, XCLAIM).
    pub fn assign(
        &mut self,
        id: StreamId,
        slot: u32,
        delivery_ms: i64,
        delivery_count: u64,
    ) -> Result<(), AllocError> {
        let nack = Nack {
            delivery_ms,
            delivery_count,
            consumer: slot,
        };
        match self.pel.binary_search_by(|(k, _)| k.cmp(&id)) {
            Ok(at) => {
                let old = self.pel[at].1.consumer;
                if old != slot {
                    if let Some(owner) = self.consumer_mut(slot) {
                        sorted_insert(&mut owner.pel, id)?;
                    }
                    if let Some(prev) = self.consumer_mut(old) {
                        if let Ok(i) = prev.pel.binary_search(&id) {
                            prev.pel.remove(i);
                        }
                    }
                }
                self.pel[at].1 = nack;
            }
            Err(at) => {
                self.pel.try_reserve(1).map_err(|_| AllocError)?;
                if let Some(owner) = self.consumer_mut(slot) {
                    sorted_insert(&mut owner.pel, id)?;
                }
                self.pel.insert(at, (id, nack));
            }
        }
        Ok(())
    }

    /// A deep copy (COPY).
    pub fn try_clone(&self, alloc: A) -> Result<Self, AllocError> {
        let mut copy = Group::new(&self.name, self.last_id, self.entries_read, alloc)?;
        copy.pel
            .try_reserve_exact(self.pel.len())
            .map_err(|_| AllocError)?;
        copy.pel.extend_from_slice(&self.pel);
        copy.consumers
            .try_reserve_exact(self.consumers.len())
            .map_err(|_| AllocError)?;
        for slot in self.consumers.iter() {
            copy.consumers.push(match slot {
                None => None,
                Some(c) => {
                    let mut pel = Vec::new_in(alloc);
                    pel.try_reserve_exact(c.pel.len()).map_err(|_| AllocError)?;
                    pel.extend_from_slice(&c.pel);
                    Some(Consumer {
                        name: bytes_in(&c.name, alloc)?,
                        seen_ms: c.seen_ms,
                        pel,
                    })
                }
            });
        }
        Ok(copy)
    }
}

impl<A: Allocator + Copy> super::Stream<A> {
    /// Index of group `name` in `groups`.
    pub fn find_group(&self, name: &[u8]) -> Option<usize> {
        self.groups
            .binary_search_by(|g| g.name.as_slice().cmp(name))
            .ok()
    }

    /// Adds group `name` (absent) and returns its index.
    pub fn create_group(
        &mut self,
        name: &[u8],
        last_id: StreamId,
        entries_read: i64,
    ) -> Result<usize, AllocError> {
        let group = Group::new(name, last_id, entries_read, self.alloc())?;
        let at = self
            .groups
            .binary_search_by(|g| g.name.as_slice().cmp(name))
            .unwrap_or_else(|at| at);
        self.groups.try_reserve(1).map_err(|_| AllocError)?;
        self.groups.insert(at, group);
        Ok(at)
    }

    /// Redis's `streamRangeHasTombstones` from `start` to the end.
    fn has_tombstones_from(&self, start: StreamId) -> bool {
        if self.is_empty() || self.max_deleted_id.is_zero() {
            return false;
        }
        if self.first_id() > self.max_deleted_id {
            return false;
        }
        start <= self.max_deleted_id
    }

    /// Redis's `streamEstimateDistanceFromFirstEverEntry`; `None` when unknown.
    pub fn estimate_distance(&self, id: StreamId) -> Option<i64> {
        let added = self.entries_added as i64;
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.is_empty() && id <= self.last_id {
            return Some(added);
        }
        if id == self.last_id {
            return Some(added);
        }
        if id > self.last_id {
            return None;
        }
        let first = self.first_id();
        if self.max_deleted_id.is_zero() || self.max_deleted_id < first {
            if id < first {
                return Some(added - self.len() as i64);
            }
            if id == first {
                return Some(added - self.len() as i64 + 1);
            }
        }
        None
    }

    /// A group's lag (Redis's `streamReplyWithCGLag`); `None` is a null reply.
    pub fn group_lag(&self, group: &Group<A>) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if group.entries_read != ENTRIES_READ_INVALID && !self.has_tombstones_from(group.last_id) {
            return Some(self.entries_added as i64 - group.entries_read);
        }
        self.estimate_distance(group.last_id)
            .map(|read| self.entries_added as i64 - read)
    }

    /// Advances `group`'s read counter for delivering `id` with `>` (Redis's `streamReplyWithRange`).
    pub fn count_read(&self, group_idx: usize, id: StreamId) -> i64 {
        let group = &self.groups[group_idx];
        if group.entries_read != ENTRIES_READ_INVALID && !self.has_tombstones_from(id) {
            group.entries_read + 1
        } else if self.entries_added > 0 {
            self.estimate_distance(id).unwrap_or(ENTRIES_READ_INVALID)
        } else {
            group.entries_read
        }
    }
}
