//! The pool's state: one reserved address range carved into pages, slabs per size class, and free runs.
//!
//! Everything here is single-threaded (one `Region` per thread, see `pool.rs`) and works on raw memory:
//! callers uphold the `Allocator` contract (a block is freed once, with a layout that fits it).

use std::collections::{BTreeMap, BTreeSet};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::classes::{CLASS_COUNT, CLASS_SIZES, PAGE_BYTES};
use crate::PoolError;

/// `page_meta` value of a page that holds nothing (free, or inside a run but not its head).
const META_NONE: u32 = u32::MAX;
/// `page_meta` flag of a run head; the low bits are the run length in pages.
const META_RUN: u32 = 1 << 31;

/// Freed runs at least this long are handed back to the kernel right away (`MADV_DONTNEED`): hash table
/// arrays grow by doubling, and the old array would otherwise keep its RSS until reused.
const MADVISE_RUN_PAGES_MIN: usize = 32;

/// The default address space reserved by `install(0)`.
pub(crate) const DEFAULT_CAPACITY_BYTES: usize = 64 << 30;

/// Regions are placed (by `mmap` hint, which the kernel follows when the range is free) between 1 TiB and
/// [`LOW_ADDR_LIMIT`], so that every block of a region lies below `LOW_ADDR_LIMIT` and a 4-aligned block's
/// address divided by 4 fits 40 bits: the keyspace's index then stores entry addresses in 5 bytes instead of
/// 6 (see [`crate::PoolAlloc::region_end`]). Far below the kernel's own choices (the top of the 47-bit space,
/// and the heap beside the executable), so the hint is normally free.
pub const LOW_ADDR_LIMIT: usize = 1 << 42;
const LOW_ADDR_START: usize = 1 << 40;
/// Hints step in units of this, from a random start, so two threads' regions never ask for the same range.
const HINT_STEP: usize = 1 << 30;

/// The next region's hint (0: not chosen yet).
static NEXT_HINT: AtomicUsize = AtomicUsize::new(0);

/// An address to ask `mmap` for a region of `len` bytes: below [`LOW_ADDR_LIMIT`], from a random start
/// between 1 and 2 TiB (address-space randomisation is kept, over 2^10 positions), each region after the
/// last one asked for.
fn next_hint(len: usize) -> usize {
    let span = len.div_ceil(HINT_STEP) * HINT_STEP;
    if span >= LOW_ADDR_LIMIT - LOW_ADDR_START {
        return 0;
    }
    let random_start = || {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(len);
        let slots = (LOW_ADDR_START / HINT_STEP) as u64;
        LOW_ADDR_START + (h.finish() % slots) as usize * HINT_STEP
    };
    let mut current = NEXT_HINT.load(Ordering::Relaxed);
    loop {
        let hint = if current == 0 || current + span > LOW_ADDR_LIMIT {
            random_start()
        } else {
            current
        };
        match NEXT_HINT.compare_exchange_weak(
            current,
            hint + span,
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(_) => return hint,
            Err(seen) => current = seen,
        }
    }
}

/// One size class: a LIFO free list threaded through freed blocks, and the slab page being carved.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Class {
    /// Head of the intrusive free list (each free block's first word points to the next), or null.
    free_head: *mut u8,
    /// Invariant: the free list's length.
    pub(crate) free_blocks: usize,
    /// Next never-used block of the current slab; `carve == carve_end` when the slab is used up.
    carve: *mut u8,
    carve_end: *mut u8,
    /// Invariant: blocks handed out and not freed.
    pub(crate) live_blocks: usize,
    /// Slab pages this class owns (kept until `reset`).
    pub(crate) pages: usize,
}

impl Class {
    const EMPTY: Class = Class {
        free_head: ptr::null_mut(),
        free_blocks: 0,
        carve: ptr::null_mut(),
        carve_end: ptr::null_mut(),
        live_blocks: 0,
        pages: 0,
    };

    /// Blocks of the current slab never handed out.
    pub(crate) fn carve_blocks(&self, idx: usize) -> usize {
        (self.carve_end as usize - self.carve as usize) / CLASS_SIZES[idx]
    }
}

