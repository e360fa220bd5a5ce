//! A client's cluster state (READONLY, ASKING) and the one routing call the command path makes before a
//! keyed command runs (`processCommand`'s cluster redirection), plus the check for clients blocked on keys
//! (`clusterRedirectBlockedClientIfNeeded`).

use zedis_resp::reply;

use super::ClusterNode;
use crate::route::{Route, RouteQuery};
use crate::slot::key_hash_slot;

/// Redis's reply to READONLY / READWRITE / ASKING / CLUSTER when cluster mode is off.
pub const CLUSTER_DISABLED: &str = "ERR This instance has cluster support disabled";

/// A client's cluster flags (`CLIENT_READONLY`, `CLIENT_ASKING`). Two bytes per client; keep it in the
/// client struct.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientFlags {
    /// READONLY was sent (reads of our master's slots are served on this replica).
    pub readonly: bool,
    /// ASKING was sent: the next command may touch an importing slot.
    pub asking: bool,
}

impl ClientFlags {
    /// READONLY: sets the flag, `+OK`.
    pub fn readonly_command(&mut self, out: &mut Vec<u8>) {
        self.readonly = true;
        reply::ok(out);
    }

    /// READWRITE: clears READONLY, `+OK`.
    pub fn readwrite_command(&mut self, out: &mut Vec<u8>) {
        self.readonly = false;
        reply::ok(out);
    }

    /// ASKING: sets the one-shot flag, `+OK`.
    pub fn asking_command(&mut self, out: &mut Vec<u8>) {
        self.asking = true;
        reply::ok(out);
    }

    /// After every command (Redis's `resetClient`): ASKING lasts one command, or until the end of a
    /// transaction when sent inside MULTI. `was_asking`: the command just run was ASKING; `in_multi`: the
    /// client is still inside MULTI (false after EXEC / DISCARD).
    pub fn after_command(&mut self, was_asking: bool, in_multi: bool) {
        if !was_asking && !in_multi {
            self.asking = false;
        }
    }
}

/// What the router needs to know about the command (from the command table's flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommandKind {
    /// A write command (for EXEC: one of the queued commands writes).
    pub is_write: bool,
    /// Redis's `asking` command flag (RESTORE-ASKING): behaves as if ASKING was sent.
    pub asking_flag: bool,
    /// MIGRATE.
    pub is_migrate: bool,
    /// SSUBSCRIBE, SUNSUBSCRIBE or SPUBLISH.
    pub pubsub_shard: bool,
}

impl ClusterNode {
    /// The routing check of the one command path: call it after the command is resolved and before it
    /// runs (and before it is queued inside MULTI), when the command has keys (key specs or movable keys)
    /// or is EXEC, unless the client is our master (or a script called from it). `keys` are the
    /// command's keys in order (for EXEC: the keys of every queued command); `key_exists` looks a key up
    /// in db 0 without side effects (no expiry, no stats); it is asked only for slots being migrated.
    ///
    /// `Err(reply)` is the whole error reply (`-MOVED 3999 127.0.0.1:6381\r\n`, `-ASK ...`, `-CROSSSLOT
    /// ...`, `-TRYAGAIN ...`, `-CLUSTERDOWN ...`): send it instead of running the command, then flag the
    /// transaction (or discard it, for EXEC) as Redis does.
    pub fn check_route(
        &self,
        keys: &[&[u8]],
        kind: CommandKind,
        client: ClientFlags,
        key_exists: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), Vec<u8>> {
        let query = self.query(kind, client);
        match self.state.route_keys(keys, &query, key_exists).error_text() {
            None => Ok(()),
            Some(text) => Err(error_reply(text.as_bytes())),
        }
    }

    /// The check of each `redis.call` / `server.call` inside a script (`scriptVerifyClusterState`), unless
    /// the script runs for our master: `keys` are that command's keys, `client` the calling client's flags,
    /// `script_slot` the slot the script is bound to (start it at the slot of the EVAL / FCALL's first
    /// declared key, or `None` without keys), `allow_cross_slot` the script's `allow-cross-slot-keys` flag.
    /// `Err` is the script error text, Redis's.
    pub fn check_script_call(
        &self,
        keys: &[&[u8]],
        kind: CommandKind,
        client: ClientFlags,
        key_exists: impl FnMut(&[u8]) -> bool,
        script_slot: &mut Option<u16>,
        allow_cross_slot: bool,
    ) -> Result<(), &'static str> {
        let query = self.query(kind, client);
        match self.state.route_keys(keys, &query, key_exists) {
            Route::Local => {}
            Route::DownReadOnly => {
                return Err("Script attempted to execute a write command while the cluster is down and readonly")
            }
            Route::Down => return Err("Script attempted to execute a command while the cluster is down"),
            _ => return Err("Script attempted to access a non local key in a cluster node"),
        }
        let Some(first) = keys.first() else {
            return Ok(());
        };
        let slot = key_hash_slot(first);
        match *script_slot {
            _ if allow_cross_slot => Ok(()),
            None => {
                *script_slot = Some(slot);
                Ok(())
            }
            Some(bound) if bound == slot => Ok(()),
            Some(_) => Err("Script attempted to access keys that do not hash to the same slot"),
        }
    }

    /// The router's question without its keys (passed apart, so nothing is allocated per command).
    fn query(&self, kind: CommandKind, client: ClientFlags) -> RouteQuery<'static> {
        RouteQuery {
            keys: Vec::new(),
            is_write: kind.is_write,
            asking: client.asking || kind.asking_flag,
            readonly_client: client.readonly,
            pubsub_shard: kind.pubsub_shard,
            is_migrate: kind.is_migrate,
            allow_reads_when_down: self.cfg.allow_reads_when_down,
            allow_pubsubshard_when_down: self.cfg.allow_pubsubshard_when_down,
        }
    }

    /// For a client blocked on keys (lists, sorted sets, streams), checked from the cron and after the
    /// cluster changes: `Some(reply)` means unblock it with that error (the cluster went down, or the
    /// key's slot moved away and is not being imported here). `first_key` is any key it waits on;
    /// `is_write` is the flag of the command it blocked in.
    pub fn redirect_blocked(
        &self,
        first_key: &[u8],
        is_write: bool,
        client: ClientFlags,
    ) -> Option<Vec<u8>> {
        if !self.state.is_ok() {
            return Some(error_reply(Route::Down.error_text()?.as_bytes()));
        }
        let slot = key_hash_slot(first_key);
        let me = self.state.myself_idx();
        let mut owner = self.state.slot_owner(slot);
        let myself = self.state.myself();
        if client.readonly && !is_write && myself.is_replica() && myself.master == owner {
            owner = Some(me);
        }
        if owner == Some(me) || self.state.importing_from(slot).is_some() {
            return None;
        }
        let route = match owner.and_then(|o| self.state.node(o)) {
            None => Route::Unbound,
            Some(n) => Route::Moved {
                slot,
                ip: n.ip.clone(),
                port: n.port,
            },
        };
        Some(error_reply(route.error_text()?.as_bytes()))
    }
}

/// `-<text>\r\n`, newlines in `text` turned into spaces as Redis's `addReplyError` does.
pub(crate) fn error_reply(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 3);
    out.push(b'-');
    out.extend(
        text.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    out.extend_from_slice(b"\r\n");
    out
}
