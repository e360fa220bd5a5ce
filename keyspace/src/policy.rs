//! Eviction policies (`maxmemory-policy`) and their config names.

/// Eviction policies (`maxmemory-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictionPolicy {
    /// Refuse writes with `-OOM` when over the limit.
    NoEviction,
    /// The seed's policy: drop the whole keyspace (a pool reset) when a write does not fit.
    AllKeysFlush,
    /// Approximated LRU over all keys.
    AllKeysLru,
    /// Approximated LRU over keys with a TTL.
    VolatileLru,
    /// Approximated LFU over all keys.
    AllKeysLfu,
    /// Approximated LFU over keys with a TTL.
    VolatileLfu,
    /// Random keys.
    AllKeysRandom,
    /// Random keys with a TTL.
    VolatileRandom,
    /// Keys with the nearest expire time.
    VolatileTtl,
}

impl EvictionPolicy {
    /// Every policy with its config name.
    pub const ALL: [(EvictionPolicy, &'static str); 9] = [
        (EvictionPolicy::NoEviction, "noeviction"),
        (EvictionPolicy::AllKeysFlush, "allkeys-flush"),
        (EvictionPolicy::AllKeysLru, "allkeys-lru"),
        (EvictionPolicy::VolatileLru, "volatile-lru"),
        (EvictionPolicy::AllKeysLfu, "allkeys-lfu"),
        (EvictionPolicy::VolatileLfu, "volatile-lfu"),
        (EvictionPolicy::AllKeysRandom, "allkeys-random"),
        (EvictionPolicy::VolatileRandom, "volatile-random"),
        (EvictionPolicy::VolatileTtl, "volatile-ttl"),
    ];

    /// Parses a config name (case-insensitive).
    pub fn parse(name: &[u8]) -> Option<EvictionPolicy> {
        Self::ALL
            .iter()
            .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(name))
            .map(|(p, _)| *p)
    }

    /// The config name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(p, _)| *p == self)
            .map_or("noeviction", |(_, n)| n)
    }

    /// Whether the policy keeps LFU counters in the entries' clock field.
    pub fn is_lfu(self) -> bool {
        matches!(
            self,
            EvictionPolicy::AllKeysLfu | EvictionPolicy::VolatileLfu
        )
    }
}
