//! Model tests: random operation sequences against a `HashMap` with expiry.

use std::collections::HashMap;

use proptest::prelude::*;
use zedis_budget::{Budget, Component, GlobalBudget};
use zedis_segment::{EvictPolicy, Lookup, SegConfig, SegError, SegStore, ValueRef};

const KEYS: u32 = 48;
const SEG_BYTES: usize = 1024;

#[derive(Debug, Clone)]
enum Op {
    Set {
        key: u32,
        len: usize,
        ttl_ms: Option<i64>,
    },
    SetInt {
        key: u32,
        value: i64,
        ttl_ms: Option<i64>,
    },
    Get(u32),
    Delete(u32),
    SetExpire {
        key: u32,
        ttl_ms: Option<i64>,
    },
    Persist(u32),
    Advance(i64),
    ExpireStep(usize),
    Evict {
        policy: u8,
        volatile: bool,
    },
    Compact,
    Flush,
    Random,
}

fn ttl() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![
        2 => Just(None),
        2 => (-50i64..4000).prop_map(Some),
        1 => (4000i64..3_000_000).prop_map(Some),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (0..KEYS, prop_oneof![4 => 0..40usize, 2 => 40..300usize, 1 => 1000..1100usize], ttl())
            .prop_map(|(key, len, ttl_ms)| Op::Set { key, len, ttl_ms }),
        2 => (0..KEYS, any::<i64>(), ttl()).prop_map(|(key, value, ttl_ms)| Op::SetInt { key, value, ttl_ms }),
        5 => (0..KEYS).prop_map(Op::Get),
        3 => (0..KEYS).prop_map(Op::Delete),
        2 => (0..KEYS, ttl()).prop_map(|(key, ttl_ms)| Op::SetExpire { key, ttl_ms }),
        1 => (0..KEYS).prop_map(Op::Persist),
        3 => (0i64..3000).prop_map(Op::Advance),
        2 => (1usize..50).prop_map(Op::ExpireStep),
        2 => (0u8..4, any::<bool>()).prop_map(|(policy, volatile)| Op::Evict { policy, volatile }),
        1 => Just(Op::Compact),
        1 => Just(Op::Flush),
        1 => Just(Op::Random),
    ]
}

/// (value as read back, expiry).
type Model = HashMap<Vec<u8>, (Vec<u8>, Option<i64>)>;

fn key(i: u32) -> Vec<u8> {
    format!("key:{i}").into_bytes()
}

fn live(model: &Model, k: &[u8], now: i64) -> bool {
    model
        .get(k)
        .is_some_and(|(_, at)| at.is_none_or(|at| at > now))
}

fn apply_removed(
    model: &mut Model,
    removed: &zedis_segment::Removed,
    now: i64,
) -> Result<(), TestCaseError> {
    for k in &removed.evicted {
        prop_assert!(live(model, k, now), "evicted a key not live: {:?}", k);
        model.remove(k);
    }
    for k in &removed.expired {
        prop_assert!(
            model.contains_key(k) && !live(model, k, now),
            "bad expiry {:?}",
            k
        );
        model.remove(k);
    }
    Ok(())
}

fn set_result(
    model: &mut Model,
    result: Result<(), SegError>,
    k: Vec<u8>,
    value: Vec<u8>,
    at: Option<i64>,
    now: i64,
) -> Result<(), TestCaseError> {
    match result {
        Ok(()) if at.is_some_and(|at| at <= now) => {
            model.remove(&k);
        }
        Ok(()) => {
            model.insert(k, (value, at));
        }
        Err(SegError::Full) => {}
        Err(SegError::TooLarge { .. }) => prop_assert!(value.len() + k.len() > SEG_BYTES - 20),
        Err(e) => prop_assert!(false, "unexpected {e}"),
    }
    Ok(())
}

