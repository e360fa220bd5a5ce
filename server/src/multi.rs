//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH, with Redis 7.0's semantics.
//!
//! - While a client is in MULTI, [`intercept`] (called first thing in `Core::call`) queues its commands and
//!   replies `+QUEUED`. A command rejected at queue time (unknown, wrong arity, NO_MULTI, OOM) flags the
//!   transaction, and EXEC then replies `-EXECABORT`. EXEC, DISCARD, MULTI, WATCH, QUIT and RESET run at once.
//! - EXEC runs the queue through `Core::call_resolved`, by the table entry each command resolved to when it was
//!   queued: a runtime error in one command does not stop the others.
//! - WATCH: `Core::tx` maps `(db, key)` to the watching clients. After every command (and after eviction and
//!   the active expire cycle) [`signal_touched`] reads the keys the keyspace reported in `Effects::touched`
//!   (and whole-database flushes and swaps) and marks their watchers dirty; EXEC then replies a null array.
//!   `Effects::track_touched` is on only while some client watches a key.
//!
//! Memory: queued commands live in one budget-charged [`IoBuf`] per client (`Component::Clients`), bounded by
//! `client-query-buffer-limit` (a client past it is closed, as for its query buffer). Watched keys are charged
//! to the same component.

use crate::dispatch::Rejection;
use crate::server::{unix_ms, Core};
use crate::table::{Command, CommandId, DENYOOM, NO_AUTH, NO_MULTI, RUNS_IN_MULTI, RUNS_QUEUE};
use crate::Strategy;
use hashbrown::HashMap;
use zedis_budget::{Component, GlobalBudget};
use zedis_client_pool::{ClientSlots, IoBuf};
use zedis_keyspace::commands::args::Args;
use zedis_resp::reply;

/// Bytes charged per watched key besides the key itself (map entry, list slot, per-client record).
const WATCH_OVERHEAD_BYTES: usize = 64;

/// The reply to EXEC after a queue-time error.
pub const EXECABORT: &[u8] = b"EXECABORT Transaction discarded because of previous errors.";

/// One key a client watches.
#[derive(Debug)]
pub struct WatchedKey {
    /// Database.
    pub db: usize,
    /// Key.
    pub key: Vec<u8>,
    /// The key was in the database (expired or not) when watched, or since then without a change that
    /// dirtied the watcher: what FLUSHDB/SWAPDB compare against (Redis's `dictFind(emptied)`).
    pub existed: bool,
    /// The key was logically expired when watched (Redis's `watchedKey.expired`): its deletion is no change.
    pub expired: bool,
}

/// A client's transaction state.
#[derive(Debug, Default)]
pub struct ClientTx {
    /// Between MULTI and EXEC/DISCARD.
    pub active: bool,
    /// Queued commands, encoded by [`encode_command`].
    pub queue: IoBuf,
    /// Number of queued commands.
    pub queued: usize,
    /// Union of the queued commands' flags (EXEC's OOM and CLIENT PAUSE WRITE checks).
    pub queued_flags: u32,
    /// A command was rejected at queue time: EXEC replies EXECABORT (Redis's CLIENT_DIRTY_EXEC).
    pub aborted: bool,
    /// A watched key changed: EXEC replies a null array (Redis's CLIENT_DIRTY_CAS).
    pub dirty: bool,
    /// Watched keys. Invariant: each `(db, key)` once, and this client is in `Watches::by_db[db][key]`.
    pub watched: Vec<WatchedKey>,
    /// Bytes charged to the budget for `watched`.
    watched_charged_bytes: usize,
    /// CLIENT PAUSE: the command that arrived while paused, encoded, waiting for the pause to end.
    pub postponed: Option<IoBuf>,
}

impl ClientTx {
    /// Whether a command waits for CLIENT PAUSE to end (its client's later input waits too).
    pub fn is_postponed(&self) -> bool {
        self.postponed.is_some()
    }
}

impl Drop for ClientTx {
    fn drop(&mut self) {
        if self.watched_charged_bytes > 0 {
            zedis_budget::current().release(Component::Clients, self.watched_charged_bytes);
        }
    }
}

/// Server-wide transaction state.
#[derive(Debug, Default)]
pub struct Watches {
    /// Per database: watched key to watching client slots.
    by_db: Vec<HashMap<Vec<u8>, Vec<usize>>>,
    /// Number of (client, key) watches.
    watch_count: usize,
    /// EXEC is running its queue: `intercept` lets commands through.
    pub executing: bool,
    /// Clients with a postponed command (CLIENT PAUSE), in arrival order.
    pub postponed: Vec<usize>,
}

