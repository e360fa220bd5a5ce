//! Model tests for the layout: item headers of every key length around the short-length escape, and the
//! two-choice index as it doubles from one bucket at 100% load (the server's setting): contents match a
//! `HashMap`, the structure verifies, and a SCAN running across doublings returns every key present for
//! the whole scan.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use zedis_budget::Budget;
use zedis_segment::{item_len, SegConfig, SegStore, ValueRef};

fn store() -> SegStore {
    let config = SegConfig {
        segment_bytes: 4096,
        hash_power: 0,
        merge_segments: 2,
        index_load_max_percent: 100,
    };
    SegStore::with_budget(config, Budget::leak(0)).unwrap()
}

/// Key `i` with a length from 0 to 79 bytes (so both sides of the 31-byte escape), unique per `i`.
fn key(i: u32, len: usize) -> Vec<u8> {
    let mut k = i.to_le_bytes().to_vec();
    k.resize(len.max(4), b'k');
    if len < 4 {
        // Short keys: a distinct prefix byte keeps them apart from the long ones.
        k = vec![b's', (i % 251) as u8, (i / 251) as u8][..len.min(3)].to_vec();
    }
    k
}

#[derive(Debug, Clone)]
enum Op {
    Set { key: u32, len: usize, value: usize },
    Delete(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u32..600, 0usize..80, 0usize..200).prop_map(|(key, len, value)| Op::Set { key, len, value }),
        1 => (0u32..600).prop_map(Op::Delete),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn index_and_headers_match_a_map(ops in proptest::collection::vec(op(), 1..700)) {
        let mut s = store();
        let mut model: HashMap<u32, (Vec<u8>, Vec<u8>)> = HashMap::new();
        for op in ops {
            match op {
                Op::Set { key: i, len, value } => {
                    // A key keeps its first length, so names stay unique.
                    let name = model.get(&i).map_or_else(|| key(i, len), |(k, _)| k.clone());
                    if name.len() < 3 && model.values().any(|(k, _)| *k == name) && !model.contains_key(&i) {
                        continue;
                    }
                    let v = vec![(i % 256) as u8; value];
                    s.set(&name, &v, None, 0).unwrap();
                    model.insert(i, (name, v));
                }
                Op::Delete(i) => {
                    let was = model.remove(&i);
                    let name = was.as_ref().map_or_else(|| key(i, 7), |(k, _)| k.clone());
                    prop_assert_eq!(s.delete(&name, 0), was.is_some());
                }
            }
        }
        prop_assert_eq!(s.len(), model.len());
        let mut bytes = 0;
        for (name, v) in model.values() {
            prop_assert_eq!(s.get(name, 0), Some(ValueRef::Bytes(v)));
            bytes += item_len(name.len(), v.len(), false);
        }
        prop_assert_eq!(s.stats().live_bytes, bytes);
        s.verify().map_err(TestCaseError::fail)?;
    }

    #[test]
    fn scan_across_doublings_returns_every_stable_key(
        initial in 1u32..300,
        added in 1u32..2000,
        deleted_every in 2u32..7,
        count in 1usize..40,
    ) {
        let mut s = store();
        for i in 0..initial {
            s.set(&key(i, 12), b"v", None, 0).unwrap();
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut cursor = 0;
        let mut next = initial;
        let mut deleted = HashSet::new();
        loop {
            cursor = s.scan(cursor, count, 0, &mut out);
            seen.extend(out.drain(..));
            // Between calls: new keys (the index doubles along the way), and some old keys deleted.
            for _ in 0..(added / 8).max(1) {
                if next < initial + added {
                    s.set(&key(next, 12), b"w", None, 0).unwrap();
                    next += 1;
                }
            }
            let victim = next % initial;
            if victim % deleted_every == 0 && s.delete(&key(victim, 12), 0) {
                deleted.insert(victim);
            }
            if cursor == 0 {
                break;
            }
        }
        for i in (0..initial).filter(|i| !deleted.contains(i)) {
            prop_assert!(seen.contains(&key(i, 12)), "key {} missed", i);
        }
        s.verify().map_err(TestCaseError::fail)?;
    }
}

#[test]
fn a_full_table_keeps_overflow_rare() {
    // 8192 slots filled to 95%: with two choices, few overflow buckets (a one-choice table needs about
    // a third of its bucket count).
    let config = SegConfig {
        segment_bytes: 1 << 16,
        hash_power: 10,
        merge_segments: 2,
        index_load_max_percent: 100,
    };
    let mut s = SegStore::with_budget(config, Budget::leak(0)).unwrap();
    for i in 0..7782u32 {
        s.set(&key(i, 16), b"v", None, 0).unwrap();
    }
    let (primary, overflow) = s.stats().index_buckets;
    assert_eq!(primary, 1024);
    assert!(overflow < 1024 / 10, "{overflow} overflow buckets");
    s.verify().unwrap();
}
