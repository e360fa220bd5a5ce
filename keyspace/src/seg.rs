//! Plain string keys in a segment store (`--kv-allocator segment`, issue 25).
//!
//! With [`Keyspace::enable_segments`] each database gets a [`SegStore`] (created on its first key) beside
//! its tables. The rules that keep Redis's semantics exact:
//!
//! - **One home per key.** A key is in the segment store or in the tables, never both.
//! - **Native commands** (GET, MGET, SET with every option, SETEX, PSETEX, SETNX, DEL/UNLINK, EXISTS, TYPE,
//!   STRLEN, TTL/PTTL/EXPIRETIME/PEXPIRETIME) serve a key from the store when it is not in the tables, on a
//!   master; a new plain string (SET, SETEX, ...) goes to the store unless its value does not fit a
//!   segment or its expiry has already passed (then the tables take it, as before).
//! - **Promotion.** Every other access to a key (APPEND, INCR, OBJECT, RENAME, DUMP, EXPIRE, WATCH, ...)
//!   first moves it into the tables with its value and expiry ([`Keyspace::promote`], called by
//!   [`Keyspace::lookup`] and [`Keyspace::set_payload`]; the server calls [`Keyspace::promote_args`] before
//!   its own commands), and the command then runs unchanged. Keys only move from the store to the tables,
//!   so SCAN, which walks the store before the tables, still returns every key present for the whole scan.
//! - **Whole-keyspace operations** see both: DBSIZE (`Db::len`), KEYS, SCAN, RANDOMKEY, FLUSH*, SWAPDB
//!   (the store belongs to its `Db`), RDB and AOF rewrite, eviction and active expiry (with `DEL`
//!   propagation and keyspace events), INFO keyspace.
//! - Replicas (any [`ExpiryRole`] but `Master`) never serve from the store: every access promotes, so
//!   their expiry rules stay those of the tables.
//!
//! Eviction: each unit (a segment of a store, or one key of the tables) is drawn alike: the stores' turn
//! comes with probability `segments / (segments + table keys)` (only TTL segments and keys with a TTL
//! for the `volatile-*` policies), otherwise a key goes from the tables by the configured policy. So
//! both sides lose the same share of their bytes, and a key promoted to the tables (by WATCH, INCR, ...)
//! is as likely to be evicted as one in a segment. Nothing is evicted or expired during a client pause. Mapping: `allkeys-lru` and `allkeys-lfu`
//! evict by segment merge (FIFO by segment age refined by the per-item read frequency, Segcache's); the
//! `volatile-lru`/`volatile-lfu` policies do the same among TTL segments; `allkeys-random` and
//! `volatile-random` free random segments; `volatile-ttl` the TTL segment that expires soonest;
//! `allkeys-flush` flushes everything; `noeviction` refuses with `-OOM`.

use crate::commands::Effects;
use crate::entry::{EntryPtr, PayloadInit};
use crate::{notify, EvictionPolicy, ExpiryRole, Keyspace, Oom};
use std::sync::Mutex;
use zedis_budget::GlobalBudget;
use zedis_kv_pool::KvAllocator;
pub use zedis_segment::SegConfig;
use zedis_segment::{EvictPolicy, Found, Loc, Removed, Replaced, SegError, SegStore, ValueRef};

static DEFAULT_CONFIG: Mutex<Option<SegConfig>> = Mutex::new(None);

/// Makes every keyspace created afterwards keep plain strings in segment stores (`None`: in the tables).
/// The server calls it once at startup for `kv-allocator segment`, as `entry::set_compact_entries`.
pub fn set_default_config(config: Option<SegConfig>) {
    if let Ok(mut guard) = DEFAULT_CONFIG.lock() {
        *guard = config;
    }
}

/// The configuration [`set_default_config`] installed.
pub fn default_config() -> Option<SegConfig> {
    DEFAULT_CONFIG.lock().ok().and_then(|guard| *guard)
}

/// Proactive expiry work per database per cron cycle (segments visited plus items removed).
const EXPIRE_WORK_PER_DB: usize = 4096;

/// Compaction starts when holes pass 1/this of the held segment bytes.
const COMPACT_DEAD_SHARE_DIVISOR: usize = 4;

/// Compaction steps (two segments merged into one) per database per cron cycle at most.
const COMPACT_STEPS_PER_CYCLE: usize = 4;

/// What a native command sees of a key in the segment store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// Value length in bytes.
    pub len: usize,
    /// Absolute expiry (unix ms).
    pub expire_ms: Option<i64>,
}

