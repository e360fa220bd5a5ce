//! A corrupt or truncated RDB file gets an error naming the byte offset and, inside a value, the
//! key: checked at every truncation point and for each kind of corruption.

use zedis_rdb::listpack::ListpackBuilder;
use zedis_rdb::{
    ErrorKind, KeyMeta, Limits, RdbError, RdbReader, RdbValue, RdbWriter, WriteOptions,
};

const VICTIM: &[u8] = b"victim";

fn hash() -> RdbValue {
    RdbValue::Hash(vec![
        (b"field".to_vec(), b"value".to_vec()),
        (b"n".to_vec(), b"17".to_vec()),
    ])
}

/// A file with a key before and after the victim; returns it, the victim's listpack offset and the
/// listpack's length.
fn file() -> (Vec<u8>, usize, usize) {
    let mut w = RdbWriter::new(Vec::new(), WriteOptions::default()).expect("writer");
    w.aux(b"redis-ver", b"7.0.15").expect("aux");
    w.select_db(0, 3, 0).expect("select");
    let meta = KeyMeta::default();
    w.key(b"before", &RdbValue::String(b"x".to_vec()), &meta)
        .expect("key");
    w.key(VICTIM, &hash(), &meta).expect("key");
    w.key(b"after", &RdbValue::String(b"y".to_vec()), &meta)
        .expect("key");
    let file = w.finish().expect("finish");
    let mut lp = ListpackBuilder::new();
    for s in [&b"field"[..], b"value", b"n", b"17"] {
        lp.push_str(s);
    }
    let lp = lp.finish();
    let at = file
        .windows(lp.len())
        .position(|w| w == lp.as_slice())
        .expect("listpack in the file");
    (file, at, lp.len())
}

/// The first error reading `file`.
fn first_error(file: &[u8]) -> RdbError {
    let mut r = match RdbReader::new(file, Limits::default()) {
        Ok(r) => r,
        Err(e) => return e,
    };
    loop {
        match r.next_item() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("read to the end without an error"),
            Err(e) => return e,
        }
    }
}

#[test]
fn every_truncation_names_its_offset_and_key() {
    let (file, lp_at, lp_len) = file();
    // The victim's value (the listpack's length byte, then the listpack) follows its name.
    let value_at = lp_at - 1;
    for cut in 0..file.len() {
        let e = first_error(&file[..cut]);
        assert!(matches!(e.kind, ErrorKind::Truncated(_)), "cut {cut}: {e}");
        assert_eq!(e.offset, cut as u64, "cut {cut}: {e}");
        let in_value = (value_at..lp_at + lp_len).contains(&cut);
        assert_eq!(e.key.as_deref() == Some(VICTIM), in_value, "cut {cut}: {e}");
        assert!(e.to_string().contains(&format!("at byte {cut}")), "{e}");
    }
}

#[test]
fn corrupt_values_name_the_blob_and_key() {
    let (file, lp_at, _) = file();
    // The listpack's element count (byte 4) says 5: the listpack's length byte is where it fails.
    let mut bad = file.clone();
    bad[lp_at + 4] = 5;
    let e = first_error(&bad);
    assert_eq!(e.offset, (lp_at - 1) as u64, "{e}");
    assert_eq!(e.key.as_deref(), Some(VICTIM));
    assert_eq!(
        e.to_string(),
        format!(
            "corrupt data: hash listpack: listpack header says 5 elements, found 4 at byte {} \
             (key 'victim')",
            lp_at - 1
        )
    );

    // A type byte that is neither an object type nor an opcode: no key was read yet.
    let type_at = lp_at - 1 - 1 - VICTIM.len() - 1;
    let mut bad = file.clone();
    bad[type_at] = 8; // not an object type nor an opcode
    let e = first_error(&bad);
    assert!(matches!(e.kind, ErrorKind::UnknownType(8)), "{e}");
    assert_eq!(e.offset, type_at as u64);
    assert_eq!(e.key, None);
}

#[test]
fn header_and_trailer_errors() {
    let (file, _, _) = file();
    let mut bad = file.clone();
    bad[0] = b'X';
    let e = first_error(&bad);
    assert!(matches!(e.kind, ErrorKind::BadMagic));
    assert_eq!(e.offset, 0);
    let mut newer = file.clone();
    newer[5..9].copy_from_slice(b"0012");
    let e = first_error(&newer);
    assert!(matches!(e.kind, ErrorKind::UnsupportedVersion(12)), "{e}");
    let mut bad = file.clone();
    let n = bad.len();
    bad[n - 1] ^= 0x80;
    let e = first_error(&bad);
    assert!(matches!(e.kind, ErrorKind::Checksum { .. }), "{e}");
    assert_eq!(e.offset, n as u64);
}
