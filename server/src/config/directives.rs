//! The directive table: every configuration name Zedis knows, its kind (bounds, enum values, units), whether
//! CONFIG SET may change it, its default, and Redis 7.0's alternative names.

/// How a directive's value is checked and normalised.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// An integer within bounds.
    Int(i64, i64),
    /// A byte size with optional unit (`100mb`, `1gb`, `1k`), shown in bytes.
    Memory,
    /// `yes` or `no`.
    Bool,
    /// One of a fixed list (case-insensitive).
    Enum(&'static [&'static str]),
    /// Any string.
    Str,
    /// Checked by the server when applied (notify-keyspace-events, client-output-buffer-limit, save, bind).
    Special,
}

/// One configuration directive.
#[derive(Debug)]
pub struct Directive {
    /// Name as in redis.conf.
    pub name: &'static str,
    /// Value check.
    pub kind: Kind,
    /// Whether CONFIG SET may change it.
    pub mutable: bool,
    /// Default (canonical form).
    pub default: &'static str,
}

const fn d(name: &'static str, kind: Kind, mutable: bool, default: &'static str) -> Directive {
    Directive {
        name,
        kind,
        mutable,
        default,
    }
}

/// In Redis's order (its CONFIG SET error lists them so), plus the seed's `allkeys-flush`.
pub const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
    "allkeys-flush",
];

/// Values Zedis accepts beyond Redis's: accepted, but left out of the "must be one of" error so that the
/// error stays byte-identical to Redis's for Redis's own inputs (`allkeys-flush` is documented in the README).
pub(super) const ENUM_EXTENSIONS: &[&str] = &["allkeys-flush"];

/// Redis 7.0's alternative names, `(alias, directive)`: CONFIG GET lists both, CONFIG SET through either
/// changes the one value.
pub const ALIASES: &[(&str, &str)] = &[
    ("slave-ignore-maxmemory", "replica-ignore-maxmemory"),
    ("slaveof", "replicaof"),
    ("slave-read-only", "replica-read-only"),
    ("slave-serve-stale-data", "replica-serve-stale-data"),
    ("slave-priority", "replica-priority"),
    ("slave-announced", "replica-announced"),
    ("slave-announce-ip", "replica-announce-ip"),
    ("slave-announce-port", "replica-announce-port"),
    ("min-slaves-to-write", "min-replicas-to-write"),
    ("min-slaves-max-lag", "min-replicas-max-lag"),
    ("repl-ping-slave-period", "repl-ping-replica-period"),
    ("list-max-ziplist-size", "list-max-listpack-size"),
    ("hash-max-ziplist-entries", "hash-max-listpack-entries"),
    ("hash-max-ziplist-value", "hash-max-listpack-value"),
    ("zset-max-ziplist-entries", "zset-max-listpack-entries"),
    ("zset-max-ziplist-value", "zset-max-listpack-value"),
    (
        "cluster-slave-validity-factor",
        "cluster-replica-validity-factor",
    ),
    ("cluster-slave-no-failover", "cluster-replica-no-failover"),
    ("lua-time-limit", "busy-reply-threshold"),
];

