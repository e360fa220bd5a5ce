//! Model tests for both `ClientSlots` strategies.

use std::collections::BTreeMap;

use proptest::prelude::*;
use zedis_budget::{Budget, Component, GlobalBudget};

use super::*;

/// A client with a buffer, so charges of slots and buffers are both checked.
#[derive(Debug, Default)]
struct Client {
    tag: u64,
    query: IoBuf,
}

impl Recycle for Client {
    fn recycle(&mut self) {
        self.tag = 0;
        self.query.clear();
        self.query.shrink_to(256);
    }
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u64, usize),
    Remove(usize),
    RemoveUnknown(usize),
    SetMax(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<u64>(), 0..2000usize).prop_map(|(tag, bytes)| Op::Insert(tag, bytes)),
        4 => any::<usize>().prop_map(Op::Remove),
        1 => any::<usize>().prop_map(Op::RemoveUnknown),
        1 => (0..40usize).prop_map(Op::SetMax),
    ]
}

/// Runs `ops` against `S` and a map model. `held_buffers` sums the capacity of every buffer the store
/// still owns (live clients, and recycled slots for the pool).
fn run<S: ClientSlots<Client>>(
    ops: Vec<Op>,
    clients_max: usize,
    held_buffers: impl Fn(&S) -> usize,
) -> Result<(), TestCaseError> {
    let budget = Budget::leak(0);
    zedis_budget::install(budget);
    let mut store = S::new(clients_max);
    let mut model: BTreeMap<usize, u64> = BTreeMap::new();
    let mut clients_max = clients_max;
    for op in ops {
        match op {
            Op::Insert(tag, bytes) => {
                let free_before = store.stats().free;
                match store.insert_with(|c| {
                    c.tag = tag;
                    c.query.extend_from_slice(&vec![b'x'; bytes]);
                }) {
                    Ok(key) => {
                        prop_assert!(model.len() < clients_max);
                        prop_assert!(
                            model.insert(key, tag).is_none(),
                            "key {} handed out twice",
                            key
                        );
                        if S::NAME == "pool" && free_before > 0 {
                            prop_assert_eq!(store.stats().free, free_before - 1, "slot not reused");
                        }
                    }
                    Err(full) => {
                        prop_assert_eq!(model.len(), clients_max);
                        prop_assert_eq!(full.clients_max, clients_max);
                    }
                }
            }
            Op::Remove(i) if !model.is_empty() => {
                let key = *model.keys().nth(i % model.len()).unwrap();
                prop_assert!(store.remove(key));
                model.remove(&key);
                prop_assert!(store.get(key).is_none());
            }
            Op::Remove(_) => {}
            Op::RemoveUnknown(key) => {
                let key = key % 100;
                prop_assert_eq!(store.remove(key), model.remove(&key).is_some());
            }
            Op::SetMax(max) => {
                store.set_clients_max(max);
                clients_max = max.max(model.len());
                prop_assert_eq!(store.clients_max(), clients_max);
            }
        }
        prop_assert_eq!(store.len(), model.len());
        prop_assert!(store.len() <= store.clients_max());
        prop_assert_eq!(store.keys(), model.keys().copied().collect::<Vec<_>>());
        for (&key, &tag) in &model {
            prop_assert_eq!(store.get(key).map(|c| c.tag), Some(tag));
        }
        let charged = store.stats().slot_bytes + held_buffers(&store);
        prop_assert_eq!(budget.used_by(Component::Clients), charged);
    }
    drop(store);
    prop_assert_eq!(budget.used(), 0);
    Ok(())
}

impl FixedPool<Client> {
    /// Every buffer byte the pool holds, live or recycled (test only).
    fn buffer_bytes(&self) -> usize {
        self.slots_for_tests()
            .iter()
            .map(|c| c.query.capacity())
            .sum()
    }
}

proptest! {
    /// Bound enforced, keys unique among live, slots reused, unknown removes harmless, charges exact.
    #[test]
    fn fixed_pool_matches_model(ops in proptest::collection::vec(op(), 0..120), clients_max in 0..30usize) {
        run::<FixedPool<Client>>(ops, clients_max, FixedPool::buffer_bytes)?;
    }

    /// The same contract for the heap baseline.
    #[test]
    fn heap_clients_match_model(ops in proptest::collection::vec(op(), 0..120), clients_max in 0..30usize) {
        run::<HeapClients<Client>>(ops, clients_max, |store| {
            store.keys().iter().map(|&k| store.get(k).map_or(0, |c| c.query.capacity())).sum()
        })?;
    }
}

#[test]
fn pool_full_then_room_after_remove() {
    let mut pool: FixedPool<Client> = FixedPool::new(1);
    let a = pool.insert_with(|c| c.tag = 1).unwrap();
    assert_eq!(
        pool.insert_with(|c| c.tag = 2),
        Err(PoolFull { clients_max: 1 })
    );
    pool.set_clients_max(0);
    assert_eq!(pool.clients_max(), 1, "never below len");
    assert!(pool.remove(a));
    assert!(!pool.remove(a));
    pool.set_clients_max(0);
    assert_eq!(
        pool.stats(),
        ClientPoolStats {
            used: 0,
            free: 0,
            capacity: 0,
            recycled: 0,
            slot_bytes: 0
        }
    );
    assert!(pool.insert_with(|_| {}).is_err());
    let mut info = String::new();
    pool.write_info(&mut info);
    assert!(info.starts_with("client_slots:pool\r\n"));
}
