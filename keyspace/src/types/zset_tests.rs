use super::*;
use crate::types::test_alloc::{fail_every, live_bytes, xorshift, TestAlloc};
use allocator_api2::alloc::Global;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn small_limits() -> Limits {
    Limits {
        zset_listpack_entries_max: 5,
        zset_listpack_value_bytes_max: 8,
        ..Limits::default()
    }
}

/// The model's order: by score, then member bytes.
fn model_order(
    model: &BTreeMap<std::vec::Vec<u8>, f64>,
) -> std::vec::Vec<(std::vec::Vec<u8>, f64)> {
    let mut all: std::vec::Vec<_> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
    all.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then_with(|| a.0.cmp(&b.0)));
    all
}

fn contents<A: Allocator + Copy>(z: &ZSet<A>) -> std::vec::Vec<(std::vec::Vec<u8>, f64)> {
    z.iter().map(|(m, s)| (m.to_vec(), s)).collect()
}

#[test]
fn encodings_and_conversion() {
    let limits = Limits::default();
    let mut z = ZSet::new_in(Global);
    for i in 0..128 {
        z.upsert(format!("m{i}").as_bytes(), f64::from(i), &limits)
            .unwrap();
    }
    assert_eq!(z.encoding(), "listpack");
    z.upsert(b"m128", 128.0, &limits).unwrap();
    assert_eq!((z.encoding(), z.len()), ("skiplist", 129));
    let mut z = ZSet::new_in(Global);
    z.upsert(&[b'x'; 64], 1.0, &limits).unwrap();
    assert_eq!(z.encoding(), "listpack");
    z.upsert(&[b'x'; 65], 1.0, &limits).unwrap();
    assert_eq!(z.encoding(), "skiplist");
}

#[test]
fn scores_keep_their_bits() {
    let limits = Limits::default();
    let mut z = ZSet::new_in(Global);
    let samples = [
        0.1,
        -0.0,
        1e300,
        f64::INFINITY,
        f64::NEG_INFINITY,
        9007199254740993.0,
        3.0,
    ];
    for (i, s) in samples.iter().enumerate() {
        z.upsert(format!("{i}").as_bytes(), *s, &limits).unwrap();
    }
    for (i, s) in samples.iter().enumerate() {
        // A listpack stores -0 as 0, as Redis's does.
        let expected = if *s == 0.0 { 0.0f64 } else { *s };
        let got = z.score(format!("{i}").as_bytes()).unwrap();
        assert_eq!(got.to_bits(), expected.to_bits());
    }
    let ranks: std::vec::Vec<_> = z.iter().map(|(m, _)| m.to_vec()).collect();
    assert_eq!(ranks[0], b"4");
    assert_eq!(ranks[6], b"3");
}

#[test]
fn skiplist_keeps_the_sign_of_zero() {
    // Redis's skiplist holds doubles: ZRANGE/ZSCAN/RDB of a skiplist show `-0` (7.0.15), while its
    // listpack stores `-0` as the integer 0.
    let limits = Limits::default();
    let mut z = ZSet::new_in(Global);
    z.upsert(b"neg", -0.0, &limits).unwrap();
    assert!(z.iter().all(|(_, s)| s.to_bits() == 0));
    let mut big = ZSet::new_in(Global);
    for i in 0..200 {
        big.upsert(format!("m{i:03}").as_bytes(), 0.0, &limits)
            .unwrap();
    }
    big.upsert(b"neg", -0.0, &limits).unwrap();
    big.upsert(b"m050", -0.0, &limits).unwrap(); // -0 == 0: no update, as `zsetAdd`
    assert_eq!(big.encoding(), "skiplist");
    for (member, score) in big.iter() {
        let negative = member.to_vec() == b"neg";
        assert_eq!(score.is_sign_negative(), negative, "{member:?}");
    }
    assert!(big.score(b"neg").unwrap().is_sign_negative());
    assert_eq!(big.rank(b"neg").unwrap().0, 200); // ties ordered by member: every m... < neg
    let mut rng = xorshift(5);
    let picked = std::iter::repeat_with(|| big.random(&mut rng).unwrap().1)
        .take(2000)
        .filter(|s| s.is_sign_negative())
        .count();
    assert!(picked > 0);
    big.remove(b"neg").unwrap();
    assert!(big.iter().all(|(_, s)| !s.is_sign_negative()));
}

