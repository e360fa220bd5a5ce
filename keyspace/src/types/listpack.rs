//! A listpack: entries back to back in one byte buffer, walkable in both directions.
//!
//! Entry layout: `header [data] backlen`. The header byte selects the encoding:
//!
//! | header        | entry                                          | body bytes |
//! |---------------|------------------------------------------------|------------|
//! | `0xxxxxxx`    | integer 0..=127                                | 1          |
//! | `10llllll`    | string, length 0..=63                          | 1 + len    |
//! | `110xxxxx` +1 | 13-bit signed integer                          | 2          |
//! | `1110llll` +1 | string, 12-bit length                          | 2 + len    |
//! | `0xF0` +4     | string, u32 LE length                          | 5 + len    |
//! | `0xF1`..`0xF4`| i16 / i24 / i32 / i64, little endian           | 3/4/5/9    |
//!
//! `backlen` is the body length in 1..=5 bytes of 7 bits, lowest group last; each byte but the
//! first has bit 7 set, so a reader walking backwards knows when to stop. Unlike Redis's
//! listpack there is no 6-byte header and no terminator (the `Vec` knows its length).

use super::elem::Elem;
use super::{reserve_bytes, AllocError, Needle};
use allocator_api2::alloc::Allocator;
use allocator_api2::vec::Vec;

/// A compact sequence of [`Elem`]s addressed by byte offsets (see the module docs for the format).
pub struct Listpack<A: Allocator> {
    /// Entries back to back; every string `parse_int` accepts is stored as an integer.
    buf: Vec<u8, A>,
    /// Number of entries in `buf`.
    count: usize,
}

/// Header bytes (and integer data) of one entry, plus its string payload.
struct Encoded<'a> {
    head: [u8; 9],
    head_len: usize,
    payload: &'a [u8],
}

impl Encoded<'_> {
    fn body_len(&self) -> usize {
        self.head_len + self.payload.len()
    }
}

fn encode(elem: Elem<'_>) -> Result<Encoded<'_>, AllocError> {
    let mut head = [0u8; 9];
    let (head_len, payload): (usize, &[u8]) = match elem {
        Elem::Int(v @ 0..=127) => {
            head[0] = v as u8;
            (1, &[])
        }
        Elem::Int(v @ -4096..=4095) => {
            let bits = (v as u16) & 0x1fff;
            head[0] = 0xC0 | (bits >> 8) as u8;
            head[1] = bits as u8;
            (2, &[])
        }
        Elem::Int(v) => {
            let (tag, width) = if i16::try_from(v).is_ok() {
                (0xF1, 2)
            } else if (-(1 << 23)..(1 << 23)).contains(&v) {
                (0xF2, 3)
            } else if i32::try_from(v).is_ok() {
                (0xF3, 4)
            } else {
                (0xF4, 8)
            };
            head[0] = tag;
            head[1..1 + width].copy_from_slice(&v.to_le_bytes()[..width]);
            (1 + width, &[])
        }
        Elem::Bytes(bytes) => {
            let len = bytes.len();
            if len < 64 {
                head[0] = 0x80 | len as u8;
                (1, bytes)
            } else if len < 4096 {
                head[0] = 0xE0 | (len >> 8) as u8;
                head[1] = len as u8;
                (2, bytes)
            } else {
                // Strings are bounded by proto-max-bulk-len (512 MiB); refuse anything absurd.
                let len = u32::try_from(len).map_err(|_| AllocError)?;
                head[0] = 0xF0;
                head[1..5].copy_from_slice(&len.to_le_bytes());
                (5, bytes)
            }
        }
    };
    Ok(Encoded {
        head,
        head_len,
        payload,
    })
}

fn backlen_len(body_len: usize) -> usize {
    match body_len {
        0..0x80 => 1,
        0x80..0x4000 => 2,
        0x4000..0x20_0000 => 3,
        0x20_0000..0x1000_0000 => 4,
        _ => 5,
    }
}

/// Decodes the entry at `off`: its element and body length (header + data).
fn decode(buf: &[u8], off: usize) -> (Elem<'_>, usize) {
    let head = buf[off];
    let int_le = |width: usize| {
        let mut bytes = [0u8; 8];
        bytes[..width].copy_from_slice(&buf[off + 1..off + 1 + width]);
        // Sign-extend from `width` bytes.
        let shift = 64 - 8 * width as u32;
        ((i64::from_le_bytes(bytes)) << shift) >> shift
    };
    match head {
        0x00..=0x7F => (Elem::Int(i64::from(head)), 1),
        0x80..=0xBF => {
            let len = usize::from(head & 0x3f);
            (Elem::Bytes(&buf[off + 1..off + 1 + len]), 1 + len)
        }
        0xC0..=0xDF => {
            let bits = (u16::from(head & 0x1f) << 8) | u16::from(buf[off + 1]);
            (Elem::Int(i64::from(((bits << 3) as i16) >> 3)), 2)
        }
        0xE0..=0xEF => {
            let len = (usize::from(head & 0x0f) << 8) | usize::from(buf[off + 1]);
            (Elem::Bytes(&buf[off + 2..off + 2 + len]), 2 + len)
        }
        0xF0 => {
            let mut len = [0u8; 4];
            len.copy_from_slice(&buf[off + 1..off + 5]);
            let len = u32::from_le_bytes(len) as usize;
            (Elem::Bytes(&buf[off + 5..off + 5 + len]), 5 + len)
        }
        0xF1 => (Elem::Int(int_le(2)), 3),
        0xF2 => (Elem::Int(int_le(3)), 4),
        0xF3 => (Elem::Int(int_le(4)), 5),
        0xF4 => (Elem::Int(int_le(8)), 9),
        _ => unreachable!("listpack header {head:#x} is never written"),
    }
}

/// Reads the backlen that ends at `end`: (body length, backlen length).
fn read_backlen(buf: &[u8], end: usize) -> (usize, usize) {
    let (mut value, mut shift, mut i) = (0usize, 0u32, end);
    loop {
        i -= 1;
        let byte = buf[i];
        value |= usize::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            return (value, end - i);
        }
    }
}

