//! Lookup cost against the key index's load: 1M keys (16 B, 32 B values, pool strategy), then timed
//! random hits and misses. `cargo run --release -p zedis-keyspace --example dict_load`; with
//! `ZEDIS_COMPACT_ENTRIES=0`, 8-aligned entries instead of the default compact (4-aligned) ones.
use std::time::Instant;
use zedis_keyspace::{Keyspace, KeyspaceConfig};
use zedis_kv_pool::{KvAllocator, PoolAlloc};

fn main() {
    let keys: usize = 1_000_000;
    if std::env::var_os("ZEDIS_COMPACT_ENTRIES").is_some_and(|v| v == "0") {
        zedis_keyspace::entry::set_compact_entries(false).unwrap();
    }
    PoolAlloc::install(8 << 30).unwrap();
    let mut ks = Keyspace::<PoolAlloc>::new(16, KeyspaceConfig::default());
    let value = [b'v'; 32];
    let t = Instant::now();
    for n in 0..keys {
        ks.set_string(0, format!("key:{n:012}").as_bytes(), &value, None, false, 0)
            .unwrap();
    }
    let insert_ns = t.elapsed().as_nanos() as f64 / keys as f64;
    let db = ks.db(0);
    println!(
        "buckets {} load {:.2} pool B/key {:.2}",
        db.dict().bucket_count(),
        keys as f64 / db.dict().bucket_count() as f64,
        PoolAlloc::stats().used_bytes as f64 / keys as f64
    );
    let mut x = 0x9e3779b97f4a7c15u64;
    let mut rng = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let probes: Vec<String> = (0..2_000_000)
        .map(|_| format!("key:{:012}", rng() % keys as u64))
        .collect();
    let misses: Vec<String> = (0..2_000_000)
        .map(|_| format!("kez:{:012}", rng() % keys as u64))
        .collect();
    for round in 0..3 {
        let t = Instant::now();
        let mut found = 0;
        for k in &probes {
            found += db.find(k.as_bytes()).is_some() as usize;
        }
        let hit = t.elapsed().as_nanos() as f64 / probes.len() as f64;
        let t = Instant::now();
        for k in &misses {
            found += db.find(k.as_bytes()).is_some() as usize;
        }
        let miss = t.elapsed().as_nanos() as f64 / misses.len() as f64;
        println!(
            "round {round}: insert {insert_ns:.0} ns, hit {hit:.0} ns, miss {miss:.0} ns ({found})"
        );
    }
}