fn run(ops: Vec<Op>, limit_segments: usize, merge_segments: usize) -> Result<(), TestCaseError> {
    let config = SegConfig {
        segment_bytes: SEG_BYTES,
        hash_power: 1,
        merge_segments,
        index_load_max_percent: [50, 75, 100][merge_segments % 3],
    };
    let index_bytes = 2 * 68;
    let limit = if limit_segments == 0 {
        0
    } else {
        index_bytes + 512 + limit_segments * SEG_BYTES
    };
    let budget = Budget::leak(limit);
    let mut store =
        SegStore::with_budget(config, budget).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut model = Model::new();
    let mut now = 1_000_000i64;
    let mut seq = 0u8;
    for op in ops {
        match op {
            Op::Set {
                key: i,
                len,
                ttl_ms,
            } => {
                seq = seq.wrapping_add(1);
                let value = vec![seq; len];
                let at = ttl_ms.map(|t| now + t);
                let mut result = store.set(&key(i), &value, at, now);
                // As the keyspace does: evict a unit and retry while full (policy picked by the key).
                let policy =
                    [EvictPolicy::Merge, EvictPolicy::Fifo, EvictPolicy::Random][i as usize % 3];
                while result == Err(SegError::Full) {
                    let Ok(removed) = store.evict_one_unit(policy, false, now) else {
                        break;
                    };
                    apply_removed(&mut model, &removed, now)?;
                    result = store.set(&key(i), &value, at, now);
                }
                set_result(&mut model, result, key(i), value, at, now)?;
            }
            Op::SetInt {
                key: i,
                value,
                ttl_ms,
            } => {
                let at = ttl_ms.map(|t| now + t);
                let result = store.set_int(&key(i), value, at, now);
                set_result(
                    &mut model,
                    result,
                    key(i),
                    value.to_string().into_bytes(),
                    at,
                    now,
                )?;
            }
            Op::Get(i) => match store.lookup(&key(i), now) {
                Lookup::Hit(v) => {
                    prop_assert_eq!(Some(&v.to_vec()), model.get(&key(i)).map(|(v, _)| v))
                }
                Lookup::Expired => {
                    prop_assert!(model.contains_key(&key(i)) && !live(&model, &key(i), now));
                    model.remove(&key(i));
                }
                Lookup::Miss => prop_assert!(!model.contains_key(&key(i))),
            },
            Op::Delete(i) => {
                let was = live(&model, &key(i), now);
                prop_assert_eq!(store.delete(&key(i), now), was);
                model.remove(&key(i));
            }
            Op::SetExpire { key: i, ttl_ms } => {
                let at = ttl_ms.map(|t| now + t);
                let was = live(&model, &key(i), now);
                match store.set_expire(&key(i), at, now) {
                    Ok(changed) => {
                        prop_assert_eq!(changed, was);
                        if was {
                            if at.is_some_and(|at| at <= now) {
                                model.remove(&key(i));
                            } else if let Some(entry) = model.get_mut(&key(i)) {
                                entry.1 = at;
                            }
                        }
                    }
                    // Adding a TTL grows the header by 8 bytes: a value that filled a segment no
                    // longer fits (the keyspace moves such a key to its ordinary table).
                    Err(SegError::TooLarge { len, .. }) => {
                        prop_assert!(len > SEG_BYTES && at.is_some())
                    }
                    Err(e) => prop_assert_eq!(e, SegError::Full),
                }
            }
            Op::Persist(i) => {
                let had = live(&model, &key(i), now) && model[&key(i)].1.is_some();
                match store.persist(&key(i), now) {
                    Ok(changed) => {
                        prop_assert_eq!(changed, had);
                        if had {
                            model.get_mut(&key(i)).unwrap().1 = None;
                        }
                    }
                    Err(e) => prop_assert_eq!(e, SegError::Full),
                }
            }
            Op::Advance(ms) => now += ms,
            Op::ExpireStep(work) => {
                let removed = store.expire_step(now, work);
                prop_assert!(removed.evicted.is_empty());
                apply_removed(&mut model, &removed, now)?;
            }
            Op::Evict { policy, volatile } => {
                let policy = [
                    EvictPolicy::Merge,
                    EvictPolicy::Fifo,
                    EvictPolicy::Random,
                    EvictPolicy::NearestExpiry,
                ][policy as usize];
                let before = store.stats().segments;
                match store.evict_one_unit(policy, volatile, now) {
                    Ok(removed) => {
                        prop_assert!(store.stats().segments < before, "eviction freed no segment");
                        apply_removed(&mut model, &removed, now)?;
                    }
                    Err(e) => prop_assert_eq!(e, SegError::NothingToEvict),
                }
            }
            Op::Compact => {
                let before = store.stats().segments;
                if let Some(removed) = store.compact_step(now) {
                    prop_assert!(store.stats().segments < before);
                    prop_assert!(removed.evicted.is_empty());
                    apply_removed(&mut model, &removed, now)?;
                }
            }
            Op::Flush => {
                store.flush_all();
                model.clear();
                prop_assert_eq!(store.stats().segments, 0);
            }
            Op::Random => match store.random_key(now) {
                Some(k) => prop_assert!(live(&model, &k, now)),
                // None only when nothing is live, or when the tries kept landing on expired items.
                None => prop_assert!(
                    !model.keys().any(|k| live(&model, k, now))
                        || model.keys().any(|k| !live(&model, k, now))
                ),
            },
        }
        check(&store, &model, budget, limit, now)?;
    }
    drop(store);
    prop_assert_eq!(budget.used(), 0);
    Ok(())
}

