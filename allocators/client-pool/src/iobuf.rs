//! [`IoBuf`]: a client's query or output buffer, charged to the budget under `Component::Clients`.

use zedis_budget::{Component, GlobalBudget};

/// A byte buffer with a read cursor: unread data is `[start, end)`; reads append after `end`.
///
/// Its capacity is charged to this thread's budget (`zedis_budget::current()`) with `reserve` (bytes
/// already read cannot be refused; the server's own `*_max` limits bound them) whenever it changes through
/// this API; after appending through [`vec_mut`](IoBuf::vec_mut), call [`recharge`](IoBuf::recharge).
/// Drop it on the thread that created it (the charge goes to that thread's budget).
///
/// ```
/// use zedis_client_pool::IoBuf;
///
/// let mut buf = IoBuf::new();
/// let spare = buf.spare(16); // e.g. read(2) into this
/// spare[..5].copy_from_slice(b"PING\n");
/// buf.filled(5);
/// assert_eq!(buf.data(), b"PING\n");
/// buf.consume(5);
/// assert!(buf.is_empty());
/// buf.shrink_to(0);
/// assert_eq!(buf.capacity(), 0);
/// ```
#[derive(Debug, Default)]
pub struct IoBuf {
    /// Unread data is `buf[start..]`.
    buf: Vec<u8>,
    /// Invariant: `start <= buf.len()`.
    start: usize,
    /// Bytes `[0, init)` of the allocation have been written. Invariant: `buf.len() <= init <= capacity`,
    /// except right after `vec_mut` (`lent`), when it is re-derived before use.
    init: usize,
    /// The Vec was lent out by `vec_mut`: its spare capacity may have been reallocated.
    lent: bool,
    /// Invariant: bytes charged to the budget; `== buf.capacity()` after every method but `vec_mut`.
    charged: usize,
}

impl IoBuf {
    /// An empty buffer (no allocation).
    pub fn new() -> Self {
        IoBuf::default()
    }

    /// An empty buffer with room for `n` bytes.
    pub fn with_capacity(n: usize) -> Self {
        let mut buf = IoBuf {
            buf: Vec::with_capacity(n),
            ..IoBuf::default()
        };
        buf.recharge();
        buf
    }

    /// Unread bytes.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Unread bytes, mutable (in-place parsing).
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..]
    }

    /// Marks `n` unread bytes as read (clamped to what is there). An emptied buffer rewinds to 0.
    pub fn consume(&mut self, n: usize) {
        self.start += n.min(self.len());
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
    }

    /// At least `min` writable bytes after the data (compacting first, then growing), for `read(2)`.
    /// Follow with [`filled`](IoBuf::filled).
    pub fn spare(&mut self, min: usize) -> &mut [u8] {
        self.settle();
        if self.buf.capacity() - self.buf.len() < min {
            self.compact();
            if self.buf.capacity() - self.buf.len() < min {
                self.grow(min);
            }
        }
        let capacity = self.buf.capacity();
        let len = self.buf.len();
        if self.init < capacity {
            // SAFETY: [init, capacity) lies within the allocation; zeroing makes the spare initialised.
            unsafe {
                self.buf
                    .as_mut_ptr()
                    .add(self.init)
                    .write_bytes(0, capacity - self.init)
            };
            self.init = capacity;
        }
        // SAFETY: [len, capacity) is within the allocation and initialised (above), and not aliased.
        unsafe { std::slice::from_raw_parts_mut(self.buf.as_mut_ptr().add(len), capacity - len) }
    }

    /// `n` bytes were written at the start of the last [`spare`](IoBuf::spare) slice. Clamped to the
    /// bytes that slice offered.
    pub fn filled(&mut self, n: usize) {
        self.settle();
        let n = n.min(self.init - self.buf.len());
        debug_assert!(self.buf.len() + n <= self.buf.capacity());
        // SAFETY: the bytes up to `init` are initialised and within capacity.
        unsafe { self.buf.set_len(self.buf.len() + n) };
    }

    /// Appends `bytes` (compacting if that avoids growing).
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.settle();
        if self.buf.capacity() - self.buf.len() < bytes.len() {
            self.compact();
            if self.buf.capacity() - self.buf.len() < bytes.len() {
                self.grow(bytes.len());
            }
        }
        self.buf.extend_from_slice(bytes);
        self.init = self.init.max(self.buf.len());
    }

    /// The underlying Vec, for encoders that append to a `Vec<u8>`. Only append to it; unread data is
    /// `vec[start..]` where `start = vec.len() - self.len()` before appending. Call
    /// [`recharge`](IoBuf::recharge) afterwards.
    pub fn vec_mut(&mut self) -> &mut Vec<u8> {
        self.lent = true;
        &mut self.buf
    }

    /// Brings the budget charge in line with the capacity.
    pub fn recharge(&mut self) {
        let capacity = self.buf.capacity();
        let budget = zedis_budget::current();
        if capacity > self.charged {
            budget.reserve(Component::Clients, capacity - self.charged);
        } else if capacity < self.charged {
            budget.release(Component::Clients, self.charged - capacity);
        }
        self.charged = capacity;
    }

    /// Unread bytes.
    pub fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Whether there is nothing unread.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes allocated (and charged).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Bytes charged to the budget.
    pub fn charged_bytes(&self) -> usize {
        self.charged
    }

    /// Drops all data, keeping the allocation.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.start = 0;
    }

    /// Redis's query buffer shrinking: if the capacity is over `keep_bytes_max`, compact and shrink to
    /// `max(len, keep_bytes_max)` (to `keep_bytes_max` when idle).
    pub fn shrink_to(&mut self, keep_bytes_max: usize) {
        self.settle();
        if self.buf.capacity() <= keep_bytes_max {
            return;
        }
        self.compact();
        self.buf.shrink_to(keep_bytes_max);
        self.init = self.buf.len();
        self.recharge();
    }

    /// Re-derives `init` after `vec_mut` (its spare capacity may be new, unwritten memory) and resyncs the charge.
    fn settle(&mut self) {
        if self.lent {
            self.lent = false;
            self.init = self.buf.len();
            self.recharge();
        }
    }

    /// Moves unread data to the front.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start.., 0);
            self.buf.truncate(self.buf.len() - self.start);
            self.start = 0;
        }
    }

    fn grow(&mut self, additional: usize) {
        self.buf.reserve(additional);
        // The reallocated spare is not known to be written.
        self.init = self.buf.len();
        self.recharge();
    }
}

