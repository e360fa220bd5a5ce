//! `load_with` into a keyspace that already holds keys (DEBUG RELOAD NOFLUSH, with and without MERGE),
//! with and without segment stores, against a map model: with `Replace` the result is the held keys
//! overwritten by the file's live ones, each key in exactly one home (tables or segment store); with
//! `Refuse` a live key of the file that is held stops the load.

use super::rdb::entry_value;
use super::rdb_file::{load_with, Duplicates, LoadError, LoadOptions, LoadStats};
use crate::Keyspace;
use proptest::prelude::*;
use std::collections::BTreeMap;
use zedis_kv_pool::SystemAlloc;
use zedis_rdb::{AuxInfo, KeyMeta, RdbValue, RdbWriter, WriteOptions};
use zedis_segment::SegConfig;

type A = SystemAlloc;

const NOW: i64 = 1_700_000_000_000;

/// A key's value and expiry, as the model keeps it.
type Model = BTreeMap<Vec<u8>, (RdbValue, Option<i64>)>;

/// An RDB file of `keys` in database 0, written as listed (expired ones too: another server may have
/// saved them just before their time).
fn file(keys: &Model) -> Vec<u8> {
    let aux = AuxInfo {
        redis_ver: "7.0.15".into(),
        redis_bits: 64,
        ctime_secs: NOW / 1000,
        used_mem_bytes: 0,
        aof_base: false,
    };
    let mut w = RdbWriter::new(Vec::new(), WriteOptions::default()).unwrap();
    w.standard_aux(&aux).unwrap();
    let expires = keys.values().filter(|(_, e)| e.is_some()).count() as u64;
    w.select_db(0, keys.len() as u64, expires).unwrap();
    for (key, (value, expire_ms)) in keys {
        let meta = KeyMeta {
            expire_ms: *expire_ms,
            ..KeyMeta::default()
        };
        w.key(key, value, &meta).unwrap();
    }
    w.finish().unwrap()
}

fn keyspace(segments: bool) -> Keyspace<A> {
    let mut ks = Keyspace::new(1, Default::default());
    if segments {
        ks.enable_segments(SegConfig {
            segment_bytes: 4096,
            hash_power: 4,
            ..SegConfig::default()
        });
    }
    ks
}

fn load(
    ks: &mut Keyspace<A>,
    bytes: &[u8],
    duplicates: Duplicates,
) -> Result<LoadStats, LoadError> {
    let opts = LoadOptions {
        now_ms: NOW,
        duplicates,
        on_function: &mut |_| Err("no function libraries expected".into()),
        after_key: &mut || {},
    };
    load_with(ks, bytes, opts)
}

/// Everything `ks`'s database 0 holds, from both homes; panics if a key is in both.
fn contents(ks: &Keyspace<A>) -> Model {
    let db = ks.db(0);
    let mut out = Model::new();
    db.dict().for_each(|e| {
        let value = match entry_value::<A>(e) {
            Some(RdbValue::Set(mut members)) => {
                members.sort();
                RdbValue::Set(members)
            }
            other => other.unwrap(),
        };
        out.insert(e.key().to_vec(), (value, e.expire()));
    });
    if let Some(store) = db.seg() {
        store.for_each_live(NOW, |key, value, expire| {
            let dup = out.insert(key.to_vec(), (RdbValue::String(value.to_vec()), expire));
            assert!(dup.is_none(), "{key:?} in both homes");
        });
    }
    assert_eq!(db.len(), out.len());
    out
}

fn value() -> impl Strategy<Value = RdbValue> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..40).prop_map(RdbValue::String),
        1 => (-1000i64..1000).prop_map(|n| RdbValue::String(n.to_string().into_bytes())),
        // Longer than a 4 KiB segment: kept in the tables even with segment stores.
        1 => Just(RdbValue::String(vec![b'x'; 5000])),
        1 => prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 1..6)
            .prop_map(RdbValue::List),
        1 => prop::collection::btree_set(prop::collection::vec(b'a'..b'e', 1..4), 1..6)
            .prop_map(|s| RdbValue::Set(s.into_iter().collect())),
    ]
}

/// Up to 12 keys; `expired` allows expiries already past.
fn keys(expired: bool) -> impl Strategy<Value = Model> {
    let past = if expired { 1 } else { 0 };
    let expire = prop_oneof![
        3 => Just(None),
        1 => (1i64..100_000).prop_map(|d| Some(NOW + d)),
        past => (1i64..100_000).prop_map(|d| Some(NOW - d)),
    ];
    prop::collection::btree_map(
        (0..12u8).prop_map(|i| format!("k{i}").into_bytes()),
        (value(), expire),
        0..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn a_load_into_a_held_dataset_merges_or_refuses_as_the_model(
        held in keys(false),
        loaded in keys(true),
        segments in any::<bool>(),
    ) {
        let mut ks = keyspace(segments);
        load(&mut ks, &file(&held), Duplicates::Refuse).unwrap();
        prop_assert_eq!(contents(&ks), held.clone());

        let live: Model = loaded
            .iter()
            .filter(|(_, (_, e))| e.is_none_or(|when| when > NOW))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut merged = held.clone();
        merged.extend(live.clone());

        let mut refusing = keyspace(segments);
        load(&mut refusing, &file(&held), Duplicates::Refuse).unwrap();
        let refused = load(&mut refusing, &file(&loaded), Duplicates::Refuse);
        if live.keys().any(|k| held.contains_key(k)) {
            prop_assert!(matches!(refused, Err(LoadError::DuplicateKey(..))), "{:?}", refused);
        } else {
            prop_assert_eq!(refused.unwrap().keys, live.len() as u64);
            prop_assert_eq!(contents(&refusing), merged.clone());
        }

        let stats = load(&mut ks, &file(&loaded), Duplicates::Replace).unwrap();
        prop_assert_eq!(stats.keys, live.len() as u64);
        prop_assert_eq!(stats.expired_skipped, (loaded.len() - live.len()) as u64);
        prop_assert_eq!(contents(&ks), merged);
    }
}

/// With segment stores a merged plain string lands in the store, wherever the key it replaces lived.
#[test]
fn merged_strings_go_to_the_segment_store() {
    let mut ks = keyspace(true);
    let held: Model = [
        (
            b"list".to_vec(),
            (RdbValue::List(vec![b"a".to_vec()]), None),
        ),
        (b"str".to_vec(), (RdbValue::String(b"old".to_vec()), None)),
    ]
    .into();
    load(&mut ks, &file(&held), Duplicates::Refuse).unwrap();
    assert!(ks.db(0).find(b"list").is_some());
    let loaded: Model = [
        (
            b"list".to_vec(),
            (RdbValue::String(b"now a string".to_vec()), None),
        ),
        (
            b"str".to_vec(),
            (RdbValue::String(b"new".to_vec()), Some(NOW + 5000)),
        ),
    ]
    .into();
    load(&mut ks, &file(&loaded), Duplicates::Replace).unwrap();
    let store = ks.db(0).seg().expect("a segment store");
    assert!(ks.db(0).find(b"list").is_none());
    assert_eq!(
        store.peek(b"list", NOW).map(|v| v.to_vec()),
        Some(b"now a string".to_vec())
    );
    assert_eq!(store.ttl(b"str", NOW), Some(Some(NOW + 5000)));
    assert_eq!(ks.db(0).len(), 2);
}
