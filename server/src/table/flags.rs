//! Command flags: Redis's (as COMMAND INFO names them) and Zedis's internal ones, with the commands that carry
//! the internal flags.

/// Writes data.
pub const WRITE: u32 = 1 << 0;
/// Only reads.
pub const READONLY: u32 = 1 << 1;
/// May grow memory: refused (or evicted for) when over maxmemory.
pub const DENYOOM: u32 = 1 << 2;
/// Administrative.
pub const ADMIN: u32 = 1 << 3;
/// Pub/Sub related.
pub const PUBSUB: u32 = 1 << 4;
/// Not allowed in scripts.
pub const NOSCRIPT: u32 = 1 << 5;
/// May block the client.
pub const BLOCKING: u32 = 1 << 6;
/// Allowed while loading.
pub const LOADING: u32 = 1 << 7;
/// Allowed on a stale replica.
pub const STALE: u32 = 1 << 8;
/// O(1) or O(log N).
pub const FAST: u32 = 1 << 9;
/// Allowed before AUTH.
pub const NO_AUTH: u32 = 1 << 10;
/// May replicate.
pub const MAY_REPLICATE: u32 = 1 << 11;
/// Allowed while a script is busy.
pub const ALLOW_BUSY: u32 = 1 << 12;
/// Not allowed inside MULTI.
pub const NO_MULTI: u32 = 1 << 13;
/// Not shown to MONITOR.
pub const SKIP_MONITOR: u32 = 1 << 14;
/// Not logged in the slowlog.
pub const SKIP_SLOWLOG: u32 = 1 << 15;
/// May have no keys.
pub const NO_MANDATORY_KEYS: u32 = 1 << 16;
/// Keys found by parsing arguments.
pub const MOVABLE_KEYS: u32 = 1 << 17;

/// Zedis's own rules, not shown by COMMAND INFO (bits 24 and up). They are set by [`Table::new`] from
/// [`INTERNAL_FLAGS`], so that no code decides a rule by comparing command names.
///
/// Allowed in RESP2 subscribed mode.
pub const SUBSCRIBED_OK: u32 = 1 << 24;
/// Runs at once inside MULTI instead of being queued.
pub const RUNS_IN_MULTI: u32 = 1 << 25;
/// Runs a transaction's queue (EXEC): CLIENT PAUSE WRITE judges it by the queued commands' flags.
pub const RUNS_QUEUE: u32 = 1 << 26;
/// Refused with -MISCONF while the AOF cannot be written, besides WRITE commands (Redis's PING rule).
pub const DISK_ERROR_DENIED: u32 = 1 << 27;
/// Changes the database commands run in (SELECT): AOF loading follows it.
pub const SELECTS_DB: u32 = 1 << 28;
/// A transaction boundary (MULTI, EXEC) in the AOF: loading skips it.
pub const TX_BOUNDARY: u32 = 1 << 29;
/// Its replies are pushes (subscription confirmations): CLIENT REPLY OFF/SKIP does not silence them, as
/// Redis's `CLIENT_PUSHING` replies.
pub const PUSHES: u32 = 1 << 30;

/// Which commands get which internal flags (applied by [`Table::new`]; a name not in the table is ignored).
pub(super) const INTERNAL_FLAGS: &[(&str, u32)] = &[
    ("ping", SUBSCRIBED_OK | DISK_ERROR_DENIED),
    ("subscribe", SUBSCRIBED_OK | PUSHES),
    ("ssubscribe", SUBSCRIBED_OK | PUSHES),
    ("psubscribe", SUBSCRIBED_OK | PUSHES),
    ("unsubscribe", SUBSCRIBED_OK | PUSHES),
    ("sunsubscribe", SUBSCRIBED_OK | PUSHES),
    ("punsubscribe", SUBSCRIBED_OK | PUSHES),
    ("quit", SUBSCRIBED_OK | RUNS_IN_MULTI),
    ("reset", SUBSCRIBED_OK | RUNS_IN_MULTI),
    ("multi", RUNS_IN_MULTI | TX_BOUNDARY),
    ("exec", RUNS_IN_MULTI | RUNS_QUEUE | TX_BOUNDARY),
    ("discard", RUNS_IN_MULTI),
    ("watch", RUNS_IN_MULTI),
    ("select", SELECTS_DB),
    // Redis's `may_replicate` (hidden from COMMAND INFO, so not in the generated rows): refused from
    // read-only scripts and held by CLIENT PAUSE WRITE. (EVAL, EVALSHA and FCALL have it too in Redis, where
    // a script's declared flags replace it; Zedis's pause judges scripts on their own.)
    ("pfcount", MAY_REPLICATE),
    ("publish", MAY_REPLICATE),
    ("spublish", MAY_REPLICATE),
];

/// Flag names as COMMAND INFO prints them, in Redis's order (`addReplyCommandFlags`).
pub const FLAG_NAMES: &[(u32, &str)] = &[
    (WRITE, "write"),
    (READONLY, "readonly"),
    (DENYOOM, "denyoom"),
    (ADMIN, "admin"),
    (PUBSUB, "pubsub"),
    (NOSCRIPT, "noscript"),
    (BLOCKING, "blocking"),
    (LOADING, "loading"),
    (STALE, "stale"),
    (SKIP_MONITOR, "skip_monitor"),
    (SKIP_SLOWLOG, "skip_slowlog"),
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
    (NO_MANDATORY_KEYS, "no_mandatory_keys"),
    (NO_MULTI, "no_multi"),
    (MOVABLE_KEYS, "movablekeys"),
    (ALLOW_BUSY, "allow_busy"),
];
