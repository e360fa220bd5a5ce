//! Whole-keyspace RDB files (SAVE and loading `dump.rdb`), through the `zedis-rdb` codec.
//!
//! [`save`] writes Redis 7.0's layout: header, AUX fields, then per non-empty database SELECTDB and
//! RESIZEDB followed by its live keys (expired ones are left out, as Redis does), EOF and CRC64 (zero under
//! `rdbchecksum no`), strings LZF-compressed unless `rdbcompression no` ([`crate::KeyspaceConfig`]).
//! [`load_with`] is the one loader ([`load`] and [`load_each`] are its shorthands for an empty keyspace):
//! it reads such a file (or any redis-server 7.0 writes), builds every value as [`store_value`] does (plain
//! strings go to the segment store when it serves them), skips expired keys on a master (a replica keeps
//! them until its master deletes them, see [`crate::ExpiryRole`]), replaces or refuses a key already held
//! ([`Duplicates`], Redis's `RDBFLAGS_ALLOW_DUP`), and stops with an error naming any corruption,
//! duplicate key, out-of-range database or function library the caller refuses.
//!
//! Function libraries and extra AUX fields (replication's `repl-*`) belong to the server, so they go
//! through [`Extras`] on save and a callback on load.

use super::rdb::{apply_clock, encoding_config, entry_value, key_meta, store_value, BuildError};
use crate::Keyspace;
use std::io::{Read, Write};
use zedis_kv_pool::KvAllocator;
pub use zedis_rdb::AuxInfo;
use zedis_rdb::{Limits, RdbError, RdbItem, RdbReader, RdbWriter, WriteOptions};

/// Why loading an RDB file failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The codec refused the bytes (names the offset and key).
    #[error("{0}")]
    Rdb(#[from] RdbError),
    /// A key's value could not be stored.
    #[error("key '{key}': {err} at byte {offset}")]
    Build {
        /// The key.
        key: String,
        /// Why.
        err: BuildError,
        /// Bytes read when the key ended.
        offset: u64,
    },
    /// The file selects a database this server does not have (the offset after the SELECTDB).
    #[error("database {0} is out of range (databases {1}) at byte {2}")]
    DbRange(u64, usize, u64),
    /// The same key twice in one database (the offset after the second one).
    #[error("duplicate key '{0}' at byte {1}")]
    DuplicateKey(String, u64),
    /// The caller refused a function library (its text says why).
    #[error("{0}")]
    Function(String),
}

/// What [`save`] writes besides the keyspace: AUX fields after the standard ones, then function libraries
/// (their Lua code, as `FUNCTION DUMP` and Redis's functions section hold them) before the databases.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras<'a> {
    /// Extra AUX fields, in order.
    pub aux: &'a [(&'a [u8], &'a [u8])],
    /// Function library codes.
    pub functions: &'a [&'a [u8]],
}

/// What a load did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// Keys stored.
    pub keys: u64,
    /// Keys skipped because their TTL had passed.
    pub expired_skipped: u64,
}

/// Writes the keyspace as an RDB file to `out` (see the module docs); returns `out`.
pub fn save<A: KvAllocator, W: Write>(
    ks: &Keyspace<A>,
    out: W,
    aux: &AuxInfo,
    extras: &Extras<'_>,
    now_ms: i64,
) -> Result<W, RdbError> {
    save_each(ks, out, aux, extras, now_ms, &mut || {})
}

