//! Redis Cluster in the server: the `zedis_cluster::ClusterNode` runtime wired into the event loop (README
//! "Cluster core (zedis-cluster)" › "Wiring it into the server"). This file holds the per-server state, the
//! startup, the 100 ms tick, the node's events and the budget charge; `commands.rs` the command rows and the
//! route check, `migrate.rs` MIGRATE and RESTORE-ASKING.

mod commands;
mod migrate;

pub use commands::{asking, cluster_cmd, readonly, readwrite};
pub use migrate::migrate;

use crate::dispatch::Origin;
use crate::server::{cached_ms, Core};
use crate::table::{CommandId, Table};
use crate::Strategy;
use mio::Token;
use zedis_budget::{Component, GlobalBudget};
use zedis_client_pool::ClientSlots;
use zedis_cluster::runtime::migrate::Migrator;
use zedis_cluster::runtime::ServerPorts;
use zedis_cluster::{ClusterNode, Event, LogLevel, NodeConfig};
use zedis_kv_pool::KvAllocator;

/// The bus's tokens start here: far from the clients' `ck + CLIENT_TOKEN_BASE` and from `MASTER_LINK`.
pub const CLUSTER_TOKEN_BASE: usize = usize::MAX / 2;
/// Tokens the bus may use (listeners plus two links per known node).
const CLUSTER_TOKENS_MAX: usize = 4096;
/// Redis runs `clusterCron` ten times a second whatever `hz` is.
pub const TICK_MS: i64 = 100;

/// The command ids the route check needs to tell apart (looked up once, so no name is compared per
/// command).
#[derive(Debug, Default, Clone, Copy)]
pub struct Ids {
    pub(crate) exec: Option<CommandId>,
    pub(crate) asking: Option<CommandId>,
    pub(crate) migrate: Option<CommandId>,
    pub(crate) restore_asking: Option<CommandId>,
    pub(crate) ssubscribe: Option<CommandId>,
    pub(crate) sunsubscribe: Option<CommandId>,
    pub(crate) spublish: Option<CommandId>,
}

impl Ids {
    fn from_table<S: Strategy>(table: &Table<S>) -> Ids {
        let id = |name: &[u8]| table.lookup(name).map(|c| c.id);
        Ids {
            exec: id(b"exec"),
            asking: id(b"asking"),
            migrate: id(b"migrate"),
            restore_asking: id(b"restore-asking"),
            ssubscribe: id(b"ssubscribe"),
            sunsubscribe: id(b"sunsubscribe"),
            spublish: id(b"spublish"),
        }
    }
}

/// The server's cluster state: the node (cluster mode only), MIGRATE's cached connections (any mode), the
/// manual-failover pause and what is charged to the budget.
#[derive(Default)]
pub struct Cluster {
    /// The node, when `cluster-enabled yes`.
    pub node: Option<Box<ClusterNode>>,
    /// MIGRATE's client side (works without cluster mode too).
    pub migrator: Migrator,
    /// Command ids the route check needs.
    pub ids: Ids,
    /// The pause in force before the cluster's manual-failover pause began, restored when it ends.
    paused_before: Option<(i64, bool)>,
    /// When the next tick is due (unix ms).
    next_tick_ms: i64,
    /// Bytes charged to the budget (`Component::Other`).
    charged: usize,
}

impl Cluster {
    /// Whether cluster mode is on.
    pub fn enabled(&self) -> bool {
        self.node.is_some()
    }
}

/// The node's settings from the server's configuration (Redis's directive values and port rules).
fn node_config<S: Strategy>(core: &Core<S>) -> Result<NodeConfig, String> {
    let config = &core.config;
    let ports = ServerPorts {
        port: config.int("port") as u16,
        tls_port: config.int("tls-port") as u16,
        tls_cluster: config.flag("tls-cluster"),
    };
    let bind: Vec<String> = config
        .get("bind")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let dir = std::path::PathBuf::from(config.get("dir"));
    let mut cfg =
        NodeConfig::from_directives(|name| config.get(name).to_string(), ports, bind, &dir)?;
    cfg.token_base = CLUSTER_TOKEN_BASE;
    cfg.tokens_max = CLUSTER_TOKENS_MAX;
    Ok(cfg)
}

impl<S: Strategy> Core<S> {
    /// Startup (after the listeners and the data load): with `cluster-enabled yes`, the slot index, the
    /// node (nodes.conf loaded or created, the bus listening) and its first events.
    pub fn cluster_startup(&mut self) -> anyhow::Result<()> {
        self.cluster.ids = Ids::from_table(self.table);
        if !self.config.flag("cluster-enabled") {
            return Ok(());
        }
        self.engine
            .ks
            .enable_slot_index()
            .map_err(|_| anyhow::anyhow!("Out of memory building the cluster slot index"))?;
        let cfg = node_config(self).map_err(|e| anyhow::anyhow!(e))?;
        let node = ClusterNode::start(cfg, self.net.poll.registry(), cached_ms() as u64)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        self.cluster.node = Some(Box::new(node));
        self.cluster_events();
        Ok(())
    }

