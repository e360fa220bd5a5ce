//! The eviction path timed in process, call by call (issue 24: is the eviction experiment's latency tail
//! work done by eviction, or time the server spent descheduled on a loaded machine?).
//!
//! ```sh
//! cargo bench -p zedis-bench --bench eviction_path                 # allkeys-lru/lfu/random x 25/50/75%
//! ZEDIS_EVICT_OPS=1000000 ZEDIS_EVICT_POLICY=lfu cargo bench -p zedis-bench --bench eviction_path
//! ```
//!
//! Mirrors the eviction experiment (`experiments/eviction.toml`) without the network: the keyspace under
//! the KV pool, 200k keys of 256 B (half with a TTL), the budget set after the fill to empty + fraction x
//! what the fill added, then Zipf(0.99) cache-aside GETs (SET after a miss). Each command goes through what
//! the server's `call_resolved` does before it: a GET while over the limit calls `Keyspace::reclaim` (0
//! bytes), a SET calls `Keyspace::reclaim_with_headroom` (its argument bytes + 64, with 32 KiB of headroom).
//! Every reclaim call is timed in wall-clock and in thread CPU time (`CLOCK_THREAD_CPUTIME_ID`), with the
//! keys it evicted; the table gives percentiles of each and the worst call.

use std::hint::black_box;
use std::time::Instant;

use hdrhistogram::Histogram;
use zedis_budget::{Budget, GlobalBudget};
use zedis_keyspace::commands::{strings, Ctx, Effects, Handler};
use zedis_keyspace::{EvictionPolicy, Keyspace, KeyspaceConfig};
use zedis_kv_pool::PoolAlloc;
use zedis_resp::Protocol;

const KEYS: usize = 200_000;
const VALUE_BYTES: usize = 256;
const HEADROOM_BYTES: usize = 32 * 1024;
const NOW_MS: i64 = 1_700_000_000_000;
const POOL_BYTES: usize = 8 << 30;

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec pointer for the calling thread's CPU clock.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
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
    if out.len() > 32 * 1024 {
        black_box(&out);
        out.clear();
    }
}

/// Latency figures of the reclaim calls of one run.
struct Timings {
    wall_us: Histogram<u64>,
    cpu_us: Histogram<u64>,
    evicted_max: u64,
    worst_wall_us: u64,
    worst_cpu_us: u64,
    worst_evicted: u64,
    hit_ratio: f64,
    /// The first reclaim after the limit was lowered: wall ms and keys evicted (one call).
    first_ms: f64,
    first_evicted: u64,
}

