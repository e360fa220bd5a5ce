//! Primitive reads with bounds: lengths, strings (raw, integer, LZF), doubles, times.
//!
//! Nothing is allocated from a declared length alone: strings grow in chunks as their bytes really
//! arrive, and every declared length is checked against [`Limits`] first.

use std::io::Read;

use crate::crc64::Crc64;
use crate::error::{ErrorKind, RdbError, Result};
use crate::lzf;

/// Bounds on what a reader accepts.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest string, listpack or decompressed LZF blob (Redis's `proto-max-bulk-len` default).
    pub string_bytes_max: u64,
    /// Largest element count of one collection.
    pub elements_max: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            string_bytes_max: 512 * 1024 * 1024,
            elements_max: 1 << 32,
        }
    }
}

/// Bytes read in one step while a string arrives.
const CHUNK_BYTES: usize = 64 * 1024;

/// A byte source that counts its offset and, optionally, runs a CRC64 over what it reads.
pub struct Input<R> {
    inner: R,
    offset: u64,
    crc: Option<Crc64>,
    /// The limits in force.
    pub limits: Limits,
}

/// How a length field decoded: a plain length or a special string encoding.
enum Len {
    Plain(u64),
    Encoded(u8),
}

impl<R: Read> Input<R> {
    /// Wraps `inner`; `checksum` runs a CRC64 over every byte read.
    pub fn new(inner: R, limits: Limits, checksum: bool) -> Self {
        Input {
            inner,
            offset: 0,
            crc: checksum.then(Crc64::new),
            limits,
        }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The CRC64 of everything read so far (0 without checksum).
    pub fn crc(&self) -> u64 {
        self.crc.as_ref().map_or(0, Crc64::value)
    }

    /// The wrapped reader.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// An error at the current offset.
    pub fn err(&self, kind: ErrorKind) -> RdbError {
        RdbError::new(self.offset, kind)
    }

    /// A corruption error at the current offset.
    pub fn corrupt(&self, what: impl Into<String>) -> RdbError {
        RdbError::corrupt(self.offset, what)
    }

    /// Reads exactly `buf.len()` bytes.
    pub fn fill(&mut self, buf: &mut [u8], what: &'static str) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            match self.inner.read(&mut buf[done..]) {
                Ok(0) => return Err(self.err(ErrorKind::Truncated(what))),
                Ok(n) => {
                    if let Some(crc) = &mut self.crc {
                        crc.update(&buf[done..done + n]);
                    }
                    done += n;
                    self.offset += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.err(ErrorKind::Io(e))),
            }
        }
        Ok(())
    }

    /// Reads one byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8> {
        let mut b = [0u8; 1];
        self.fill(&mut b, what)?;
        Ok(b[0])
    }

    /// Reads `N` bytes.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.fill(&mut b, what)?;
        Ok(b)
    }

    /// Reads `n` bytes into a vector that grows as the bytes arrive.
    pub fn bytes(&mut self, n: u64, what: &'static str) -> Result<Vec<u8>> {
        self.check(n, self.limits.string_bytes_max, what)?;
        let n = n as usize;
        let mut out = Vec::with_capacity(n.min(CHUNK_BYTES));
        while out.len() < n {
            let start = out.len();
            let step = (n - start).min(CHUNK_BYTES.max(start));
            out.resize(start + step, 0);
            self.fill(&mut out[start..], what)?;
        }
        Ok(out)
    }

    /// Fails when `len` passes `max`.
    pub fn check(&self, len: u64, max: u64, what: &'static str) -> Result<()> {
        if len > max {
            return Err(self.err(ErrorKind::Limit { what, len, max }));
        }
        Ok(())
    }

    fn len_or_enc(&mut self, what: &'static str) -> Result<Len> {
        let b = self.u8(what)?;
        Ok(match b >> 6 {
            0 => Len::Plain((b & 0x3F) as u64),
            1 => Len::Plain((((b & 0x3F) as u64) << 8) | self.u8(what)? as u64),
            3 => Len::Encoded(b & 0x3F),
            _ => match b {
                0x80 => Len::Plain(u32::from_be_bytes(self.array(what)?) as u64),
                0x81 => Len::Plain(u64::from_be_bytes(self.array(what)?)),
                _ => return Err(self.corrupt(format!("unknown length encoding {b:#04x} ({what})"))),
            },
        })
    }

    /// Reads a length (`rdbLoadLen`). As Redis, a byte with the string-encoding bits (`11xxxxxx`)
    /// where a plain length is expected reads as its low six bits.
    pub fn len(&mut self, what: &'static str) -> Result<u64> {
        Ok(match self.len_or_enc(what)? {
            Len::Plain(n) => n,
            Len::Encoded(low_bits) => low_bits as u64,
        })
    }

    /// Reads a length where Redis does not check `rdbLoadLen`'s result (stream IDs and counters):
    /// an unknown length encoding (`0x82`..`0xBF`) reads as `u64::MAX`, Redis's `RDB_LENERR`.
    pub fn len_unchecked(&mut self, what: &'static str) -> Result<u64> {
        let b = self.u8(what)?;
        Ok(match b >> 6 {
            0 | 3 => (b & 0x3F) as u64,
            1 => (((b & 0x3F) as u64) << 8) | self.u8(what)? as u64,
            _ => match b {
                0x80 => u32::from_be_bytes(self.array(what)?) as u64,
                0x81 => u64::from_be_bytes(self.array(what)?),
                _ => u64::MAX,
            },
        })
    }

    /// Reads an element count and checks it against `elements_max`.
    pub fn count(&mut self, what: &'static str) -> Result<u64> {
        let n = self.len(what)?;
        self.check(n, self.limits.elements_max, what)?;
        Ok(n)
    }

    /// Reads a string in any of its encodings (`rdbGenericLoadStringObject`).
    pub fn string(&mut self, what: &'static str) -> Result<Vec<u8>> {
        match self.len_or_enc(what)? {
            Len::Plain(n) => self.bytes(n, what),
            Len::Encoded(0) => Ok((self.u8(what)? as i8).to_string().into_bytes()),
            Len::Encoded(1) => Ok(i16::from_le_bytes(self.array(what)?)
                .to_string()
                .into_bytes()),
            Len::Encoded(2) => Ok(i32::from_le_bytes(self.array(what)?)
                .to_string()
                .into_bytes()),
            Len::Encoded(3) => self.lzf_string(what),
            Len::Encoded(e) => Err(self.corrupt(format!("unknown string encoding {e} ({what})"))),
        }
    }

    fn lzf_string(&mut self, what: &'static str) -> Result<Vec<u8>> {
        let clen = self.len(what)?;
        let len = self.len(what)?;
        self.check(len, self.limits.string_bytes_max, what)?;
        let start = self.offset;
        let compressed = self.bytes(clen, what)?;
        if len == 0 {
            // Redis's check `lzf_decompress(..) != len` holds for any input when len is 0 (the
            // decompressor fails with 0 bytes written), so it loads an empty string: so do we.
            return Ok(Vec::new());
        }
        lzf::decompress(&compressed, len as usize).map_err(|e| {
            RdbError::corrupt(
                start,
                format!("invalid LZF compressed string: {e} ({what})"),
            )
        })
    }

    /// Reads a little-endian millisecond time.
    pub fn millis(&mut self, what: &'static str) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    /// Reads a binary double (`ZSET_2`).
    pub fn binary_double(&mut self, what: &'static str) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array(what)?))
    }

    /// Reads a text double (old `ZSET`): length byte, or 253/254/255 for NaN/+inf/-inf.
    pub fn text_double(&mut self, what: &'static str) -> Result<f64> {
        match self.u8(what)? {
            255 => Ok(f64::NEG_INFINITY),
            254 => Ok(f64::INFINITY),
            253 => Ok(f64::NAN),
            n => {
                let text = self.bytes(n as u64, what)?;
                crate::strtod::scan_double(&text)
                    .ok_or_else(|| self.corrupt(format!("invalid double ({what})")))
            }
        }
    }
}
