//! Arbitrary bytes as a whole RDB file (`zedis_rdb::fuzz_checks::file`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zedis_rdb::fuzz_checks::file(data));
