//! The in-segment item format: a tiny header followed by the key and value bytes.
//!
//! ```text
//! flags:3 | short_key_len:5 | [key_len:varint if short_key_len == 31] | value_len:varint
//!   | [expire_at_ms:u48 LE if TTL] | key | value
//! ```
//! The first byte holds the three flag bits (low) and the key length when it is under 31 (high five
//! bits; 31 means a LEB128 length follows). The value length is LEB128 (7 bits a byte). The expiry is
//! absolute unix ms in 6 bytes (up to the year 10889, [`EXPIRE_AT_MS_MAX`]; the store refuses a later
//! one and the keyspace keeps that key in its tables). So a key under 31 bytes with a value under 128
//! costs a 2-byte header, 8 with an expiry. An integer value (flag `INT`) is 8 bytes LE.

/// The item was deleted or overwritten: its bytes are a hole until its segment is merged or freed.
pub const FLAG_DELETED: u8 = 1;
/// An absolute expiry time (unix ms) follows the lengths.
pub const FLAG_TTL: u8 = 2;
/// The value is an `i64` stored as 8 bytes little-endian.
pub const FLAG_INT: u8 = 4;

/// Bits of the first byte that hold flags; the rest hold a short key length.
const FLAG_BITS: u32 = 3;
const FLAG_MASK: u8 = (1 << FLAG_BITS) - 1;
/// A key length this large or larger is written as a varint after the first byte.
const SHORT_KEY_ESCAPE: usize = (u8::MAX >> FLAG_BITS) as usize;

/// Bytes of a stored expiry.
pub const EXPIRY_BYTES: usize = 6;
/// The latest expiry an item can store (2^48 - 1 ms after the epoch).
pub const EXPIRE_AT_MS_MAX: i64 = (1 << (8 * EXPIRY_BYTES)) - 1;

/// Bytes of an `i64` value.
pub const INT_BYTES: usize = 8;

/// A decoded item header, with its position in the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// `FLAG_*` bits.
    pub flags: u8,
    /// Offset of the key's first byte in the segment.
    pub key_at: usize,
    /// Key length.
    pub key_len: usize,
    /// Value length (8 for `INT`).
    pub value_len: usize,
    /// Absolute expiry (unix ms), when `FLAG_TTL`.
    pub expire_at_ms: Option<i64>,
    /// Header plus key plus value.
    pub total_len: usize,
}

impl Item {
    /// Offset of the value's first byte in the segment.
    pub fn value_at(&self) -> usize {
        self.key_at + self.key_len
    }

    /// Whether the item is deleted.
    pub fn is_deleted(&self) -> bool {
        self.flags & FLAG_DELETED != 0
    }

    /// Whether the item has expired at `now_ms` (an item expires at its expiry instant, as in Redis).
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.expire_at_ms.is_some_and(|at| at <= now_ms)
    }
}

fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

fn put_varint(buf: &mut [u8], mut at: usize, mut n: usize) -> usize {
    while n >= 0x80 {
        buf[at] = (n as u8) | 0x80;
        n >>= 7;
        at += 1;
    }
    buf[at] = n as u8;
    at + 1
}

fn get_varint(buf: &[u8], mut at: usize) -> (usize, usize) {
    let (mut n, mut shift) = (0usize, 0);
    loop {
        let byte = buf[at];
        n |= ((byte & 0x7f) as usize) << shift;
        at += 1;
        if byte & 0x80 == 0 {
            return (n, at);
        }
        shift += 7;
    }
}

/// Header bytes for these lengths.
pub fn header_len(key_len: usize, value_len: usize, has_ttl: bool) -> usize {
    let key_extra = if key_len < SHORT_KEY_ESCAPE {
        0
    } else {
        varint_len(key_len)
    };
    1 + key_extra + varint_len(value_len) + if has_ttl { EXPIRY_BYTES } else { 0 }
}

/// Total bytes of an item.
pub fn item_len(key_len: usize, value_len: usize, has_ttl: bool) -> usize {
    header_len(key_len, value_len, has_ttl) + key_len + value_len
}

