//! Whole RDB files: a streaming reader of items and a writer of version 10 files.

use std::io::{Read, Write};

use crate::crc64::Crc64;
use crate::decode::{is_empty, read_object};
use crate::encode::{write_len, write_object, write_string, EncodingConfig};
use crate::error::{ErrorKind, RdbError, Result};
use crate::input::{Input, Limits};
use crate::rdb_type::{self as t, opcode};
use crate::value::{KeyMeta, RdbItem, RdbValue};

/// The RDB version Redis 7.0 writes and the newest this codec reads.
pub const RDB_VERSION: u16 = 10;
/// The newest RDB version the reader accepts (Redis 7.2's 11 adds only types this reader knows).
pub const RDB_VERSION_READ_MAX: u32 = 11;

/// Reads an RDB file item by item, verifying the CRC64 trailer at the end.
pub struct RdbReader<R> {
    input: Input<R>,
    version: u32,
    done: bool,
}

impl<R: Read> RdbReader<R> {
    /// Reads the `REDIS00NN` header. Reads are small: wrap files and sockets in a `BufReader`.
    pub fn new(reader: R, limits: Limits) -> Result<Self> {
        let mut input = Input::new(reader, limits, true);
        let magic: [u8; 9] = input.array("RDB header")?;
        if &magic[..5] != b"REDIS" {
            return Err(RdbError::new(0, ErrorKind::BadMagic));
        }
        let version = std::str::from_utf8(&magic[5..])
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .ok_or_else(|| RdbError::new(5, ErrorKind::BadMagic))?;
        if version == 0 || version > RDB_VERSION_READ_MAX {
            return Err(RdbError::new(5, ErrorKind::UnsupportedVersion(version)));
        }
        Ok(RdbReader {
            input,
            version,
            done: false,
        })
    }

    /// The file's RDB version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Bytes read so far.
    pub fn offset(&self) -> u64 {
        self.input.offset()
    }

    /// The next item, or `None` after the EOF opcode and a verified checksum.
    pub fn next_item(&mut self) -> Result<Option<RdbItem>> {
        if self.done {
            return Ok(None);
        }
        let mut meta = KeyMeta::default();
        loop {
            let at = self.input.offset();
            let op = self.input.u8("opcode")?;
            match op {
                opcode::EOF => return self.finish().map(|()| None),
                opcode::SELECTDB => {
                    return Ok(Some(RdbItem::SelectDb(self.input.len("database number")?)))
                }
                opcode::RESIZEDB => {
                    let db_size = self.input.len("database size")?;
                    let expires_size = self.input.len("expires size")?;
                    return Ok(Some(RdbItem::ResizeDb {
                        db_size,
                        expires_size,
                    }));
                }
                opcode::AUX => {
                    let key = self.input.string("AUX field name")?;
                    let value = self.input.string("AUX field value")?;
                    return Ok(Some(RdbItem::Aux { key, value }));
                }
                opcode::FUNCTION2 | opcode::FUNCTION => {
                    let code = crate::functions::read_function(&mut self.input, op).map_err(
                        |(e, redis)| RdbError::corrupt(e.offset, format!("{redis} ({})", e.kind)),
                    )?;
                    return Ok(Some(RdbItem::Function(code)));
                }
                opcode::MODULE_AUX => {
                    let id = self.input.len("module id")?;
                    return Err(RdbError::new(
                        at,
                        ErrorKind::Module(crate::decode::module_type_name(id)),
                    ));
                }
                opcode::EXPIRETIME_MS => meta.expire_ms = Some(self.input.millis("expire time")?),
                opcode::EXPIRETIME => {
                    let secs = i32::from_le_bytes(self.input.array("expire time")?);
                    meta.expire_ms = Some(secs as i64 * 1000);
                }
                opcode::IDLE => meta.idle_secs = Some(self.input.len("LRU idle time")?),
                opcode::FREQ => meta.lfu_freq = Some(self.input.u8("LFU frequency")?),
                ty if t::is_object_type(ty) => {
                    let key = self.input.string("key")?;
                    let value = read_object(&mut self.input, ty).map_err(|e| e.in_key(&key))?;
                    if is_empty(&value) {
                        // As Redis: an empty collection is skipped, with its metadata.
                        meta = KeyMeta::default();
                        continue;
                    }
                    return Ok(Some(RdbItem::Key { key, value, meta }));
                }
                other => return Err(RdbError::new(at, ErrorKind::UnknownType(other))),
            }
        }
    }

    fn finish(&mut self) -> Result<()> {
        self.done = true;
        if self.version < 5 {
            return Ok(());
        }
        let computed = self.input.crc();
        let expected = u64::from_le_bytes(self.input.array("CRC64 trailer")?);
        if expected != 0 && expected != computed {
            return Err(self.input.err(ErrorKind::Checksum { expected, computed }));
        }
        Ok(())
    }

    /// The wrapped reader (after the trailer, when all items were read).
    pub fn into_inner(self) -> R {
        self.input.into_inner()
    }
}

