//! Round trip: whatever a (re-signed) DUMP payload decodes to encodes to a payload that decodes to
//! the same value, and to an RDB file that reads back the same value; encoding is deterministic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zedis_rdb::{
    crc64, create_dump_payload, decode_dump_payload, EncodingConfig, KeyMeta, Limits, RdbItem,
    RdbReader, RdbValue, RdbWriter, WriteOptions,
};

/// What survives a round trip: sets and sorted sets are unordered; stream groups, consumers and
/// PELs are written in name / ID order; 7.2's consumer active time is not written by 7.0.
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

fuzz_target!(|data: &[u8]| {
    if data.len() < 10 {
        return;
    }
    let mut payload = data.to_vec();
    let n = payload.len();
    payload[n - 10..n - 8].copy_from_slice(&10u16.to_le_bytes());
    let crc = crc64(&payload[..n - 8]);
    payload[n - 8..].copy_from_slice(&crc.to_le_bytes());
    let Ok(value) = decode_dump_payload(&payload, Limits::default()) else {
        return;
    };
    let cfg = EncodingConfig::default();
    let ours = create_dump_payload(&value, &cfg);
    let back = decode_dump_payload(&ours, Limits::default()).expect("our payload decodes");
    assert_eq!(normalize(&back), normalize(&value));
    assert_eq!(
        create_dump_payload(&back, &cfg),
        ours,
        "encoding is not deterministic"
    );

    let mut w = RdbWriter::new(Vec::new(), WriteOptions::default()).expect("writer");
    w.select_db(0, 1, 0).expect("select");
    w.key(b"k", &value, &KeyMeta::default()).expect("key");
    let file = w.finish().expect("finish");
    let items: Vec<RdbItem> = RdbReader::new(&file[..], Limits::default())
        .expect("header")
        .collect::<Result<_, _>>()
        .expect("our file reads back");
    match items.last() {
        Some(RdbItem::Key { value: v, .. }) => assert_eq!(normalize(v), normalize(&value)),
        other => panic!("no key read back: {other:?}"),
    }
});
