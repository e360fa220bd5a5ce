//! [`Buckets`]: one bucket array of the key index, each bucket the 48-bit address of its chain's first entry
//! in 6 bytes (0 for an empty bucket), so the index costs 6 bytes per bucket instead of 8. Entries are
//! allocated below `1 << ADDR_BITS` ([`crate::entry::ADDR_BITS`]), which [`crate::entry::EntryPtr::new`]
//! enforces.

use crate::entry::{read_addr48, write_addr48, EntryPtr, ADDR_BITS};
use allocator_api2::alloc::{AllocError, Allocator};
use allocator_api2::vec::Vec;

/// Bytes per bucket.
pub(super) const BUCKET_BYTES: usize = 6;

const _: () = assert!(ADDR_BITS as usize <= BUCKET_BYTES * 8);

/// A growable array of buckets (see the module docs).
pub(super) struct Buckets<A: Allocator + Copy> {
    /// `len() * BUCKET_BYTES` bytes, little-endian addresses.
    bytes: Vec<u8, A>,
}

impl<A: Allocator + Copy> Buckets<A> {
    /// No buckets; allocates nothing.
    pub(super) fn new_in(alloc: A) -> Self {
        Buckets {
            bytes: Vec::new_in(alloc),
        }
    }

    /// No buckets yet, room for `buckets` (allocated and charged now).
    pub(super) fn with_capacity_in(alloc: A, buckets: usize) -> Result<Self, AllocError> {
        let mut bytes = Vec::new_in(alloc);
        let total = buckets.checked_mul(BUCKET_BYTES).ok_or(AllocError)?;
        bytes.try_reserve_exact(total).map_err(|_| AllocError)?;
        Ok(Buckets { bytes })
    }

    pub(super) fn allocator(&self) -> A {
        *self.bytes.allocator()
    }

    /// Buckets in the array.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.bytes.len() / BUCKET_BYTES
    }

    /// Bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.bytes.capacity()
    }

    /// Appends empty buckets up to `buckets` (within the capacity reserved).
    pub(super) fn fill_to(&mut self, buckets: usize) {
        let (old, new) = (self.bytes.len(), buckets * BUCKET_BYTES);
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
        let at = idx * BUCKET_BYTES;
        let bucket = &self.bytes[at..at + BUCKET_BYTES];
        // SAFETY: 6 bytes in bounds; every non-zero bucket holds the address of a linked (so allocated) entry.
        unsafe { read_addr48(bucket.as_ptr()) }
    }

    /// Sets the first entry of bucket `idx`.
    #[inline]
    pub(super) fn set(&mut self, idx: usize, head: Option<EntryPtr>) {
        let at = idx * BUCKET_BYTES;
        let bucket = &mut self.bytes[at..at + BUCKET_BYTES];
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

    /// Addresses round-trip through the 6-byte buckets; empty buckets read as `None`.
    #[test]
    fn buckets_hold_entry_addresses() {
        let entries: std::vec::Vec<EntryPtr> = (0..64u32)
            .map(|n| EntryPtr::new(Global, &n.to_le_bytes(), None, PayloadInit::Int(0), 0).unwrap())
            .collect();
        let mut buckets = Buckets::with_capacity_in(Global, 100).unwrap();
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
        assert_eq!(buckets.bytes(), 600);
        for e in entries {
            // SAFETY: allocated above from Global, linked nowhere.
            unsafe { e.free(Global) };
        }
    }
}
