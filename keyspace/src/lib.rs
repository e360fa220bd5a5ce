//! Databases, value types, expiration and eviction, generic over the KV storage strategy.
//!
//! Goals: memory-compact entries (one allocation per key for strings, integers stored as integers), Redis 7.0
//! semantics byte for byte, and a single type parameter `A` — the KV strategy from `zedis-kv-pool` — that every
//! key, value and index byte is allocated from, monomorphised once at startup.
//!
//! Non-goals: networking, RESP parsing, client state: the server owns those and calls in with a [`commands::Ctx`].
//!
//! Layout:
//! - [`entry`]: the one-allocation key/value entry and its raw handle;
//! - [`dict`]: the chained hash table (incremental resizing, Redis's SCAN cursor, O(1) sampling);
//! - [`db`]: one database (index + TTL keys);
//! - [`value`]: type names, encodings, collection freeing;
//! - [`num`]: Redis's number parsing and formatting;
//! - [`longdouble`]: the x87 `long double` arithmetic of INCRBYFLOAT/HINCRBYFLOAT, in software;
//! - [`glob`]: Redis's glob matcher (KEYS, SCAN, PSUBSCRIBE);
//! - [`types`]: compact collections (listpack, intset, quicklist) for lists, sets and hashes, and streams
//!   (delta-encoded nodes with consumer groups);
//! - [`commands`]: the command handlers, one file per family;
//! - [`dump`]: the keyspace as a minimal list of commands (AOF rewrite);
//! - [`seg`]: plain strings in per-database segment stores (`--kv-allocator segment`): native commands,
//!   promotion into the tables, eviction and expiry by segment.
//!
//! Memory: allocations through `A` are charged to the installed [`zedis_budget::GlobalBudget`] by the strategy
//! itself and fail (instead of aborting) when it is full; the server calls [`Keyspace::reclaim`] before each write
//! so that the configured eviction policy makes room first.
#![deny(missing_docs)]

pub mod chunked;
mod clock;
pub mod commands;
pub mod db;
pub mod dict;
pub mod dump;
pub mod entry;
#[cfg(test)]
mod expiry_role_tests;
pub mod geohash;
pub mod persist;
mod policy;
pub mod seg;
#[cfg(test)]
mod seg_tests;
pub mod slots;
pub use zedis_util::glob;
pub mod longdouble;
pub use zedis_util::num;
pub mod types;
pub mod value;

use db::Db;
use entry::{EntryPtr, Payload, PayloadInit};
pub use policy::EvictionPolicy;
use zedis_budget::GlobalBudget;
use zedis_kv_pool::KvAllocator;

/// Redis's keyspace-event classes (`notify-keyspace-events`), same bit values as Redis.
pub use zedis_util::notify;

/// Tunables the server configures.
#[derive(Debug, Clone)]
pub struct KeyspaceConfig {
    /// `maxmemory-policy`.
    pub policy: EvictionPolicy,
    /// `maxmemory-samples`.
    pub samples: usize,
    /// `lfu-log-factor`.
    pub lfu_log_factor: u32,
    /// `lfu-decay-time` in minutes.
    pub lfu_decay_time: u32,
    /// `proto-max-bulk-len`: the largest string APPEND/SETRANGE may build.
    pub string_bytes_max: usize,
    /// `hll-sparse-max-bytes`: a sparse HyperLogLog that would grow past this is converted to dense.
    pub hll_sparse_bytes_max: usize,
    /// Collection encoding thresholds (`list-max-listpack-size`, `set-max-intset-entries`, ...). The default
    /// has `set_listpack_entries_max` 0: Redis 7.0 has no listpack sets.
    pub limits: types::Limits,
    /// `stream-node-max-bytes` / `stream-node-max-entries`.
    pub stream_limits: types::NodeLimits,
    /// `rdbcompression`: RDB files, DUMP payloads and AOF preambles LZF-compress strings over 20 bytes when
    /// that saves space (Redis's `rdbSaveRawString`); `false` writes every string plain.
    pub rdb_compression: bool,
    /// `rdbchecksum`: RDB files end with their CRC64; `false` writes a zero trailer, which loading (here and
    /// in Redis) takes as "not checked". DUMP payloads always carry theirs, as Redis's.
    pub rdb_checksum: bool,
}

