//! Listpacks, byte for byte as Redis 7.0's `listpack.c` lays them out.
//!
//! ```text
//! total bytes (u32 LE) | element count (u16 LE, 65535 = unknown) | entries... | 0xFF
//! entry = encoding + data | backlen (length of encoding + data, 1-5 bytes, 7 bits each)
//! ```
//! Strings that read as canonical 64-bit integers are stored as integers, as `lpAppend` does.

use crate::numbers::string_to_i64;

const HEADER_BYTES: usize = 6;
const EOF: u8 = 0xFF;
const COUNT_UNKNOWN: u16 = u16::MAX;

/// One decoded listpack element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LpEntry<'a> {
    /// An integer-encoded element.
    Int(i64),
    /// A string element.
    Str(&'a [u8]),
}

impl LpEntry<'_> {
    /// The element as Redis returns it to a client: integers in decimal.
    pub fn to_bytes(self) -> Vec<u8> {
        match self {
            LpEntry::Int(v) => v.to_string().into_bytes(),
            LpEntry::Str(s) => s.to_vec(),
        }
    }
}

/// A listpack being built by appending, as `lpNew` + `lpAppend`.
#[derive(Debug, Clone)]
pub struct ListpackBuilder {
    buf: Vec<u8>,
    count: usize,
}

impl Default for ListpackBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ListpackBuilder {
    /// An empty listpack.
    pub fn new() -> Self {
        let mut buf = vec![0u8; HEADER_BYTES];
        buf.push(EOF);
        ListpackBuilder { buf, count: 0 }
    }

