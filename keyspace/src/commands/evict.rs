//! Eviction under the budget: Redis's approximated LRU, LFU, TTL and random policies.
//!
//! Each round samples `maxmemory-samples` keys per database (all keys, or only those with a TTL for the
//! `volatile-*` policies), keeps the best candidates in a small pool ordered by score (idle time, inverse access
//! frequency, or nearness of expiry), and evicts the best one; rounds repeat until the write fits. A volatile
//! policy with no TTL keys left has nothing to evict and the write gets `-OOM`, as in Redis.
//!
//! Work per call is bounded as in Redis: each round samples at most `maxmemory-samples` keys per database
//! (visiting at most ten buckets per key asked), and the eviction for a write's *headroom* (room beyond its
//! own bytes, [`evict_with_headroom`]), and all of it for a call that writes nothing (a read while over the
//! limit, a lowered `maxmemory`), stops after [`EVICTION_TIME_LIMIT`], leaving the rest to later calls and to
//! the server's cron.

use super::Effects;
use crate::entry::EntryPtr;
use crate::{notify, EvictionPolicy, Keyspace, Oom};
use std::time::{Duration, Instant};
use zedis_budget::GlobalBudget;
use zedis_kv_pool::KvAllocator;

/// Candidates kept between sampling rounds (Redis's EVPOOL_SIZE).
const POOL_SIZE: usize = 16;

/// Time after which eviction for headroom stops (Redis's `evictionTimeLimitUs` at the default
/// `maxmemory-eviction-tenacity` 10: 500 µs).
pub const EVICTION_TIME_LIMIT: Duration = Duration::from_micros(500);

/// Evictions between two clock reads (Redis checks its time limit every 16 keys).
const EVICTIONS_PER_CLOCK_READ: usize = 16;

/// Evicts until `bytes_needed` more fit in the budget, or fails with [`Oom`].
pub fn evict_until_fits<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    bytes_needed: usize,
    now_ms: i64,
    fx: &mut Effects,
) -> Result<(), Oom> {
    evict_with_headroom(ks, bytes_needed, 0, EVICTION_TIME_LIMIT, now_ms, fx)
}