/// [`save`], calling `after_key` after each key written (Redis's `rdb-key-save-delay` sleeps there).
pub fn save_each<A: KvAllocator, W: Write>(
    ks: &Keyspace<A>,
    out: W,
    aux: &AuxInfo,
    extras: &Extras<'_>,
    now_ms: i64,
    after_key: &mut dyn FnMut(),
) -> Result<W, RdbError> {
    let opts = WriteOptions {
        encoding: encoding_config(&ks.config),
        checksum: ks.config.rdb_checksum,
    };
    let mut w = RdbWriter::new(out, opts)?;
    w.standard_aux(aux)?;
    for (key, value) in extras.aux {
        w.aux(key, value)?;
    }
    for code in extras.functions {
        w.function(code)?;
    }
    for idx in 0..ks.db_count() {
        let db = ks.db(idx);
        let live = |e: &crate::entry::EntryPtr| e.expire().is_none_or(|when| when > now_ms);
        let (mut keys, mut expires) = (0u64, 0u64);
        db.dict().for_each(|e| {
            if live(&e) {
                keys += 1;
                expires += u64::from(e.expire().is_some());
            }
        });
        if let Some(store) = db.seg() {
            store.for_each_live(now_ms, |_, _, expire| {
                keys += 1;
                expires += u64::from(expire.is_some());
            });
        }
        if keys == 0 {
            continue;
        }
        w.select_db(idx as u64, keys, expires)?;
        write_seg_keys(ks, idx, &mut w, now_ms, after_key)?;
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
            after_key();
        });
        if let Some(err) = failed {
            return Err(err);
        }
    }
    w.finish()
}

/// What a load does with a key the keyspace already holds (Redis's `RDBFLAGS_ALLOW_DUP`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Duplicates {
    /// Stop with [`LoadError::DuplicateKey`]: into an empty keyspace (startup, a full sync) a key held
    /// already means the file has it twice.
    #[default]
    Refuse,
    /// The file's key replaces the one held, wherever it lives (tables or segment store), as Redis's
    /// `dbSyncDelete` then `dbAddRDBLoad`: DEBUG RELOAD MERGE.
    Replace,
}

/// How [`load_with`] loads besides the file itself.
pub struct LoadOptions<'a> {
    /// The time expiries are judged against (unix ms).
    pub now_ms: i64,
    /// What a key already held does.
    pub duplicates: Duplicates,
    /// Takes each function library's code; its `Err` text stops the load (the caller decides whether a
    /// library already loaded is replaced).
    pub on_function: &'a mut dyn FnMut(Vec<u8>) -> Result<(), String>,
    /// Called after each key stored (Redis's `key-load-delay` sleeps there).
    pub after_key: &'a mut dyn FnMut(),
}

/// Loads an RDB file into `ks` (meant to be empty); see the module docs. Each function library's code
/// goes to `on_function`, whose `Err` text stops the load.
pub fn load<A: KvAllocator, R: Read>(
    ks: &mut Keyspace<A>,
    input: R,
    now_ms: i64,
    on_function: &mut dyn FnMut(Vec<u8>) -> Result<(), String>,
) -> Result<LoadStats, LoadError> {
    load_each(ks, input, now_ms, on_function, &mut || {})
}

/// [`load`], calling `after_key` after each key stored (Redis's `key-load-delay` sleeps there).
pub fn load_each<A: KvAllocator, R: Read>(
    ks: &mut Keyspace<A>,
    input: R,
    now_ms: i64,
    on_function: &mut dyn FnMut(Vec<u8>) -> Result<(), String>,
    after_key: &mut dyn FnMut(),
) -> Result<LoadStats, LoadError> {
    let opts = LoadOptions {
        now_ms,
        duplicates: Duplicates::Refuse,
        on_function,
        after_key,
    };
    load_with(ks, input, opts)
}

/// The one RDB loader: every load ([`load`], [`load_each`], DEBUG RELOAD with or without MERGE) reads
/// the file here. Keys go where a write would put them (plain strings to the segment store when it
/// serves them, see [`crate::seg`]); a key already held follows [`LoadOptions::duplicates`].
pub fn load_with<A: KvAllocator, R: Read>(
    ks: &mut Keyspace<A>,
    input: R,
    opts: LoadOptions<'_>,
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
            RdbItem::Function(code) => (opts.on_function)(code).map_err(LoadError::Function)?,
            RdbItem::SelectDb(n) => {
                if n >= ks.db_count() as u64 {
                    return Err(LoadError::DbRange(n, ks.db_count(), reader.offset()));
                }
                db = n as usize;
            }
            RdbItem::Key { key, value, meta } => {
                // As Redis: a master drops keys whose time is up (before any duplicate check: the key
                // held stays); a replica keeps them (hidden from its clients) until its master's DEL.
                if ks.expiry == crate::ExpiryRole::Master
                    && meta.expire_ms.is_some_and(|when| when <= opts.now_ms)
                {
                    stats.expired_skipped += 1;
                    continue;
                }
                let name = || String::from_utf8_lossy(&key).into_owned();
                if holds(ks, db, &key) {
                    if opts.duplicates == Duplicates::Refuse {
                        return Err(LoadError::DuplicateKey(name(), reader.offset()));
                    }
                    drop_held(ks, db, &key);
                }
                store_key(ks, db, &key, &value, &meta, opts.now_ms).map_err(|err| {
                    LoadError::Build {
                        key: name(),
                        err,
                        offset: reader.offset(),
                    }
                })?;
                stats.keys += 1;
                (opts.after_key)();
            }
        }
    }
    Ok(stats)
}