#[test]
fn big_set_keeps_order_and_ranks() {
    let limits = Limits::default();
    let mut z = ZSet::new_in(Global);
    let mut rng = xorshift(3);
    let mut model = BTreeMap::new();
    for _ in 0..5000 {
        let member = format!("k{}", rng() % 3000).into_bytes();
        let score = (rng() % 100) as f64;
        z.upsert(&member, score, &limits).unwrap();
        model.insert(member, score);
    }
    let order = model_order(&model);
    assert_eq!(contents(&z), order);
    for (rank, (member, score)) in order.iter().enumerate().step_by(97) {
        assert_eq!(z.rank(member), Some((rank, *score)));
    }
    let back: std::vec::Vec<_> = z.range(10, 400, true).map(|(m, _)| m.to_vec()).collect();
    let expected: std::vec::Vec<_> = order[10..400].iter().rev().map(|p| p.0.clone()).collect();
    assert_eq!(back, expected);
}

#[derive(Debug, Clone)]
enum Op {
    Upsert(u8, i8),
    Remove(u8),
    RemoveRange(u8, u8),
}

fn member(i: u8) -> std::vec::Vec<u8> {
    if i % 7 == 0 {
        format!("{i}").into_bytes()
    } else if i % 11 == 0 {
        format!("long-member-{i}").into_bytes()
    } else {
        format!("m{i}").into_bytes()
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..60, any::<i8>()).prop_map(|(m, s)| Op::Upsert(m, s)),
        2 => (0u8..60).prop_map(Op::Remove),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::RemoveRange(a, b)),
    ]
}

fn score_of(s: i8) -> f64 {
    match s {
        i8::MIN => f64::NEG_INFINITY,
        i8::MAX => f64::INFINITY,
        s if s % 3 == 0 => f64::from(s) / 4.0,
        s => f64::from(s % 10),
    }
}

proptest! {
    #[test]
    fn model(ops in proptest::collection::vec(op(), 0..300), fail in prop_oneof![Just(0usize), 3usize..20]) {
        let base = live_bytes();
        {
            let limits = small_limits();
            let mut z = ZSet::new_in(TestAlloc);
            let mut model: BTreeMap<std::vec::Vec<u8>, f64> = BTreeMap::new();
            fail_every(fail);
            for op in ops {
                match op {
                    Op::Upsert(m, s) => {
                        let (member, score) = (member(m), score_of(s));
                        if let Ok(done) = z.upsert(&member, score, &limits) {
                            let expected = match model.insert(member, score) {
                                None => Upsert::Added,
                                Some(old) if old == score => Upsert::Same,
                                Some(_) => Upsert::Updated,
                            };
                            prop_assert_eq!(done, expected);
                        }
                    }
                    Op::Remove(m) => {
                        let member = member(m);
                        prop_assert_eq!(z.remove(&member), model.remove(&member));
                    }
                    Op::RemoveRange(a, b) => {
                        let order = model_order(&model);
                        let (start, end) = (usize::from(a.min(b)) % 8, usize::from(a.max(b)) % 12);
                        let mut seen = std::vec::Vec::new();
                        let n = z.remove_range(start, end, |m, s| seen.push((m.to_vec(), s)));
                        let expected: std::vec::Vec<_> = order.iter().skip(start).take(end.saturating_sub(start)).cloned().collect();
                        prop_assert_eq!(n, expected.len());
                        prop_assert_eq!(&seen, &expected);
                        for (m, _) in expected {
                            model.remove(&m);
                        }
                    }
                }
                let order = model_order(&model);
                prop_assert_eq!(z.len(), model.len());
                prop_assert_eq!(contents(&z), order.clone());
                let rev: std::vec::Vec<_> = z.range(0, z.len(), true).map(|(m, s)| (m.to_vec(), s)).collect();
                prop_assert_eq!(rev, order.iter().rev().cloned().collect::<std::vec::Vec<_>>());
                for (rank, (m, s)) in order.iter().enumerate() {
                    prop_assert_eq!(z.rank(m), Some((rank, *s)));
                }
                let below_zero = z.count_before(|_, s| s < 0.0);
                prop_assert_eq!(below_zero, order.iter().filter(|p| p.1 < 0.0).count());
            }
            fail_every(0);
        }
        prop_assert_eq!(live_bytes(), base);
    }
}

