//! Property tests: every value round-trips entry -> RdbValue -> entry, directly and through a DUMP payload,
//! in the encoding the thresholds give; inconsistent values are refused without storing anything.

use super::rdb::*;
use crate::value::encoding;
use crate::Keyspace;
use proptest::prelude::*;
use zedis_kv_pool::SystemAlloc;
use zedis_rdb::{
    create_dump_payload, decode_dump_payload, Consumer, ConsumerGroup, Limits, PendingEntry,
    RdbValue, Stream, StreamEntry, StreamId,
};

fn keyspace() -> Keyspace<SystemAlloc> {
    Keyspace::new(1, Default::default())
}

/// Sets and hashes compare as multisets (hashtable order is the table's); the rest exactly.
fn canonical(v: &RdbValue) -> RdbValue {
    match v {
        RdbValue::Set(m) => {
            let mut m = m.clone();
            m.sort();
            RdbValue::Set(m)
        }
        RdbValue::Hash(p) => {
            let mut p = p.clone();
            p.sort();
            RdbValue::Hash(p)
        }
        RdbValue::ZSet(p) => {
            let mut p = p.clone();
            p.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then_with(|| a.0.cmp(&b.0)));
            RdbValue::ZSet(p)
        }
        other => other.clone(),
    }
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (-1000i64..1000).prop_map(|n| n.to_string().into_bytes()),
        any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..12),
        proptest::collection::vec(b'a'..b'c', 60..80),
    ]
}

fn unique(items: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .filter(|m| seen.insert(m.clone()))
        .collect()
}

fn stream() -> impl Strategy<Value = Stream> {
    (
        proptest::collection::vec(proptest::collection::vec((bytes(), bytes()), 1..4), 0..40),
        0u64..3,
        proptest::collection::vec((0usize..3, any::<bool>()), 0..3),
    )
        .prop_map(|(entries, extra, groups)| {
            let entries: Vec<StreamEntry> = entries
                .into_iter()
                .enumerate()
                .map(|(i, fields)| StreamEntry {
                    id: StreamId {
                        ms: 1 + i as u64 / 2,
                        seq: i as u64 % 2,
                    },
                    fields,
                })
                .collect();
            let last_id = entries
                .last()
                .map_or(StreamId { ms: extra, seq: 0 }, |e| StreamId {
                    ms: e.id.ms + extra,
                    seq: e.id.seq,
                });
            let groups = groups
                .into_iter()
                .enumerate()
                .map(|(g, (consumers, claim))| {
                    let pending: Vec<PendingEntry> = if claim {
                        entries
                            .iter()
                            .step_by(3)
                            .map(|e| PendingEntry {
                                id: e.id,
                                delivery_time_ms: 1_700_000_000_000 + e.id.ms as i64,
                                delivery_count: e.id.ms % 5 + 1,
                            })
                            .collect()
                    } else {
                        Vec::new()
                    };
                    let consumers = if pending.is_empty() {
                        consumers
                    } else {
                        consumers.max(1)
                    };
                    let consumers = (0..consumers)
                        .map(|c| Consumer {
                            name: format!("c{c}").into_bytes(),
                            seen_time_ms: 1_700_000_000_000 + c as i64,
                            active_time_ms: None,
                            pending: pending
                                .iter()
                                .enumerate()
                                .filter(|(i, _)| i % consumers == c)
                                .map(|(_, p)| p.id)
                                .collect(),
                        })
                        .collect();
                    ConsumerGroup {
                        name: format!("g{g}").into_bytes(),
                        last_id,
                        entries_read: if claim { entries.len() as i64 } else { -1 },
                        pending,
                        consumers,
                    }
                })
                .collect();
            Stream {
                first_id: entries.first().map_or(StreamId::default(), |e| e.id),
                entries_added: entries.len() as u64 + extra,
                max_deleted_id: StreamId::default(),
                last_id,
                entries,
                groups,
            }
        })
}

fn value() -> impl Strategy<Value = RdbValue> {
    let small = 1..20usize;
    let large = 100..700usize;
    prop_oneof![
        bytes().prop_map(RdbValue::String),
        proptest::collection::vec(any::<u8>(), 40..5000).prop_map(RdbValue::String),
        proptest::collection::vec(bytes(), 1..300).prop_map(RdbValue::List),
        proptest::collection::vec(bytes(), small.clone()).prop_map(|m| RdbValue::Set(unique(m))),
        proptest::collection::vec(any::<i32>(), large.clone()).prop_map(|m| RdbValue::Set(unique(
            m.iter().map(|n| n.to_string().into_bytes()).collect()
        ))),
        proptest::collection::vec((bytes(), bytes()), small.clone()).prop_map(|p| {
            let mut seen = std::collections::HashSet::new();
            RdbValue::Hash(
                p.into_iter()
                    .filter(|(f, _)| seen.insert(f.clone()))
                    .collect(),
            )
        }),
        proptest::collection::vec((bytes(), -1e6f64..1e6), 1..200).prop_map(|p| {
            let mut seen = std::collections::HashSet::new();
            RdbValue::ZSet(
                p.into_iter()
                    .filter(|(m, _)| seen.insert(m.clone()))
                    .collect(),
            )
        }),
        stream().prop_map(|s| RdbValue::Stream(Box::new(s))),
    ]
}

