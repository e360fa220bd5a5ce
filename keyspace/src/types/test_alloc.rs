//! Test allocator: counts live bytes and can fail every Nth allocation (thread-local state, so
//! parallel tests do not interfere).

use allocator_api2::alloc::{AllocError, Allocator, Global};
use core::alloc::Layout;
use core::ptr::NonNull;
use std::cell::Cell;

thread_local! {
    static LIVE_BYTES: Cell<isize> = const { Cell::new(0) };
    static FAIL_EVERY: Cell<usize> = const { Cell::new(0) };
    static CALLS: Cell<usize> = const { Cell::new(0) };
}

/// A zero-sized allocator over `Global` that counts live bytes and fails on demand.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TestAlloc;

/// Fail every `n`th allocation from now on (0 = never).
pub(crate) fn fail_every(n: usize) {
    FAIL_EVERY.with(|c| c.set(n));
    CALLS.with(|c| c.set(0));
}

/// Bytes currently allocated through [`TestAlloc`] on this thread.
pub(crate) fn live_bytes() -> isize {
    LIVE_BYTES.with(|c| c.get())
}

// SAFETY: every block comes from `Global` with the same layout it is returned with; the
// bookkeeping does not touch the memory. `grow`/`shrink` use the trait's default
// allocate-copy-deallocate implementations, which go through these two methods.
unsafe impl Allocator for TestAlloc {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let n = FAIL_EVERY.with(|c| c.get());
        let calls = CALLS.with(|c| {
            c.set(c.get() + 1);
            c.get()
        });
        if n != 0 && calls % n == 0 {
            return Err(AllocError);
        }
        let block = Global.allocate(layout)?;
        LIVE_BYTES.with(|c| c.set(c.get() + layout.size() as isize));
        Ok(block)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        LIVE_BYTES.with(|c| c.set(c.get() - layout.size() as isize));
        // SAFETY: `ptr` was allocated by `Global` with `layout` (see `allocate`).
        unsafe { Global.deallocate(ptr, layout) }
    }
}

/// A deterministic xorshift for tests.
pub(crate) fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}