/// One change made between two ZSCAN calls.
#[derive(Clone, Debug)]
enum ScanChange {
    /// Adds (or rescores) member `n` with score `s % 4` (few distinct scores: long equal-score runs).
    Add(u16, u8),
    /// Removes member `n`.
    Remove(u16),
}

fn scan_change() -> impl Strategy<Value = ScanChange> {
    prop_oneof![
        (0u16..600, any::<u8>()).prop_map(|(n, s)| ScanChange::Add(n, s)),
        (0u16..600).prop_map(ScanChange::Remove),
    ]
}

proptest! {
    /// ZSCAN's guarantee under churn: with random adds, rescores and removals between the calls (growing
    /// and shrinking the member index, so scans cross resizes), every member present from the first call
    /// to the last is returned, and every returned pair is in the set with that score when returned.
    #[test]
    fn scan_returns_every_member_present_throughout(
        initial in 0usize..400,
        count in 1usize..40,
        changes in proptest::collection::vec(proptest::collection::vec(scan_change(), 0..12), 0..200),
    ) {
        let limits = Limits::default();
        let mut z = ZSet::new_in(Global);
        let mut model: BTreeMap<std::vec::Vec<u8>, f64> = BTreeMap::new();
        for n in 0..initial {
            let member = format!("m{n}").into_bytes();
            let score = (n % 3) as f64;
            z.upsert(&member, score, &limits).unwrap();
            model.insert(member, score);
        }
        let mut throughout: std::collections::BTreeSet<_> = model.keys().cloned().collect();
        let mut seen = std::collections::BTreeSet::new();
        let mut cursor = 0;
        let mut batches = changes.into_iter();
        loop {
            let mut page = std::vec::Vec::new();
            cursor = z.scan(cursor, count, |m, s| page.push((m.to_vec(), s)));
            for (member, score) in page {
                prop_assert_eq!(model.get(&member), Some(&score));
                seen.insert(member);
            }
            if cursor == 0 {
                break;
            }
            for change in batches.next().unwrap_or_default() {
                match change {
                    ScanChange::Add(n, s) => {
                        let member = format!("m{n}").into_bytes();
                        z.upsert(&member, f64::from(s % 4), &limits).unwrap();
                        model.insert(member, f64::from(s % 4));
                    }
                    ScanChange::Remove(n) => {
                        let member = format!("m{n}").into_bytes();
                        prop_assert_eq!(z.remove(&member), model.remove(&member));
                        throughout.remove(&member);
                    }
                }
            }
        }
        let missed: std::vec::Vec<_> = throughout.difference(&seen).collect();
        prop_assert!(missed.is_empty(), "missed {:?}", missed);
    }
}

/// A listpack set is returned whole with cursor 0 whatever the cursor (as Redis); a skiplist set pages.
#[test]
fn scan_pages_only_the_skiplist_encoding() {
    let limits = Limits::default();
    let mut z = ZSet::new_in(Global);
    for n in 0..100 {
        z.upsert(format!("m{n}").as_bytes(), f64::from(n), &limits)
            .unwrap();
    }
    let mut got = 0;
    assert_eq!(z.scan(12345, 10, |_, _| got += 1), 0);
    assert_eq!(got, 100);
    for n in 100..1000 {
        z.upsert(format!("m{n}").as_bytes(), f64::from(n), &limits)
            .unwrap();
    }
    let (mut calls, mut got, mut cursor) = (0, 0, 0);
    loop {
        cursor = z.scan(cursor, 10, |_, _| got += 1);
        calls += 1;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(got, 1000);
    assert!(calls > 50, "{calls} calls");
}