    /// CONFIG SET of a cluster directive: the node takes the mutable ones.
    pub fn cluster_apply_config(&mut self) {
        let ports = ServerPorts {
            port: self.config.int("port") as u16,
            tls_port: self.config.int("tls-port") as u16,
            tls_cluster: self.config.flag("tls-cluster"),
        };
        let config = &self.config;
        if let Some(node) = self.cluster.node.as_mut() {
            node.apply_directives(|name| config.get(name).to_string(), ports);
        }
    }

    /// A bus socket's readiness (the event loop's arm for tokens the node owns). False: not a bus token.
    pub fn cluster_ready(&mut self, token: Token, readable: bool, writable: bool) -> bool {
        if !self
            .cluster
            .node
            .as_ref()
            .is_some_and(|n| n.owns_token(token))
        {
            return false;
        }
        let now_ms = cached_ms();
        // The offset a packet carries must be exact (a manual failover waits for the replica to reach the
        // paused master's offset exactly), and a pause it asks for must hold from the next command on.
        let (offset, age) = self.cluster_repl_facts(now_ms);
        if let Some(node) = self.cluster.node.as_mut() {
            node.set_replication(offset, age);
            node.ready(token, readable, writable, now_ms as u64);
        }
        self.cluster_events();
        true
    }

    /// Our replication offset as Redis's `master_repl_offset` (this turn's stream not yet flushed
    /// included) and, on a replica whose link is down, how long it has been down (ms).
    fn cluster_repl_facts(&self, now_ms: i64) -> (u64, u64) {
        let repl = &self.engine.repl;
        let pending = if repl.backlog.is_some() {
            repl.pending.len() as u64
        } else {
            0
        };
        let age = match repl.master.as_ref() {
            Some(link) if !self.repl_link_up() => (now_ms - link.down_since_ms).max(0) as u64,
            _ => 0,
        };
        (repl.master_repl_offset + pending, age)
    }

    /// How long the loop may sleep before the next tick (ms), if cluster mode or MIGRATE needs one.
    pub fn cluster_wait_ms(&self, now_ms: i64) -> Option<i64> {
        self.cluster
            .node
            .as_ref()
            .map(|_| self.cluster.next_tick_ms.saturating_sub(now_ms).max(0))
    }

    /// Every 100 ms: the node's cron (with our replication offset), MIGRATE's idle connections, blocked
    /// clients on slots no longer ours, the budget.
    pub fn cluster_tick(&mut self, now_ms: i64) {
        if now_ms < self.cluster.next_tick_ms {
            return;
        }
        self.cluster.next_tick_ms = now_ms + TICK_MS;
        self.cluster.migrator.cron(now_ms as u64);
        let (offset, age) = self.cluster_repl_facts(now_ms);
        if let Some(node) = self.cluster.node.as_mut() {
            node.set_replication(offset, age);
            node.tick(now_ms as u64);
        }
        self.cluster_redirect_blocked();
        self.cluster_recharge();
    }

    /// Charges the node's state and link buffers and MIGRATE's connections to the budget.
    fn cluster_recharge(&mut self) {
        let bytes =
            self.cluster.node.as_ref().map_or(0, |n| n.bytes()) + self.cluster.migrator.bytes();
        let charged = self.cluster.charged;
        if bytes > charged {
            self.budget.reserve(Component::Other, bytes - charged);
        } else if bytes < charged {
            self.budget.release(Component::Other, charged - bytes);
        }
        self.cluster.charged = bytes;
    }

    /// Does what the node asked (before the loop sleeps, and after each CLUSTER command or PUBLISH).
    pub fn cluster_events(&mut self) {
        let Some(node) = self.cluster.node.as_mut() else {
            return;
        };
        let events = node.take_events();
        let slots_changed = !events.is_empty();
        // Slots leaving our shard are gathered so their shard channels go in one pass over the channels
        // (FLUSHSLOTS may unassign 16384), before any later event, so the order stays Redis's.
        let mut lost = Vec::new();
        for event in events {
            if let Event::UnsubscribeShardSlot { slot } = event {
                lost.push(slot);
                continue;
            }
            self.unsubscribe_shard_slots(&std::mem::take(&mut lost));
            self.cluster_event(event);
        }
        self.unsubscribe_shard_slots(&lost);
        if slots_changed {
            self.cluster_redirect_blocked();
        }
    }

