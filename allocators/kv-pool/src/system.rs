//! [`SystemAlloc`]: the global allocator with exact accounting, the baseline the pool is measured against.

use std::alloc::Layout;
use std::cell::Cell;
use std::fmt::Write as _;
use std::ptr::NonNull;

use allocator_api2::alloc::{AllocError, Allocator, Global};
use zedis_budget::{Component, GlobalBudget};

use crate::{KvAllocator, KvStats};

/// This thread's figures. Invariant: `used` == sum of `chunk_bytes` over live allocations.
struct Counters {
    used: Cell<usize>,
    requested: Cell<usize>,
    allocations: Cell<usize>,
}

thread_local! {
    static COUNTERS: Counters = const {
        Counters { used: Cell::new(0), requested: Cell::new(0), allocations: Cell::new(0) }
    };
}

/// What glibc malloc really consumes for `size` bytes: the size plus an 8-byte header, rounded up to its
/// 16-byte granularity, at least 32 (its smallest chunk); alignments past 16 add their padding. Zero-sized
/// requests never reach malloc.
pub fn chunk_bytes(layout: Layout) -> usize {
    if layout.size() == 0 {
        return 0;
    }
    let chunk = (layout.size() + 8).next_multiple_of(16).max(32);
    if layout.align() > 16 {
        chunk + layout.align()
    } else {
        chunk
    }
}

/// The process's global allocator (`#[global_allocator]`, usually malloc), charging the budget with each
/// allocation's [`chunk_bytes`] under `Component::Keyspace`.
///
/// ```
/// use allocator_api2::vec::Vec;
/// use zedis_kv_pool::{KvAllocator, SystemAlloc};
///
/// let mut value: Vec<u8, SystemAlloc> = Vec::new_in(SystemAlloc);
/// value.try_reserve_exact(100).unwrap();
/// assert_eq!(SystemAlloc::stats().used_bytes, 112);
/// drop(value);
/// assert_eq!(SystemAlloc::stats().used_bytes, 0);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemAlloc;

fn counted(delta_used: isize, delta_requested: isize, delta_allocations: isize) {
    let _ = COUNTERS.try_with(|c| {
        c.used.set(c.used.get().wrapping_add_signed(delta_used));
        c.requested
            .set(c.requested.get().wrapping_add_signed(delta_requested));
        c.allocations
            .set(c.allocations.get().wrapping_add_signed(delta_allocations));
    });
}

fn isize_of(n: usize) -> isize {
    n as isize
}

impl SystemAlloc {
    /// Charges `new - old` (if positive) before `op`, releases `old - new` (if positive) after it succeeds.
    fn resize(
        old: Layout,
        new: Layout,
        force: bool,
        op: impl FnOnce() -> Result<NonNull<[u8]>, AllocError>,
    ) -> Result<NonNull<[u8]>, AllocError> {
        let (old_bytes, new_bytes) = (chunk_bytes(old), chunk_bytes(new));
        let budget = zedis_budget::current();
        if new_bytes > old_bytes {
            if force {
                budget.reserve(Component::Keyspace, new_bytes - old_bytes);
            } else {
                budget
                    .try_reserve(Component::Keyspace, new_bytes - old_bytes)
                    .map_err(|_| AllocError)?;
            }
        }
        match op() {
            Ok(block) => {
                if old_bytes > new_bytes {
                    budget.release(Component::Keyspace, old_bytes - new_bytes);
                }
                let allocations = isize::from(old.size() == 0) - isize::from(new.size() == 0);
                counted(
                    isize_of(new_bytes) - isize_of(old_bytes),
                    isize_of(new.size()) - isize_of(old.size()),
                    allocations,
                );
                Ok(block)
            }
            Err(error) => {
                if new_bytes > old_bytes {
                    budget.release(Component::Keyspace, new_bytes - old_bytes);
                }
                Err(error)
            }
        }
    }
}

// SAFETY: every call is forwarded to `Global`; only the accounting is added.
unsafe impl Allocator for SystemAlloc {
    #[inline]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let bytes = chunk_bytes(layout);
        zedis_budget::current()
            .try_reserve(Component::Keyspace, bytes)
            .map_err(|_| AllocError)?;
        match Global.allocate(layout) {
            Ok(block) => {
                counted(
                    isize_of(bytes),
                    isize_of(layout.size()),
                    isize::from(layout.size() != 0),
                );
                // Report exactly the requested size, so `deallocate` sees the same layout and charge.
                Ok(NonNull::slice_from_raw_parts(block.cast(), layout.size()))
            }
            Err(error) => {
                zedis_budget::current().release(Component::Keyspace, bytes);
                Err(error)
            }
        }
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { Global.deallocate(ptr, layout) };
        let bytes = chunk_bytes(layout);
        zedis_budget::current().release(Component::Keyspace, bytes);
        counted(
            -isize_of(bytes),
            -isize_of(layout.size()),
            -isize::from(layout.size() != 0),
        );
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded from the caller.
        Self::resize(old, new, false, || unsafe { Global.grow(ptr, old, new) })
            .map(|block| NonNull::slice_from_raw_parts(block.cast(), new.size()))
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded from the caller.
        Self::resize(old, new, true, || unsafe { Global.shrink(ptr, old, new) })
            .map(|block| NonNull::slice_from_raw_parts(block.cast(), new.size()))
    }
}

impl KvAllocator for SystemAlloc {
    const NAME: &'static str = "system";

    unsafe fn reset_all() -> bool {
        false
    }

    fn stats() -> KvStats {
        COUNTERS
            .try_with(|c| KvStats {
                capacity_bytes: 0,
                used_bytes: c.used.get(),
                requested_bytes: c.requested.get(),
                allocations: c.allocations.get(),
                resets: 0,
            })
            .unwrap_or_default()
    }

    fn write_info(out: &mut String) {
        let stats = Self::stats();
        let _ = write!(
            out,
            "kv_allocator:system\r\nkv_system_used_bytes:{}\r\nkv_system_requested_bytes:{}\r\n\
             kv_system_waste_bytes:{}\r\nkv_system_allocations:{}\r\n",
            stats.used_bytes,
            stats.requested_bytes,
            stats.used_bytes.saturating_sub(stats.requested_bytes),
            stats.allocations,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sizes_follow_glibc() {
        let l = |size, align| Layout::from_size_align(size, align).unwrap();
        assert_eq!(chunk_bytes(l(0, 1)), 0);
        assert_eq!(chunk_bytes(l(1, 1)), 32);
        assert_eq!(chunk_bytes(l(24, 8)), 32);
        assert_eq!(chunk_bytes(l(25, 8)), 48);
        assert_eq!(chunk_bytes(l(100, 1)), 112);
        assert_eq!(chunk_bytes(l(100, 64)), 176);
    }

    #[test]
    fn grow_and_shrink_keep_the_charge_exact() {
        let budget = zedis_budget::Budget::leak(0);
        zedis_budget::install(budget);
        let mut v: allocator_api2::vec::Vec<u8, SystemAlloc> =
            allocator_api2::vec::Vec::new_in(SystemAlloc);
        for i in 0..10_000u32 {
            v.push(i as u8);
            assert_eq!(
                budget.used_by(Component::Keyspace),
                SystemAlloc::stats().used_bytes
            );
        }
        v.truncate(10);
        v.shrink_to(10);
        assert_eq!(
            budget.used_by(Component::Keyspace),
            chunk_bytes(Layout::array::<u8>(10).unwrap())
        );
        drop(v);
        assert_eq!(budget.used_by(Component::Keyspace), 0);
        assert_eq!(SystemAlloc::stats(), KvStats::default());
    }
}
