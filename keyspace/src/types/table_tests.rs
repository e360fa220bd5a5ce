//! Model tests of [`Table`]: random operation sequences against a std `HashMap`, with resizes in flight.

use super::*;
use allocator_api2::alloc::Global;
use proptest::prelude::*;
use std::collections::HashMap;

/// Entries `key:value`; the key is everything before the first `:`.
struct Colon;

impl KeyOf for Colon {
    fn key(entry: &[u8]) -> &[u8] {
        let end = entry.iter().position(|&b| b == b':').unwrap_or(entry.len());
        &entry[..end]
    }
}

type T = Table<Global, 14, Colon>;

fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

fn check(table: &T, model: &HashMap<Vec<u8>, Vec<u8>>) {
    assert_eq!(table.len(), model.len());
    if table.is_resizing() {
        assert!(table.table.capacity() >= table.table.len() + table.old.len());
        for idx in 0..table.move_idx {
            assert!(
                table.old.get_bucket(idx).is_none(),
                "entry left in a moved bucket"
            );
        }
    } else {
        assert_eq!(
            table.old.allocation_size(),
            0,
            "the old array outlived the resize"
        );
    }
    let heap: usize = table.iter().map(|e| e.heap_bytes()).sum();
    assert_eq!(table.heap_bytes, heap);
}

#[derive(Debug, Clone)]
enum Op {
    Upsert(u16, u8),
    Remove(u16),
    Get(u16),
    Edit(u16),
    Pop,
    Reserve(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u16..500, 0u8..40).prop_map(|(k, v)| Op::Upsert(k, v)),
        4 => (0u16..500).prop_map(Op::Remove),
        2 => (0u16..500).prop_map(Op::Get),
        1 => (0u16..500).prop_map(Op::Edit),
        1 => Just(Op::Pop),
        1 => (0u8..20).prop_map(Op::Reserve),
    ]
}

proptest! {
    /// Upserts (short and heap-stored values), removals, lookups, in-place edits, random pops and
    /// reservations agree with a HashMap through grows and shrinks in flight.
    #[test]
    fn behaves_like_a_map(ops in proptest::collection::vec(op(), 0..2000), seed in any::<u64>()) {
        let mut table = T::with_capacity_in(0, Global).unwrap();
        let mut model: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        let mut rng = xorshift(seed);
        for op in ops {
            match op {
                Op::Upsert(k, v) => {
                    let key = k.to_string().into_bytes();
                    let value = vec![b'v'; usize::from(v)];
                    let new = table.upsert(&[&key, b":", &value]).unwrap();
                    prop_assert_eq!(new, model.insert(key, value).is_none());
                }
                Op::Remove(k) => {
                    let key = k.to_string().into_bytes();
                    prop_assert_eq!(table.remove(&key), model.remove(&key).is_some());
                }
                Op::Get(k) => {
                    let key = k.to_string().into_bytes();
                    let want = model.get(&key).map(|v| [&key[..], b":", v].concat());
                    prop_assert_eq!(table.get(&key).map(<[u8]>::to_vec), want);
                }
                Op::Edit(k) => {
                    let key = k.to_string().into_bytes();
                    if let Some(bytes) = table.get_mut(&key) {
                        if let Some(last) = bytes.last_mut().filter(|b| **b == b'v') {
                            *last = b'w';
                            if let Some(b) = model.get_mut(&key).and_then(|v| v.last_mut()) { *b = b'w'; }
                        }
                    } else {
                        prop_assert!(!model.contains_key(&key));
                    }
                }
                Op::Pop => {
                    let popped = table.pop_random(&mut rng, <[u8]>::to_vec);
                    match popped {
                        Some(entry) => {
                            let key = Colon::key(&entry).to_vec();
                            let value = model.remove(&key);
                            prop_assert_eq!(Some(entry), value.map(|v| [&key[..], b":", &v].concat()));
                        }
                        None => prop_assert!(model.is_empty()),
                    }
                }
                Op::Reserve(n) => table.reserve(usize::from(n)).unwrap(),
            }
            check(&table, &model);
        }
        let mut all: Vec<Vec<u8>> = table.iter().map(|e| e.as_bytes().to_vec()).collect();
        all.sort();
        let mut want: Vec<Vec<u8>> = model.iter().map(|(k, v)| [&k[..], b":", v].concat()).collect();
        want.sort();
        prop_assert_eq!(all, want);
    }
}

