//! One stream node: up to `stream-node-max-entries` entries in one byte buffer, in the spirit of Redis's
//! listpack nodes (delta-encoded ids, a "master" field list that entries with the same fields share).
//!
//! Layout of `buf`:
//!
//! ```text
//! master: varint(nfields) { varint(len) bytes }*nfields
//! entry:  flags:u8 varint(ms - master.ms) varint(seq')
//!         [varint(nfields) if !SAMEFIELDS] { [varint(len) field] if !SAMEFIELDS, varint(len) value }*
//! ```
//!
//! `seq'` is `seq - master.seq` when the entry's ms equals the master's (never negative then, ids grow), and
//! the plain `seq` otherwise. A deleted entry keeps its bytes with the `DELETED` flag set (as in Redis) until
//! the whole node is dropped.

use super::stream::StreamId;
use super::{reserve_bytes, AllocError};
use allocator_api2::alloc::Allocator;
use allocator_api2::vec::Vec;

/// The entry was deleted (XDEL / exact trimming).
const FLAG_DELETED: u8 = 1;
/// The entry's fields are the master's (only values are stored).
const FLAG_SAMEFIELDS: u8 = 2;

/// A node of a stream (see the module docs).
pub(crate) struct Node<A: Allocator> {
    /// The id the node's deltas are relative to (its first entry's id).
    pub master: StreamId,
    /// Master fields, then entries.
    buf: Vec<u8, A>,
    /// Entries not deleted (> 0 while the node is in a stream).
    pub live: u32,
    /// Entries including deleted ones.
    pub total: u32,
    /// Offset of the first entry (end of the master fields).
    entries_off: u32,
}

fn put_varint<A: Allocator>(buf: &mut Vec<u8, A>, mut value: u64) {
    while value >= 0x80 {
        buf.push((value as u8) | 0x80);
        value >>= 7;
    }
    buf.push(value as u8);
}

fn varint_len(mut value: u64) -> usize {
    let mut len = 1;
    while value >= 0x80 {
        value >>= 7;
        len += 1;
    }
    len
}

fn get_varint(buf: &[u8], off: &mut usize) -> u64 {
    let (mut value, mut shift) = (0u64, 0u32);
    loop {
        let byte = buf[*off];
        *off += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return value;
        }
        shift += 7;
    }
}

fn get_bytes<'a>(buf: &'a [u8], off: &mut usize) -> &'a [u8] {
    let len = get_varint(buf, off) as usize;
    let bytes = &buf[*off..*off + len];
    *off += len;
    bytes
}

/// One decoded entry of a node: its id, flags and where its fields start.
#[derive(Clone, Copy)]
pub(crate) struct RawEntry {
    /// The entry id.
    pub id: StreamId,
    /// Offset of the field data (after the id, and after nfields when not SAMEFIELDS).
    pub data_off: usize,
    /// Number of field-value pairs.
    pub nfields: usize,
    /// Whether it is deleted.
    pub deleted: bool,
    /// Whether fields are the master's.
    pub same: bool,
    /// Offset just past the entry.
    pub end_off: usize,
}

impl<A: Allocator + Copy> Node<A> {
    /// A node whose master fields are the fields of `pairs` (field, value, field, value...).
    pub fn new(master: StreamId, pairs: &[&[u8]], alloc: A) -> Result<Self, AllocError> {
        let mut buf = Vec::new_in(alloc);
        let fields = pairs.iter().step_by(2);
        let need = varint_len(pairs.len() as u64 / 2)
            + fields
                .clone()
                .map(|f| varint_len(f.len() as u64) + f.len())
                .sum::<usize>();
        buf.try_reserve_exact(need).map_err(|_| AllocError)?;
        put_varint(&mut buf, pairs.len() as u64 / 2);
        for field in fields {
            put_varint(&mut buf, field.len() as u64);
            buf.extend_from_slice(field);
        }
        let entries_off = buf.len() as u32;
        Ok(Node {
            master,
            buf,
            live: 0,
            total: 0,
            entries_off,
        })
    }

    /// Bytes held (buffer capacity).
    pub fn mem_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// Bytes used.
    pub fn bytes_len(&self) -> usize {
        self.buf.len()
    }

    fn master_fields(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut off = 0;
        let count = get_varint(&self.buf, &mut off);
        (0..count).map(move |_| get_bytes(&self.buf, &mut off))
    }

    fn master_count(&self) -> usize {
        let mut off = 0;
        get_varint(&self.buf, &mut off) as usize
    }

    /// Whether `pairs`' fields are exactly the master fields in order.
    fn same_fields(&self, pairs: &[&[u8]]) -> bool {
        self.master_count() == pairs.len() / 2
            && self
                .master_fields()
                .zip(pairs.iter().step_by(2))
                .all(|(a, b)| a == *b)
    }

    fn id_parts(&self, id: StreamId) -> (u64, u64) {
        let ms_delta = id.ms - self.master.ms;
        let seq = if ms_delta == 0 {
            id.seq - self.master.seq
        } else {
            id.seq
        };
        (ms_delta, seq)
    }

