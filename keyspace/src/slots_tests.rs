//! The per-slot key index against a model: random commands through the real handlers (SET, SADD, DEL,
//! RENAME, MOVE, COPY, EXPIRE / PEXPIRE / PERSIST, lazy and active expiry, FLUSHDB, FLUSHALL, deleting a
//! slot) and, after each, every slot's count and key list equal the model's.

use super::*;
use crate::commands::{expire, keys, sets, strings, Ctx, Handler};
use crate::KeyspaceConfig;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use zedis_kv_pool::SystemAlloc;
use zedis_resp::Protocol;

type A = SystemAlloc;

/// Keys `0..KEYS`: half share a few hash tags, so slots hold several keys.
const KEYS: u8 = 40;

fn key(n: u8) -> String {
    if n % 2 == 0 {
        format!("{{tag{}}}:{n}", n % 5)
    } else {
        format!("key:{n}")
    }
}

#[derive(Clone, Debug)]
enum Op {
    Set(u8),
    Sadd(u8),
    Del(u8),
    Rename(u8, u8),
    Move(u8, bool),
    Copy(u8, u8),
    /// PEXPIRE by that many ms (0 deletes at once).
    Pexpire(u8, u8),
    Persist(u8),
    /// Let time pass, then run the active expire cycle.
    Wait(u8),
    FlushDb(bool),
    FlushAll,
    DeleteSlotOf(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0..KEYS;
    prop_oneof![
        4 => k.clone().prop_map(Op::Set),
        2 => k.clone().prop_map(Op::Sadd),
        2 => k.clone().prop_map(Op::Del),
        2 => (k.clone(), k.clone()).prop_map(|(a, b)| Op::Rename(a, b)),
        1 => (k.clone(), any::<bool>()).prop_map(|(a, to_one)| Op::Move(a, to_one)),
        1 => (k.clone(), k.clone()).prop_map(|(a, b)| Op::Copy(a, b)),
        2 => (k.clone(), 0u8..20).prop_map(|(a, ms)| Op::Pexpire(a, ms)),
        1 => k.clone().prop_map(Op::Persist),
        1 => (0u8..20).prop_map(Op::Wait),
        1 => any::<bool>().prop_map(Op::FlushDb),
        1 => Just(Op::FlushAll),
        1 => k.prop_map(Op::DeleteSlotOf),
    ]
}

/// Runs one command line in `db` at `now_ms`.
fn run(ks: &mut Keyspace<A>, db: usize, now_ms: i64, handler: Handler<A>, line: &str) {
    let words: std::vec::Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
    let mut fx = Effects::default();
    let mut out = std::vec::Vec::new();
    let mut ctx = Ctx {
        argv: &words,
        out: &mut out,
        proto: Protocol::Resp2,
        db,
        now_ms,
        fx: &mut fx,
    };
    handler(ks, &mut ctx);
}

/// The model: per db, key -> expire time (unix ms) if any.
type Model = [BTreeMap<String, Option<i64>>; 2];

/// Drops the model's keys whose time has passed (what a lookup or the active cycle would do, and what
/// counts only once they are gone from the db too: compared after syncing with the real db below).
fn live(model: &Model, db: usize, key: &str, now_ms: i64) -> bool {
    model[db]
        .get(key)
        .is_some_and(|when| when.is_none_or(|w| w > now_ms))
}

fn apply(ks: &mut Keyspace<A>, model: &mut Model, op: &Op, now_ms: &mut i64) {
    let now = *now_ms;
    match op {
        Op::Set(n) => {
            run(ks, 0, now, strings::set, &format!("SET {} v{n}", key(*n)));
            model[0].insert(key(*n), None);
        }
        Op::Sadd(n) => {
            let k = key(*n);
            run(ks, 0, now, sets::sadd, &format!("SADD {k} m"));
            let holds_set = ks.db(0).find(k.as_bytes()).is_some();
            if !live(model, 0, &k, now) && holds_set {
                model[0].insert(k, None);
            }
        }
        Op::Del(n) => {
            run(ks, 0, now, keys::del, &format!("DEL {}", key(*n)));
            model[0].remove(&key(*n));
        }
        Op::Rename(a, b) => {
            let (ka, kb) = (key(*a), key(*b));
            run(ks, 0, now, keys::rename, &format!("RENAME {ka} {kb}"));
            if live(model, 0, &ka, now) {
                let when = model[0].remove(&ka).flatten();
                model[0].insert(kb, when);
            }
        }
        Op::Move(n, to_one) => {
            let k = key(*n);
            let (src, dst) = if *to_one { (0, 1) } else { (1, 0) };
            run(ks, src, now, keys::move_, &format!("MOVE {k} {dst}"));
            if live(model, src, &k, now) && !live(model, dst, &k, now) {
                let when = model[src].remove(&k).flatten();
                model[dst].insert(k, when);
            }
        }
        Op::Copy(a, b) => {
            let (ka, kb) = (key(*a), key(*b));
            run(ks, 0, now, keys::copy, &format!("COPY {ka} {kb} REPLACE"));
            if live(model, 0, &ka, now) && ka != kb {
                let when = model[0][&ka];
                model[0].insert(kb, when);
            }
        }
        Op::Pexpire(n, ms) => {
            let k = key(*n);
            run(ks, 0, now, expire::expire, &format!("PEXPIRE {k} {ms}"));
            if live(model, 0, &k, now) {
                if *ms == 0 {
                    model[0].remove(&k);
                } else {
                    model[0].insert(k, Some(now + i64::from(*ms)));
                }
            }
        }
        Op::Persist(n) => {
            let k = key(*n);
            run(ks, 0, now, expire::persist, &format!("PERSIST {k}"));
            if live(model, 0, &k, now) {
                model[0].insert(k, None);
            }
        }
        Op::Wait(ms) => {
            *now_ms += i64::from(*ms);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            expire::active_expire_cycle(ks, *now_ms, deadline, &mut Effects::default());
        }
        Op::FlushDb(one) => {
            let db = usize::from(*one);
            run(ks, db, now, keys::flushdb, "FLUSHDB");
            model[db].clear();
        }
        Op::FlushAll => {
            run(ks, 0, now, keys::flushall, "FLUSHALL");
            model.iter_mut().for_each(BTreeMap::clear);
        }
        Op::DeleteSlotOf(n) => {
            let slot = key_hash_slot(key(*n).as_bytes());
            let mut fx = Effects::default();
            let deleted = ks.delete_keys_in_slot(slot, &mut fx);
            let before = model[0].len();
            model[0].retain(|k, _| key_hash_slot(k.as_bytes()) != slot);
            assert_eq!(deleted as usize, before - model[0].len());
            assert_eq!(fx.expired.len() as u64, deleted);
        }
    }
}

/// Checks every slot of db 0 against the model. Keys whose time passed may still be in the db (not yet
/// reclaimed, as in Redis): those are taken from the db's own view.
fn check(ks: &Keyspace<A>, model: &Model) {
    let mut by_slot: BTreeMap<u16, BTreeSet<std::vec::Vec<u8>>> = BTreeMap::new();
    for k in model[0].keys() {
        by_slot
            .entry(key_hash_slot(k.as_bytes()))
            .or_default()
            .insert(k.as_bytes().to_vec());
    }
    let expected_len: usize = by_slot.values().map(BTreeSet::len).sum();
    assert_eq!(ks.db(0).len(), expected_len);
    for n in 0..KEYS {
        let slot = key_hash_slot(key(n).as_bytes());
        let want = by_slot.get(&slot).cloned().unwrap_or_default();
        assert_eq!(
            ks.count_keys_in_slot(slot),
            want.len() as u64,
            "slot {slot}"
        );
        let got: BTreeSet<_> = ks.keys_in_slot(slot, usize::MAX).into_iter().collect();
        assert_eq!(got, want, "slot {slot}");
        assert_eq!(ks.keys_in_slot(slot, 1).len(), want.len().min(1));
    }
}

/// Reconciles keys whose TTL passed: the db may have reclaimed them (lazily or actively) or not yet.
fn sync_expired(ks: &Keyspace<A>, model: &mut Model, now_ms: i64) {
    for (db, keys) in model.iter_mut().enumerate() {
        keys.retain(|k, when| {
            when.is_none_or(|w| w > now_ms) || ks.db(db).find(k.as_bytes()).is_some()
        });
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn slot_index_matches_a_model(ops in proptest::collection::vec(op(), 0..300)) {
        let mut ks = Keyspace::<A>::new(2, KeyspaceConfig::default());
        ks.enable_slot_index().unwrap();
        let mut model: Model = Default::default();
        let mut now_ms = 1_000_000;
        for op in &ops {
            apply(&mut ks, &mut model, op, &mut now_ms);
            sync_expired(&ks, &mut model, now_ms);
            check(&ks, &model);
        }
        // The same answers without the index (the scanning fallback).
        let mut plain = Keyspace::<A>::new(1, KeyspaceConfig::default());
        for k in model[0].keys() {
            plain.set_string(0, k.as_bytes(), b"v", None, false, now_ms).unwrap();
        }
        for n in 0..KEYS {
            let slot = key_hash_slot(key(n).as_bytes());
            prop_assert_eq!(plain.count_keys_in_slot(slot), ks.count_keys_in_slot(slot));
            let a: BTreeSet<_> = plain.keys_in_slot(slot, usize::MAX).into_iter().collect();
            let b: BTreeSet<_> = ks.keys_in_slot(slot, usize::MAX).into_iter().collect();
            prop_assert_eq!(a, b);
        }
    }
}

/// Off costs nothing; on, an empty db allocates nothing until its first key; turning it on over existing
/// keys indexes them.
#[test]
fn enabling_costs_nothing_until_a_key_and_indexes_existing_keys() {
    let mut ks = Keyspace::<A>::new(2, KeyspaceConfig::default());
    ks.set_string(0, b"k", b"v", None, false, 0).unwrap();
    assert_eq!(ks.db(0).slot_index_bytes(), 0);
    ks.enable_slot_index().unwrap();
    assert_eq!(ks.db(1).slot_index_bytes(), 0);
    assert!(ks.db(0).slot_index_bytes() >= SLOTS * std::mem::size_of::<SlotSet>());
    ks.set_string(0, b"{k}2", b"v", None, false, 0).unwrap();
    let slot = key_hash_slot(b"k");
    assert_eq!(ks.count_keys_in_slot(slot), 2);
    let got: BTreeSet<_> = ks.keys_in_slot(slot, 10).into_iter().collect();
    assert_eq!(got, BTreeSet::from([b"k".to_vec(), b"{k}2".to_vec()]));
    ks.flush_all();
    assert_eq!(ks.count_keys_in_slot(slot), 0);
    assert_eq!(ks.db(0).slot_index_bytes(), 0);
}

/// One slot holding many keys (one hash tag): its set grows and shrinks through rebuilds, every key
/// found and removed, the bytes back to zero.
#[test]
fn one_big_slot_grows_and_shrinks() {
    let mut ks = Keyspace::<A>::new(1, KeyspaceConfig::default());
    ks.enable_slot_index().unwrap();
    let slot = key_hash_slot(b"same");
    for n in 0..20_000 {
        ks.set_string(0, format!("{{same}}{n}").as_bytes(), b"v", None, false, 0)
            .unwrap();
    }
    assert_eq!(ks.count_keys_in_slot(slot), 20_000);
    let per_key =
        (ks.db(0).slot_index_bytes() - SLOTS * std::mem::size_of::<SlotSet>()) as f64 / 20_000.0;
    assert!(
        per_key < 8.0 * 100.0 / set::LOAD_MIN_PERCENT as f64,
        "{per_key}"
    );
    for n in (0..20_000).step_by(2) {
        assert!(ks.db_mut(0).remove(format!("{{same}}{n}").as_bytes()));
    }
    assert_eq!(ks.count_keys_in_slot(slot), 10_000);
    let left: BTreeSet<_> = ks.keys_in_slot(slot, usize::MAX).into_iter().collect();
    let want: BTreeSet<_> = (1..20_000)
        .step_by(2)
        .map(|n| format!("{{same}}{n}").into_bytes())
        .collect();
    assert_eq!(left, want);
    let mut fx = Effects::default();
    assert_eq!(ks.delete_keys_in_slot(slot, &mut fx), 10_000);
    assert_eq!(ks.db(0).len(), 0);
    assert_eq!(
        ks.db(0).slot_index_bytes(),
        SLOTS * std::mem::size_of::<SlotSet>()
    );
}
