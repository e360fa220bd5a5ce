//! The command table: the single source of truth for dispatch, arity errors and COMMAND's answers.
//!
//! Names, arity, flags, key positions, groups, summaries and ACL categories are Redis 7.0's, generated from a
//! running redis-server 7.0 by `scripts/gen-command-table.py` (COMMAND INFO / COMMAND DOCS); handlers are
//! written by hand. Lookup lowercases the name into a stack buffer: no allocation per command.

use crate::server::Core;
use crate::{clients, conn, debug_cmds, introspect, memory_cmds, Strategy};
use zedis_keyspace::commands::{expire, keys, strings, Handler as KvHandler};

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
/// Refused while the dataset loads asynchronously (Redis's `no_async_loading`; shown by COMMAND INFO).
pub const NO_ASYNC_LOADING: u32 = 1 << 18;
/// Served for an importing slot after ASKING (Redis's `asking`, RESTORE-ASKING; shown by COMMAND INFO).
pub const ASKING: u32 = 1 << 19;

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
const INTERNAL_FLAGS: &[(&str, u32)] = &[
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
    // Redis 7.0's `no_async_loading` and `asking` flags (COMMAND INFO shows them).
    ("bgrewriteaof", NO_ASYNC_LOADING),
    ("bgsave", NO_ASYNC_LOADING),
    ("save", NO_ASYNC_LOADING),
    ("psync", NO_ASYNC_LOADING),
    ("sync", NO_ASYNC_LOADING),
    ("replicaof", NO_ASYNC_LOADING),
    ("slaveof", NO_ASYNC_LOADING),
    ("cluster|addslots", NO_ASYNC_LOADING),
    ("cluster|addslotsrange", NO_ASYNC_LOADING),
    ("cluster|bumpepoch", NO_ASYNC_LOADING),
    ("cluster|delslots", NO_ASYNC_LOADING),
    ("cluster|delslotsrange", NO_ASYNC_LOADING),
    ("cluster|failover", NO_ASYNC_LOADING),
    ("cluster|flushslots", NO_ASYNC_LOADING),
    ("cluster|forget", NO_ASYNC_LOADING),
    ("cluster|meet", NO_ASYNC_LOADING),
    ("cluster|replicate", NO_ASYNC_LOADING),
    ("cluster|saveconfig", NO_ASYNC_LOADING),
    ("cluster|set-config-epoch", NO_ASYNC_LOADING),
    ("cluster|setslot", NO_ASYNC_LOADING),
    ("restore-asking", ASKING),
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
    (ASKING, "asking"),
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
    (NO_MANDATORY_KEYS, "no_mandatory_keys"),
    (NO_ASYNC_LOADING, "no_async_loading"),
    (NO_MULTI, "no_multi"),
    (MOVABLE_KEYS, "movablekeys"),
    (ALLOW_BUSY, "allow_busy"),
];

/// A server-level handler: the core, the client's slot key, the argv.
pub type ServerHandler<S> = fn(&mut Core<S>, usize, &[&[u8]]);

/// What runs a command.
pub enum Handler<S: Strategy> {
    /// A keyspace command.
    Kv(KvHandler<S::Kv>),
    /// A server command (connection, introspection, pub/sub...).
    Srv(ServerHandler<S>),
    /// A container: dispatch on the subcommand.
    Container,
}

/// One command (or subcommand: `name` is then `parent|sub`).
pub struct Command<S: Strategy> {
    /// Lowercase full name.
    pub name: &'static str,
    /// Redis arity: positive = exact argc, negative = at least -arity.
    pub arity: i32,
    /// Flag bits.
    pub flags: u32,
    /// First key, last key (negative counts from the end), step.
    pub keys: (i32, i32, i32),
    /// COMMAND DOCS group.
    pub group: &'static str,
    /// Version that introduced it.
    pub since: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Time complexity.
    pub complexity: &'static str,
    /// ACL categories, space separated (`@read @string @fast`).
    pub acl: &'static str,
    /// Command tips, space separated.
    pub tips: &'static str,
    /// The handler.
    pub handler: Handler<S>,
    /// Subcommands of a container.
    pub subcommands: Vec<Command<S>>,
    /// Position in the table, set by [`Table::new`]: [`Table::by_id`] finds the command again without a name
    /// lookup (a blocked client keeps it to be retried).
    pub id: CommandId,
    /// Its counters in the observability engine's [`zedis_observe::CommandStats`], registered by
    /// [`Table::new_with_stats`] (`None` only before that).
    pub slot: Option<zedis_observe::CommandSlot>,
}

/// Where a command sits in the table: top-level index and subcommand index + 1 (0 for the command itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommandId {
    top: u16,
    sub: u16,
}

impl CommandId {
    /// The id as one integer (for queues that store commands as bytes).
    pub fn to_bits(self) -> u32 {
        (u32::from(self.top) << 16) | u32::from(self.sub)
    }

    /// The top-level command's index in the table.
    pub fn top(self) -> usize {
        usize::from(self.top)
    }

    /// The subcommand's index + 1 (0 for a top-level command).
    pub fn sub(self) -> usize {
        usize::from(self.sub)
    }

    /// The id [`CommandId::to_bits`] encoded.
    pub fn from_bits(bits: u32) -> CommandId {
        CommandId {
            top: (bits >> 16) as u16,
            sub: bits as u16,
        }
    }
}

impl<S: Strategy> Command<S> {
    fn subs(mut self, subcommands: Vec<Command<S>>) -> Self {
        self.subcommands = subcommands;
        self
    }

    /// Whether `argc` arguments (name included) satisfy the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let arity = self.arity as i64;
        (arity >= 0 && argc as i64 == arity) || (arity < 0 && argc as i64 >= -arity)
    }

    /// The subcommand named `sub` (case-insensitive).
    pub fn subcommand(&self, sub: &[u8]) -> Option<&Command<S>> {
        self.subcommands.iter().find(|c| {
            c.name
                .split('|')
                .nth(1)
                .is_some_and(|n| n.as_bytes().eq_ignore_ascii_case(sub))
        })
    }

    /// Whether the command has `flag`.
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
}

#[allow(clippy::too_many_arguments)]
fn cmd<S: Strategy>(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i32, i32, i32),
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    complexity: &'static str,
    acl: &'static str,
    tips: &'static str,
    handler: Handler<S>,
) -> Command<S> {
    Command {
        name,
        arity,
        flags,
        keys,
        group,
        since,
        summary,
        complexity,
        acl,
        tips,
        handler,
        subcommands: Vec::new(),
        id: CommandId::default(),
        slot: None,
    }
}

fn kv<S: Strategy>(handler: KvHandler<S::Kv>) -> Handler<S> {
    Handler::Kv(handler)
}

fn srv<S: Strategy>(handler: ServerHandler<S>) -> Handler<S> {
    Handler::Srv(handler)
}

/// All commands, with a name index.
pub struct Table<S: Strategy> {
    commands: Vec<Command<S>>,
    index: hashbrown::HashMap<&'static str, usize>,
}

/// Longest command name Zedis knows, for the stack lowercase buffer.
const NAME_BYTES_MAX: usize = 32;

impl<S: Strategy> Table<S> {
    /// The table, built once at startup.
    pub fn new() -> Self {
        Self::new_with_stats().0
    }

    /// The table and the command counters every row (and subcommand) is registered in: each row keeps its
    /// [`Command::slot`] (containers before their subcommands, as INFO commandstats lists them).
    pub fn new_with_stats() -> (Self, zedis_observe::CommandStats) {
        let mut stats = zedis_observe::CommandStats::new();
        let mut commands = base_commands::<S>();
        for (top, command) in commands.iter_mut().enumerate() {
            command.id = CommandId {
                top: top as u16,
                sub: 0,
            };
            command.slot = Some(stats.register(command.name));
            for (sub, subcommand) in command.subcommands.iter_mut().enumerate() {
                subcommand.id = CommandId {
                    top: top as u16,
                    sub: sub as u16 + 1,
                };
                subcommand.slot = Some(stats.register(subcommand.name));
                if let Some(&(_, flags)) =
                    INTERNAL_FLAGS.iter().find(|(n, _)| *n == subcommand.name)
                {
                    subcommand.flags |= flags;
                }
            }
            if let Some(&(_, flags)) = INTERNAL_FLAGS.iter().find(|(n, _)| *n == command.name) {
                command.flags |= flags;
            }
        }
        let index = commands
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name, i))
            .collect();
        (Table { commands, index }, stats)
    }

    /// The command named `name` (case-insensitive).
    pub fn lookup(&self, name: &[u8]) -> Option<&Command<S>> {
        if name.len() > NAME_BYTES_MAX {
            return None;
        }
        let mut buf = [0u8; NAME_BYTES_MAX];
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        let name = std::str::from_utf8(lower).ok()?;
        self.index.get(name).map(|&i| &self.commands[i])
    }

    /// The command with id `id` (from [`Command::id`]).
    pub fn by_id(&self, id: CommandId) -> Option<&Command<S>> {
        let top = self.commands.get(id.top as usize)?;
        match id.sub {
            0 => Some(top),
            sub => top.subcommands.get(sub as usize - 1),
        }
    }

    /// Every top-level command.
    pub fn all(&self) -> &[Command<S>] {
        &self.commands
    }
}

impl<S: Strategy> Default for Table<S> {
    fn default() -> Self {
        Self::new()
    }
}

