//! [`Buckets`]: one bucket array of the key index, each bucket the address of its chain's first entry (0 for an
//! empty bucket) in 6 bytes (a 48-bit address), or in 5 when the array lives in a KV pool region that ends
//! below [`zedis_kv_pool::LOW_ADDR_LIMIT`] (2^42, where the pool places its regions): the entries the array
//! links come from the same region, are 4-aligned, and so their address divided by 4 fits 40 bits. That makes
//! the index 5 bytes per bucket instead of 6 (8 for a plain pointer). Entries are allocated below
//! `1 << ADDR_BITS` ([`crate::entry::ADDR_BITS`]), which [`crate::entry::EntryPtr::new`] enforces.

use crate::entry::{read_addr48, write_addr48, EntryPtr, ADDR_BITS};
use allocator_api2::alloc::{AllocError, Allocator};
use allocator_api2::vec::Vec;

/// Bytes per bucket of a wide array.
pub(super) const BUCKET_BYTES: usize = 6;
/// Bytes per bucket of a narrow array (an address below 2^42, divided by 4).
pub(super) const NARROW_BUCKET_BYTES: usize = 5;

const _: () = assert!(ADDR_BITS as usize <= BUCKET_BYTES * 8);

/// A growable array of buckets (see the module docs).
pub(super) struct Buckets<A: Allocator + Copy> {
    /// `len() * width` bytes, little-endian addresses.
    bytes: Vec<u8, A>,
    /// [`BUCKET_BYTES`] or [`NARROW_BUCKET_BYTES`], fixed when the array is allocated.
    width: usize,
}

/// Whether an array allocated at `addr` may hold 5-byte buckets: it lies in this thread's KV pool region,
/// which ends below 2^42 (so do the entries allocated from it while the array lives, see
/// [`zedis_kv_pool::PoolAlloc::region_end`]).
fn narrow_at(addr: usize) -> bool {
    zedis_kv_pool::PoolAlloc::region_end(addr)
        .is_some_and(|end| end <= zedis_kv_pool::LOW_ADDR_LIMIT)
}

impl<A: Allocator + Copy> Buckets<A> {
    /// No buckets; allocates nothing.
    pub(super) fn new_in(alloc: A) -> Self {
        Buckets {
            bytes: Vec::new_in(alloc),
            width: BUCKET_BYTES,
        }
    }

    /// No buckets yet, room for `buckets` (allocated and charged now).
    /// The width is chosen from where the array lands: narrow inside a low pool region (tried first, at the
    /// narrow size; an array that lands elsewhere is reallocated wide).
    pub(super) fn with_capacity_in(alloc: A, buckets: usize) -> Result<Self, AllocError> {
        let mut bytes = Vec::new_in(alloc);
        let narrow = buckets.checked_mul(NARROW_BUCKET_BYTES).ok_or(AllocError)?;
        bytes.try_reserve_exact(narrow).map_err(|_| AllocError)?;
        if narrow_at(bytes.as_ptr() as usize) {
            return Ok(Buckets {
                bytes,
                width: NARROW_BUCKET_BYTES,
            });
        }
        drop(bytes);
        let mut bytes = Vec::new_in(alloc);
        let total = buckets.checked_mul(BUCKET_BYTES).ok_or(AllocError)?;
        bytes.try_reserve_exact(total).map_err(|_| AllocError)?;
        Ok(Buckets {
            bytes,
            width: BUCKET_BYTES,
        })
    }

    /// Bytes per bucket: 5 or 6.
    #[cfg(test)]
    pub(super) fn width(&self) -> usize {
        self.width
    }

    pub(super) fn allocator(&self) -> A {
        *self.bytes.allocator()
    }

