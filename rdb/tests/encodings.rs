//! One property test per RDB encoding: values shaped to get that encoding are written in it (the
//! type byte, and for strings the encoding byte, are checked) and read back equal, through a DUMP
//! payload and through an RDB file. Redis 7.2's set listpack, which 7.0 never writes, is decoded
//! from listpacks built here.

use proptest::prelude::*;
use zedis_rdb::fuzz_checks::normalize;
use zedis_rdb::listpack::ListpackBuilder;
use zedis_rdb::{
    crc64, create_dump_payload, decode_dump_payload, rdb_type as t, Consumer, ConsumerGroup,
    EncodingConfig, KeyMeta, Limits, PendingEntry, RdbItem, RdbReader, RdbValue, RdbWriter, Stream,
    StreamEntry, StreamId, WriteOptions,
};

/// Writes `v` under `cfg`, checks its type byte (and the first body byte when given), and reads it
/// back from the payload and from a file.
fn check(
    v: &RdbValue,
    cfg: &EncodingConfig,
    ty: u8,
    first: Option<fn(u8) -> bool>,
) -> Result<(), TestCaseError> {
    let payload = create_dump_payload(v, cfg);
    prop_assert_eq!(payload[0], ty, "type byte of {:?}", v);
    if let Some(first) = first {
        prop_assert!(first(payload[1]), "encoding byte {:#x}", payload[1]);
    }
    let back = decode_dump_payload(&payload, Limits::default()).expect("decodes");
    prop_assert_eq!(normalize(&back), normalize(v));
    let mut w = RdbWriter::new(
        Vec::new(),
        WriteOptions {
            encoding: *cfg,
            checksum: true,
        },
    )
    .expect("writer");
    w.select_db(0, 1, 0).expect("select");
    let meta = KeyMeta {
        expire_ms: Some(4_102_444_800_000),
        idle_secs: None,
        lfu_freq: Some(5),
    };
    w.key(b"key", v, &meta).expect("key");
    let file = w.finish().expect("finish");
    let items: Vec<RdbItem> = RdbReader::new(&file[..], Limits::default())
        .expect("header")
        .collect::<Result<_, _>>()
        .expect("file reads back");
    match items.last() {
        Some(RdbItem::Key {
            key,
            value,
            meta: m,
        }) => {
            prop_assert_eq!(key.as_slice(), b"key");
            prop_assert_eq!(normalize(value), normalize(v));
            prop_assert_eq!(*m, meta);
        }
        other => prop_assert!(false, "no key: {:?}", other),
    }
    Ok(())
}

fn text(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), len).prop_filter("not an integer", |s| {
        std::str::from_utf8(s).map_or(true, |s| s.parse::<i64>().is_err())
    })
}

