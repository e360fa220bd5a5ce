//! The RDB of a full resync: `zedis_keyspace::persist::rdb_file::save`'s layout plus Redis's replication AUX
//! fields (`repl-stream-db`, `repl-id`, `repl-offset`), and reading `repl-stream-db` back on the replica.
//!
//! Saving sleeps `rdb-key-save-delay` per key and a replica's load `key-load-delay` (Redis's test knobs,
//! used to widen the windows of a transfer and a load).
//!
//! `repl-stream-db` matters for chains: a replica's stream continues in whatever database its master last
//! selected, so a sub-replica must start its master client in that database (Redis's `rdbSaveInfo`).

use zedis_keyspace::entry::EntryPtr;
use zedis_keyspace::persist::rdb::{
    apply_clock, encoding_config, entry_value, key_meta, store_value,
};
use zedis_keyspace::persist::rdb_file::{self, AuxInfo, Extras, LoadError, LoadStats};
use zedis_keyspace::ExpiryRole;
use zedis_keyspace::Keyspace;
use zedis_kv_pool::KvAllocator;
use zedis_rdb::{Limits, RdbError, RdbItem, RdbReader, RdbWriter, WriteOptions};

/// Replication AUX fields.
#[derive(Debug, Clone)]
pub struct ReplAux {
    /// The database the stream continues in after the RDB's offset.
    pub stream_db: usize,
    /// Our replication id.
    pub replid: String,
    /// The offset the RDB corresponds to.
    pub offset: u64,
}

/// Writes the keyspace as an RDB with the replication AUX fields and the function libraries' code to `out`;
/// returns `out`. The layout is `rdb_file::save`'s (header, AUX, functions, then per non-empty database
/// SELECTDB, RESIZEDB and its live keys, EOF, CRC64); `key_save_delay` is Redis's `rdb-key-save-delay`,
/// slept after each key (see [`debug_delay`]).
pub fn save<A: KvAllocator, W: std::io::Write>(
    ks: &Keyspace<A>,
    out: W,
    aux: &AuxInfo,
    repl: &ReplAux,
    functions: &[&[u8]],
    now_ms: i64,
    key_save_delay: i64,
) -> Result<W, RdbError> {
    let (db, offset) = (repl.stream_db.to_string(), repl.offset.to_string());
    let fields: [(&[u8], &[u8]); 3] = [
        (b"repl-stream-db", db.as_bytes()),
        (b"repl-id", repl.replid.as_bytes()),
        (b"repl-offset", offset.as_bytes()),
    ];
    if key_save_delay == 0 {
        let extras = Extras {
            aux: &fields,
            functions,
        };
        return rdb_file::save(ks, out, aux, &extras, now_ms);
    }
    let opts = WriteOptions {
        encoding: encoding_config(&ks.config),
        checksum: ks.config.rdb_checksum,
    };
    let mut w = RdbWriter::new(out, opts)?;
    w.standard_aux(aux)?;
    for (key, value) in fields {
        w.aux(key, value)?;
    }
    for code in functions {
        w.function(code)?;
    }
    for idx in 0..ks.db_count() {
        let db = ks.db(idx);
        let live = |e: &EntryPtr| e.expire().is_none_or(|when| when > now_ms);
        let (mut keys, mut expires) = (0u64, 0u64);
        db.dict().for_each(|e| {
            if live(&e) {
                keys += 1;
                expires += u64::from(e.expire().is_some());
            }
        });
        if keys == 0 {
            continue;
        }
        w.select_db(idx as u64, keys, expires)?;
        let mut failed = None;
        db.dict().for_each(|e| {
            if failed.is_some() || !live(&e) {
                return;
            }
            if let Some(value) = entry_value::<A>(e) {
                if let Err(err) = w.key(e.key(), &value, &key_meta(ks, e, now_ms)) {
                    failed = Some(err);
                }
            }
            debug_delay(key_save_delay);
        });
        if let Some(err) = failed {
            return Err(err);
        }
    }
    w.finish()
}

/// Redis's `debugDelay`: sleeps `usec` microseconds; a negative value sleeps 1 microsecond once in `-usec`
/// calls on average (short delays without a system call per key).
pub fn debug_delay(usec: i64) {
    let usec = if usec < 0 {
        let draw = rand_u64() % usec.unsigned_abs();
        u64::from(draw == 0)
    } else {
        usec as u64
    };
    if usec > 0 {
        std::thread::sleep(std::time::Duration::from_micros(usec));
    }
}

/// A cheap thread-local xorshift (only for [`debug_delay`]'s draw).
fn rand_u64() -> u64 {
    use std::cell::Cell;
    thread_local!(static STATE: Cell<u64> = const { Cell::new(0x2545_f491_4f6c_dd1d) });
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        x
    })
}

/// The `repl-stream-db` AUX field of an RDB (0 when absent or unreadable), read from the AUX fields that
/// precede the data.
pub fn stream_db(rdb: &[u8]) -> usize {
    let Ok(mut reader) = RdbReader::new(rdb, Limits::default()) else {
        return 0;
    };
    while let Ok(Some(RdbItem::Aux { key, value })) = reader.next_item() {
        if key == b"repl-stream-db" {
            return std::str::from_utf8(&value)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
        }
    }
    0
}

/// `rdb_file::load` with Redis's `key-load-delay` ([`debug_delay`] after each key stored), for a replica's
/// full sync: the same checks (database range, duplicate keys, expired keys skipped on a master only), the
/// same errors.
pub fn load_with_delay<A: KvAllocator, R: std::io::Read>(
    ks: &mut Keyspace<A>,
    input: R,
    now_ms: i64,
    on_function: &mut dyn FnMut(Vec<u8>) -> Result<(), String>,
    key_load_delay: i64,
) -> Result<LoadStats, LoadError> {
    let limits = Limits {
        string_bytes_max: ks.config.string_bytes_max as u64,
        ..Limits::default()
    };
    let mut reader = RdbReader::new(input, limits)?;
    let mut stats = LoadStats::default();
    let mut db = 0usize;
    while let Some(item) = reader.next_item()? {
        match item {
            RdbItem::Aux { .. } => {}
            RdbItem::ResizeDb { db_size, .. } => {
                ks.db_mut(db)
                    .reserve(usize::try_from(db_size).unwrap_or(usize::MAX));
            }
            RdbItem::Function(code) => on_function(code).map_err(LoadError::Function)?,
            RdbItem::SelectDb(n) => {
                if n >= ks.db_count() as u64 {
                    return Err(LoadError::DbRange(n, ks.db_count()));
                }
                db = n as usize;
            }
            RdbItem::Key { key, value, meta } => {
                let name = || String::from_utf8_lossy(&key).into_owned();
                if ks.db(db).find(&key).is_some() {
                    return Err(LoadError::DuplicateKey(name()));
                }
                if ks.expiry == ExpiryRole::Master
                    && meta.expire_ms.is_some_and(|when| when <= now_ms)
                {
                    stats.expired_skipped += 1;
                    continue;
                }
                let entry = store_value(ks, db, &key, &value, meta.expire_ms, now_ms)
                    .map_err(|err| LoadError::Build { key: name(), err })?;
                apply_clock(ks, entry, meta.idle_secs, meta.lfu_freq, now_ms);
                stats.keys += 1;
                debug_delay(key_load_delay);
            }
        }
    }
    Ok(stats)
}
