//! The three strategies behind one small interface: the segment store (`zedis-segment`, driven through its
//! own API) and the keyspace under the KV pool or the system allocator (driven through the real SET / GET
//! handlers, as the server runs them). Each call appends the RESP reply the server would send, so both sides
//! pay for reply encoding; the keyspace side also parses its argument vector (`PX <ms>`), the segment side
//! gets its expiry as a number (it has no command handlers yet).

use zedis_budget::{Budget, Component, GlobalBudget};
use zedis_keyspace::commands::{expire, strings, Ctx, Effects};
use zedis_keyspace::{EvictionPolicy, Keyspace, KeyspaceConfig};
use zedis_kv_pool::{KvAllocator, PoolAlloc, SystemAlloc};
use zedis_resp::Protocol;
use zedis_segment::{EvictPolicy, SegConfig, SegError, SegStore};

/// Address space reserved for the pool (`MAP_NORESERVE`: only touched pages count in RSS).
const POOL_BYTES: usize = 16 << 30;
/// Expiry work per cron tick for the segment store (units of `SegStore::expire_step`).
const SEG_EXPIRE_WORK_MAX: usize = 4096;
/// Eviction units tried for one write before it counts as refused.
const SEG_EVICT_TRIES_MAX: usize = 64;

/// A strategy under test.
pub trait Store {
    /// SET with an optional absolute expiry; false when refused (OOM).
    fn set(&mut self, key: &[u8], value: &[u8], expire_at_ms: Option<i64>, now_ms: i64) -> bool;
    /// GET; whether it hit.
    fn get(&mut self, key: &[u8], now_ms: i64) -> bool;
    /// One expiry cron tick (Redis's 10 Hz active expire cycle, or the segment store's whole-segment expiry).
    fn cron(&mut self, now_ms: i64);
    /// Bytes charged to the budget for keys, values, expiries and indexes.
    fn charged_bytes(&self) -> usize;
    /// Keys held (expired ones not yet removed included).
    fn keys(&self) -> usize;
    /// Extra figures for the report (evictions, segments, ...).
    fn extras(&self) -> Vec<(&'static str, f64)>;
}

/// A fresh budget of `limit_bytes` (0: unlimited), installed as this thread's.
fn fresh_budget(limit_bytes: usize) -> &'static Budget {
    let budget = Budget::leak(limit_bytes);
    zedis_budget::install(budget);
    budget
}

/// The segment store (default 1 MiB segments) charging a fresh budget of `limit_bytes` (0: unlimited).
pub fn segment(limit_bytes: usize) -> Segment {
    let budget = fresh_budget(limit_bytes);
    let store = SegStore::with_budget(SegConfig::default(), budget).expect("segment config");
    Segment {
        store,
        budget,
        out: Vec::with_capacity(1 << 16),
        refused: 0,
    }
}

/// The keyspace under the KV pool.
pub fn pool(limit_bytes: usize, evict: bool) -> Ks<PoolAlloc> {
    let budget = fresh_budget(limit_bytes);
    PoolAlloc::install(POOL_BYTES).expect("pool address space");
    Ks::new(budget, evict)
}

/// The keyspace under the system allocator.
pub fn system(limit_bytes: usize, evict: bool) -> Ks<SystemAlloc> {
    Ks::new(fresh_budget(limit_bytes), evict)
}

/// The segment store, with merge eviction on a full budget.
pub struct Segment {
    store: SegStore,
    budget: &'static Budget,
    out: Vec<u8>,
    refused: u64,
}

impl Segment {
    fn flush_out(&mut self) {
        if self.out.len() > 32 * 1024 {
            std::hint::black_box(&self.out);
            self.out.clear();
        }
    }
}