fn ints(n: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Vec<u8>>> {
    proptest::collection::btree_set(any::<i64>(), n)
        .prop_map(|s| s.into_iter().map(|v| v.to_string().into_bytes()).collect())
}

fn stream() -> impl Strategy<Value = Stream> {
    (
        proptest::collection::btree_set((1u64..500, 0u64..3), 1..60),
        proptest::collection::vec((text(1..6), text(0..30)), 1..4),
        1usize..4,
    )
        .prop_map(|(ids, fields, consumers_n)| {
            let entries: Vec<StreamEntry> = ids
                .into_iter()
                .map(|(ms, seq)| StreamEntry {
                    id: StreamId { ms, seq },
                    fields: fields
                        .iter()
                        .take(1 + (ms as usize % fields.len()))
                        .cloned()
                        .collect(),
                })
                .collect();
            let pending: Vec<PendingEntry> = entries
                .iter()
                .step_by(2)
                .map(|e| PendingEntry {
                    id: e.id,
                    delivery_time_ms: 1_700_000_000_000 + e.id.ms as i64,
                    delivery_count: 1 + e.id.seq,
                })
                .collect();
            let mut consumers: Vec<Consumer> = (0..consumers_n)
                .map(|c| Consumer {
                    name: format!("consumer-{c}").into_bytes(),
                    seen_time_ms: 1_700_000_000_000 + c as i64,
                    active_time_ms: None,
                    pending: vec![],
                })
                .collect();
            for (i, p) in pending.iter().enumerate() {
                consumers[i % consumers_n].pending.push(p.id);
            }
            let last = entries[entries.len() - 1].id;
            Stream {
                first_id: entries[0].id,
                last_id: StreamId {
                    ms: last.ms + 1,
                    seq: 0,
                },
                max_deleted_id: StreamId { ms: 0, seq: 1 },
                entries_added: entries.len() as u64 + 1,
                groups: vec![
                    ConsumerGroup {
                        name: b"b-readers".to_vec(),
                        last_id: last,
                        entries_read: entries.len() as i64,
                        pending,
                        consumers,
                    },
                    ConsumerGroup {
                        name: b"a-idle".to_vec(),
                        last_id: StreamId::default(),
                        entries_read: -1,
                        pending: vec![],
                        consumers: vec![],
                    },
                ],
                entries,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn string_raw(s in text(0..20)) {
        check(&RdbValue::String(s), &EncodingConfig::default(), t::STRING, Some(|b| b >> 6 == 0))?;
    }

    #[test]
    fn string_int(v in any::<i32>()) {
        let s = v.to_string().into_bytes();
        check(&RdbValue::String(s), &EncodingConfig::default(), t::STRING, Some(|b| (0xC0..=0xC2).contains(&b)))?;
    }

    #[test]
    fn string_lzf(unit in text(1..8), n in 10usize..400) {
        let s = unit.repeat(n.max(30 / unit.len() + 1));
        check(&RdbValue::String(s), &EncodingConfig::default(), t::STRING, Some(|b| b == 0xC3))?;
    }

    #[test]
    fn list_quicklist_packed_and_plain(items in proptest::collection::vec(prop_oneof![text(0..30), text(100..140), ints(1..2).prop_map(|v| v[0].clone())], 1..200)) {
        let cfg = EncodingConfig { list_packed_threshold_bytes: 100, ..EncodingConfig::default() };
        check(&RdbValue::List(items), &cfg, t::LIST_QUICKLIST_2, None)?;
    }

    #[test]
    fn set_intset(members in ints(1..512)) {
        check(&RdbValue::Set(members), &EncodingConfig::default(), t::SET_INTSET, None)?;
    }

    #[test]
    fn set_hashtable(members in proptest::collection::btree_set(text(0..40), 1..300)) {
        check(&RdbValue::Set(members.into_iter().collect()), &EncodingConfig::default(), t::SET, None)?;
    }

    #[test]
    fn set_listpack_of_redis_7_2(members in proptest::collection::btree_set(prop_oneof![text(0..70), ints(1..2).prop_map(|v| v[0].clone())], 1..128)) {
        let mut lp = ListpackBuilder::new();
        for m in &members {
            lp.push_str(m);
        }
        let lp = lp.finish();
        let mut p = vec![t::SET_LISTPACK];
        p.push(0x80);
        p.extend_from_slice(&(lp.len() as u32).to_be_bytes());
        p.extend_from_slice(&lp);
        p.extend_from_slice(&10u16.to_le_bytes());
        let crc = crc64(&p);
        p.extend_from_slice(&crc.to_le_bytes());
        let want = RdbValue::Set(members.into_iter().collect());
        let got = decode_dump_payload(&p, Limits::default()).expect("decodes");
        prop_assert_eq!(normalize(&got), normalize(&want));
    }

    #[test]
    fn hash_listpack(pairs in proptest::collection::btree_map(text(0..64), text(0..64), 1..128)) {
        check(&RdbValue::Hash(pairs.into_iter().collect()), &EncodingConfig::default(), t::HASH_LISTPACK, None)?;
    }

    #[test]
    fn hash_hashtable(pairs in proptest::collection::btree_map(text(0..20), text(0..100), 129..300)) {
        check(&RdbValue::Hash(pairs.into_iter().collect()), &EncodingConfig::default(), t::HASH, None)?;
    }

    #[test]
    fn zset_listpack(pairs in proptest::collection::btree_map(text(0..64), prop_oneof![any::<f64>().prop_filter("nan", |f| !f.is_nan()), (-50i32..50).prop_map(f64::from)], 1..128)) {
        check(&RdbValue::ZSet(pairs.into_iter().collect()), &EncodingConfig::default(), t::ZSET_LISTPACK, None)?;
    }

    #[test]
    fn zset_skiplist(pairs in proptest::collection::btree_map(text(65..80), any::<f64>().prop_filter("nan", |f| !f.is_nan()), 1..200)) {
        check(&RdbValue::ZSet(pairs.into_iter().collect()), &EncodingConfig::default(), t::ZSET_2, None)?;
    }

    #[test]
    fn stream_with_groups_and_pels(s in stream(), node_entries in 1usize..10) {
        let cfg = EncodingConfig { stream_node_max_entries: node_entries, ..EncodingConfig::default() };
        check(&RdbValue::Stream(Box::new(s)), &cfg, t::STREAM_LISTPACKS_2, None)?;
    }
}