impl<A: KvAllocator> Keyspace<A> {
    /// Keeps plain string keys in segment stores from now on (see the module docs).
    pub fn enable_segments(&mut self, config: SegConfig) {
        self.seg_config = Some(config);
    }

    /// Whether plain strings go to segment stores.
    pub fn segments_enabled(&self) -> bool {
        self.seg_config.is_some()
    }

    /// Whether a native command may serve `key` from the segment store: enabled, on a master, and the key
    /// is not in the tables (one resize step is paid, as a lookup pays it).
    pub fn seg_serves(&mut self, db: usize, key: &[u8]) -> bool {
        if self.seg_config.is_none() || self.expiry != ExpiryRole::Master {
            return false;
        }
        self.dbs[db].rehash_step();
        self.dbs[db].find(key).is_none()
    }

    /// Moves `key` from the segment store into the tables, value and expiry unchanged (an expired one
    /// too: the caller's lookup then expires it by the tables' rules). No effect is recorded: nothing
    /// changed for clients. Whether it moved.
    pub fn promote(&mut self, db: usize, key: &[u8], now_ms: i64) -> bool {
        let Some(store) = self.dbs[db].seg.as_deref() else {
            return false;
        };
        if store.is_empty() {
            return false;
        }
        // `i64::MIN` as "now": nothing counts as expired, so the raw item is read.
        let Some(value) = store.peek(key, i64::MIN).map(|v| v.to_vec()) else {
            return false;
        };
        let expire = store.ttl(key, i64::MIN).flatten();
        let mut clock = self.initial_clock(now_ms);
        if self.config.policy.is_lfu() {
            // The store's read counter carries over (above LFU_INIT_VAL): OBJECT FREQ stays meaningful.
            let reads = u32::from(store.frequency(key).unwrap_or(0));
            clock = (clock & !0xff) | (5 + reads).min(255);
        }
        let link = |ks: &mut Self| -> Result<(), Oom> {
            let payload = match crate::num::parse_i64_exact(&value) {
                Some(n) => PayloadInit::Int(n),
                None => PayloadInit::Str(&value),
            };
            let entry =
                EntryPtr::new(A::default(), key, expire, payload, clock).map_err(|_| Oom)?;
            if ks.dbs[db].insert(entry).is_err() {
                // SAFETY: never linked.
                unsafe { entry.free(A::default()) };
                return Err(Oom);
            }
            Ok(())
        };
        if link(self).is_err() {
            // The key must not vanish for lack of a few bytes: its move goes over the limit once (the
            // next write's eviction brings memory back under it).
            let budget = zedis_budget::current();
            let limit = budget.limit();
            budget.set_limit(0);
            let linked = link(self);
            budget.set_limit(limit);
            if linked.is_err() {
                return false;
            }
        }
        if let Some(store) = self.dbs[db].seg.as_deref_mut() {
            store.delete(key, i64::MIN);
        }
        true
    }

    /// Moves every key of every segment store into the tables (DEBUG DIGEST, which hashes the tables).
    pub fn promote_all(&mut self, now_ms: i64) {
        for db in 0..self.dbs.len() {
            let mut keys = Vec::new();
            if let Some(store) = self.dbs[db].seg.as_deref() {
                let mut cursor = 0;
                loop {
                    cursor = store.scan(cursor, 1024, i64::MIN, &mut keys);
                    if cursor == 0 {
                        break;
                    }
                }
            }
            for key in keys {
                self.promote(db, &key, now_ms);
            }
        }
    }

    /// Before a server-side command (WATCH, DEBUG OBJECT, MEMORY USAGE, ...) that reads the tables
    /// directly: promotes every argument that names a key of `db`'s segment store (a non-key argument
    /// that happens to name one only moves it). A command that reads every key (DEBUG DIGEST) calls
    /// [`Keyspace::promote_all`] itself.
    pub fn promote_args(&mut self, db: usize, argv: &[&[u8]], now_ms: i64) {
        if self.seg_config.is_none() {
            return;
        }
        if db >= self.dbs.len() || self.dbs[db].seg_len() == 0 {
            return;
        }
        for &arg in argv.iter().skip(1) {
            self.promote(db, arg, now_ms);
        }
    }

    /// Records an expired key's removal: counted, announced, propagated as `DEL`.
    fn seg_expired(&mut self, db: usize, key: &[u8], fx: &mut Effects) {
        self.stats.expired_keys += 1;
        fx.notify(notify::EXPIRED, "expired", db, key);
        fx.touch(db, key);
        fx.expired.push((db, key.to_vec()));
    }