fn run(policy: EvictionPolicy, fraction: f64, ops: usize) -> Timings {
    let budget = Budget::leak(0);
    zedis_budget::install(budget);
    let _ = PoolAlloc::install(POOL_BYTES);
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
        if i % 2 == 0 {
            call(
                &mut ks,
                &mut fx,
                &mut out,
                strings::set,
                &[b"SET", name, &value, b"EX", b"3600"],
            );
        } else {
            call(
                &mut ks,
                &mut fx,
                &mut out,
                strings::set,
                &[b"SET", name, &value],
            );
        }
    }
    let full = budget.used();
    budget.set_limit(empty + (fraction * (full - empty) as f64) as usize);
    // Zipf(0.99) ranks scattered over the keys.
    let mut cdf = Vec::with_capacity(KEYS);
    let mut sum = 0.0;
    for rank in 1..=KEYS {
        sum += 1.0 / (rank as f64).powf(0.99);
        cdf.push(sum);
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut t = Timings {
        wall_us: Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram"),
        cpu_us: Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram"),
        evicted_max: 0,
        worst_wall_us: 0,
        worst_cpu_us: 0,
        worst_evicted: 0,
        hit_ratio: 0.0,
        first_ms: 0.0,
        first_evicted: 0,
    };
    let (mut hits, mut misses) = (0u64, 0u64);
    // The first reclaim after lowering the limit evicts the whole excess (as the harness's warm-up would);
    // it is left out of the figures, which are for the steady state.
    let first = Instant::now();
    let first_evicted = ks.stats.evicted_keys;
    let _ = ks.reclaim(0, NOW_MS, &mut fx);
    t.first_ms = first.elapsed().as_secs_f64() * 1e3;
    t.first_evicted = ks.stats.evicted_keys - first_evicted;
    let mut timed =
        |ks: &mut Keyspace<PoolAlloc>, fx: &mut Effects, own: usize, headroom: usize| {
            let before = ks.stats.evicted_keys;
            let (wall, cpu) = (Instant::now(), thread_cpu_ns());
            fx.reset();
            let _ = black_box(ks.reclaim_with_headroom(own, headroom, NOW_MS, fx));
            let cpu_us = (thread_cpu_ns() - cpu) / 1000;
            let wall_us = wall.elapsed().as_micros() as u64;
            let evicted = ks.stats.evicted_keys - before;
            let _ = t.wall_us.record(wall_us.max(1));
            let _ = t.cpu_us.record(cpu_us.max(1));
            t.evicted_max = t.evicted_max.max(evicted);
            if cpu_us > t.worst_cpu_us {
                (t.worst_cpu_us, t.worst_wall_us, t.worst_evicted) = (cpu_us, wall_us, evicted);
            }
        };
    for _ in 0..ops {
        let u = rng.unit() * sum;
        let rank = cdf.partition_point(|&c| c < u).min(KEYS - 1);
        let name = &names[(rank * 7919) % KEYS];
        if budget.over_limit() {
            timed(&mut ks, &mut fx, 0, 0);
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
        );
        call(
            &mut ks,
            &mut fx,
            &mut out,
            strings::set,
            &[b"SET", name, &value],
        );
    }
    t.hit_ratio = hits as f64 / (hits + misses).max(1) as f64;
    ks.flush_all();
    t
}

fn main() {
    let ops: usize = std::env::var("ZEDIS_EVICT_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000_000);
    println!(
        "Eviction path in process: {KEYS} keys of {VALUE_BYTES} B, {ops} Zipf(0.99) cache-aside GETs; per reclaim \
         call, wall and thread-CPU µs (load average now: {}).\n",
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    println!(
        "| policy | budget | hit ratio | calls | wall p50/p99/p99.9/max µs | CPU p50/p99/p99.9/max µs | \
         most keys evicted by one call | worst call (CPU): wall µs, CPU µs, keys | first call after lowering \
         the limit: ms, keys |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let policies = [
        (EvictionPolicy::AllKeysLru, "allkeys-lru"),
        (EvictionPolicy::AllKeysLfu, "allkeys-lfu"),
        (EvictionPolicy::AllKeysRandom, "allkeys-random"),
    ];
    let only = std::env::var("ZEDIS_EVICT_POLICY").unwrap_or_default();
    for (policy, name) in policies
        .into_iter()
        .filter(|(_, n)| n.contains(only.as_str()))
    {
        for fraction in [0.25, 0.5, 0.75] {
            let t = run(policy, fraction, ops);
            let q = |h: &Histogram<u64>| {
                format!(
                    "{}/{}/{}/{}",
                    h.value_at_quantile(0.5),
                    h.value_at_quantile(0.99),
                    h.value_at_quantile(0.999),
                    h.max()
                )
            };
            println!(
                "| {name} | {fraction} | {:.3} | {} | {} | {} | {} | {}, {}, {} | {:.1}, {} |",
                t.hit_ratio,
                t.wall_us.len(),
                q(&t.wall_us),
                q(&t.cpu_us),
                t.evicted_max,
                t.worst_wall_us,
                t.worst_cpu_us,
                t.worst_evicted,
                t.first_ms,
                t.first_evicted
            );
        }
    }
}
