//! Client-side caching: CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO over the observability engine's
//! [`TrackingTable`](zedis_observe::TrackingTable), and the hooks that feed it (Redis 7.0's `tracking.c`).
//!
//! - After a read-only command of a tracking client (not EVAL_RO/EVALSHA_RO/FCALL_RO themselves, the
//!   commands they run count): its keys are remembered ([`Core::tracking_after_command`]).
//! - Keys modified, expired or evicted (`Effects::touched`/`expired`, drained in `Core::drain_effects`) are
//!   invalidated; FLUSHALL/FLUSHDB invalidate everything ([`Core::tracking_drain`]).
//! - Invalidations are queued and delivered after the top-level command (so the modifying client gets its
//!   reply first, as Redis's `tracking_pending_keys`), and before the loop sleeps with the BCAST batches and
//!   the `tracking-table-max-keys` eviction ([`Core::tracking_before_sleep`]).

use crate::server::Core;
use crate::table::{Command, MOVABLE_KEYS, PUBSUB, READONLY};
use crate::Strategy;
use hashbrown::HashMap;
use zedis_client_pool::ClientSlots;
use zedis_observe::tracking::{ClientConn, ClientDirectory, ClientId, Invalidation};
use zedis_observe::TrackingTable;
use zedis_resp::{reply, Protocol};

/// The server's tracking state: the table, who is connected where, and invalidations to deliver.
#[derive(Debug, Default)]
pub struct Tracking {
    /// The engine's table.
    pub table: TrackingTable,
    /// Client id -> slot key of tracking clients and redirect targets (checked against the slot's id).
    index: HashMap<ClientId, usize>,
    /// Invalidations waiting for the end of the current top-level command.
    pending: Vec<Invalidation>,
    /// The client whose command runs (the modifier of the keys it touches; NOLOOP).
    pub current: Option<ClientId>,
    /// The keys the running script declared: a read-only command it runs makes its caller track these (as
    /// Redis, which remembers the caller's keys, not the command's).
    script_keys: Vec<Vec<u8>>,
}

impl Tracking {
    /// Bytes held (the table, the index, pending messages).
    pub fn bytes(&self) -> usize {
        self.table.bytes()
            + self.index.capacity() * 24
            + self
                .pending
                .iter()
                .map(|i| i.bytes.capacity() + 32)
                .sum::<usize>()
    }

    /// Whether any client tracks.
    pub fn active(&self) -> bool {
        self.table.tracking_clients() > 0
    }
}

/// The connections as the table sees them: by the index, or by a scan of every slot (CLIENT TRACKING's
/// REDIRECT check).
struct Directory<'a, C> {
    clients: &'a C,
    index: &'a HashMap<ClientId, usize>,
    scan: bool,
}

fn conn_of(client: &crate::client::Client) -> ClientConn {
    ClientConn {
        proto: client.proto,
        subscribed: client.in_subscribed_mode(),
    }
}

impl<C: ClientSlots<crate::client::Client>> ClientDirectory for Directory<'_, C> {
    fn lookup(&self, id: ClientId) -> Option<ClientConn> {
        if let Some(client) = self
            .index
            .get(&id)
            .and_then(|&ck| self.clients.get(ck))
            .filter(|c| c.id == id && (c.stream.is_some() || c.on_uring))
        {
            return Some(conn_of(client));
        }
        if !self.scan {
            return None;
        }
        self.clients
            .keys()
            .into_iter()
            .filter_map(|ck| self.clients.get(ck))
            .find(|c| c.id == id && (c.stream.is_some() || c.on_uring))
            .map(conn_of)
    }
}