    /// Buckets in the array.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.bytes.len() / self.width
    }

    /// Bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.bytes.capacity()
    }

    /// Appends empty buckets up to `buckets` (within the capacity reserved).
    pub(super) fn fill_to(&mut self, buckets: usize) {
        let (old, new) = (self.bytes.len(), buckets * self.width);
        if new <= old {
            return;
        }
        // One memset (`Vec::resize` of bytes wrote them one at a time: +15% on inserts into a young table).
        self.bytes.reserve(new - old);
        // SAFETY: capacity for `new` bytes was reserved; the bytes are written before the length covers them.
        unsafe {
            std::ptr::write_bytes(self.bytes.as_mut_ptr().add(old), 0, new - old);
            self.bytes.set_len(new);
        }
    }

    /// The first entry of bucket `idx`.
    #[inline]
    pub(super) fn get(&self, idx: usize) -> Option<EntryPtr> {
        let at = idx * self.width;
        let bucket = &self.bytes[at..at + self.width];
        if self.width == NARROW_BUCKET_BYTES {
            let mut raw = [0u8; 8];
            raw[..NARROW_BUCKET_BYTES].copy_from_slice(bucket);
            // SAFETY: every non-zero bucket holds the address / 4 of a linked (so allocated) entry.
            return unsafe { EntryPtr::from_exposed((u64::from_le_bytes(raw) << 2) as usize) };
        }
        // SAFETY: 6 bytes in bounds; every non-zero bucket holds the address of a linked (so allocated) entry.
        unsafe { read_addr48(bucket.as_ptr()) }
    }

    /// Asks the CPU for the cache line(s) of bucket `idx` (a hint: no read, no effect beyond the cache). A
    /// bucket may straddle two lines; the line of its last byte is asked for too.
    #[inline]
    pub(super) fn prefetch(&self, idx: usize) {
        let at = idx * self.width;
        if at + self.width > self.bytes.len() {
            return;
        }
        let base = self.bytes.as_ptr().wrapping_add(at);
        crate::entry::prefetch_addr(base);
        crate::entry::prefetch_addr(base.wrapping_add(self.width - 1));
    }

    /// Sets the first entry of bucket `idx`.
    #[inline]
    pub(super) fn set(&mut self, idx: usize, head: Option<EntryPtr>) {
        let at = idx * self.width;
        let bucket = &mut self.bytes[at..at + self.width];
        if self.width == NARROW_BUCKET_BYTES {
            let addr = head.map_or(0, EntryPtr::expose) as u64;
            // The array's region holds the entry (see `narrow_at`); checked, as a wrong address would be
            // silently truncated.
            assert!(
                addr & 3 == 0 && addr < zedis_kv_pool::LOW_ADDR_LIMIT as u64,
                "entry {addr:#x} outside the low pool region of a 5-byte bucket array"
            );
            bucket.copy_from_slice(&(addr >> 2).to_le_bytes()[..NARROW_BUCKET_BYTES]);
            return;
        }
        // SAFETY: 6 bytes in bounds.
        unsafe { write_addr48(bucket.as_mut_ptr(), head) }
    }

    /// Empties bucket `idx`, returning its first entry.
    #[inline]
    pub(super) fn take(&mut self, idx: usize) -> Option<EntryPtr> {
        let head = self.get(idx);
        if head.is_some() {
            self.set(idx, None);
        }
        head
    }

    /// Every bucket's first entry, in order.
    pub(super) fn iter(&self) -> impl Iterator<Item = Option<EntryPtr>> + '_ {
        (0..self.len()).map(|idx| self.get(idx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::PayloadInit;
    use allocator_api2::alloc::Global;
    use zedis_kv_pool::PoolAlloc;

    /// Addresses round-trip through the buckets of `width` bytes; empty buckets read as `None`.
    fn round_trip<A: Allocator + Copy>(alloc: A, width: usize) {
        let entries: std::vec::Vec<EntryPtr> = (0..64u32)
            .map(|n| EntryPtr::new(alloc, &n.to_le_bytes(), None, PayloadInit::Int(0), 0).unwrap())
            .collect();
        let mut buckets = Buckets::with_capacity_in(alloc, 100).unwrap();
        assert_eq!(buckets.width(), width);
        buckets.fill_to(100);
        assert!(buckets.iter().all(|b| b.is_none()));
        for (i, e) in entries.iter().enumerate() {
            buckets.set(i * 3 % 100, Some(*e));
        }
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(buckets.get(i * 3 % 100), Some(*e));
            assert_eq!(buckets.get(i * 3 % 100).unwrap().key(), e.key());
        }
        assert_eq!(buckets.take(0), Some(entries[0]));
        assert_eq!(buckets.get(0), None);
        assert_eq!(buckets.iter().flatten().count(), 63);
        assert_eq!(buckets.len(), 100);
        assert!(buckets.bytes() >= 100 * width);
        for e in entries {
            // SAFETY: allocated above from `alloc`, linked nowhere.
            unsafe { e.free(alloc) };
        }
    }

    #[test]
    fn heap_arrays_hold_6_byte_addresses() {
        round_trip(Global, BUCKET_BYTES);
    }

    #[test]
    fn low_pool_arrays_hold_5_byte_addresses() {
        zedis_budget::install(zedis_budget::Budget::leak(0));
        PoolAlloc::install(1 << 30).unwrap();
        round_trip(PoolAlloc, NARROW_BUCKET_BYTES);
    }
}
