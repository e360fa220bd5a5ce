//! Fixed, preallocated client slot pool with bounded buffers, and its heap baseline.
//!
//! The server keeps one state struct per connection, keyed by a small integer (its `mio` token). A
//! [`ClientSlots`] stores them and enforces `maxclients` itself ([`PoolFull`]), rather than trusting a
//! collection that grows without bound:
//! - [`FixedPool`]: slots preallocated at startup (up to [`PREALLOC_SLOTS_MAX`]) in one Vec; a closed
//!   client is [`Recycle::recycle`]d in place and its slot, with its buffers' capacity, goes to the next
//!   connection. Connection churn allocates nothing once warm.
//! - [`HeapClients`]: the baseline, a `slab` of `Box<T>` allocated on accept and dropped on close.
//!
//! [`IoBuf`] is the query/output buffer both use: a Vec with a read cursor whose capacity is charged to
//! the thread's budget under `Component::Clients`. Slot storage is charged there too
//! ([`ClientPoolStats::slot_bytes`]).
//!
//! Goals: a hard bound on clients, exact charges for slots and buffers, keys unique among live clients,
//! O(1) insert/remove. Non-goals: thread safety; stable keys across reuse (a key is reused after its
//! client is removed, like `slab`); shrinking a recycled client's buffers (its `recycle` decides, e.g.
//! with [`IoBuf::shrink_to`]).
//!
//! Layout: this file (traits, stats, errors), `fixed.rs`, `heap.rs`, `iobuf.rs`.
//!
//! ```
//! use zedis_client_pool::{ClientSlots, FixedPool, IoBuf, Recycle};
//!
//! #[derive(Default)]
//! struct Client { query: IoBuf }
//! impl Recycle for Client {
//!     fn recycle(&mut self) { self.query.clear(); self.query.shrink_to(16 * 1024); }
//! }
//!
//! let mut clients: FixedPool<Client> = FixedPool::new(1000);
//! let key = clients.insert_with(|_| {}).unwrap();
//! clients.get_mut(key).unwrap().query.extend_from_slice(b"PING\r\n");
//! assert_eq!(clients.keys(), vec![key]);
//! clients.remove(key);
//! assert_eq!(clients.len(), 0);
//! ```
#![deny(missing_docs)]

mod fixed;
mod heap;
mod iobuf;

pub use fixed::{FixedPool, PREALLOC_SLOTS_MAX};
pub use heap::HeapClients;
pub use iobuf::IoBuf;

/// Client state that can be cleared for reuse while keeping its (bounded) buffers.
pub trait Recycle: Default {
    /// Resets to the state of a fresh client, keeping allocations worth keeping.
    fn recycle(&mut self);
}

/// The pool is at `clients_max` (Redis: "ERR max number of clients reached").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("max number of clients reached ({clients_max})")]
pub struct PoolFull {
    /// The bound that was hit.
    pub clients_max: usize,
}

/// Figures for `INFO`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientPoolStats {
    /// Live clients.
    pub used: usize,
    /// Recycled slots waiting for a client (always 0 for the heap).
    pub free: usize,
    /// `clients_max`.
    pub capacity: usize,
    /// Insertions that reused a recycled slot.
    pub recycled: u64,
    /// Bytes charged for slot storage (`size_of::<T>()` per slot held), buffers excluded.
    pub slot_bytes: usize,
}

/// A store of client states with a hard bound.
pub trait ClientSlots<T: Recycle> {
    /// `"pool"` or `"heap"`.
    const NAME: &'static str;

    /// An empty store for at most `clients_max` clients.
    fn new(clients_max: usize) -> Self;

    /// A slot for a new client, initialised by `init`; `Err(PoolFull)` when `len() == clients_max()`.
    fn insert_with(&mut self, init: impl FnOnce(&mut T)) -> Result<usize, PoolFull>;

    /// Removes a client (pool: `recycle()` and keep; heap: drop). False, and nothing done, if `key` is
    /// not live.
    fn remove(&mut self, key: usize) -> bool;

    /// The live client at `key`.
    fn get(&self, key: usize) -> Option<&T>;

    /// The live client at `key`, mutable.
    fn get_mut(&mut self, key: usize) -> Option<&mut T>;

    /// Live clients.
    fn len(&self) -> usize;

    /// Whether there is no live client.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bound.
    fn clients_max(&self) -> usize;

    /// Changes the bound (CONFIG SET maxclients); never below `len()`.
    fn set_clients_max(&mut self, clients_max: usize);

    /// Live keys, ascending (CLIENT LIST, timeouts).
    fn keys(&self) -> Vec<usize>;

    /// Figures for `INFO`.
    fn stats(&self) -> ClientPoolStats;

    /// Appends `INFO` lines (`key:value\r\n`).
    fn write_info(&self, out: &mut String);
}

#[cfg(test)]
mod tests;
