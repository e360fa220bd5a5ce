//! The slowest eviction calls, explained: the eviction experiment's workload in process (as
//! `bench-harness/benches/eviction_path.rs`: 200k keys of 256 B, half with a TTL, the budget lowered to a
//! fraction of the fill, then Zipf(0.99) cache-aside GETs with a SET after each miss), timing every reclaim
//! call in thread CPU time and printing, for each call over a threshold, what it did: keys evicted, page
//! faults and context switches taken (`getrusage(RUSAGE_THREAD)`), and the key index's state.
//!
//! ```sh
//! cargo run --release -p zedis-keyspace --example eviction_outliers -- lfu 0.5 3000000 300
//! ```
//! Arguments: policy (lru, lfu, random), budget fraction, GETs, threshold in µs of CPU.

use std::time::Instant;
use zedis_budget::{Budget, GlobalBudget};
use zedis_keyspace::commands::{strings, Ctx, Effects, Handler};
use zedis_keyspace::{EvictionPolicy, Keyspace, KeyspaceConfig};
use zedis_kv_pool::PoolAlloc;
use zedis_resp::Protocol;

const KEYS: usize = 200_000;
const VALUE_BYTES: usize = 256;
const HEADROOM_BYTES: usize = 32 * 1024;
const NOW_MS: i64 = 1_700_000_000_000;

/// Thread CPU µs (`CLOCK_THREAD_CPUTIME_ID`: `getrusage`'s user/system split is sampled at the scheduler
/// tick, 4 ms here, and shows calls of 4 ms of CPU that took 50 µs of wall time), minor faults, major
/// faults, voluntary and involuntary context switches.
fn usage() -> [u64; 5] {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec pointer for the calling thread's CPU clock.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    let cpu_us = ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000;
    // SAFETY: a zeroed rusage is a valid out-parameter for the calling thread.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    [
        cpu_us,
        ru.ru_minflt as u64,
        ru.ru_majflt as u64,
        ru.ru_nvcsw as u64,
        ru.ru_nivcsw as u64,
    ]
}

fn call(
    ks: &mut Keyspace<PoolAlloc>,
    fx: &mut Effects,
    out: &mut Vec<u8>,
    h: Handler<PoolAlloc>,
    argv: &[&[u8]],
) {
    fx.reset();
    let mut ctx = Ctx {
        argv,
        out,
        proto: Protocol::Resp2,
        db: 0,
        now_ms: NOW_MS,
        fx,
    };
    h(ks, &mut ctx);
    out.clear();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let policy = match args.get(1).map_or("lfu", String::as_str) {
        "lru" => EvictionPolicy::AllKeysLru,
        "random" => EvictionPolicy::AllKeysRandom,
        _ => EvictionPolicy::AllKeysLfu,
    };
    let fraction: f64 = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(0.5);
    let ops: usize = args
        .get(3)
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000_000);
    let threshold_us: u64 = args.get(4).and_then(|v| v.parse().ok()).unwrap_or(300);
    let budget = Budget::leak(0);
    zedis_budget::install(budget);
    PoolAlloc::install(8 << 30).unwrap();
    let config = KeyspaceConfig {
        policy,
        ..KeyspaceConfig::default()
    };
    let mut ks: Keyspace<PoolAlloc> = Keyspace::new(16, config);
    let (mut fx, mut out) = (Effects::default(), Vec::with_capacity(1 << 16));
    let names: Vec<Vec<u8>> = (0..KEYS).map(|i| format!("key:{i}").into_bytes()).collect();
    let value = [b'v'; VALUE_BYTES];
    let empty = budget.used();
    for (i, name) in names.iter().enumerate() {
        let argv: &[&[u8]] = if i % 2 == 0 {
            &[b"SET", name, &value, b"EX", b"3600"]
        } else {
            &[b"SET", name, &value]
        };
        call(&mut ks, &mut fx, &mut out, strings::set, argv);
    }
    let full = budget.used();
    budget.set_limit(empty + (fraction * (full - empty) as f64) as usize);
    let mut cdf = Vec::with_capacity(KEYS);
    let mut sum = 0.0;
    for rank in 1..=KEYS {
        sum += 1.0 / (rank as f64).powf(0.99);
        cdf.push(sum);
    }
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut unit = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let _ = ks.reclaim(0, NOW_MS, &mut fx);
    let (mut calls, mut slow, mut cpu_total) = (0u64, 0u64, 0u64);
    let mut timed = |ks: &mut Keyspace<PoolAlloc>,
                     fx: &mut Effects,
                     own: usize,
                     headroom: usize,
                     op: usize| {
        let before_keys = ks.stats.evicted_keys;
        let (db_len, buckets, rehashing) = {
            let d = ks.db(0).dict();
            (d.len(), d.bucket_count(), d.is_rehashing())
        };
        let wall = Instant::now();
        let u0 = usage();
        fx.reset();
        let _ = ks.reclaim_with_headroom(own, headroom, NOW_MS, fx);
        let u1 = usage();
        let wall_us = wall.elapsed().as_micros();
        let cpu = u1[0] - u0[0];
        calls += 1;
        cpu_total += cpu;
        if cpu >= threshold_us {
            slow += 1;
            let d = ks.db(0).dict();
            println!(
                "op {op}: cpu {cpu} µs wall {wall_us} µs evicted {} minflt {} majflt {} vcsw {} ivcsw {} | keys {db_len} buckets {buckets} rehashing {rehashing} -> keys {} buckets {} rehashing {}",
                ks.stats.evicted_keys - before_keys,
                u1[1] - u0[1],
                u1[2] - u0[2],
                u1[3] - u0[3],
                u1[4] - u0[4],
                d.len(),
                d.bucket_count(),
                d.is_rehashing()
            );
        }
    };
    let (mut hits, mut misses) = (0u64, 0u64);
    for op in 0..ops {
        let u = unit() * sum;
        let rank = cdf.partition_point(|&c| c < u).min(KEYS - 1);
        let name = &names[(rank * 7919) % KEYS];
        if budget.over_limit() {
            timed(&mut ks, &mut fx, 0, 0, op);
        }
        let before = ks.stats.hits;
        call(&mut ks, &mut fx, &mut out, strings::get, &[b"GET", name]);
        if ks.stats.hits > before {
            hits += 1;
            continue;
        }
        misses += 1;
        timed(
            &mut ks,
            &mut fx,
            name.len() + VALUE_BYTES + 3 + 64,
            HEADROOM_BYTES,
            op,
        );
        call(
            &mut ks,
            &mut fx,
            &mut out,
            strings::set,
            &[b"SET", name, &value],
        );
    }
    println!(
        "{calls} reclaim calls, {slow} at or over {threshold_us} µs of CPU, mean {:.1} µs; hit ratio {:.3}; load {}",
        cpu_total as f64 / calls.max(1) as f64,
        hits as f64 / (hits + misses).max(1) as f64,
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
}