impl Default for KeyspaceConfig {
    fn default() -> Self {
        KeyspaceConfig {
            policy: EvictionPolicy::NoEviction,
            samples: 5,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            string_bytes_max: 512 * 1024 * 1024,
            hll_sparse_bytes_max: 3000,
            limits: types::Limits {
                set_listpack_entries_max: 0,
                ..types::Limits::default()
            },
            stream_limits: types::NodeLimits::default(),
            rdb_compression: true,
            rdb_checksum: true,
        }
    }
}

/// Counters for INFO stats.
#[derive(Debug, Clone, Default)]
pub struct KeyspaceStats {
    /// Successful key lookups by read commands.
    pub hits: u64,
    /// Failed key lookups by read commands.
    pub misses: u64,
    /// Keys deleted because their TTL passed.
    pub expired_keys: u64,
    /// Keys removed by eviction.
    pub evicted_keys: u64,
    /// Whole-keyspace flushes done by `allkeys-flush`.
    pub eviction_flushes: u64,
}

/// The server's data: `databases` numbered [`Db`]s over the KV strategy `A`.
pub struct Keyspace<A: KvAllocator> {
    dbs: Vec<Db<A>>,
    /// Tunables.
    pub config: KeyspaceConfig,
    /// Counters.
    pub stats: KeyspaceStats,
    rng_state: u64,
    /// The database the next active expire cycle starts with (where the last one ran out of time).
    pub(crate) expire_next_db: usize,
    /// Eviction candidates kept between evictions: (score, db, key), ascending score.
    pub(crate) evict_pool: Vec<(u64, usize, Vec<u8>)>,
    /// Whether to record keys added to the keyspace in [`Keyspace::new_keys`] (the `n` event class is on).
    pub track_new_keys: bool,
    /// Keys added since the server last drained them, (db, key): the `new` keyspace events, published
    /// before the command's own events as Redis's `dbAdd` does.
    pub new_keys: Vec<(usize, Vec<u8>)>,
    /// Expiry as a replica sees it (Redis's `expireIfNeeded` with a master set): an expired key is never
    /// deleted here (the master's DEL does that), it is hidden from the replica's own clients and still
    /// alive for the commands of the master, which decided they apply to it.
    pub expiry: ExpiryRole,
    /// Until when (unix ms, exclusive) clients are paused: meanwhile expired keys read as missing but stay,
    /// and the active expire cycle deletes nothing (Redis's `checkClientPauseTimeoutAndReturnIfPaused`), so
    /// the dataset holds still. The server keeps it equal to its pause deadline; 0: no pause.
    pub expire_paused_until_ms: i64,
    /// The segment store's settings when plain string keys live there (`--kv-allocator segment`, see
    /// [`seg`]); `None` keeps every key in the tables.
    pub(crate) seg_config: Option<zedis_segment::SegConfig>,
}

/// Who deletes expired keys: see [`Keyspace::expiry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpiryRole {
    /// A master (or a server alone): an expired key met by a lookup is deleted and announced.
    #[default]
    Master,
    /// A replica serving its own clients: an expired key reads as missing and stays.
    Replica,
    /// A replica running its master's commands: an expired key is still alive.
    ReplicaApplyingMaster,
}

/// Resize work the cron does per tick (Redis's `dictRehashMilliseconds(d, 1)` in `databasesCron`).
pub const REHASH_CRON_BUDGET: std::time::Duration = std::time::Duration::from_millis(1);

/// Redis's lookup flags for [`Keyspace::lookup_read_with`] (the default is a plain read lookup).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadFlags {
    /// Leave the key's access clock as it was (LOOKUP_NOTOUCH).
    pub no_touch: bool,
    /// Send no keymiss event on a miss (LOOKUP_NONOTIFY).
    pub no_notify: bool,
}

/// A write could not be made room for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("OOM command not allowed when used memory > 'maxmemory'.")]
pub struct Oom;

