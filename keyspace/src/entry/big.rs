//! `BigStr` payloads: the out-of-line buffer (`len u64 | capacity u64 | bytes`) of a string that grows in
//! place (SETBIT, BITFIELD), and the entry methods that read and grow it.

use super::{EntryPtr, Kind};
use allocator_api2::alloc::{AllocError, Allocator};
use std::alloc::Layout;
use std::ptr::{self, NonNull};

/// Alignment of a `BigStr`'s out-of-line buffer.
const BIG_ALIGN: usize = 8;

/// Header bytes of an out-of-line string buffer (length and capacity).
pub(super) const BIG_HEADER_BYTES: usize = 16;

fn big_layout(capacity: usize) -> Result<Layout, AllocError> {
    let size = BIG_HEADER_BYTES.checked_add(capacity).ok_or(AllocError)?;
    Layout::from_size_align(size, BIG_ALIGN).map_err(|_| AllocError)
}

/// Allocates an out-of-line buffer for `capacity` bytes holding `len` (unwritten) bytes.
pub(super) fn big_alloc<A: Allocator>(
    alloc: &A,
    len: usize,
    capacity: usize,
) -> Result<*mut u8, AllocError> {
    debug_assert!(len <= capacity);
    let buf = alloc.allocate(big_layout(capacity)?)?.cast::<u8>().as_ptr();
    // SAFETY: fresh allocation of at least 16 bytes.
    unsafe {
        ptr::write_unaligned(buf.cast::<u64>(), len as u64);
        ptr::write_unaligned(buf.add(8).cast::<u64>(), capacity as u64);
    }
    Ok(buf)
}

/// (len, capacity) of an out-of-line buffer.
///
/// # Safety
/// `buf` must be a live buffer from [`big_alloc`].
pub(super) unsafe fn big_header(buf: *mut u8) -> (usize, usize) {
    (
        ptr::read_unaligned(buf.cast::<u64>()) as usize,
        ptr::read_unaligned(buf.add(8).cast::<u64>()) as usize,
    )
}

/// Frees an out-of-line buffer.
///
/// # Safety
/// `buf` must come from [`big_alloc`] on `alloc` with this capacity, and not be used afterwards.
pub(super) unsafe fn big_free<A: Allocator>(alloc: &A, buf: *mut u8, capacity: usize) {
    if let (Some(nn), Ok(layout)) = (NonNull::new(buf), big_layout(capacity)) {
        alloc.deallocate(nn, layout);
    }
}

impl EntryPtr {
    /// The out-of-line buffer of a `BigStr` entry.
    pub(super) fn big_buffer(self) -> Option<*mut u8> {
        if self.kind() != Kind::BigStr {
            return None;
        }
        let at = self.payload_offset();
        // SAFETY: a BigStr payload is the buffer pointer.
        Some(unsafe { ptr::read_unaligned(self.base().add(at).cast::<*mut u8>()) })
    }

    /// Bytes held outside the entry allocation (a `BigStr` buffer), for MEMORY USAGE.
    pub fn out_of_line_bytes(self) -> usize {
        // SAFETY: a live buffer.
        self.big_buffer()
            .map_or(0, |buf| BIG_HEADER_BYTES + unsafe { big_header(buf) }.1)
    }

    /// Grows a `BigStr` to `len` bytes (zero-filled), reallocating only its buffer when its capacity is
    /// short, to `capacity` bytes. Returns `Ok(false)` for other kinds or a `len` below the current one.
    pub fn grow_big_str<A: Allocator>(
        self,
        alloc: A,
        len: usize,
        capacity: usize,
    ) -> Result<bool, AllocError> {
        let Some(buf) = self.big_buffer() else {
            return Ok(false);
        };
        // SAFETY: a live buffer from `alloc`; all writes stay within its capacity.
        unsafe {
            let (old_len, old_capacity) = big_header(buf);
            if len < old_len {
                return Ok(false);
            }
            let target = if len <= old_capacity {
                buf
            } else {
                let fresh = big_alloc(&alloc, len, capacity.max(len))?;
                ptr::copy_nonoverlapping(
                    buf.add(BIG_HEADER_BYTES),
                    fresh.add(BIG_HEADER_BYTES),
                    old_len,
                );
                big_free(&alloc, buf, old_capacity);
                let at = self.payload_offset();
                ptr::write_unaligned(self.base().add(at).cast::<*mut u8>(), fresh);
                fresh
            };
            ptr::write_bytes(target.add(BIG_HEADER_BYTES + old_len), 0, len - old_len);
            ptr::write_unaligned(target.cast::<u64>(), len as u64);
        }
        Ok(true)
    }
}
