//! FUNCTION DUMP / RESTORE payloads in Redis's format: for each library the RDB opcode 245
//! (`RDB_OPCODE_FUNCTION2`) and its code as an RDB string, then the RDB version (2 bytes LE) and the
//! CRC64 (Jones, as Redis's `crc64`) of everything before it (8 bytes LE).

use crc::{Crc, CRC_64_REDIS};

/// `RDB_OPCODE_FUNCTION2`.
const OPCODE_FUNCTION2: u8 = 245;
/// The RDB version Redis 7.0 writes.
pub const RDB_VERSION: u16 = 10;
const CRC64: Crc<u64> = Crc::<u64>::new(&CRC_64_REDIS);

/// Builds a payload holding each library's code.
pub fn encode<'a>(codes: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for code in codes {
        out.push(OPCODE_FUNCTION2);
        write_len(&mut out, code.len() as u64);
        out.extend_from_slice(code);
    }
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = CRC64.checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Why a payload cannot be restored (Redis's messages without `ERR `).
pub fn decode(payload: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    const BAD: &str = "DUMP payload version or checksum are wrong";
    if payload.len() < 10 {
        return Err(BAD);
    }
    let (body, footer) = payload.split_at(payload.len() - 10);
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    let crc = u64::from_le_bytes(footer[2..10].try_into().map_err(|_| BAD)?);
    if version > RDB_VERSION || CRC64.checksum(&payload[..payload.len() - 8]) != crc {
        return Err(BAD);
    }
    let mut libs = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        if body[pos] != OPCODE_FUNCTION2 {
            return Err("given type is not a function");
        }
        pos += 1;
        let code =
            read_string(body, &mut pos).ok_or("failed loading the given functions payload")?;
        libs.push(code);
    }
    Ok(libs)
}

fn write_len(out: &mut Vec<u8>, len: u64) {
    if len < 64 {
        out.push(len as u8);
    } else if len < 16384 {
        out.push(0x40 | (len >> 8) as u8);
        out.push(len as u8);
    } else if len <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// Reads an RDB length; `Err(enc)` for the special encodings (`11xxxxxx`).
fn read_len(buf: &[u8], pos: &mut usize) -> Option<Result<u64, u8>> {
    let first = *buf.get(*pos)?;
    *pos += 1;
    Some(match first >> 6 {
        0 => Ok(u64::from(first & 0x3f)),
        1 => {
            let second = *buf.get(*pos)?;
            *pos += 1;
            Ok((u64::from(first & 0x3f) << 8) | u64::from(second))
        }
        2 if first == 0x80 => {
            let b = buf.get(*pos..*pos + 4)?;
            *pos += 4;
            Ok(u64::from(u32::from_be_bytes(b.try_into().ok()?)))
        }
        2 if first == 0x81 => {
            let b = buf.get(*pos..*pos + 8)?;
            *pos += 8;
            Ok(u64::from_be_bytes(b.try_into().ok()?))
        }
        2 => return None,
        _ => Err(first & 0x3f),
    })
}

/// Reads an RDB string: raw, integer-encoded or LZF-compressed (what Redis writes with rdbcompression).
fn read_string(buf: &[u8], pos: &mut usize) -> Option<Vec<u8>> {
    match read_len(buf, pos)? {
        Ok(len) => {
            let len = usize::try_from(len).ok()?;
            let s = buf.get(*pos..pos.checked_add(len)?)?.to_vec();
            *pos += len;
            Some(s)
        }
        Err(0) => {
            let v = *buf.get(*pos)? as i8;
            *pos += 1;
            Some(v.to_string().into_bytes())
        }
        Err(1) => {
            let b = buf.get(*pos..*pos + 2)?;
            *pos += 2;
            Some(i16::from_le_bytes([b[0], b[1]]).to_string().into_bytes())
        }
        Err(2) => {
            let b = buf.get(*pos..*pos + 4)?;
            *pos += 4;
            Some(
                i32::from_le_bytes(b.try_into().ok()?)
                    .to_string()
                    .into_bytes(),
            )
        }
        Err(3) => {
            let clen = usize::try_from(read_len(buf, pos)?.ok()?).ok()?;
            let len = usize::try_from(read_len(buf, pos)?.ok()?).ok()?;
            let src = buf.get(*pos..pos.checked_add(clen)?)?;
            *pos += clen;
            lzf_decompress(src, len)
        }
        Err(_) => None,
    }
}

/// LZF decompression into exactly `len` bytes (the length comes from the payload, so it is capped by what
/// the compressed input can expand to: at most 264 bytes per input byte).
fn lzf_decompress(src: &[u8], len: usize) -> Option<Vec<u8>> {
    if len > src.len().saturating_mul(264) {
        return None;
    }
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    while i < src.len() {
        let ctrl = src[i] as usize;
        i += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            out.extend_from_slice(src.get(i..i + run)?);
            i += run;
        } else {
            let mut run = ctrl >> 5;
            if run == 7 {
                run += *src.get(i)? as usize;
                i += 1;
            }
            let back = ((ctrl & 0x1f) << 8) + *src.get(i)? as usize + 1;
            i += 1;
            let start = out.len().checked_sub(back)?;
            for k in 0..run + 2 {
                let b = out[start + k];
                out.push(b);
            }
        }
        if out.len() > len {
            return None;
        }
    }
    (out.len() == len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_checksum() {
        let libs: [&[u8]; 2] = [
            b"#!lua name=a\nredis.register_function('f', function() return 1 end)",
            b"x",
        ];
        let payload = encode(libs.iter().copied());
        assert_eq!(
            decode(&payload).unwrap(),
            libs.iter().map(|l| l.to_vec()).collect::<Vec<_>>()
        );
        let mut bad = payload.clone();
        bad[3] ^= 1;
        assert!(decode(&bad).is_err());
        assert!(decode(b"short").is_err());
    }

    #[test]
    fn lzf_back_references() {
        // "abcabcabc": literal "abc" then a back-reference of length 6 at distance 3.
        let src = [2, b'a', b'b', b'c', (4 << 5), 2];
        assert_eq!(lzf_decompress(&src, 9).unwrap(), b"abcabcabc");
    }
}
