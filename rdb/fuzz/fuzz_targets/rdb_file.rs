//! Arbitrary bytes as a whole RDB file: reading item by item never panics, never loops without
//! consuming input, and an error names an offset inside the input. The same bytes behind a
//! `REDIS0010` header are read too, so mutations of the body need not keep the header intact.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zedis_rdb::{Limits, RdbReader};

fn read_all(file: &[u8]) {
    let Ok(mut reader) = RdbReader::new(file, Limits::default()) else {
        return;
    };
    loop {
        let before = reader.offset();
        match reader.next_item() {
            Ok(Some(_)) => assert!(reader.offset() > before, "an item consumed no input"),
            Ok(None) => break,
            Err(e) => {
                assert!(
                    e.offset <= file.len() as u64,
                    "{e} past {} bytes",
                    file.len()
                );
                let _ = e.to_string();
                break;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    read_all(data);
    if !data.starts_with(b"REDIS") {
        let mut file = b"REDIS0010".to_vec();
        file.extend_from_slice(data);
        read_all(&file);
    }
});
