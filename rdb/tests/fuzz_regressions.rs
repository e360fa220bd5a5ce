//! Every input the fuzz targets (`rdb/fuzz`) ever crashed, hung or over-allocated on is kept in
//! `tests/fuzz-regressions/` and replayed here through the same checks the targets make: the file
//! reader, the DUMP and FUNCTION RESTORE payload decoders (as given and with the footer re-signed)
//! and the decode → encode → decode round trip. A file named `*.valid.bin` is a payload redis-server
//! accepts, so it must decode too. Inputs found by review rather than by a fuzzer are named
//! `review-*`.

use std::path::Path;

use zedis_rdb::{decode_dump_payload, fuzz_checks, Limits};

/// Every check the file, payload and round-trip targets make.
fn replay(data: &[u8]) {
    fuzz_checks::file(data);
    fuzz_checks::payload(data);
    fuzz_checks::roundtrip(data);
}

#[test]
fn fuzz_findings_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/fuzz-regressions") {
        let path = entry.expect("entry").path();
        let data = std::fs::read(&path).expect("read");
        eprintln!("replaying {}", path.display());
        replay(&data);
        if path.to_string_lossy().ends_with(".valid.bin") {
            if let Err(e) = decode_dump_payload(&data, Limits::default()) {
                panic!("{} must decode: {e}", path.display());
            }
        }
        n += 1;
    }
    assert!(n > 0, "no regression inputs in {}", dir.display());
}
