//! Property tests: every value kind round-trips through an RDB file and through DUMP payloads under
//! several encoding thresholds; arbitrary bytes never panic the reader or the payload verifier.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use zedis_rdb::fuzz_checks::normalize;
use zedis_rdb::{
    create_dump_payload, decode_dump_payload, verify_dump_payload, Consumer, ConsumerGroup,
    DumpError, EncodingConfig, KeyMeta, Limits, PendingEntry, RdbItem, RdbReader, RdbValue,
    RdbWriter, Stream, StreamEntry, StreamId, WriteOptions,
};

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<i64>().prop_map(|v| v.to_string().into_bytes()),
        (0u8..20).prop_map(|v| v.to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..24),
        proptest::collection::vec(prop_oneof![Just(b'x'), Just(b'y')], 0..200),
        proptest::collection::vec(any::<u8>(), 60..70),
    ]
}

fn stream() -> impl Strategy<Value = Stream> {
    let ids = proptest::collection::btree_set((0u64..1000, 0u64..5), 0..120);
    let fields = proptest::collection::vec((bytes(), bytes()), 1..4);
    (
        ids,
        proptest::collection::vec(fields, 120),
        any::<bool>(),
        proptest::collection::vec((bytes(), -1i64..50, 0usize..3), 0..3),
    )
        .prop_map(|(ids, mut fields, same, groups)| {
            let entries: Vec<StreamEntry> = ids
                .into_iter()
                .enumerate()
                .map(|(i, (ms, seq))| {
                    let f = if same {
                        fields[0].clone()
                    } else {
                        std::mem::take(&mut fields[i])
                    };
                    StreamEntry {
                        id: StreamId { ms, seq },
                        fields: f,
                    }
                })
                .collect();
            let last_id = entries
                .last()
                .map(|e| StreamId {
                    ms: e.id.ms + 1,
                    seq: 0,
                })
                .unwrap_or_default();
            let mut seen = BTreeSet::new();
            let groups = groups
                .into_iter()
                .filter(|(name, _, _)| seen.insert(name.clone()))
                .map(|(name, entries_read, nconsumers)| {
                    let pending: Vec<PendingEntry> = entries
                        .iter()
                        .step_by(3)
                        .map(|e| PendingEntry {
                            id: e.id,
                            delivery_time_ms: 1_700_000_000_000 + e.id.ms as i64,
                            delivery_count: e.id.seq + 1,
                        })
                        .collect();
                    let mut consumers: Vec<Consumer> = (0..nconsumers.max(1))
                        .map(|c| Consumer {
                            name: format!("c{c}").into_bytes(),
                            seen_time_ms: 1_700_000_000_000 + c as i64,
                            active_time_ms: None,
                            pending: vec![],
                        })
                        .collect();
                    if nconsumers == 0 {
                        consumers.truncate(usize::from(!pending.is_empty()));
                    }
                    let n = consumers.len().max(1);
                    for (i, p) in pending.iter().enumerate() {
                        if let Some(c) = consumers.get_mut(i % n) {
                            c.pending.push(p.id);
                        }
                    }
                    ConsumerGroup {
                        name,
                        last_id,
                        entries_read,
                        pending,
                        consumers,
                    }
                })
                .collect();
            Stream {
                first_id: entries.first().map(|e| e.id).unwrap_or_default(),
                entries_added: entries.len() as u64 + 3,
                max_deleted_id: StreamId { ms: 0, seq: 7 },
                last_id,
                entries,
                groups,
            }
        })
}

fn value() -> impl Strategy<Value = RdbValue> {
    let uniq = |v: Vec<Vec<u8>>| {
        v.into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    };
    prop_oneof![
        bytes().prop_map(RdbValue::String),
        proptest::collection::vec(bytes(), 1..300).prop_map(RdbValue::List),
        proptest::collection::vec(bytes(), 1..200).prop_map(move |v| RdbValue::Set(uniq(v))),
        proptest::collection::vec(
            any::<i64>().prop_map(|v| v.to_string().into_bytes()),
            1..200
        )
        .prop_map(move |v| RdbValue::Set(uniq(v))),
        proptest::collection::btree_map(bytes(), bytes(), 1..200)
            .prop_map(|m| RdbValue::Hash(m.into_iter().collect())),
        proptest::collection::btree_map(
            bytes(),
            prop_oneof![
                any::<f64>().prop_filter("not nan", |f| !f.is_nan()),
                (-100i32..100).prop_map(f64::from),
                Just(f64::INFINITY),
                Just(-0.0)
            ],
            1..200
        )
        .prop_map(|m| RdbValue::ZSet(m.into_iter().collect())),
        stream().prop_map(|s| RdbValue::Stream(Box::new(s))),
    ]
}

