//! [`ArenaAlloc`]: a bump arena reset after each batch, with a cap on what it keeps.

use std::cell::Cell;
use std::fmt::Write as _;

use bumpalo::Bump;
use zedis_budget::{Component, GlobalBudget};

use crate::{ArenaStats, RequestAlloc};

/// A `bumpalo::Bump` per event loop, charged to the budget under `Component::RequestArena`.
///
/// ```
/// use allocator_api2::vec::Vec;
/// use zedis_arena::{ArenaAlloc, RequestAlloc};
///
/// let mut arena = ArenaAlloc::new(4096);
/// {
///     let mut reply: Vec<u8, _> = Vec::new_in(arena.allocator());
///     reply.resize(1 << 20, b'x'); // one huge request
///     arena.charge_now();
///     assert!(arena.stats().current_bytes >= 1 << 20);
/// }
/// arena.reset();
/// // The huge chunk was not kept.
/// assert!(arena.stats().retained_bytes <= 4096);
/// assert!(arena.stats().high_water_bytes >= 1 << 20);
/// ```
#[derive(Debug)]
pub struct ArenaAlloc {
    bump: Bump,
    /// Bytes a reset may keep for the next batch.
    retained_bytes_max: usize,
    /// Invariant: bytes charged to `zedis_budget::current()` under `RequestArena` by this arena, equal to
    /// `bump.allocated_bytes()` as of the last `charge_now`/`reset`.
    charged: Cell<usize>,
    /// Invariant: `>= charged` at all times.
    high_water_bytes: Cell<usize>,
    resets: u64,
    /// Bytes held right after the last reset. Invariant: `<= retained_bytes_max`.
    retained_bytes: usize,
    discards: u64,
}

impl ArenaAlloc {
    /// An empty arena that keeps at most `retained_bytes_max` between batches.
    pub fn new(retained_bytes_max: usize) -> Self {
        ArenaAlloc {
            bump: Bump::new(),
            retained_bytes_max,
            charged: Cell::new(0),
            high_water_bytes: Cell::new(0),
            resets: 0,
            retained_bytes: 0,
            discards: 0,
        }
    }

    /// The cap on bytes kept between batches.
    pub fn retained_bytes_max(&self) -> usize {
        self.retained_bytes_max
    }

    /// Changes the cap; applies at the next reset.
    pub fn set_retained_bytes_max(&mut self, retained_bytes_max: usize) {
        self.retained_bytes_max = retained_bytes_max;
    }

    /// Brings the budget charge up to date with the bytes held now (call it mid-batch after large
    /// allocations so eviction sees them). Uses `reserve`: the memory is already held.
    pub fn charge_now(&self) {
        let held = self.bump.allocated_bytes();
        let charged = self.charged.get();
        let budget = zedis_budget::current();
        if held > charged {
            budget.reserve(Component::RequestArena, held - charged);
        } else if held < charged {
            budget.release(Component::RequestArena, charged - held);
        }
        self.charged.set(held);
        if held > self.high_water_bytes.get() {
            self.high_water_bytes.set(held);
        }
    }

    /// Bytes charged to the budget.
    pub fn charged_bytes(&self) -> usize {
        self.charged.get()
    }
}

impl Default for ArenaAlloc {
    /// An arena keeping at most 1 MiB between batches.
    fn default() -> Self {
        ArenaAlloc::new(1 << 20)
    }
}

impl RequestAlloc for ArenaAlloc {
    type Alloc<'a> = &'a Bump;
    const NAME: &'static str = "arena";

    #[inline]
    fn allocator(&self) -> &Bump {
        &self.bump
    }

    fn reset(&mut self) {
        // Observe the batch's high water before its memory goes.
        self.charge_now();
        self.bump.reset();
        if self.bump.allocated_bytes() > self.retained_bytes_max {
            self.bump = Bump::new();
            self.discards += 1;
        }
        self.retained_bytes = self.bump.allocated_bytes();
        debug_assert!(self.retained_bytes <= self.retained_bytes_max);
        self.resets += 1;
        self.charge_now();
    }

    fn stats(&self) -> ArenaStats {
        ArenaStats {
            high_water_bytes: self.high_water_bytes.get().max(self.bump.allocated_bytes()),
            resets: self.resets,
            retained_bytes: self.retained_bytes,
            current_bytes: self.bump.allocated_bytes(),
            discards: self.discards,
        }
    }

    fn write_info(&self, out: &mut String) {
        let stats = self.stats();
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "request_allocator:arena\r\nrequest_arena_bytes:{}\r\nrequest_arena_high_water_bytes:{}\r\n\
             request_arena_retained_bytes:{}\r\nrequest_arena_retained_bytes_max:{}\r\n\
             request_arena_resets:{}\r\nrequest_arena_discards:{}\r\n",
            stats.current_bytes,
            stats.high_water_bytes,
            stats.retained_bytes,
            self.retained_bytes_max,
            stats.resets,
            stats.discards,
        );
    }
}

impl Drop for ArenaAlloc {
    fn drop(&mut self) {
        let charged = self.charged.get();
        if charged > 0 {
            zedis_budget::current().release(Component::RequestArena, charged);
        }
    }
}