/// Grows a table until a resize is under way with some entries already moved.
fn table_mid_resize(len: usize) -> T {
    let mut table = T::with_capacity_in(0, Global).unwrap();
    let mut i = 0;
    while i < len || !table.is_resizing() || table.move_idx == 0 {
        table.upsert(&[format!("k{i}").as_bytes()]).unwrap();
        i += 1;
        assert!(i < len * 4, "no resize in flight");
    }
    table
}

#[test]
fn a_step_moves_a_bounded_number_of_entries() {
    let mut table = table_mid_resize(20_000);
    let mut steps = 0;
    while table.is_resizing() {
        let before = table.old.len();
        table.upsert(&[format!("new{steps}").as_bytes()]).unwrap();
        if !table.is_resizing() {
            break;
        }
        assert!(before - table.old.len() <= MOVE_ENTRIES_PER_STEP);
        steps += 1;
    }
    // The move finished by steps, well before the new array filled up.
    assert!(steps > 1000, "the resize ended at once after {steps} steps");
}

#[test]
fn random_picks_are_uniform_during_a_resize() {
    let table = table_mid_resize(300);
    assert!(table.is_resizing() && !table.old.is_empty() && !table.table.is_empty());
    let keys = table.len();
    let mut rng = xorshift(99);
    let draws = keys * 400;
    let mut hits: HashMap<Vec<u8>, usize> = HashMap::new();
    for _ in 0..draws {
        let entry = table.random(&mut rng).unwrap().to_vec();
        *hits.entry(entry).or_default() += 1;
    }
    assert_eq!(hits.len(), keys, "some entry is never picked");
    // 400 expected hits each: a fair pick stays within +-40% (about 8 standard deviations).
    for (entry, n) in &hits {
        assert!(
            (240..=560).contains(n),
            "{entry:?} picked {n} times of {draws}"
        );
    }
}

#[test]
fn the_old_array_is_freed_when_the_resize_ends() {
    let mut table = table_mid_resize(5000);
    let both = table.mem_bytes();
    assert!(table.old.allocation_size() > 0);
    let mut i = 0;
    while table.is_resizing() {
        table.remove(format!("absent{i}").as_bytes());
        i += 1;
    }
    assert_eq!(table.old.allocation_size(), 0);
    assert!(table.mem_bytes() < both);
    // Removing most entries starts a shrink, which ends with one array too.
    for j in 0..5000 {
        table.remove(format!("k{j}").as_bytes());
    }
    while table.is_resizing() {
        table.remove(b"absent");
    }
    assert!(table.table.num_buckets() <= 8 * (table.len() + 1).max(SHRINK_BUCKETS_MIN));
    assert_eq!(table.old.allocation_size(), 0);
}

proptest! {
    /// With allocations failing now and then, a failed upsert changes nothing, every other operation still
    /// agrees with the model, and `mem_bytes` is exactly the live bytes (both arrays during a resize).
    #[test]
    fn failed_allocations_leave_the_table_consistent(
        fail_every in 2usize..8,
        ops in proptest::collection::vec(op(), 0..1500),
    ) {
        use crate::types::test_alloc::{self, TestAlloc};
        test_alloc::fail_every(fail_every);
        let base = test_alloc::live_bytes();
        let mut table: Table<TestAlloc, 14, Colon> = Table::with_capacity_in(0, TestAlloc).unwrap();
        let mut model: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        let mut rng = xorshift(5);
        for op in ops {
            match op {
                Op::Upsert(k, v) => {
                    let key = k.to_string().into_bytes();
                    let value = vec![b'v'; usize::from(v)];
                    if let Ok(new) = table.upsert(&[&key, b":", &value]) {
                        prop_assert_eq!(new, model.insert(key, value).is_none());
                    }
                }
                Op::Remove(k) | Op::Edit(k) => {
                    let key = k.to_string().into_bytes();
                    prop_assert_eq!(table.remove(&key), model.remove(&key).is_some());
                }
                Op::Get(k) => {
                    let key = k.to_string().into_bytes();
                    prop_assert_eq!(table.get(&key).is_some(), model.contains_key(&key));
                }
                Op::Pop => {
                    if let Some(entry) = table.pop_random(&mut rng, <[u8]>::to_vec) {
                        prop_assert!(model.remove(Colon::key(&entry)).is_some());
                    }
                }
                Op::Reserve(n) => { let _ = table.reserve(usize::from(n)); }
            }
            prop_assert_eq!(table.len(), model.len());
            prop_assert_eq!((test_alloc::live_bytes() - base) as usize, table.mem_bytes());
        }
        test_alloc::fail_every(0);
        drop(table);
        prop_assert_eq!(test_alloc::live_bytes(), base);
    }
}