/// Appends the command `id` resolved to and its `argv` to `buf`: `id:u32`, `argc:u32`, then `len:u32 bytes`
/// per argument (little endian). The id lets EXEC run the command without resolving its name again.
pub fn encode_command(buf: &mut IoBuf, id: CommandId, argv: &[&[u8]]) {
    let out = buf.vec_mut();
    out.extend_from_slice(&id.to_bits().to_le_bytes());
    out.extend_from_slice(&(argv.len() as u32).to_le_bytes());
    for arg in argv {
        out.extend_from_slice(&(arg.len() as u32).to_le_bytes());
        out.extend_from_slice(arg);
    }
    buf.recharge();
}

/// Decodes the commands [`encode_command`] wrote (a truncated record is dropped).
pub fn decode_commands(mut bytes: &[u8]) -> Vec<(CommandId, Vec<&[u8]>)> {
    fn take_u32(bytes: &mut &[u8]) -> Option<usize> {
        let (head, rest) = bytes.split_first_chunk::<4>()?;
        *bytes = rest;
        Some(u32::from_le_bytes(*head) as usize)
    }
    let mut commands = Vec::new();
    while let Some(id) = take_u32(&mut bytes) {
        let Some(argc) = take_u32(&mut bytes) else {
            return commands;
        };
        let mut argv = Vec::with_capacity(argc.min(bytes.len()));
        for _ in 0..argc {
            let Some(len) = take_u32(&mut bytes) else {
                return commands;
            };
            let (arg, rest) = bytes.split_at(len.min(bytes.len()));
            argv.push(arg);
            bytes = rest;
        }
        commands.push((CommandId::from_bits(id as u32), argv));
    }
    commands
}

/// Called first in `Core::call`: queues the command of a client in MULTI, or postpones it during CLIENT PAUSE.
/// True if the command was handled here; false to run it normally (which also produces any rejection error,
/// after this has flagged the transaction).
pub fn intercept<S: Strategy>(
    core: &mut Core<S>,
    ck: usize,
    argv: &[&[u8]],
    resolved: &Result<&'static Command<S>, Rejection<S>>,
) -> bool {
    if core.engine.tx.executing {
        return false;
    }
    let paused = crate::pause::active(core);
    let Some(client) = core.clients.get_mut(ck) else {
        return false;
    };
    let in_multi = client.tx.active;
    if !in_multi && !paused {
        return false;
    }
    let cmd = match resolved {
        Ok(cmd) => *cmd,
        Err(Rejection::Arity(cmd)) if in_multi && cmd.has(RUNS_QUEUE) => {
            let msg = format!(
                "EXECABORT Transaction discarded because of: {}",
                &crate::dispatch::wrong_arity(cmd.name)[4..]
            );
            discard_transaction(core, ck);
            core.reply_error(ck, msg.as_bytes());
            return true;
        }
        Err(_) => {
            client.tx.aborted |= in_multi;
            return false;
        }
    };
    if !client.authenticated && !cmd.has(NO_AUTH) {
        client.tx.aborted |= in_multi;
        return false;
    }
    let queued = in_multi && !cmd.has(RUNS_IN_MULTI);
    if paused && crate::pause::applies(core, ck, cmd, argv, queued) {
        crate::pause::postpone(core, ck, cmd, argv);
        return true;
    }
    if !queued {
        return false;
    }
    queue_command(core, ck, cmd, argv);
    true
}