/// Every directive Zedis knows. Unknown names are startup errors and CONFIG SET errors.
pub const DIRECTIVES: &[Directive] = &[
    // CONFIG SET opens the new listeners first (`server/listeners.rs`), as Redis.
    d("port", Kind::Int(0, 65535), true, "6379"),
    d("bind", Kind::Special, true, "127.0.0.1"),
    d("tcp-backlog", Kind::Int(0, i32::MAX as i64), false, "511"),
    d("databases", Kind::Int(1, i32::MAX as i64), false, "16"),
    d("maxclients", Kind::Int(1, i32::MAX as i64), true, "10000"),
    d("timeout", Kind::Int(0, i32::MAX as i64), true, "0"),
    d("tcp-keepalive", Kind::Int(0, i32::MAX as i64), true, "300"),
    d("hz", Kind::Int(0, i32::MAX as i64), true, "10"),
    // Milliseconds a script runs before other clients get -BUSY (scripting_cmds/busy.rs).
    d("busy-reply-threshold", Kind::Int(0, i64::MAX), true, "5000"),
    d("maxmemory", Kind::Memory, true, "0"),
    d("maxmemory-policy", Kind::Enum(POLICIES), true, "noeviction"),
    d(
        "maxmemory-samples",
        Kind::Int(1, i32::MAX as i64),
        true,
        "5",
    ),
    // Redis bounds the time one command spends evicting by this; Zedis's budget is a hard limit, so a write
    // always evicts until it fits (Redis's 100): the value is validated and stored for compatibility.
    d("maxmemory-eviction-tenacity", Kind::Int(0, 100), true, "10"),
    // On a replica, the master's commands never evict (the master's DELs keep the dataset in step).
    d("replica-ignore-maxmemory", Kind::Bool, true, "yes"),
    // Replication (`repl/`). `replicaof` is `<host> <port>`, applied at startup.
    d("replicaof", Kind::Str, false, ""),
    d("masterauth", Kind::Str, true, ""),
    d("masteruser", Kind::Str, true, ""),
    d("replica-read-only", Kind::Bool, true, "yes"),
    d("replica-serve-stale-data", Kind::Bool, true, "yes"),
    d(
        "replica-priority",
        Kind::Int(0, i32::MAX as i64),
        true,
        "100",
    ),
    d("replica-announced", Kind::Bool, true, "yes"),
    d("replica-announce-ip", Kind::Str, true, ""),
    d("replica-announce-port", Kind::Int(0, 65535), true, "0"),
    d("repl-backlog-size", Kind::Memory, true, "1048576"),
    d(
        "repl-backlog-ttl",
        Kind::Int(0, i32::MAX as i64),
        true,
        "3600",
    ),
    d(
        "repl-ping-replica-period",
        Kind::Int(1, i32::MAX as i64),
        true,
        "10",
    ),
    d("repl-timeout", Kind::Int(1, i32::MAX as i64), true, "60"),
    d("repl-diskless-sync", Kind::Bool, true, "yes"),
    d(
        "repl-diskless-sync-delay",
        Kind::Int(0, i32::MAX as i64),
        true,
        "5",
    ),
    d(
        "repl-diskless-sync-max-replicas",
        Kind::Int(0, i32::MAX as i64),
        true,
        "0",
    ),
    d(
        "repl-diskless-load",
        Kind::Enum(&["disabled", "on-empty-db", "swapdb"]),
        true,
        "disabled",
    ),
    d("repl-disable-tcp-nodelay", Kind::Bool, true, "no"),
    // Redis's test knobs (hidden from CONFIG GET * in Redis): microseconds slept per key saved by an RDB
    // child (`repl/rdb.rs`) and per key loaded by a replica's full sync; negative: 1 us once in -n keys.
    d(
        "rdb-key-save-delay",
        Kind::Int(i32::MIN as i64, i32::MAX as i64),
        true,
        "0",
    ),
    d(
        "key-load-delay",
        Kind::Int(i32::MIN as i64, i32::MAX as i64),
        true,
        "0",
    ),
    d(
        "min-replicas-to-write",
        Kind::Int(0, i32::MAX as i64),
        true,
        "0",
    ),
    d(
        "min-replicas-max-lag",
        Kind::Int(0, i32::MAX as i64),
        true,
        "10",
    ),
    d("lfu-log-factor", Kind::Int(0, i32::MAX as i64), true, "10"),
    d("lfu-decay-time", Kind::Int(0, i32::MAX as i64), true, "1"),
    d("proto-max-bulk-len", Kind::Memory, true, "536870912"),
    d("hll-sparse-max-bytes", Kind::Memory, true, "3000"),
    d(
        "client-query-buffer-limit",
        Kind::Memory,
        true,
        "1073741824",
    ),
    d(
        "client-output-buffer-limit",
        Kind::Special,
        true,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ),
    d("notify-keyspace-events", Kind::Special, true, ""),
    d("requirepass", Kind::Str, true, ""),
    d("protected-mode", Kind::Bool, true, "yes"),
    // Redis 7.0's save points (`persist/save_points.rs`); `save ""` turns them off.
    d("save", Kind::Special, true, "3600 1 300 100 60 10000"),
    d("stop-writes-on-bgsave-error", Kind::Bool, true, "yes"),
    d("dbfilename", Kind::Str, true, "dump.rdb"),
    d("dir", Kind::Str, true, "."),
    d("appendonly", Kind::Bool, true, "no"),
    d("appendfilename", Kind::Str, false, "appendonly.aof"),
    // Redis 7's multi-part AOF (`aof/multipart.rs`, the zedis-aofdir crate).
    d("appenddirname", Kind::Str, false, "appendonlydir"),
    d("aof-use-rdb-preamble", Kind::Bool, true, "yes"),
    d("rdbcompression", Kind::Bool, true, "yes"),
    d("rdbchecksum", Kind::Bool, true, "yes"),
    d("aof-timestamp-enabled", Kind::Bool, true, "no"),
    d(
        "appendfsync",
        Kind::Enum(&["always", "everysec", "no"]),
        true,
        "everysec",
    ),
    d("aof-load-truncated", Kind::Bool, true, "yes"),
    d(
        "auto-aof-rewrite-percentage",
        Kind::Int(0, i32::MAX as i64),
        true,
        "100",
    ),
    d("auto-aof-rewrite-min-size", Kind::Memory, true, "67108864"),
    d(
        "list-max-listpack-size",
        Kind::Int(i32::MIN as i64, i32::MAX as i64),
        true,
        "-2",
    ),
    // Redis 7.0's quicklist compression depth: Zedis's lists are not LZF-compressed, so only 0 (Redis's
    // default, no compression) is accepted; any other value is refused rather than kept without effect.
    d(
        "list-compress-depth",
        Kind::Int(0, i32::MAX as i64),
        true,
        "0",
    ),
    d(
        "set-max-intset-entries",
        Kind::Int(0, i64::MAX),
        true,
        "512",
    ),
    // Redis 7.0 has no listpack sets: 0 keeps its intset/hashtable encodings (128 gives Redis 7.2's).
    d(
        "set-max-listpack-entries",
        Kind::Int(0, i64::MAX),
        true,
        "0",
    ),
    d("set-max-listpack-value", Kind::Int(0, i64::MAX), true, "64"),
    d(
        "hash-max-listpack-entries",
        Kind::Int(0, i64::MAX),
        true,
        "512",
    ),
    d(
        "hash-max-listpack-value",
        Kind::Memory, // a MEMORY_CONFIG in Redis: `1kb` works
        true,
        "64",
    ),
    d(
        "zset-max-listpack-entries",
        Kind::Int(0, i64::MAX),
        true,
        "128",
    ),
    d("zset-max-listpack-value", Kind::Memory, true, "64"),
    d("stream-node-max-bytes", Kind::Memory, true, "4096"),
    d(
        "stream-node-max-entries",
        Kind::Int(0, i64::MAX),
        true,
        "100",
    ),
    d(
        "pubsub-max-subscribers-per-channel",
        Kind::Int(0, i64::MAX),
        true,
        "0",
    ),
    d("pubsub-max-channels", Kind::Int(0, i64::MAX), true, "0"),
    d(
        "loglevel",
        Kind::Enum(&["debug", "verbose", "notice", "warning", "nothing"]),
        true,
        "notice",
    ),
    d("logfile", Kind::Str, false, ""),
    // Deployment (the zedis-deploy crate, `main.rs` and `server/listeners.rs`).
    d("daemonize", Kind::Bool, false, "no"),
    d("set-proc-title", Kind::Bool, false, "yes"),
    d(
        "proc-title-template",
        Kind::Special,
        true,
        zedis_deploy::proctitle::DEFAULT_TEMPLATE,
    ),
    d("always-show-logo", Kind::Bool, false, "no"),
    d("pidfile", Kind::Str, false, ""),
    d(
        "supervised",
        Kind::Enum(&["upstart", "systemd", "auto", "no"]),
        false,
        "no",
    ),
    d("syslog-enabled", Kind::Bool, false, "no"),
    d("syslog-ident", Kind::Str, false, "redis"),
    d(
        "syslog-facility",
        Kind::Enum(&[
            "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
        ]),
        false,
        "local0",
    ),
    d("unixsocket", Kind::Str, false, ""),
    d("unixsocketperm", Kind::Special, false, "0"),
    d("shutdown-on-sigterm", Kind::Special, true, "default"),
    d("shutdown-on-sigint", Kind::Special, true, "default"),
    d(
        "shutdown-timeout",
        Kind::Int(0, i32::MAX as i64),
        true,
        "10",
    ),
    d(
        "allocator",
        Kind::Enum(&["zedis", "system"]),
        false,
        "zedis",
    ),
    d(
        "kv-allocator",
        Kind::Enum(&["pool", "system", "segment"]),
        false,
        "pool",
    ),
    d(
        "request-allocator",
        Kind::Enum(&["arena", "heap"]),
        false,
        "arena",
    ),
    d(
        "client-allocator",
        Kind::Enum(&["pool", "heap"]),
        false,
        "pool",
    ),
    // The I/O strategy of the main TCP listener's clients (`server/uring.rs`), fixed at startup.
    d("io", Kind::Enum(&["epoll", "uring"]), false, "epoll"),
    d("arena-retained-bytes-max", Kind::Memory, true, "1048576"),
    // Observability (`crate::observe`, the zedis-observe crate).
    d(
        "slowlog-log-slower-than",
        Kind::Int(-1, i64::MAX),
        true,
        "10000",
    ),
    d("slowlog-max-len", Kind::Int(0, i64::MAX), true, "128"),
    d(
        "latency-monitor-threshold",
        Kind::Int(0, i64::MAX),
        true,
        "0",
    ),
    d("latency-tracking", Kind::Bool, true, "yes"),
    // DEBUG's `enable-debug-command` (Redis 7.0: `no` by default, `local` for loopback and Unix socket
    // clients, immutable).
    d(
        "enable-debug-command",
        Kind::Enum(&["no", "yes", "local"]),
        false,
        "no",
    ),
    d(
        "latency-tracking-info-percentiles",
        Kind::Special,
        true,
        "50 99 99.9",
    ),
    d(
        "tracking-table-max-keys",
        Kind::Int(0, i64::MAX),
        true,
        "1000000",
    ),
    // Redis 7.0's client eviction limit (bytes or a percentage of maxmemory): validated and kept for
    // compatibility; Zedis's client buffers are bounded by the budget and the output limits instead.
    d("maxmemory-clients", Kind::Special, true, "0"),
    // Zedis's own: the Prometheus endpoint's port (0: off).
    d("metrics-port", Kind::Int(0, 65535), false, "0"),
    // Access control (`crate::access`; `user` lines are kept apart, in `Config::users`).
    d("aclfile", Kind::Str, false, ""),
    d("acllog-max-len", Kind::Int(0, i64::MAX), true, "128"),
    d(
        "acl-pubsub-default",
        Kind::Enum(&["allchannels", "resetchannels"]),
        true,
        "resetchannels",
    ),
    // TLS (`server/tls.rs`, the zedis-tls crate): checked by building the rustls configuration, at startup
    // and at CONFIG SET (then new connections use it); `tls-port` is read at startup only.
    d("tls-port", Kind::Int(0, 65535), false, "0"),
    d("tls-cert-file", Kind::Str, true, ""),
    d("tls-key-file", Kind::Str, true, ""),
    d("tls-key-file-pass", Kind::Str, true, ""),
    d("tls-client-cert-file", Kind::Str, true, ""),
    d("tls-client-key-file", Kind::Str, true, ""),
    d("tls-client-key-file-pass", Kind::Str, true, ""),
    d("tls-dh-params-file", Kind::Str, true, ""),
    d("tls-ca-cert-file", Kind::Str, true, ""),
    d("tls-ca-cert-dir", Kind::Str, true, ""),
    d(
        "tls-auth-clients",
        Kind::Enum(&["yes", "no", "optional"]),
        true,
        "yes",
    ),
    d("tls-protocols", Kind::Str, true, ""),
    d("tls-ciphers", Kind::Str, true, ""),
    d("tls-ciphersuites", Kind::Str, true, ""),
    d("tls-prefer-server-ciphers", Kind::Bool, true, "no"),
    d("tls-session-caching", Kind::Bool, true, "yes"),
    d(
        "tls-session-cache-size",
        Kind::Int(0, i32::MAX as i64),
        true,
        "20480",
    ),
    d(
        "tls-session-cache-timeout",
        Kind::Int(0, i32::MAX as i64),
        true,
        "300",
    ),
    d("tls-replication", Kind::Bool, true, "no"),
    d("tls-cluster", Kind::Bool, true, "no"),
    // Cluster (zedis_cluster::runtime::DIRECTIVES has the same rows; a test in server/src/cluster checks it).
    d("cluster-enabled", Kind::Bool, false, "no"),
    d("cluster-config-file", Kind::Str, false, "nodes.conf"),
    d(
        "cluster-node-timeout",
        Kind::Int(0, i64::MAX),
        true,
        "15000",
    ),
    d("cluster-port", Kind::Int(0, 65535), false, "0"),
    d("cluster-announce-ip", Kind::Str, true, ""),
    d("cluster-announce-port", Kind::Int(0, 65535), true, "0"),
    d("cluster-announce-tls-port", Kind::Int(0, 65535), true, "0"),
    d("cluster-announce-bus-port", Kind::Int(0, 65535), true, "0"),
    d("cluster-announce-hostname", Kind::Str, true, ""),
    d("cluster-require-full-coverage", Kind::Bool, true, "yes"),
    d(
        "cluster-replica-validity-factor",
        Kind::Int(0, i32::MAX as i64),
        true,
        "10",
    ),
    d(
        "cluster-migration-barrier",
        Kind::Int(0, i32::MAX as i64),
        true,
        "1",
    ),
    d("cluster-allow-replica-migration", Kind::Bool, true, "yes"),
    d("cluster-replica-no-failover", Kind::Bool, true, "no"),
    d("cluster-allow-reads-when-down", Kind::Bool, true, "no"),
    d(
        "cluster-allow-pubsubshard-when-down",
        Kind::Bool,
        true,
        "yes",
    ),
    d("cluster-link-sendbuf-limit", Kind::Memory, true, "0"),
    d(
        "cluster-preferred-endpoint-type",
        Kind::Enum(&["ip", "hostname", "unknown-endpoint"]),
        true,
        "ip",
    ),
    d("bind-source-addr", Kind::Str, true, ""),
    // Redis's hidden debugging directives (`hidden.rs`): accepted and shown, no effect in Zedis.
    d(
        "key-load-delay",
        Kind::Int(i32::MIN as i64, i32::MAX as i64),
        true,
        "0",
    ),
    d(
        "rdb-key-save-delay",
        Kind::Int(i32::MIN as i64, i32::MAX as i64),
        true,
        "0",
    ),
    d(
        "loading-process-events-interval-bytes",
        Kind::Int(1024, i32::MAX as i64),
        true,
        "2097152",
    ),
    d("watchdog-period", Kind::Int(0, i32::MAX as i64), true, "0"),
    d("use-exit-on-panic", Kind::Bool, true, "no"),
];