    fn seg_miss(&mut self, db: usize, key: &[u8], count: bool, fx: &mut Effects) {
        if count {
            self.stats.misses += 1;
            fx.notify(notify::KEY_MISS, "keymiss", db, key);
        }
    }

    /// A native read of `key` (after [`Keyspace::seg_serves`]): where its live item is, or `None` (an
    /// expired item is removed and announced as `lookup` does). `count` counts the hit or miss as a read
    /// command's. One index lookup.
    fn seg_find(
        &mut self,
        db: usize,
        key: &[u8],
        now_ms: i64,
        fx: &mut Effects,
        count: bool,
    ) -> Option<Loc> {
        // During a client pause an expired item reads as missing but stays (Redis's expireIfNeeded under
        // checkClientPauseTimeoutAndReturnIfPaused): the dataset holds still until the pause ends.
        let paused = self.expire_paused(now_ms);
        let found = match self.dbs[db].seg.as_deref_mut() {
            Some(store) if paused && store.peek(key, now_ms).is_none() => Found::Miss,
            Some(store) => store.lookup_at(key, now_ms),
            None => Found::Miss,
        };
        match found {
            Found::Hit(loc) => {
                if count {
                    self.stats.hits += 1;
                }
                Some(loc)
            }
            Found::Expired => {
                self.seg_expired(db, key, fx);
                self.seg_miss(db, key, count, fx);
                None
            }
            Found::Miss => {
                self.seg_miss(db, key, count, fx);
                None
            }
        }
    }