impl Store for Segment {
    fn set(&mut self, key: &[u8], value: &[u8], expire_at_ms: Option<i64>, now_ms: i64) -> bool {
        for _ in 0..SEG_EVICT_TRIES_MAX {
            match self.store.set(key, value, expire_at_ms, now_ms) {
                Ok(()) => {
                    self.out.extend_from_slice(b"+OK\r\n");
                    self.flush_out();
                    return true;
                }
                Err(SegError::Full) => {
                    if self
                        .store
                        .evict_one_unit(EvictPolicy::Merge, false, now_ms)
                        .is_err()
                    {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        self.refused += 1;
        self.out.extend_from_slice(b"-OOM\r\n");
        false
    }

    fn get(&mut self, key: &[u8], now_ms: i64) -> bool {
        let hit = match self.store.get(key, now_ms) {
            Some(value) => {
                let bytes = value.to_vec();
                self.out.push(b'$');
                self.out
                    .extend_from_slice(bytes.len().to_string().as_bytes());
                self.out.extend_from_slice(b"\r\n");
                self.out.extend_from_slice(&bytes);
                self.out.extend_from_slice(b"\r\n");
                true
            }
            None => {
                self.out.extend_from_slice(b"$-1\r\n");
                false
            }
        };
        self.flush_out();
        hit
    }

    fn cron(&mut self, now_ms: i64) {
        std::hint::black_box(self.store.expire_step(now_ms, SEG_EXPIRE_WORK_MAX));
    }

    fn charged_bytes(&self) -> usize {
        self.budget.used_by(Component::Keyspace)
    }

    fn keys(&self) -> usize {
        self.store.len()
    }

    fn extras(&self) -> Vec<(&'static str, f64)> {
        let s = self.store.stats();
        vec![
            ("evicted", s.evicted_items as f64),
            ("expired", s.expired_items as f64),
            ("refused", self.refused as f64),
            ("segments", s.segments as f64),
            ("index_bytes", s.index_bytes as f64),
            ("dead_bytes", s.dead_bytes as f64),
            ("unwritten_bytes", s.unwritten_bytes as f64),
        ]
    }
}

/// The keyspace under a KV allocator, driven through the command handlers.
pub struct Ks<A: KvAllocator> {
    ks: Keyspace<A>,
    budget: &'static Budget,
    out: Vec<u8>,
    fx: Effects,
    refused: u64,
    ttl_buf: String,
}

impl<A: KvAllocator> Ks<A> {
    fn new(budget: &'static Budget, evict: bool) -> Self {
        let config = KeyspaceConfig {
            policy: if evict {
                EvictionPolicy::AllKeysLru
            } else {
                EvictionPolicy::NoEviction
            },
            ..KeyspaceConfig::default()
        };
        Ks {
            ks: Keyspace::new(16, config),
            budget,
            out: Vec::with_capacity(1 << 16),
            fx: Effects::default(),
            refused: 0,
            ttl_buf: String::new(),
        }
    }

    fn call(&mut self, handler: zedis_keyspace::commands::Handler<A>, argv: &[&[u8]], now_ms: i64) {
        self.fx.reset();
        let mut ctx = Ctx {
            argv,
            out: &mut self.out,
            proto: Protocol::Resp2,
            db: 0,
            now_ms,
            fx: &mut self.fx,
        };
        handler(&mut self.ks, &mut ctx);
        if self.out.len() > 32 * 1024 {
            std::hint::black_box(&self.out);
            self.out.clear();
        }
    }
}

impl<A: KvAllocator> Store for Ks<A> {
    fn set(&mut self, key: &[u8], value: &[u8], expire_at_ms: Option<i64>, now_ms: i64) -> bool {
        // As the server does before a write under a limit: evict for the command's own bytes (no headroom
        // here: in process there are no client buffers to keep room for).
        if self.budget.limit() != 0 {
            self.fx.reset();
            let needed = key.len() + value.len() + 64;
            if self.ks.reclaim(needed, now_ms, &mut self.fx).is_err() {
                self.refused += 1;
                return false;
            }
        }
        match expire_at_ms {
            Some(at) => {
                use std::fmt::Write;
                self.ttl_buf.clear();
                let _ = write!(self.ttl_buf, "{at}");
                let ttl = std::mem::take(&mut self.ttl_buf);
                self.call(
                    strings::set::<A>,
                    &[b"SET", key, value, b"PXAT", ttl.as_bytes()],
                    now_ms,
                );
                self.ttl_buf = ttl;
            }
            None => self.call(strings::set::<A>, &[b"SET", key, value], now_ms),
        }
        true
    }

    fn get(&mut self, key: &[u8], now_ms: i64) -> bool {
        let before = self.ks.stats.hits;
        self.call(strings::get::<A>, &[b"GET", key], now_ms);
        self.ks.stats.hits > before
    }

    fn cron(&mut self, now_ms: i64) {
        // Redis's time cap: 25% of a 100 ms tick would be 25 ms; the simulated clock runs faster than the
        // real one (see `cache`), so the cap is scaled down with it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_micros(250);
        self.fx.reset();
        std::hint::black_box(expire::active_expire_cycle(
            &mut self.ks,
            now_ms,
            deadline,
            &mut self.fx,
        ));
    }

    fn charged_bytes(&self) -> usize {
        self.budget.used_by(Component::Keyspace)
    }

    fn keys(&self) -> usize {
        self.ks.total_keys()
    }

    fn extras(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("evicted", self.ks.stats.evicted_keys as f64),
            ("expired", self.ks.stats.expired_keys as f64),
            ("refused", self.refused as f64),
        ]
    }
}