    fn cluster_event(&mut self, event: Event) {
        match event {
            Event::ReplicateFrom { ip, port } => self.repl_set_master(ip, port),
            Event::BecomeMaster => {
                if self.engine.repl.is_replica() {
                    self.repl_unset_master();
                }
            }
            Event::EmptyData => {
                self.engine.ks.flush_all();
            }
            Event::PauseWrites { until_ms } => {
                let engine = &mut self.engine;
                if self.cluster.paused_before.is_none() {
                    self.cluster.paused_before =
                        Some((engine.paused_until_ms, engine.pause_writes_only));
                    engine.pause_writes_only = engine.paused_until_ms == 0
                        || engine.paused_until_ms <= cached_ms()
                        || engine.pause_writes_only;
                }
                engine.paused_until_ms = engine.paused_until_ms.max(until_ms as i64);
            }
            Event::UnpauseWrites => {
                if let Some((until, writes_only)) = self.cluster.paused_before.take() {
                    self.engine.paused_until_ms = until;
                    self.engine.pause_writes_only = writes_only;
                }
            }
            Event::Deliver {
                channel,
                message,
                shard,
            } => {
                self.publish(&channel, &message, shard);
            }
            Event::DeleteKeysInSlot { slot } => {
                self.engine.fx.reset();
                self.engine.fx.track_touched = self.track_touched_needed();
                let deleted = self
                    .engine
                    .ks
                    .delete_keys_in_slot(slot, &mut self.engine.fx);
                self.drain_effects(Origin::Housekeeping);
                if deleted > 0 {
                    zedis_deploy::notice!(
                        "Deleted {deleted} keys of slot {slot} now served elsewhere"
                    );
                }
            }
            Event::UnsubscribeShardSlot { slot } => self.unsubscribe_shard_slots(&[slot]),
            Event::ConfigSaveFailed { error } => {
                zedis_deploy::warning!("Fatal: can't update cluster config file: {error}");
                std::process::exit(1);
            }
            Event::Log { level, text } => match level {
                LogLevel::Warning => zedis_deploy::warning!("{text}"),
                _ => zedis_deploy::notice!("{text}"),
            },
        }
    }

    /// Clients blocked on keys of a slot this node no longer serves get the redirection instead.
    fn cluster_redirect_blocked(&mut self) {
        let Some(node) = self.cluster.node.as_ref() else {
            return;
        };
        if self.engine.blocked.is_empty() {
            return;
        }
        let mut redirects = Vec::new();
        for ck in self.clients.keys() {
            let Some(client) = self.clients.get(ck) else {
                continue;
            };
            let Some(blocked) = client.blocked.as_ref() else {
                continue;
            };
            let Some(key) = blocked.keys.first() else {
                continue;
            };
            let write = self
                .table
                .by_id(blocked.cmd)
                .is_some_and(|c| c.has(crate::table::WRITE));
            if let Some(reply) = node.redirect_blocked(key, write, client.cluster) {
                redirects.push((ck, reply));
            }
        }
        for (ck, reply) in redirects {
            self.unblock_client(ck);
            self.reply_error(ck, &reply[1..reply.len() - 2]);
        }
    }

    /// A manual failover's write pause is in force (the replication stream must not move: no PING, no
    /// GETACK).
    pub fn cluster_failover_pausing(&self) -> bool {
        self.cluster.paused_before.is_some() && crate::pause::active(self)
    }

    /// Shutdown: the node closes its sockets (nodes.conf is already current).
    pub fn cluster_shutdown(&mut self) {
        if let Some(node) = self.cluster.node.as_mut() {
            node.shutdown();
        }
    }

    /// INFO's `cluster_connections` (Redis's formula: two links per other known node).
    pub fn cluster_connections(&self) -> usize {
        self.cluster
            .node
            .as_ref()
            .map_or(0, |n| n.state().known_nodes().saturating_sub(1) * 2)
    }
}

/// db 0 as the node sees it (CLUSTER COUNTKEYSINSLOT, GETKEYSINSLOT, the empty-db checks).
pub struct KeyspaceView<'a, A: KvAllocator>(pub &'a mut zedis_keyspace::Keyspace<A>);

impl<A: KvAllocator> zedis_cluster::Keyspace for KeyspaceView<'_, A> {
    fn db_keys(&mut self) -> u64 {
        self.0.db(0).len() as u64
    }
    fn count_keys_in_slot(&mut self, slot: u16) -> u64 {
        self.0.count_keys_in_slot(slot)
    }
    fn keys_in_slot(&mut self, slot: u16, count: usize) -> Vec<Vec<u8>> {
        self.0.keys_in_slot(slot, count)
    }
}

/// Whether db 0 holds `key`, not logically expired, without touching or expiring it.
pub fn key_exists<A: KvAllocator>(
    ks: &zedis_keyspace::Keyspace<A>,
    key: &[u8],
    now_ms: i64,
) -> bool {
    ks.db(0)
        .find(key)
        .is_some_and(|e| e.expire().is_none_or(|t| t > now_ms))
}

#[cfg(test)]
mod tests {
    use crate::config::{directive_index, DIRECTIVES};

    /// The server's config table has every cluster directive with the cluster crate's default and
    /// mutability, and its older names as aliases.
    #[test]
    fn config_table_has_the_cluster_directives() {
        for d in zedis_cluster::runtime::DIRECTIVES {
            let i = directive_index(d.name).unwrap_or_else(|| panic!("{} missing", d.name));
            assert_eq!(DIRECTIVES[i].default, d.default, "{}", d.name);
            assert_eq!(DIRECTIVES[i].mutable, d.mutable, "{}", d.name);
            if let Some(alias) = d.alias {
                assert_eq!(directive_index(alias), Some(i), "{alias}");
            }
        }
    }
}