/// Queues `argv` for EXEC (or rejects it, flagging the transaction).
fn queue_command<S: Strategy>(core: &mut Core<S>, ck: usize, cmd: &Command<S>, argv: &[&[u8]]) {
    if cmd.has(NO_MULTI) {
        flag(core, ck);
        return core.reply_error(ck, b"ERR Command not allowed inside a transaction");
    }
    if core.budget.limit() != 0 {
        // Redis refuses any queued command while out of memory: the queue would grow without bound.
        // The keys evicted here are logged and announced like any other eviction (`drain_effects`).
        let needed = argv.iter().map(|a| a.len() + 8).sum::<usize>() + 4;
        if core.reclaim(needed, unix_ms()).is_err() {
            flag(core, ck);
            return core.reply_error(ck, zedis_keyspace::commands::OOM);
        }
    }
    let limit = core.settings.query_buffer_bytes_max;
    let flags = crate::pause::command_flags(core, cmd, argv);
    let Some(client) = core.clients.get_mut(ck) else {
        return;
    };
    encode_command(&mut client.tx.queue, cmd.id, argv);
    client.tx.queued += 1;
    client.tx.queued_flags |= flags;
    if client.tx.queue.len() > limit {
        zedis_deploy::warning!(
            "Closing client that reached max query buffer length with its MULTI queue (id={})",
            client.id
        );
        discard_transaction(core, ck);
        core.net.closing.push(ck);
        return;
    }
    core.reply(ck, |out, _| reply::simple(out, b"QUEUED"));
    core.queue_write(ck);
}

/// Marks client `ck`'s transaction as failed at queue time.
pub fn flag<S: Strategy>(core: &mut Core<S>, ck: usize) {
    if let Some(client) = core.clients.get_mut(ck) {
        client.tx.aborted |= client.tx.active;
    }
}

/// Leaves MULTI, dropping the queue (not the watches).
pub fn discard_transaction<S: Strategy>(core: &mut Core<S>, ck: usize) {
    if let Some(client) = core.clients.get_mut(ck) {
        let tx = &mut client.tx;
        tx.active = false;
        tx.aborted = false;
        tx.dirty = false;
        tx.queued = 0;
        tx.queued_flags = 0;
        tx.queue = IoBuf::new();
    }
    unwatch_all(core, ck);
}

/// Forgets client `ck`'s transaction, watches and postponed command (RESET, disconnect).
pub fn forget_client<S: Strategy>(core: &mut Core<S>, ck: usize) {
    discard_transaction(core, ck);
    if let Some(client) = core.clients.get_mut(ck) {
        if client.tx.postponed.take().is_some() {
            core.engine.tx.postponed.retain(|&k| k != ck);
        }
    }
}

/// # Format
/// `MULTI`
pub fn multi<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let Some(client) = core.clients.get_mut(ck) else {
        return;
    };
    if client.tx.active {
        return core.reply_error(ck, b"ERR MULTI calls can not be nested");
    }
    client.tx.active = true;
    core.reply(ck, |out, _| reply::ok(out));
}

/// # Format
/// `DISCARD`
pub fn discard<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    if !core.clients.get(ck).is_some_and(|c| c.tx.active) {
        return core.reply_error(ck, b"ERR DISCARD without MULTI");
    }
    discard_transaction(core, ck);
    core.reply(ck, |out, _| reply::ok(out));
}

/// # Format
/// `EXEC`
pub fn exec<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let Some(client) = core.clients.get(ck) else {
        return;
    };
    if !client.tx.active {
        return core.reply_error(ck, b"ERR EXEC without MULTI");
    }
    let (aborted, flags) = (client.tx.aborted, client.tx.queued_flags);
    let dirty = client.tx.dirty || watched_key_expired(core, ck);
    if aborted || dirty {
        discard_transaction(core, ck);
        if aborted {
            return core.reply_error(ck, EXECABORT);
        }
        return core.reply(ck, reply::null_array);
    }
    if flags & DENYOOM != 0 && core.budget.limit() != 0 && core.reclaim(0, unix_ms()).is_err() {
        discard_transaction(core, ck);
        let msg = format!(
            "EXECABORT Transaction discarded because of: {}",
            String::from_utf8_lossy(zedis_keyspace::commands::OOM)
        );
        return core.reply_error(ck, msg.as_bytes());
    }
    let Some(client) = core.clients.get_mut(ck) else {
        return;
    };
    let queue = std::mem::take(&mut client.tx.queue);
    let count = client.tx.queued;
    discard_transaction(core, ck);
    core.reply(ck, |out, _| reply::array_len(out, count));
    core.engine.tx.executing = true;
    // As Redis's propagatePendingCommands: a transaction that propagates more than one command reaches the
    // AOF and the replicas inside MULTI/EXEC.
    let marks = (
        core.engine.aof.mark(),
        core.engine.repl.mark(),
        core.engine.repl.propagated_ops,
    );
    let table = core.table;
    for (id, argv) in decode_commands(queue.data()) {
        // Resolved when queued: run by table entry, with the per-command memory and AOF checks.
        if let Some(cmd) = table.by_id(id) {
            // As Redis's execCommand: the rules may have changed since the command was queued.
            if let Err(denial) = core.acl_check(ck, cmd, &argv, zedis_acl::LogContext::Multi) {
                core.reply_error(ck, denial.exec_message().as_bytes());
                continue;
            }
            core.call_resolved(ck, cmd, &argv);
        }
    }
    if core.engine.repl.propagated_ops - marks.2 > 1 {
        core.engine.aof.wrap_in_multi(marks.0);
        core.engine.repl.wrap_in_multi(marks.1);
    }
    // Blocked clients are served after EXEC as a whole (`Core::execute`), with the transaction's final state.
    core.engine.tx.executing = false;
    if let Some(client) = core.clients.get_mut(ck) {
        client.last_cmd = "exec";
    }
}