/// Whether `db` holds `key`, logically expired or not, in its tables or its segment store.
fn holds<A: KvAllocator>(ks: &Keyspace<A>, db: usize, key: &[u8]) -> bool {
    let db = ks.db(db);
    db.find(key).is_some() || db.seg().is_some_and(|s| s.ttl(key, i64::MIN).is_some())
}

/// Removes `key` from both homes of `db` (a key lives in one; see [`crate::seg`]).
fn drop_held<A: KvAllocator>(ks: &mut Keyspace<A>, db: usize, key: &[u8]) {
    let db = ks.db_mut(db);
    db.remove(key);
    if let Some(store) = db.seg.as_deref_mut() {
        // `i64::MIN` as "now": an expired item is removed too.
        store.delete(key, i64::MIN);
    }
}

/// Stores one key of the file where a write would put it, with its expiry and access clock.
fn store_key<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    db: usize,
    key: &[u8],
    value: &zedis_rdb::RdbValue,
    meta: &zedis_rdb::KeyMeta,
    now_ms: i64,
) -> Result<(), BuildError> {
    if load_into_segments(ks, db, key, value, meta.expire_ms, now_ms)? {
        return Ok(());
    }
    let entry = store_value(ks, db, key, value, meta.expire_ms, now_ms)?;
    apply_clock(ks, entry, meta.idle_secs, meta.lfu_freq, now_ms);
    Ok(())
}

/// A loaded plain string goes to the segment store when it serves them (see [`crate::seg`]); whether it
/// did.
fn load_into_segments<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    db: usize,
    key: &[u8],
    value: &zedis_rdb::RdbValue,
    expire_ms: Option<i64>,
    now_ms: i64,
) -> Result<bool, BuildError> {
    let zedis_rdb::RdbValue::String(bytes) = value else {
        return Ok(false);
    };
    if !ks.seg_serves(db, key) {
        return Ok(false);
    }
    let mut fx = crate::commands::Effects::default();
    Ok(ks.seg_set(db, key, bytes, expire_ms, now_ms, &mut fx)?)
}

/// The live keys of `db`'s segment store as RDB string records (under an LRU policy with idle time 0,
/// under LFU with the initial counter 5: the store keeps no per-key clock).
fn write_seg_keys<A: KvAllocator, W: Write>(
    ks: &Keyspace<A>,
    db: usize,
    w: &mut RdbWriter<W>,
    now_ms: i64,
    after_key: &mut dyn FnMut(),
) -> Result<(), RdbError> {
    use crate::EvictionPolicy as P;
    let Some(store) = ks.db(db).seg() else {
        return Ok(());
    };
    let policy = ks.config.policy;
    let lru = matches!(policy, P::AllKeysLru | P::VolatileLru);
    let mut failed = None;
    store.for_each_live(now_ms, |key, value, expire_ms| {
        if failed.is_some() {
            return;
        }
        let meta = zedis_rdb::KeyMeta {
            expire_ms,
            idle_secs: lru.then_some(0),
            lfu_freq: policy.is_lfu().then_some(5),
        };
        if let Err(err) = w.key(key, &zedis_rdb::RdbValue::String(value.to_vec()), &meta) {
            failed = Some(err);
        }
        after_key();
    });
    failed.map_or(Ok(()), Err)
}
