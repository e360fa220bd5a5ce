//! [`PoolAlloc`]: the zero-sized handle to this thread's size-class pool.

use std::alloc::Layout;
use std::cell::UnsafeCell;
use std::fmt::Write as _;
use std::ptr::NonNull;

use allocator_api2::alloc::{AllocError, Allocator};
use zedis_budget::{Component, GlobalBudget};

use crate::classes::{Kind, CLASS_COUNT, CLASS_SIZES, PAGE_BYTES};
use crate::region::Region;
use crate::{KvAllocator, KvStats, PoolError};

thread_local! {
    static REGION: UnsafeCell<Region> = const { UnsafeCell::new(Region::EMPTY) };
}

/// Runs `f` on this thread's region; None once the thread is being torn down.
///
/// `f` must not re-enter (it never calls back into a `PoolAlloc`), so the `&mut` is unique.
#[inline]
fn with_region<R>(f: impl FnOnce(&mut Region) -> R) -> Option<R> {
    // SAFETY: single-threaded, and no closure passed here re-enters `with_region`.
    REGION
        .try_with(|region| f(unsafe { &mut *region.get() }))
        .ok()
}

/// The size-class pool: a zero-sized handle to this thread's region (see the crate docs).
///
/// ```
/// use allocator_api2::vec::Vec;
/// use zedis_kv_pool::{KvAllocator, PoolAlloc};
///
/// PoolAlloc::install(1 << 20).unwrap();
/// let mut value: Vec<u8, PoolAlloc> = Vec::new_in(PoolAlloc);
/// value.try_reserve(100).unwrap();
/// value.extend_from_slice(b"hello");
/// assert_eq!(PoolAlloc::stats().used_bytes, 112); // the 112-byte size class
/// drop(value);
/// assert_eq!(PoolAlloc::stats().used_bytes, 0);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolAlloc;

impl PoolAlloc {
    /// Installs this thread's pool: reserves `capacity_bytes` of address space (rounded up to 64 KiB pages)
    /// with `MAP_NORESERVE`, so RSS grows only as pages are touched. 0 means 64 GiB of address space.
    /// Replaces an already installed pool only if it holds no allocation.
    pub fn install(capacity_bytes: usize) -> Result<(), PoolError> {
        with_region(|region| region.install(capacity_bytes))
            .unwrap_or(Err(PoolError::ThreadExiting))
    }

    /// The end of this thread's region when `addr` lies in it (None otherwise). Every block this thread's
    /// pool hands out lies below it for as long as any block is live (a pool holding blocks cannot be
    /// reinstalled), so a structure whose own block `addr` is can rely on it for the blocks it links: the
    /// keyspace's index keeps entry addresses in 5 bytes when this is at most [`LOW_ADDR_LIMIT`], where
    /// `install` places regions when the address range is free.
    ///
    /// [`LOW_ADDR_LIMIT`]: crate::LOW_ADDR_LIMIT
    pub fn region_end(addr: usize) -> Option<usize> {
        with_region(|region| region.end_if_contains(addr)).flatten()
    }

    /// Unmaps this thread's pool if it holds no allocation (tests, shutdown). Allocating afterwards fails
    /// until the next [`install`](PoolAlloc::install).
    pub fn uninstall() -> Result<(), PoolError> {
        with_region(Region::uninstall).unwrap_or(Err(PoolError::ThreadExiting))
    }

    /// Takes the memory for `kind` and charges it. `force` charges even past the limit (for shrinks).
    fn take(kind: Kind, layout: Layout, force: bool) -> Result<NonNull<[u8]>, AllocError> {
        let bytes = kind.bytes();
        match kind {
            Kind::Empty => return Ok(dangling(layout)),
            Kind::Unservable => return Err(AllocError),
            Kind::Small(_) | Kind::Run(_) => {}
        }
        let budget = zedis_budget::current();
        if force {
            budget.reserve(Component::Keyspace, bytes);
        } else {
            budget
                .try_reserve(Component::Keyspace, bytes)
                .map_err(|_| AllocError)?;
        }
        let block = with_region(|region| {
            if !region.is_installed() {
                return None;
            }
            let block = match kind {
                Kind::Small(idx) => region.alloc_small(idx),
                _ => region.alloc_run(bytes / PAGE_BYTES),
            }?;
            region.used_bytes += bytes;
            region.requested_bytes += layout.size();
            region.allocations += 1;
            Some(block)
        })
        .flatten();
        match block {
            Some(block) => Ok(NonNull::slice_from_raw_parts(block, bytes)),
            None => {
                budget.release(Component::Keyspace, bytes);
                Err(AllocError)
            }
        }
    }