    /// Bytes of the listpack as it stands (`lpBytes`).
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when nothing was appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends a string, stored as an integer when it reads as one (`lpAppend`).
    pub fn push_str(&mut self, s: &[u8]) {
        if let Some(v) = string_to_i64(s) {
            return self.push_int(v);
        }
        self.buf.pop();
        let start = self.buf.len();
        let len = s.len();
        if len < 64 {
            self.buf.push(0x80 | len as u8);
        } else if len < 4096 {
            self.buf.push(0xE0 | (len >> 8) as u8);
            self.buf.push(len as u8);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(len as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        self.finish_entry(start);
    }

    /// Appends an integer (`lpAppendInteger`).
    pub fn push_int(&mut self, v: i64) {
        self.buf.pop();
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = if v < 0 { (1i64 << 13) + v } else { v };
            self.buf.push((u >> 8) as u8 | 0xC0);
            self.buf.push(u as u8);
        } else if (-32768..=32767).contains(&v) {
            self.buf.push(0xF1);
            self.buf.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (-8_388_608..=8_388_607).contains(&v) {
            self.buf.push(0xF2);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
            self.buf.push(0xF3);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            self.buf.push(0xF4);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        self.finish_entry(start);
    }

    fn finish_entry(&mut self, start: usize) {
        let len = (self.buf.len() - start) as u64;
        encode_backlen(&mut self.buf, len);
        self.buf.push(EOF);
        self.count += 1;
    }

    /// The finished listpack bytes.
    pub fn finish(mut self) -> Vec<u8> {
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let count = if self.count < COUNT_UNKNOWN as usize {
            self.count as u16
        } else {
            COUNT_UNKNOWN
        };
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

fn encode_backlen(buf: &mut Vec<u8>, l: u64) {
    if l <= 127 {
        buf.push(l as u8);
    } else if l < 16383 {
        buf.extend_from_slice(&[(l >> 7) as u8, (l & 127) as u8 | 128]);
    } else if l < 2_097_151 {
        buf.extend_from_slice(&[
            (l >> 14) as u8,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]);
    } else if l < 268_435_455 {
        buf.extend_from_slice(&[
            (l >> 21) as u8,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]);
    } else {
        buf.extend_from_slice(&[
            (l >> 28) as u8,
            ((l >> 21) & 127) as u8 | 128,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]);
    }
}

fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

/// Reads a backlen backwards from its last byte at `last`, as `lpDecodeBacklen`: 7 bits a byte
/// while the high bit is set, at most five bytes (`None` beyond). Redis checks only the value, so
/// a non-canonical form (a high bit set on a 1-byte length, reading on into the entry) is valid.
fn decode_backlen(lp: &[u8], last: usize) -> Option<u64> {
    let mut value = 0u64;
    let mut shift = 0;
    let mut at = last;
    loop {
        let b = *lp.get(at)?;
        value |= u64::from(b & 127) << shift;
        if b & 128 == 0 {
            return Some(value);
        }
        shift += 7;
        if shift > 28 {
            return None;
        }
        at = at.checked_sub(1)?;
    }
}

fn sign_extend(u: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((u << shift) as i64) >> shift
}

/// Decodes and fully validates a listpack (Redis's deep `lpValidateIntegrity`): header size equals
/// the blob size, every entry and its backlen are consistent, the count matches, 0xFF ends it.
pub fn decode(lp: &[u8]) -> Result<Vec<LpEntry<'_>>, String> {
    decode_entries(lp, true)
}

/// [`decode`], with the header's element count checked only when `check_count` (stream nodes
/// are validated without it, as `streamValidateListpackIntegrity` does).
pub fn decode_entries(lp: &[u8], check_count: bool) -> Result<Vec<LpEntry<'_>>, String> {
    if lp.len() < HEADER_BYTES + 1 {
        return Err(format!(
            "listpack of {} bytes is shorter than its header",
            lp.len()
        ));
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    if total != lp.len() {
        return Err(format!(
            "listpack header says {total} bytes, blob has {}",
            lp.len()
        ));
    }
    let declared = u16::from_le_bytes([lp[4], lp[5]]);
    if lp[lp.len() - 1] != EOF {
        return Err("listpack does not end with 0xFF".into());
    }
    let end = lp.len() - 1;
    let mut pos = HEADER_BYTES;
    let mut out = Vec::new();
    while pos < end {
        let (entry, used) =
            decode_entry(&lp[pos..end]).map_err(|e| format!("listpack entry at {pos}: {e}"))?;
        let bl = backlen_size(used);
        if pos + used + bl > end {
            return Err(format!("listpack entry at {pos}: backlen past the end"));
        }
        if decode_backlen(lp, pos + used + bl - 1) != Some(used as u64) {
            return Err(format!("listpack entry at {pos}: wrong backlen"));
        }
        out.push(entry);
        pos += used + bl;
    }
    if check_count && declared != COUNT_UNKNOWN && declared as usize != out.len() {
        return Err(format!(
            "listpack header says {declared} elements, found {}",
            out.len()
        ));
    }
    Ok(out)
}

/// Decodes the entry at the start of `p`; returns it and the bytes of encoding + data.
fn decode_entry(p: &[u8]) -> Result<(LpEntry<'_>, usize), &'static str> {
    let b = p[0];
    let need = |n: usize| {
        if p.len() >= n {
            Ok(())
        } else {
            Err("entry past the end")
        }
    };
    let le = |n: usize| -> u64 {
        let mut v = 0u64;
        for i in (0..n).rev() {
            v = (v << 8) | p[1 + i] as u64;
        }
        v
    };
    let str_at = |off: usize, len: usize| -> Result<(LpEntry<'_>, usize), &'static str> {
        let s = p
            .get(off..off.checked_add(len).ok_or("length overflow")?)
            .ok_or("string past the end")?;
        Ok((LpEntry::Str(s), off + len))
    };
    if b & 0x80 == 0 {
        Ok((LpEntry::Int((b & 0x7F) as i64), 1))
    } else if b & 0xC0 == 0x80 {
        str_at(1, (b & 0x3F) as usize)
    } else if b & 0xE0 == 0xC0 {
        need(2)?;
        let u = (((b & 0x1F) as u64) << 8) | p[1] as u64;
        Ok((LpEntry::Int(sign_extend(u, 13)), 2))
    } else if b & 0xF0 == 0xE0 {
        need(2)?;
        str_at(2, (((b & 0x0F) as usize) << 8) | p[1] as usize)
    } else {
        match b {
            0xF0 => {
                need(5)?;
                str_at(5, le(4) as usize)
            }
            0xF1 => {
                need(3)?;
                Ok((LpEntry::Int(sign_extend(le(2), 16)), 3))
            }
            0xF2 => {
                need(4)?;
                Ok((LpEntry::Int(sign_extend(le(3), 24)), 4))
            }
            0xF3 => {
                need(5)?;
                Ok((LpEntry::Int(sign_extend(le(4), 32)), 5))
            }
            0xF4 => {
                need(9)?;
                Ok((LpEntry::Int(le(8) as i64), 9))
            }
            _ => Err("invalid encoding byte"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_layout() {
        let mut b = ListpackBuilder::new();
        b.push_str(b"a");
        b.push_str(b"1");
        b.push_str(b"-1");
        let lp = b.finish();
        // 6 header + (2+1) + (1+1) + (2+1) + 1 = 15.
        assert_eq!(&lp[..6], &[15, 0, 0, 0, 3, 0]);
        assert_eq!(&lp[6..], &[0x81, b'a', 2, 1, 1, 0xDF, 0xFF, 2, 0xFF]);
    }

    proptest! {
        #[test]
        fn roundtrip(items in proptest::collection::vec(prop_oneof![
            any::<i64>().prop_map(|v| v.to_string().into_bytes()),
            proptest::collection::vec(any::<u8>(), 0..5000),
        ], 0..40)) {
            let mut b = ListpackBuilder::new();
            for i in &items { b.push_str(i); }
            let lp = b.finish();
            let got: Vec<Vec<u8>> = decode(&lp).unwrap().into_iter().map(|e| e.to_bytes()).collect();
            prop_assert_eq!(got, items);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = decode(&data);
        }
    }
}
