//! Eviction under the budget: Redis's approximated LRU, LFU, TTL and random policies.
//!
//! Each round samples `maxmemory-samples` keys per database (all keys, or only those with a TTL for the
//! `volatile-*` policies), keeps the best candidates in a small pool ordered by score (idle time, inverse access
//! frequency, or nearness of expiry), and evicts the best one; rounds repeat until the write fits. A volatile
//! policy with no TTL keys left has nothing to evict and the write gets `-OOM`, as in Redis.

use super::Effects;
use crate::entry::EntryPtr;
use crate::{notify, EvictionPolicy, Keyspace, Oom};
use zedis_budget::GlobalBudget;
use zedis_kv_pool::KvAllocator;

/// Candidates kept between sampling rounds (Redis's EVPOOL_SIZE).
const POOL_SIZE: usize = 16;

/// Evicts keys until `bytes_needed` more fit in the budget, or fails with [`Oom`].
pub fn evict_until_fits<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    bytes_needed: usize,
    now_ms: i64,
    fx: &mut Effects,
) -> Result<(), Oom> {
    let budget = zedis_budget::current();
    // The candidate pool lives across calls, as Redis's EvictionPoolLRU does: a good candidate seen once
    // stays eligible even when later samples happen to be poor.
    let mut pool = std::mem::take(&mut ks.evict_pool);
    let result = loop {
        if budget.fits(bytes_needed) {
            break Ok(());
        }
        let victim = match ks.config.policy {
            EvictionPolicy::AllKeysRandom | EvictionPolicy::VolatileRandom => random_victim(ks),
            _ => pooled_victim(ks, &mut pool, now_ms),
        };
        let Some((db, key)) = victim else {
            break Err(Oom);
        };
        if !ks.db_mut(db).remove(&key) {
            continue;
        }
        ks.stats.evicted_keys += 1;
        fx.dirty += 1;
        fx.touch(db, &key);
        fx.notify(notify::EVICTED, "evicted", db, &key);
        fx.expired.push((db, key));
    };
    ks.evict_pool = pool;
    result
}

fn volatile_only(policy: EvictionPolicy) -> bool {
    matches!(
        policy,
        EvictionPolicy::VolatileLru
            | EvictionPolicy::VolatileLfu
            | EvictionPolicy::VolatileRandom
            | EvictionPolicy::VolatileTtl
    )
}

fn random_victim<A: KvAllocator>(ks: &mut Keyspace<A>) -> Option<(usize, Vec<u8>)> {
    let volatile = volatile_only(ks.config.policy);
    let dbs = ks.db_count();
    let start = (ks.random() as usize) % dbs;
    for i in 0..dbs {
        let db = (start + i) % dbs;
        let entry = if volatile {
            let len = ks.db(db).volatile_len();
            if len == 0 {
                continue;
            }
            let idx = (ks.random() as usize) % len;
            ks.db(db).volatile_at(idx)
        } else {
            let mut state = ks.random();
            let mut rng = || {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                state ^ (state >> 31)
            };
            ks.db(db).dict().random_entry(&mut rng)
        };
        if let Some(entry) = entry {
            return Some((db, entry.key().to_vec()));
        }
    }
    None
}

/// Higher is a better victim.
fn score<A: KvAllocator>(ks: &Keyspace<A>, entry: EntryPtr, now_ms: i64) -> u64 {
    match ks.config.policy {
        EvictionPolicy::AllKeysLfu | EvictionPolicy::VolatileLfu => {
            255 - u64::from(ks.lfu_decayed(entry, now_ms))
        }
        EvictionPolicy::VolatileTtl => {
            u64::MAX - entry.expire().map_or(u64::MAX, |when| when.max(0) as u64)
        }
        _ => super::keys::idle_ms(entry, now_ms) as u64,
    }
}

fn pooled_victim<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    pool: &mut Vec<(u64, usize, Vec<u8>)>,
    now_ms: i64,
) -> Option<(usize, Vec<u8>)> {
    let volatile = volatile_only(ks.config.policy);
    let samples = ks.config.samples.max(1);
    let mut sampled = Vec::with_capacity(samples);
    for db in 0..ks.db_count() {
        sampled.clear();
        if volatile {
            let len = ks.db(db).volatile_len();
            for _ in 0..samples.min(len) {
                let idx = (ks.random() as usize) % len;
                sampled.extend(ks.db(db).volatile_at(idx));
            }
        } else {
            let mut state = ks.random();
            let mut rng = || {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                state ^ (state >> 31)
            };
            ks.db(db).dict().sample(samples, &mut rng, &mut sampled);
        }
        for &entry in &sampled {
            let key = entry.key();
            if pool.iter().any(|(_, d, k)| *d == db && k == key) {
                continue;
            }
            let s = score(ks, entry, now_ms);
            if pool.len() < POOL_SIZE || pool[0].0 < s {
                let at = pool.partition_point(|(p, _, _)| *p <= s);
                pool.insert(at, (s, db, key.to_vec()));
                if pool.len() > POOL_SIZE {
                    pool.remove(0);
                }
            }
        }
    }
    // Best first; skip candidates that went away since they were pooled.
    while let Some((_, db, key)) = pool.pop() {
        if ks.db(db).find(&key).is_some() {
            return Some((db, key));
        }
    }
    None
}
