//! SSCAN and HSCAN under churn: the `hashtable` encodings paged by [`super::scan_arrays`] keep SCAN's
//! guarantee across growths and shrinks; the small encodings come whole with cursor 0.

use crate::types::{Hash, Limits, Set};
use allocator_api2::alloc::Global;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// One change made between two scan calls.
#[derive(Clone, Debug)]
enum Change {
    /// Adds member / field `n` (value `v`).
    Add(u16, u8),
    /// Removes member / field `n`.
    Remove(u16),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0u16..3000, any::<u8>()).prop_map(|(n, v)| Change::Add(n, v)),
        (0u16..3000).prop_map(Change::Remove),
    ]
}

/// Batches of changes, large enough to grow a table past a resize or to empty most of it (a shrink).
fn batches() -> impl Strategy<Value = Vec<Vec<Change>>> {
    proptest::collection::vec(proptest::collection::vec(change(), 0..120), 0..120)
}

fn name(n: u16) -> Vec<u8> {
    format!("member:{n}").into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// SSCAN's guarantee under churn: every member present from the first call to the last is returned, and
    /// every member returned is in the set when returned.
    #[test]
    fn sscan_returns_every_member_present_throughout(
        initial in 0usize..2000,
        count in 1usize..60,
        changes in batches(),
    ) {
        let limits = Limits::default();
        let mut set = Set::new_in(Global);
        let mut model = BTreeSet::new();
        for n in 0..initial as u16 {
            set.add(&name(n), &limits).unwrap();
            model.insert(name(n));
        }
        let mut throughout = model.clone();
        let mut seen = BTreeSet::new();
        let (mut cursor, mut batches) = (0, changes.into_iter());
        loop {
            let mut page = Vec::new();
            cursor = set.scan(cursor, count, |m| page.push(m.to_vec()));
            for member in page {
                prop_assert!(model.contains(&member));
                seen.insert(member);
            }
            if cursor == 0 {
                break;
            }
            for change in batches.next().unwrap_or_default() {
                match change {
                    Change::Add(n, _) => {
                        set.add(&name(n), &limits).unwrap();
                        model.insert(name(n));
                    }
                    Change::Remove(n) => {
                        prop_assert_eq!(set.remove(&name(n)), model.remove(&name(n)));
                        throughout.remove(&name(n));
                    }
                }
            }
        }
        let missed: Vec<_> = throughout.difference(&seen).collect();
        prop_assert!(missed.is_empty(), "missed {:?}", missed);
    }

    /// HSCAN's guarantee under churn, values included: every field present throughout is returned, each
    /// pair returned is the hash's pair when returned.
    #[test]
    fn hscan_returns_every_field_present_throughout(
        initial in 0usize..2000,
        count in 1usize..60,
        changes in batches(),
    ) {
        let limits = Limits::default();
        let mut hash = Hash::new_in(Global);
        let mut model = BTreeMap::new();
        for n in 0..initial as u16 {
            hash.set(&name(n), b"v", &limits).unwrap();
            model.insert(name(n), b"v".to_vec());
        }
        let mut throughout: BTreeSet<_> = model.keys().cloned().collect();
        let mut seen = BTreeSet::new();
        let (mut cursor, mut batches) = (0, changes.into_iter());
        loop {
            let mut page = Vec::new();
            cursor = hash.scan(cursor, count, |f, v| page.push((f.to_vec(), v.to_vec())));
            for (field, value) in page {
                prop_assert_eq!(model.get(&field), Some(&value));
                seen.insert(field);
            }
            if cursor == 0 {
                break;
            }
            for change in batches.next().unwrap_or_default() {
                match change {
                    Change::Add(n, v) => {
                        let value = format!("value{v}").into_bytes();
                        hash.set(&name(n), &value, &limits).unwrap();
                        model.insert(name(n), value);
                    }
                    Change::Remove(n) => {
                        prop_assert_eq!(hash.remove(&name(n)), model.remove(&name(n)).is_some());
                        throughout.remove(&name(n));
                    }
                }
            }
        }
        let missed: Vec<_> = throughout.difference(&seen).collect();
        prop_assert!(missed.is_empty(), "missed {:?}", missed);
    }
}

/// Small encodings come whole with cursor 0 whatever the cursor; a `hashtable` set pages (many calls with a
/// small COUNT, a nonzero first cursor) and returns every member, each once when nothing changes.
#[test]
fn only_the_hashtable_encodings_page() {
    let limits = Limits::default();
    let mut ints = Set::new_in(Global);
    let mut hash = Hash::new_in(Global);
    for n in 0..100u16 {
        ints.add(n.to_string().as_bytes(), &limits).unwrap();
        hash.set(&name(n), b"v", &limits).unwrap();
    }
    let (mut members, mut pairs) = (0, 0);
    assert_eq!(ints.scan(777, 1, |_| members += 1), 0);
    assert_eq!(hash.scan(777, 1, |_, _| pairs += 1), 0);
    assert_eq!((ints.encoding(), members), ("intset", 100));
    assert_eq!((hash.encoding(), pairs), ("listpack", 100));
    let mut set = Set::new_in(Global);
    for n in 0..1000u16 {
        set.add(&name(n), &limits).unwrap();
    }
    assert_eq!(set.encoding(), "hashtable");
    let (mut calls, mut got, mut cursor) = (0, Vec::new(), 0);
    loop {
        cursor = set.scan(cursor, 10, |m| got.push(m.to_vec()));
        calls += 1;
        if calls == 1 {
            assert_ne!(cursor, 0);
        }
        if cursor == 0 {
            break;
        }
    }
    let unique: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!((got.len(), unique.len()), (1000, 1000));
    assert!(calls > 50, "{calls} calls");
}
