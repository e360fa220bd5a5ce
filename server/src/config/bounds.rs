//! Redis 7.0's numeric ranges (its `static_configs` table in `config.c`): what CONFIG SET and the config
//! file accept for each numeric directive, and the signedness its error message prints the bounds with.
//!
//! Redis parses a value (`memtoull` for memory directives, `string2ll` otherwise) into a `long long`, then
//! checks it against the bounds as unsigned for its `unsigned long long`, `unsigned int` and `size_t`
//! directives and as signed for the others, so `-1` given to an unsigned directive is a huge number out of
//! range, and a memory size past `LLONG_MAX` given to a signed one is negative.

/// A directive's accepted range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Checked as a signed 64-bit value.
    Signed(i64, i64),
    /// Checked as an unsigned 64-bit value.
    Unsigned(u64, u64),
}

impl Bound {
    /// Checks `value` (the parsed bits, as Redis keeps them in a `long long`) and returns its canonical text.
    pub fn check(self, value: i64) -> Result<String, String> {
        match self {
            Bound::Signed(min, max) if (min..=max).contains(&value) => Ok(value.to_string()),
            Bound::Signed(min, max) => Err(format!(
                "argument must be between {min} and {max} inclusive"
            )),
            Bound::Unsigned(min, max) if (min..=max).contains(&(value as u64)) => {
                Ok((value as u64).to_string())
            }
            Bound::Unsigned(min, max) => Err(format!(
                "argument must be between {min} and {max} inclusive"
            )),
        }
    }
}

/// The range Redis 7.0 gives directive `name` (lowercase), if it is numeric there.
pub fn bound_of(name: &str) -> Option<Bound> {
    BOUNDS
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| BOUNDS[i].1)
}