/// Bytes one entry holding `elem` takes in a listpack (header, data and backlen).
pub fn entry_bytes(elem: Elem<'_>) -> usize {
    match encode(elem) {
        Ok(enc) => enc.body_len() + backlen_len(enc.body_len()),
        Err(AllocError) => usize::MAX,
    }
}

impl<A: Allocator> Listpack<A> {
    /// An empty listpack; allocates nothing.
    pub fn new_in(alloc: A) -> Self {
        Listpack {
            buf: Vec::new_in(alloc),
            count: 0,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Encoded bytes in use (the end offset).
    pub fn bytes_len(&self) -> usize {
        self.buf.len()
    }

    /// Heap bytes held.
    pub fn mem_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// The element at byte offset `off` (an offset returned by this listpack).
    pub fn get_at(&self, off: usize) -> Elem<'_> {
        decode(&self.buf, off).0
    }

    /// Total bytes of the entry at `off`.
    fn entry_len_at(&self, off: usize) -> usize {
        let body = decode(&self.buf, off).1;
        body + backlen_len(body)
    }

    /// Offset of the first entry.
    pub fn first_off(&self) -> Option<usize> {
        (!self.buf.is_empty()).then_some(0)
    }

    /// Offset of the last entry.
    pub fn last_off(&self) -> Option<usize> {
        self.prev_off(self.buf.len())
    }

    /// Offset of the entry after the one at `off`.
    pub fn next_off(&self, off: usize) -> Option<usize> {
        let next = off + self.entry_len_at(off);
        (next < self.buf.len()).then_some(next)
    }

    /// Offset of the entry before `off` (`off` may be [`Self::bytes_len`] for the last entry).
    pub fn prev_off(&self, off: usize) -> Option<usize> {
        if off == 0 {
            return None;
        }
        let (body, backlen) = read_backlen(&self.buf, off);
        Some(off - backlen - body)
    }

    /// Offset of entry `index` (0-based), walking from the nearer end.
    pub fn offset_of(&self, index: usize) -> Option<usize> {
        if index >= self.count {
            return None;
        }
        let mut off;
        if index <= self.count / 2 {
            off = 0;
            for _ in 0..index {
                off += self.entry_len_at(off);
            }
        } else {
            off = self.buf.len();
            for _ in index..self.count {
                off = self.prev_off(off)?;
            }
        }
        Some(off)
    }

    /// Inserts `elem` so that it starts at byte offset `off` (an entry offset or `bytes_len`).
    pub fn insert_at(&mut self, off: usize, elem: Elem<'_>) -> Result<(), AllocError> {
        self.insert_at_bounded(off, elem, usize::MAX)
    }

    /// [`Self::insert_at`], growing the buffer's capacity past `ceiling_bytes` only if needed
    /// (a quicklist passes its node size limit so full nodes carry no slack).
    pub fn insert_at_bounded(
        &mut self,
        off: usize,
        elem: Elem<'_>,
        ceiling_bytes: usize,
    ) -> Result<(), AllocError> {
        debug_assert!(off <= self.buf.len());
        let enc = encode(elem)?;
        let body = enc.body_len();
        let total = body + backlen_len(body);
        reserve_bytes(&mut self.buf, total, ceiling_bytes)?;
        let old_len = self.buf.len();
        self.buf.resize(old_len + total, 0);
        self.buf.copy_within(off..old_len, off + total);
        self.write_entry(off, &enc);
        self.count += 1;
        Ok(())
    }

    fn write_entry(&mut self, off: usize, enc: &Encoded<'_>) {
        let body = enc.body_len();
        let out = &mut self.buf[off..];
        out[..enc.head_len].copy_from_slice(&enc.head[..enc.head_len]);
        out[enc.head_len..body].copy_from_slice(enc.payload);
        let backlen = backlen_len(body);
        for (i, byte) in out[body..body + backlen].iter_mut().enumerate() {
            let group = ((body >> (7 * (backlen - 1 - i))) & 0x7f) as u8;
            *byte = group | if i > 0 { 0x80 } else { 0 };
        }
    }

    /// Appends the string `bytes` (stored as an integer when it is one).
    pub fn push_back(&mut self, bytes: &[u8]) -> Result<(), AllocError> {
        self.insert_at(self.buf.len(), Elem::from_bytes(bytes))
    }

    /// Prepends the string `bytes`.
    pub fn push_front(&mut self, bytes: &[u8]) -> Result<(), AllocError> {
        self.insert_at(0, Elem::from_bytes(bytes))
    }

    /// Replaces the entry at `off` with `elem`.
    pub fn replace_at(&mut self, off: usize, elem: Elem<'_>) -> Result<(), AllocError> {
        let enc = encode(elem)?;
        let body = enc.body_len();
        let new_total = body + backlen_len(body);
        let old_total = self.entry_len_at(off);
        let old_len = self.buf.len();
        if new_total > old_total {
            reserve_bytes(&mut self.buf, new_total - old_total, usize::MAX)?;
            self.buf.resize(old_len + new_total - old_total, 0);
            self.buf
                .copy_within(off + old_total..old_len, off + new_total);
        } else {
            self.buf
                .copy_within(off + old_total..old_len, off + new_total);
            self.buf.truncate(old_len - (old_total - new_total));
        }
        self.write_entry(off, &enc);
        Ok(())
    }

    /// Removes the entry at `off`; the next entry (if any) then starts at `off`. Never allocates.
    pub fn remove_at(&mut self, off: usize) {
        self.remove_range(off, 1);
    }

    /// Removes up to `n` entries starting at `off`; returns how many were removed.
    pub fn remove_range(&mut self, off: usize, n: usize) -> usize {
        let mut end = off;
        let mut removed = 0;
        while removed < n && end < self.buf.len() {
            end += self.entry_len_at(end);
            removed += 1;
        }
        self.buf.copy_within(end.., off);
        self.buf.truncate(self.buf.len() - (end - off));
        self.count -= removed;
        removed
    }

    /// Gives spare capacity back by moving the entries into an exact buffer from `alloc` (best effort:
    /// the buffer is kept if the smaller one cannot be allocated).
    pub fn shrink_to_fit(&mut self, alloc: A) {
        if self.buf.capacity() - self.buf.len() < 8 {
            return;
        }
        let mut exact = Vec::new_in(alloc);
        if exact.try_reserve_exact(self.buf.len()).is_ok() {
            exact.extend_from_slice(&self.buf);
            self.buf = exact;
        }
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.count = 0;
    }

    /// Offset of the first entry at or after `off` (stepping `stride` entries) equal to `needle`.
    pub fn find(&self, needle: &Needle<'_>, mut off: usize, stride: usize) -> Option<usize> {
        while off < self.buf.len() {
            let (elem, body) = decode(&self.buf, off);
            if needle.matches(&elem) {
                return Some(off);
            }
            off += body + backlen_len(body);
            for _ in 1..stride {
                if off >= self.buf.len() {
                    return None;
                }
                off += self.entry_len_at(off);
            }
        }
        None
    }

    /// Forward (and, with `.rev()`, backward) iterator over the elements.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            buf: &self.buf,
            front: 0,
            back: self.buf.len(),
        }
    }

    /// Iterator over the entries from byte offset `front` up to byte offset `back`.
    pub fn iter_offsets(&self, front: usize, back: usize) -> Iter<'_> {
        debug_assert!(front <= back && back <= self.buf.len());
        Iter {
            buf: &self.buf,
            front,
            back,
        }
    }

    /// Appends all of `other`'s entries, leaving it empty. On `Err` nothing changed.
    pub fn try_append(&mut self, other: &mut Self) -> Result<(), AllocError> {
        reserve_bytes(&mut self.buf, other.buf.len(), usize::MAX)?;
        self.buf.extend_from_slice(&other.buf);
        self.count += other.count;
        other.clear();
        Ok(())
    }

    /// Moves the entries from `off` on into a new listpack (allocated in `alloc`).
    /// On `Err` nothing changed.
    pub fn split_off(&mut self, off: usize, alloc: A) -> Result<Self, AllocError> {
        let mut tail = Listpack::new_in(alloc);
        tail.buf
            .try_reserve_exact(self.buf.len() - off)
            .map_err(|_| AllocError)?;
        tail.buf.extend_from_slice(&self.buf[off..]);
        tail.count = tail.iter().count();
        self.buf.truncate(off);
        self.count -= tail.count;
        Ok(tail)
    }
}

