//! Compact entries are the default; `entry::set_compact_entries(false)` before the first key brings back
//! 8-aligned entries (a 60-byte entry then takes a 64-byte block). In its own process since the choice is
//! process-wide.

use zedis_keyspace::entry::set_compact_entries;
use zedis_keyspace::{Keyspace, KeyspaceConfig};
use zedis_kv_pool::{KvAllocator, PoolAlloc};

#[test]
fn opting_out_of_compact_entries_gives_8_aligned_64_byte_blocks() {
    set_compact_entries(false).unwrap();
    PoolAlloc::install(1 << 30).unwrap();
    let mut ks = Keyspace::<PoolAlloc>::new(1, KeyspaceConfig::default());
    let keys = 10_000;
    ks.db_mut(0).reserve(keys);
    let before = PoolAlloc::stats().used_bytes;
    for n in 0..keys {
        let key = format!("key:{n:012}");
        ks.set_string(0, key.as_bytes(), &[b'v'; 32], None, false, 0)
            .unwrap();
    }
    assert_eq!(PoolAlloc::stats().used_bytes - before, keys * 64);
    for n in 0..keys {
        let entry = ks.db(0).find(format!("key:{n:012}").as_bytes()).unwrap();
        assert_eq!(entry.addr() % 8, 0);
    }
    assert_eq!(
        set_compact_entries(true),
        Err(zedis_keyspace::entry::EntriesAllocated)
    );
    ks.flush_all();
}
