//! Bytes per key with and without cluster mode's per-slot key index, in process, with the default KV
//! strategy (the size-class pool): 1M keys `key:<12 digits>` (16 bytes, as redis-benchmark's) with 32-byte
//! values, as `scripts/measure-bytes-per-key.sh` stores them. Bytes are the pool's charged bytes (class
//! sizes of live allocations), so they include the key index and every rounding.
//!
//! `cargo run --release -p zedis-keyspace --example slot_index_bytes [keys]`

use zedis_keyspace::{Keyspace, KeyspaceConfig};
use zedis_kv_pool::{KvAllocator, PoolAlloc};

/// Stores `keys` keys; returns (pool bytes per key, slot index bytes per key).
fn measure(keys: usize, slot_index: bool) -> (f64, f64) {
    PoolAlloc::install(8 << 30).expect("reserve the pool");
    let mut ks = Keyspace::<PoolAlloc>::new(16, KeyspaceConfig::default());
    if slot_index {
        ks.enable_slot_index().expect("empty keyspace");
    }
    let empty = PoolAlloc::stats().used_bytes;
    let value = [b'x'; 32];
    for n in 0..keys {
        let key = format!("key:{n:012}");
        ks.set_string(0, key.as_bytes(), &value, None, false, 0)
            .expect("the pool has room");
    }
    let full = PoolAlloc::stats().used_bytes;
    let index = ks.db(0).slot_index_bytes();
    drop(ks);
    PoolAlloc::uninstall().expect("every block freed");
    (
        (full - empty) as f64 / keys as f64,
        index as f64 / keys as f64,
    )
}

fn main() {
    let keys = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let (off, _) = measure(keys, false);
    let (on, index) = measure(keys, true);
    println!("{keys} keys of 16 B with 32 B values, pool strategy (charged bytes per key):");
    println!("  without the slot index: {off:.2} B/key");
    println!("  with the slot index:    {on:.2} B/key ({:+.2}; the index itself {index:.2} B/key incl. its 16384 set headers)", on - off);
}