impl Drop for IoBuf {
    fn drop(&mut self) {
        if self.charged > 0 {
            zedis_budget::current().release(Component::Clients, self.charged);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use zedis_budget::Budget;

    #[derive(Debug, Clone)]
    enum Op {
        Read(Vec<u8>, usize),
        Extend(Vec<u8>),
        Append(Vec<u8>),
        Consume(usize),
        Shrink(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        let bytes = proptest::collection::vec(any::<u8>(), 0..600);
        prop_oneof![
            (bytes.clone(), 0..2000usize).prop_map(|(b, min)| Op::Read(b, min)),
            bytes.clone().prop_map(Op::Extend),
            bytes.prop_map(Op::Append),
            (0..700usize).prop_map(Op::Consume),
            (0..1000usize).prop_map(Op::Shrink),
        ]
    }

    proptest! {
        /// Data matches a Vec model through any mix of reads, appends, consumes and shrinks; the budget
        /// charge always equals the capacity; dropping releases it.
        #[test]
        fn iobuf_matches_model(ops in proptest::collection::vec(op(), 0..60)) {
            let budget = Budget::leak(0);
            zedis_budget::install(budget);
            let mut buf = IoBuf::new();
            let mut model: Vec<u8> = Vec::new();
            for op in ops {
                match op {
                    Op::Read(bytes, min) => {
                        let spare = buf.spare(min.max(bytes.len()));
                        prop_assert!(spare.len() >= min.max(bytes.len()));
                        spare[..bytes.len()].copy_from_slice(&bytes);
                        buf.filled(bytes.len());
                        model.extend_from_slice(&bytes);
                    }
                    Op::Extend(bytes) => { buf.extend_from_slice(&bytes); model.extend_from_slice(&bytes); }
                    Op::Append(bytes) => {
                        buf.vec_mut().extend_from_slice(&bytes);
                        buf.recharge();
                        model.extend_from_slice(&bytes);
                    }
                    Op::Consume(n) => { buf.consume(n); model.drain(..n.min(model.len())); }
                    Op::Shrink(keep) => {
                        let before = buf.capacity();
                        buf.shrink_to(keep);
                        if before > keep {
                            prop_assert!(buf.capacity() <= keep.max(buf.len()));
                        } else {
                            prop_assert_eq!(buf.capacity(), before);
                        }
                    }
                }
                prop_assert_eq!(buf.data(), &model[..]);
                prop_assert_eq!(budget.used_by(Component::Clients), buf.capacity());
            }
            drop(buf);
            prop_assert_eq!(budget.used(), 0);
        }
    }
}
