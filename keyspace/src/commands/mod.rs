//! Command handlers, one file per family. Each is a plain `fn(&mut Keyspace<A>, &mut Ctx)`: the server's
//! command table (the single source of truth for names, arity and flags) points at them, checks arity before
//! calling, and turns [`Effects`] into keyspace notifications, WATCH invalidation and AOF records.
//!
//! Replies and errors are Redis 7.0's byte for byte.

pub mod args;
pub mod bitfield;
pub mod bitmaps;
pub mod blocking;
pub mod dump_restore;
pub mod evict;
pub mod expire;
pub mod geo;
pub mod geo_search;
pub mod hashes;
pub mod hll;
pub mod keys;
pub mod lists;
pub mod pqsort;
pub mod seg_scan;
pub mod seg_strings;
mod set_options;
pub mod sets;
pub mod sort;
pub mod sort_score;
pub mod stream_claim;
pub mod stream_groups;
pub mod stream_info;
pub mod stream_read;
pub mod streams;
pub mod strings;
pub mod strings_lcs;
pub mod zset_pop;
pub mod zset_range;
pub mod zset_store;
pub mod zsets;

use crate::entry::{EntryPtr, Payload};
use crate::{Keyspace, Oom};
use zedis_kv_pool::KvAllocator;
use zedis_resp::{reply, Protocol};

/// A command handler.
pub type Handler<A> = fn(&mut Keyspace<A>, &mut Ctx<'_>);

/// `-WRONGTYPE`.
pub const WRONGTYPE: &[u8] = b"WRONGTYPE Operation against a key holding the wrong kind of value";
/// Integer argument or value that does not parse.
pub const NOT_INTEGER: &[u8] = b"ERR value is not an integer or out of range";
/// Float argument or value that does not parse.
pub const NOT_FLOAT: &[u8] = b"ERR value is not a valid float";
/// Generic syntax error.
pub const SYNTAX: &[u8] = b"ERR syntax error";
/// Missing source key (RENAME).
pub const NO_SUCH_KEY: &[u8] = b"ERR no such key";
/// DB index outside `0..databases`.
pub const DB_RANGE: &[u8] = b"ERR DB index is out of range";
/// Source and destination are the same (MOVE, COPY).
pub const SAME_OBJECT: &[u8] = b"ERR source and destination objects are the same";
/// A string would pass `proto-max-bulk-len`.
pub const STRING_TOO_LONG: &[u8] = b"ERR string exceeds maximum allowed size (proto-max-bulk-len)";
/// The `-OOM` error.
pub const OOM: &[u8] = b"OOM command not allowed when used memory > 'maxmemory'.";

/// A keyspace event to publish (`notify-keyspace-events`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Class bit from [`crate::notify`].
    pub class: u32,
    /// Event name (`set`, `del`, `expired`...).
    pub name: &'static str,
    /// Database number.
    pub db: usize,
    /// Key.
    pub key: Vec<u8>,
}

/// What a command did besides its reply, for the server to act on.
#[derive(Debug, Default)]
pub struct Effects {
    /// Number of changes made (Redis's `server.dirty`): AOF and WATCH act on non-zero.
    pub dirty: u64,
    /// Event classes to collect (the `notify-keyspace-events` flags); 0 collects nothing.
    pub notify_flags: u32,
    /// Events collected.
    pub events: Vec<Event>,
    /// Whether to collect touched keys (someone WATCHes or is blocked).
    pub track_touched: bool,
    /// Keys modified, for WATCH and blocked clients.
    pub touched: Vec<(usize, Vec<u8>)>,
    /// Databases emptied wholesale (FLUSHDB/FLUSHALL/SWAPDB), or `usize::MAX` entries for all.
    pub flushed_dbs: Vec<usize>,
    /// The whole keyspace was flushed (FLUSHALL or `allkeys-flush` eviction).
    pub flushed: bool,
    /// Keys deleted by expiry or eviction along the way, (db, key): logged to the AOF as DEL before the command.
    pub expired: Vec<(usize, Vec<u8>)>,
    /// For AOF: the commands to log instead of the received argv (Redis's `alsoPropagate` /
    /// `rewriteClientCommandVector`), when the command is not deterministic as sent.
    pub rewritten: Option<Vec<Vec<Vec<u8>>>>,
    /// Set by the server: a blocking command (BLPOP...) that finds nothing may block (false inside MULTI,
    /// while loading, and when retried for a timeout).
    pub may_block: bool,
    /// Set by the server when it re-runs a blocked client's command because a key it waits on changed: a
    /// waited-on key that now holds another type is then skipped (Redis serves a waiter only from a key of
    /// its type) instead of replying WRONGTYPE.
    pub blocked_retry: bool,
    /// Set by the server when a script runs the command (Redis's `CLIENT_SCRIPT` caller): SORT then orders a
    /// set it would leave unsorted (BY a constant), so the script sees a deterministic reply.
    pub from_script: bool,
    /// Set by a blocking command that found nothing: the keys it waits on and its deadline.
    pub block: Option<BlockOn>,
    /// With [`Effects::block`]: the command to run again when a key is ready, when it differs from the one
    /// received (XREAD's `$` resolved at block time, for instance).
    pub block_argv: Option<Vec<Vec<u8>>>,
    /// The error replies written, each with its text (no `-`, no CRLF), recorded where they are produced: by
    /// [`Ctx::error`] and the other `Ctx` error helpers (write errors through them, not `reply::error`). The
    /// server counts them (`total_error_replies`) and files them by code (INFO errorstats).
    pub errors: Vec<Vec<u8>>,
}

