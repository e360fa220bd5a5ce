//! Redis 7.0's RDB format as a storage-independent codec.
//!
//! Goals: read every encoding Redis 7.0 loads and write exactly the bytes Redis 7.0 writes (RDB
//! version 10), for whole files ([`RdbReader`], [`RdbWriter`]) and for DUMP/RESTORE payloads
//! ([`create_dump_payload`], [`decode_dump_payload`]). Every length read from the input is bounded
//! by [`Limits`] and by the bytes that really arrive; corrupt input is an [`RdbError`] naming the
//! byte offset and the key, never a panic.
//!
//! Non-goals: module types (refused with [`ErrorKind::Module`]), storage (values are plain
//! vectors in [`RdbValue`]; the keyspace converts), replication framing.
//!
//! Layout:
//! - `value`: [`RdbValue`], [`Stream`] and friends, [`KeyMeta`], [`RdbItem`].
//! - `input`: bounded primitive reads; `decode`: objects of every type; `stream`: streams both ways.
//! - `encode`: Redis's type choice ([`EncodingConfig`]) and object bytes.
//! - `listpack`, `compact` (ziplist, zipmap, intset), `lzf`, `crc64`, `numbers`, `strtod`: the
//!   building blocks.
//! - `file`: [`RdbReader`], [`RdbWriter`]; `dump`: DUMP payloads; `functions`: function libraries
//!   in files and FUNCTION DUMP payloads.
//! - `digest`: `DEBUG DIGEST` / `DIGEST-VALUE` of values and datasets, as redis-server computes them.
//! - `fuzz_checks`: what the fuzz targets (`rdb/fuzz`) check on an input, shared with the regression test.
//!
//! ```
//! use zedis_rdb::*;
//!
//! // SAVE: header, AUX fields, functions, databases, EOF + CRC64.
//! let mut w = RdbWriter::new(Vec::new(), WriteOptions::default())?;
//! w.standard_aux(&AuxInfo {
//!     redis_ver: "7.0.15".into(),
//!     redis_bits: 64,
//!     ctime_secs: 1_700_000_000,
//!     used_mem_bytes: 1 << 20,
//!     aof_base: false,
//! })?;
//! w.select_db(0, 1, 1)?;
//! let meta = KeyMeta { expire_ms: Some(4_102_444_800_000), ..KeyMeta::default() };
//! w.key(b"k", &RdbValue::Hash(vec![(b"f".to_vec(), b"v".to_vec())]), &meta)?;
//! let file = w.finish()?;
//!
//! // Loading: items in file order, CRC64 checked at the end.
//! let items = RdbReader::new(&file[..], Limits::default())?.collect::<Result<Vec<_>>>()?;
//! assert!(matches!(&items[..], [.., RdbItem::Key { meta: m, .. }] if *m == meta));
//!
//! // DUMP / RESTORE.
//! let payload = create_dump_payload(&RdbValue::String(b"42".to_vec()), &EncodingConfig::default());
//! assert_eq!(payload[..3], [0, 0xC0, 42]); // type string, 8-bit integer encoding
//! assert_eq!(decode_dump_payload(&payload, Limits::default()), Ok(RdbValue::String(b"42".to_vec())));
//! # Ok::<(), RdbError>(())
//! ```

#![deny(missing_docs)]

mod compact;
mod crc64;
mod decode;
pub mod digest;
mod dump;
mod encode;
mod error;
mod file;
mod functions;
pub mod fuzz_checks;
mod input;
pub mod listpack;
pub mod lzf;
mod numbers;
mod stream;
mod strtod;
mod value;

pub use crate::crc64::{crc64, Crc64};
pub use crate::dump::{create_dump_payload, decode_dump_payload, verify_dump_payload};
pub use crate::encode::{object_type, write_object, EncodingConfig};
pub use crate::error::{DumpError, ErrorKind, FunctionDumpError, RdbError, Result};
pub use crate::file::{
    AuxInfo, RdbReader, RdbWriter, WriteOptions, RDB_VERSION, RDB_VERSION_READ_MAX,
};
pub use crate::functions::{create_function_payload, decode_function_payload};
pub use crate::input::Limits;
pub use crate::value::{
    Consumer, ConsumerGroup, KeyMeta, PendingEntry, RdbItem, RdbValue, Stream, StreamEntry,
    StreamId,
};

/// RDB object type bytes (`rdb.h`), including Redis 7.2's two additions that the reader accepts.
pub mod rdb_type {
    /// String.
    pub const STRING: u8 = 0;
    /// Linked list of strings (pre-3.2).
    pub const LIST: u8 = 1;
    /// Set as a plain list of members.
    pub const SET: u8 = 2;
    /// Sorted set with text doubles (pre-RDB 8).
    pub const ZSET: u8 = 3;
    /// Hash as a plain list of pairs.
    pub const HASH: u8 = 4;
    /// Sorted set with binary doubles.
    pub const ZSET_2: u8 = 5;
    /// Module value (v1).
    pub const MODULE: u8 = 6;
    /// Module value (v2).
    pub const MODULE_2: u8 = 7;
    /// Hash as a zipmap (pre-2.6).
    pub const HASH_ZIPMAP: u8 = 9;
    /// List as a ziplist.
    pub const LIST_ZIPLIST: u8 = 10;
    /// Set of integers as an intset.
    pub const SET_INTSET: u8 = 11;
    /// Sorted set as a ziplist.
    pub const ZSET_ZIPLIST: u8 = 12;
    /// Hash as a ziplist.
    pub const HASH_ZIPLIST: u8 = 13;
    /// List as a quicklist of ziplists.
    pub const LIST_QUICKLIST: u8 = 14;
    /// Stream (pre-7.0 metadata).
    pub const STREAM_LISTPACKS: u8 = 15;
    /// Hash as a listpack.
    pub const HASH_LISTPACK: u8 = 16;
    /// Sorted set as a listpack.
    pub const ZSET_LISTPACK: u8 = 17;
    /// List as a quicklist of listpacks (or plain nodes).
    pub const LIST_QUICKLIST_2: u8 = 18;
    /// Stream with 7.0 metadata (what 7.0 writes).
    pub const STREAM_LISTPACKS_2: u8 = 19;
    /// Set as a listpack (Redis 7.2).
    pub const SET_LISTPACK: u8 = 20;
    /// Stream with consumer active times (Redis 7.2).
    pub const STREAM_LISTPACKS_3: u8 = 21;

    /// True for bytes that start an object rather than an opcode.
    pub fn is_object_type(t: u8) -> bool {
        t <= 7 || (9..=21).contains(&t)
    }

    /// Opcodes between objects.
    pub mod opcode {
        /// Function library (7.0 GA).
        pub const FUNCTION2: u8 = 245;
        /// Function library (7.0 release candidates: name, engine, description, body).
        pub const FUNCTION: u8 = 246;
        /// Module auxiliary data.
        pub const MODULE_AUX: u8 = 247;
        /// LRU idle seconds of the next key.
        pub const IDLE: u8 = 248;
        /// LFU frequency of the next key.
        pub const FREQ: u8 = 249;
        /// AUX field.
        pub const AUX: u8 = 250;
        /// Database size hints.
        pub const RESIZEDB: u8 = 251;
        /// Expiry in ms of the next key.
        pub const EXPIRETIME_MS: u8 = 252;
        /// Expiry in seconds of the next key (old files).
        pub const EXPIRETIME: u8 = 253;
        /// Database selector.
        pub const SELECTDB: u8 = 254;
        /// End of file.
        pub const EOF: u8 = 255;
    }
}
