//! `CountingAlloc`: a global allocator that counts every heap byte (feature `counting`).
//!
//! The budget covers what strategies reserve on behalf of clients; this measures what the process really
//! holds, so tests and the bench harness can compare the two. It wraps [`std::alloc::System`] and keeps
//! three relaxed atomic counters: cheap enough to leave on in benchmarks, exact once threads are quiet.
//!
//! ```
//! use zedis_budget::counting::CountingAlloc;
//!
//! #[global_allocator]
//! static A: CountingAlloc = CountingAlloc;
//!
//! let before = CountingAlloc::allocated_bytes();
//! let v = vec![0u8; 1000];
//! assert!(CountingAlloc::allocated_bytes() >= before + 1000);
//! assert!(CountingAlloc::peak_bytes() >= CountingAlloc::allocated_bytes());
//! drop(v);
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Bytes currently allocated (sum of live layout sizes).
static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
/// Highest `ALLOCATED` seen. Invariant: `PEAK >= ALLOCATED` once updates settle.
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Allocation calls (including reallocations) since start.
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counted. Install with `#[global_allocator]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

impl CountingAlloc {
    /// Bytes currently allocated through the global allocator (layout sizes, not malloc chunk sizes).
    pub fn allocated_bytes() -> usize {
        ALLOCATED.load(Relaxed)
    }

    /// Highest [`allocated_bytes`](CountingAlloc::allocated_bytes) seen since start or the last
    /// [`reset_peak`](CountingAlloc::reset_peak).
    pub fn peak_bytes() -> usize {
        PEAK.load(Relaxed)
    }

    /// Allocation calls (`alloc`, `alloc_zeroed`, `realloc`) since start.
    pub fn allocations() -> usize {
        ALLOCATIONS.load(Relaxed)
    }

    /// Makes the peak the current figure.
    pub fn reset_peak() {
        PEAK.store(ALLOCATED.load(Relaxed), Relaxed);
    }

    fn added(bytes: usize) {
        let now = ALLOCATED.fetch_add(bytes, Relaxed) + bytes;
        PEAK.fetch_max(now, Relaxed);
    }

    fn removed(bytes: usize) {
        ALLOCATED.fetch_sub(bytes, Relaxed);
    }
}

// SAFETY: every call is forwarded to `System` unchanged; only counters are updated.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            ALLOCATIONS.fetch_add(1, Relaxed);
            Self::added(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            ALLOCATIONS.fetch_add(1, Relaxed);
            Self::added(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) };
        Self::removed(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            ALLOCATIONS.fetch_add(1, Relaxed);
            if new_size >= layout.size() {
                Self::added(new_size - layout.size());
            } else {
                Self::removed(layout.size() - new_size);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[global_allocator]
    static A: CountingAlloc = CountingAlloc;

    #[test]
    fn counts_allocations_reallocations_and_frees() {
        // Other test threads allocate too: compare with slack, not exact figures.
        let calls = CountingAlloc::allocations();
        let mut v: Vec<u8> = Vec::with_capacity(1 << 20);
        assert!(CountingAlloc::allocated_bytes() >= 1 << 20);
        assert!(CountingAlloc::peak_bytes() >= 1 << 20);
        v.reserve_exact(2 << 20);
        assert!(CountingAlloc::allocated_bytes() >= 2 << 20);
        assert!(CountingAlloc::allocations() >= calls + 2);
        let held = CountingAlloc::allocated_bytes();
        drop(v);
        assert!(CountingAlloc::peak_bytes() >= held);
        // A drop shows as a fall of its size unless another test thread allocated at that instant: look for
        // the fall in any of a few tries (one try failed on a loaded machine).
        let fell = (0..20).any(|_| {
            let v: Vec<u8> = Vec::with_capacity(3 << 20);
            let held = CountingAlloc::allocated_bytes();
            drop(v);
            CountingAlloc::allocated_bytes() <= held - (2 << 20)
        });
        assert!(
            fell,
            "no drop of 3 MB lowered the count by 2 MB in 20 tries"
        );
        let zeroed = vec![0u64; 1000];
        assert!(zeroed.iter().all(|&x| x == 0));
    }
}
