//! The server-side session cache behind `tls-session-caching`, `tls-session-cache-size` and
//! `tls-session-cache-timeout`: a bounded map from session id (or TLSv1.3 stateful ticket) to rustls's
//! serialized session, oldest evicted first, entries older than the timeout never resumed. Its heap use is
//! [`SessionCache::bytes`], for the server to charge to its budget.

use rustls::server::StoresServerSessions;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Hard cap on entries (Redis's `tls-session-cache-size 0` means "no limit"; here it means this).
pub const SESSION_CACHE_ENTRIES_MAX: usize = 1 << 20;
/// Per-entry bookkeeping counted by [`SessionCache::bytes`] beyond key and value bytes (map slot, queue slot,
/// two `Vec` headers and the timestamp).
const ENTRY_OVERHEAD_BYTES: usize = 96;

#[derive(Debug, Default)]
struct Entries {
    /// Session key → (serialized session, when stored, insertion number).
    map: HashMap<Vec<u8>, (Vec<u8>, Instant, u64)>,
    /// (key, insertion number) in insertion order; holds stale pairs for keys taken or stored again
    /// (skipped on eviction: only a pair whose number matches the map's is live). Never longer than
    /// `2 * entries_max + 1` (compacted when it grows past that).
    order: VecDeque<(Vec<u8>, u64)>,
    /// Next insertion number.
    next_seq: u64,
    /// Key and value bytes held in `map` and `order`.
    payload_bytes: usize,
}

/// A bounded, expiring store of server sessions.
#[derive(Debug)]
pub struct SessionCache {
    entries: Mutex<Entries>,
    /// At least 1, at most [`SESSION_CACHE_ENTRIES_MAX`].
    entries_max: usize,
    timeout: Duration,
}

impl SessionCache {
    /// A cache of at most `entries_max` sessions (0: [`SESSION_CACHE_ENTRIES_MAX`]) resumable for `timeout_s`.
    pub fn new(entries_max: u32, timeout_s: u32) -> Self {
        let entries_max = match entries_max as usize {
            0 => SESSION_CACHE_ENTRIES_MAX,
            n => n.min(SESSION_CACHE_ENTRIES_MAX),
        };
        SessionCache {
            entries: Mutex::new(Entries::default()),
            entries_max,
            timeout: Duration::from_secs(u64::from(timeout_s)),
        }
    }

    /// Sessions held.
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.map.len())
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes held (keys, values and bookkeeping), for the memory budget.
    pub fn bytes(&self) -> usize {
        self.entries.lock().map_or(0, |e| {
            e.payload_bytes + (e.map.len() + e.order.len()) * ENTRY_OVERHEAD_BYTES
        })
    }

    fn fresh(&self, stored: Instant) -> bool {
        stored.elapsed() < self.timeout
    }
}

impl Entries {
    fn remove(&mut self, key: &[u8]) -> Option<(Vec<u8>, Instant)> {
        let (value, at, _) = self.map.remove(key)?;
        self.payload_bytes -= key.len() + value.len();
        Some((value, at))
    }

    fn is_live(&self, key: &[u8], seq: u64) -> bool {
        self.map.get(key).is_some_and(|&(_, _, s)| s == seq)
    }

    /// Drops the oldest live entry; false if there was none.
    fn evict_oldest(&mut self) -> bool {
        while let Some((key, seq)) = self.order.pop_front() {
            self.payload_bytes -= key.len();
            if self.is_live(&key, seq) {
                self.remove(&key);
                return true;
            }
        }
        false
    }

    fn compact(&mut self) {
        let mut order = std::mem::take(&mut self.order);
        let mut dropped = 0;
        order.retain(|(k, seq)| {
            let keep = self.is_live(k, *seq);
            if !keep {
                dropped += k.len();
            }
            keep
        });
        self.order = order;
        self.payload_bytes -= dropped;
    }
}

impl StoresServerSessions for SessionCache {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let Ok(mut e) = self.entries.lock() else {
            return false;
        };
        e.remove(&key);
        while e.map.len() >= self.entries_max && e.evict_oldest() {}
        e.payload_bytes += 2 * key.len() + value.len();
        let seq = e.next_seq;
        e.next_seq += 1;
        e.order.push_back((key.clone(), seq));
        e.map.insert(key, (value, Instant::now(), seq));
        if e.order.len() > 2 * self.entries_max + 1 {
            e.compact();
        }
        true
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let mut e = self.entries.lock().ok()?;
        let (value, at, _) = e.map.get(key)?;
        if self.fresh(*at) {
            return Some(value.clone());
        }
        e.remove(key);
        None
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        let mut e = self.entries.lock().ok()?;
        let (value, at) = e.remove(key)?;
        self.fresh(at).then_some(value)
    }

    fn can_cache(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_oldest_evicted_and_bytes_tracked() {
        let cache = SessionCache::new(3, 300);
        for i in 0u8..10 {
            assert!(cache.put(vec![i; 4], vec![i; 100]));
            assert!(cache.len() <= 3);
        }
        assert_eq!(cache.get(&[9; 4]), Some(vec![9; 100]));
        assert_eq!(cache.get(&[6; 4]), None);
        assert_eq!(cache.take(&[8; 4]), Some(vec![8; 100]));
        assert_eq!(cache.take(&[8; 4]), None);
        assert!(cache.bytes() >= 2 * 104);
        for i in 0u8..100 {
            cache.put(vec![i; 4], vec![i; 100]);
            cache.take(&[i; 4]);
        }
        assert!(cache.is_empty());
        // Taken keys leave the order queue by compaction: bytes stay bounded.
        assert!(
            cache.bytes() <= 8 * (4 + ENTRY_OVERHEAD_BYTES),
            "{}",
            cache.bytes()
        );
    }

    #[test]
    fn expired_entries_are_not_resumed() {
        let cache = SessionCache::new(10, 0);
        cache.put(b"k".to_vec(), b"v".to_vec());
        assert_eq!(cache.get(b"k"), None);
        assert_eq!(cache.take(b"k"), None);
    }
}
