//! A lowered `maxmemory`: writes go on with bounded eviction each while the keyspace is over the new limit,
//! never growing the overshoot they found, and later calls (the cron's) bring it under the limit, after
//! which the limit is hard again.

use super::super::Effects;
use crate::{EvictionPolicy, Keyspace, KeyspaceConfig};
use zedis_budget::{Budget, GlobalBudget};
use zedis_kv_pool::SystemAlloc;

const KEYS: usize = 30_000;

fn filled(policy: EvictionPolicy) -> (Keyspace<SystemAlloc>, &'static Budget) {
    let budget = Budget::leak(0);
    zedis_budget::install(budget);
    let config = KeyspaceConfig {
        policy,
        ..KeyspaceConfig::default()
    };
    let mut ks = Keyspace::new(1, config);
    for i in 0..KEYS {
        let key = format!("key:{i}");
        ks.set_string(0, key.as_bytes(), b"some value bytes", None, false, 0)
            .unwrap();
    }
    (ks, budget)
}

#[test]
fn writes_after_lowering_maxmemory_evict_in_bounded_steps() {
    for policy in [EvictionPolicy::AllKeysLru, EvictionPolicy::AllKeysRandom] {
        let (mut ks, budget) = filled(policy);
        let found = budget.used_for_eviction();
        budget.set_limit(found / 10);
        let mut fx = Effects::default();
        let mut writes = 0usize;
        let own = 200;
        while budget.over_limit() {
            let before = budget.used_for_eviction();
            ks.reclaim_with_headroom(own, 0, 0, &mut fx).unwrap();
            let key = format!("new:{writes}");
            ks.set_string(0, key.as_bytes(), b"written while over", None, false, 0)
                .expect("a write over a lowered limit is admitted");
            writes += 1;
            // The write did not grow the overshoot it found.
            assert!(budget.used_for_eviction() <= before, "{policy:?}");
            assert!(budget.used_for_eviction() <= found);
            assert!(writes < KEYS, "{policy:?}: never got under the limit");
        }
        // The first write did not evict the whole excess at once (the work per write is bounded), so it
        // took several; once under the limit the ceiling is the limit again: nothing past it is admitted.
        assert!(writes > 1, "{policy:?}: {writes}");
        assert_eq!(budget.ceiling(), budget.limit());
        let room = budget.limit() - budget.used_for_eviction();
        assert!(budget.fits(room) && !budget.fits(room + 1), "{policy:?}");
    }
}

#[test]
fn calls_that_write_nothing_catch_up_and_a_limit_not_lowered_stays_hard() {
    let (mut ks, budget) = filled(EvictionPolicy::AllKeysLru);
    let found = budget.used_for_eviction();
    budget.set_limit(found / 2);
    let mut fx = Effects::default();
    let mut calls = 0;
    while budget.over_limit() {
        ks.reclaim(0, 0, &mut fx).unwrap();
        calls += 1;
        assert!(calls < KEYS);
        // The ceiling only comes down, never below the limit.
        assert!(budget.ceiling() <= found && budget.ceiling() >= budget.limit());
    }
    assert_eq!(budget.ceiling(), budget.limit());
    // Raising the limit opens no grace: it is hard at once.
    budget.set_limit(budget.limit() + 4096);
    assert_eq!(budget.ceiling(), budget.limit());
    let room = budget.limit() - budget.used_for_eviction();
    assert!(budget.fits(room) && !budget.fits(room + 1));
}