/// The encoding Redis 7.0 gives a value built by commands under the keyspace's default thresholds.
fn expected_encoding(ks: &Keyspace<SystemAlloc>, v: &RdbValue) -> Option<&'static str> {
    let l = &ks.config.limits;
    let int = |b: &Vec<u8>| crate::num::parse_i64_exact(b).is_some();
    Some(match v {
        RdbValue::Set(m) if m.len() <= l.set_intset_entries_max && m.iter().all(int) => "intset",
        RdbValue::Set(_) => "hashtable",
        RdbValue::Hash(p)
            if p.len() <= l.hash_listpack_entries_max
                && p.iter().all(|(f, v)| {
                    f.len() <= l.hash_listpack_value_bytes_max
                        && v.len() <= l.hash_listpack_value_bytes_max
                }) =>
        {
            "listpack"
        }
        RdbValue::Hash(_) => "hashtable",
        RdbValue::ZSet(p)
            if p.len() <= l.zset_listpack_entries_max
                && p.iter()
                    .all(|(m, _)| m.len() <= l.zset_listpack_value_bytes_max) =>
        {
            "listpack"
        }
        RdbValue::ZSet(_) => "skiplist",
        _ => return None,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn values_round_trip(v in value()) {
        let mut ks = keyspace();
        let entry = store_value(&mut ks, 0, b"k", &v, Some(4_102_444_800_000), 1_000).unwrap();
        prop_assert_eq!(entry.expire(), Some(4_102_444_800_000));
        if let Some(enc) = expected_encoding(&ks, &v) {
            prop_assert_eq!(encoding(entry), enc);
        }
        let back = entry_value::<SystemAlloc>(entry).unwrap();
        prop_assert_eq!(canonical(&back), canonical(&v));

        // Through a DUMP payload into another key: same data, same bytes when dumped again.
        let cfg = encoding_config(&ks.config);
        let payload = create_dump_payload(&back, &cfg);
        let decoded = decode_dump_payload(&payload, Limits::default()).unwrap();
        let copy = store_value(&mut ks, 0, b"copy", &decoded, None, 1_000).unwrap();
        let again = entry_value::<SystemAlloc>(copy).unwrap();
        prop_assert_eq!(canonical(&again), canonical(&v));
        if !matches!(v, RdbValue::Set(_) | RdbValue::Hash(_)) {
            prop_assert_eq!(create_dump_payload(&again, &cfg), payload);
        }
        prop_assert_eq!(ks.total_keys(), 2);
    }
}

#[test]
fn integers_come_back_as_integers_and_big_strings_as_raw() {
    let mut ks = keyspace();
    let e = store_value(
        &mut ks,
        0,
        b"n",
        &RdbValue::String(b"-42".to_vec()),
        None,
        0,
    )
    .unwrap();
    assert_eq!(encoding(e), "int");
    let e = store_value(&mut ks, 0, b"s", &RdbValue::String(vec![b'x'; 44]), None, 0).unwrap();
    assert_eq!(encoding(e), "embstr");
    let e = store_value(
        &mut ks,
        0,
        b"b",
        &RdbValue::String(vec![b'x'; 100_000]),
        None,
        0,
    )
    .unwrap();
    assert_eq!(encoding(e), "raw");
    assert_eq!(
        entry_value::<SystemAlloc>(e),
        Some(RdbValue::String(vec![b'x'; 100_000]))
    );
}

#[test]
fn inconsistent_values_are_refused_and_nothing_is_stored() {
    let mut ks = keyspace();
    let bad = [
        RdbValue::Set(vec![b"a".to_vec(), b"a".to_vec()]),
        RdbValue::Hash(vec![
            (b"f".to_vec(), b"1".to_vec()),
            (b"f".to_vec(), b"2".to_vec()),
        ]),
        RdbValue::ZSet(vec![(b"m".to_vec(), 1.0), (b"m".to_vec(), 2.0)]),
        RdbValue::ZSet(vec![(b"m".to_vec(), f64::NAN)]),
        RdbValue::List(Vec::new()),
        RdbValue::Stream(Box::new(Stream {
            entries: vec![
                StreamEntry {
                    id: StreamId { ms: 2, seq: 0 },
                    fields: vec![(b"a".to_vec(), b"b".to_vec())],
                },
                StreamEntry {
                    id: StreamId { ms: 1, seq: 0 },
                    fields: vec![(b"a".to_vec(), b"b".to_vec())],
                },
            ],
            last_id: StreamId { ms: 2, seq: 0 },
            ..Stream::default()
        })),
        RdbValue::Stream(Box::new(Stream {
            groups: vec![ConsumerGroup {
                name: b"g".to_vec(),
                last_id: StreamId::default(),
                entries_read: 0,
                pending: vec![PendingEntry {
                    id: StreamId { ms: 1, seq: 0 },
                    delivery_time_ms: 0,
                    delivery_count: 1,
                }],
                consumers: Vec::new(),
            }],
            ..Stream::default()
        })),
    ];
    for v in &bad {
        assert_eq!(
            store_value(&mut ks, 0, b"k", v, None, 0).err(),
            Some(BuildError::BadFormat),
            "{v:?}"
        );
        assert_eq!(ks.total_keys(), 0);
    }
}

#[test]
fn idle_time_and_frequency_are_set_per_policy() {
    let mut ks = keyspace();
    let now = 1_700_000_000_000;
    let e = store_value(
        &mut ks,
        0,
        b"k",
        &RdbValue::String(b"v".to_vec()),
        None,
        now,
    )
    .unwrap();
    apply_clock(&ks, e, Some(100), Some(7), now);
    assert_eq!(crate::commands::keys::idle_ms(e, now) / 1000, 100);
    ks.config.policy = crate::EvictionPolicy::AllKeysLfu;
    apply_clock(&ks, e, Some(100), Some(7), now);
    assert_eq!(ks.lfu_decayed(e, now), 7);
    assert_eq!(key_meta(&ks, e, now).lfu_freq, Some(7));
    assert_eq!(key_meta(&ks, e, now).idle_secs, None);
}
