//! Per-request arena (bumpalo) with capped retained memory, and its heap baseline.
//!
//! Every batch of commands the server reads from a client needs scratch memory: the argument vector
//! (`Vec<&[u8]>` pointing into the query buffer) and temporary reply data. A [`RequestAlloc`] provides
//! an `allocator_api2` allocator for that memory and is [`reset`](RequestAlloc::reset) after each batch.
//!
//! - [`ArenaAlloc`]: a `bumpalo::Bump`. Allocation is a pointer bump; reset frees everything at once and
//!   keeps the largest chunk for the next batch, unless it is larger than `retained_bytes_max` (one huge
//!   request does not pin a huge arena). The bytes held are charged to this thread's budget
//!   (`zedis_budget::current()`) under `Component::RequestArena`.
//! - [`HeapAlloc`]: the global allocator (`allocator_api2::alloc::Global`), the baseline. It charges
//!   nothing: heap scratch memory is freed as each container drops.
//!
//! Goals: no per-allocation free on the request path, a bounded memory floor between batches, a budget
//! charge equal to what the arena holds (as of the last [`ArenaAlloc::charge_now`] or reset).
//!
//! Non-goals: thread safety (one per event loop), freeing individual allocations (bumpalo reuses only
//! the last allocation's space), charging at every bump (the server calls `charge_now` where it matters).
//!
//! Layout: this file (the trait and [`ArenaStats`]), `arena.rs` ([`ArenaAlloc`]), `heap.rs` ([`HeapAlloc`]).
//!
//! ```
//! use allocator_api2::vec::Vec;
//! use zedis_arena::{ArenaAlloc, RequestAlloc};
//!
//! let mut arena = ArenaAlloc::new(64 * 1024);
//! let query = b"SET key value".to_vec();
//! {
//!     let mut argv: Vec<&[u8], _> = Vec::new_in(arena.allocator());
//!     argv.extend(query.split(|&b| b == b' '));
//!     assert_eq!(argv[2], b"value");
//! }
//! arena.reset();
//! assert_eq!(arena.stats().resets, 1);
//! ```
#![deny(missing_docs)]

mod arena;
mod heap;

pub use arena::ArenaAlloc;
pub use heap::HeapAlloc;

/// A per-request memory strategy: an allocator for one batch of commands, reset after it.
pub trait RequestAlloc {
    /// The allocator handed to argument vectors and temporary reply data.
    type Alloc<'a>: allocator_api2::alloc::Allocator + Copy
    where
        Self: 'a;

    /// `"arena"` or `"heap"`.
    const NAME: &'static str;

    /// The allocator for this batch. Everything allocated must be dropped before [`reset`](Self::reset).
    fn allocator(&self) -> Self::Alloc<'_>;

    /// Called after each batch: frees everything, keeps at most `retained_bytes_max` for the next batch,
    /// and updates the budget charge to what is still held.
    fn reset(&mut self);

    /// Figures for `INFO`.
    fn stats(&self) -> ArenaStats;

    /// Appends `INFO allocator` lines (`key:value\r\n`).
    fn write_info(&self, out: &mut String);
}

/// A request strategy's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArenaStats {
    /// Most bytes held at once (observed at resets and `charge_now`).
    pub high_water_bytes: usize,
    /// Resets so far.
    pub resets: u64,
    /// Bytes kept by the last reset. Invariant: `<= retained_bytes_max`.
    pub retained_bytes: usize,
    /// Bytes held now.
    pub current_bytes: usize,
    /// Resets that dropped the arena's chunk because it was over `retained_bytes_max`.
    pub discards: u64,
}