/// A thread's pool. `base.is_null()` means not installed.
#[derive(Debug)]
pub(crate) struct Region {
    /// The raw mapping, for `munmap`.
    map_ptr: *mut u8,
    map_len: usize,
    /// First page; `PAGE_BYTES` aligned, so class blocks get their natural alignment.
    base: *mut u8,
    /// Invariant: `pages_total * PAGE_BYTES <= map_len - (base - map_ptr)`.
    pub(crate) pages_total: usize,
    /// Pages `[0, bump_pages)` have been handed out since the last reset; above it lies untouched space.
    /// Invariant: every free run lies below `bump_pages`, and none ends at it (it would have been merged).
    pub(crate) bump_pages: usize,
    /// Highest `bump_pages` since the last reset: what `reset` must hand back to the kernel.
    touched_pages: usize,
    pub(crate) classes: [Class; CLASS_COUNT],
    /// Free runs by start page -> length. Invariant: disjoint, never adjacent (freed runs coalesce).
    free_by_start: BTreeMap<usize, usize>,
    /// The same runs as (length, start), for best fit.
    free_by_len: BTreeSet<(usize, usize)>,
    /// Invariant: sum of free run lengths.
    pub(crate) free_run_pages: usize,
    /// Per page below `bump_pages`: a class index (slab page), `META_RUN | len` (run head) or `META_NONE`.
    page_meta: Vec<u32>,
    /// Pages held by live runs.
    pub(crate) run_pages: usize,
    /// Live runs.
    pub(crate) runs: usize,
    /// Invariant: bytes charged to the budget == sum over live blocks of their class or run size.
    pub(crate) used_bytes: usize,
    /// Sum of the sizes asked for by live allocations (`used_bytes - requested_bytes` is rounding waste).
    pub(crate) requested_bytes: usize,
    /// Live allocations (zero-sized ones excluded).
    pub(crate) allocations: usize,
    pub(crate) resets: u64,
}

impl Region {
    pub(crate) const EMPTY: Region = Region {
        map_ptr: ptr::null_mut(),
        map_len: 0,
        base: ptr::null_mut(),
        pages_total: 0,
        bump_pages: 0,
        touched_pages: 0,
        classes: [Class::EMPTY; CLASS_COUNT],
        free_by_start: BTreeMap::new(),
        free_by_len: BTreeSet::new(),
        free_run_pages: 0,
        page_meta: Vec::new(),
        run_pages: 0,
        runs: 0,
        used_bytes: 0,
        requested_bytes: 0,
        allocations: 0,
        resets: 0,
    };

    pub(crate) fn is_installed(&self) -> bool {
        !self.base.is_null()
    }