/// Runs `f` on the table with a directory over the clients.
fn with_table<S: Strategy, R>(
    core: &mut Core<S>,
    scan: bool,
    f: impl FnOnce(&mut TrackingTable, &Directory<'_, S::Clients>, &mut Vec<Invalidation>) -> R,
) -> R {
    let tracking = &mut core.engine.observe.tracking;
    let dir = Directory {
        clients: &core.clients,
        index: &tracking.index,
        scan,
    };
    f(&mut tracking.table, &dir, &mut tracking.pending)
}

fn client_id<S: Strategy>(core: &Core<S>, ck: usize) -> ClientId {
    core.clients.get(ck).map_or(0, |c| c.id)
}

/// # Format
/// `CLIENT TRACKING <ON | OFF> [REDIRECT client-id] [PREFIX prefix ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]`
pub fn tracking<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let id = client_id(core, ck);
    let result = with_table(core, true, |table, dir, _| {
        table.client_tracking(id, &argv[2..], dir)
    });
    if let Err(e) = result {
        return core.reply_error(ck, &e.reply_text());
    }
    if let Some(state) = core.engine.observe.tracking.table.client(id) {
        let redirect = state.redirect;
        core.engine.observe.tracking.index.insert(id, ck);
        if redirect != 0 {
            if let Some(target) = core
                .clients
                .keys()
                .into_iter()
                .find(|&k| core.clients.get(k).is_some_and(|c| c.id == redirect))
            {
                core.engine.observe.tracking.index.insert(redirect, target);
            }
        }
    }
    core.observe_recharge();
    core.reply(ck, |out, _| reply::ok(out));
}

/// # Format
/// `CLIENT CACHING <YES | NO>`
pub fn caching<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let id = client_id(core, ck);
    match core
        .engine
        .observe
        .tracking
        .table
        .client_caching(id, argv[2])
    {
        Ok(()) => core.reply(ck, |out, _| reply::ok(out)),
        Err(e) => core.reply_error(ck, &e.reply_text()),
    }
}

/// # Format
/// `CLIENT GETREDIR`
pub fn getredir<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let id = client_id(core, ck);
    let mut out = Vec::new();
    core.engine
        .observe
        .tracking
        .table
        .reply_getredir(&mut out, id);
    core.reply(ck, |buf, _| buf.extend_from_slice(&out));
}

/// # Format
/// `CLIENT TRACKINGINFO`
pub fn trackinginfo<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let id = client_id(core, ck);
    let proto = core.clients.get(ck).map_or(Protocol::Resp2, |c| c.proto);
    let mut out = Vec::new();
    core.engine
        .observe
        .tracking
        .table
        .reply_trackinginfo(&mut out, proto, id);
    core.reply(ck, |buf, _| buf.extend_from_slice(&out));
}

impl<S: Strategy> Core<S> {
    /// After `cmd` ran for client `ck`: a tracking client's read-only command has its keys remembered.
    pub fn tracking_after_command(&mut self, ck: usize, cmd: &Command<S>, argv: &[&[u8]]) {
        if !self.engine.observe.tracking.active() || !cmd.has(READONLY) {
            return;
        }
        // The scripts themselves are not read: the commands they run are.
        if matches!(cmd.name, "eval_ro" | "evalsha_ro" | "fcall_ro") {
            return;
        }
        let id = client_id(self, ck);
        if self.engine.observe.tracking.table.client(id).is_none() || cmd.has(PUBSUB) {
            return;
        }
        let tracking = &mut self.engine.observe.tracking;
        if self.engine.observe.monitors.in_script {
            let keys: Vec<&[u8]> = tracking.script_keys.iter().map(Vec::as_slice).collect();
            tracking.table.remember_keys(id, &keys);
            return;
        }
        let keys = command_keys(cmd, argv);
        tracking.table.remember_keys(id, &keys);
    }

    /// Before a script runs: the keys it declared (see [`Tracking::script_keys`]).
    pub fn tracking_script_keys(&mut self, keys: &[&[u8]]) {
        let tracking = &mut self.engine.observe.tracking;
        tracking.script_keys.clear();
        if tracking.active() {
            tracking.script_keys.extend(keys.iter().map(|k| k.to_vec()));
        }
    }

    /// After a top-level command of client `ck`: CLIENT CACHING applies to one command only.
    pub fn tracking_command_done(&mut self, ck: usize, cmd: &Command<S>) {
        if !self.engine.observe.tracking.active() {
            return;
        }
        let id = client_id(self, ck);
        let was_client_command = cmd.name.starts_with("client|");
        self.engine
            .observe
            .tracking
            .table
            .command_done(id, false, was_client_command);
    }

