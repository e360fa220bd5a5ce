//! Segment store: memory per key and set/get throughput.
//!
//! `bytes_per_key` loads `ZEDIS_SEG_BENCH_KEYS` keys (default 1,000,000; 12-byte keys `key:00000000`)
//! with 16/32/64/256-byte values, with and without TTLs (spread over 1 to 2 hours, so over several TTL
//! buckets), and prints the budget charge per key (segments + index) and the item bytes per key, then
//! times a single lookup so criterion has something to report. `ZEDIS_SEG_BENCH_INDEX_LOAD` sets
//! `SegConfig::index_load_max_percent`. `set`/`get` measure throughput on a
//! 100k-key store (overwrites and hits).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use zedis_budget::Budget;
use zedis_segment::{SegConfig, SegStore};

const VALUE_LENS: [usize; 4] = [16, 32, 64, 256];
const OPS: u64 = 10_000;
const NOW_MS: i64 = 1_700_000_000_000;

fn keys_max() -> u64 {
    std::env::var("ZEDIS_SEG_BENCH_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn key(i: u64) -> [u8; 12] {
    let mut k = *b"key:00000000";
    let mut n = i;
    for b in k[4..].iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
    k
}

fn ttl_of(i: u64, with_ttl: bool) -> Option<i64> {
    with_ttl.then(|| NOW_MS + 3_600_000 + (i.wrapping_mul(0x9E37_79B9) % 3_600_000) as i64)
}

/// `ZEDIS_SEG_BENCH_INDEX_LOAD` (percent, 25..=100) overrides the index growth threshold.
fn config() -> SegConfig {
    let mut config = SegConfig::default();
    if let Some(load) = std::env::var("ZEDIS_SEG_BENCH_INDEX_LOAD")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.index_load_max_percent = load;
    }
    config
}

fn load(n: u64, value_len: usize, with_ttl: bool) -> SegStore {
    let mut store = SegStore::with_budget(config(), Budget::leak(0)).expect("store");
    let value = vec![b'v'; value_len];
    for i in 0..n {
        store
            .set(&key(i), &value, ttl_of(i, with_ttl), NOW_MS)
            .expect("unlimited budget");
    }
    store
}

fn bytes_per_key(c: &mut Criterion) {
    let n = keys_max();
    let mut group = c.benchmark_group("segment_bytes_per_key");
    for value_len in VALUE_LENS {
        for with_ttl in [false, true] {
            let mut store = load(n, value_len, with_ttl);
            let s = store.stats();
            println!(
                "segment bytes_per_key keys={n} value={value_len} ttl={with_ttl}: charged {:.1} B/key \
                 (items {:.1}, index {:.1}; segments {}, index buckets {:?})",
                s.charged_bytes as f64 / n as f64,
                s.live_bytes as f64 / n as f64,
                s.index_bytes as f64 / n as f64,
                s.segments,
                s.index_buckets,
            );
            let id = format!("{value_len}B/{}", if with_ttl { "ttl" } else { "no-ttl" });
            group.bench_function(BenchmarkId::new("get_after_load", id), |b| {
                let mut i = 0;
                b.iter(|| {
                    i = (i + 7919) % n;
                    black_box(store.get(&key(i), NOW_MS).is_some())
                })
            });
        }
    }
    group.finish();
}

fn throughput(c: &mut Criterion) {
    let n = keys_max().min(100_000);
    let mut group = c.benchmark_group("segment_ops");
    group.throughput(Throughput::Elements(OPS));
    for value_len in [32usize, 256] {
        let mut store = load(n, value_len, false);
        let value = vec![b'w'; value_len];
        let mut i = 0u64;
        group.bench_function(BenchmarkId::new("set", value_len), |b| {
            b.iter(|| {
                for _ in 0..OPS {
                    i = (i + 7919) % n;
                    store.set(&key(i), &value, None, NOW_MS).expect("set");
                }
                // Overwrites leave holes: compact as a server's cron would.
                while store.compact_step(NOW_MS).is_some() {}
            })
        });
        group.bench_function(BenchmarkId::new("get", value_len), |b| {
            b.iter(|| {
                let mut hits = 0;
                for _ in 0..OPS {
                    i = (i + 7919) % n;
                    hits += store.get(&key(i), NOW_MS).is_some() as u32;
                }
                black_box(hits)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bytes_per_key, throughput);
criterion_main!(benches);
