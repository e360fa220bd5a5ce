//! FUNCTION DUMP / RESTORE payloads in Redis's format, through the RDB codec (`zedis-rdb`): for each library
//! the RDB opcode 245 (`RDB_OPCODE_FUNCTION2`) and its code as an RDB string (LZF-compressed when that is
//! shorter, as Redis with `rdbcompression yes`), then the RDB version and the CRC64 of everything before it.
//! Restoring accepts what Redis 7.0.15 accepts, the release candidates' opcode 246 included.

use zedis_rdb::{create_function_payload, decode_function_payload, Limits};

/// Builds a payload holding each library's code, byte-identical to Redis's FUNCTION DUMP.
pub fn encode<'a>(codes: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    create_function_payload(codes, true)
}

/// The libraries' code in `payload`, or why it cannot be restored (Redis's error text, `ERR ` included).
pub fn decode(payload: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    decode_function_payload(payload, Limits::default()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_checksum() {
        let long = b"#!lua name=b\n".repeat(40);
        let libs: [&[u8]; 3] = [
            b"#!lua name=a\nredis.register_function('f', function() return 1 end)",
            b"x",
            &long,
        ];
        let payload = encode(libs.iter().copied());
        assert!(
            payload.len() < long.len(),
            "a repetitive library is compressed"
        );
        assert_eq!(
            decode(&payload).unwrap(),
            libs.iter().map(|l| l.to_vec()).collect::<Vec<_>>()
        );
        let mut bad = payload.clone();
        bad[3] ^= 1;
        assert_eq!(
            decode(&bad).unwrap_err(),
            "ERR DUMP payload version or checksum are wrong"
        );
        assert!(decode(b"short").is_err());
    }
}