/// Redis's `isWatchedKeyExpired`: a watched key that was live when watched is expired now.
fn watched_key_expired<S: Strategy>(core: &Core<S>, ck: usize) -> bool {
    let Some(client) = core.clients.get(ck) else {
        return false;
    };
    let now_ms = unix_ms();
    client.tx.watched.iter().any(|wk| {
        !wk.expired
            && wk.db < core.engine.ks.db_count()
            && key_expired(core, wk.db, &wk.key, now_ms)
    })
}

/// The key is in the database but its TTL has passed (not yet deleted).
fn key_expired<S: Strategy>(core: &Core<S>, db: usize, key: &[u8], now_ms: i64) -> bool {
    core.engine
        .ks
        .db(db)
        .find(key)
        .and_then(|e| e.expire())
        .is_some_and(|when| when <= now_ms)
}

/// # Format
/// `WATCH key [key ...]`
pub fn watch<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let Some(client) = core.clients.get(ck) else {
        return;
    };
    if client.tx.active {
        return core.reply_error(ck, b"ERR WATCH inside MULTI is not allowed");
    }
    // No point in watching more once a watched key changed.
    if !client.tx.dirty {
        let db = client.db;
        for key in Args::new(argv).rest() {
            watch_key(core, ck, db, key);
        }
    }
    core.reply(ck, |out, _| reply::ok(out));
}

fn watch_key<S: Strategy>(core: &mut Core<S>, ck: usize, db: usize, key: &[u8]) {
    let now_ms = unix_ms();
    let existed = core.engine.ks.db(db).find(key).is_some();
    let expired = key_expired(core, db, key, now_ms);
    let Some(client) = core.clients.get_mut(ck) else {
        return;
    };
    if client.tx.watched.iter().any(|w| w.db == db && w.key == key) {
        return;
    }
    let bytes = key.len() * 2 + WATCH_OVERHEAD_BYTES;
    core.budget.reserve(Component::Clients, bytes);
    client.tx.watched_charged_bytes += bytes;
    client.tx.watched.push(WatchedKey {
        db,
        key: key.to_vec(),
        existed,
        expired,
    });
    let tx = &mut core.engine.tx;
    if tx.by_db.len() <= db {
        tx.by_db.resize_with(db + 1, HashMap::new);
    }
    tx.by_db[db].entry(key.to_vec()).or_default().push(ck);
    tx.watch_count += 1;
    core.engine.fx.track_touched = true;
}

/// # Format
/// `UNWATCH`
pub fn unwatch<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    unwatch_all(core, ck);
    if let Some(client) = core.clients.get_mut(ck) {
        client.tx.dirty = false;
    }
    core.reply(ck, |out, _| reply::ok(out));
}

/// Forgets every key client `ck` watches.
fn unwatch_all<S: Strategy>(core: &mut Core<S>, ck: usize) {
    let Some(client) = core.clients.get_mut(ck) else {
        return;
    };
    if client.tx.watched.is_empty() {
        return;
    }
    let watched = std::mem::take(&mut client.tx.watched);
    core.budget
        .release(Component::Clients, client.tx.watched_charged_bytes);
    client.tx.watched_charged_bytes = 0;
    let tx = &mut core.engine.tx;
    for wk in watched {
        let Some(map) = tx.by_db.get_mut(wk.db) else {
            continue;
        };
        if let Some(watchers) = map.get_mut(wk.key.as_slice()) {
            watchers.retain(|&k| k != ck);
            if watchers.is_empty() {
                map.remove(wk.key.as_slice());
            }
        }
        tx.watch_count -= 1;
    }
    core.engine.fx.track_touched = tx.watch_count > 0;
}

