//! Compact entries (`entry::set_compact_entries`), in their own process since the choice is process-wide:
//! a 16-byte key with a 32-byte value takes the pool's 60-byte class, every operation still works, and the
//! choice is frozen once an entry exists.

use zedis_keyspace::entry::set_compact_entries;
use zedis_keyspace::{Keyspace, KeyspaceConfig};
use zedis_kv_pool::{KvAllocator, PoolAlloc};

#[test]
fn compact_entries_take_the_60_byte_class_and_work() {
    set_compact_entries(true).unwrap();
    PoolAlloc::install(1 << 30).unwrap();
    {
        let mut ks = Keyspace::<PoolAlloc>::new(1, KeyspaceConfig::default());
        let keys = 20_000;
        ks.db_mut(0).reserve(keys);
        let before = PoolAlloc::stats().used_bytes;
        let value = [b'v'; 32];
        for n in 0..keys {
            let key = format!("key:{n:012}");
            ks.set_string(0, key.as_bytes(), &value, None, false, 0)
                .unwrap();
        }
        let entries = PoolAlloc::stats().used_bytes - before;
        assert_eq!(entries, keys * 60, "one 60-byte block per key");
        // Overwrites, TTLs (reallocated entries), deletes and lookups on 4-aligned entries.
        for n in (0..keys).step_by(3) {
            let key = format!("key:{n:012}");
            let entry = ks.db(0).find(key.as_bytes()).unwrap();
            assert_eq!(entry.addr() % 4, 0);
            ks.set_expire(0, entry, Some(i64::MAX / 2)).unwrap();
            ks.set_string(0, key.as_bytes(), b"12345", None, true, 0)
                .unwrap();
        }
        for n in (1..keys).step_by(3) {
            assert!(ks.db_mut(0).remove(format!("key:{n:012}").as_bytes()));
        }
        for n in 0..keys {
            let found = ks.db(0).find(format!("key:{n:012}").as_bytes()).is_some();
            assert_eq!(found, n % 3 != 1, "key {n}");
        }
        assert_eq!(ks.db(0).volatile_len(), keys.div_ceil(3));
        ks.flush_all();
        assert_eq!(ks.db(0).len(), 0);
    }
    assert_eq!(
        set_compact_entries(false),
        Err(zedis_keyspace::entry::EntriesAllocated)
    );
    assert_eq!(set_compact_entries(true), Ok(()));
}