fn configs() -> impl Strategy<Value = EncodingConfig> {
    (
        any::<bool>(),
        prop_oneof![Just(-2i64), Just(-1), Just(3), Just(128)],
        0usize..10,
        0usize..200,
        1usize..100,
        1usize..300,
    )
        .prop_map(
            |(compression, list, small, entries, value, node_bytes)| EncodingConfig {
                compression,
                list_max_listpack_size: list,
                set_max_intset_entries: entries,
                hash_max_listpack_entries: entries,
                hash_max_listpack_value: value,
                zset_max_listpack_entries: entries,
                zset_max_listpack_value: value,
                stream_node_max_bytes: node_bytes * 20,
                stream_node_max_entries: small,
                list_packed_threshold_bytes: if small > 5 { 150 } else { 1 << 30 },
            },
        )
}

fn zset_bits_eq(a: &RdbValue, b: &RdbValue) -> bool {
    // Compare scores by value (-0 == 0 in Redis's listpack text) and everything else exactly.
    format!("{:?}", normalize(a)) == format!("{:?}", normalize(b)) || a == b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn dump_payload_roundtrip(v in value(), cfg in configs()) {
        let payload = create_dump_payload(&v, &cfg);
        prop_assert_eq!(verify_dump_payload(&payload), Ok(10));
        let back = decode_dump_payload(&payload, Limits::default()).unwrap();
        prop_assert!(zset_bits_eq(&normalize(&back), &normalize(&v)), "{:?} != {:?}", back, v);
    }

    #[test]
    fn rdb_file_roundtrip(values in proptest::collection::vec((bytes(), value(), any::<Option<i64>>(), any::<Option<u8>>()), 1..6), cfg in configs()) {
        let mut keys = BTreeMap::new();
        for (k, v, exp, freq) in values {
            keys.insert(k, (v, KeyMeta { expire_ms: exp, idle_secs: None, lfu_freq: freq }));
        }
        let mut w = RdbWriter::new(Vec::new(), WriteOptions { encoding: cfg, checksum: true }).unwrap();
        w.aux(b"redis-ver", b"7.0.15").unwrap();
        w.function(b"#!lua name=lib\nredis.register_function('f', function() return 1 end)").unwrap();
        w.select_db(3, keys.len() as u64, 0).unwrap();
        for (k, (v, m)) in &keys {
            w.key(k, v, m).unwrap();
        }
        let file = w.finish().unwrap();
        let mut r = RdbReader::new(&file[..], Limits::default()).unwrap();
        let mut got = BTreeMap::new();
        let mut functions = 0;
        while let Some(item) = r.next_item().unwrap() {
            match item {
                RdbItem::Key { key, value, meta } => { got.insert(key, (value, meta)); }
                RdbItem::Function(_) => functions += 1,
                _ => {}
            }
        }
        prop_assert_eq!(functions, 1);
        prop_assert_eq!(got.len(), keys.len());
        for (k, (v, m)) in &keys {
            let (gv, gm) = &got[k];
            prop_assert_eq!(gm, m);
            prop_assert!(zset_bits_eq(&normalize(gv), &normalize(v)));
        }
        // A flipped byte in the middle never panics; one in the trailer is a checksum error.
        let mut bad = file.clone();
        let i = file.len() / 2;
        bad[i] ^= 0x20;
        if let Ok(mut r) = RdbReader::new(&bad[..], Limits::default()) {
            while let Ok(Some(_)) = r.next_item() {}
        }
        let mut bad = file.clone();
        let n = bad.len();
        bad[n - 3] ^= 1;
        let mut r = RdbReader::new(&bad[..], Limits::default()).unwrap();
        let err = loop {
            match r.next_item() {
                Ok(Some(_)) => {}
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        let is_checksum = matches!(err.map(|e| e.kind), Some(zedis_rdb::ErrorKind::Checksum { .. }));
        prop_assert!(is_checksum);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut file = b"REDIS0010".to_vec();
        file.extend_from_slice(&data);
        if let Ok(mut r) = RdbReader::new(&file[..], Limits::default()) {
            for _ in 0..1000 {
                match r.next_item() { Ok(Some(_)) => {}, _ => break }
            }
        }
        let _ = verify_dump_payload(&data);
        let _ = decode_dump_payload(&data, Limits::default());
    }

    #[test]
    fn mutated_files_never_panic(v in value(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        let mut w = RdbWriter::new(Vec::new(), WriteOptions::default()).unwrap();
        w.select_db(0, 1, 0).unwrap();
        w.key(b"key", &v, &KeyMeta::default()).unwrap();
        let mut file = w.finish().unwrap();
        for (pos, byte) in flips {
            let i = 9 + pos % (file.len() - 9);
            file[i] = byte;
        }
        file.truncate(9 + cut % (file.len() - 8));
        if let Ok(mut r) = RdbReader::new(&file[..], Limits::default()) {
            for _ in 0..100 {
                match r.next_item() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        prop_assert!(e.offset <= file.len() as u64);
                        break;
                    }
                }
            }
        }
    }

    #[test]
    fn corrupt_payload_bodies_are_refused_not_panicking(v in value(), pos in any::<usize>(), byte in any::<u8>()) {
        let mut payload = create_dump_payload(&v, &EncodingConfig::default());
        let body_len = payload.len() - 10;
        let i = pos % body_len;
        payload[i] = byte;
        // Re-sign so that the checksum passes and only sanitization stands in the way.
        let crc = zedis_rdb::crc64(&payload[..payload.len() - 8]);
        let n = payload.len();
        payload[n - 8..].copy_from_slice(&crc.to_le_bytes());
        match decode_dump_payload(&payload, Limits::default()) {
            Ok(_) | Err(DumpError::BadFormat) => {}
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }
}

#[test]
fn huge_declared_lengths_allocate_nothing() {
    // A string claiming 2^40 bytes, a set claiming 2^60 members: refused by limits or truncation.
    let mut file = b"REDIS0010".to_vec();
    file.extend_from_slice(&[0, 1, b'k', 0x81, 0, 0, 1, 0, 0, 0, 0, 0]);
    let mut r = RdbReader::new(&file[..], Limits::default()).unwrap();
    let e = r.next_item().unwrap_err();
    assert!(e.to_string().contains("exceeds the limit"), "{e}");
    assert_eq!(e.key.as_deref(), Some(&b"k"[..]));
    let mut file = b"REDIS0010".to_vec();
    file.extend_from_slice(&[2, 1, b'k', 0x80, 0x7f, 0xff, 0xff, 0xff, 1, b'a']);
    let mut r = RdbReader::new(&file[..], Limits::default()).unwrap();
    let e = r.next_item().unwrap_err();
    assert!(e.to_string().contains("unexpected end of input"), "{e}");
}

#[test]
fn payload_version_rules() {
    let v = RdbValue::String(b"hello".to_vec());
    let mut p = create_dump_payload(&v, &EncodingConfig::default());
    assert_eq!(
        p,
        [0, 5, b'h', b'e', b'l', b'l', b'o', 10, 0]
            .iter()
            .copied()
            .chain(p[9..].iter().copied())
            .collect::<Vec<_>>()
    );
    let n = p.len();
    p[n - 10] = 11;
    assert_eq!(
        decode_dump_payload(&p, Limits::default()),
        Err(DumpError::VersionOrChecksum)
    );
    assert_eq!(
        DumpError::VersionOrChecksum.to_string(),
        "ERR DUMP payload version or checksum are wrong"
    );
    assert_eq!(
        verify_dump_payload(b"short"),
        Err(DumpError::VersionOrChecksum)
    );
}
