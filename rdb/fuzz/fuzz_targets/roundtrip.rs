//! Round trip of whatever a re-signed DUMP payload decodes to (`zedis_rdb::fuzz_checks::roundtrip`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zedis_rdb::fuzz_checks::roundtrip(data));