/// Iterator over a listpack's elements; double-ended.
#[derive(Clone)]
pub struct Iter<'a> {
    buf: &'a [u8],
    /// Offset of the next entry from the front.
    front: usize,
    /// End offset of the next entry from the back; `front <= back`.
    back: usize,
}

impl Iter<'_> {
    /// An iterator that yields nothing.
    pub fn empty() -> Self {
        Iter {
            buf: &[],
            front: 0,
            back: 0,
        }
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = Elem<'a>;

    fn next(&mut self) -> Option<Elem<'a>> {
        if self.front >= self.back {
            return None;
        }
        let (elem, body) = decode(self.buf, self.front);
        self.front += body + backlen_len(body);
        Some(elem)
    }
}

impl<'a> DoubleEndedIterator for Iter<'a> {
    fn next_back(&mut self) -> Option<Elem<'a>> {
        if self.back <= self.front {
            return None;
        }
        let (body, backlen) = read_backlen(self.buf, self.back);
        self.back -= backlen + body;
        Some(decode(self.buf, self.back).0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::test_alloc::{fail_every, live_bytes, TestAlloc};
    use allocator_api2::alloc::Global;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    fn contents<A: Allocator>(lp: &Listpack<A>) -> std::vec::Vec<std::vec::Vec<u8>> {
        lp.iter().map(|e| e.to_vec()).collect()
    }

    #[test]
    fn encodings_round_trip_and_are_compact() {
        let mut lp = Listpack::new_in(Global);
        let samples: [(&[u8], usize); 9] = [
            (b"7", 2),
            (b"-1", 3),
            (b"4095", 3),
            (b"-32768", 4),
            (b"8388607", 5),
            (b"-2147483648", 6),
            (b"9223372036854775807", 10),
            (b"hello", 7),
            (b"007", 5),
        ];
        for (bytes, size) in samples {
            let before = lp.bytes_len();
            lp.push_back(bytes).unwrap();
            assert_eq!(lp.bytes_len() - before, size, "{bytes:?}");
        }
        let long = vec![b'x'; 5000];
        lp.push_back(&long).unwrap();
        let back: std::vec::Vec<_> = lp.iter().rev().map(|e| e.to_vec()).collect();
        assert_eq!(back[0], long);
        assert_eq!(back[9], b"7");
        assert_eq!(lp.get_at(lp.offset_of(8).unwrap()), Elem::Bytes(b"007"));
    }

    #[derive(Debug, Clone)]
    enum Op {
        PushBack(std::vec::Vec<u8>),
        PushFront(std::vec::Vec<u8>),
        Replace(usize, std::vec::Vec<u8>),
        Remove(usize),
        Split(usize),
    }

    fn value() -> impl Strategy<Value = std::vec::Vec<u8>> {
        prop_oneof![
            any::<i64>().prop_map(|v| v.to_string().into_bytes()),
            (-5000i64..5000).prop_map(|v| v.to_string().into_bytes()),
            proptest::collection::vec(any::<u8>(), 0..80),
            (0usize..5000).prop_map(|n| vec![b'z'; n]),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            value().prop_map(Op::PushBack),
            value().prop_map(Op::PushFront),
            (any::<usize>(), value()).prop_map(|(i, v)| Op::Replace(i, v)),
            any::<usize>().prop_map(Op::Remove),
            any::<usize>().prop_map(Op::Split),
        ]
    }

    proptest! {
        #[test]
        fn model(ops in proptest::collection::vec(op(), 0..60), fail in prop_oneof![Just(0usize), 2usize..9]) {
            let base = live_bytes();
            {
                let mut lp = Listpack::new_in(TestAlloc);
                let mut model: VecDeque<std::vec::Vec<u8>> = VecDeque::new();
                fail_every(fail);
                for op in ops {
                    let ok = match op {
                        Op::PushBack(v) => lp.push_back(&v).map(|_| model.push_back(v)).is_ok(),
                        Op::PushFront(v) => lp.push_front(&v).map(|_| model.push_front(v)).is_ok(),
                        Op::Replace(i, v) if !model.is_empty() => {
                            let i = i % model.len();
                            let off = lp.offset_of(i).unwrap();
                            lp.replace_at(off, Elem::from_bytes(&v)).map(|_| model[i] = v).is_ok()
                        }
                        Op::Remove(i) if !model.is_empty() => {
                            let i = i % model.len();
                            lp.remove_at(lp.offset_of(i).unwrap());
                            model.remove(i);
                            true
                        }
                        Op::Split(i) if !model.is_empty() => {
                            let i = i % model.len();
                            let off = lp.offset_of(i).unwrap();
                            match lp.split_off(off, TestAlloc) {
                                Ok(tail) => {
                                    prop_assert_eq!(contents(&tail), model.iter().skip(i).cloned().collect::<std::vec::Vec<_>>());
                                    model.truncate(i);
                                    true
                                }
                                Err(AllocError) => false,
                            }
                        }
                        _ => true,
                    };
                    let _ = ok;
                    prop_assert_eq!(lp.len(), model.len());
                    prop_assert_eq!(contents(&lp), model.iter().cloned().collect::<std::vec::Vec<_>>());
                    let rev: std::vec::Vec<_> = lp.iter().rev().map(|e| e.to_vec()).collect();
                    prop_assert_eq!(rev, model.iter().rev().cloned().collect::<std::vec::Vec<_>>());
                }
                fail_every(0);
            }
            prop_assert_eq!(live_bytes(), base);
        }
    }
}
