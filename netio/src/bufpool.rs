//! The provided-buffer pool: `buffers_count` buffers of `buffer_bytes`, handed to the kernel through a
//! registered buffer ring (`IORING_REGISTER_PBUF_RING`). A multishot receive takes a buffer per completion;
//! the caller sees it as a [`RecvBuf`] and it goes back into the ring when that is dropped.
//!
//! Memory: the buffers and the ring of descriptors are allocated once at startup and never grow
//! ([`BufPool::bytes`]).

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::cell::Cell;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::types::BufRingEntry;

use crate::NetioError;

/// The kernel wants the ring page-aligned.
const RING_ALIGN: usize = 4096;
/// Alignment of the buffer slab (cache lines).
const SLAB_ALIGN: usize = 64;

/// The pool. Shared (`Rc`) between the driver and the [`RecvBuf`]s it hands out, so a buffer outliving the
/// driver stays valid memory.
pub(crate) struct BufPool {
    /// `count` descriptors, page-aligned; the kernel reads those between its head and `tail`.
    ring: NonNull<BufRingEntry>,
    ring_layout: Layout,
    /// `count * buffer_bytes` bytes; buffer `bid` is at `bid * buffer_bytes`. A buffer is written by the kernel
    /// only while it sits in the ring, and read by us only while a `RecvBuf` holds it.
    slab: NonNull<u8>,
    slab_layout: Layout,
    buffer_bytes: usize,
    count: u16,
    mask: u16,
    /// Our copy of the ring tail (the kernel reads the shared one).
    tail: Cell<u16>,
    /// Buffers the kernel has handed out and not yet recycled (`0..=count`).
    held: Cell<usize>,
    /// The buffer group id the ring is registered under.
    pub(crate) group: u16,
}

impl BufPool {
    /// Allocates the ring and the buffers and puts every buffer in the ring. `count` is a power of two
    /// (checked by `DriverConfig::validate`).
    pub(crate) fn new(count: u32, buffer_bytes: u32, group: u16) -> Result<Rc<Self>, NetioError> {
        let count16 = u16::try_from(count)
            .map_err(|_| NetioError::Config("buffers_count too large".into()))?;
        let ring_bytes = (count as usize * std::mem::size_of::<BufRingEntry>()).max(RING_ALIGN);
        let ring_layout = Layout::from_size_align(ring_bytes, RING_ALIGN)
            .map_err(|_| NetioError::Config("buffer ring layout".into()))?;
        let slab_bytes = count as usize * buffer_bytes as usize;
        let slab_layout = Layout::from_size_align(slab_bytes, SLAB_ALIGN)
            .map_err(|_| NetioError::Config("buffer slab layout".into()))?;
        // SAFETY: both layouts have a non-zero size (count >= 1, buffer_bytes >= 64).
        let ring = NonNull::new(unsafe { alloc_zeroed(ring_layout) }.cast::<BufRingEntry>());
        let slab = NonNull::new(unsafe { alloc_zeroed(slab_layout) });
        let (Some(ring), Some(slab)) = (ring, slab) else {
            return Err(NetioError::Io(std::io::ErrorKind::OutOfMemory.into()));
        };
        let pool = Self {
            ring,
            ring_layout,
            slab,
            slab_layout,
            buffer_bytes: buffer_bytes as usize,
            count: count16,
            mask: count16.wrapping_sub(1),
            tail: Cell::new(0),
            held: Cell::new(count as usize),
            group,
        };
        for bid in 0..count {
            pool.recycle(bid as u16);
        }
        Ok(Rc::new(pool))
    }

    /// The ring's address and entry count, for `register_buf_ring_with_flags`.
    pub(crate) fn ring_addr(&self) -> (u64, u16) {
        (self.ring.as_ptr() as u64, self.count)
    }

    /// Puts buffer `bid` back at the ring's tail and publishes the new tail to the kernel.
    pub(crate) fn recycle(&self, bid: u16) {
        if bid as usize >= self.count_usize() {
            return;
        }
        let tail = self.tail.get();
        let idx = (tail & self.mask) as usize;
        // SAFETY: idx < count, inside the ring allocation; the kernel does not read entries past the published
        // tail, and this one is past it until the store below.
        unsafe {
            let entry = &mut *self.ring.as_ptr().add(idx);
            entry.set_addr(self.slab.as_ptr().add(bid as usize * self.buffer_bytes) as u64);
            entry.set_len(self.buffer_bytes as u32);
            entry.set_bid(bid);
        }
        let next = tail.wrapping_add(1);
        self.tail.set(next);
        // SAFETY: the tail field lives in entry 0's reserved half-word, inside the ring allocation, and is
        // 2-aligned; the kernel reads it with acquire ordering.
        unsafe {
            let tail_ptr = BufRingEntry::tail(self.ring.as_ptr()).cast_mut();
            AtomicU16::from_ptr(tail_ptr).store(next, Ordering::Release);
        }
        self.held.set(self.held.get().saturating_sub(1));
    }

    /// Takes note that the kernel handed buffer `bid` (`len` bytes filled) to us.
    fn take(self: &Rc<Self>, bid: u16, len: usize) -> Option<RecvBuf> {
        if bid as usize >= self.count_usize() || len > self.buffer_bytes {
            return None;
        }
        self.held.set(self.held.get() + 1);
        Some(RecvBuf {
            pool: Rc::clone(self),
            bid,
            len,
        })
    }