    /// In `drain_effects`: invalidates the keys the effects modified (and everything on a flush). Outside a
    /// command (eviction before it, the expire cycle) the messages go out at once, so they precede the reply
    /// of the command that follows, as Redis's.
    pub fn tracking_drain(&mut self) {
        let flushed = self.engine.fx.flushed || !self.engine.fx.flushed_dbs.is_empty();
        if !self.engine.observe.tracking.active() {
            // As Redis's FLUSHALL, a flush also frees what clients that stopped tracking left in the table.
            if flushed && self.engine.observe.tracking.table.total_keys() > 0 {
                with_table(self, false, |table, dir, out| {
                    table.invalidate_all(dir, out)
                });
            }
            return;
        }
        let fx = std::mem::take(&mut self.engine.fx.touched);
        let expired = std::mem::take(&mut self.engine.fx.expired);
        let current = self.engine.observe.tracking.current;
        with_table(self, false, |table, dir, out| {
            for (_, key) in fx.iter().chain(expired.iter()) {
                table.invalidate_key(key, current, current, dir, out);
            }
            if flushed {
                table.invalidate_all(dir, out);
            }
        });
        self.engine.fx.touched = fx;
        self.engine.fx.expired = expired;
        if current.is_none() {
            self.tracking_deliver();
        }
    }

    /// Delivers the queued invalidations (after a top-level command, and before the loop sleeps).
    pub fn tracking_deliver(&mut self) {
        if self.engine.observe.tracking.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.engine.observe.tracking.pending);
        for invalidation in &pending {
            let Some(&ck) = self.engine.observe.tracking.index.get(&invalidation.to) else {
                continue;
            };
            let Some(client) = self.clients.get_mut(ck) else {
                continue;
            };
            if client.id != invalidation.to {
                continue;
            }
            client.out.extend_from_slice(&invalidation.bytes);
            client.out.recharge();
            self.queue_write(ck);
        }
        let mut pending = pending;
        pending.clear();
        self.engine.observe.tracking.pending = pending;
    }

    /// Before the loop sleeps: BCAST batches, the `tracking-table-max-keys` bound, delivery.
    pub fn tracking_before_sleep(&mut self) {
        if !self.engine.observe.tracking.active() {
            return;
        }
        with_table(self, false, |table, dir, out| {
            table.broadcast(dir, out);
            table.limit_used_slots(dir, out);
        });
        self.tracking_deliver();
    }

    /// A client disconnects or RESETs: it stops tracking.
    pub fn tracking_forget(&mut self, ck: usize) {
        let id = client_id(self, ck);
        self.engine.observe.tracking.table.disable(id);
    }

    /// A client disconnects: it is no longer found as a redirect target either.
    pub fn tracking_disconnected(&mut self, ck: usize) {
        let id = client_id(self, ck);
        self.engine.observe.tracking.index.remove(&id);
    }
}

/// The keys `argv` names by `cmd`'s key specs (SORT-like procedures included).
pub fn command_keys<'a, S: Strategy>(cmd: &Command<S>, argv: &[&'a [u8]]) -> Vec<&'a [u8]> {
    let positions: Vec<usize> =
        if let Some(keys) = crate::command_meta::procedure_keys(cmd.name, argv) {
            keys.into_iter().map(|(pos, _)| pos).collect()
        } else if let Some(docs) = crate::command_meta::lookup(cmd.name) {
            crate::command_meta::keys_with_flags(cmd.name, docs, argv)
                .unwrap_or_default()
                .into_iter()
                .map(|(pos, _)| pos)
                .collect()
        } else if cmd.has(MOVABLE_KEYS) {
            Vec::new()
        } else {
            crate::introspect::legacy_keys(cmd.keys, argv)
                .into_iter()
                .map(|(pos, _)| pos)
                .collect()
        };
    positions
        .into_iter()
        .filter_map(|pos| argv.get(pos).copied())
        .collect()
}
