//! The older compact blobs Redis 7.0 still loads (ziplist, zipmap) and intsets, which it writes.
//!
//! ```text
//! ziplist: zlbytes u32 | zltail u32 | zllen u16 | entries | 0xFF
//!          entry = prevlen (1 byte, or 0xFE + u32) | encoding | data
//! zipmap:  zmlen u8 | (len key len free value [free bytes])* | 0xFF, len = 1 byte or 0xFE + u32
//! intset:  encoding u32 (2, 4 or 8) | length u32 | sorted unique integers, all little endian
//! ```

use crate::listpack::LpEntry;

fn le_u32(p: &[u8]) -> u32 {
    u32::from_le_bytes([p[0], p[1], p[2], p[3]])
}

/// Decodes and fully validates a ziplist (Redis's deep `ziplistValidateIntegrity`).
pub fn ziplist_decode(zl: &[u8]) -> Result<Vec<LpEntry<'_>>, String> {
    const HEADER: usize = 10;
    if zl.len() < HEADER + 1 {
        return Err(format!(
            "ziplist of {} bytes is shorter than its header",
            zl.len()
        ));
    }
    if le_u32(zl) as usize != zl.len() {
        return Err("ziplist header size differs from the blob size".into());
    }
    let tail = le_u32(&zl[4..]) as usize;
    let declared = u16::from_le_bytes([zl[8], zl[9]]);
    let end = zl.len() - 1;
    if zl[end] != 0xFF {
        return Err("ziplist does not end with 0xFF".into());
    }
    let mut pos = HEADER;
    let mut prev_len = 0usize;
    let mut last_start = HEADER;
    let mut out = Vec::new();
    while pos < end {
        let err = |e: &str| format!("ziplist entry at {pos}: {e}");
        let (prevlen, plen) = if zl[pos] < 0xFE {
            (zl[pos] as usize, 1)
        } else if zl[pos] == 0xFE {
            let b = zl
                .get(pos + 1..pos + 5)
                .filter(|_| pos + 5 <= end)
                .ok_or_else(|| err("prevlen past the end"))?;
            (le_u32(b) as usize, 5)
        } else {
            return Err(err("unexpected 0xFF"));
        };
        if prevlen != prev_len {
            return Err(err("prevlen does not match the previous entry"));
        }
        let (entry, used) = ziplist_entry(&zl[pos + plen..end]).map_err(err)?;
        last_start = pos;
        prev_len = plen + used;
        pos += prev_len;
        out.push(entry);
    }
    if pos != end {
        return Err("ziplist entries overrun the end".into());
    }
    let expect_tail = if out.is_empty() { HEADER } else { last_start };
    if tail != expect_tail {
        return Err("ziplist tail offset is wrong".into());
    }
    if declared != u16::MAX && declared as usize != out.len() {
        return Err(format!(
            "ziplist header says {declared} entries, found {}",
            out.len()
        ));
    }
    Ok(out)
}