fn check(
    store: &SegStore,
    model: &Model,
    budget: &Budget,
    limit: usize,
    now: i64,
) -> Result<(), TestCaseError> {
    store.verify().map_err(TestCaseError::fail)?;
    prop_assert_eq!(store.len(), model.len());
    for i in 0..KEYS {
        let k = key(i);
        let expected = model.get(&k).filter(|_| live(model, &k, now));
        let got = store.peek(&k, now).map(|v| v.to_vec());
        prop_assert_eq!(got.as_ref(), expected.map(|(v, _)| v));
        prop_assert_eq!(store.ttl(&k, now), expected.map(|(_, at)| *at));
    }
    let stats = store.stats();
    prop_assert_eq!(budget.used_by(Component::Keyspace), stats.charged_bytes);
    prop_assert_eq!(
        stats.charged_bytes,
        stats.segments * SEG_BYTES + stats.index_bytes
    );
    prop_assert_eq!(
        stats.live_bytes + stats.dead_bytes + stats.unwritten_bytes,
        stats.segments * SEG_BYTES
    );
    prop_assert!(limit == 0 || budget.used() <= limit, "budget exceeded");
    let mut keys = Vec::new();
    let mut cursor = 0;
    loop {
        cursor = store.scan(cursor, 10, now, &mut keys);
        if cursor == 0 {
            break;
        }
    }
    keys.sort();
    let mut live_keys: Vec<Vec<u8>> = model
        .keys()
        .filter(|k| live(model, k, now))
        .cloned()
        .collect();
    live_keys.sort();
    prop_assert_eq!(keys, live_keys);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Contents, expiry (exact per item) and the key set match the model through every kind of write,
    /// expiry step, eviction, merge and compaction; items never overlap; the charge is exact and never
    /// past the limit.
    #[test]
    fn store_matches_model(ops in proptest::collection::vec(op(), 0..150), limit_segments in prop_oneof![Just(0usize), 2usize..8], merge_segments in 2usize..6) {
        run(ops, limit_segments, merge_segments)?;
    }
}

#[test]
fn int_values_read_back_as_ints() {
    let mut store = SegStore::with_budget(SegConfig::default(), Budget::leak(0)).unwrap();
    store.set_int(b"n", -42, None, 0).unwrap();
    assert_eq!(store.get(b"n", 0), Some(ValueRef::Int(-42)));
    assert_eq!(store.peek(b"n", 0).unwrap().to_vec(), b"-42");
}

#[test]
fn merge_keeps_frequently_read_items() {
    let budget = Budget::leak(0);
    let config = SegConfig {
        segment_bytes: 4096,
        hash_power: 4,
        merge_segments: 4,
        ..SegConfig::default()
    };
    let mut store = SegStore::with_budget(config, budget).unwrap();
    for i in 0..400u32 {
        store.set(&i.to_be_bytes(), &[1; 40], None, 0).unwrap();
    }
    // Every 10th key is hot.
    for _ in 0..20 {
        for i in (0..400u32).step_by(10) {
            assert!(store.get(&i.to_be_bytes(), 0).is_some());
        }
    }
    let before = store.stats().segments;
    let removed = store.evict_one_unit(EvictPolicy::Merge, false, 0).unwrap();
    assert_eq!(store.stats().segments, before - 3);
    assert!(!removed.evicted.is_empty());
    let hot_evicted = removed
        .evicted
        .iter()
        .filter(|k| u32::from_be_bytes(k[..4].try_into().unwrap()) % 10 == 0)
        .count();
    assert_eq!(hot_evicted, 0, "hot keys were evicted");
    store.verify().unwrap();
}

#[test]
fn expired_segments_are_freed_whole() {
    let budget = Budget::leak(0);
    let config = SegConfig {
        segment_bytes: 4096,
        hash_power: 4,
        merge_segments: 4,
        ..SegConfig::default()
    };
    let mut store = SegStore::with_budget(config, budget).unwrap();
    for i in 0..1000u32 {
        store
            .set(&i.to_be_bytes(), &[1; 40], Some(10_000 + i as i64), 0)
            .unwrap();
        store
            .set(&(i + 5000).to_be_bytes(), &[1; 40], None, 0)
            .unwrap();
    }
    let segments = store.stats().segments;
    assert!(store.expire_step(9_999, usize::MAX).expired.is_empty());
    // Only whole segments go: some expired items wait for their segment (or a lookup).
    let early = store.expire_step(10_500, usize::MAX);
    assert!(!early.expired.is_empty() && early.expired.len() <= 501);
    assert_eq!(store.get(&500u32.to_be_bytes(), 10_500), None);
    assert_eq!(store.ttl(&300u32.to_be_bytes(), 10_500), None);
    assert!(store.get(&501u32.to_be_bytes(), 10_500).is_some());
    store.expire_step(11_000, usize::MAX);
    assert_eq!(store.stats().expired_items, 1000);
    assert_eq!(store.len(), 1000);
    assert!(store.stats().segments < segments / 2 + 2);
    assert!(store.stats().expired_segments > 0);
    store.verify().unwrap();
    let mut info = String::new();
    store.write_info(&mut info);
    assert!(
        info.starts_with("kv_allocator:segment\r\n") && info.contains("seg_bucket_0:"),
        "{info}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// The same properties over long sequences: many merges, expiry steps and index resizes per case.
    #[test]
    fn long_sequences_match_model(
        ops in proptest::collection::vec(op(), 1000..2500),
        limit_segments in 2usize..12,
        merge_segments in 2usize..6,
    ) {
        run(ops, limit_segments, merge_segments)?;
    }
}
