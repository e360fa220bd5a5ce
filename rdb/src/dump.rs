//! DUMP/RESTORE payloads: `type | object | RDB version (u16 LE) | CRC64 (u64 LE)`.

use crate::crc64::crc64;
use crate::decode::{is_empty, read_object};
use crate::encode::{write_object, EncodingConfig};
use crate::error::DumpError;
use crate::file::RDB_VERSION;
use crate::input::{Input, Limits};
use crate::rdb_type as t;
use crate::value::RdbValue;

/// The payload DUMP returns for `value` (`createDumpPayload`).
pub fn create_dump_payload(value: &RdbValue, cfg: &EncodingConfig) -> Vec<u8> {
    let mut out = vec![0u8];
    out[0] = write_object(&mut out, value, cfg);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Checks the footer (`verifyDumpPayload`): at least 10 bytes, a version not newer than ours and a
/// matching CRC64. Returns the payload's RDB version.
pub fn verify_dump_payload(payload: &[u8]) -> Result<u16, DumpError> {
    if payload.len() < 10 {
        return Err(DumpError::VersionOrChecksum);
    }
    let footer = &payload[payload.len() - 10..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > RDB_VERSION {
        return Err(DumpError::VersionOrChecksum);
    }
    let mut stored = [0u8; 8];
    stored.copy_from_slice(&footer[2..]);
    if crc64(&payload[..payload.len() - 8]) != u64::from_le_bytes(stored) {
        return Err(DumpError::VersionOrChecksum);
    }
    Ok(version)
}

/// Verifies and decodes a payload for RESTORE, with deep sanitization: every listpack, ziplist and
/// intset is fully validated, duplicates and empty values are refused.
///
/// As Redis's `restoreCommand`, the object is read from the payload as a whole, footer included:
/// bytes left between the object and the footer are ignored, and an object whose last string runs
/// into the footer loads with those bytes (redis-server 7.0 accepts both, so RESTORE does too).
pub fn decode_dump_payload(payload: &[u8], limits: Limits) -> Result<RdbValue, DumpError> {
    verify_dump_payload(payload)?;
    let (&ty, rest) = payload.split_first().ok_or(DumpError::BadFormat)?;
    if !t::is_object_type(ty) {
        return Err(DumpError::BadFormat);
    }
    let mut input = Input::new(rest, limits, false);
    let value = read_object(&mut input, ty).map_err(|_| DumpError::BadFormat)?;
    if is_empty(&value) {
        return Err(DumpError::BadFormat);
    }
    Ok(value)
}
