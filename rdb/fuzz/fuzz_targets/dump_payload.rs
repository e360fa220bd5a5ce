//! Arbitrary bytes as a DUMP payload and as a FUNCTION DUMP payload
//! (`zedis_rdb::fuzz_checks::payload`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zedis_rdb::fuzz_checks::payload(data));
