//! [`FixedPool`]: client slots preallocated up front and recycled, buffers kept.

use std::fmt::Write as _;
use std::mem::size_of;

use zedis_budget::{Component, GlobalBudget};

use crate::{ClientPoolStats, ClientSlots, PoolFull, Recycle};

/// Slots preallocated at startup are capped at this many (about 400 KiB of client state); a larger
/// `maxclients` grows on demand up to its bound.
pub const PREALLOC_SLOTS_MAX: usize = 1024;

/// Client slots in one Vec, reused after [`Recycle::recycle`]: a reconnecting client gets a warm slot with
/// its buffers' capacity kept (each bounded by the client's own shrinking).
///
/// ```
/// use zedis_client_pool::{ClientSlots, FixedPool, Recycle};
///
/// #[derive(Default)]
/// struct Client { id: u64, query: Vec<u8> }
/// impl Recycle for Client {
///     fn recycle(&mut self) { self.id = 0; self.query.clear(); }
/// }
///
/// let mut pool: FixedPool<Client> = FixedPool::new(2);
/// let a = pool.insert_with(|c| c.id = 1).unwrap();
/// let _b = pool.insert_with(|c| c.id = 2).unwrap();
/// assert!(pool.insert_with(|c| c.id = 3).is_err());
/// assert!(pool.remove(a));
/// let c = pool.insert_with(|c| c.id = 3).unwrap();
/// assert_eq!(c, a); // the slot was reused
/// assert_eq!(pool.stats().recycled, 1);
/// ```
#[derive(Debug)]
pub struct FixedPool<T> {
    /// Every slot ever constructed. Invariant: `slots.len() == live.len()`.
    slots: Vec<T>,
    live: Vec<bool>,
    /// Recycled slots, reused LIFO (the warmest first). Invariant: exactly the indexes with `!live[i]`.
    free: Vec<usize>,
    /// Invariant: `len == live.iter().filter(|l| **l).count() <= clients_max`.
    len: usize,
    clients_max: usize,
    /// Insertions that reused a slot.
    recycled: u64,
    /// Invariant: bytes charged to the budget `== slots.capacity() * size_of::<T>()`.
    charged: usize,
}

impl<T: Recycle> FixedPool<T> {
    fn recharge(&mut self) {
        let bytes = self.slots.capacity() * size_of::<T>();
        let budget = zedis_budget::current();
        if bytes > self.charged {
            budget.reserve(Component::Clients, bytes - self.charged);
        } else {
            budget.release(Component::Clients, self.charged - bytes);
        }
        self.charged = bytes;
    }

    /// Drops free slots at the end of the Vec beyond `clients_max` (after lowering it).
    fn trim(&mut self) {
        let before = self.slots.len();
        while self.slots.len() > self.clients_max && self.live.last() == Some(&false) {
            self.slots.pop();
            self.live.pop();
        }
        if self.slots.len() < before {
            let end = self.slots.len();
            self.free.retain(|&key| key < end);
            self.slots
                .shrink_to(self.clients_max.min(PREALLOC_SLOTS_MAX).max(end));
            self.recharge();
        }
    }
}

impl<T> FixedPool<T> {
    /// Every constructed slot, live or recycled.
    #[cfg(test)]
    pub(crate) fn slots_for_tests(&self) -> &[T] {
        &self.slots
    }
}

impl<T: Recycle> ClientSlots<T> for FixedPool<T> {
    const NAME: &'static str = "pool";

    fn new(clients_max: usize) -> Self {
        let mut pool = FixedPool {
            slots: Vec::with_capacity(clients_max.min(PREALLOC_SLOTS_MAX)),
            live: Vec::with_capacity(clients_max.min(PREALLOC_SLOTS_MAX)),
            free: Vec::new(),
            len: 0,
            clients_max,
            recycled: 0,
            charged: 0,
        };
        pool.recharge();
        pool
    }

    fn insert_with(&mut self, init: impl FnOnce(&mut T)) -> Result<usize, PoolFull> {
        if self.len >= self.clients_max {
            return Err(PoolFull {
                clients_max: self.clients_max,
            });
        }
        let key = match self.free.pop() {
            Some(key) => {
                self.recycled += 1;
                key
            }
            None => {
                let grows = self.slots.len() == self.slots.capacity();
                self.slots.push(T::default());
                self.live.push(false);
                if grows {
                    self.recharge();
                }
                self.slots.len() - 1
            }
        };
        debug_assert!(!self.live[key], "slot {key} handed out twice");
        init(&mut self.slots[key]);
        self.live[key] = true;
        self.len += 1;
        Ok(key)
    }

    fn remove(&mut self, key: usize) -> bool {
        if self.live.get(key) != Some(&true) {
            return false;
        }
        self.slots[key].recycle();
        self.live[key] = false;
        self.free.push(key);
        self.len -= 1;
        true
    }

    fn get(&self, key: usize) -> Option<&T> {
        (self.live.get(key) == Some(&true)).then(|| &self.slots[key])
    }

    fn get_mut(&mut self, key: usize) -> Option<&mut T> {
        (self.live.get(key) == Some(&true)).then(|| &mut self.slots[key])
    }

    fn len(&self) -> usize {
        self.len
    }

    fn clients_max(&self) -> usize {
        self.clients_max
    }

    fn set_clients_max(&mut self, clients_max: usize) {
        self.clients_max = clients_max.max(self.len);
        self.trim();
    }

    fn keys(&self) -> Vec<usize> {
        self.live
            .iter()
            .enumerate()
            .filter(|(_, live)| **live)
            .map(|(key, _)| key)
            .collect()
    }

    fn stats(&self) -> ClientPoolStats {
        ClientPoolStats {
            used: self.len,
            free: self.free.len(),
            capacity: self.clients_max,
            recycled: self.recycled,
            slot_bytes: self.charged,
        }
    }

    fn write_info(&self, out: &mut String) {
        let stats = self.stats();
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "client_slots:pool\r\nclient_slots_used:{}\r\nclient_slots_free:{}\r\nclient_slots_max:{}\r\n\
             client_slots_recycled:{}\r\nclient_slots_bytes:{}\r\n",
            stats.used, stats.free, stats.capacity, stats.recycled, stats.slot_bytes,
        );
    }
}

impl<T> Drop for FixedPool<T> {
    fn drop(&mut self) {
        if self.charged > 0 {
            zedis_budget::current().release(Component::Clients, self.charged);
        }
    }
}