/// Generated from Redis 7.0.15's `config.c` (sorted by name; octal and percent directives are checked where
/// they are parsed).
pub(super) const BOUNDS: &[(&str, Bound)] = &[
    ("acllog-max-len", Bound::Signed(0, 9223372036854775807)),
    ("active-defrag-cycle-max", Bound::Signed(1, 99)),
    ("active-defrag-cycle-min", Bound::Signed(1, 99)),
    (
        "active-defrag-ignore-bytes",
        Bound::Unsigned(1, 9223372036854775807),
    ),
    (
        "active-defrag-max-scan-fields",
        Bound::Signed(1, 9223372036854775807),
    ),
    ("active-defrag-threshold-lower", Bound::Signed(0, 1000)),
    ("active-defrag-threshold-upper", Bound::Signed(0, 1000)),
    ("active-expire-effort", Bound::Signed(1, 10)),
    (
        "auto-aof-rewrite-min-size",
        Bound::Signed(0, 9223372036854775807),
    ),
    ("auto-aof-rewrite-percentage", Bound::Signed(0, 2147483647)),
    (
        "busy-reply-threshold",
        Bound::Signed(0, 9223372036854775807),
    ),
    (
        "client-query-buffer-limit",
        Bound::Unsigned(1048576, 9223372036854775807),
    ),
    ("cluster-announce-bus-port", Bound::Signed(0, 65535)),
    ("cluster-announce-port", Bound::Signed(0, 65535)),
    ("cluster-announce-tls-port", Bound::Signed(0, 65535)),
    (
        "cluster-link-sendbuf-limit",
        Bound::Unsigned(0, 18446744073709551615),
    ),
    ("cluster-migration-barrier", Bound::Signed(0, 2147483647)),
    (
        "cluster-node-timeout",
        Bound::Signed(0, 9223372036854775807),
    ),
    ("cluster-port", Bound::Signed(0, 65535)),
    (
        "cluster-replica-validity-factor",
        Bound::Signed(0, 2147483647),
    ),
    ("databases", Bound::Signed(1, 2147483647)),
    (
        "hash-max-listpack-entries",
        Bound::Unsigned(0, 9223372036854775807),
    ),
    (
        "hash-max-listpack-value",
        Bound::Unsigned(0, 9223372036854775807),
    ),
    (
        "hll-sparse-max-bytes",
        Bound::Unsigned(0, 9223372036854775807),
    ),
    ("hz", Bound::Signed(0, 2147483647)),
    ("io-threads", Bound::Signed(1, 128)),
    ("key-load-delay", Bound::Signed(-2147483648, 2147483647)),
    (
        "latency-monitor-threshold",
        Bound::Signed(0, 9223372036854775807),
    ),
    ("lfu-decay-time", Bound::Signed(0, 2147483647)),
    ("lfu-log-factor", Bound::Signed(0, 2147483647)),
    ("list-compress-depth", Bound::Signed(0, 2147483647)),
    (
        "list-max-listpack-size",
        Bound::Signed(-2147483648, 2147483647),
    ),
    (
        "loading-process-events-interval-bytes",
        Bound::Signed(1024, 2147483647),
    ),
    ("maxclients", Bound::Unsigned(1, 4294967295)),
    ("maxmemory", Bound::Unsigned(0, 18446744073709551615)),
    ("maxmemory-eviction-tenacity", Bound::Signed(0, 100)),
    ("maxmemory-samples", Bound::Signed(1, 2147483647)),
    ("min-replicas-max-lag", Bound::Signed(0, 2147483647)),
    ("min-replicas-to-write", Bound::Signed(0, 2147483647)),
    ("port", Bound::Signed(0, 65535)),
    (
        "proto-max-bulk-len",
        Bound::Signed(1048576, 9223372036854775807),
    ),
    ("rdb-key-save-delay", Bound::Signed(-2147483648, 2147483647)),
    ("repl-backlog-size", Bound::Signed(1, 9223372036854775807)),
    ("repl-backlog-ttl", Bound::Signed(0, 9223372036854775807)),
    ("repl-diskless-sync-delay", Bound::Signed(0, 2147483647)),
    (
        "repl-diskless-sync-max-replicas",
        Bound::Signed(0, 2147483647),
    ),
    ("repl-ping-replica-period", Bound::Signed(1, 2147483647)),
    ("repl-timeout", Bound::Signed(1, 2147483647)),
    ("replica-announce-port", Bound::Signed(0, 65535)),
    ("replica-priority", Bound::Signed(0, 2147483647)),
    (
        "set-max-intset-entries",
        Bound::Unsigned(0, 9223372036854775807),
    ),
    ("shutdown-timeout", Bound::Signed(0, 2147483647)),
    (
        "slowlog-log-slower-than",
        Bound::Signed(-1, 9223372036854775807),
    ),
    ("slowlog-max-len", Bound::Signed(0, 9223372036854775807)),
    ("socket-mark-id", Bound::Unsigned(0, 4294967295)),
    (
        "stream-node-max-bytes",
        Bound::Unsigned(0, 9223372036854775807),
    ),
    (
        "stream-node-max-entries",
        Bound::Signed(0, 9223372036854775807),
    ),
    ("tcp-backlog", Bound::Signed(0, 2147483647)),
    ("tcp-keepalive", Bound::Signed(0, 2147483647)),
    ("timeout", Bound::Signed(0, 2147483647)),
    ("tls-port", Bound::Signed(0, 65535)),
    ("tls-session-cache-size", Bound::Signed(0, 2147483647)),
    ("tls-session-cache-timeout", Bound::Signed(0, 2147483647)),
    (
        "tracking-table-max-keys",
        Bound::Unsigned(0, 9223372036854775807),
    ),
    ("watchdog-period", Bound::Signed(0, 2147483647)),
    (
        "zset-max-listpack-entries",
        Bound::Unsigned(0, 9223372036854775807),
    ),
    (
        "zset-max-listpack-value",
        Bound::Unsigned(0, 9223372036854775807),
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_checked_as_redis() {
        assert!(BOUNDS.windows(2).all(|w| w[0].0 < w[1].0));
        let hz = bound_of("hz").unwrap();
        assert_eq!(
            hz.check(-5).unwrap_err(),
            "argument must be between 0 and 2147483647 inclusive"
        );
        let maxclients = bound_of("maxclients").unwrap();
        assert_eq!(
            maxclients.check(-1).unwrap_err(),
            "argument must be between 1 and 4294967295 inclusive"
        );
        let bulk = bound_of("proto-max-bulk-len").unwrap();
        assert!(bulk.check(1024).is_err());
        assert_eq!(bulk.check(1 << 20).unwrap(), "1048576");
        assert_eq!(
            bound_of("maxmemory").unwrap().check(-1).unwrap(),
            u64::MAX.to_string()
        );
    }
}