/// Writes an item at `at`; returns its total length. The caller checked that it fits and that the
/// expiry is within `0..=EXPIRE_AT_MS_MAX`.
pub fn write(
    buf: &mut [u8],
    at: usize,
    key: &[u8],
    value: &[u8],
    flags: u8,
    expire_at_ms: Option<i64>,
) -> usize {
    let flags = (flags & FLAG_INT) | if expire_at_ms.is_some() { FLAG_TTL } else { 0 };
    let short = key.len().min(SHORT_KEY_ESCAPE);
    buf[at] = flags | (short as u8) << FLAG_BITS;
    let mut pos = at + 1;
    if short == SHORT_KEY_ESCAPE {
        pos = put_varint(buf, pos, key.len());
    }
    pos = put_varint(buf, pos, value.len());
    if let Some(expire_at) = expire_at_ms {
        debug_assert!((0..=EXPIRE_AT_MS_MAX).contains(&expire_at));
        buf[pos..pos + EXPIRY_BYTES].copy_from_slice(&expire_at.to_le_bytes()[..EXPIRY_BYTES]);
        pos += EXPIRY_BYTES;
    }
    buf[pos..pos + key.len()].copy_from_slice(key);
    pos += key.len();
    buf[pos..pos + value.len()].copy_from_slice(value);
    pos + value.len() - at
}

/// Decodes the item header at `at`.
pub fn read(buf: &[u8], at: usize) -> Item {
    let first = buf[at];
    let flags = first & FLAG_MASK;
    let (key_len, pos) = match (first >> FLAG_BITS) as usize {
        SHORT_KEY_ESCAPE => get_varint(buf, at + 1),
        short => (short, at + 1),
    };
    let (value_len, mut pos) = get_varint(buf, pos);
    let expire_at_ms = if flags & FLAG_TTL != 0 {
        let mut raw = [0u8; 8];
        raw[..EXPIRY_BYTES].copy_from_slice(&buf[pos..pos + EXPIRY_BYTES]);
        pos += EXPIRY_BYTES;
        Some(i64::from_le_bytes(raw))
    } else {
        None
    };
    Item {
        flags,
        key_at: pos,
        key_len,
        value_len,
        expire_at_ms,
        total_len: pos + key_len + value_len - at,
    }
}

/// Marks the item at `at` deleted (its bytes stay, as a hole).
pub fn mark_deleted(buf: &mut [u8], at: usize) {
    buf[at] |= FLAG_DELETED;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_and_without_ttl() {
        let mut buf = vec![0u8; 4096];
        let value = vec![7u8; 300];
        let n = write(&mut buf, 10, b"key", &value, 0, Some(5));
        assert_eq!(n, item_len(3, 300, true));
        assert_eq!(header_len(3, 300, true), 1 + 2 + 6);
        let item = read(&buf, 10);
        assert_eq!(item.total_len, n);
        assert_eq!(item.expire_at_ms, Some(5));
        assert_eq!(&buf[item.key_at..item.key_at + 3], b"key");
        assert_eq!(&buf[item.value_at()..item.value_at() + 300], &value[..]);
        assert!(item.is_expired(5) && !item.is_expired(4));
        let m = write(&mut buf, 10 + n, b"", b"v", FLAG_INT, None);
        assert_eq!(m, 2 + 1);
        let second = read(&buf, 10 + n);
        assert_eq!((second.flags, second.expire_at_ms), (FLAG_INT, None));
        mark_deleted(&mut buf, 10);
        assert!(read(&buf, 10).is_deleted());
    }

    #[test]
    fn key_lengths_around_the_escape_round_trip() {
        let mut buf = vec![0u8; 1 << 16];
        for key_len in [0, 1, 30, 31, 32, 127, 128, 300, 20_000] {
            let key: Vec<u8> = (0..key_len).map(|i| i as u8).collect();
            for (flags, ttl) in [(0, None), (FLAG_INT, Some(7)), (0, Some(EXPIRE_AT_MS_MAX))] {
                let n = write(&mut buf, 5, &key, b"value", flags, ttl);
                assert_eq!(n, item_len(key_len, 5, ttl.is_some()), "{key_len}");
                let it = read(&buf, 5);
                assert_eq!(
                    (it.key_len, it.value_len, it.expire_at_ms),
                    (key_len, 5, ttl)
                );
                assert_eq!(it.flags & FLAG_INT, flags);
                assert_eq!(&buf[it.key_at..it.value_at()], &key[..]);
                mark_deleted(&mut buf, 5);
                let dead = read(&buf, 5);
                assert!(dead.is_deleted());
                assert_eq!((dead.key_len, dead.total_len), (key_len, n));
            }
        }
        assert_eq!(header_len(16, 32, false), 2);
        assert_eq!(header_len(31, 32, false), 3);
    }

    #[test]
    fn varints_cover_large_lengths() {
        let mut buf = [0u8; 16];
        for n in [0, 127, 128, 16_383, 16_384, 1 << 30] {
            let end = put_varint(&mut buf, 0, n);
            assert_eq!(end, varint_len(n));
            assert_eq!(get_varint(&buf, 0), (n, end));
        }
    }
}
