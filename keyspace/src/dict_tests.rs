//! Model tests of [`Dict`]: random operation sequences against a std `HashMap`, with resizes in flight.

use super::*;
use crate::entry::PayloadInit;
use allocator_api2::alloc::Global;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::collections::{BTreeSet, HashMap};
use std::vec::Vec;
use zedis_kv_pool::PoolAlloc;

fn entry(key: &[u8]) -> EntryPtr {
    entry_in(Global, key)
}

fn entry_in<A: Allocator + Copy>(alloc: A, key: &[u8]) -> EntryPtr {
    EntryPtr::new(alloc, key, None, PayloadInit::Int(1), 0).unwrap()
}

fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// Checks the structural invariants: counts, the emptied prefix of the old array, one array outside a resize.
fn check_invariants<A: Allocator + Copy>(dict: &Dict<A>) {
    let mut per_table = [0usize; 2];
    for (j, table) in dict.tables.iter().enumerate() {
        for (idx, head) in table.buckets.iter().enumerate() {
            let mut cursor = head;
            while let Some(e) = cursor {
                per_table[j] += 1;
                if j == 0 && dict.is_moving() {
                    assert!(idx >= dict.rehash_idx, "entry left in a moved bucket");
                }
                cursor = e.next();
            }
        }
    }
    assert_eq!(per_table, [dict.tables[0].used, dict.tables[1].used]);
    if !dict.is_moving() {
        assert_eq!(dict.tables[1].used, 0);
    }
    if !dict.is_rehashing() {
        assert_eq!(
            dict.tables[1].bytes(),
            0,
            "the second array outlived the resize"
        );
    }
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u16),
    Unlink(u16),
    Find(u16),
    Replace(u16),
    Step,
    Cron,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u16..400).prop_map(Op::Insert),
        3 => (0u16..400).prop_map(Op::Unlink),
        2 => (0u16..400).prop_map(Op::Find),
        1 => (0u16..400).prop_map(Op::Replace),
        1 => Just(Op::Step),
        1 => Just(Op::Cron),
    ]
}

fn free_all<A: Allocator + Copy>(alloc: A, dict: &mut Dict<A>) {
    dict.clear(|e| unsafe { e.free(alloc) });
    assert_eq!(dict.len(), 0);
    assert_eq!(dict.index_bytes(), 0);
}

/// Inserts, unlinks, finds and replaces, interleaved with resizes in every phase, agree with a HashMap.
fn map_model<A: Allocator + Copy>(alloc: A, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut dict: Dict<A> = Dict::new(alloc);
    let mut model: HashMap<Vec<u8>, EntryPtr> = HashMap::new();
    for op in ops {
        match op {
            Op::Insert(k) => {
                let key = k.to_string().into_bytes();
                if let std::collections::hash_map::Entry::Vacant(slot) = model.entry(key) {
                    let e = entry_in(alloc, slot.key());
                    dict.insert(e).unwrap();
                    slot.insert(e);
                }
            }
            Op::Unlink(k) => {
                let key = k.to_string().into_bytes();
                let got = dict.unlink(&key);
                prop_assert_eq!(got, model.remove(&key));
                if let Some(e) = got {
                    unsafe { e.free(alloc) };
                }
            }
            Op::Find(k) => {
                let key = k.to_string().into_bytes();
                prop_assert_eq!(dict.find(&key), model.get(&key).copied());
            }
            Op::Replace(k) => {
                let key = k.to_string().into_bytes();
                if let Some(old) = model.get(&key).copied() {
                    let new = entry_in(alloc, &key);
                    dict.replace(old, new);
                    unsafe { old.free(alloc) };
                    model.insert(key, new);
                }
            }
            Op::Step => {
                dict.rehash_step();
            }
            Op::Cron => {
                dict.rehash_for(Duration::from_millis(1));
            }
        }
        prop_assert_eq!(dict.len(), model.len());
        check_invariants(&dict);
    }
    for (k, e) in &model {
        prop_assert_eq!(dict.find(k), Some(*e));
    }
    let mut seen = BTreeSet::new();
    dict.for_each(|e| {
        seen.insert(e.key().to_vec());
    });
    prop_assert_eq!(seen.len(), model.len());
    free_all(alloc, &mut dict);
    Ok(())
}