    /// Frees a block of `kind` and releases its charge.
    ///
    /// # Safety
    /// `ptr` was returned for a layout of this `kind` and is not used again.
    unsafe fn give_back(ptr: NonNull<u8>, kind: Kind, requested: usize) {
        let bytes = kind.bytes();
        if bytes == 0 {
            return;
        }
        let freed = with_region(|region| {
            debug_assert!(
                region.is_installed() && region.allocations > 0,
                "free into an empty pool"
            );
            match kind {
                // SAFETY: forwarded from the caller.
                Kind::Small(idx) => unsafe { region.free_small(ptr.as_ptr(), idx) },
                // SAFETY: forwarded from the caller.
                _ => unsafe { region.free_run(ptr.as_ptr(), bytes / PAGE_BYTES) },
            }
            region.used_bytes -= bytes;
            region.requested_bytes = region.requested_bytes.saturating_sub(requested);
            region.allocations -= 1;
        });
        if freed.is_some() {
            zedis_budget::current().release(Component::Keyspace, bytes);
        }
    }

    /// Resizes in place when the block already fits or a run can grow/shrink where it is.
    ///
    /// # Safety
    /// `ptr` is live with layout `old`; `new.align() == old.align()` is not required.
    unsafe fn resize_in_place(
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        force: bool,
    ) -> Option<NonNull<[u8]>> {
        let (old_kind, new_kind) = (Kind::of(old), Kind::of(new));
        if old_kind == new_kind && old_kind != Kind::Empty {
            with_region(|region| {
                region.requested_bytes =
                    (region.requested_bytes + new.size()).saturating_sub(old.size());
            });
            return Some(NonNull::slice_from_raw_parts(ptr, new_kind.bytes()));
        }
        let (Kind::Run(old_pages), Kind::Run(new_pages)) = (old_kind, new_kind) else {
            return None;
        };
        let budget = zedis_budget::current();
        if new_pages > old_pages {
            let extra = (new_pages - old_pages) * PAGE_BYTES;
            if force {
                budget.reserve(Component::Keyspace, extra);
            } else {
                budget.try_reserve(Component::Keyspace, extra).ok()?;
            }
        }
        // SAFETY: forwarded from the caller.
        let resized = with_region(|region| {
            unsafe { region.resize_run(ptr.as_ptr(), old_pages, new_pages) }.then(|| {
                region.used_bytes = region.used_bytes + new_kind.bytes() - old_kind.bytes();
                region.requested_bytes =
                    (region.requested_bytes + new.size()).saturating_sub(old.size());
            })
        })
        .flatten()
        .is_some();
        if new_pages > old_pages && !resized {
            budget.release(Component::Keyspace, (new_pages - old_pages) * PAGE_BYTES);
        }
        if new_pages < old_pages && resized {
            budget.release(Component::Keyspace, (old_pages - new_pages) * PAGE_BYTES);
        }
        resized.then(|| NonNull::slice_from_raw_parts(ptr, new_kind.bytes()))
    }

    /// Allocate, copy, free: the general resize.
    ///
    /// # Safety
    /// `ptr` is live with layout `old`.
    unsafe fn move_to(
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        force: bool,
    ) -> Result<NonNull<[u8]>, AllocError> {
        let block = Self::take(Kind::of(new), new, force)?;
        // SAFETY: both blocks are live, distinct, and at least min(old, new) bytes long.
        unsafe {
            std::ptr::copy_nonoverlapping(
                ptr.as_ptr(),
                block.cast::<u8>().as_ptr(),
                old.size().min(new.size()),
            );
            Self::give_back(ptr, Kind::of(old), old.size());
        }
        Ok(block)
    }
}