/// The most keys one [`Keyspace::prefetch`] call warms.
pub const PREFETCH_KEYS_MAX: usize = 16;

impl<A: KvAllocator> Keyspace<A> {
    /// `databases` empty databases.
    pub fn new(databases: usize, config: KeyspaceConfig) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9_7f4a_7c15, |d| d.as_nanos() as u64)
            | 1;
        Keyspace {
            dbs: (0..databases.max(1)).map(|_| Db::default()).collect(),
            config,
            stats: KeyspaceStats::default(),
            rng_state: seed,
            expire_next_db: 0,
            evict_pool: Vec::new(),
            track_new_keys: false,
            new_keys: Vec::new(),
            expiry: ExpiryRole::Master,
            expire_paused_until_ms: 0,
            seg_config: seg::default_config(),
        }
    }

    /// Records `key` as added to `db` when `new` events are wanted.
    pub fn note_new_key(&mut self, db: usize, key: &[u8]) {
        if self.track_new_keys {
            self.new_keys.push((db, key.to_vec()));
        }
    }

    /// Number of databases.
    pub fn db_count(&self) -> usize {
        self.dbs.len()
    }

    /// Database `idx` (must be < `db_count()`).
    pub fn db(&self, idx: usize) -> &Db<A> {
        &self.dbs[idx]
    }

    /// Database `idx`, mutably.
    pub fn db_mut(&mut self, idx: usize) -> &mut Db<A> {
        &mut self.dbs[idx]
    }

    /// Warms the caches for the lookups of `keys` in database `db` that are about to run (a pipelined batch):
    /// hashes every key and asks the CPU for its bucket(s), then reads each bucket and asks for the first entry of
    /// its chain. Only cache hints and ordinary reads of the current index: nothing changes, and whatever the
    /// batch's commands change afterwards, their own lookups stay exact. At most [`PREFETCH_KEYS_MAX`] keys are
    /// warmed; an out-of-range `db` warms nothing.
    pub fn prefetch(&self, db: usize, keys: &[&[u8]]) {
        let Some(db) = self.dbs.get(db) else {
            return;
        };
        if db.dict().is_empty() {
            return;
        }
        let mut hashes = [0u64; PREFETCH_KEYS_MAX];
        let keys = &keys[..keys.len().min(PREFETCH_KEYS_MAX)];
        for (hash, key) in hashes.iter_mut().zip(keys) {
            *hash = db.prefetch_hash(key);
            db.prefetch_bucket(*hash);
        }
        for &hash in &hashes[..keys.len()] {
            db.prefetch_chain(hash);
        }
    }

    /// A fast pseudo-random u64 (xorshift64*): sampling, RANDOMKEY, SPOP. Not for secrets.
    pub fn random(&mut self) -> u64 {
        let mut x = self.rng_state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng_state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Total keys in all databases.
    pub fn total_keys(&self) -> usize {
        self.dbs.iter().map(Db::len).sum()
    }

    /// The live entry for `key` in `db`: an expired one is deleted here (lazy expiry) and `None` returned. Does
    /// not touch hit/miss counters or the access clock.
    pub fn lookup(
        &mut self,
        db: usize,
        key: &[u8],
        now_ms: i64,
        fx: &mut commands::Effects,
    ) -> Option<EntryPtr> {
        // A plain string in the segment store moves to the tables for any access but the native commands'.
        self.promote(db, key, now_ms);
        // A key lookup pays for one step of a resize under way, as Redis's dictFind does.
        self.dbs[db].rehash_step();
        let entry = self.dbs[db].find(key)?;
        match entry.expire() {
            Some(when) if when <= now_ms && self.expiry == ExpiryRole::Replica => None,
            Some(when) if when <= now_ms && self.expiry == ExpiryRole::Master => {
                self.dbs[db].remove(key);
                self.stats.expired_keys += 1;
                fx.notify(notify::EXPIRED, "expired", db, key);
                fx.touch(db, key);
                fx.expired.push((db, key.to_vec()));
                None
            }
            _ => Some(entry),
        }
    }

    /// Whether `key` is an expired key a client pause keeps: a read sees it missing, and it stays. (Writes,
    /// which a pause holds back, still delete it first through [`Keyspace::lookup`].)
    fn kept_expired(&mut self, db: usize, key: &[u8], now_ms: i64) -> bool {
        if self.expiry != ExpiryRole::Master || !self.expire_paused(now_ms) {
            return false;
        }
        self.dbs[db]
            .find(key)
            .is_some_and(|e| e.expire().is_some_and(|when| when <= now_ms))
    }

    /// Whether a client pause keeps expired keys in place at `now_ms` (see
    /// [`Keyspace::expire_paused_until_ms`]).
    pub fn expire_paused(&self, now_ms: i64) -> bool {
        now_ms < self.expire_paused_until_ms
    }

    /// [`Keyspace::lookup`] for a read command: counts a hit or miss and updates the access clock.
    pub fn lookup_read(
        &mut self,
        db: usize,
        key: &[u8],
        now_ms: i64,
        fx: &mut commands::Effects,
    ) -> Option<EntryPtr> {
        self.lookup_read_with(db, key, now_ms, fx, ReadFlags::default())
    }

    /// [`Keyspace::lookup_read`] with Redis's lookup flags: `no_touch` keeps the access clock as it was
    /// (LOOKUP_NOTOUCH: TTL, TYPE, EXISTS, OBJECT), `no_notify` skips the keymiss event (LOOKUP_NONOTIFY).
    pub fn lookup_read_with(
        &mut self,
        db: usize,
        key: &[u8],
        now_ms: i64,
        fx: &mut commands::Effects,
        flags: ReadFlags,
    ) -> Option<EntryPtr> {
        let found = if self.kept_expired(db, key, now_ms) {
            None
        } else {
            self.lookup(db, key, now_ms, fx)
        };
        match found {
            Some(entry) => {
                self.stats.hits += 1;
                if !flags.no_touch {
                    self.touch_clock(entry, now_ms);
                }
            }
            None => {
                self.stats.misses += 1;
                if !flags.no_notify {
                    fx.notify(notify::KEY_MISS, "keymiss", db, key);
                }
            }
        }
        found
    }

    /// Stores a string value under `key`, replacing any value (and its TTL unless `keep_ttl`). Integer-looking
    /// values are stored as integers. `expire` sets a TTL (unix ms).
    pub fn set_string(
        &mut self,
        db: usize,
        key: &[u8],
        value: &[u8],
        expire: Option<i64>,
        keep_ttl: bool,
        now_ms: i64,
    ) -> Result<(), Oom> {
        self.set_string_over(db, key, None, value, expire, keep_ttl, now_ms)
    }

    /// Stores `payload` under `key` (see [`Keyspace::set_string`]); returns the new entry.
    pub fn set_payload(
        &mut self,
        db: usize,
        key: &[u8],
        payload: PayloadInit<'_>,
        expire: Option<i64>,
        keep_ttl: bool,
        now_ms: i64,
    ) -> Result<EntryPtr, Oom> {
        self.set_payload_over(db, key, None, payload, expire, keep_ttl, now_ms)
    }

    /// As [`Keyspace::set_string`] over `linked`, the live entry a [`Keyspace::lookup`] of `key` just returned
    /// in this command (nothing relinked since): the key is not looked up again. With `None`, as
    /// `set_string`.
    #[allow(clippy::too_many_arguments)]
    pub fn set_string_over(
        &mut self,
        db: usize,
        key: &[u8],
        linked: Option<EntryPtr>,
        value: &[u8],
        expire: Option<i64>,
        keep_ttl: bool,
        now_ms: i64,
    ) -> Result<(), Oom> {
        let payload = match num::parse_i64_exact(value) {
            Some(n) => PayloadInit::Int(n),
            None => PayloadInit::Str(value),
        };
        self.set_payload_over(db, key, linked, payload, expire, keep_ttl, now_ms)
            .map(|_| ())
    }

    /// [`Keyspace::set_payload`], skipping the key's lookup when `linked` names its linked entry.
    #[allow(clippy::too_many_arguments)]
    fn set_payload_over(
        &mut self,
        db: usize,
        key: &[u8],
        linked: Option<EntryPtr>,
        payload: PayloadInit<'_>,
        expire: Option<i64>,
        keep_ttl: bool,
        now_ms: i64,
    ) -> Result<EntryPtr, Oom> {
        let old = match linked {
            Some(entry) => {
                debug_assert_eq!(self.dbs[db].find(key), Some(entry));
                Some(entry)
            }
            None => {
                self.promote(db, key, now_ms);
                self.dbs[db].find(key)
            }
        };
        let expire = match (expire, old) {
            (Some(when), _) => Some(when),
            (None, Some(old)) if keep_ttl => old.expire(),
            _ => None,
        };
        let clock = self.initial_clock(now_ms);
        let entry = EntryPtr::new(A::default(), key, expire, payload, clock).map_err(|_| Oom)?;
        let linked = match old {
            Some(old) => self.dbs[db].replace(old, entry, true),
            None => self.dbs[db].insert(entry),
        };
        if linked.is_ok() && old.is_none() {
            self.note_new_key(db, key);
        }
        if linked.is_err() {
            // SAFETY: the new entry was never linked.
            unsafe { entry.free(A::default()) };
            return Err(Oom);
        }
        Ok(entry)
    }

    /// Sets or clears the TTL of an existing entry (reallocating it when it gains or loses its expire block).
    pub fn set_expire(
        &mut self,
        db: usize,
        entry: EntryPtr,
        expire: Option<i64>,
    ) -> Result<EntryPtr, Oom> {
        match (entry.has_expire(), expire) {
            (true, Some(when)) => {
                entry.set_expire(when);
                return Ok(entry);
            }
            (false, None) => return Ok(entry),
            _ => {}
        }
        let payload = match entry.payload() {
            Payload::Str(bytes) => PayloadInit::Str(bytes),
            Payload::Int(n) => PayloadInit::Int(n),
            Payload::Object(kind, object) => PayloadInit::Object(kind, object),
        };
        let fresh = EntryPtr::new(A::default(), entry.key(), expire, payload, entry.lru())
            .map_err(|_| Oom)?;
        if entry.has_flag(entry::FLAG_RAW) {
            fresh.set_flag(entry::FLAG_RAW);
        }
        if self.dbs[db].replace(entry, fresh, false).is_err() {
            // SAFETY: never linked; its object still belongs to `entry`.
            unsafe { fresh.free(A::default()) };
            return Err(Oom);
        }
        Ok(fresh)
    }

    /// Deletes `key` from `db` if present (an expired key counts as absent).
    pub fn delete(
        &mut self,
        db: usize,
        key: &[u8],
        now_ms: i64,
        fx: &mut commands::Effects,
    ) -> bool {
        if let Some(deleted) = self.seg_delete(db, key, now_ms, fx) {
            return deleted;
        }
        if self.lookup(db, key, now_ms, fx).is_none() {
            return false;
        }
        self.dbs[db].remove(key)
    }

    /// Empties one database.
    pub fn flush_db(&mut self, db: usize) {
        self.dbs[db].clear();
    }

    /// Empties every database. With a strategy that can reset all its memory at once (the pool) this is O(1)
    /// in the number of keys.
    pub fn flush_all(&mut self) {
        self.evict_pool.clear();
        // SAFETY: every allocation of `A` belongs to the databases, which forget theirs right after.
        if unsafe { A::reset_all() } {
            for db in &mut self.dbs {
                db.forget();
            }
        } else {
            for db in &mut self.dbs {
                db.clear();
            }
        }
    }

    /// Key-index resize work for about `budget` in all, database after database (Redis's
    /// `incrementallyRehash`, which `databasesCron` gives 1 ms per tick); whether a resize is still under way
    /// somewhere. [`commands::expire::active_expire_cycle`] calls it with [`REHASH_CRON_BUDGET`].
    pub fn rehash_cron(&mut self, budget: std::time::Duration) -> bool {
        let start = std::time::Instant::now();
        let mut pending = false;
        for db in &mut self.dbs {
            let left = budget.saturating_sub(start.elapsed());
            if left.is_zero() {
                pending |= db.dict().is_rehashing();
                continue;
            }
            pending |= db.rehash_for(left);
        }
        pending
    }

    /// Swaps two databases (SWAPDB).
    pub fn swap_dbs(&mut self, a: usize, b: usize) {
        self.dbs.swap(a, b);
    }

    /// Makes room for a write that needs about `bytes_needed` more bytes, following the eviction policy. Called
    /// before every write command that may grow memory (Redis's `denyoom` commands).
    pub fn reclaim(
        &mut self,
        bytes_needed: usize,
        now_ms: i64,
        fx: &mut commands::Effects,
    ) -> Result<(), Oom> {
        self.reclaim_with_headroom(bytes_needed, 0, now_ms, fx)
    }

    /// [`Keyspace::reclaim`] for a write of `bytes_needed` that also wants `headroom_bytes` free after it (for
    /// the client buffers charged after the command): room for the write's own bytes is made if eviction can
    /// make it, the headroom within [`commands::evict::EVICTION_TIME_LIMIT`] of eviction work, the rest being
    /// left to the next call, as Redis's time-limited `performEvictions`.
    ///
    /// This is also the admission check of Redis's `processCommand`, whose `maxmemory` is soft: the command is
    /// let in (Ok) when room was made or, failing that, when usage is at or under the limit after eviction
    /// (Redis refuses only when `performEvictions` fails while over the limit), and then it may allocate past
    /// the limit: an admission opens the budget's overshoot window, which the next call closes (if the command
    /// allocated past the limit, the usage reached then becomes the ceiling, which eviction brings down).
    pub fn reclaim_with_headroom(
        &mut self,
        bytes_needed: usize,
        headroom_bytes: usize,
        now_ms: i64,
        fx: &mut commands::Effects,
    ) -> Result<(), Oom> {
        let budget = zedis_budget::current();
        // What the previous admitted command allocated past the limit is from now on evicted, never grown.
        budget.end_overshoot();
        let total = bytes_needed.saturating_add(headroom_bytes);
        let reclaimed = if budget.fits_limit(total) {
            Ok(())
        } else {
            // Over a lowered limit (or past the one an overshoot went over), the write may not grow the
            // overshoot it found (the ceiling comes down to the bytes in use); its eviction then makes room
            // for its own bytes under that and is bounded in time.
            budget.tighten(0);
            let reclaimed = self.reclaim_by_policy(bytes_needed, headroom_bytes, now_ms, fx);
            budget.tighten(bytes_needed);
            reclaimed
        };
        if reclaimed.is_ok() || !budget.over_limit() {
            budget.admit_overshoot();
            return Ok(());
        }
        Err(Oom)
    }

    /// The eviction [`Keyspace::reclaim_with_headroom`] does under the configured policy.
    fn reclaim_by_policy(
        &mut self,
        bytes_needed: usize,
        headroom_bytes: usize,
        now_ms: i64,
        fx: &mut commands::Effects,
    ) -> Result<(), Oom> {
        let budget = zedis_budget::current();
        let total = bytes_needed.saturating_add(headroom_bytes);
        match self.config.policy {
            EvictionPolicy::NoEviction => Err(Oom),
            EvictionPolicy::AllKeysFlush => {
                let keys = self.total_keys();
                if keys == 0 {
                    return Err(Oom);
                }
                self.flush_all();
                self.stats.evicted_keys += keys as u64;
                self.stats.eviction_flushes += 1;
                fx.flushed = true;
                eprintln!(
                    "# allkeys-flush: evicted the whole keyspace ({keys} keys) to fit a write of {total} bytes"
                );
                if budget.fits_limit(total) {
                    Ok(())
                } else {
                    Err(Oom)
                }
            }
            _ => commands::evict::evict_with_headroom(
                self,
                bytes_needed,
                headroom_bytes,
                commands::evict::EVICTION_TIME_LIMIT,
                now_ms,
                fx,
            ),
        }
    }
}
