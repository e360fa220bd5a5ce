//! Budgeted key-value allocators: a fixed size-class pool with O(1) reset, and a counted system baseline.
//!
//! The keyspace stores every key, value and table through a [`KvAllocator`]: a zero-sized
//! `allocator_api2` allocator handle (no per-container pointer) whose memory is charged to this thread's
//! budget (`zedis_budget::current()`) under `Component::Keyspace`. `allocate` returns `Err(AllocError)` when
//! the budget or the pool cannot fit the request; the keyspace then evicts and retries. Nothing here panics
//! or aborts on a full budget or pool.
//!
//! Two strategies:
//! - [`PoolAlloc`]: one reserved address range per thread (`mmap` with `MAP_NORESERVE`), carved into
//!   64 KiB pages. Requests up to 16 KiB take a block of one of 42 size classes (8, 16, ... 56, 60, 64, 72, 80, 96,
//!   112, 128, 160, ...: four per power of two), from the class's free list or its current slab page.
//!   Larger requests take a run of whole pages (best fit among coalesced free runs, else fresh space);
//!   runs grow and shrink in place when they can. [`KvAllocator::reset_all`] forgets everything at once
//!   (FLUSHALL) and hands the touched pages back to the kernel.
//! - [`SystemAlloc`]: the process's global allocator, charged with glibc's real chunk size.
//!
//! Goals: exact accounting (`budget.used_by(Keyspace) == stats().used_bytes`), bounded rounding waste,
//! no per-block headers, O(1) small allocation and free, a pure layout -> block mapping.
//!
//! Non-goals: thread safety (each thread installs its own pool and budget, and a block must be freed on
//! the thread that allocated it); returning slab pages of one class to other classes before a reset (a
//! class keeps the pages it grew to, as Redis's own jemalloc mostly does); alignments above 64 KiB.
//!
//! Layout: `classes.rs` (size classes, layout -> kind), `region.rs` (pages, slabs, free runs),
//! `pool.rs` ([`PoolAlloc`]), `system.rs` ([`SystemAlloc`]).
//!
//! ```
//! use hashbrown::{DefaultHashBuilder, HashMap};
//! use zedis_kv_pool::{KvAllocator, PoolAlloc};
//!
//! PoolAlloc::install(16 << 20).unwrap();
//! let mut map: HashMap<u64, u64, DefaultHashBuilder, PoolAlloc> =
//!     HashMap::with_hasher_in(DefaultHashBuilder::default(), PoolAlloc);
//! map.try_reserve(1000).unwrap();
//! map.insert(1, 2);
//! assert!(PoolAlloc::stats().used_bytes > 0);
//! drop(map);
//! assert_eq!(PoolAlloc::stats().used_bytes, 0);
//! ```
#![deny(missing_docs)]

mod classes;
mod pool;
mod region;
mod system;

pub use classes::{CLASS_COUNT, CLASS_SIZES, PAGE_BYTES, SMALL_BYTES_MAX};
pub use pool::PoolAlloc;
pub use region::LOW_ADDR_LIMIT;
pub use system::{chunk_bytes, SystemAlloc};

/// A key-value storage strategy: a zero-sized allocator handle whose memory is charged to
/// `zedis_budget::current()` under `Component::Keyspace`, and whose `allocate` returns `Err(AllocError)`
/// when the budget (or the pool) cannot fit the request.
pub trait KvAllocator:
    allocator_api2::alloc::Allocator + Copy + Default + std::fmt::Debug + 'static
{
    /// `"pool"` or `"system"`.
    const NAME: &'static str;

    /// Frees every live allocation at once, if this strategy can: the pool resets all size classes and
    /// runs, hands touched pages back to the kernel and releases the whole charge (returns true). The
    /// system allocator does nothing and returns false (the caller drops its containers normally).
    ///
    /// # Safety
    /// When it returns true, no allocation made before may be used or deallocated afterwards (forget the
    /// containers with `std::mem::forget`).
    unsafe fn reset_all() -> bool;

    /// This thread's figures.
    fn stats() -> KvStats;

    /// Appends `INFO allocator` lines (`key:value\r\n`), strategy specific.
    fn write_info(out: &mut String);
}

/// A strategy's figures for this thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KvStats {
    /// Address space reserved; 0 = unbounded.
    pub capacity_bytes: usize,
    /// Bytes charged to the budget (class, run or malloc chunk sizes of live allocations).
    pub used_bytes: usize,
    /// Bytes asked for by live allocations; `used_bytes - requested_bytes` is rounding waste.
    pub requested_bytes: usize,
    /// Live allocations (zero-sized ones excluded).
    pub allocations: usize,
    /// `reset_all` calls that freed everything.
    pub resets: u64,
}

/// Why a pool could not be installed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// `mmap` refused the reservation.
    #[error("cannot reserve {capacity_bytes} bytes of address space (errno {errno})")]
    Map {
        /// Bytes asked for.
        capacity_bytes: usize,
        /// The OS error.
        errno: i32,
    },
    /// The installed pool still holds allocations.
    #[error("the pool still holds {allocations} allocations")]
    InUse {
        /// Live allocations.
        allocations: usize,
    },
    /// More pages than the page metadata can index.
    #[error("pool capacity {capacity_bytes} is too large")]
    CapacityTooLarge {
        /// Bytes asked for.
        capacity_bytes: usize,
    },
    /// The thread is exiting and its pool is gone.
    #[error("the thread's pool is being torn down")]
    ThreadExiting,
}