/// SCAN returns every key present for the whole scan at least once, while keys come and go, the table
/// grows and shrinks, and resizes advance between (and not only between) the calls.
fn scan_model<A: Allocator + Copy>(
    alloc: A,
    stable: usize,
    between: Vec<Vec<Op>>,
) -> Result<(), TestCaseError> {
    let mut dict: Dict<A> = Dict::new(alloc);
    for i in 0..stable {
        dict.insert(entry_in(alloc, format!("stable{i}").as_bytes()))
            .unwrap();
    }
    let mut temp: HashMap<Vec<u8>, EntryPtr> = HashMap::new();
    let mut seen = BTreeSet::new();
    let mut cursor = 0;
    let mut calls = 0;
    let mut rounds = between.iter().cycle();
    loop {
        cursor = dict.scan(cursor, |e| {
            seen.insert(e.key().to_vec());
        });
        calls += 1;
        if cursor == 0 {
            break;
        }
        prop_assert!(calls < 100_000, "scan does not terminate");
        for op in rounds.next().into_iter().flatten() {
            match op {
                Op::Insert(k) | Op::Replace(k) => {
                    let key = format!("temp{k}").into_bytes();
                    if let std::collections::hash_map::Entry::Vacant(slot) = temp.entry(key) {
                        let e = entry_in(alloc, slot.key());
                        dict.insert(e).unwrap();
                        slot.insert(e);
                    }
                }
                Op::Unlink(k) | Op::Find(k) => {
                    let key = format!("temp{k}").into_bytes();
                    if let Some(e) = dict.unlink(&key) {
                        temp.remove(&key);
                        unsafe { e.free(alloc) };
                    }
                }
                Op::Step => {
                    dict.rehash_step();
                }
                Op::Cron => {
                    dict.rehash_for(Duration::from_micros(50));
                }
            }
        }
    }
    for i in 0..stable {
        let key = format!("stable{i}").into_bytes();
        prop_assert!(seen.contains(&key), "scan missed a stable key");
    }
    free_all(alloc, &mut dict);
    Ok(())
}

