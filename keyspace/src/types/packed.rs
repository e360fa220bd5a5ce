//! Byte strings stored inline in a hash-table slot when short, on the heap otherwise, and the
//! hash table of them ([`Table`], in `table.rs`) shared by [`super::Set`], [`super::Hash`] and
//! [`super::ZSet`].

use super::AllocError;
use allocator_api2::alloc::Allocator;
use allocator_api2::boxed::Box;
use allocator_api2::vec::Vec;

#[path = "table.rs"]
mod table;
pub(crate) use table::{Table, TableIter};

/// Bytes inline up to `N` (slot size `N + 2` rounded to 8), else a boxed slice.
pub(crate) enum Packed<A: Allocator, const N: usize> {
    /// `len <= N`; `buf[..len]` is the content.
    Inline { len: u8, buf: [u8; N] },
    /// Content longer than `N`.
    Heap(Box<[u8], A>),
}

impl<A: Allocator + Copy, const N: usize> Packed<A, N> {
    /// The concatenation of `parts`, allocating only when longer than `N`.
    pub(crate) fn try_new(parts: &[&[u8]], alloc: A) -> Result<Self, AllocError> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if total <= N {
            let mut buf = [0u8; N];
            let mut at = 0;
            for part in parts {
                buf[at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
            return Ok(Packed::Inline {
                len: total as u8,
                buf,
            });
        }
        let mut heap = Vec::new_in(alloc);
        heap.try_reserve_exact(total).map_err(|_| AllocError)?;
        for part in parts {
            heap.extend_from_slice(part);
        }
        // `try_reserve_exact` on an empty Vec allocates exactly `total`, so this does not realloc.
        debug_assert_eq!(heap.capacity(), heap.len());
        Ok(Packed::Heap(heap.into_boxed_slice()))
    }
}

impl<A: Allocator, const N: usize> Packed<A, N> {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Packed::Inline { len, buf } => &buf[..usize::from(*len)],
            Packed::Heap(bytes) => bytes,
        }
    }

    /// The content for in-place edits that keep its length (and its key).
    #[cfg(test)]
    pub(crate) fn as_bytes_mut(&mut self) -> &mut [u8] {
        match self {
            Packed::Inline { len, buf } => &mut buf[..usize::from(*len)],
            Packed::Heap(bytes) => bytes,
        }
    }

    /// Heap bytes held outside the slot.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Packed::Inline { .. } => 0,
            Packed::Heap(bytes) => bytes.len(),
        }
    }
}

/// How a table finds an entry's key inside its packed bytes.
pub(crate) trait KeyOf {
    fn key(entry: &[u8]) -> &[u8];
}

#[cfg(test)]
mod tests {
    use super::*;
    use allocator_api2::alloc::Global;

    #[test]
    fn slot_sizes() {
        assert_eq!(core::mem::size_of::<Packed<Global, 22>>(), 24);
        assert_eq!(core::mem::size_of::<Packed<Global, 30>>(), 32);
    }
}