    /// A received buffer as the caller's [`RecvBuf`]; `None` if the kernel's buffer id or length is out of
    /// range (then nothing is held).
    pub(crate) fn received(self: &Rc<Self>, bid: u16, len: usize) -> Option<RecvBuf> {
        self.take(bid, len)
    }

    /// Buffers currently out of the ring (held by the caller as `RecvBuf`s).
    pub(crate) fn held(&self) -> usize {
        self.held.get()
    }

    /// Buffers in the pool.
    pub(crate) fn count_usize(&self) -> usize {
        self.count as usize
    }

    /// Bytes the pool holds (buffers plus ring).
    pub(crate) fn bytes(&self) -> usize {
        self.slab_layout.size() + self.ring_layout.size()
    }
}

impl Drop for BufPool {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with these layouts; the driver unregisters the ring (or the ring is gone)
        // before the last reference drops, and no RecvBuf is left (each holds an Rc).
        unsafe {
            dealloc(self.ring.as_ptr().cast(), self.ring_layout);
            dealloc(self.slab.as_ptr(), self.slab_layout);
        }
    }
}

/// A received chunk of bytes in a provided buffer. Derefs to the bytes; the buffer goes back to the kernel
/// when this is dropped, so keep it only as long as needed (copy into a query buffer, parse, drop). Holding
/// many starves receives (they pause with `ENOBUFS` and resume when buffers come back).
pub struct RecvBuf {
    pool: Rc<BufPool>,
    bid: u16,
    len: usize,
}

impl std::ops::Deref for RecvBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: bid < count and len <= buffer_bytes (checked in `take`); the buffer is out of the ring, so the
        // kernel does not write it while we hold it; the slab lives as long as the pool, which we hold.
        unsafe {
            std::slice::from_raw_parts(
                self.pool
                    .slab
                    .as_ptr()
                    .add(self.bid as usize * self.pool.buffer_bytes),
                self.len,
            )
        }
    }
}

impl std::fmt::Debug for RecvBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBuf")
            .field("bid", &self.bid)
            .field("len", &self.len)
            .finish()
    }
}

impl Drop for RecvBuf {
    fn drop(&mut self) {
        self.pool.recycle(self.bid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    /// What the kernel would read at ring position `pos`: (addr, len, bid).
    fn entry_at(pool: &BufPool, pos: u16) -> (u64, u32, u16) {
        // SAFETY: the index is masked into the ring.
        let e = unsafe { &*pool.ring.as_ptr().add((pos & pool.mask) as usize) };
        (e.addr(), e.len(), e.bid())
    }

    fn published_tail(pool: &BufPool) -> u16 {
        // SAFETY: as in `recycle`.
        unsafe {
            AtomicU16::from_ptr(BufRingEntry::tail(pool.ring.as_ptr()).cast_mut())
                .load(Ordering::Acquire)
        }
    }

    proptest! {
        /// A simulated kernel takes buffers from the head of the ring and the caller gives them back in any
        /// order: the ring always holds exactly the buffers not held, in the order they were given back, each
        /// entry pointing at its own buffer.
        #[test]
        fn ring_matches_a_queue_model(count_log in 0u32..6, ops in prop::collection::vec((any::<bool>(), any::<u16>()), 0..200)) {
            let count = 1u32 << count_log;
            let pool = BufPool::new(count, 64, 0).unwrap();
            let mut model: VecDeque<u16> = (0..count as u16).collect();
            let mut held: Vec<RecvBuf> = Vec::new();
            let mut head: u16 = 0;
            for (take, pick) in ops {
                if take && !model.is_empty() {
                    let (addr, len, bid) = entry_at(&pool, head);
                    prop_assert_eq!(Some(bid), model.pop_front());
                    prop_assert_eq!(len, 64);
                    prop_assert_eq!(addr, pool.slab.as_ptr() as u64 + bid as u64 * 64);
                    head = head.wrapping_add(1);
                    held.push(pool.received(bid, (pick % 65) as usize).unwrap());
                } else if !held.is_empty() {
                    let buf = held.swap_remove(pick as usize % held.len());
                    model.push_back(buf.bid);
                    drop(buf);
                }
                prop_assert_eq!(pool.held(), held.len());
                prop_assert_eq!(published_tail(&pool).wrapping_sub(head) as usize, model.len());
                for (i, &bid) in model.iter().enumerate() {
                    prop_assert_eq!(entry_at(&pool, head.wrapping_add(i as u16)).2, bid);
                }
            }
        }
    }

    #[test]
    fn buffers_cycle_through_the_ring() {
        let pool = BufPool::new(4, 64, 0).unwrap();
        assert_eq!(pool.held(), 0);
        assert_eq!(pool.bytes(), 4 * 64 + 4096);
        let a = pool.received(2, 10).unwrap();
        assert_eq!(a.len(), 10);
        assert_eq!(pool.held(), 1);
        assert!(pool.received(9, 1).is_none(), "out-of-range id");
        assert!(pool.received(1, 65).is_none(), "out-of-range length");
        drop(a);
        assert_eq!(pool.held(), 0);
        assert_eq!(pool.tail.get(), 5);
    }
}
