//! Structure-aware listpack objects (`zedis_rdb::fuzz_checks::listpack_objects`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zedis_rdb::fuzz_checks::listpack_objects(data));