/// Marks the watchers of the keys the last command (or eviction, or expiry) changed as dirty. Called after
/// every command; cheap when no one watches.
pub fn signal_touched<S: Strategy>(core: &mut Core<S>) {
    if core.engine.tx.watch_count == 0 {
        return;
    }
    let fx = &core.engine.fx;
    if fx.touched.is_empty() && !fx.flushed && fx.flushed_dbs.is_empty() {
        return;
    }
    let mut dirty = Vec::new();
    for (db, key) in &fx.touched {
        let Some(watchers) = core
            .engine
            .tx
            .by_db
            .get(*db)
            .and_then(|m| m.get(key.as_slice()))
        else {
            continue;
        };
        let present = core.engine.ks.db(*db).find(key).is_some();
        for &w in watchers {
            let Some(wk) = watched_mut(&mut core.clients, w, *db, key) else {
                continue;
            };
            if wk.expired && !present {
                // The key was already expired when watched and is now deleted: no logical change.
                wk.expired = false;
                wk.existed = false;
                continue;
            }
            dirty.push(w);
        }
    }
    let flushed: Vec<(usize, bool)> = if fx.flushed {
        (0..core.engine.tx.by_db.len())
            .map(|db| (db, false))
            .collect()
    } else {
        fx.flushed_dbs.iter().map(|&db| (db, true)).collect()
    };
    for (db, replaced) in flushed {
        flushed_db_watchers(core, db, replaced, &mut dirty);
    }
    for w in dirty {
        if let Some(client) = core.clients.get_mut(w) {
            client.tx.dirty = true;
        }
        unwatch_all(core, w);
    }
}

/// Redis's `touchAllWatchedKeysInDb`, run after the fact: database `db` was emptied (`replaced` false) or
/// swapped with another (`replaced`: its current contents are the replacement).
fn flushed_db_watchers<S: Strategy>(
    core: &mut Core<S>,
    db: usize,
    replaced: bool,
    dirty: &mut Vec<usize>,
) {
    let Some(map) = core.engine.tx.by_db.get(db) else {
        return;
    };
    if db >= core.engine.ks.db_count() {
        return;
    }
    let now_ms = unix_ms();
    for (key, watchers) in map {
        let in_replacement = replaced && core.engine.ks.db(db).find(key).is_some();
        let replacement_expired = replaced && key_expired(core, db, key, now_ms);
        for &w in watchers {
            let Some(wk) = watched_mut(&mut core.clients, w, db, key) else {
                continue;
            };
            if !wk.existed && !in_replacement {
                continue;
            }
            if wk.expired {
                if !in_replacement {
                    wk.expired = false;
                    wk.existed = false;
                    continue;
                }
                if replacement_expired {
                    continue;
                }
            } else if !wk.existed && replacement_expired {
                wk.expired = true;
                wk.existed = true;
                continue;
            }
            dirty.push(w);
        }
    }
}

fn watched_mut<'c, C: ClientSlots<crate::client::Client>>(
    clients: &'c mut C,
    ck: usize,
    db: usize,
    key: &[u8],
) -> Option<&'c mut WatchedKey> {
    clients
        .get_mut(ck)?
        .tx
        .watched
        .iter_mut()
        .find(|w| w.db == db && w.key == key)
}

impl Watches {
    /// Whether any client watches a key.
    pub fn watching(&self) -> bool {
        self.watch_count > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_through_the_queue_encoding() {
        let mut buf = IoBuf::new();
        let (set, ping) = (CommandId::from_bits(3), CommandId::from_bits(7 << 16 | 2));
        encode_command(&mut buf, set, &[b"SET", b"k", b""]);
        encode_command(&mut buf, ping, &[b"PING"]);
        let commands = decode_commands(buf.data());
        assert_eq!(commands.len(), 2);
        assert_eq!(commands[0], (set, vec![&b"SET"[..], b"k", b""]));
        assert_eq!(commands[1], (ping, vec![&b"PING"[..]]));
    }

    #[test]
    fn truncated_encoding_never_panics() {
        let mut buf = IoBuf::new();
        encode_command(
            &mut buf,
            CommandId::from_bits(1),
            &[b"SET", b"key", b"value"],
        );
        let data = buf.data();
        for cut in 0..data.len() {
            let _ = decode_commands(&data[..cut]);
        }
    }
}