    /// Bytes `pairs` would take as an entry with id `id` (for the node size limit).
    pub fn encoded_len(&self, id: StreamId, pairs: &[&[u8]]) -> usize {
        let (ms, seq) = self.id_parts(id);
        let same = self.same_fields(pairs);
        let mut len = 1 + varint_len(ms) + varint_len(seq);
        if !same {
            len += varint_len(pairs.len() as u64 / 2);
        }
        for (i, part) in pairs.iter().enumerate() {
            if same && i % 2 == 0 {
                continue;
            }
            len += varint_len(part.len() as u64) + part.len();
        }
        len
    }

    /// Appends an entry (`id` greater than every id in the node and >= master).
    pub fn push(
        &mut self,
        id: StreamId,
        pairs: &[&[u8]],
        ceiling: usize,
    ) -> Result<(), AllocError> {
        debug_assert!(id >= self.master);
        let len = self.encoded_len(id, pairs);
        reserve_bytes(&mut self.buf, len, ceiling)?;
        let (ms, seq) = self.id_parts(id);
        let same = self.same_fields(pairs);
        self.buf.push(if same { FLAG_SAMEFIELDS } else { 0 });
        put_varint(&mut self.buf, ms);
        put_varint(&mut self.buf, seq);
        if !same {
            put_varint(&mut self.buf, pairs.len() as u64 / 2);
        }
        for (i, part) in pairs.iter().enumerate() {
            if same && i % 2 == 0 {
                continue;
            }
            put_varint(&mut self.buf, part.len() as u64);
            self.buf.extend_from_slice(part);
        }
        self.live += 1;
        self.total += 1;
        Ok(())
    }

    /// Decodes the entry at `off` (an entry boundary).
    pub fn entry_at(&self, off: usize) -> RawEntry {
        let buf = &self.buf[..];
        let flags = buf[off];
        let mut at = off + 1;
        let ms_delta = get_varint(buf, &mut at);
        let seq_part = get_varint(buf, &mut at);
        let id = if ms_delta == 0 {
            StreamId::new(self.master.ms, self.master.seq + seq_part)
        } else {
            StreamId::new(self.master.ms + ms_delta, seq_part)
        };
        let same = flags & FLAG_SAMEFIELDS != 0;
        let nfields = if same {
            self.master_count()
        } else {
            get_varint(buf, &mut at) as usize
        };
        let data_off = at;
        let per_field = if same { 1 } else { 2 };
        for _ in 0..nfields * per_field {
            let len = get_varint(buf, &mut at) as usize;
            at += len;
        }
        RawEntry {
            id,
            data_off,
            nfields,
            deleted: flags & FLAG_DELETED != 0,
            same,
            end_off: at,
        }
    }

    /// Offset of the first entry.
    pub fn first_off(&self) -> usize {
        self.entries_off as usize
    }

    /// Whether `off` is past the last entry.
    pub fn at_end(&self, off: usize) -> bool {
        off >= self.buf.len()
    }

    /// Every entry's offset (deleted included), in order: lets callers walk backwards.
    pub fn offsets(&self) -> std::vec::Vec<usize> {
        let mut out = std::vec::Vec::with_capacity(self.total as usize);
        let mut off = self.first_off();
        while !self.at_end(off) {
            out.push(off);
            off = self.entry_at(off).end_off;
        }
        out
    }

    /// The field-value pairs of `entry`.
    pub fn pairs<'a>(
        &'a self,
        entry: &RawEntry,
    ) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let buf = &self.buf[..];
        let mut at = entry.data_off;
        let mut master = if entry.same {
            Some(self.master_fields())
        } else {
            None
        };
        (0..entry.nfields).map(move |_| {
            let field = match master.as_mut() {
                Some(fields) => fields.next().unwrap_or_default(),
                None => get_bytes(buf, &mut at),
            };
            let value = get_bytes(buf, &mut at);
            (field, value)
        })
    }

    /// Marks the entry at `off` deleted; whether it was live.
    pub fn mark_deleted(&mut self, off: usize) -> bool {
        if self.buf[off] & FLAG_DELETED != 0 {
            return false;
        }
        self.buf[off] |= FLAG_DELETED;
        self.live -= 1;
        true
    }

    /// Gives back the buffer's spare capacity (a node that will not grow again); on allocation failure it
    /// keeps the buffer as it is.
    pub fn compact(&mut self) {
        if self.buf.capacity() == self.buf.len() {
            return;
        }
        let mut exact = Vec::new_in(*self.buf.allocator());
        if exact.try_reserve_exact(self.buf.len()).is_ok() {
            exact.extend_from_slice(&self.buf);
            self.buf = exact;
        }
    }

    /// A byte-for-byte copy (COPY).
    pub fn try_clone(&self, alloc: A) -> Result<Self, AllocError> {
        let mut buf = Vec::new_in(alloc);
        buf.try_reserve_exact(self.buf.len())
            .map_err(|_| AllocError)?;
        buf.extend_from_slice(&self.buf);
        Ok(Node {
            master: self.master,
            buf,
            live: self.live,
            total: self.total,
            entries_off: self.entries_off,
        })
    }
}
