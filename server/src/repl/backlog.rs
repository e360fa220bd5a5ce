//! The replication backlog: the last `repl-backlog-size` bytes of the write stream, kept so that a replica
//! whose link broke can continue from its offset (`PSYNC <replid> <offset>` -> `+CONTINUE`) instead of a full
//! resync.
//!
//! Offsets are Redis's: the stream's bytes are numbered from 1, `master_repl_offset` is the number of the last
//! byte written, and the backlog holds bytes `first_byte_offset ..= first_byte_offset + histlen - 1`.

use std::collections::VecDeque;

/// A bounded ring of the most recent stream bytes.
#[derive(Debug)]
pub struct Backlog {
    /// The bytes held, oldest first. Invariant: `data.len() <= size_bytes`.
    data: VecDeque<u8>,
    /// `repl-backlog-size`.
    size_bytes: usize,
    /// Offset of `data[0]` (Redis's `repl_backlog->offset`).
    first_byte_offset: u64,
}

impl Backlog {
    /// An empty backlog whose next byte will be number `master_repl_offset + 1`.
    pub fn new(size_bytes: usize, master_repl_offset: u64) -> Backlog {
        Backlog {
            data: VecDeque::new(),
            size_bytes: size_bytes.max(1),
            first_byte_offset: master_repl_offset + 1,
        }
    }

    /// Appends stream bytes, dropping the oldest ones beyond the size.
    pub fn append(&mut self, bytes: &[u8]) {
        let keep = &bytes[bytes.len().saturating_sub(self.size_bytes)..];
        let dropped_input = (bytes.len() - keep.len()) as u64;
        let overflow = (self.data.len() + keep.len()).saturating_sub(self.size_bytes);
        self.data.drain(..overflow);
        self.first_byte_offset += overflow as u64 + dropped_input;
        self.data.extend(keep);
        debug_assert!(self.data.len() <= self.size_bytes);
    }

    /// Changes the size (CONFIG SET repl-backlog-size), keeping the newest bytes that fit.
    pub fn resize(&mut self, size_bytes: usize) {
        self.size_bytes = size_bytes.max(1);
        let overflow = self.data.len().saturating_sub(self.size_bytes);
        self.data.drain(..overflow);
        self.first_byte_offset += overflow as u64;
        self.data.shrink_to(self.size_bytes);
    }

    /// Offset of the oldest byte held.
    pub fn first_byte_offset(&self) -> u64 {
        self.first_byte_offset
    }

    /// Bytes held.
    pub fn histlen(&self) -> u64 {
        self.data.len() as u64
    }

    /// `repl-backlog-size`.
    pub fn size_bytes(&self) -> usize {
        self.size_bytes
    }

    /// Bytes of memory the ring holds (charged to the budget).
    pub fn memory_bytes(&self) -> usize {
        self.data.capacity()
    }

    /// The bytes after `offset` (a replica that processed everything up to `offset`), or None when the
    /// backlog does not reach back that far or `offset` is in the future: Redis's rule in
    /// `masterTryPartialResynchronization`.
    pub fn since(&self, offset: u64) -> Option<Vec<u8>> {
        let end = self.first_byte_offset + self.histlen();
        if offset + 1 < self.first_byte_offset || offset + 1 > end {
            return None;
        }
        let skip = (offset + 1 - self.first_byte_offset) as usize;
        Some(self.data.range(skip..).copied().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_the_newest_bytes_with_their_offsets() {
        let mut b = Backlog::new(8, 0);
        b.append(b"abcdef");
        assert_eq!((b.first_byte_offset(), b.histlen()), (1, 6));
        b.append(b"ghij");
        assert_eq!((b.first_byte_offset(), b.histlen()), (3, 8));
        assert_eq!(b.since(2).as_deref(), Some(&b"cdefghij"[..]));
        assert_eq!(b.since(10).as_deref(), Some(&b""[..]));
        assert_eq!(b.since(1), None, "byte 2 was dropped");
        assert_eq!(b.since(11), None, "the future");
        b.append(b"0123456789");
        assert_eq!((b.first_byte_offset(), b.histlen()), (13, 8));
        assert_eq!(b.since(12).as_deref(), Some(&b"23456789"[..]));
    }

    proptest! {
        /// Against a model that keeps the whole stream.
        #[test]
        fn matches_a_whole_stream_model(size in 1usize..64, start in 0u64..1000,
                                        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..20),
                                        probe in 0u64..2000) {
            let mut b = Backlog::new(size, start);
            let mut all = Vec::new();
            for c in &chunks {
                b.append(c);
                all.extend_from_slice(c);
            }
            let end = start + all.len() as u64;
            prop_assert_eq!(b.first_byte_offset() + b.histlen(), end + 1);
            prop_assert!(b.histlen() as usize <= size);
            prop_assert_eq!(b.histlen() as usize, all.len().min(size));
            match b.since(probe) {
                Some(tail) => {
                    prop_assert!(probe >= start && probe <= end);
                    prop_assert_eq!(&tail[..], &all[(probe - start) as usize..]);
                }
                None => prop_assert!(probe + 1 < b.first_byte_offset() || probe > end),
            }
        }
    }
}