    /// Maps a fresh region of `capacity_bytes` (rounded up to whole pages) in place of an empty one.
    pub(crate) fn install(&mut self, capacity_bytes: usize) -> Result<(), PoolError> {
        if self.allocations != 0 {
            return Err(PoolError::InUse {
                allocations: self.allocations,
            });
        }
        let requested = if capacity_bytes == 0 {
            DEFAULT_CAPACITY_BYTES
        } else {
            capacity_bytes
        };
        let pages = requested.div_ceil(PAGE_BYTES);
        if pages >= (META_RUN - 1) as usize || pages > (isize::MAX as usize) / PAGE_BYTES - 1 {
            return Err(PoolError::CapacityTooLarge { capacity_bytes });
        }
        // One extra page so the base can be aligned to PAGE_BYTES.
        let map_len = (pages + 1) * PAGE_BYTES;
        // SAFETY: an anonymous private mapping without MAP_FIXED: the hint is only a hint, the kernel picks
        // another free range when it is taken, and nothing else is touched.
        let map = unsafe {
            libc::mmap(
                ptr::with_exposed_provenance_mut::<libc::c_void>(next_hint(map_len)),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            return Err(PoolError::Map {
                capacity_bytes: requested,
                errno,
            });
        }
        self.unmap();
        let map_ptr = map.cast::<u8>();
        let misalign = map_ptr as usize % PAGE_BYTES;
        let offset = if misalign == 0 {
            0
        } else {
            PAGE_BYTES - misalign
        };
        let resets = self.resets;
        *self = Region::EMPTY;
        self.resets = resets;
        self.map_ptr = map_ptr;
        self.map_len = map_len;
        // SAFETY: offset < PAGE_BYTES <= map_len.
        self.base = unsafe { map_ptr.add(offset) };
        self.pages_total = pages;
        Ok(())
    }

    /// Unmaps an empty region.
    pub(crate) fn uninstall(&mut self) -> Result<(), PoolError> {
        if self.allocations != 0 {
            return Err(PoolError::InUse {
                allocations: self.allocations,
            });
        }
        self.unmap();
        let resets = self.resets;
        *self = Region::EMPTY;
        self.resets = resets;
        Ok(())
    }

    fn unmap(&mut self) {
        if !self.map_ptr.is_null() {
            // SAFETY: the mapping was made by `install` and nothing in it is live.
            unsafe { libc::munmap(self.map_ptr.cast(), self.map_len) };
            self.map_ptr = ptr::null_mut();
        }
    }

    fn page_ptr(&self, page: usize) -> *mut u8 {
        debug_assert!(page < self.pages_total);
        // SAFETY: in bounds of the mapping (see the `pages_total` invariant).
        unsafe { self.base.add(page * PAGE_BYTES) }
    }

    /// The end of the region when `addr` lies inside it.
    pub(crate) fn end_if_contains(&self, addr: usize) -> Option<usize> {
        let (start, end) = (
            self.base as usize,
            self.base as usize + self.pages_total * PAGE_BYTES,
        );
        (!self.base.is_null() && (start..end).contains(&addr)).then_some(end)
    }

    fn page_of(&self, block: *mut u8) -> usize {
        let offset = (block as usize).wrapping_sub(self.base as usize);
        debug_assert!(
            offset < self.pages_total * PAGE_BYTES,
            "block {block:p} outside the pool"
        );
        offset / PAGE_BYTES
    }

    /// Takes a block of class `idx`, or None when no page is left.
    pub(crate) fn alloc_small(&mut self, idx: usize) -> Option<NonNull<u8>> {
        let size = CLASS_SIZES[idx];
        let class = &mut self.classes[idx];
        if !class.free_head.is_null() {
            let block = class.free_head;
            // SAFETY: a free block's first word holds the next free block (written by `free_small`; the
            // 60-byte class's blocks are only 4-aligned).
            class.free_head = unsafe { block.cast::<*mut u8>().read_unaligned() };
            class.free_blocks -= 1;
            class.live_blocks += 1;
            return NonNull::new(block);
        }
        if class.carve == class.carve_end {
            let page = self.alloc_pages(1)?;
            self.page_meta[page] = idx as u32;
            let start = self.page_ptr(page);
            let class = &mut self.classes[idx];
            class.carve = start;
            // SAFETY: within the page.
            class.carve_end = unsafe { start.add(PAGE_BYTES / size * size) };
            class.pages += 1;
        }
        let class = &mut self.classes[idx];
        let block = class.carve;
        // SAFETY: carve < carve_end, both in the same slab page.
        class.carve = unsafe { block.add(size) };
        class.live_blocks += 1;
        NonNull::new(block)
    }

    /// Returns a block of class `idx`.
    ///
    /// # Safety
    /// `block` came from `alloc_small(idx)` and is not used again.
    pub(crate) unsafe fn free_small(&mut self, block: *mut u8, idx: usize) {
        let page = self.page_of(block);
        debug_assert_eq!(
            self.page_meta[page], idx as u32,
            "block {block:p} freed with the wrong class"
        );
        debug_assert_eq!(
            (block as usize - self.page_ptr(page) as usize) % CLASS_SIZES[idx],
            0
        );
        let class = &mut self.classes[idx];
        debug_assert!(class.live_blocks > 0);
        // SAFETY: the block is ours and at least 8 bytes (4-aligned for the 60-byte class).
        unsafe { block.cast::<*mut u8>().write_unaligned(class.free_head) };
        class.free_head = block;
        class.free_blocks += 1;
        class.live_blocks -= 1;
    }

    /// Takes a run of `pages` pages (best fit among free runs, else fresh space), or None.
    pub(crate) fn alloc_run(&mut self, pages: usize) -> Option<NonNull<u8>> {
        let start = self.alloc_pages(pages)?;
        self.page_meta[start] = META_RUN | pages as u32;
        self.run_pages += pages;
        self.runs += 1;
        NonNull::new(self.page_ptr(start))
    }

    /// Returns a run.
    ///
    /// # Safety
    /// `run` came from `alloc_run(pages)` (or was resized to `pages` by `resize_run`) and is not used again.
    pub(crate) unsafe fn free_run(&mut self, run: *mut u8, pages: usize) {
        let start = self.page_of(run);
        debug_assert_eq!(
            self.page_meta[start],
            META_RUN | pages as u32,
            "run {run:p} freed with the wrong size"
        );
        self.page_meta[start] = META_NONE;
        self.run_pages -= pages;
        self.runs -= 1;
        self.free_pages(start, pages);
    }

    /// Resizes a run in place to `new_pages`: shrinking frees the tail; growing takes the following free
    /// run or fresh space. Returns false (nothing changed) when growing is not possible in place.
    ///
    /// # Safety
    /// `run` is a live run of `old_pages` pages.
    pub(crate) unsafe fn resize_run(
        &mut self,
        run: *mut u8,
        old_pages: usize,
        new_pages: usize,
    ) -> bool {
        let start = self.page_of(run);
        debug_assert_eq!(self.page_meta[start], META_RUN | old_pages as u32);
        debug_assert!(new_pages > 0);
        if new_pages < old_pages {
            self.free_pages(start + new_pages, old_pages - new_pages);
        } else if new_pages > old_pages {
            let end = start + old_pages;
            let extra = new_pages - old_pages;
            if end == self.bump_pages {
                if self.pages_total - self.bump_pages < extra
                    || !self.bump_to(self.bump_pages + extra)
                {
                    return false;
                }
            } else {
                let Some(&free) = self.free_by_start.get(&end) else {
                    return false;
                };
                if free < extra {
                    return false;
                }
                self.take_free(end, free);
                if free > extra {
                    self.put_free(end + extra, free - extra);
                }
                self.free_run_pages -= extra;
            }
        }
        self.page_meta[start] = META_RUN | new_pages as u32;
        self.run_pages = self.run_pages + new_pages - old_pages;
        true
    }

    fn take_free(&mut self, start: usize, len: usize) {
        self.free_by_start.remove(&start);
        self.free_by_len.remove(&(len, start));
    }

    fn put_free(&mut self, start: usize, len: usize) {
        self.free_by_start.insert(start, len);
        self.free_by_len.insert((len, start));
    }

    /// Moves the bump pointer up, growing `page_meta` with it. False if the metadata cannot grow.
    fn bump_to(&mut self, bump_pages: usize) -> bool {
        if self.page_meta.len() < bump_pages {
            if self
                .page_meta
                .try_reserve(bump_pages - self.page_meta.len())
                .is_err()
            {
                return false;
            }
            self.page_meta.resize(bump_pages, META_NONE);
        }
        self.bump_pages = bump_pages;
        self.touched_pages = self.touched_pages.max(bump_pages);
        true
    }

    fn alloc_pages(&mut self, pages: usize) -> Option<usize> {
        if let Some(&(len, start)) = self.free_by_len.range((pages, 0)..).next() {
            self.take_free(start, len);
            if len > pages {
                self.put_free(start + pages, len - pages);
            }
            self.free_run_pages -= pages;
            return Some(start);
        }
        if self.pages_total - self.bump_pages < pages {
            return None;
        }
        let start = self.bump_pages;
        self.bump_to(start + pages).then_some(start)
    }

    fn free_pages(&mut self, start: usize, pages: usize) {
        if pages >= MADVISE_RUN_PAGES_MIN {
            // SAFETY: the pages are ours and hold nothing live; DONTNEED on a private anonymous mapping
            // just makes them read back as zeroes.
            unsafe {
                libc::madvise(
                    self.page_ptr(start).cast(),
                    pages * PAGE_BYTES,
                    libc::MADV_DONTNEED,
                )
            };
        }
        self.free_run_pages += pages;
        let (mut start, mut len) = (start, pages);
        if let Some((&before, &before_len)) = self.free_by_start.range(..start).next_back() {
            debug_assert!(
                before + before_len <= start,
                "freed pages overlap a free run"
            );
            if before + before_len == start {
                self.take_free(before, before_len);
                start = before;
                len += before_len;
            }
        }
        if let Some(&after_len) = self.free_by_start.get(&(start + len)) {
            self.take_free(start + len, after_len);
            len += after_len;
        }
        if start + len == self.bump_pages {
            // Back to untouched-looking space: keeps the free-run sets small.
            self.bump_pages = start;
            self.free_run_pages -= len;
        } else {
            self.put_free(start, len);
        }
    }

    /// Forgets every block and run, hands touched pages back to the kernel.
    pub(crate) fn reset(&mut self) {
        if self.touched_pages > 0 {
            // SAFETY: the caller guarantees nothing allocated before is used again.
            unsafe {
                libc::madvise(
                    self.base.cast(),
                    self.touched_pages * PAGE_BYTES,
                    libc::MADV_DONTNEED,
                )
            };
        }
        self.classes = [Class::EMPTY; CLASS_COUNT];
        self.free_by_start.clear();
        self.free_by_len.clear();
        self.page_meta.clear();
        self.free_run_pages = 0;
        self.bump_pages = 0;
        self.touched_pages = 0;
        self.run_pages = 0;
        self.runs = 0;
        self.used_bytes = 0;
        self.requested_bytes = 0;
        self.allocations = 0;
        self.resets += 1;
    }
}