fn dangling(layout: Layout) -> NonNull<[u8]> {
    // An address equal to the alignment is non-null and aligned; zero-sized blocks are never read.
    let ptr = NonNull::new(layout.align() as *mut u8).unwrap_or(NonNull::dangling());
    NonNull::slice_from_raw_parts(ptr, 0)
}

// SAFETY: blocks are disjoint (free lists and runs never hand out a live block), stay valid until freed or
// `reset_all`, and the kind (hence the block) is recomputed from any layout that fits it.
unsafe impl Allocator for PoolAlloc {
    #[inline]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        Self::take(Kind::of(layout), layout, false)
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { Self::give_back(ptr, Kind::of(layout), layout.size()) }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        debug_assert!(new.size() >= old.size());
        // SAFETY: forwarded from the caller.
        unsafe {
            match Self::resize_in_place(ptr, old, new, false) {
                Some(block) => Ok(block),
                None => Self::move_to(ptr, old, new, false),
            }
        }
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        debug_assert!(new.size() <= old.size());
        // Shrinking releases memory overall, so the transient double charge may exceed the limit.
        // SAFETY: forwarded from the caller.
        unsafe {
            match Self::resize_in_place(ptr, old, new, true) {
                Some(block) => Ok(block),
                None => Self::move_to(ptr, old, new, true),
            }
        }
    }
}

impl KvAllocator for PoolAlloc {
    const NAME: &'static str = "pool";

    unsafe fn reset_all() -> bool {
        let released = with_region(|region| {
            let used = region.used_bytes;
            region.reset();
            used
        });
        if let Some(used) = released {
            zedis_budget::current().release(Component::Keyspace, used);
        }
        true
    }

    fn stats() -> KvStats {
        with_region(|region| KvStats {
            capacity_bytes: region.pages_total * PAGE_BYTES,
            used_bytes: region.used_bytes,
            requested_bytes: region.requested_bytes,
            allocations: region.allocations,
            resets: region.resets,
        })
        .unwrap_or_default()
    }

    fn write_info(out: &mut String) {
        with_region(|region| write_region_info(region, out));
    }
}

fn write_region_info(region: &Region, out: &mut String) {
    let capacity = region.pages_total * PAGE_BYTES;
    let slab_free: usize = (0..CLASS_COUNT)
        .map(|idx| {
            let class = &region.classes[idx];
            (class.free_blocks + class.carve_blocks(idx)) * CLASS_SIZES[idx]
        })
        .sum();
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "kv_allocator:pool\r\nkv_pool_capacity_bytes:{capacity}\r\nkv_pool_used_bytes:{}\r\n\
         kv_pool_requested_bytes:{}\r\nkv_pool_waste_bytes:{}\r\nkv_pool_free_bytes:{}\r\n\
         kv_pool_touched_bytes:{}\r\nkv_pool_slab_free_bytes:{slab_free}\r\nkv_pool_free_run_bytes:{}\r\n\
         kv_pool_run_bytes:{}\r\nkv_pool_runs:{}\r\nkv_pool_allocations:{}\r\nkv_pool_resets:{}\r\n",
        region.used_bytes,
        region.requested_bytes,
        region.used_bytes.saturating_sub(region.requested_bytes),
        capacity - region.used_bytes,
        region.bump_pages * PAGE_BYTES,
        region.free_run_pages * PAGE_BYTES,
        region.run_pages * PAGE_BYTES,
        region.runs,
        region.allocations,
        region.resets,
    );
    for (idx, class) in region
        .classes
        .iter()
        .enumerate()
        .filter(|(_, class)| class.pages > 0)
    {
        let _ = write!(
            out,
            "kv_pool_class_{}:pages={},used={},free={}\r\n",
            CLASS_SIZES[idx],
            class.pages,
            class.live_blocks,
            class.free_blocks + class.carve_blocks(idx),
        );
    }
}
