//! [`HeapAlloc`]: the global-allocator baseline.

use std::fmt::Write as _;

use allocator_api2::alloc::Global;

use crate::{ArenaStats, RequestAlloc};

/// Request scratch memory straight from the global allocator: every container frees its own memory.
///
/// ```
/// use allocator_api2::vec::Vec;
/// use zedis_arena::{HeapAlloc, RequestAlloc};
///
/// let mut heap = HeapAlloc::new();
/// let argv: Vec<&[u8], _> = Vec::new_in(heap.allocator());
/// drop(argv);
/// heap.reset();
/// assert_eq!(heap.stats().resets, 1);
/// ```
#[derive(Debug, Default)]
pub struct HeapAlloc {
    resets: u64,
}

impl HeapAlloc {
    /// A heap strategy.
    pub fn new() -> Self {
        HeapAlloc::default()
    }
}

impl RequestAlloc for HeapAlloc {
    type Alloc<'a> = Global;
    const NAME: &'static str = "heap";

    fn allocator(&self) -> Global {
        Global
    }

    fn reset(&mut self) {
        self.resets += 1;
    }

    fn stats(&self) -> ArenaStats {
        ArenaStats {
            resets: self.resets,
            ..ArenaStats::default()
        }
    }

    fn write_info(&self, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "request_allocator:heap\r\nrequest_heap_resets:{}\r\n",
            self.resets
        );
    }
}
