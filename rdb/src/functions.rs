//! Function libraries: the RDB functions section and FUNCTION DUMP / RESTORE payloads.
//!
//! Redis 7.0 writes each library as `RDB_OPCODE_FUNCTION2` (245) followed by its code as an RDB
//! string (`#!lua name=lib\n...`); a FUNCTION DUMP payload is those records, then the RDB version
//! (u16 LE) and the CRC64 of everything before (u64 LE). Files of the 7.0 release candidates used
//! `RDB_OPCODE_FUNCTION` (246): name, engine, an optional description and the body as separate
//! strings. Redis 7.0.15 still loads those, rebuilding the code as `#!<engine> name=<name>\n<body>`
//! (`rdbFunctionLoad`), and so does this reader; Redis 7.2 refuses them.

use std::io::Read;

use crate::crc64::crc64;
use crate::dump::verify_dump_payload;
use crate::encode::write_string;
use crate::error::{FunctionDumpError, RdbError};
use crate::file::RDB_VERSION;
use crate::input::{Input, Limits};
use crate::rdb_type::opcode;

/// Why a function record did not load: the codec's error and Redis's text for the part that failed
/// (`Failed loading library payload`, `Failed loading library name`, ...).
pub type FunctionLoadError = (RdbError, &'static str);

/// Reads the record after a function opcode (`FUNCTION2` or the pre-GA `FUNCTION`) and returns
/// the library code.
pub fn read_function<R: Read>(
    input: &mut Input<R>,
    op: u8,
) -> std::result::Result<Vec<u8>, FunctionLoadError> {
    let mut string =
        |what: &'static str, redis: &'static str| input.string(what).map_err(|e| (e, redis));
    if op == opcode::FUNCTION2 {
        return string("function library code", "Failed loading library payload");
    }
    let name = string("function library name", "Failed loading library name")?;
    let engine = string("function engine name", "Failed loading engine name")?;
    let has_desc = input
        .len("function description indicator")
        .map_err(|e| (e, "Failed loading library description indicator"))?;
    if has_desc != 0 {
        input
            .string("function description")
            .map_err(|e| (e, "Failed loading library description"))?;
    }
    let body = input
        .string("function library body")
        .map_err(|e| (e, "Failed loading library blob"))?;
    let mut code = Vec::with_capacity(engine.len() + name.len() + body.len() + 9);
    code.extend_from_slice(b"#!");
    code.extend_from_slice(&engine);
    code.extend_from_slice(b" name=");
    code.extend_from_slice(&name);
    code.push(b'\n');
    code.extend_from_slice(&body);
    Ok(code)
}

/// The payload FUNCTION DUMP returns for these libraries' code (`functionDumpCommand`; library
/// code goes through `rdbSaveRawString`, so long code is LZF-compressed when `compression`).
pub fn create_function_payload<'a>(
    codes: impl IntoIterator<Item = &'a [u8]>,
    compression: bool,
) -> Vec<u8> {
    let mut out = Vec::new();
    for code in codes {
        out.push(opcode::FUNCTION2);
        write_string(&mut out, code, compression);
    }
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes a FUNCTION RESTORE payload into the libraries' code, in payload order, with Redis's
/// refusals: a bad footer, a record that is not a function, a record that does not load. As
/// `functionRestoreCommand`, records are read while more than the 10 footer bytes remain, from the
/// payload as a whole (a record may run into the footer).
pub fn decode_function_payload(
    payload: &[u8],
    limits: Limits,
) -> std::result::Result<Vec<Vec<u8>>, FunctionDumpError> {
    verify_dump_payload(payload).map_err(|_| FunctionDumpError::VersionOrChecksum)?;
    let body_len = (payload.len() - 10) as u64;
    let mut input = Input::new(payload, limits, false);
    let mut libraries = Vec::new();
    while input.offset() < body_len {
        let op = input
            .u8("function opcode")
            .map_err(|_| FunctionDumpError::NoType)?;
        if op != opcode::FUNCTION2 && op != opcode::FUNCTION {
            return Err(FunctionDumpError::NotAFunction);
        }
        let code =
            read_function(&mut input, op).map_err(|(_, redis)| FunctionDumpError::Load(redis))?;
        libraries.push(code);
    }
    Ok(libraries)
}
