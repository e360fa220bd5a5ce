//! Arbitrary bytes as a DUMP payload (object + RDB version + CRC64) and as a FUNCTION DUMP payload:
//! decoding never panics. The bytes are decoded as given and once more with their CRC64 footer
//! recomputed, so that mutated bodies reach the object decoder and its deep sanitization.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zedis_rdb::{crc64, decode_dump_payload, decode_function_payload, DumpError, Limits};

fuzz_target!(|data: &[u8]| {
    let _ = decode_dump_payload(data, Limits::default());
    let _ = decode_function_payload(data, Limits::default());
    if data.len() < 10 {
        return;
    }
    let mut signed = data.to_vec();
    let n = signed.len();
    let crc = crc64(&signed[..n - 8]);
    signed[n - 8..].copy_from_slice(&crc.to_le_bytes());
    let version = u16::from_le_bytes([signed[n - 10], signed[n - 9]]);
    let result = decode_dump_payload(&signed, Limits::default());
    if version <= 10 {
        // A payload with a good footer is accepted or refused as bad data, nothing else.
        assert!(!matches!(result, Err(DumpError::VersionOrChecksum)));
    }
    let _ = decode_function_payload(&signed, Limits::default());
});
