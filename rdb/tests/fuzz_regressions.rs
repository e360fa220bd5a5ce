//! Every input the fuzz targets (`rdb/fuzz`) ever crashed, hung or over-allocated on is kept in
//! `tests/fuzz-regressions/` and replayed here through the same checks the targets make: the file
//! reader, the DUMP and FUNCTION RESTORE payload decoders (as given and with the footer re-signed)
//! and the decode → encode → decode round trip. A file named `*.valid.bin` is a payload redis-server
//! accepts, so it must decode too. Inputs found by review rather than by a fuzzer are named
//! `review-*`.

use std::path::Path;

use zedis_rdb::{
    crc64, create_dump_payload, decode_dump_payload, decode_function_payload, DumpError,
    EncodingConfig, KeyMeta, Limits, RdbItem, RdbReader, RdbValue, RdbWriter, WriteOptions,
};

/// The bytes with the RDB version set to `version` (when given) and the CRC64 recomputed.
fn resign(data: &[u8], version: Option<u16>) -> Vec<u8> {
    let mut p = data.to_vec();
    let n = p.len();
    if let Some(v) = version {
        p[n - 10..n - 8].copy_from_slice(&v.to_le_bytes());
    }
    let crc = crc64(&p[..n - 8]);
    p[n - 8..].copy_from_slice(&crc.to_le_bytes());
    p
}

fn read_file(file: &[u8]) {
    let Ok(mut reader) = RdbReader::new(file, Limits::default()) else {
        return;
    };
    loop {
        let before = reader.offset();
        match reader.next_item() {
            Ok(Some(_)) => assert!(reader.offset() > before, "an item consumed no input"),
            Ok(None) => break,
            Err(e) => {
                assert!(e.offset <= file.len() as u64, "{e}");
                break;
            }
        }
    }
}

fn normalize(v: &RdbValue) -> RdbValue {
    match v {
        RdbValue::Set(m) => {
            let mut m = m.clone();
            m.sort();
            RdbValue::Set(m)
        }
        RdbValue::ZSet(p) => {
            let mut p = p.clone();
            p.sort_by(|a, b| a.0.cmp(&b.0));
            RdbValue::ZSet(p)
        }
        RdbValue::Stream(s) => {
            let mut s = s.clone();
            s.groups.sort_by(|a, b| a.name.cmp(&b.name));
            for g in &mut s.groups {
                g.pending.sort_by_key(|p| p.id);
                g.consumers.sort_by(|a, b| a.name.cmp(&b.name));
                for c in &mut g.consumers {
                    c.pending.sort();
                    c.active_time_ms = None;
                }
            }
            RdbValue::Stream(s)
        }
        other => other.clone(),
    }
}

fn roundtrip(value: &RdbValue) {
    let cfg = EncodingConfig::default();
    let ours = create_dump_payload(value, &cfg);
    let back = decode_dump_payload(&ours, Limits::default()).expect("our payload decodes");
    assert_eq!(normalize(&back), normalize(value));
    assert_eq!(create_dump_payload(&back, &cfg), ours);
    let mut w = RdbWriter::new(Vec::new(), WriteOptions::default()).expect("writer");
    w.select_db(0, 1, 0).expect("select");
    w.key(b"k", value, &KeyMeta::default()).expect("key");
    let file = w.finish().expect("finish");
    let items: Vec<RdbItem> = RdbReader::new(&file[..], Limits::default())
        .expect("header")
        .collect::<Result<_, _>>()
        .expect("our file reads back");
    match items.last() {
        Some(RdbItem::Key { value: v, .. }) => assert_eq!(normalize(v), normalize(value)),
        other => panic!("no key read back: {other:?}"),
    }
}

fn replay(data: &[u8]) {
    read_file(data);
    let mut file = b"REDIS0010".to_vec();
    file.extend_from_slice(data);
    read_file(&file);
    let _ = decode_dump_payload(data, Limits::default());
    let _ = decode_function_payload(data, Limits::default());
    if data.len() < 10 {
        return;
    }
    let signed = resign(data, None);
    let result = decode_dump_payload(&signed, Limits::default());
    let n = signed.len();
    if u16::from_le_bytes([signed[n - 10], signed[n - 9]]) <= 10 {
        assert!(!matches!(result, Err(DumpError::VersionOrChecksum)));
    }
    let _ = decode_function_payload(&signed, Limits::default());
    if let Ok(value) = decode_dump_payload(&resign(data, Some(10)), Limits::default()) {
        roundtrip(&value);
    }
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