/// Installs this thread's KV pool (below 2^42, so the dict's arrays take 5-byte buckets) once.
fn low_pool() -> PoolAlloc {
    thread_local! {
        static INSTALLED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if !INSTALLED.with(|i| i.replace(true)) {
        zedis_budget::install(zedis_budget::Budget::leak(0));
        PoolAlloc::install(1 << 30).unwrap();
    }
    PoolAlloc
}

proptest! {
    /// [`map_model`] with heap entries and 6-byte buckets.
    #[test]
    fn behaves_like_a_map(ops in proptest::collection::vec(op(), 0..1500)) {
        map_model(Global, ops)?;
    }

    /// [`map_model`] with pool entries and 5-byte buckets.
    #[test]
    fn behaves_like_a_map_with_5_byte_buckets(ops in proptest::collection::vec(op(), 0..1500)) {
        map_model(low_pool(), ops)?;
    }

    /// [`scan_model`] with 6-byte buckets.
    #[test]
    fn scan_returns_every_stable_key(
        stable in 1usize..300,
        between in proptest::collection::vec(proptest::collection::vec(op(), 0..40), 1..200),
    ) {
        scan_model(Global, stable, between)?;
    }

    /// [`scan_model`] with 5-byte buckets.
    #[test]
    fn scan_returns_every_stable_key_with_5_byte_buckets(
        stable in 1usize..300,
        between in proptest::collection::vec(proptest::collection::vec(op(), 0..40), 1..200),
    ) {
        scan_model(low_pool(), stable, between)?;
    }
}

/// Fills a dict until a grow is in its moving phase with part of the old array already moved.
fn dict_mid_rehash(keys: usize) -> Dict<Global> {
    let mut dict: Dict<Global> = Dict::new(Global);
    let mut i = 0;
    while i < keys || !dict.is_moving() || dict.rehash_idx == 0 {
        dict.insert(entry(format!("k{i}").as_bytes())).unwrap();
        i += 1;
        assert!(i < keys * 4, "no resize in flight");
    }
    dict
}

#[test]
fn random_picks_and_samples_reach_every_key_during_a_resize() {
    let mut dict = dict_mid_rehash(200);
    assert!(dict.tables[0].used > 0 && dict.tables[1].used > 0);
    let keys = dict.len();
    let mut rng = xorshift(12345);
    let mut hits: HashMap<Vec<u8>, usize> = HashMap::new();
    let draws = keys * 300;
    for _ in 0..draws {
        let e = dict.random_entry(&mut rng).unwrap();
        assert_eq!(dict.find(e.key()), Some(e));
        *hits.entry(e.key().to_vec()).or_default() += 1;
    }
    assert_eq!(hits.len(), keys, "some key is never picked");
    // Redis's bucket-then-chain pick favours keys in short chains, but not by orders of magnitude.
    let least = hits.values().copied().min().unwrap_or(0);
    assert!(
        least * 20 >= draws / keys,
        "a key is picked {least} times of {draws}"
    );
    let mut sampled = BTreeSet::new();
    for _ in 0..keys * 20 {
        let mut out = Vec::new();
        dict.sample(5, &mut rng, &mut out);
        assert!(!out.is_empty() && out.len() <= 5);
        for e in out {
            assert_eq!(dict.find(e.key()), Some(e));
            sampled.insert(e.key().to_vec());
        }
    }
    // Like Redis's dictGetSomeKeys, a sample walks chains from their heads and stops at 5, so a key deep in a
    // long chain can be out of reach; all but a few must be reached.
    assert!(
        sampled.len() * 10 >= keys * 9,
        "sampling reaches {} of {keys} keys",
        sampled.len()
    );
    free_all(Global, &mut dict);
}

#[test]
fn one_operation_moves_at_most_one_bucket() {
    let mut dict = dict_mid_rehash(5000);
    let mut rng = xorshift(7);
    for i in 0..2000 {
        let before = (dict.tables[0].used, dict.rehash_idx);
        let longest = dict.tables[0]
            .buckets
            .iter()
            .skip(dict.rehash_idx)
            .map(|head| {
                let mut n = 0;
                visit_chain_len(head, &mut n);
                n
            })
            .max()
            .unwrap_or(0);
        if rng() % 2 == 0 {
            dict.insert(entry(format!("more{i}").as_bytes())).unwrap();
        } else {
            let _ = dict.find(b"k1");
            dict.rehash_step();
        }
        if !dict.is_moving() {
            break;
        }
        assert!(
            before.0 - dict.tables[0].used <= longest,
            "a step moved more than one chain"
        );
        assert!(dict.rehash_idx - before.1 <= EMPTY_VISITS_PER_BUCKET + 1);
    }
    free_all(Global, &mut dict);
}

fn visit_chain_len(mut cursor: Option<EntryPtr>, n: &mut usize) {
    while let Some(e) = cursor {
        *n += 1;
        cursor = e.next();
    }
}

#[test]
fn the_old_array_is_freed_when_the_resize_ends() {
    let mut dict = dict_mid_rehash(3000);
    let both = dict.index_bytes();
    assert_eq!(
        both,
        (dict.tables[0].size + dict.tables[1].size) * buckets::BUCKET_BYTES
    );
    while dict.rehash_for(Duration::from_millis(10)) {}
    assert!(!dict.is_rehashing());
    assert_eq!(
        dict.index_bytes(),
        dict.tables[0].size * buckets::BUCKET_BYTES
    );
    assert!(dict.index_bytes() < both);
    check_invariants(&dict);
    // Deleting most keys starts a shrink, which also ends with one array.
    let keys: Vec<Vec<u8>> = {
        let mut keys = Vec::new();
        dict.for_each(|e| keys.push(e.key().to_vec()));
        keys
    };
    for key in &keys[..keys.len() - 10] {
        let e = dict.unlink(key).unwrap();
        unsafe { e.free(Global) };
    }
    while dict.rehash_for(Duration::from_millis(10)) {}
    assert!(
        dict.tables[0].size <= 64,
        "no shrink: {}",
        dict.tables[0].size
    );
    check_invariants(&dict);
    free_all(Global, &mut dict);
}

#[test]
fn preparing_fills_the_new_array_a_slice_at_a_time() {
    let mut dict: Dict<Global> = Dict::new(Global);
    let mut i = 0;
    while dict.tables[0].size < 4 * PREPARE_BUCKETS_PER_STEP || dict.is_rehashing() {
        dict.insert(entry(format!("k{i}").as_bytes())).unwrap();
        i += 1;
    }
    // Fill to load 1: the next insert allocates the new array but zero-fills none of it.
    while !dict.is_rehashing() {
        dict.insert(entry(format!("k{i}").as_bytes())).unwrap();
        i += 1;
    }
    assert_eq!(dict.tables[1].buckets.len(), 0);
    assert_eq!(
        dict.tables[1].bytes(),
        dict.tables[1].size * buckets::BUCKET_BYTES
    );
    dict.rehash_step();
    assert_eq!(dict.tables[1].buckets.len(), PREPARE_BUCKETS_PER_STEP);
    assert!(!dict.is_moving());
    // Lookups keep working on the old array alone.
    for j in 0..i {
        assert!(dict.find(format!("k{j}").as_bytes()).is_some());
    }
    free_all(Global, &mut dict);
}

#[test]
fn scan_started_mid_resize_returns_every_key() {
    for keys in [100, 1000, 5000] {
        let mut dict = dict_mid_rehash(keys);
        assert!(dict.is_moving());
        let mut present = Vec::new();
        dict.for_each(|e| present.push(e.key().to_vec()));
        let mut seen = BTreeSet::new();
        let mut cursor = 0;
        let mut i = 0;
        loop {
            cursor = dict.scan(cursor, |e| {
                seen.insert(e.key().to_vec());
            });
            if cursor == 0 {
                break;
            }
            // Keep the resize going (and finishing, and the next one starting) under the scan.
            dict.insert(entry(format!("new{i}").as_bytes())).unwrap();
            dict.rehash_step();
            i += 1;
        }
        for key in &present {
            assert!(seen.contains(key), "scan missed a key present throughout");
        }
        free_all(Global, &mut dict);
    }
}

proptest! {
    /// With bucket arrays that fail to allocate now and then, the dict stays correct (a failed resize only
    /// lengthens chains and is tried again later), and the live array bytes always equal `index_bytes`: both
    /// arrays are charged while a resize holds them, and nothing is left once it ends.
    #[test]
    fn failed_array_allocations_only_delay_resizes(
        fail_every in 2usize..6,
        ops in proptest::collection::vec((any::<bool>(), 0u16..600), 0..1500),
    ) {
        use crate::types::test_alloc::{self, TestAlloc};
        test_alloc::fail_every(fail_every);
        let base = test_alloc::live_bytes();
        let mut dict: Dict<TestAlloc> = Dict::new(TestAlloc);
        let mut model: HashMap<Vec<u8>, EntryPtr> = HashMap::new();
        for (insert, k) in ops {
            let key = k.to_string().into_bytes();
            if insert {
                if let std::collections::hash_map::Entry::Vacant(slot) = model.entry(key) {
                    let e = entry(slot.key());
                    if dict.insert(e).is_ok() {
                        slot.insert(e);
                    } else {
                        prop_assert_eq!(dict.bucket_count(), 0);
                        unsafe { e.free(Global) };
                    }
                }
            } else if let Some(e) = dict.unlink(&key) {
                prop_assert_eq!(model.remove(&key), Some(e));
                unsafe { e.free(Global) };
            }
            prop_assert_eq!(dict.len(), model.len());
            prop_assert_eq!((test_alloc::live_bytes() - base) as usize, dict.index_bytes());
        }
        for (k, e) in &model {
            prop_assert_eq!(dict.find(k), Some(*e));
        }
        test_alloc::fail_every(0);
        dict.clear(|e| unsafe { e.free(Global) });
        prop_assert_eq!(test_alloc::live_bytes(), base);
    }
}

/// A reserved dict takes its hinted number of keys without a resize; a hint never allocates past the cap, and
/// a dict that already holds keys ignores it.
#[test]
fn reserve_sizes_an_empty_dict_once() {
    let mut dict: Dict<Global> = Dict::new(Global);
    dict.reserve(1000);
    assert_eq!(dict.bucket_count(), 1024);
    for i in 0..1000u32 {
        dict.insert(entry(&i.to_le_bytes())).unwrap();
        assert!(!dict.is_rehashing(), "resized at key {i}");
    }
    check_invariants(&dict);
    dict.reserve(1 << 20);
    assert_eq!(
        dict.bucket_count(),
        1024,
        "a non-empty dict ignores the hint"
    );
    free_all(Global, &mut dict);
    let mut huge: Dict<Global> = Dict::new(Global);
    huge.reserve(usize::MAX);
    assert_eq!(huge.bucket_count(), RESERVE_BUCKETS_MAX);
}

/// Prefetching (bucket, then chain) at any point of a resize, for present and absent keys, changes nothing
/// a lookup sees.
#[test]
fn prefetch_changes_nothing() {
    let mut dict: Dict<Global> = Dict::new(Global);
    let hash = dict.prefetch_hash(b"absent");
    dict.prefetch_bucket(hash);
    dict.prefetch_chain(hash);
    let mut entries = Vec::new();
    for n in 0..3000u32 {
        let key = n.to_le_bytes();
        let e = entry(&key);
        dict.insert(e).unwrap();
        entries.push(e);
        if n % 7 == 0 {
            for probe in [n, n / 2, n + 1_000_000] {
                let hash = dict.prefetch_hash(&probe.to_le_bytes());
                dict.prefetch_bucket(hash);
                dict.prefetch_chain(hash);
            }
            check_invariants(&dict);
            assert_eq!(dict.len(), n as usize + 1);
            assert_eq!(
                dict.find(&(n / 2).to_le_bytes()),
                Some(entries[n as usize / 2])
            );
            assert_eq!(dict.find(&(n + 1_000_000).to_le_bytes()), None);
        }
    }
    free_all(Global, &mut dict);
}