    /// A native read of `key` (after [`Keyspace::seg_serves`]): the value, or `None` (an expired item is
    /// removed and announced as `lookup` does). `count` counts the hit or miss as a read command's.
    pub fn seg_get(
        &mut self,
        db: usize,
        key: &[u8],
        now_ms: i64,
        fx: &mut Effects,
        count: bool,
    ) -> Option<ValueRef<'_>> {
        let loc = self.seg_find(db, key, now_ms, fx, count)?;
        Some(self.dbs[db].seg.as_deref()?.value_at(loc))
    }

    /// [`Keyspace::seg_get`] reduced to the value's length and expiry.
    pub fn seg_probe(
        &mut self,
        db: usize,
        key: &[u8],
        now_ms: i64,
        fx: &mut Effects,
        count: bool,
    ) -> Option<Probe> {
        let loc = self.seg_find(db, key, now_ms, fx, count)?;
        let store = self.dbs[db].seg.as_deref()?;
        let len = match store.value_at(loc) {
            ValueRef::Bytes(bytes) => bytes.len(),
            ValueRef::Int(n) => itoa::Buffer::new().format(n).len(),
        };
        Some(Probe {
            len,
            expire_ms: store.expire_at(loc),
        })
    }

    /// DEL of `key` when the segment store serves it: `Some(deleted)`, or `None` for the tables' path.
    pub(crate) fn seg_delete(
        &mut self,
        db: usize,
        key: &[u8],
        now_ms: i64,
        fx: &mut Effects,
    ) -> Option<bool> {
        if self.dbs[db].seg_len() == 0 || !self.seg_serves(db, key) {
            return None;
        }
        let live = self.seg_get(db, key, now_ms, fx, false).is_some();
        if live {
            if let Some(store) = self.dbs[db].seg.as_deref_mut() {
                store.delete(key, now_ms);
            }
        }
        Some(live)
    }

    /// Stores a plain string in `db`'s segment store, making room by the eviction policy when it is full.
    /// `Ok(false)`: the store cannot hold it (larger than a segment, or an expiry already past): the caller
    /// stores it in the tables.
    pub fn seg_set(
        &mut self,
        db: usize,
        key: &[u8],
        value: &[u8],
        expire_ms: Option<i64>,
        now_ms: i64,
        fx: &mut Effects,
    ) -> Result<bool, Oom> {
        self.seg_set_replacing(db, key, value, expire_ms, now_ms, fx)
            .map(|stored| stored.is_some())
    }

    /// [`Keyspace::seg_set`] without a probe first: `Ok(Some(what it replaced))` when stored, `Ok(None)`
    /// when the store cannot hold it. An old item expired at `now_ms` is announced as expired (as the
    /// lookup of a write would) before the caller records the write.
    pub fn seg_set_replacing(
        &mut self,
        db: usize,
        key: &[u8],
        value: &[u8],
        expire_ms: Option<i64>,
        now_ms: i64,
        fx: &mut Effects,
    ) -> Result<Option<Replaced>, Oom> {
        let Some(config) = self.seg_config else {
            return Ok(None);
        };
        if expire_ms.is_some_and(|when| when <= now_ms) {
            return Ok(None);
        }
        // Each round either stores or frees at least one unit; a store that stays full gives up.
        for _ in 0..64 {
            if self.dbs[db].seg.is_none() {
                match SegStore::new(config) {
                    Ok(store) => self.dbs[db].seg = Some(Box::new(store)),
                    Err(SegError::Full) => {
                        self.seg_make_room(config.segment_bytes, now_ms, fx)?;
                        continue;
                    }
                    Err(_) => return Ok(None),
                }
            }
            let Some(store) = self.dbs[db].seg.as_deref_mut() else {
                return Ok(None);
            };
            match store.set_replacing(key, value, expire_ms, now_ms) {
                Ok(replaced) => {
                    if replaced == Replaced::Expired {
                        self.seg_expired(db, key, fx);
                    }
                    return Ok(Some(replaced));
                }
                Err(SegError::Full) => {
                    let needed = config.segment_bytes.max(store.stats().index_bytes);
                    self.seg_make_room(needed, now_ms, fx)?;
                }
                Err(_) => return Ok(None),
            }
        }
        Err(Oom)
    }

    /// Frees room for `bytes` by the eviction policy (a segment store asked for a segment or a larger
    /// index).
    fn seg_make_room(&mut self, bytes: usize, now_ms: i64, fx: &mut Effects) -> Result<(), Oom> {
        if zedis_budget::current().fits(bytes) {
            return Ok(());
        }
        self.reclaim(bytes, now_ms, fx)
    }

    /// The segment eviction a `maxmemory-policy` maps to (see the module docs); `None` for none.
    fn seg_policy(&self) -> Option<(EvictPolicy, bool)> {
        Some(match self.config.policy {
            EvictionPolicy::NoEviction | EvictionPolicy::AllKeysFlush => return None,
            EvictionPolicy::AllKeysLru | EvictionPolicy::AllKeysLfu => (EvictPolicy::Merge, false),
            EvictionPolicy::VolatileLru | EvictionPolicy::VolatileLfu => (EvictPolicy::Merge, true),
            EvictionPolicy::AllKeysRandom => (EvictPolicy::Random, false),
            EvictionPolicy::VolatileRandom => (EvictPolicy::Random, true),
            EvictionPolicy::VolatileTtl => (EvictPolicy::NearestExpiry, true),
        })
    }

    /// Bytes the segment stores hold (segments and indexes).
    pub fn seg_charged_bytes(&self) -> usize {
        self.dbs
            .iter()
            .filter_map(|db| db.seg.as_deref())
            .map(|s| s.stats().charged_bytes)
            .sum()
    }

    /// Whether eviction should take its next unit from the segment stores: with a probability equal to
    /// their share of the keyspace's bytes.
    ///
    /// A unit from the stores frees a whole segment while one from the tables frees one key, so the turn
    /// is drawn per unit, not per event: the stores' chance is `segments / (segments + table keys)`.
    /// Each unit then goes with the same probability, and each side loses the same share of its bytes
    /// (a segment's bytes divided by a key's are what a segment weighs against a key), as a policy that
    /// picks keys alike from the whole keyspace would make them (`allkeys-random`: every key is equally
    /// likely to go, wherever it lives). Weighing the two sides by bytes per event instead made promoted
    /// keys in the tables nearly immortal: one event took 1 MiB from the stores or one key from the
    /// tables.
    pub(crate) fn seg_evict_turn(&mut self) -> bool {
        let Some((_, volatile_only)) = self.seg_policy() else {
            return false;
        };
        let segments: usize = self
            .dbs
            .iter()
            .filter_map(|db| db.seg.as_deref())
            .map(|s| s.held_segments(volatile_only))
            .sum();
        if segments == 0 {
            return false;
        }
        let table_keys: usize = if volatile_only {
            self.dbs.iter().map(|db| db.volatile_len()).sum()
        } else {
            self.dbs.iter().map(|db| db.len() - db.seg_len()).sum()
        };
        (self.random() % (segments + table_keys) as u64) < segments as u64
    }

    /// Evicts one unit (a segment, or a merge) from some database's segment store by the policy, and
    /// records the removed keys (`evicted`/`expired` events, `DEL` propagation). Whether anything went.
    pub(crate) fn seg_evict_unit(&mut self, now_ms: i64, fx: &mut Effects) -> bool {
        let Some((policy, volatile_only)) = self.seg_policy() else {
            return false;
        };
        // No eviction while clients are paused (Redis's isSafeToPerformEvictions).
        if self.expiry == ExpiryRole::Master && self.expire_paused(now_ms) {
            return false;
        }
        let dbs = self.dbs.len();
        let start = (self.random() as usize) % dbs;
        for i in 0..dbs {
            let db = (start + i) % dbs;
            let Some(store) = self.dbs[db].seg.as_deref_mut() else {
                continue;
            };
            if let Ok(removed) = store.evict_one_unit(policy, volatile_only, now_ms) {
                self.seg_record(db, removed, fx);
                return true;
            }
        }
        false
    }

    fn seg_record(&mut self, db: usize, removed: Removed, fx: &mut Effects) {
        for key in removed.expired {
            fx.dirty += 1;
            self.seg_expired(db, &key, fx);
        }
        for key in removed.evicted {
            self.stats.evicted_keys += 1;
            fx.dirty += 1;
            fx.touch(db, &key);
            fx.notify(notify::EVICTED, "evicted", db, &key);
            fx.expired.push((db, key));
        }
    }

    /// Proactive expiry of `db`'s segment store (whole segments whose items all expired), on a master.
    /// Keys removed.
    pub(crate) fn seg_expire_cycle(&mut self, db: usize, now_ms: i64, fx: &mut Effects) -> u64 {
        if self.expiry != ExpiryRole::Master {
            return 0;
        }
        let Some(store) = self.dbs[db].seg.as_deref_mut() else {
            return 0;
        };
        let mut removed = store.expire_step(now_ms, EXPIRE_WORK_PER_DB);
        // Overwrites and deletes leave holes that only merges reclaim: when more than a quarter of the held
        // bytes are holes, a few lossless compaction steps (each merges two neighbours into one segment).
        let stats = store.stats();
        if stats.dead_bytes > stats.segments * stats.segment_bytes / COMPACT_DEAD_SHARE_DIVISOR {
            for _ in 0..COMPACT_STEPS_PER_CYCLE {
                let Some(more) = store.compact_step(now_ms) else {
                    break;
                };
                removed.expired.extend(more.expired);
            }
        }
        let count = (removed.expired.len() + removed.evicted.len()) as u64;
        self.seg_record(db, removed, fx);
        count
    }

    /// Keys of `db` with a TTL, in the tables and the segment store (INFO keyspace's `expires`).
    pub fn expires_len(&self, db: usize) -> usize {
        let db = &self.dbs[db];
        db.volatile_len() + db.seg().map_or(0, SegStore::items_with_ttl)
    }

    /// `INFO allocator` lines of the segment stores (figures summed over the databases).
    pub fn write_seg_info(&self, out: &mut String) {
        use std::fmt::Write;
        let Some(config) = self.seg_config else {
            return;
        };
        let mut s = zedis_segment::SegStats::default();
        let mut buckets = 0;
        let (mut primary, mut overflow) = (0, 0);
        for store in self.dbs.iter().filter_map(|db| db.seg.as_deref()) {
            let t = store.stats();
            s.segments += t.segments;
            s.charged_bytes += t.charged_bytes;
            s.index_bytes += t.index_bytes;
            s.items += t.items;
            s.live_bytes += t.live_bytes;
            s.dead_bytes += t.dead_bytes;
            s.unwritten_bytes += t.unwritten_bytes;
            buckets += t.ttl_buckets_used;
            primary += t.index_buckets.0;
            overflow += t.index_buckets.1;
            s.evicted_items += t.evicted_items;
            s.expired_items += t.expired_items;
            s.expired_segments += t.expired_segments;
            s.merges += t.merges;
        }
        let held = s.segments * config.segment_bytes;
        let frag = if s.live_bytes > 0 {
            held as f64 / s.live_bytes as f64
        } else {
            1.0
        };
        let _ = write!(
            out,
            "seg_segment_bytes:{}\r\nseg_segments:{}\r\nseg_charged_bytes:{}\r\nseg_index_bytes:{}\r\n\
             seg_items:{}\r\nseg_live_bytes:{}\r\nseg_dead_bytes:{}\r\nseg_unwritten_bytes:{}\r\n\
             seg_fragmentation_ratio:{frag:.2}\r\nseg_ttl_buckets_used:{buckets}\r\n\
             seg_index_buckets:{primary},{overflow}\r\nseg_evicted_items:{}\r\n\
             seg_expired_items:{}\r\nseg_expired_segments:{}\r\nseg_merges:{}\r\n",
            config.segment_bytes,
            s.segments,
            s.charged_bytes,
            s.index_bytes,
            s.items,
            s.live_bytes,
            s.dead_bytes,
            s.unwritten_bytes,
            s.evicted_items,
            s.expired_items,
            s.expired_segments,
            s.merges,
        );
    }
}
