//! The checks the fuzz targets (`rdb/fuzz`) make on an input, in one place, so the regression test
//! (`tests/fuzz_regressions.rs`) replays a saved input through exactly what found it. Each function
//! panics when a check fails, which is what a fuzzer reports.

use crate::listpack::ListpackBuilder;
use crate::{
    crc64, create_dump_payload, decode_dump_payload, decode_function_payload, rdb_type as t,
    DumpError, EncodingConfig, KeyMeta, Limits, RdbItem, RdbReader, RdbValue, RdbWriter,
    WriteOptions,
};

/// `data` as a whole RDB file, then behind a `REDIS0010` header (so mutated bodies need no intact
/// header): reading item by item never panics, never loops without consuming input, and an error names
/// an offset inside the input.
pub fn file(data: &[u8]) {
    read_all(data);
    if !data.starts_with(b"REDIS") {
        let mut file = b"REDIS0010".to_vec();
        file.extend_from_slice(data);
        read_all(&file);
    }
}

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

/// `data` as a DUMP payload and as a FUNCTION DUMP payload, as given and with its CRC64 footer
/// recomputed (so mutated bodies reach the object decoder): decoding never panics, and a payload with
/// a good footer and a known version is accepted or refused as bad data, nothing else.
pub fn payload(data: &[u8]) {
    let _ = decode_dump_payload(data, Limits::default());
    let _ = decode_function_payload(data, Limits::default());
    if data.len() < 10 {
        return;
    }
    let signed = resign(data, None);
    let n = signed.len();
    let version = u16::from_le_bytes([signed[n - 10], signed[n - 9]]);
    let result = decode_dump_payload(&signed, Limits::default());
    if version <= 10 {
        assert!(!matches!(result, Err(DumpError::VersionOrChecksum)));
    }
    let _ = decode_function_payload(&signed, Limits::default());
}

/// `data` re-signed as a version-10 DUMP payload: whatever decodes passes [`value_roundtrip`].
pub fn roundtrip(data: &[u8]) {
    if data.len() < 10 {
        return;
    }
    if let Ok(value) = decode_dump_payload(&resign(data, Some(10)), Limits::default()) {
        value_roundtrip(&value);
    }
}

/// Structure-aware: `data` is a type selector byte and a list of elements separated by 0xFF, packed
/// into a valid listpack inside a hash, sorted set, set, quicklist or stream payload, so that mutations
/// reach what lies behind listpack validation (pairs, members, stream master entries, flags, ID deltas
/// and counts). Whatever decodes passes [`value_roundtrip`].
pub fn listpack_objects(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let mut lp = ListpackBuilder::new();
    let elements: Vec<&[u8]> = rest.split(|&b| b == 0xFF).collect();
    for e in &elements {
        lp.push_str(e);
    }
    let count = elements
        .first()
        .and_then(|e| std::str::from_utf8(e).ok()?.parse::<u64>().ok());
    let lp = lp.finish();
    let mut p = Vec::new();
    match kind % 5 {
        0 => {
            p.push(t::HASH_LISTPACK);
            put_string(&mut p, &lp);
        }
        1 => {
            p.push(t::ZSET_LISTPACK);
            put_string(&mut p, &lp);
        }
        2 => {
            p.push(t::SET_LISTPACK);
            put_string(&mut p, &lp);
        }
        3 => {
            p.push(t::LIST_QUICKLIST_2);
            put_len(&mut p, 1);
            put_len(&mut p, 2);
            put_string(&mut p, &lp);
        }
        _ => {
            // One node with master ID 5-5; the stream length is the node's live count.
            p.push(t::STREAM_LISTPACKS_2);
            put_len(&mut p, 1);
            let mut master = [0u8; 16];
            master[7] = 5;
            master[15] = 5;
            put_string(&mut p, &master);
            put_string(&mut p, &lp);
            put_len(&mut p, count.unwrap_or(0));
            for id in [u64::MAX, 0, 5, 5, 0, 0] {
                put_len(&mut p, id);
            }
            put_len(&mut p, 7); // entries added
            put_len(&mut p, 0); // groups
        }
    }
    p.extend_from_slice(&[0; 10]);
    if let Ok(value) = decode_dump_payload(&resign(&p, Some(10)), Limits::default()) {
        value_roundtrip(&value);
    }
}

fn put_len(out: &mut Vec<u8>, n: u64) {
    out.push(0x81);
    out.extend_from_slice(&n.to_be_bytes());
}

fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    put_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// `data` (at least 10 bytes) with its RDB version set to `version` (when given) and its CRC64 footer
/// recomputed.
pub fn resign(data: &[u8], version: Option<u16>) -> Vec<u8> {
    let mut p = data.to_vec();
    let n = p.len();
    if let Some(v) = version {
        p[n - 10..n - 8].copy_from_slice(&v.to_le_bytes());
    }
    let crc = crc64(&p[..n - 8]);
    p[n - 8..].copy_from_slice(&crc.to_le_bytes());
    p
}

/// A decoded value encodes to a payload that decodes to the same value, deterministically, and to an
/// RDB file that reads back the same value.
pub fn value_roundtrip(value: &RdbValue) {
    let cfg = EncodingConfig::default();
    let ours = create_dump_payload(value, &cfg);
    let back = decode_dump_payload(&ours, Limits::default()).expect("our payload decodes");
    assert_eq!(normalize(&back), normalize(value));
    assert_eq!(
        create_dump_payload(&back, &cfg),
        ours,
        "encoding is not deterministic"
    );
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

/// What survives a round trip: sets and sorted sets are unordered; stream groups, consumers and PELs
/// are written in name / ID order; 7.2's consumer active time is not written by 7.0.
pub fn normalize(v: &RdbValue) -> RdbValue {
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