/// Evicts until `bytes_needed + headroom_bytes` fit, but bounds the work spent on the headroom: once
/// `time_limit` has passed and `bytes_needed` alone fits, it stops (as Redis's `performEvictions` returning
/// `EVICT_RUNNING`), leaving the rest to the next call. The command's own `bytes_needed` is always made room
/// for under the budget's admission ceiling (the limit, or the usage a lowered limit found, see
/// `zedis_budget`), or [`Oom`] returned. `target` is always aimed at under the limit itself.
pub fn evict_with_headroom<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    bytes_needed: usize,
    headroom_bytes: usize,
    time_limit: Duration,
    now_ms: i64,
    fx: &mut Effects,
) -> Result<(), Oom> {
    let budget = zedis_budget::current();
    let target = bytes_needed.saturating_add(headroom_bytes);
    let start = Instant::now();
    let mut evicted = 0usize;
    // The candidate pool lives across calls, as Redis's EvictionPoolLRU does: a good candidate seen once
    // stays eligible even when later samples happen to be poor.
    let mut pool = std::mem::take(&mut ks.evict_pool);
    let result = loop {
        if budget.fits_limit(target) {
            break Ok(());
        }
        // Out of time: stop once the write's own bytes fit (the headroom is left to later calls). A call that
        // writes nothing (a read while over the limit, a lowered maxmemory) stops even while over the limit,
        // as Redis's EVICT_RUNNING: the cron and later commands go on evicting.
        if evicted > 0
            && evicted % EVICTIONS_PER_CLOCK_READ == 0
            && (bytes_needed == 0 || budget.fits(bytes_needed))
            && start.elapsed() >= time_limit
        {
            break Ok(());
        }
        // The segment stores give a unit in proportion to their bytes (see `crate::seg`).
        if ks.seg_evict_turn() && ks.seg_evict_unit(now_ms, fx) {
            evicted += 1;
            continue;
        }
        let victim = match ks.config.policy {
            EvictionPolicy::AllKeysRandom | EvictionPolicy::VolatileRandom => random_victim(ks),
            _ => pooled_victim(ks, &mut pool, now_ms),
        };
        let Some((db, key)) = victim else {
            if ks.seg_evict_unit(now_ms, fx) {
                evicted += 1;
                continue;
            }
            break if budget.fits(bytes_needed) {
                Ok(())
            } else {
                Err(Oom)
            };
        };
        if !ks.db_mut(db).remove(&key) {
            continue;
        }
        evicted += 1;
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

/// Sampling rounds that may come back empty (a sparse table) before the last one falls back to
/// [`crate::dict::Dict::random_entry`]; Redis samples again for as long as keys exist.
const SAMPLE_ROUNDS_MAX: usize = 8;

fn pooled_victim<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    pool: &mut Vec<(u64, usize, Vec<u8>)>,
    now_ms: i64,
) -> Option<(usize, Vec<u8>)> {
    for round in 1..=SAMPLE_ROUNDS_MAX {
        let any_keys = populate_pool(ks, pool, now_ms, round == SAMPLE_ROUNDS_MAX);
        // Best first; skip candidates that went away since they were pooled.
        while let Some((_, db, key)) = pool.pop() {
            if ks.db(db).find(&key).is_some() {
                return Some((db, key));
            }
        }
        if !any_keys {
            return None;
        }
    }
    None
}

/// One sampling round over every database into the pool (Redis's `evictionPoolPopulate`); whether any
/// database had candidates at all. `last` makes an empty sample fall back to one random pick.
fn populate_pool<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    pool: &mut Vec<(u64, usize, Vec<u8>)>,
    now_ms: i64,
    last: bool,
) -> bool {
    let volatile = volatile_only(ks.config.policy);
    let samples = ks.config.samples.max(1);
    let mut sampled = Vec::with_capacity(samples);
    let mut any_keys = false;
    for db in 0..ks.db_count() {
        sampled.clear();
        if volatile {
            let len = ks.db(db).volatile_len();
            for _ in 0..samples.min(len) {
                let idx = (ks.random() as usize) % len;
                sampled.extend(ks.db(db).volatile_at(idx));
            }
        } else if !ks.db(db).is_empty() {
            // As Redis's dictGetSomeKeys: help a resize under way first, so samples do not keep landing in
            // the sparse old array of a shrink.
            for _ in 0..samples {
                if !ks.db_mut(db).rehash_step() {
                    break;
                }
            }
            let mut state = ks.random();
            let mut rng = || {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                state ^ (state >> 31)
            };
            let dict = ks.db(db).dict();
            dict.sample(samples, &mut rng, &mut sampled);
            if sampled.is_empty() && last {
                sampled.extend(dict.random_entry(&mut rng));
            }
        }
        any_keys |= if volatile {
            ks.db(db).volatile_len() > 0
        } else {
            !ks.db(db).is_empty()
        };
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
    any_keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KeyspaceConfig;
    use zedis_budget::Budget;
    use zedis_kv_pool::SystemAlloc;

    /// A keyspace of `keys` short strings whose budget is exactly full.
    fn full_keyspace(
        policy: EvictionPolicy,
        keys: usize,
    ) -> (Keyspace<SystemAlloc>, &'static Budget) {
        let budget = Budget::leak(0);
        zedis_budget::install(budget);
        let config = KeyspaceConfig {
            policy,
            ..KeyspaceConfig::default()
        };
        let mut ks = Keyspace::new(2, config);
        for i in 0..keys {
            let key = format!("key:{i}");
            ks.set_string(
                i % 2,
                key.as_bytes(),
                b"a value of some bytes",
                None,
                false,
                0,
            )
            .unwrap();
        }
        budget.set_limit(budget.used());
        (ks, budget)
    }

    #[test]
    fn headroom_eviction_stops_once_the_write_fits_and_time_is_up() {
        for policy in [EvictionPolicy::AllKeysLru, EvictionPolicy::AllKeysRandom] {
            let (mut ks, budget) = full_keyspace(policy, 3000);
            let mut fx = Effects::default();
            // More headroom than all the keys hold, and no time for it: eviction stops at the first clock
            // read at which the write's own 1000 bytes fit.
            evict_with_headroom(&mut ks, 1000, 1 << 40, Duration::ZERO, 0, &mut fx).unwrap();
            assert!(budget.fits(1000));
            let evicted = ks.stats.evicted_keys as usize;
            assert!(
                evicted > 0 && evicted % EVICTIONS_PER_CLOCK_READ == 0,
                "{evicted}"
            );
            assert!(
                evicted <= 8 * EVICTIONS_PER_CLOCK_READ,
                "{policy:?}: {evicted}"
            );
            assert_eq!(ks.total_keys(), 3000 - evicted);
            assert_eq!(fx.expired.len(), evicted);
            // With time to spare it evicts all it can for the headroom, and the write still goes ahead.
            evict_with_headroom(&mut ks, 1000, 1 << 40, Duration::MAX, 0, &mut fx).unwrap();
            assert_eq!(ks.total_keys(), 0);
        }
    }

    #[test]
    fn the_write_itself_is_always_made_room_for() {
        let (mut ks, budget) = full_keyspace(EvictionPolicy::AllKeysLru, 2000);
        let mut fx = Effects::default();
        let own = 20_000;
        evict_with_headroom(&mut ks, own, 0, Duration::ZERO, 0, &mut fx).unwrap();
        assert!(budget.fits(own));
        // More than the whole budget can never be made room for.
        let limit = budget.limit();
        assert_eq!(
            evict_with_headroom(&mut ks, limit + 1, 0, Duration::ZERO, 0, &mut fx),
            Err(Oom)
        );
        assert_eq!(ks.total_keys(), 0);
    }
}

#[cfg(test)]
#[path = "evict_lowered_tests.rs"]
mod lowered_tests;
