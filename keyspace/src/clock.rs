//! The per-key access clock: the LRU clock in seconds and the LFU counter with Redis's logarithmic
//! increment and decay (`evict.c`'s `LFULogIncr` / `LFUDecrAndReturn`).

use crate::entry::EntryPtr;
use crate::Keyspace;
use zedis_kv_pool::KvAllocator;

impl<A: KvAllocator> Keyspace<A> {
    /// The 24-bit LRU clock for `now_ms` (seconds resolution, as Redis's LRU_CLOCK_RESOLUTION 1000).
    pub fn lru_clock(now_ms: i64) -> u32 {
        ((now_ms / 1000) as u32) & 0xff_ffff
    }

    /// The clock value a new entry starts with under the current policy.
    pub fn initial_clock(&self, now_ms: i64) -> u32 {
        if self.config.policy.is_lfu() {
            // LFU_INIT_VAL 5, last decrement time in minutes (16 bits) above it.
            ((((now_ms / 60_000) as u32) & 0xffff) << 8) | 5
        } else {
            Self::lru_clock(now_ms)
        }
    }

    /// Records an access in the entry's clock (LRU time, or LFU counter with Redis's log increment).
    pub fn touch_clock(&mut self, entry: EntryPtr, now_ms: i64) {
        if self.config.policy.is_lfu() {
            let counter = self.lfu_decayed(entry, now_ms);
            let counter = self.lfu_log_incr(counter);
            let minutes = ((now_ms / 60_000) as u32) & 0xffff;
            entry.set_lru((minutes << 8) | u32::from(counter));
        } else {
            entry.set_lru(Self::lru_clock(now_ms));
        }
    }

    /// The entry's LFU counter after Redis's time decay (LFUDecrAndReturn).
    pub fn lfu_decayed(&self, entry: EntryPtr, now_ms: i64) -> u8 {
        let clock = entry.lru();
        let last = clock >> 8;
        let counter = (clock & 0xff) as u8;
        let now = ((now_ms / 60_000) as u32) & 0xffff;
        let elapsed = if now >= last {
            now - last
        } else {
            65535 - last + now
        };
        let periods = elapsed.checked_div(self.config.lfu_decay_time).unwrap_or(0);
        counter.saturating_sub(periods.min(255) as u8)
    }

    fn lfu_log_incr(&mut self, counter: u8) -> u8 {
        if counter == 255 {
            return 255;
        }
        let r = (self.random() >> 11) as f64 / (1u64 << 53) as f64;
        let base = f64::from(counter.saturating_sub(5));
        let p = 1.0 / (base * f64::from(self.config.lfu_log_factor) + 1.0);
        if r < p {
            counter + 1
        } else {
            counter
        }
    }
}
