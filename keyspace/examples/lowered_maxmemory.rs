//! Write latency after `maxmemory` is lowered: 1M keys (200 B values, pool strategy, allkeys-lru) under a
//! 1 GB budget, the limit lowered to 100 MB (with the bounded eviction step CONFIG SET does), then new
//! 32 B writes back to back, each after the eviction the server runs before a write
//! (`reclaim_with_headroom`), until the keyspace is under the limit. Prints the CONFIG SET step, the first
//! write, the max and p99 write latency and how many writes it took.
//! `cargo run --release -p zedis-keyspace --example lowered_maxmemory`.
use std::time::{Duration, Instant};
use zedis_budget::{Budget, GlobalBudget};
use zedis_keyspace::commands::Effects;
use zedis_keyspace::{EvictionPolicy, Keyspace, KeyspaceConfig};
use zedis_kv_pool::PoolAlloc;

const KEYS: usize = 1_000_000;
const WRITES_MAX: usize = 2_000_000;

fn main() {
    let budget = Budget::leak(1 << 30);
    zedis_budget::install(budget);
    PoolAlloc::install(8 << 30).unwrap();
    let config = KeyspaceConfig {
        policy: EvictionPolicy::AllKeysLru,
        ..KeyspaceConfig::default()
    };
    let mut ks = Keyspace::<PoolAlloc>::new(16, config);
    let value = [b'v'; 200];
    for n in 0..KEYS {
        ks.set_string(0, format!("key:{n:012}").as_bytes(), &value, None, false, 0)
            .unwrap();
    }
    let mut fx = Effects::default();
    println!(
        "filled: {} keys, {} MB",
        ks.total_keys(),
        budget.used_for_eviction() >> 20
    );
    budget.set_limit(100 << 20);
    let t = Instant::now();
    let _ = ks.reclaim(0, 0, &mut fx);
    let config_set = t.elapsed();
    fx.reset();
    let mut latencies: Vec<Duration> = Vec::new();
    let started = Instant::now();
    while budget.over_limit() && latencies.len() < WRITES_MAX {
        let key = format!("new:{:012}", latencies.len());
        let t = Instant::now();
        if ks.reclaim_with_headroom(64, 0, 0, &mut fx).is_ok() {
            ks.set_string(0, key.as_bytes(), &value[..32], None, false, 0)
                .expect("admitted");
        }
        latencies.push(t.elapsed());
        fx.reset();
    }
    let catch_up = started.elapsed();
    let first = latencies[0];
    latencies.sort_unstable();
    let p99 = latencies[latencies.len() * 99 / 100];
    let median = latencies[latencies.len() / 2];
    println!(
        "config set step {:?}; writes until under the limit {}; first write {:?}; median {:?}; p99 {:?}; max {:?}; catch-up {:?}; keys left {}",
        config_set,
        latencies.len(),
        first,
        median,
        p99,
        latencies.last().unwrap(),
        catch_up,
        ks.total_keys()
    );
}
