//! Errors of the codec: what went wrong, at which byte, in which key.

use std::fmt;

/// What went wrong while reading or writing RDB data.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    /// The underlying reader or writer failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The input ended in the middle of `0`.
    #[error("unexpected end of input while reading {0}")]
    Truncated(&'static str),
    /// The file does not start with `REDIS` and four digits.
    #[error("wrong signature: not an RDB file")]
    BadMagic,
    /// The file's RDB version is newer than this codec (or zero).
    #[error("unsupported RDB version {0}")]
    UnsupportedVersion(u32),
    /// The data is not valid RDB: the text says which part.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// A declared length passed one of the [`Limits`](crate::Limits).
    #[error("{what} of {len} exceeds the limit of {max}")]
    Limit {
        /// Which length.
        what: &'static str,
        /// The declared length.
        len: u64,
        /// The limit in force.
        max: u64,
    },
    /// The value of a module type, which a module-free server cannot load.
    #[error("module data can't be loaded: no matching module type '{0}'")]
    Module(String),
    /// The CRC64 trailer does not match the data.
    #[error("wrong CRC64 checksum: file says {expected:016x}, data gives {computed:016x}")]
    Checksum {
        /// The checksum stored in the file.
        expected: u64,
        /// The checksum of the bytes read.
        computed: u64,
    },
    /// An opcode or object type this format does not define.
    #[error("unknown RDB type or opcode {0}")]
    UnknownType(u8),
}

/// An error with where it happened: the byte offset in the input and, inside a key's value, the key.
#[derive(Debug)]
pub struct RdbError {
    /// Byte offset from the start of the input where the faulty item starts or the read failed.
    pub offset: u64,
    /// The key whose value was being read, if any.
    pub key: Option<Vec<u8>>,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl RdbError {
    /// An error at `offset`, outside any key.
    pub fn new(offset: u64, kind: ErrorKind) -> Self {
        RdbError {
            offset,
            key: None,
            kind,
        }
    }

    /// A corruption error at `offset` with a description.
    pub fn corrupt(offset: u64, what: impl Into<String>) -> Self {
        Self::new(offset, ErrorKind::Corrupt(what.into()))
    }

    /// The same error, naming `key` if no key was named yet.
    pub fn in_key(mut self, key: &[u8]) -> Self {
        if self.key.is_none() {
            self.key = Some(key.to_vec());
        }
        self
    }
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.offset)?;
        if let Some(key) = &self.key {
            write!(f, " (key '{}')", String::from_utf8_lossy(key))?;
        }
        Ok(())
    }
}

impl std::error::Error for RdbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.kind)
    }
}

/// Result of the codec.
pub type Result<T> = std::result::Result<T, RdbError>;

/// Why a DUMP payload was refused, with the error text RESTORE replies (Redis 7.0's).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DumpError {
    /// Too short, a newer RDB version, or a CRC64 mismatch.
    #[error("ERR DUMP payload version or checksum are wrong")]
    VersionOrChecksum,
    /// The footer is fine but the object inside is not valid (Redis's sanitization refuses it).
    #[error("ERR Bad data format")]
    BadFormat,
}

/// Why a FUNCTION RESTORE payload was refused, with Redis 7.0's error texts.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FunctionDumpError {
    /// Too short, a newer RDB version, or a CRC64 mismatch.
    #[error("ERR DUMP payload version or checksum are wrong")]
    VersionOrChecksum,
    /// The opcode byte could not be read.
    #[error("ERR can not read data type")]
    NoType,
    /// A record does not start with a function opcode.
    #[error("ERR given type is not a function")]
    NotAFunction,
    /// A record's strings do not load (the text names the part, as `rdbFunctionLoad` does).
    #[error("ERR {0}")]
    Load(&'static str),
}