/// The rows generated from Redis 7.0 (see the module docs).
fn base_commands<S: Strategy>() -> Vec<Command<S>> {
    vec![
        cmd("get", 2, READONLY | FAST, (1, 1, 1), "string", "1.0.0", "Get the value of a key", "O(1)", "@read @string @fast", "", kv(strings::get)),
        cmd("set", -3, WRITE | DENYOOM, (1, 1, 1), "string", "1.0.0", "Set the string value of a key", "O(1)", "@write @string @slow", "", kv(strings::set)),
        cmd("setnx", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "1.0.0", "Set the value of a key, only if the key does not exist", "O(1)", "@write @string @fast", "", kv(strings::setnx)),
        cmd("setex", 4, WRITE | DENYOOM, (1, 1, 1), "string", "2.0.0", "Set the value and expiration of a key", "O(1)", "@write @string @slow", "", kv(strings::setex)),
        cmd("psetex", 4, WRITE | DENYOOM, (1, 1, 1), "string", "2.6.0", "Set the value and expiration in milliseconds of a key", "O(1)", "@write @string @slow", "", kv(strings::setex)),
        cmd("getset", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "1.0.0", "Set the string value of a key and return its old value", "O(1)", "@write @string @fast", "", kv(strings::getset)),
        cmd("getdel", 2, WRITE | FAST, (1, 1, 1), "string", "6.2.0", "Get the value of a key and delete the key", "O(1)", "@write @string @fast", "", kv(strings::getdel)),
        cmd("getex", -2, WRITE | FAST, (1, 1, 1), "string", "6.2.0", "Get the value of a key and optionally set its expiration", "O(1)", "@write @string @fast", "", kv(strings::getex)),
        cmd("mget", -2, READONLY | FAST, (1, -1, 1), "string", "1.0.0", "Get the values of all the given keys", "O(N) where N is the number of keys to retrieve.", "@read @string @fast", "request_policy:multi_shard", kv(strings::mget)),
        cmd("mset", -3, WRITE | DENYOOM, (1, -1, 2), "string", "1.0.1", "Set multiple keys to multiple values", "O(N) where N is the number of keys to set.", "@write @string @slow", "request_policy:multi_shard response_policy:all_succeeded", kv(strings::mset)),
        cmd("msetnx", -3, WRITE | DENYOOM, (1, -1, 2), "string", "1.0.1", "Set multiple keys to multiple values, only if none of the keys exist", "O(N) where N is the number of keys to set.", "@write @string @slow", "request_policy:multi_shard response_policy:agg_min", kv(strings::mset)),
        cmd("incr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "1.0.0", "Increment the integer value of a key by one", "O(1)", "@write @string @fast", "", kv(strings::incr)),
        cmd("decr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "1.0.0", "Decrement the integer value of a key by one", "O(1)", "@write @string @fast", "", kv(strings::incr)),
        cmd("incrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "1.0.0", "Increment the integer value of a key by the given amount", "O(1)", "@write @string @fast", "", kv(strings::incrby)),
        cmd("decrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "1.0.0", "Decrement the integer value of a key by the given number", "O(1)", "@write @string @fast", "", kv(strings::incrby)),
        cmd("incrbyfloat", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "2.6.0", "Increment the float value of a key by the given amount", "O(1)", "@write @string @fast", "", kv(strings::incrbyfloat)),
        cmd("append", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "2.0.0", "Append a value to a key", "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.", "@write @string @fast", "", kv(strings::append)),
        cmd("strlen", 2, READONLY | FAST, (1, 1, 1), "string", "2.2.0", "Get the length of the value stored in a key", "O(1)", "@read @string @fast", "", kv(strings::strlen)),
        cmd("getrange", 4, READONLY, (1, 1, 1), "string", "2.4.0", "Get a substring of the string stored at a key", "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.", "@read @string @slow", "", kv(strings::getrange)),
        cmd("setrange", 4, WRITE | DENYOOM, (1, 1, 1), "string", "2.2.0", "Overwrite part of a string at key starting at the specified offset", "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.", "@write @string @slow", "", kv(strings::setrange)),
        cmd("del", -2, WRITE, (1, -1, 1), "generic", "1.0.0", "Delete a key", "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).", "@keyspace @write @slow", "request_policy:multi_shard response_policy:agg_sum", kv(keys::del)),
        cmd("exists", -2, READONLY | FAST, (1, -1, 1), "generic", "1.0.0", "Determine if a key exists", "O(N) where N is the number of keys to check.", "@keyspace @read @fast", "request_policy:multi_shard response_policy:agg_sum", kv(keys::exists)),
        cmd("touch", -2, READONLY | FAST, (1, -1, 1), "generic", "3.2.1", "Alters the last access time of a key(s). Returns the number of existing keys specified.", "O(N) where N is the number of keys that will be touched.", "@keyspace @read @fast", "request_policy:multi_shard response_policy:agg_sum", kv(keys::touch)),
        cmd("keys", 2, READONLY, (0, 0, 0), "generic", "1.0.0", "Find all keys matching the given pattern", "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.", "@keyspace @read @slow @dangerous", "request_policy:all_shards nondeterministic_output_order", kv(keys::keys)),
        cmd("scan", -2, READONLY, (0, 0, 0), "generic", "2.8.0", "Incrementally iterate the keys space", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", "@keyspace @read @slow", "nondeterministic_output request_policy:special", kv(keys::scan)),
        cmd("randomkey", 1, READONLY, (0, 0, 0), "generic", "1.0.0", "Return a random key from the keyspace", "O(1)", "@keyspace @read @slow", "request_policy:all_shards nondeterministic_output", kv(keys::randomkey)),
        cmd("rename", 3, WRITE, (1, 2, 1), "generic", "1.0.0", "Rename a key", "O(1)", "@keyspace @write @slow", "", kv(keys::rename)),
        cmd("copy", -3, WRITE | DENYOOM, (1, 2, 1), "generic", "6.2.0", "Copy a key", "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.", "@keyspace @write @slow", "", kv(keys::copy)),
        cmd("dump", 2, READONLY, (1, 1, 1), "generic", "2.6.0", "Return a serialized version of the value stored at the specified key.", "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).", "@keyspace @read @slow", "nondeterministic_output", kv(zedis_keyspace::commands::dump_restore::dump)),
        cmd("restore", -4, WRITE | DENYOOM, (1, 1, 1), "generic", "2.6.0", "Create a key using the provided serialized value, previously obtained using DUMP.", "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).", "@keyspace @write @slow @dangerous", "", kv(zedis_keyspace::commands::dump_restore::restore)),
        cmd("save", 1, ADMIN | NOSCRIPT | NO_MULTI, (0, 0, 0), "server", "1.0.0", "Synchronously save the dataset to disk", "O(N) where N is the total number of keys in all databases", "@admin @slow @dangerous", "", srv(crate::rdb_save::save)),
        cmd("bgsave", -1, ADMIN | NOSCRIPT, (0, 0, 0), "server", "1.0.0", "Asynchronously save the dataset to disk", "O(1)", "@admin @slow @dangerous", "", srv(crate::persist::commands::bgsave)),
        cmd("lastsave", 1, LOADING | STALE | FAST, (0, 0, 0), "server", "1.0.0", "Get the UNIX time stamp of the last successful save to disk", "O(1)", "@admin @fast @dangerous", "nondeterministic_output", srv(crate::persist::commands::lastsave)),
        cmd("debug", -2, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "1.0.0", "A container for debugging commands", "Depends on subcommand.", "@admin @slow @dangerous", "", srv(debug_cmds::debug)),
        cmd("lolwut", -1, READONLY | FAST, (0, 0, 0), "server", "5.0.0", "Display some computer art and the Redis version", "", "@read @fast", "", srv(debug_cmds::lolwut)),
        cmd("replconf", -1, ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY, (0, 0, 0), "server", "3.0.0", "An internal command for configuring the replication stream", "O(1)", "@admin @slow @dangerous", "", srv(crate::repl::master::replconf)),
        cmd("psync", -3, ADMIN | NOSCRIPT | NO_MULTI, (0, 0, 0), "server", "2.8.0", "Internal command used for replication", "", "@admin @slow @dangerous", "", srv(crate::repl::master::psync)),
        cmd("sync", 1, ADMIN | NOSCRIPT | NO_MULTI, (0, 0, 0), "server", "1.0.0", "Internal command used for replication", "", "@admin @slow @dangerous", "", srv(crate::repl::master::sync)),
        cmd("replicaof", 3, ADMIN | NOSCRIPT | STALE, (0, 0, 0), "server", "5.0.0", "Make the server a replica of another instance, or promote it as master.", "O(1)", "@admin @slow @dangerous", "", srv(crate::repl::commands::replicaof)),
        cmd("slaveof", 3, ADMIN | NOSCRIPT | STALE, (0, 0, 0), "server", "1.0.0", "Make the server a replica of another instance, or promote it as master.", "O(1)", "@admin @slow @dangerous", "", srv(crate::repl::commands::replicaof)),
        cmd("failover", -1, ADMIN | NOSCRIPT | STALE, (0, 0, 0), "server", "6.2.0", "Start a coordinated failover between this server and one of its replicas.", "O(1)", "@admin @slow @dangerous", "", srv(crate::repl::failover::failover)),
        cmd("role", 1, NOSCRIPT | LOADING | STALE | FAST, (0, 0, 0), "server", "2.8.12", "Return the role of the instance in the context of replication", "O(1)", "@admin @fast @dangerous", "", srv(crate::repl::commands::role)),
        cmd("wait", 3, NOSCRIPT, (0, 0, 0), "generic", "3.0.0", "Wait for the synchronous replication of all the write commands sent in the context of the current connection", "O(1)", "@slow @connection", "request_policy:all_shards response_policy:agg_min", srv(crate::repl::master::wait)),
        cmd("dbsize", 1, READONLY | FAST, (0, 0, 0), "server", "1.0.0", "Return the number of keys in the selected database", "O(1)", "@keyspace @read @fast", "request_policy:all_shards response_policy:agg_sum", kv(keys::dbsize)),
        cmd("flushdb", -1, WRITE, (0, 0, 0), "server", "1.0.0", "Remove all keys from the current database", "O(N) where N is the number of keys in the selected database", "@keyspace @write @slow @dangerous", "request_policy:all_shards response_policy:all_succeeded", kv(keys::flushdb)),
        cmd("flushall", -1, WRITE, (0, 0, 0), "server", "1.0.0", "Remove all keys from all databases", "O(N) where N is the total number of keys in all databases", "@keyspace @write @slow @dangerous", "request_policy:all_shards response_policy:all_succeeded", kv(keys::flushall)),
        cmd("swapdb", 3, WRITE | FAST, (0, 0, 0), "server", "4.0.0", "Swaps two Redis databases", "O(N) where N is the count of clients watching or blocking on keys from both databases.", "@keyspace @write @fast @dangerous", "", kv(keys::swapdb)),
        cmd("unlink", -2, WRITE | FAST, (1, -1, 1), "generic", "4.0.0", "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.", "@keyspace @write @fast", "request_policy:multi_shard response_policy:agg_sum", kv(keys::del)),
        cmd("renamenx", 3, WRITE | FAST, (1, 2, 1), "generic", "1.0.0", "Rename a key, only if the new key does not exist", "O(1)", "@keyspace @write @fast", "", kv(keys::rename)),
        cmd("type", 2, READONLY | FAST, (1, 1, 1), "generic", "1.0.0", "Determine the type stored at key", "O(1)", "@keyspace @read @fast", "", kv(keys::type_)),
        cmd("move", 3, WRITE | FAST, (1, 1, 1), "generic", "1.0.0", "Move a key to another database", "O(1)", "@keyspace @write @fast", "", kv(keys::move_)),
        cmd("object", -2, 0, (0, 0, 0), "generic", "2.2.3", "A container for object introspection commands", "Depends on subcommand.", "@slow", "", Handler::Container).subs(vec![
        cmd("object|encoding", 3, READONLY, (2, 2, 1), "generic", "2.2.3", "Inspect the internal encoding of a Redis object", "O(1)", "@keyspace @read @slow", "nondeterministic_output", kv(keys::object)),
        cmd("object|freq", 3, READONLY, (2, 2, 1), "generic", "4.0.0", "Get the logarithmic access frequency counter of a Redis object", "O(1)", "@keyspace @read @slow", "nondeterministic_output", kv(keys::object)),
        cmd("object|idletime", 3, READONLY, (2, 2, 1), "generic", "2.2.3", "Get the time since a Redis object was last accessed", "O(1)", "@keyspace @read @slow", "nondeterministic_output", kv(keys::object)),
        cmd("object|refcount", 3, READONLY, (2, 2, 1), "generic", "2.2.3", "Get the number of references to the value of the key", "O(1)", "@keyspace @read @slow", "nondeterministic_output", kv(keys::object)),
        cmd("object|help", 2, LOADING | STALE, (0, 0, 0), "generic", "6.2.0", "Show helpful text about the different subcommands", "O(1)", "@keyspace @slow", "", kv(keys::object)),
        ]),
        cmd("expire", -3, WRITE | FAST, (1, 1, 1), "generic", "1.0.0", "Set a key's time to live in seconds", "O(1)", "@keyspace @write @fast", "", kv(expire::expire)),
        cmd("pexpire", -3, WRITE | FAST, (1, 1, 1), "generic", "2.6.0", "Set a key's time to live in milliseconds", "O(1)", "@keyspace @write @fast", "", kv(expire::expire)),
        cmd("expireat", -3, WRITE | FAST, (1, 1, 1), "generic", "1.2.0", "Set the expiration for a key as a UNIX timestamp", "O(1)", "@keyspace @write @fast", "", kv(expire::expire)),
        cmd("pexpireat", -3, WRITE | FAST, (1, 1, 1), "generic", "2.6.0", "Set the expiration for a key as a UNIX timestamp specified in milliseconds", "O(1)", "@keyspace @write @fast", "", kv(expire::expire)),
        cmd("ttl", 2, READONLY | FAST, (1, 1, 1), "generic", "1.0.0", "Get the time to live for a key in seconds", "O(1)", "@keyspace @read @fast", "nondeterministic_output", kv(expire::ttl)),
        cmd("pttl", 2, READONLY | FAST, (1, 1, 1), "generic", "2.6.0", "Get the time to live for a key in milliseconds", "O(1)", "@keyspace @read @fast", "nondeterministic_output", kv(expire::ttl)),
        cmd("expiretime", 2, READONLY | FAST, (1, 1, 1), "generic", "7.0.0", "Get the expiration Unix timestamp for a key", "O(1)", "@keyspace @read @fast", "", kv(expire::ttl)),
        cmd("pexpiretime", 2, READONLY | FAST, (1, 1, 1), "generic", "7.0.0", "Get the expiration Unix timestamp for a key in milliseconds", "O(1)", "@keyspace @read @fast", "", kv(expire::ttl)),
        cmd("persist", 2, WRITE | FAST, (1, 1, 1), "generic", "2.2.0", "Remove the expiration from a key", "O(1)", "@keyspace @write @fast", "", kv(expire::persist)),
        cmd("ping", -1, FAST, (0, 0, 0), "connection", "1.0.0", "Ping the server", "O(1)", "@fast @connection", "request_policy:all_shards response_policy:all_succeeded", srv(conn::ping)),
        cmd("echo", 2, LOADING | STALE | FAST, (0, 0, 0), "connection", "1.0.0", "Echo the given string", "O(1)", "@fast @connection", "", srv(conn::echo)),
        cmd("quit", -1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, (0, 0, 0), "connection", "1.0.0", "Close the connection", "O(1)", "@fast @connection", "", srv(conn::quit)),
        cmd("hello", -1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, (0, 0, 0), "connection", "6.0.0", "Handshake with Redis", "O(1)", "@fast @connection", "", srv(conn::hello)),
        cmd("select", 2, LOADING | STALE | FAST, (0, 0, 0), "connection", "1.0.0", "Change the selected database for the current connection", "O(1)", "@fast @connection", "", srv(conn::select)),
        cmd("reset", 1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, (0, 0, 0), "connection", "6.2.0", "Reset the connection", "O(1)", "@fast @connection", "", srv(conn::reset)),
        cmd("info", -1, LOADING | STALE, (0, 0, 0), "server", "1.0.0", "Get information and statistics about the server", "O(1)", "@slow @dangerous", "nondeterministic_output request_policy:all_shards response_policy:special", srv(conn::info)),
        cmd("time", 1, LOADING | STALE | FAST, (0, 0, 0), "server", "2.6.0", "Return the current server time", "O(1)", "@fast", "nondeterministic_output", srv(conn::time)),
        cmd("shutdown", -1, ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY, (0, 0, 0), "server", "1.0.0", "Synchronously save the dataset to disk and then shut down the server", "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)", "@admin @slow @dangerous", "", srv(crate::persist::shutdown::shutdown)),
        cmd("client", -2, 0, (0, 0, 0), "connection", "2.4.0", "A container for client connection commands", "Depends on subcommand.", "@slow", "", Handler::Container).subs(vec![
        cmd("client|id", 2, NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "5.0.0", "Returns the client ID for the current connection", "O(1)", "@slow @connection", "", srv(clients::id)),
        cmd("client|setname", 3, NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "2.6.9", "Set the current connection name", "O(1)", "@slow @connection", "", srv(clients::setname)),
        cmd("client|getname", 2, NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "2.6.9", "Get the current connection name", "O(1)", "@slow @connection", "", srv(clients::getname)),
        cmd("client|list", -2, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "2.4.0", "Get the list of client connections", "O(N) where N is the number of client connections", "@admin @slow @dangerous @connection", "nondeterministic_output", srv(clients::list)),
        cmd("client|info", 2, NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "6.2.0", "Returns information about the current client connection.", "O(1)", "@slow @connection", "nondeterministic_output", srv(clients::info)),
        cmd("client|kill", -3, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "2.4.0", "Kill the connection of a client", "O(N) where N is the number of client connections", "@admin @slow @dangerous @connection", "", srv(clients::kill)),
        cmd("client|pause", -3, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "2.9.50", "Stop processing commands from clients for some time", "O(1)", "@admin @slow @dangerous @connection", "", srv(crate::pause::client_pause)),
        cmd("client|unpause", 2, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "6.2.0", "Resume processing of clients that were paused", "O(N) Where N is the number of paused clients", "@admin @slow @dangerous @connection", "", srv(clients::unpause)),
        cmd("client|reply", 3, NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "3.2.0", "Instruct the server whether to reply to commands", "O(1)", "@slow @connection", "", srv(clients::reply)),
        cmd("client|no-evict", 3, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "7.0.0", "Set client eviction mode for the current connection", "O(1)", "@admin @slow @dangerous @connection", "", srv(clients::no_evict)),
        cmd("client|unblock", -3, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "5.0.0", "Unblock a client blocked in a blocking command from a different connection", "O(log N) where N is the number of client connections", "@admin @slow @dangerous @connection", "", srv(crate::blocking::unblock::client_unblock)),
        cmd("client|tracking", -3, NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "6.0.0", "Enable or disable server assisted client side caching support", "O(1). Some options may introduce additional complexity.", "@slow @connection", "", srv(crate::tracking_cmds::tracking)),
        cmd("client|caching", 3, NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "6.0.0", "Instruct the server about tracking or not keys in the next request", "O(1)", "@slow @connection", "", srv(crate::tracking_cmds::caching)),
        cmd("client|getredir", 2, NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "6.0.0", "Get tracking notifications redirection client ID if any", "O(1)", "@slow @connection", "", srv(crate::tracking_cmds::getredir)),
        cmd("client|trackinginfo", 2, NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "6.2.0", "Return information about server assisted client side caching for the current connection", "O(1)", "@slow @connection", "", srv(crate::tracking_cmds::trackinginfo)),
        cmd("client|help", 2, LOADING | STALE, (0, 0, 0), "connection", "5.0.0", "Show helpful text about the different subcommands", "O(1)", "@slow @connection", "", srv(clients::help)),
        ]),
        cmd("command", -1, LOADING | STALE, (0, 0, 0), "server", "2.8.13", "Get array of Redis command details", "O(N) where N is the total number of Redis commands", "@slow @connection", "nondeterministic_output_order", Handler::Container).subs(vec![
        cmd("command|count", 2, LOADING | STALE, (0, 0, 0), "server", "2.8.13", "Get total number of Redis commands", "O(1)", "@slow @connection", "", srv(introspect::command_count)),
        cmd("command|info", -2, LOADING | STALE, (0, 0, 0), "server", "2.8.13", "Get array of specific Redis command details, or all when no argument is given.", "O(N) where N is the number of commands to look up", "@slow @connection", "nondeterministic_output_order", srv(introspect::command_info)),
        cmd("command|docs", -2, LOADING | STALE, (0, 0, 0), "server", "7.0.0", "Get array of specific Redis command documentation", "O(N) where N is the number of commands to look up", "@slow @connection", "nondeterministic_output_order", srv(introspect::command_docs)),
        cmd("command|list", -2, LOADING | STALE, (0, 0, 0), "server", "7.0.0", "Get an array of Redis command names", "O(N) where N is the total number of Redis commands", "@slow @connection", "nondeterministic_output_order", srv(introspect::command_list)),
        cmd("command|getkeys", -4, LOADING | STALE, (0, 0, 0), "server", "2.8.13", "Extract keys given a full Redis command", "O(N) where N is the number of arguments to the command", "@slow @connection", "", srv(introspect::command_getkeys)),
        cmd("command|getkeysandflags", -4, LOADING | STALE, (0, 0, 0), "server", "7.0.0", "Extract keys and access flags given a full Redis command", "O(N) where N is the number of arguments to the command", "@slow @connection", "", srv(introspect::command_getkeysandflags)),
        cmd("command|help", 2, LOADING | STALE, (0, 0, 0), "server", "5.0.0", "Show helpful text about the different subcommands", "O(1)", "@slow @connection", "", srv(introspect::command_help)),
        ]),
        cmd("config", -2, 0, (0, 0, 0), "server", "2.0.0", "A container for server configuration commands", "Depends on subcommand.", "@slow", "", Handler::Container).subs(vec![
        cmd("config|get", -3, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "2.0.0", "Get the values of configuration parameters", "O(N) when N is the number of configuration parameters provided", "@admin @slow @dangerous", "", srv(introspect::config_get)),
        cmd("config|set", -4, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "2.0.0", "Set configuration parameters to the given values", "O(N) when N is the number of configuration parameters provided", "@admin @slow @dangerous", "request_policy:all_nodes response_policy:all_succeeded", srv(introspect::config_set)),
        cmd("config|resetstat", 2, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "2.0.0", "Reset the stats returned by INFO", "O(1)", "@admin @slow @dangerous", "", srv(introspect::config_resetstat)),
        cmd("config|rewrite", 2, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "2.8.0", "Rewrite the configuration file with the in memory configuration", "O(1)", "@admin @slow @dangerous", "", srv(introspect::config_rewrite)),
        cmd("config|help", 2, LOADING | STALE, (0, 0, 0), "server", "5.0.0", "Show helpful text about the different subcommands", "O(1)", "@slow", "", srv(introspect::config_help)),
        ]),
        cmd("cluster", -2, 0, (0, 0, 0), "cluster", "3.0.0", "A container for cluster commands", "Depends on subcommand.", "@slow", "", Handler::Container).subs(vec![
        cmd("cluster|addslots", -3, ADMIN | STALE, (0, 0, 0), "cluster", "3.0.0", "Assign new hash slots to receiving node", "O(N) where N is the total number of hash slot arguments", "@admin @slow @dangerous", "", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|addslotsrange", -4, ADMIN | STALE, (0, 0, 0), "cluster", "7.0.0", "Assign new hash slots to receiving node", "O(N) where N is the total number of the slots between the start slot and end slot arguments.", "@admin @slow @dangerous", "", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|bumpepoch", 2, ADMIN | STALE, (0, 0, 0), "cluster", "3.0.0", "Advance the cluster config epoch", "O(1)", "@admin @slow @dangerous", "nondeterministic_output", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|count-failure-reports", 3, ADMIN | STALE, (0, 0, 0), "cluster", "3.0.0", "Return the number of failure reports active for a given node", "O(N) where N is the number of failure reports", "@admin @slow @dangerous", "nondeterministic_output", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|countkeysinslot", 3, STALE, (0, 0, 0), "cluster", "3.0.0", "Return the number of local keys in the specified hash slot", "O(1)", "@slow", "", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|delslots", -3, ADMIN | STALE, (0, 0, 0), "cluster", "3.0.0", "Set hash slots as unbound in receiving node", "O(N) where N is the total number of hash slot arguments", "@admin @slow @dangerous", "", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|delslotsrange", -4, ADMIN | STALE, (0, 0, 0), "cluster", "7.0.0", "Set hash slots as unbound in receiving node", "O(N) where N is the total number of the slots between the start slot and end slot arguments.", "@admin @slow @dangerous", "", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|failover", -2, ADMIN | STALE, (0, 0, 0), "cluster", "3.0.0", "Forces a replica to perform a manual failover of its master.", "O(1)", "@admin @slow @dangerous", "", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|flushslots", 2, ADMIN | STALE, (0, 0, 0), "cluster", "3.0.0", "Delete a node's own slots information", "O(1)", "@admin @slow @dangerous", "", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|forget", 3, ADMIN | STALE, (0, 0, 0), "cluster", "3.0.0", "Remove a node from the nodes table", "O(1)", "@admin @slow @dangerous", "", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|getkeysinslot", 4, STALE, (0, 0, 0), "cluster", "3.0.0", "Return local key names in the specified hash slot", "O(log(N)) where N is the number of requested keys", "@slow", "nondeterministic_output", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|help", 2, LOADING | STALE, (0, 0, 0), "cluster", "5.0.0", "Show helpful text about the different subcommands", "O(1)", "@slow", "", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|info", 2, STALE, (0, 0, 0), "cluster", "3.0.0", "Provides info about Redis Cluster node state", "O(1)", "@slow", "nondeterministic_output", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|keyslot", 3, STALE, (0, 0, 0), "cluster", "3.0.0", "Returns the hash slot of the specified key", "O(N) where N is the number of bytes in the key", "@slow", "", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|links", 2, STALE, (0, 0, 0), "cluster", "7.0.0", "Returns a list of all TCP links to and from peer nodes in cluster", "O(N) where N is the total number of Cluster nodes", "@slow", "nondeterministic_output", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|meet", -4, ADMIN | STALE, (0, 0, 0), "cluster", "3.0.0", "Force a node cluster to handshake with another node", "O(1)", "@admin @slow @dangerous", "", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|myid", 2, STALE, (0, 0, 0), "cluster", "3.0.0", "Return the node id", "O(1)", "@slow", "", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|nodes", 2, STALE, (0, 0, 0), "cluster", "3.0.0", "Get Cluster config for the node", "O(N) where N is the total number of Cluster nodes", "@slow", "nondeterministic_output", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|replicas", 3, ADMIN | STALE, (0, 0, 0), "cluster", "5.0.0", "List replica nodes of the specified master node", "O(1)", "@admin @slow @dangerous", "nondeterministic_output", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|replicate", 3, ADMIN | STALE, (0, 0, 0), "cluster", "3.0.0", "Reconfigure a node as a replica of the specified master node", "O(1)", "@admin @slow @dangerous", "", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|reset", -2, ADMIN | NOSCRIPT | STALE, (0, 0, 0), "cluster", "3.0.0", "Reset a Redis Cluster node", "O(N) where N is the number of known nodes. The command may execute a FLUSHALL as a side effect.", "@admin @slow @dangerous", "", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|saveconfig", 2, ADMIN | STALE, (0, 0, 0), "cluster", "3.0.0", "Forces the node to save cluster state on disk", "O(1)", "@admin @slow @dangerous", "", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|set-config-epoch", 3, ADMIN | STALE, (0, 0, 0), "cluster", "3.0.0", "Set the configuration epoch in a new node", "O(1)", "@admin @slow @dangerous", "", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|setslot", -4, ADMIN | STALE, (0, 0, 0), "cluster", "3.0.0", "Bind a hash slot to a specific node", "O(1)", "@admin @slow @dangerous", "", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|shards", 2, STALE, (0, 0, 0), "cluster", "7.0.0", "Get array of cluster slots to node mappings", "O(N) where N is the total number of cluster nodes", "@slow", "nondeterministic_output", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|slaves", 3, ADMIN | STALE, (0, 0, 0), "cluster", "3.0.0", "List replica nodes of the specified master node", "O(1)", "@admin @slow @dangerous", "nondeterministic_output", srv(crate::cluster::cluster_cmd)),
        cmd("cluster|slots", 2, STALE, (0, 0, 0), "cluster", "3.0.0", "Get array of Cluster slot to node mappings", "O(N) where N is the total number of Cluster nodes", "@slow", "nondeterministic_output", srv(crate::cluster::cluster_cmd)),
        ]),
        cmd("asking", 1, FAST, (0, 0, 0), "cluster", "3.0.0", "Sent by cluster clients after an -ASK redirect", "O(1)", "@fast @connection", "", srv(crate::cluster::asking)),
        cmd("readonly", 1, LOADING | STALE | FAST, (0, 0, 0), "cluster", "3.0.0", "Enables read queries for a connection to a cluster replica node", "O(1)", "@fast @connection", "", srv(crate::cluster::readonly)),
        cmd("readwrite", 1, LOADING | STALE | FAST, (0, 0, 0), "cluster", "3.0.0", "Disables read queries for a connection to a cluster replica node", "O(1)", "@fast @connection", "", srv(crate::cluster::readwrite)),
        cmd("migrate", -6, WRITE | MOVABLE_KEYS, (3, 3, 1), "generic", "2.6.0", "Atomically transfer a key from a Redis instance to another one.", "This command actually executes a DUMP+DEL in the source instance, and a RESTORE in the target instance. See the pages of these commands for time complexity. Also an O(N) data transfer between the two instances is performed.", "@keyspace @write @slow @dangerous", "nondeterministic_output", srv(crate::cluster::migrate)),
        cmd("restore-asking", -4, WRITE | DENYOOM, (1, 1, 1), "server", "3.0.0", "An internal command for migrating keys in a cluster", "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).", "@keyspace @write @slow @dangerous", "", kv(zedis_keyspace::commands::dump_restore::restore)),
        cmd("memory", -2, 0, (0, 0, 0), "server", "4.0.0", "A container for memory diagnostics commands", "Depends on subcommand.", "@slow", "", Handler::Container).subs(vec![
        cmd("memory|usage", -3, READONLY, (2, 2, 1), "server", "4.0.0", "Estimate the memory usage of a key", "O(N) where N is the number of samples.", "@read @slow", "", srv(introspect::memory_usage)),
        cmd("memory|stats", 2, 0, (0, 0, 0), "server", "4.0.0", "Show memory usage details", "O(1)", "@slow", "nondeterministic_output request_policy:all_shards response_policy:special", srv(memory_cmds::memory_stats)),
        cmd("memory|doctor", 2, 0, (0, 0, 0), "server", "4.0.0", "Outputs memory problems report", "O(1)", "@slow", "nondeterministic_output request_policy:all_shards response_policy:special", srv(memory_cmds::memory_doctor)),
            cmd("memory|malloc-stats", 2, 0, (0, 0, 0), "server", "4.0.0", "Show allocator internal stats", "Depends on how much memory is allocated, could be slow", "@slow", "nondeterministic_output request_policy:all_shards response_policy:special", srv(memory_cmds::memory_malloc_stats)),
        cmd("memory|purge", 2, 0, (0, 0, 0), "server", "4.0.0", "Ask the allocator to release memory", "Depends on how much memory is allocated, could be slow", "@slow", "request_policy:all_shards response_policy:all_succeeded", srv(memory_cmds::memory_purge)),
        cmd("memory|help", 2, LOADING | STALE, (0, 0, 0), "server", "4.0.0", "Show helpful text about the different subcommands", "O(1)", "@slow", "", srv(memory_cmds::memory_help)),
        ]),
        cmd("lpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), "list", "1.0.0", "Prepend one or multiple elements to a list", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "@write @list @fast", "", kv(zedis_keyspace::commands::lists::push)),
        cmd("rpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), "list", "1.0.0", "Append one or multiple elements to a list", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "@write @list @fast", "", kv(zedis_keyspace::commands::lists::push)),
        cmd("lpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), "list", "2.2.0", "Prepend an element to a list, only if the list exists", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "@write @list @fast", "", kv(zedis_keyspace::commands::lists::pushx)),
        cmd("rpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), "list", "2.2.0", "Append an element to a list, only if the list exists", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "@write @list @fast", "", kv(zedis_keyspace::commands::lists::pushx)),
        cmd("lpop", -2, WRITE | FAST, (1, 1, 1), "list", "1.0.0", "Remove and get the first elements in a list", "O(N) where N is the number of elements returned", "@write @list @fast", "", kv(zedis_keyspace::commands::lists::pop)),
        cmd("rpop", -2, WRITE | FAST, (1, 1, 1), "list", "1.0.0", "Remove and get the last elements in a list", "O(N) where N is the number of elements returned", "@write @list @fast", "", kv(zedis_keyspace::commands::lists::pop)),
        cmd("llen", 2, READONLY | FAST, (1, 1, 1), "list", "1.0.0", "Get the length of a list", "O(1)", "@read @list @fast", "", kv(zedis_keyspace::commands::lists::llen)),
        cmd("lrange", 4, READONLY, (1, 1, 1), "list", "1.0.0", "Get a range of elements from a list", "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.", "@read @list @slow", "", kv(zedis_keyspace::commands::lists::lrange)),
        cmd("lindex", 3, READONLY, (1, 1, 1), "list", "1.0.0", "Get an element from a list by its index", "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).", "@read @list @slow", "", kv(zedis_keyspace::commands::lists::lindex)),
        cmd("lset", 4, WRITE | DENYOOM, (1, 1, 1), "list", "1.0.0", "Set the value of an element in a list by its index", "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).", "@write @list @slow", "", kv(zedis_keyspace::commands::lists::lset)),
        cmd("lrem", 4, WRITE, (1, 1, 1), "list", "1.0.0", "Remove elements from a list", "O(N+M) where N is the length of the list and M is the number of elements removed.", "@write @list @slow", "", kv(zedis_keyspace::commands::lists::lrem)),
        cmd("ltrim", 4, WRITE, (1, 1, 1), "list", "1.0.0", "Trim a list to the specified range", "O(N) where N is the number of elements to be removed by the operation.", "@write @list @slow", "", kv(zedis_keyspace::commands::lists::ltrim)),
        cmd("linsert", 5, WRITE | DENYOOM, (1, 1, 1), "list", "2.2.0", "Insert an element before or after another element in a list", "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).", "@write @list @slow", "", kv(zedis_keyspace::commands::lists::linsert)),
        cmd("lpos", -3, READONLY, (1, 1, 1), "list", "6.0.6", "Return the index of matching elements on a list", "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.", "@read @list @slow", "", kv(zedis_keyspace::commands::lists::lpos)),
        cmd("lmove", 5, WRITE | DENYOOM, (1, 2, 1), "list", "6.2.0", "Pop an element from a list, push it to another list and return it", "O(1)", "@write @list @slow", "", kv(zedis_keyspace::commands::lists::lmove)),
        cmd("rpoplpush", 3, WRITE | DENYOOM, (1, 2, 1), "list", "1.2.0", "Remove the last element in a list, prepend it to another list and return it", "O(1)", "@write @list @slow", "", kv(zedis_keyspace::commands::lists::rpoplpush)),
        cmd("lmpop", -4, WRITE | MOVABLE_KEYS, (0, 0, 0), "list", "7.0.0", "Pop elements from a list", "O(N+M) where N is the number of provided keys and M is the number of elements returned.", "@write @list @slow", "", kv(zedis_keyspace::commands::lists::lmpop)),
        cmd("sadd", -3, WRITE | DENYOOM | FAST, (1, 1, 1), "set", "1.0.0", "Add one or more members to a set", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "@write @set @fast", "", kv(zedis_keyspace::commands::sets::sadd)),
        cmd("srem", -3, WRITE | FAST, (1, 1, 1), "set", "1.0.0", "Remove one or more members from a set", "O(N) where N is the number of members to be removed.", "@write @set @fast", "", kv(zedis_keyspace::commands::sets::srem)),
        cmd("smembers", 2, READONLY, (1, 1, 1), "set", "1.0.0", "Get all the members in a set", "O(N) where N is the set cardinality.", "@read @set @slow", "nondeterministic_output_order", kv(zedis_keyspace::commands::sets::smembers)),
        cmd("sismember", 3, READONLY | FAST, (1, 1, 1), "set", "1.0.0", "Determine if a given value is a member of a set", "O(1)", "@read @set @fast", "", kv(zedis_keyspace::commands::sets::sismember)),
        cmd("smismember", -3, READONLY | FAST, (1, 1, 1), "set", "6.2.0", "Returns the membership associated with the given elements for a set", "O(N) where N is the number of elements being checked for membership", "@read @set @fast", "", kv(zedis_keyspace::commands::sets::smismember)),
        cmd("scard", 2, READONLY | FAST, (1, 1, 1), "set", "1.0.0", "Get the number of members in a set", "O(1)", "@read @set @fast", "", kv(zedis_keyspace::commands::sets::scard)),
        cmd("spop", -2, WRITE | FAST, (1, 1, 1), "set", "1.0.0", "Remove and return one or multiple random members from a set", "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.", "@write @set @fast", "nondeterministic_output", kv(zedis_keyspace::commands::sets::spop)),
        cmd("srandmember", -2, READONLY, (1, 1, 1), "set", "1.0.0", "Get one or multiple random members from a set", "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.", "@read @set @slow", "nondeterministic_output", kv(zedis_keyspace::commands::sets::srandmember)),
        cmd("sinter", -2, READONLY, (1, -1, 1), "set", "1.0.0", "Intersect multiple sets", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", "@read @set @slow", "nondeterministic_output_order", kv(zedis_keyspace::commands::sets::sinter)),
        cmd("sunion", -2, READONLY, (1, -1, 1), "set", "1.0.0", "Add multiple sets", "O(N) where N is the total number of elements in all given sets.", "@read @set @slow", "nondeterministic_output_order", kv(zedis_keyspace::commands::sets::sinter)),
        cmd("sdiff", -2, READONLY, (1, -1, 1), "set", "1.0.0", "Subtract multiple sets", "O(N) where N is the total number of elements in all given sets.", "@read @set @slow", "nondeterministic_output_order", kv(zedis_keyspace::commands::sets::sinter)),
        cmd("sinterstore", -3, WRITE | DENYOOM, (1, -1, 1), "set", "1.0.0", "Intersect multiple sets and store the resulting set in a key", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", "@write @set @slow", "", kv(zedis_keyspace::commands::sets::sinterstore)),
        cmd("sunionstore", -3, WRITE | DENYOOM, (1, -1, 1), "set", "1.0.0", "Add multiple sets and store the resulting set in a key", "O(N) where N is the total number of elements in all given sets.", "@write @set @slow", "", kv(zedis_keyspace::commands::sets::sinterstore)),
        cmd("sdiffstore", -3, WRITE | DENYOOM, (1, -1, 1), "set", "1.0.0", "Subtract multiple sets and store the resulting set in a key", "O(N) where N is the total number of elements in all given sets.", "@write @set @slow", "", kv(zedis_keyspace::commands::sets::sinterstore)),
        cmd("sintercard", -3, READONLY | MOVABLE_KEYS, (0, 0, 0), "set", "7.0.0", "Intersect multiple sets and return the cardinality of the result", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", "@read @set @slow", "", kv(zedis_keyspace::commands::sets::sintercard)),
        cmd("smove", 4, WRITE | FAST, (1, 2, 1), "set", "1.0.0", "Move a member from one set to another", "O(1)", "@write @set @fast", "", kv(zedis_keyspace::commands::sets::smove)),
        cmd("sscan", -3, READONLY, (1, 1, 1), "set", "2.8.0", "Incrementally iterate Set elements", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", "@read @set @slow", "nondeterministic_output", kv(zedis_keyspace::commands::sets::sscan)),
        cmd("hset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), "hash", "2.0.0", "Set the string value of a hash field", "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.", "@write @hash @fast", "", kv(zedis_keyspace::commands::hashes::hset)),
        cmd("hsetnx", 4, WRITE | DENYOOM | FAST, (1, 1, 1), "hash", "2.0.0", "Set the value of a hash field, only if the field does not exist", "O(1)", "@write @hash @fast", "", kv(zedis_keyspace::commands::hashes::hsetnx)),
        cmd("hget", 3, READONLY | FAST, (1, 1, 1), "hash", "2.0.0", "Get the value of a hash field", "O(1)", "@read @hash @fast", "", kv(zedis_keyspace::commands::hashes::hget)),
        cmd("hmset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), "hash", "2.0.0", "Set multiple hash fields to multiple values", "O(N) where N is the number of fields being set.", "@write @hash @fast", "", kv(zedis_keyspace::commands::hashes::hmset)),
        cmd("hmget", -3, READONLY | FAST, (1, 1, 1), "hash", "2.0.0", "Get the values of all the given hash fields", "O(N) where N is the number of fields being requested.", "@read @hash @fast", "", kv(zedis_keyspace::commands::hashes::hmget)),
        cmd("hdel", -3, WRITE | FAST, (1, 1, 1), "hash", "2.0.0", "Delete one or more hash fields", "O(N) where N is the number of fields to be removed.", "@write @hash @fast", "", kv(zedis_keyspace::commands::hashes::hdel)),
        cmd("hexists", 3, READONLY | FAST, (1, 1, 1), "hash", "2.0.0", "Determine if a hash field exists", "O(1)", "@read @hash @fast", "", kv(zedis_keyspace::commands::hashes::hexists)),
        cmd("hlen", 2, READONLY | FAST, (1, 1, 1), "hash", "2.0.0", "Get the number of fields in a hash", "O(1)", "@read @hash @fast", "", kv(zedis_keyspace::commands::hashes::hlen)),
        cmd("hgetall", 2, READONLY, (1, 1, 1), "hash", "2.0.0", "Get all the fields and values in a hash", "O(N) where N is the size of the hash.", "@read @hash @slow", "nondeterministic_output_order", kv(zedis_keyspace::commands::hashes::hgetall)),
        cmd("hkeys", 2, READONLY, (1, 1, 1), "hash", "2.0.0", "Get all the fields in a hash", "O(N) where N is the size of the hash.", "@read @hash @slow", "nondeterministic_output_order", kv(zedis_keyspace::commands::hashes::hgetall)),
        cmd("hvals", 2, READONLY, (1, 1, 1), "hash", "2.0.0", "Get all the values in a hash", "O(N) where N is the size of the hash.", "@read @hash @slow", "nondeterministic_output_order", kv(zedis_keyspace::commands::hashes::hgetall)),
        cmd("hincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), "hash", "2.0.0", "Increment the integer value of a hash field by the given number", "O(1)", "@write @hash @fast", "", kv(zedis_keyspace::commands::hashes::hincrby)),
        cmd("hincrbyfloat", 4, WRITE | DENYOOM | FAST, (1, 1, 1), "hash", "2.6.0", "Increment the float value of a hash field by the given amount", "O(1)", "@write @hash @fast", "", kv(zedis_keyspace::commands::hashes::hincrbyfloat)),
        cmd("hstrlen", 3, READONLY | FAST, (1, 1, 1), "hash", "3.2.0", "Get the length of the value of a hash field", "O(1)", "@read @hash @fast", "", kv(zedis_keyspace::commands::hashes::hstrlen)),
        cmd("hrandfield", -2, READONLY, (1, 1, 1), "hash", "6.2.0", "Get one or multiple random fields from a hash", "O(N) where N is the number of fields returned", "@read @hash @slow", "nondeterministic_output", kv(zedis_keyspace::commands::hashes::hrandfield)),
        cmd("hscan", -3, READONLY, (1, 1, 1), "hash", "2.8.0", "Incrementally iterate hash fields and associated values", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", "@read @hash @slow", "nondeterministic_output", kv(zedis_keyspace::commands::hashes::hscan)),
        cmd("zadd", -4, WRITE | DENYOOM | FAST, (1, 1, 1), "sorted-set", "1.2.0", "Add one or more members to a sorted set, or update its score if it already exists", "O(log(N)) for each item added, where N is the number of elements in the sorted set.", "@write @sortedset @fast", "", kv(zedis_keyspace::commands::zsets::zadd)),
        cmd("zincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), "sorted-set", "1.2.0", "Increment the score of a member in a sorted set", "O(log(N)) where N is the number of elements in the sorted set.", "@write @sortedset @fast", "", kv(zedis_keyspace::commands::zsets::zincrby)),
        cmd("zrem", -3, WRITE | FAST, (1, 1, 1), "sorted-set", "1.2.0", "Remove one or more members from a sorted set", "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.", "@write @sortedset @fast", "", kv(zedis_keyspace::commands::zsets::zrem)),
        cmd("zcard", 2, READONLY | FAST, (1, 1, 1), "sorted-set", "1.2.0", "Get the number of members in a sorted set", "O(1)", "@read @sortedset @fast", "", kv(zedis_keyspace::commands::zsets::zcard)),
        cmd("zscore", 3, READONLY | FAST, (1, 1, 1), "sorted-set", "1.2.0", "Get the score associated with the given member in a sorted set", "O(1)", "@read @sortedset @fast", "", kv(zedis_keyspace::commands::zsets::zscore)),
        cmd("zmscore", -3, READONLY | FAST, (1, 1, 1), "sorted-set", "6.2.0", "Get the score associated with the given members in a sorted set", "O(N) where N is the number of members being requested.", "@read @sortedset @fast", "", kv(zedis_keyspace::commands::zsets::zmscore)),
        cmd("zrank", 3, READONLY | FAST, (1, 1, 1), "sorted-set", "2.0.0", "Determine the index of a member in a sorted set", "O(log(N))", "@read @sortedset @fast", "", kv(zedis_keyspace::commands::zsets::zrank)),
        cmd("zrevrank", 3, READONLY | FAST, (1, 1, 1), "sorted-set", "2.0.0", "Determine the index of a member in a sorted set, with scores ordered from high to low", "O(log(N))", "@read @sortedset @fast", "", kv(zedis_keyspace::commands::zsets::zrevrank)),
        cmd("zscan", -3, READONLY, (1, 1, 1), "sorted-set", "2.8.0", "Incrementally iterate sorted sets elements and associated scores", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", "@read @sortedset @slow", "nondeterministic_output", kv(zedis_keyspace::commands::zsets::zscan)),
        cmd("zrandmember", -2, READONLY, (1, 1, 1), "sorted-set", "6.2.0", "Get one or multiple random elements from a sorted set", "O(N) where N is the number of elements returned", "@read @sortedset @slow", "nondeterministic_output", kv(zedis_keyspace::commands::zsets::zrandmember)),
        cmd("zrange", -4, READONLY, (1, 1, 1), "sorted-set", "1.2.0", "Return a range of members in a sorted set", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", "@read @sortedset @slow", "", kv(zedis_keyspace::commands::zset_range::zrange)),
        cmd("zrangestore", -5, WRITE | DENYOOM, (1, 2, 1), "sorted-set", "6.2.0", "Store a range of members from sorted set into another key", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.", "@write @sortedset @slow", "", kv(zedis_keyspace::commands::zset_range::zrangestore)),
        cmd("zrevrange", -4, READONLY, (1, 1, 1), "sorted-set", "1.2.0", "Return a range of members in a sorted set, by index, with scores ordered from high to low", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", "@read @sortedset @slow", "", kv(zedis_keyspace::commands::zset_range::zrevrange)),
        cmd("zrangebyscore", -4, READONLY, (1, 1, 1), "sorted-set", "1.0.5", "Return a range of members in a sorted set, by score", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", "@read @sortedset @slow", "", kv(zedis_keyspace::commands::zset_range::zrangebyscore)),
        cmd("zrevrangebyscore", -4, READONLY, (1, 1, 1), "sorted-set", "2.2.0", "Return a range of members in a sorted set, by score, with scores ordered from high to low", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", "@read @sortedset @slow", "", kv(zedis_keyspace::commands::zset_range::zrevrangebyscore)),
        cmd("zrangebylex", -4, READONLY, (1, 1, 1), "sorted-set", "2.8.9", "Return a range of members in a sorted set, by lexicographical range", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", "@read @sortedset @slow", "", kv(zedis_keyspace::commands::zset_range::zrangebylex)),
        cmd("zrevrangebylex", -4, READONLY, (1, 1, 1), "sorted-set", "2.8.9", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", "@read @sortedset @slow", "", kv(zedis_keyspace::commands::zset_range::zrevrangebylex)),
        cmd("zcount", 4, READONLY | FAST, (1, 1, 1), "sorted-set", "2.0.0", "Count the members in a sorted set with scores within the given values", "O(log(N)) with N being the number of elements in the sorted set.", "@read @sortedset @fast", "", kv(zedis_keyspace::commands::zset_range::zcount)),
        cmd("zlexcount", 4, READONLY | FAST, (1, 1, 1), "sorted-set", "2.8.9", "Count the number of members in a sorted set between a given lexicographical range", "O(log(N)) with N being the number of elements in the sorted set.", "@read @sortedset @fast", "", kv(zedis_keyspace::commands::zset_range::zlexcount)),
        cmd("zremrangebyrank", 4, WRITE, (1, 1, 1), "sorted-set", "2.0.0", "Remove all members in a sorted set within the given indexes", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", "@write @sortedset @slow", "", kv(zedis_keyspace::commands::zset_range::zremrangebyrank)),
        cmd("zremrangebyscore", 4, WRITE, (1, 1, 1), "sorted-set", "1.2.0", "Remove all members in a sorted set within the given scores", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", "@write @sortedset @slow", "", kv(zedis_keyspace::commands::zset_range::zremrangebyscore)),
        cmd("zremrangebylex", 4, WRITE, (1, 1, 1), "sorted-set", "2.8.9", "Remove all members in a sorted set between the given lexicographical range", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", "@write @sortedset @slow", "", kv(zedis_keyspace::commands::zset_range::zremrangebylex)),
        cmd("zunion", -3, READONLY | MOVABLE_KEYS, (0, 0, 0), "sorted-set", "6.2.0", "Add multiple sorted sets", "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", "@read @sortedset @slow", "", kv(zedis_keyspace::commands::zset_store::zunion)),
        cmd("zinter", -3, READONLY | MOVABLE_KEYS, (0, 0, 0), "sorted-set", "6.2.0", "Intersect multiple sorted sets", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", "@read @sortedset @slow", "", kv(zedis_keyspace::commands::zset_store::zinter)),
        cmd("zdiff", -3, READONLY | MOVABLE_KEYS, (0, 0, 0), "sorted-set", "6.2.0", "Subtract multiple sorted sets", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", "@read @sortedset @slow", "", kv(zedis_keyspace::commands::zset_store::zdiff)),
        cmd("zunionstore", -4, WRITE | DENYOOM | MOVABLE_KEYS, (1, 1, 1), "sorted-set", "2.0.0", "Add multiple sorted sets and store the resulting sorted set in a new key", "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", "@write @sortedset @slow", "", kv(zedis_keyspace::commands::zset_store::zunionstore)),
        cmd("zinterstore", -4, WRITE | DENYOOM | MOVABLE_KEYS, (1, 1, 1), "sorted-set", "2.0.0", "Intersect multiple sorted sets and store the resulting sorted set in a new key", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", "@write @sortedset @slow", "", kv(zedis_keyspace::commands::zset_store::zinterstore)),
        cmd("zdiffstore", -4, WRITE | DENYOOM | MOVABLE_KEYS, (1, 1, 1), "sorted-set", "6.2.0", "Subtract multiple sorted sets and store the resulting sorted set in a new key", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", "@write @sortedset @slow", "", kv(zedis_keyspace::commands::zset_store::zdiffstore)),
        cmd("zintercard", -3, READONLY | MOVABLE_KEYS, (0, 0, 0), "sorted-set", "7.0.0", "Intersect multiple sorted sets and return the cardinality of the result", "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.", "@read @sortedset @slow", "", kv(zedis_keyspace::commands::zset_store::zintercard)),
        cmd("zpopmin", -2, WRITE | FAST, (1, 1, 1), "sorted-set", "5.0.0", "Remove and return members with the lowest scores in a sorted set", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", "@write @sortedset @fast", "", kv(zedis_keyspace::commands::zset_pop::zpopmin)),
        cmd("zpopmax", -2, WRITE | FAST, (1, 1, 1), "sorted-set", "5.0.0", "Remove and return members with the highest scores in a sorted set", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", "@write @sortedset @fast", "", kv(zedis_keyspace::commands::zset_pop::zpopmax)),
        cmd("zmpop", -4, WRITE | MOVABLE_KEYS, (0, 0, 0), "sorted-set", "7.0.0", "Remove and return members with scores in a sorted set", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", "@write @sortedset @slow", "", kv(zedis_keyspace::commands::zset_pop::zmpop)),
        cmd("bzpopmin", -3, WRITE | NOSCRIPT | BLOCKING | FAST, (1, -2, 1), "sorted-set", "5.0.0", "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available", "O(log(N)) with N being the number of elements in the sorted set.", "@write @sortedset @fast @blocking", "", kv(zedis_keyspace::commands::zset_pop::bzpopmin)),
        cmd("bzpopmax", -3, WRITE | NOSCRIPT | BLOCKING | FAST, (1, -2, 1), "sorted-set", "5.0.0", "Remove and return the member with the highest score from one or more sorted sets, or block until one is available", "O(log(N)) with N being the number of elements in the sorted set.", "@write @sortedset @fast @blocking", "", kv(zedis_keyspace::commands::zset_pop::bzpopmax)),
        cmd("bzmpop", -5, WRITE | BLOCKING | MOVABLE_KEYS, (0, 0, 0), "sorted-set", "7.0.0", "Remove and return members with scores in a sorted set or block until one is available", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", "@write @sortedset @slow @blocking", "", kv(zedis_keyspace::commands::zset_pop::bzmpop)),
        cmd("geoadd", -5, WRITE | DENYOOM, (1, 1, 1), "geo", "3.2.0", "Add one or more geospatial items in the geospatial index represented using a sorted set", "O(log(N)) for each item added, where N is the number of elements in the sorted set.", "@write @geo @slow", "", kv(zedis_keyspace::commands::geo::geoadd)),
        cmd("geopos", -2, READONLY, (1, 1, 1), "geo", "3.2.0", "Returns longitude and latitude of members of a geospatial index", "O(N) where N is the number of members requested.", "@read @geo @slow", "", kv(zedis_keyspace::commands::geo::geopos)),
        cmd("geodist", -4, READONLY, (1, 1, 1), "geo", "3.2.0", "Returns the distance between two members of a geospatial index", "O(log(N))", "@read @geo @slow", "", kv(zedis_keyspace::commands::geo::geodist)),
        cmd("geohash", -2, READONLY, (1, 1, 1), "geo", "3.2.0", "Returns members of a geospatial index as standard geohash strings", "O(log(N)) for each member requested, where N is the number of elements in the sorted set.", "@read @geo @slow", "", kv(zedis_keyspace::commands::geo::geohash_cmd)),
        cmd("geosearch", -7, READONLY, (1, 1, 1), "geo", "6.2.0", "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.", "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape", "@read @geo @slow", "", kv(zedis_keyspace::commands::geo::geosearch)),
        cmd("geosearchstore", -8, WRITE | DENYOOM, (1, 2, 1), "geo", "6.2.0", "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.", "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape", "@write @geo @slow", "", kv(zedis_keyspace::commands::geo::geosearchstore)),
        cmd("georadius", -6, WRITE | DENYOOM | MOVABLE_KEYS, (1, 1, 1), "geo", "3.2.0", "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point", "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.", "@write @geo @slow", "", kv(zedis_keyspace::commands::geo::georadius)),
        cmd("georadius_ro", -6, READONLY, (1, 1, 1), "geo", "3.2.10", "A read-only variant for GEORADIUS", "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.", "@read @geo @slow", "", kv(zedis_keyspace::commands::geo::georadius_ro)),
        cmd("georadiusbymember", -5, WRITE | DENYOOM | MOVABLE_KEYS, (1, 1, 1), "geo", "3.2.0", "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member", "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.", "@write @geo @slow", "", kv(zedis_keyspace::commands::geo::georadiusbymember)),
        cmd("georadiusbymember_ro", -5, READONLY, (1, 1, 1), "geo", "3.2.10", "A read-only variant for GEORADIUSBYMEMBER", "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.", "@read @geo @slow", "", kv(zedis_keyspace::commands::geo::georadiusbymember_ro)),
        cmd("subscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, (0, 0, 0), "pubsub", "2.0.0", "Listen for messages published to the given channels", "O(N) where N is the number of channels to subscribe to.", "@pubsub @slow", "", srv(crate::pubsub_cmds::subscription)),
        cmd("unsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, (0, 0, 0), "pubsub", "2.0.0", "Stop listening for messages posted to the given channels", "O(N) where N is the number of clients already subscribed to a channel.", "@pubsub @slow", "", srv(crate::pubsub_cmds::subscription)),
        cmd("psubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, (0, 0, 0), "pubsub", "2.0.0", "Listen for messages published to channels matching the given patterns", "O(N) where N is the number of patterns the client is already subscribed to.", "@pubsub @slow", "", srv(crate::pubsub_cmds::subscription)),
        cmd("punsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, (0, 0, 0), "pubsub", "2.0.0", "Stop listening for messages posted to channels matching the given patterns", "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).", "@pubsub @slow", "", srv(crate::pubsub_cmds::subscription)),
        cmd("ssubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, (1, -1, 1), "pubsub", "7.0.0", "Listen for messages published to the given shard channels", "O(N) where N is the number of shard channels to subscribe to.", "@pubsub @slow", "", srv(crate::pubsub_cmds::subscription)),
        cmd("sunsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, (1, -1, 1), "pubsub", "7.0.0", "Stop listening for messages posted to the given shard channels", "O(N) where N is the number of clients already subscribed to a shard channel.", "@pubsub @slow", "", srv(crate::pubsub_cmds::subscription)),
        cmd("publish", 3, PUBSUB | LOADING | STALE | FAST, (0, 0, 0), "pubsub", "2.0.0", "Post a message to a channel", "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).", "@pubsub @fast", "", srv(crate::pubsub_cmds::publish)),
        cmd("spublish", 3, PUBSUB | LOADING | STALE | FAST, (1, 1, 1), "pubsub", "7.0.0", "Post a message to a shard channel", "O(N) where N is the number of clients subscribed to the receiving shard channel.", "@pubsub @fast", "", srv(crate::pubsub_cmds::publish)),
        cmd("pubsub", -2, 0, (0, 0, 0), "pubsub", "2.8.0", "A container for Pub/Sub commands", "Depends on subcommand.", "@slow", "", Handler::Container).subs(vec![
            cmd("pubsub|channels", -2, PUBSUB | LOADING | STALE, (0, 0, 0), "pubsub", "2.8.0", "List active channels", "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)", "@pubsub @slow", "", srv(crate::pubsub_cmds::introspect)),
            cmd("pubsub|numsub", -2, PUBSUB | LOADING | STALE, (0, 0, 0), "pubsub", "2.8.0", "Get the count of subscribers for channels", "O(N) for the NUMSUB subcommand, where N is the number of requested channels", "@pubsub @slow", "", srv(crate::pubsub_cmds::introspect)),
            cmd("pubsub|numpat", 2, PUBSUB | LOADING | STALE, (0, 0, 0), "pubsub", "2.8.0", "Get the count of unique patterns pattern subscriptions", "O(1)", "@pubsub @slow", "", srv(crate::pubsub_cmds::introspect)),
            cmd("pubsub|shardchannels", -2, PUBSUB | LOADING | STALE, (0, 0, 0), "pubsub", "7.0.0", "List active shard channels", "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).", "@pubsub @slow", "", srv(crate::pubsub_cmds::introspect)),
            cmd("pubsub|shardnumsub", -2, PUBSUB | LOADING | STALE, (0, 0, 0), "pubsub", "7.0.0", "Get the count of subscribers for shard channels", "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels", "@pubsub @slow", "", srv(crate::pubsub_cmds::introspect)),
            cmd("pubsub|help", 2, LOADING | STALE, (0, 0, 0), "pubsub", "6.2.0", "Show helpful text about the different subcommands", "O(1)", "@slow", "", srv(crate::pubsub_cmds::introspect)),
        ]),
        cmd("blpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), "list", "2.0.0", "Remove and get the first element in a list, or block until one is available", "O(N) where N is the number of provided keys.", "@write @list @slow @blocking", "", kv(zedis_keyspace::commands::blocking::blpop)),
        cmd("brpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), "list", "2.0.0", "Remove and get the last element in a list, or block until one is available", "O(N) where N is the number of provided keys.", "@write @list @slow @blocking", "", kv(zedis_keyspace::commands::blocking::blpop)),
        cmd("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, (1, 2, 1), "list", "6.2.0", "Pop an element from a list, push it to another list and return it; or block until one is available", "O(1)", "@write @list @slow @blocking", "", kv(zedis_keyspace::commands::blocking::blmove)),
        cmd("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, (1, 2, 1), "list", "2.2.0", "Pop an element from a list, push it to another list and return it; or block until one is available", "O(1)", "@write @list @slow @blocking", "", kv(zedis_keyspace::commands::blocking::blmove)),
        cmd("blmpop", -5, WRITE | BLOCKING | MOVABLE_KEYS, (0, 0, 0), "list", "7.0.0", "Pop elements from a list, or block until one is available", "O(N+M) where N is the number of provided keys and M is the number of elements returned.", "@write @list @slow @blocking", "", kv(zedis_keyspace::commands::blocking::blmpop)),
        cmd("bgrewriteaof", 1, ADMIN | NOSCRIPT, (0, 0, 0), "server", "1.0.0", "Asynchronously rewrite the append-only file", "O(1)", "@admin @slow @dangerous", "", srv(crate::aof::bgrewriteaof)),
        cmd("substr", 4, READONLY, (1, 1, 1), "string", "1.0.0", "Get a substring of the string stored at a key", "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.", "@read @string @slow", "", kv(strings::getrange)),
        cmd("lcs", -3, READONLY, (1, 2, 1), "string", "7.0.0", "Find longest common substring", "O(N*M) where N and M are the lengths of s1 and s2, respectively", "@read @string @slow", "", kv(zedis_keyspace::commands::strings_lcs::lcs)),
        cmd("multi", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, (0, 0, 0), "transactions", "1.2.0", "Mark the start of a transaction block", "O(1)", "@fast @transaction", "", srv(crate::multi::multi)),
        cmd("exec", 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG, (0, 0, 0), "transactions", "1.2.0", "Execute all commands issued after MULTI", "Depends on commands in the transaction", "@slow @transaction", "", srv(crate::multi::exec)),
        cmd("discard", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, (0, 0, 0), "transactions", "2.0.0", "Discard all commands issued after MULTI", "O(N), when N is the number of queued commands", "@fast @transaction", "", srv(crate::multi::discard)),
        cmd("watch", -2, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, (1, -1, 1), "transactions", "2.2.0", "Watch the given keys to determine execution of the MULTI/EXEC block", "O(1) for every key.", "@fast @transaction", "", srv(crate::multi::watch)),
        cmd("unwatch", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, (0, 0, 0), "transactions", "2.2.0", "Forget about all watched keys", "O(1)", "@fast @transaction", "", srv(crate::multi::unwatch)),
        cmd("auth", -2, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, (0, 0, 0), "connection", "1.0.0", "Authenticate to the server", "O(N) where N is the number of passwords defined for the user", "@fast @connection", "", srv(crate::auth::auth)),
        // Streams: keyspace/src/commands/{streams,stream_read,stream_groups,stream_claim,stream_info}.rs.
        cmd("xadd", -5, WRITE | DENYOOM | FAST, (1, 1, 1), "stream", "5.0.0", "Appends a new entry to a stream", "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.", "@write @stream @fast", "nondeterministic_output", kv(zedis_keyspace::commands::streams::xadd)),
        cmd("xrange", -4, READONLY, (1, 1, 1), "stream", "5.0.0", "Return a range of elements in a stream, with IDs matching the specified IDs interval", "O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", "@read @stream @slow", "", kv(zedis_keyspace::commands::streams::xrange)),
        cmd("xrevrange", -4, READONLY, (1, 1, 1), "stream", "5.0.0", "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE", "O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", "@read @stream @slow", "", kv(zedis_keyspace::commands::streams::xrevrange)),
        cmd("xlen", 2, READONLY | FAST, (1, 1, 1), "stream", "5.0.0", "Return the number of entries in a stream", "O(1)", "@read @stream @fast", "", kv(zedis_keyspace::commands::streams::xlen)),
        cmd("xdel", -3, WRITE | FAST, (1, 1, 1), "stream", "5.0.0", "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.", "O(1) for each single item to delete in the stream, regardless of the stream size.", "@write @stream @fast", "", kv(zedis_keyspace::commands::streams::xdel)),
        cmd("xtrim", -4, WRITE, (1, 1, 1), "stream", "5.0.0", "Trims the stream to (approximately if '~' is passed) a certain size", "O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.", "@write @stream @slow", "nondeterministic_output", kv(zedis_keyspace::commands::streams::xtrim)),
        cmd("xsetid", -3, WRITE | DENYOOM | FAST, (1, 1, 1), "stream", "5.0.0", "An internal command for replicating stream values", "O(1)", "@write @stream @fast", "", kv(zedis_keyspace::commands::streams::xsetid)),
        cmd("xread", -4, READONLY | BLOCKING | MOVABLE_KEYS, (0, 0, 0), "stream", "5.0.0", "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.", "For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.", "@read @stream @slow @blocking", "", kv(zedis_keyspace::commands::stream_read::xread)),
        cmd("xreadgroup", -7, WRITE | BLOCKING | MOVABLE_KEYS, (0, 0, 0), "stream", "5.0.0", "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.", "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.", "@write @stream @slow @blocking", "", kv(zedis_keyspace::commands::stream_read::xreadgroup)),
        cmd("xgroup", -2, 0, (0, 0, 0), "stream", "5.0.0", "A container for consumer groups commands", "Depends on subcommand.", "@slow", "", Handler::Container).subs(vec![
            cmd("xgroup|create", -5, WRITE | DENYOOM, (2, 2, 1), "stream", "5.0.0", "Create a consumer group.", "O(1)", "@write @stream @slow", "", kv(zedis_keyspace::commands::stream_groups::xgroup)),
            cmd("xgroup|setid", -5, WRITE, (2, 2, 1), "stream", "5.0.0", "Set a consumer group to an arbitrary last delivered ID value.", "O(1)", "@write @stream @slow", "", kv(zedis_keyspace::commands::stream_groups::xgroup)),
            cmd("xgroup|destroy", 4, WRITE, (2, 2, 1), "stream", "5.0.0", "Destroy a consumer group.", "O(N) where N is the number of entries in the group's pending entries list (PEL).", "@write @stream @slow", "", kv(zedis_keyspace::commands::stream_groups::xgroup)),
            cmd("xgroup|createconsumer", 5, WRITE | DENYOOM, (2, 2, 1), "stream", "6.2.0", "Create a consumer in a consumer group.", "O(1)", "@write @stream @slow", "", kv(zedis_keyspace::commands::stream_groups::xgroup)),
            cmd("xgroup|delconsumer", 5, WRITE, (2, 2, 1), "stream", "5.0.0", "Delete a consumer from a consumer group.", "O(1)", "@write @stream @slow", "", kv(zedis_keyspace::commands::stream_groups::xgroup)),
            cmd("xgroup|help", 2, LOADING | STALE, (0, 0, 0), "stream", "5.0.0", "Show helpful text about the different subcommands", "O(1)", "@stream @slow", "", kv(zedis_keyspace::commands::stream_groups::xgroup)),
        ]),
        cmd("xack", -4, WRITE | FAST, (1, 1, 1), "stream", "5.0.0", "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.", "O(1) for each message ID processed.", "@write @stream @fast", "", kv(zedis_keyspace::commands::stream_groups::xack)),
        cmd("xpending", -3, READONLY, (1, 1, 1), "stream", "5.0.0", "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.", "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.", "@read @stream @slow", "nondeterministic_output", kv(zedis_keyspace::commands::stream_groups::xpending)),
        cmd("xclaim", -6, WRITE | FAST, (1, 1, 1), "stream", "5.0.0", "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.", "O(log N) with N being the number of messages in the PEL of the consumer group.", "@write @stream @fast", "nondeterministic_output", kv(zedis_keyspace::commands::stream_claim::xclaim)),
        cmd("xautoclaim", -6, WRITE | FAST, (1, 1, 1), "stream", "6.2.0", "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.", "O(1) if COUNT is small.", "@write @stream @fast", "nondeterministic_output", kv(zedis_keyspace::commands::stream_claim::xautoclaim)),
        cmd("xinfo", -2, 0, (0, 0, 0), "stream", "5.0.0", "A container for stream introspection commands", "Depends on subcommand.", "@slow", "", Handler::Container).subs(vec![
            cmd("xinfo|stream", -3, READONLY, (2, 2, 1), "stream", "5.0.0", "Get information about a stream", "O(1)", "@read @stream @slow", "", kv(zedis_keyspace::commands::stream_info::xinfo)),
            cmd("xinfo|groups", 3, READONLY, (2, 2, 1), "stream", "5.0.0", "List the consumer groups of a stream", "O(1)", "@read @stream @slow", "", kv(zedis_keyspace::commands::stream_info::xinfo)),
            cmd("xinfo|consumers", 4, READONLY, (2, 2, 1), "stream", "5.0.0", "List the consumers in a consumer group", "O(1)", "@read @stream @slow", "nondeterministic_output", kv(zedis_keyspace::commands::stream_info::xinfo)),
            cmd("xinfo|help", 2, LOADING | STALE, (0, 0, 0), "stream", "5.0.0", "Show helpful text about the different subcommands", "O(1)", "@stream @slow", "", kv(zedis_keyspace::commands::stream_info::xinfo)),
        ]),
        // Bitmaps, BITFIELD, HyperLogLog and SORT (issue 15).
        cmd("setbit", 4, WRITE | DENYOOM, (1, 1, 1), "bitmap", "2.2.0", "Sets or clears the bit at offset in the string value stored at key", "O(1)", "@write @bitmap @slow", "", kv(zedis_keyspace::commands::bitmaps::setbit)),
        cmd("getbit", 3, READONLY | FAST, (1, 1, 1), "bitmap", "2.2.0", "Returns the bit value at offset in the string value stored at key", "O(1)", "@read @bitmap @fast", "", kv(zedis_keyspace::commands::bitmaps::getbit)),
        cmd("bitcount", -2, READONLY, (1, 1, 1), "bitmap", "2.6.0", "Count set bits in a string", "O(N)", "@read @bitmap @slow", "", kv(zedis_keyspace::commands::bitmaps::bitcount)),
        cmd("bitpos", -3, READONLY, (1, 1, 1), "bitmap", "2.8.7", "Find first bit set or clear in a string", "O(N)", "@read @bitmap @slow", "", kv(zedis_keyspace::commands::bitmaps::bitpos)),
        cmd("bitop", -4, WRITE | DENYOOM, (2, -1, 1), "bitmap", "2.6.0", "Perform bitwise operations between strings", "O(N)", "@write @bitmap @slow", "", kv(zedis_keyspace::commands::bitmaps::bitop)),
        cmd("bitfield", -2, WRITE | DENYOOM, (1, 1, 1), "bitmap", "3.2.0", "Perform arbitrary bitfield integer operations on strings", "O(1) for each subcommand specified", "@write @bitmap @slow", "", kv(zedis_keyspace::commands::bitfield::bitfield)),
        cmd("bitfield_ro", -2, READONLY | FAST, (1, 1, 1), "bitmap", "6.0.0", "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD", "O(1) for each subcommand specified", "@read @bitmap @fast", "", kv(zedis_keyspace::commands::bitfield::bitfield_ro)),
        cmd("pfadd", -2, WRITE | DENYOOM | FAST, (1, 1, 1), "hyperloglog", "2.8.9", "Adds the specified elements to the specified HyperLogLog.", "O(1) to add every element.", "@write @hyperloglog @fast", "", kv(zedis_keyspace::commands::hll::pfadd)),
        cmd("pfcount", -2, READONLY, (1, -1, 1), "hyperloglog", "2.8.9", "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).", "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.", "@read @hyperloglog @slow", "", kv(zedis_keyspace::commands::hll::pfcount)),
        cmd("pfmerge", -2, WRITE | DENYOOM, (1, -1, 1), "hyperloglog", "2.8.9", "Merge N different HyperLogLogs into a single one.", "O(N) to merge N HyperLogLogs, but with high constant times.", "@write @hyperloglog @slow", "", kv(zedis_keyspace::commands::hll::pfmerge)),
        cmd("pfselftest", 1, ADMIN, (0, 0, 0), "hyperloglog", "2.8.9", "An internal command for testing HyperLogLog values", "N/A", "@hyperloglog @admin @slow @dangerous", "", kv(zedis_keyspace::commands::hll::pfselftest)),
        cmd("pfdebug", 3, WRITE | DENYOOM | ADMIN, (2, 2, 1), "hyperloglog", "2.8.9", "Internal commands for debugging HyperLogLog values", "N/A", "@write @hyperloglog @admin @slow @dangerous", "", kv(zedis_keyspace::commands::hll::pfdebug)),
        cmd("sort", -2, WRITE | DENYOOM | MOVABLE_KEYS, (1, 1, 1), "generic", "1.0.0", "Sort the elements in a list, set or sorted set", "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).", "@write @set @sortedset @list @slow @dangerous", "", kv(zedis_keyspace::commands::sort::sort)),
        cmd("sort_ro", -2, READONLY | MOVABLE_KEYS, (1, 1, 1), "generic", "7.0.0", "Sort the elements in a list, set or sorted set. Read-only variant of SORT.", "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).", "@read @set @sortedset @list @slow @dangerous", "", kv(zedis_keyspace::commands::sort::sort_ro)),
        // Lua scripting and functions (issue 17).
        cmd("eval", -3, NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLE_KEYS, (0, 0, 0), "scripting", "2.6.0", "Execute a Lua script server side", "Depends on the script that is executed.", "@slow @scripting", "", srv(crate::scripting_cmds::eval)),
        cmd("evalsha", -3, NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLE_KEYS, (0, 0, 0), "scripting", "2.6.0", "Execute a Lua script server side", "Depends on the script that is executed.", "@slow @scripting", "", srv(crate::scripting_cmds::eval)),
        cmd("eval_ro", -3, READONLY | NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLE_KEYS, (0, 0, 0), "scripting", "7.0.0", "Execute a read-only Lua script server side", "Depends on the script that is executed.", "@slow @scripting", "", srv(crate::scripting_cmds::eval)),
        cmd("evalsha_ro", -3, READONLY | NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLE_KEYS, (0, 0, 0), "scripting", "7.0.0", "Execute a read-only Lua script server side", "Depends on the script that is executed.", "@slow @scripting", "", srv(crate::scripting_cmds::eval)),
        cmd("fcall", -3, NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLE_KEYS, (0, 0, 0), "scripting", "7.0.0", "Invoke a function", "Depends on the function that is executed.", "@slow @scripting", "", srv(crate::scripting_cmds::fcall)),
        cmd("fcall_ro", -3, READONLY | NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLE_KEYS, (0, 0, 0), "scripting", "7.0.0", "Invoke a read-only function", "Depends on the function that is executed.", "@slow @scripting", "", srv(crate::scripting_cmds::fcall)),
        cmd("script", -2, 0, (0, 0, 0), "scripting", "2.6.0", "A container for Lua scripts management commands", "Depends on subcommand.", "@slow", "", Handler::Container).subs(vec![
            cmd("script|load", 3, NOSCRIPT | STALE, (0, 0, 0), "scripting", "2.6.0", "Load the specified Lua script into the script cache.", "O(N) with N being the length in bytes of the script body.", "@slow @scripting", "request_policy:all_nodes response_policy:all_succeeded", srv(crate::scripting_cmds::script)),
            cmd("script|exists", -3, NOSCRIPT, (0, 0, 0), "scripting", "2.6.0", "Check existence of scripts in the script cache.", "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).", "@slow @scripting", "request_policy:all_shards response_policy:agg_logical_and", srv(crate::scripting_cmds::script)),
            cmd("script|flush", -2, NOSCRIPT, (0, 0, 0), "scripting", "2.6.0", "Remove all the scripts from the script cache.", "O(N) with N being the number of scripts in cache", "@slow @scripting", "request_policy:all_nodes response_policy:all_succeeded", srv(crate::scripting_cmds::script)),
            cmd("script|kill", 2, NOSCRIPT | ALLOW_BUSY, (0, 0, 0), "scripting", "2.6.0", "Kill the script currently in execution.", "O(1)", "@slow @scripting", "request_policy:all_shards response_policy:one_succeeded", srv(crate::scripting_cmds::script)),
            cmd("script|help", 2, LOADING | STALE, (0, 0, 0), "scripting", "5.0.0", "Show helpful text about the different subcommands", "O(1)", "@slow @scripting", "", srv(crate::scripting_cmds::script)),
        ]),
        cmd("function", -2, 0, (0, 0, 0), "scripting", "7.0.0", "A container for function commands", "Depends on subcommand.", "@slow", "", Handler::Container).subs(vec![
            cmd("function|load", -3, WRITE | DENYOOM | NOSCRIPT, (0, 0, 0), "scripting", "7.0.0", "Create a function with the given arguments (name, code, description)", "O(1) (considering compilation time is redundant)", "@write @slow @scripting", "request_policy:all_shards response_policy:all_succeeded", srv(crate::scripting_cmds::function)),
            cmd("function|list", -2, NOSCRIPT, (0, 0, 0), "scripting", "7.0.0", "List information about all the functions", "O(N) where N is the number of functions", "@slow @scripting", "nondeterministic_output_order", srv(crate::scripting_cmds::function)),
            cmd("function|delete", 3, WRITE | NOSCRIPT, (0, 0, 0), "scripting", "7.0.0", "Delete a function by name", "O(1)", "@write @slow @scripting", "request_policy:all_shards response_policy:all_succeeded", srv(crate::scripting_cmds::function)),
            cmd("function|flush", -2, WRITE | NOSCRIPT, (0, 0, 0), "scripting", "7.0.0", "Deleting all functions", "O(N) where N is the number of functions deleted", "@write @slow @scripting", "request_policy:all_shards response_policy:all_succeeded", srv(crate::scripting_cmds::function)),
            cmd("function|dump", 2, NOSCRIPT, (0, 0, 0), "scripting", "7.0.0", "Dump all functions into a serialized binary payload", "O(N) where N is the number of functions", "@slow @scripting", "", srv(crate::scripting_cmds::function)),
            cmd("function|restore", -3, WRITE | DENYOOM | NOSCRIPT, (0, 0, 0), "scripting", "7.0.0", "Restore all the functions on the given payload", "O(N) where N is the number of functions on the payload", "@write @slow @scripting", "request_policy:all_shards response_policy:all_succeeded", srv(crate::scripting_cmds::function)),
            cmd("function|stats", 2, NOSCRIPT | ALLOW_BUSY, (0, 0, 0), "scripting", "7.0.0", "Return information about the function currently running (name, description, duration)", "O(1)", "@slow @scripting", "nondeterministic_output request_policy:all_shards response_policy:special", srv(crate::scripting_cmds::function)),
            cmd("function|kill", 2, NOSCRIPT | ALLOW_BUSY, (0, 0, 0), "scripting", "7.0.0", "Kill the function currently in execution.", "O(1)", "@slow @scripting", "request_policy:all_shards response_policy:one_succeeded", srv(crate::scripting_cmds::function)),
            cmd("function|help", 2, LOADING | STALE, (0, 0, 0), "scripting", "7.0.0", "Show helpful text about the different subcommands", "O(1)", "@slow @scripting", "", srv(crate::scripting_cmds::function)),
        ]),
        cmd("slowlog", -2, 0, (0, 0, 0), "server", "2.2.12", "A container for slow log commands", "Depends on subcommand.", "@slow", "", Handler::Container).subs(vec![
        cmd("slowlog|get", -2, ADMIN | LOADING | STALE, (0, 0, 0), "server", "2.2.12", "Get the slow log's entries", "O(N) where N is the number of entries returned", "@admin @slow @dangerous", "request_policy:all_nodes nondeterministic_output", srv(crate::observe_cmds::slowlog_get)),
        cmd("slowlog|len", 2, ADMIN | LOADING | STALE, (0, 0, 0), "server", "2.2.12", "Get the slow log's length", "O(1)", "@admin @slow @dangerous", "request_policy:all_nodes response_policy:agg_sum nondeterministic_output", srv(crate::observe_cmds::slowlog_len)),
        cmd("slowlog|reset", 2, ADMIN | LOADING | STALE, (0, 0, 0), "server", "2.2.12", "Clear all entries from the slow log", "O(N) where N is the number of entries in the slowlog", "@admin @slow @dangerous", "request_policy:all_nodes response_policy:all_succeeded", srv(crate::observe_cmds::slowlog_reset)),
        cmd("slowlog|help", 2, LOADING | STALE, (0, 0, 0), "server", "6.2.0", "Show helpful text about the different subcommands", "O(1)", "@slow", "", srv(crate::observe_cmds::slowlog_help)),
        ]),
        cmd("latency", -2, 0, (0, 0, 0), "server", "2.8.13", "A container for latency diagnostics commands", "Depends on subcommand.", "@slow", "", Handler::Container).subs(vec![
        cmd("latency|latest", 2, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "2.8.13", "Return the latest latency samples for all events.", "O(1)", "@admin @slow @dangerous", "nondeterministic_output request_policy:all_nodes response_policy:special", srv(crate::observe_cmds::latency_latest)),
        cmd("latency|history", 3, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "2.8.13", "Return timestamp-latency samples for the event.", "O(1)", "@admin @slow @dangerous", "nondeterministic_output request_policy:all_nodes response_policy:special", srv(crate::observe_cmds::latency_history)),
        cmd("latency|reset", -2, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "2.8.13", "Reset latency data for one or more events.", "O(1)", "@admin @slow @dangerous", "request_policy:all_nodes response_policy:all_succeeded", srv(crate::observe_cmds::latency_reset)),
        cmd("latency|graph", 3, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "2.8.13", "Return a latency graph for the event.", "O(1)", "@admin @slow @dangerous", "nondeterministic_output request_policy:all_nodes response_policy:special", srv(crate::observe_cmds::latency_graph)),
        cmd("latency|doctor", 2, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "2.8.13", "Return a human readable latency analysis report.", "O(1)", "@admin @slow @dangerous", "nondeterministic_output request_policy:all_nodes response_policy:special", srv(crate::observe_cmds::latency_doctor)),
        cmd("latency|histogram", -2, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "7.0.0", "Return the cumulative distribution of latencies of a subset of commands or all.", "O(N) where N is the number of commands with latency information being retrieved.", "@admin @slow @dangerous", "nondeterministic_output request_policy:all_nodes response_policy:special", srv(crate::observe_cmds::latency_histogram)),
        cmd("latency|help", 2, LOADING | STALE, (0, 0, 0), "server", "2.8.13", "Show helpful text about the different subcommands.", "O(1)", "@slow", "", srv(crate::observe_cmds::latency_help)),
        ]),
        // Access control (issue 22, `acl_cmds.rs`).
        cmd("acl", -2, 0, (0, 0, 0), "server", "6.0.0", "A container for Access List Control commands ", "Depends on subcommand.", "@slow", "", Handler::Container).subs(vec![
        cmd("acl|cat", -2, NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "6.0.0", "List the ACL categories or the commands inside a category", "O(1) since the categories and commands are a fixed set.", "@slow", "", srv(crate::acl_cmds::cat)),
        cmd("acl|deluser", -3, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "6.0.0", "Remove the specified ACL users and the associated rules", "O(1) amortized time considering the typical user.", "@admin @slow @dangerous", "", srv(crate::acl_cmds::deluser)),
        cmd("acl|dryrun", -4, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "7.0.0", "Returns whether the user can execute the given command without executing the command.", "O(1).", "@admin @slow @dangerous", "", srv(crate::acl_cmds::dryrun)),
        cmd("acl|genpass", -2, NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "6.0.0", "Generate a pseudorandom secure password to use for ACL users", "O(1)", "@slow", "", srv(crate::acl_cmds::genpass)),
        cmd("acl|getuser", 3, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "6.0.0", "Get the rules for a specific ACL user", "O(N). Where N is the number of password, command and pattern rules that the user has.", "@admin @slow @dangerous", "", srv(crate::acl_cmds::getuser)),
        cmd("acl|help", 2, LOADING | STALE, (0, 0, 0), "server", "6.0.0", "Show helpful text about the different subcommands", "O(1)", "@slow", "", srv(crate::acl_cmds::help)),
        cmd("acl|list", 2, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "6.0.0", "List the current ACL rules in ACL config file format", "O(N). Where N is the number of configured users.", "@admin @slow @dangerous", "", srv(crate::acl_cmds::list)),
        cmd("acl|load", 2, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "6.0.0", "Reload the ACLs from the configured ACL file", "O(N). Where N is the number of configured users.", "@admin @slow @dangerous", "", srv(crate::acl_cmds::load)),
        cmd("acl|log", -2, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "6.0.0", "List latest events denied because of ACLs in place", "O(N) with N being the number of entries shown.", "@admin @slow @dangerous", "", srv(crate::acl_cmds::log)),
        cmd("acl|save", 2, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "6.0.0", "Save the current ACL rules in the configured ACL file", "O(N). Where N is the number of configured users.", "@admin @slow @dangerous", "", srv(crate::acl_cmds::save)),
        cmd("acl|setuser", -3, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "6.0.0", "Modify or create the rules for a specific ACL user", "O(N). Where N is the number of rules provided.", "@admin @slow @dangerous", "", srv(crate::acl_cmds::setuser)),
        cmd("acl|users", 2, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "6.0.0", "List the username of all the configured ACL rules", "O(N). Where N is the number of configured users.", "@admin @slow @dangerous", "", srv(crate::acl_cmds::users)),
        cmd("acl|whoami", 2, NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "6.0.0", "Return the name of the user associated to the current connection", "O(1)", "@slow", "", srv(crate::acl_cmds::whoami)),
        ]),
        cmd("monitor", 1, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "1.0.0", "Listen for all requests received by the server in real time", "", "@admin @slow @dangerous", "", srv(crate::monitor_cmd::monitor)),
    ]
}