/// What a blocked client waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockOn {
    /// Keys (in the client's db) whose change may serve it.
    pub keys: Vec<Vec<u8>>,
    /// Unix ms after which it gets a null reply; `None` waits forever.
    pub deadline_ms: Option<i64>,
}

impl Effects {
    /// Records a keyspace event if its class is enabled.
    #[inline]
    pub fn notify(&mut self, class: u32, name: &'static str, db: usize, key: &[u8]) {
        if self.notify_flags & class != 0 {
            self.events.push(Event {
                class,
                name,
                db,
                key: key.to_vec(),
            });
        }
    }

    /// Records a modified key for WATCH and blocked clients.
    #[inline]
    pub fn touch(&mut self, db: usize, key: &[u8]) {
        if self.track_touched {
            self.touched.push((db, key.to_vec()));
        }
    }

    /// A change: dirty, touched, and an event.
    #[inline]
    pub fn changed(&mut self, class: u32, name: &'static str, db: usize, key: &[u8]) {
        self.dirty += 1;
        self.touch(db, key);
        self.notify(class, name, db, key);
    }

    /// Logs `commands` to the AOF instead of the argv.
    pub fn rewrite(&mut self, command: Vec<Vec<u8>>) {
        self.rewritten.get_or_insert_with(Vec::new).push(command);
    }

    /// Clears per-command state, keeping allocations.
    pub fn reset(&mut self) {
        self.dirty = 0;
        self.events.clear();
        self.touched.clear();
        self.flushed_dbs.clear();
        self.flushed = false;
        self.rewritten = None;
        self.block = None;
        self.block_argv = None;
        self.may_block = false;
        self.blocked_retry = false;
        self.from_script = false;
        self.expired.clear();
        self.errors.clear();
    }
}

/// Everything a handler sees of the request.
pub struct Ctx<'a> {
    /// The command name and its arguments (arity already checked).
    pub argv: &'a [&'a [u8]],
    /// Where the reply goes.
    pub out: &'a mut Vec<u8>,
    /// The client's protocol.
    pub proto: Protocol,
    /// The client's selected database.
    pub db: usize,
    /// The command's time snapshot (unix ms).
    pub now_ms: i64,
    /// Side effects.
    pub fx: &'a mut Effects,
}

/// `bytes` as C's `%s` prints it: up to the first NUL.
pub fn c_string(bytes: &[u8]) -> &[u8] {
    bytes.split(|&b| b == 0).next().unwrap_or_default()
}

impl Ctx<'_> {
    /// Writes an error reply.
    pub fn error(&mut self, text: &[u8]) {
        self.fx.errors.push(text.to_vec());
        reply::error(self.out, text);
    }

    /// Writes an error built as Redis's `addReplyErrorFormat` builds one from `%s` arguments: the
    /// `pieces` alternate literal text and client bytes (`[text, arg, text, arg, ..]`), and each
    /// argument is printed as a C string, its raw bytes up to the first NUL (never re-encoded).
    pub fn error_c_format(&mut self, pieces: &[&[u8]]) {
        let mut text = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            if i % 2 == 1 {
                text.extend_from_slice(c_string(piece));
            } else {
                text.extend_from_slice(piece);
            }
        }
        self.error(&text);
    }

    /// Writes `ERR invalid expire time in '<command>' command`.
    pub fn invalid_expire(&mut self) {
        let name = String::from_utf8_lossy(self.argv[0]).to_ascii_lowercase();
        self.error(format!("ERR invalid expire time in '{name}' command").as_bytes());
    }

    /// Parses argument `idx` as an integer, or replies the integer error.
    pub fn int_arg(&mut self, idx: usize) -> Option<i64> {
        let parsed = crate::num::parse_i64_exact(self.argv[idx]);
        if parsed.is_none() {
            self.error(NOT_INTEGER);
        }
        parsed
    }
}

/// Whether the entry holds a string (of either encoding).
pub fn is_string(entry: EntryPtr) -> bool {
    matches!(entry.payload(), Payload::Str(_) | Payload::Int(_))
}

/// Writes a string entry's value as a bulk reply.
pub fn reply_string(out: &mut Vec<u8>, entry: EntryPtr) {
    match entry.payload() {
        Payload::Str(bytes) => reply::bulk(out, bytes),
        Payload::Int(n) => reply::bulk_int(out, n),
        Payload::Object(..) => debug_assert!(false, "reply_string on a collection"),
    }
}

/// Replies `-OOM` for a failed write.
pub fn reply_oom(ctx: &mut Ctx<'_>, _oom: Oom) {
    ctx.error(OOM);
}

/// Looks up a key for reading in the client's db; counts hit/miss.
pub fn read<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    key: &[u8],
) -> Option<EntryPtr> {
    ks.lookup_read(ctx.db, key, ctx.now_ms, ctx.fx)
}

/// [`read`] that leaves the key's access clock alone (Redis's LOOKUP_NOTOUCH: TTL, TYPE, EXISTS).
pub fn read_notouch<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    key: &[u8],
) -> Option<EntryPtr> {
    let flags = crate::ReadFlags {
        no_touch: true,
        no_notify: false,
    };
    ks.lookup_read_with(ctx.db, key, ctx.now_ms, ctx.fx, flags)
}

/// Looks up a key for writing in the client's db.
pub fn write<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    key: &[u8],
) -> Option<EntryPtr> {
    ks.lookup(ctx.db, key, ctx.now_ms, ctx.fx)
}
