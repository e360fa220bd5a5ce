//! A vector stored in fixed 4 KiB chunks: growing it never needs a large contiguous allocation (and never
//! copies its elements), so under a tight memory budget a push needs at most one small chunk, not a doubling
//! of the whole array. Used for each database's vector of keys with a TTL.

use crate::entry::EntryPtr;
use allocator_api2::alloc::{AllocError, Allocator};
use allocator_api2::vec::Vec;

/// Elements per chunk (4 KiB of pointers).
const CHUNK_LEN: usize = 512;

/// A `Vec<EntryPtr>` in chunks allocated from `A`.
pub struct ChunkedVec<A: Allocator + Copy> {
    /// Invariant: every chunk but the last two is full; the last chunk is empty only as the one spare kept
    /// after removals.
    chunks: Vec<Vec<EntryPtr, A>, A>,
    len: usize,
}

impl<A: Allocator + Copy> ChunkedVec<A> {
    /// An empty vector.
    pub fn new_in(alloc: A) -> Self {
        ChunkedVec {
            chunks: Vec::new_in(alloc),
            len: 0,
        }
    }

    fn alloc(&self) -> A {
        *self.chunks.allocator()
    }

    /// Elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Vec<EntryPtr, A>>()
            + self
                .chunks
                .iter()
                .map(|c| c.capacity() * std::mem::size_of::<EntryPtr>())
                .sum::<usize>()
    }

    /// Makes room for one more element; afterwards `push` cannot fail.
    pub fn try_reserve_one(&mut self) -> Result<(), AllocError> {
        if self.len < self.chunks.len() * CHUNK_LEN {
            return Ok(());
        }
        self.chunks.try_reserve(1).map_err(|_| AllocError)?;
        let mut chunk = Vec::new_in(self.alloc());
        chunk.try_reserve_exact(CHUNK_LEN).map_err(|_| AllocError)?;
        self.chunks.push(chunk);
        Ok(())
    }

    /// Appends (after [`ChunkedVec::try_reserve_one`]).
    pub fn push(&mut self, value: EntryPtr) {
        let chunk = self.len / CHUNK_LEN;
        debug_assert!(chunk < self.chunks.len(), "push without try_reserve_one");
        self.chunks[chunk].push(value);
        self.len += 1;
    }

    /// The element at `idx`.
    pub fn get(&self, idx: usize) -> Option<EntryPtr> {
        if idx >= self.len {
            return None;
        }
        Some(self.chunks[idx / CHUNK_LEN][idx % CHUNK_LEN])
    }

    /// Replaces the element at `idx` (< len).
    pub fn set(&mut self, idx: usize, value: EntryPtr) {
        self.chunks[idx / CHUNK_LEN][idx % CHUNK_LEN] = value;
    }

    /// Removes the element at `idx` (< len), moving the last one into its place; returns the moved one.
    pub fn swap_remove(&mut self, idx: usize) -> Option<EntryPtr> {
        let last_idx = self.len - 1;
        let last = self.chunks[last_idx / CHUNK_LEN].pop()?;
        self.len -= 1;
        // Keep at most one empty spare chunk.
        while self.chunks.len() > self.len / CHUNK_LEN + 2
            || (self.chunks.len() >= 2 && self.chunks[self.chunks.len() - 2].is_empty())
        {
            self.chunks.pop();
        }
        if idx == last_idx {
            return None;
        }
        self.set(idx, last);
        Some(last)
    }

    /// Forgets every chunk without freeing (the KV strategy reset all its memory).
    pub fn forget(&mut self) {
        let alloc = self.alloc();
        std::mem::forget(std::mem::replace(&mut self.chunks, Vec::new_in(alloc)));
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::PayloadInit;
    use allocator_api2::alloc::Global;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn behaves_like_a_vec(ops in proptest::collection::vec(any::<(bool, u16)>(), 0..3000)) {
            let entry = EntryPtr::new(Global, b"k", None, PayloadInit::Int(0), 0).unwrap();
            let other = EntryPtr::new(Global, b"o", None, PayloadInit::Int(0), 0).unwrap();
            let mut chunked = ChunkedVec::new_in(Global);
            let mut model: std::vec::Vec<EntryPtr> = std::vec::Vec::new();
            for (push, n) in ops {
                if push || model.is_empty() {
                    let value = if n % 2 == 0 { entry } else { other };
                    chunked.try_reserve_one().unwrap();
                    chunked.push(value);
                    model.push(value);
                } else {
                    let idx = n as usize % model.len();
                    let moved = chunked.swap_remove(idx);
                    let last = model.len() - 1;
                    model.swap_remove(idx);
                    prop_assert_eq!(moved, if idx == last { None } else { Some(model[idx]) });
                }
                prop_assert_eq!(chunked.len(), model.len());
            }
            for (i, v) in model.iter().enumerate() {
                prop_assert_eq!(chunked.get(i), Some(*v));
            }
            prop_assert!(chunked.chunks.len() <= model.len() / CHUNK_LEN + 2);
            unsafe {
                entry.free(Global);
                other.free(Global);
            }
        }
    }
}