/// Items until the EOF opcode; an error ends the iteration.
impl<R: Read> Iterator for RdbReader<R> {
    type Item = Result<RdbItem>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_item() {
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// The AUX fields Redis writes at the start of every RDB file.
#[derive(Debug, Clone)]
pub struct AuxInfo {
    /// `redis-ver`.
    pub redis_ver: String,
    /// `redis-bits` (64).
    pub redis_bits: u32,
    /// `ctime`: Unix seconds at save time.
    pub ctime_secs: i64,
    /// `used-mem`: bytes in use.
    pub used_mem_bytes: u64,
    /// `aof-base`: true when the file is an AOF preamble.
    pub aof_base: bool,
}

/// Options of [`RdbWriter`].
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// Type thresholds and `rdbcompression`.
    pub encoding: EncodingConfig,
    /// `rdbchecksum`: when false the trailer is 0.
    pub checksum: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            encoding: EncodingConfig::default(),
            checksum: true,
        }
    }
}

/// Writes an RDB version 10 file in Redis's order: header, AUX fields, functions, then per
/// database SELECTDB, RESIZEDB and keys, then EOF and the CRC64.
pub struct RdbWriter<W: Write> {
    out: W,
    /// Bytes written so far (for error offsets).
    written: u64,
    crc: Crc64,
    opts: WriteOptions,
    buf: Vec<u8>,
}

impl<W: Write> RdbWriter<W> {
    /// Writes the `REDIS0010` header.
    pub fn new(out: W, opts: WriteOptions) -> Result<Self> {
        let mut w = RdbWriter {
            out,
            written: 0,
            crc: Crc64::new(),
            opts,
            buf: Vec::with_capacity(4096),
        };
        w.buf
            .extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
        w.flush_buf()?;
        Ok(w)
    }

    fn flush_buf(&mut self) -> Result<()> {
        if self.opts.checksum {
            self.crc.update(&self.buf);
        }
        let at = self.written;
        self.out
            .write_all(&self.buf)
            .map_err(|e| RdbError::new(at, ErrorKind::Io(e)))?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Writes one AUX field.
    pub fn aux(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.buf.push(opcode::AUX);
        write_string(&mut self.buf, key, self.opts.encoding.compression);
        write_string(&mut self.buf, value, self.opts.encoding.compression);
        self.flush_buf()
    }

    /// Writes Redis's standard AUX fields (`rdbSaveInfoAuxFields`, without replication info).
    pub fn standard_aux(&mut self, info: &AuxInfo) -> Result<()> {
        self.aux(b"redis-ver", info.redis_ver.as_bytes())?;
        self.aux(b"redis-bits", info.redis_bits.to_string().as_bytes())?;
        self.aux(b"ctime", info.ctime_secs.to_string().as_bytes())?;
        self.aux(b"used-mem", info.used_mem_bytes.to_string().as_bytes())?;
        self.aux(b"aof-base", if info.aof_base { b"1" } else { b"0" })
    }

    /// Writes a function library (`RDB_OPCODE_FUNCTION2` + its code).
    pub fn function(&mut self, code: &[u8]) -> Result<()> {
        self.buf.push(opcode::FUNCTION2);
        write_string(&mut self.buf, code, self.opts.encoding.compression);
        self.flush_buf()
    }

    /// Starts a database: SELECTDB and RESIZEDB (Redis omits both for an empty database).
    pub fn select_db(&mut self, db: u64, db_size: u64, expires_size: u64) -> Result<()> {
        self.buf.push(opcode::SELECTDB);
        write_len(&mut self.buf, db);
        self.buf.push(opcode::RESIZEDB);
        write_len(&mut self.buf, db_size);
        write_len(&mut self.buf, expires_size);
        self.flush_buf()
    }

    /// Writes a key with its metadata and value (`rdbSaveKeyValuePair`). An empty collection is
    /// skipped: Redis never holds one, and an empty intset would not load.
    pub fn key(&mut self, key: &[u8], value: &RdbValue, meta: &KeyMeta) -> Result<()> {
        if is_empty(value) {
            return Ok(());
        }
        if let Some(ms) = meta.expire_ms {
            self.buf.push(opcode::EXPIRETIME_MS);
            self.buf.extend_from_slice(&ms.to_le_bytes());
        }
        if let Some(idle) = meta.idle_secs {
            self.buf.push(opcode::IDLE);
            write_len(&mut self.buf, idle);
        }
        if let Some(freq) = meta.lfu_freq {
            self.buf.push(opcode::FREQ);
            self.buf.push(freq);
        }
        let type_at = self.buf.len();
        self.buf.push(0);
        write_string(&mut self.buf, key, self.opts.encoding.compression);
        self.buf[type_at] = write_object(&mut self.buf, value, &self.opts.encoding);
        self.flush_buf()
    }

    /// Writes EOF and the CRC64 trailer; returns the inner writer.
    pub fn finish(mut self) -> Result<W> {
        self.buf.push(opcode::EOF);
        self.flush_buf()?;
        let crc = if self.opts.checksum {
            self.crc.value()
        } else {
            0
        };
        let at = self.written;
        self.out
            .write_all(&crc.to_le_bytes())
            .map_err(|e| RdbError::new(at, ErrorKind::Io(e)))?;
        self.out
            .flush()
            .map_err(|e| RdbError::new(at, ErrorKind::Io(e)))?;
        Ok(self.out)
    }
}
