//! CLUSTER, ASKING, READONLY, READWRITE, and the route check of the command path and of scripts
//! (Redis's `getNodeByQuery` in `processCommand`, `scriptVerifyClusterState`).

use super::{key_exists, KeyspaceView};
use crate::dispatch::ScriptRun;
use crate::server::{cached_ms, Core};
use crate::table::{Command, WRITE};
use crate::Strategy;
use zedis_client_pool::ClientSlots;
use zedis_cluster::runtime::migrate::parse_migrate;
use zedis_cluster::runtime::CLUSTER_DISABLED;
use zedis_cluster::{ClientFlags, CommandCtx, CommandKind};

/// # Format
/// `CLUSTER <subcommand> [<arg> ...]`: the node answers (its reply is a whole RESP reply, errors included).
pub fn cluster_cmd<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let Some(node) = core.cluster.node.as_mut() else {
        return core.reply_error(ck, CLUSTER_DISABLED.as_bytes());
    };
    let proto = core.clients.get(ck).map_or(Default::default(), |c| c.proto);
    let mut view = KeyspaceView(&mut core.engine.ks);
    let mut ctx = CommandCtx {
        proto,
        now_ms: cached_ms() as u64,
        keyspace: &mut view,
    };
    let bytes = node.command(argv, &mut ctx);
    if bytes.first() == Some(&b'-') {
        core.reply_error(ck, &bytes[1..bytes.len().saturating_sub(2)]);
    } else {
        core.reply(ck, |out, _| out.extend_from_slice(&bytes));
    }
    core.cluster_events();
}

fn flag_command<S: Strategy>(
    core: &mut Core<S>,
    ck: usize,
    set: fn(&mut ClientFlags, &mut Vec<u8>),
) {
    if !core.cluster.enabled() {
        return core.reply_error(ck, CLUSTER_DISABLED.as_bytes());
    }
    let Some(client) = core.clients.get_mut(ck) else {
        return;
    };
    set(&mut client.cluster, client.out.vec_mut());
    client.out.recharge();
}

/// # Format
/// `ASKING`
pub fn asking<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    flag_command(core, ck, ClientFlags::asking_command);
}

/// # Format
/// `READONLY`
pub fn readonly<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    flag_command(core, ck, ClientFlags::readonly_command);
}

/// # Format
/// `READWRITE`
pub fn readwrite<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    flag_command(core, ck, ClientFlags::readwrite_command);
}

impl<S: Strategy> Core<S> {
    /// How the route check sees `cmd` (`queued_flags`: EXEC's queued commands' flags).
    fn cluster_kind(&self, cmd: &Command<S>, queued_flags: u32) -> CommandKind {
        let ids = &self.cluster.ids;
        let is = |id: Option<crate::table::CommandId>| id == Some(cmd.id);
        CommandKind {
            is_write: cmd.has(WRITE) || (is(ids.exec) && queued_flags & WRITE != 0),
            asking_flag: is(ids.restore_asking),
            is_migrate: is(ids.migrate),
            pubsub_shard: is(ids.ssubscribe) || is(ids.sunsubscribe) || is(ids.spublish),
        }
    }

    /// The route check before a client's command runs or is queued: `Some(error text)` (MOVED, ASK,
    /// CROSSSLOT, TRYAGAIN, CLUSTERDOWN) when this node must not run it. EXEC checks its queued commands'
    /// keys together.
    pub fn cluster_refusal(&self, ck: usize, cmd: &Command<S>, argv: &[&[u8]]) -> Option<Vec<u8>> {
        let node = self.cluster.node.as_ref()?;
        let client = self.clients.get(ck)?;
        if client.is_master || !client.authenticated {
            return None;
        }
        let is_exec = self.cluster.ids.exec == Some(cmd.id);
        let (keys, queued_flags): (Vec<&[u8]>, u32) = if is_exec {
            if !client.tx.active {
                return None;
            }
            let mut keys = Vec::new();
            for (id, queued) in crate::multi::decode_commands(client.tx.queue.data()) {
                if let Some(queued_cmd) = self.table.by_id(id) {
                    keys.extend(crate::tracking_cmds::command_keys(queued_cmd, &queued));
                }
            }
            (keys, client.tx.queued_flags)
        } else if self.cluster.ids.migrate == Some(cmd.id) {
            // MIGRATE's keys as its own parser finds them (the key, or the KEYS list after an empty key).
            (parse_migrate(argv).ok()?.keys, 0)
        } else if self.cluster_kind(cmd, 0).pubsub_shard {
            // Shard channels are `not_key` in the key specs (so `command_keys` leaves them out) but route
            // like keys: SPUBLISH's one, every channel of (S)SUNSUBSCRIBE.
            let last = if self.cluster.ids.spublish == Some(cmd.id) {
                2
            } else {
                argv.len()
            };
            (argv.get(1..last.min(argv.len())).unwrap_or(&[]).to_vec(), 0)
        } else {
            (crate::tracking_cmds::command_keys(cmd, argv), 0)
        };
        if keys.is_empty() && !is_exec {
            return None;
        }
        let kind = self.cluster_kind(cmd, queued_flags);
        let now_ms = cached_ms();
        let ks = &self.engine.ks;
        node.check_route(&keys, kind, client.cluster, |k| key_exists(ks, k, now_ms))
            .err()
            .map(|reply| reply[1..reply.len() - 2].to_vec())
    }

    /// The cluster check of a command a script runs (Redis's `scriptVerifyClusterState`): `Some(error)`
    /// when refused. `allow_cross_slot`: the script declared `allow-cross-slot-keys`.
    pub fn cluster_script_refusal(
        &self,
        ck: usize,
        run: &mut ScriptRun,
        cmd: &Command<S>,
        argv: &[&[u8]],
        allow_cross_slot: bool,
    ) -> Option<String> {
        let node = self.cluster.node.as_ref()?;
        let client = self.clients.get(ck)?;
        if client.is_master {
            return None;
        }
        let keys = crate::tracking_cmds::command_keys(cmd, argv);
        let kind = self.cluster_kind(cmd, 0);
        let now_ms = cached_ms();
        let ks = &self.engine.ks;
        node.check_script_call(
            &keys,
            kind,
            client.cluster,
            |k| key_exists(ks, k, now_ms),
            &mut run.slot,
            allow_cross_slot,
        )
        .err()
        .map(|text| format!("ERR {text}"))
    }
}