fn ziplist_entry(p: &[u8]) -> Result<(LpEntry<'_>, usize), &'static str> {
    let b = *p.first().ok_or("entry past the end")?;
    let int = |n: usize| -> Result<u64, &'static str> {
        let d = p.get(1..1 + n).ok_or("integer past the end")?;
        Ok(d.iter().rev().fold(0u64, |v, &x| (v << 8) | x as u64))
    };
    let sext = |u: u64, bits: u32| ((u << (64 - bits)) as i64) >> (64 - bits);
    let string = |hdr: usize, len: usize| -> Result<(LpEntry<'_>, usize), &'static str> {
        let s = p
            .get(hdr..hdr.checked_add(len).ok_or("length overflow")?)
            .ok_or("string past the end")?;
        Ok((LpEntry::Str(s), hdr + len))
    };
    match b >> 6 {
        0 => string(1, (b & 0x3F) as usize),
        1 => {
            let b1 = *p.get(1).ok_or("length past the end")?;
            string(2, (((b & 0x3F) as usize) << 8) | b1 as usize)
        }
        2 => {
            if b != 0x80 {
                return Err("invalid string encoding");
            }
            let d = p.get(1..5).ok_or("length past the end")?;
            string(5, u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize)
        }
        _ => match b {
            0xC0 => Ok((LpEntry::Int(sext(int(2)?, 16)), 3)),
            0xD0 => Ok((LpEntry::Int(sext(int(4)?, 32)), 5)),
            0xE0 => Ok((LpEntry::Int(int(8)? as i64), 9)),
            0xF0 => Ok((LpEntry::Int(sext(int(3)?, 24)), 4)),
            0xFE => Ok((LpEntry::Int(sext(int(1)?, 8)), 2)),
            0xF1..=0xFD => Ok((LpEntry::Int(((b & 0x0F) as i64) - 1), 1)),
            _ => Err("invalid encoding byte"),
        },
    }
}

/// A (field, value) pair.
pub type Pair = (Vec<u8>, Vec<u8>);

/// Decodes a zipmap into (field, value) pairs with the checks of `zipmapValidateIntegrity`: it
/// ends with 0xFF, every length and entry stays before that last byte, the pairs run until a
/// field length of 0xFF, there is at least one, and the header count (unless 254, "unknown")
/// matches. A length byte of 254 or 255 is followed by a 4-byte length.
pub fn zipmap_decode(zm: &[u8]) -> Result<Vec<Pair>, String> {
    const BIGLEN: u8 = 254;
    const END: u8 = 0xFF;
    if zm.len() < 2 || zm[zm.len() - 1] != END {
        return Err("zipmap too short or not ending with 0xFF".into());
    }
    let last = zm.len() - 1;
    let past_end = || "zipmap entry past the end".to_string();
    // A length at `pos`: its size in bytes and value; the length must end before the last byte.
    let length = |pos: usize| -> Result<(usize, usize), String> {
        let b = zm[pos];
        if b < BIGLEN {
            return Ok((1, b as usize));
        }
        let d = zm
            .get(pos + 1..pos + 5)
            .filter(|_| pos + 5 <= last)
            .ok_or_else(past_end)?;
        Ok((5, le_u32(d) as usize))
    };
    let mut out = Vec::new();
    let mut pos = 1usize;
    while zm[pos] != END {
        let (size, klen) = length(pos)?;
        let key_at = pos + size;
        pos = key_at
            .checked_add(klen)
            .filter(|&p| p <= last)
            .ok_or_else(past_end)?;
        let key = zm[key_at..pos].to_vec();
        let (size, vlen) = length(pos)?;
        let free = zm[pos + size] as usize;
        let value_at = pos + size + 1;
        pos = value_at
            .checked_add(vlen)
            .and_then(|p| p.checked_add(free))
            .filter(|&p| p <= last)
            .ok_or_else(past_end)?;
        out.push((key, zm[value_at..value_at + vlen].to_vec()));
    }
    if out.is_empty() {
        return Err("empty zipmap".into());
    }
    if zm[0] != BIGLEN && zm[0] as usize != out.len() {
        return Err(format!(
            "zipmap header says {} pairs, found {}",
            zm[0],
            out.len()
        ));
    }
    Ok(out)
}

/// Decodes and validates an intset: known width, exact size, strictly ascending.
pub fn intset_decode(is: &[u8]) -> Result<Vec<i64>, String> {
    if is.len() < 8 {
        return Err("intset shorter than its header".into());
    }
    let width = le_u32(is) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(format!("intset width {width} is invalid"));
    }
    let count = le_u32(&is[4..]) as usize;
    if count.checked_mul(width).and_then(|n| n.checked_add(8)) != Some(is.len()) {
        return Err("intset length does not match its size".into());
    }
    let mut out = Vec::with_capacity(count);
    for chunk in is[8..].chunks_exact(width) {
        let v = match width {
            2 => i16::from_le_bytes([chunk[0], chunk[1]]) as i64,
            4 => i32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) as i64,
            _ => i64::from_le_bytes(chunk.try_into().map_err(|_| "intset chunk")?),
        };
        if out.last().is_some_and(|&last| last >= v) {
            return Err("intset is not sorted or has duplicates".into());
        }
        out.push(v);
    }
    if count == 0 {
        return Err("empty intset".into());
    }
    Ok(out)
}

/// Encodes integers as Redis's intset: sorted, deduplicated, the narrowest width that fits all.
pub fn intset_encode(values: &[i64]) -> Vec<u8> {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.dedup();
    let width: usize = if v.iter().all(|&x| i16::try_from(x).is_ok()) {
        2
    } else if v.iter().all(|&x| i32::try_from(x).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * v.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    for x in v {
        out.extend_from_slice(&x.to_le_bytes()[..width]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ziplist_small() {
        // zlbytes 15, tail 11, len 2: "a" (prevlen 0, 0x01 'a'), then 5 (prevlen 3, 0xF6).
        let zl = [15, 0, 0, 0, 13, 0, 0, 0, 2, 0, 0, 1, b'a', 3, 0xF6, 0xFF];
        let mut zl = zl.to_vec();
        zl[0] = zl.len() as u8;
        assert_eq!(
            ziplist_decode(&zl).unwrap(),
            vec![LpEntry::Str(b"a"), LpEntry::Int(5)]
        );
    }

    proptest! {
        #[test]
        fn intset_roundtrip(v in proptest::collection::vec(any::<i64>(), 1..100)) {
            let mut want = v.clone();
            want.sort_unstable();
            want.dedup();
            prop_assert_eq!(intset_decode(&intset_encode(&v)).unwrap(), want);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = ziplist_decode(&data);
            let _ = zipmap_decode(&data);
            let _ = intset_decode(&data);
        }
    }
}
