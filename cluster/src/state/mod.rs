//! The cluster state machine (Redis's `clusterState` and the logic of `cluster.c`), sans-IO.
//!
//! The server drives it with [`ClusterState::tick`] every 100 ms (Redis's `clusterCron`), with each decoded
//! packet through [`ClusterState::handle`], and with link events ([`ClusterState::accept_link`],
//! [`ClusterState::link_connected`], [`ClusterState::link_closed`]). Each call returns the [`Action`]s to
//! perform: packets to send, connections to open or close, config to save, roles to change.
//!
//! - `node`: [`Node`], flags, links. - `table`: node table and slot bookkeeping.
//! - `packet`: processing received packets. - `cron`: the tick, PING scheduling, PFAIL/FAIL, cluster state.
//! - `failover`: votes, replica election, manual failover. - `admin`: what CLUSTER subcommands change.

pub mod admin;
mod cron;
mod failover;
#[cfg(test)]
mod fuzz_tests;
pub mod lifecycle;
pub mod node;
mod packet;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod sim_tests;
mod table;

use std::collections::HashMap;

use slab::Slab;

use crate::bus::{Message, NodeName};
use crate::slot::{SlotBitmap, SLOTS};
pub use node::{flags, FailReport, Link, LinkId, Node, NodeIdx};

/// Sentinel for "no node" in the per-slot tables.
pub(crate) const NO_NODE: u32 = u32::MAX;

/// Settings the state machine reads (Redis's `cluster-*` directives and announced addresses).
#[derive(Debug, Clone)]
pub struct Config {
    /// `cluster-node-timeout`, ms.
    pub node_timeout_ms: u64,
    /// `cluster-require-full-coverage`.
    pub require_full_coverage: bool,
    /// `cluster-replica-validity-factor` (0 = always allowed to fail over).
    pub replica_validity_factor: u64,
    /// `repl-ping-replica-period`, seconds (used with the validity factor).
    pub repl_ping_replica_period_s: u64,
    /// `cluster-allow-replica-migration`.
    pub allow_replica_migration: bool,
    /// `cluster-migration-barrier`.
    pub migration_barrier: u32,
    /// `cluster-replica-no-failover`.
    pub replica_no_failover: bool,
    /// `cluster-announce-ip` (None = learn it from the MEET socket).
    pub announce_ip: Option<String>,
    /// `cluster-announce-hostname` ("" = none).
    pub announce_hostname: String,
    /// Client port announced.
    pub port: u16,
    /// Plaintext port announced (TLS only; 0 otherwise).
    pub pport: u16,
    /// Bus port announced.
    pub cport: u16,
    /// Seed of the state machine's PRNG (node names, gossip choice, election delay). Must differ between
    /// nodes (the server should take it from the OS's random source): equal seeds give equal node names.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            node_timeout_ms: 15000,
            require_full_coverage: true,
            replica_validity_factor: 10,
            repl_ping_replica_period_s: 10,
            allow_replica_migration: true,
            migration_barrier: 1,
            replica_no_failover: false,
            announce_ip: None,
            announce_hostname: String::new(),
            port: 6379,
            pport: 0,
            cport: 16379,
            seed: 0x5eed,
        }
    }
}

/// What the server must do after a call into the state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a TCP connection to `ip:cport` for outbound link `link`; call
    /// [`ClusterState::link_connected`] when it completes or [`ClusterState::link_closed`] when it fails.
    Connect {
        /// The new link.
        link: LinkId,
        /// Peer IP.
        ip: String,
        /// Peer bus port.
        cport: u16,
    },
    /// Write this encoded packet on `link` (queue it if the link is still connecting).
    Send {
        /// The link.
        link: LinkId,
        /// A whole packet.
        packet: Vec<u8>,
    },
    /// Close the socket of `link` (the state machine has forgotten it already).
    Close {
        /// The link.
        link: LinkId,
    },
    /// Write nodes.conf ([`ClusterState::to_nodes_conf`]) atomically, with fsync when asked.
    SaveConfig {
        /// fsync the file.
        fsync: bool,
    },
    /// A PUBLISH / PUBLISHSHARD from the bus: deliver it to local subscribers.
    Deliver {
        /// Channel.
        channel: Vec<u8>,
        /// Message.
        message: Vec<u8>,
        /// PUBLISHSHARD (shard channel).
        shard: bool,
    },
    /// A MODULE message for the module API.
    ModuleMessage {
        /// Sender node.
        sender: NodeName,
        /// Module id, raw.
        module_id: [u8; 8],
        /// Module message type.
        kind: u8,
        /// Payload.
        payload: Vec<u8>,
    },
    /// A replica asked for a manual failover: pause writes until `until_ms` (or [`Action::UnpauseWrites`]).
    PauseWrites {
        /// Pause end, Unix ms.
        until_ms: u64,
    },
    /// End the manual-failover pause.
    UnpauseWrites,
    /// Replicate from this master (`replicationSetMaster`).
    ReplicateFrom {
        /// The master.
        node: NodeName,
        /// Its IP.
        ip: String,
        /// Its client port.
        port: u16,
    },
    /// Stop replicating: this node was promoted (`replicationUnsetMaster`).
    BecomeMaster,
    /// CLUSTER RESET of a replica: stop replicating and empty every database (`emptyData`).
    EmptyData,
    /// This master lost `slot` to a newer configuration while holding keys in it: delete them.
    DeleteKeysInSlot {
        /// The slot.
        slot: u16,
    },
    /// `slot` was unassigned from the shard this node belongs to (Redis's `clusterDelSlot` calling
    /// `removeChannelsInSlot`): unsubscribe every client from the shard channels of that slot, each with a
    /// `sunsubscribe` push.
    UnsubscribeShardSlot {
        /// The slot.
        slot: u16,
    },
    /// `cluster_state` changed.
    StateChanged {
        /// Now ok.
        ok: bool,
    },
    /// A line for the server log (Redis logs the same events at warning/notice level).
    Log(String),
}

/// Election state of a replica (`failover_auth_*` of `clusterState`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Election {
    pub(crate) auth_time_ms: u64,
    pub(crate) auth_count: u32,
    pub(crate) auth_sent: bool,
    pub(crate) auth_rank: u32,
    pub(crate) auth_epoch: u64,
}

/// Manual failover state (`mf_*`).
#[derive(Debug, Clone, Default)]
pub(crate) struct ManualFailover {
    /// Deadline, 0 = none in progress.
    pub(crate) end_ms: u64,
    /// Master side: the replica doing it.
    pub(crate) replica: Option<NodeIdx>,
    /// Replica side: the master's offset once paused.
    pub(crate) master_offset: Option<u64>,
    /// Replica side: caught up, may ask for votes.
    pub(crate) can_start: bool,
}

/// Work deferred to the end of the current call (`clusterDoBeforeSleep`).
pub(crate) mod todo {
    pub(crate) const HANDLE_FAILOVER: u8 = 1;
    pub(crate) const UPDATE_STATE: u8 = 2;
    pub(crate) const SAVE_CONFIG: u8 = 4;
    pub(crate) const FSYNC_CONFIG: u8 = 8;
    pub(crate) const HANDLE_MANUALFAILOVER: u8 = 16;
}

/// The cluster as this node sees it.
#[derive(Debug)]
pub struct ClusterState {
    pub(crate) cfg: Config,
    pub(crate) nodes: Slab<Node>,
    pub(crate) by_name: HashMap<NodeName, NodeIdx>,
    pub(crate) myself: NodeIdx,
    pub(crate) current_epoch: u64,
    pub(crate) last_vote_epoch: u64,
    pub(crate) state_ok: bool,
    /// Masters serving at least one slot.
    pub(crate) size: u32,
    pub(crate) slots: Vec<u32>,
    pub(crate) migrating_to: Vec<u32>,
    pub(crate) importing_from: Vec<u32>,
    pub(crate) owner_not_claiming: SlotBitmap,
    /// FORGET ban: node → Unix ms when it may be re-added.
    pub(crate) blacklist: HashMap<NodeName, u64>,
    pub(crate) links: HashMap<LinkId, Link>,
    pub(crate) next_link: LinkId,
    pub(crate) election: Election,
    pub(crate) mf: ManualFailover,
    pub(crate) stats_sent: [u64; 11],
    pub(crate) stats_received: [u64; 11],
    pub(crate) stats_pfail_nodes: u32,
    pub(crate) rng: u64,
    pub(crate) iteration: u64,
    pub(crate) pings_sent: u64,
    pub(crate) todo: u8,
    pub(crate) first_update_ms: u64,
    pub(crate) among_minority_ms: u64,
    /// This node's replication offset, as the server last reported it.
    pub(crate) my_repl_offset: u64,
    /// Replica side: ms since the link to the master went down (data age), from the server.
    pub(crate) repl_data_age_ms: u64,
    pub(crate) actions: Vec<Action>,
    pub(crate) now_ms: u64,
    /// Links freed for exceeding their send buffer limit (`total_cluster_links_buffer_limit_exceeded`).
    pub(crate) links_buffer_limit_exceeded: u64,
}

impl ClusterState {
    /// A new one-node cluster: myself is a master with a random name and no slots (a fresh nodes.conf).
    pub fn new(cfg: Config, now_ms: u64) -> ClusterState {
        let mut state = Self::empty(cfg, now_ms);
        let name = state.random_name();
        let me = state.add_node(Node::new(name, flags::MYSELF | flags::MASTER, now_ms));
        state.myself = me;
        state.apply_my_address();
        state.todo |= todo::SAVE_CONFIG;
        state
    }

    pub(crate) fn empty(cfg: Config, now_ms: u64) -> ClusterState {
        let seed = cfg.seed | 1;
        ClusterState {
            cfg,
            nodes: Slab::new(),
            by_name: HashMap::new(),
            myself: 0,
            current_epoch: 0,
            last_vote_epoch: 0,
            state_ok: false,
            size: 0,
            slots: vec![NO_NODE; SLOTS],
            migrating_to: vec![NO_NODE; SLOTS],
            importing_from: vec![NO_NODE; SLOTS],
            owner_not_claiming: SlotBitmap::default(),
            blacklist: HashMap::new(),
            links: HashMap::new(),
            next_link: 1,
            election: Election::default(),
            mf: ManualFailover::default(),
            stats_sent: [0; 11],
            stats_received: [0; 11],
            stats_pfail_nodes: 0,
            rng: seed,
            iteration: 0,
            pings_sent: 0,
            todo: 0,
            first_update_ms: 0,
            among_minority_ms: 0,
            my_repl_offset: 0,
            repl_data_age_ms: 0,
            actions: Vec::new(),
            now_ms,
            links_buffer_limit_exceeded: 0,
        }
    }

    /// Copies the announced ports / hostname / IP from the config onto myself.
    pub(crate) fn apply_my_address(&mut self) {
        let (port, pport, cport) = (self.cfg.port, self.cfg.pport, self.cfg.cport);
        let hostname = self.cfg.announce_hostname.clone();
        let ip = self.cfg.announce_ip.clone();
        let me = &mut self.nodes[self.myself];
        me.port = port;
        me.pport = pport;
        me.cport = cport;
        me.hostname = hostname;
        if let Some(ip) = ip {
            me.ip = ip;
        }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Replaces the settings (CONFIG SET of a `cluster-*` directive); announced address changes apply now.
    pub fn set_config(&mut self, cfg: Config) {
        self.cfg = cfg;
        self.apply_my_address();
    }

    /// xorshift64*: deterministic for a given seed, so simulations replay.
    pub(crate) fn rand(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn random_name(&mut self) -> NodeName {
        let mut name = [0u8; 40];
        for chunk in name.chunks_mut(16) {
            let r = self.rand();
            for (i, c) in chunk.iter_mut().enumerate() {
                *c = b"0123456789abcdef"[((r >> (4 * i)) & 15) as usize];
            }
        }
        name
    }

    /// Takes the actions queued so far, after running the deferred work (`clusterBeforeSleep`).
    pub(crate) fn finish(&mut self) -> Vec<Action> {
        self.before_sleep();
        std::mem::take(&mut self.actions)
    }

    pub(crate) fn log(&mut self, text: String) {
        self.actions.push(Action::Log(text));
    }

    // ---- read access -------------------------------------------------------------------------------

    /// This node's name.
    pub fn myself(&self) -> &Node {
        &self.nodes[self.myself]
    }
    /// This node's index.
    pub fn myself_idx(&self) -> NodeIdx {
        self.myself
    }
    /// A node by index.
    pub fn node(&self, idx: NodeIdx) -> Option<&Node> {
        self.nodes.get(idx)
    }
    /// A node by name.
    pub fn lookup(&self, name: &[u8]) -> Option<NodeIdx> {
        if !node::valid_node_id(name) {
            return None;
        }
        let mut key = [0u8; 40];
        key.copy_from_slice(name);
        self.by_name.get(&key).copied()
    }
    /// Every node, in table order.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeIdx, &Node)> {
        self.nodes.iter()
    }
    /// Number of known nodes (`cluster_known_nodes`).
    pub fn known_nodes(&self) -> usize {
        self.nodes.len()
    }
    /// Owner of `slot`.
    pub fn slot_owner(&self, slot: u16) -> Option<NodeIdx> {
        idx_of(*self.slots.get(usize::from(slot))?)
    }
    /// Node `slot` is migrating to (set on the source by SETSLOT MIGRATING).
    pub fn migrating_to(&self, slot: u16) -> Option<NodeIdx> {
        idx_of(*self.migrating_to.get(usize::from(slot))?)
    }
    /// Node `slot` is imported from (set on the target by SETSLOT IMPORTING).
    pub fn importing_from(&self, slot: u16) -> Option<NodeIdx> {
        idx_of(*self.importing_from.get(usize::from(slot))?)
    }
    /// currentEpoch.
    pub fn current_epoch(&self) -> u64 {
        self.current_epoch
    }
    /// lastVoteEpoch.
    pub fn last_vote_epoch(&self) -> u64 {
        self.last_vote_epoch
    }
    /// `cluster_state:ok`.
    pub fn is_ok(&self) -> bool {
        self.state_ok
    }
    /// `cluster_size`.
    pub fn size(&self) -> u32 {
        self.size
    }
    /// The node a link belongs to.
    pub fn link(&self, link: LinkId) -> Option<&Link> {
        self.links.get(&link)
    }

    /// Tells the state machine this node's replication offset (sent in every header; used for ranks).
    pub fn set_repl_offset(&mut self, offset: u64) {
        self.my_repl_offset = offset;
    }

    /// Replica side: how long (ms) this replica has been without its master's stream (0 when connected
    /// and current); checked against `cluster-replica-validity-factor` before an election.
    pub fn set_repl_data_age(&mut self, age_ms: u64) {
        self.repl_data_age_ms = age_ms;
    }

    /// The count CLUSTER INFO shows as `total_cluster_links_buffer_limit_exceeded` (kept by the I/O side).
    pub fn set_links_buffer_limit_exceeded(&mut self, count: u64) {
        self.links_buffer_limit_exceeded = count;
    }

    /// Estimated heap bytes of the whole state (node table, slot tables, links, ban list), for the
    /// memory budget.
    pub fn bytes(&self) -> usize {
        let node_bytes: usize = self
            .nodes
            .iter()
            .map(|(_, n)| std::mem::size_of::<Node>() + n.heap_bytes())
            .sum();
        node_bytes
            + (self.nodes.capacity() - self.nodes.len()) * std::mem::size_of::<Node>()
            + self.by_name.capacity() * (40 + std::mem::size_of::<NodeIdx>() + 8)
            + 3 * self.slots.capacity() * std::mem::size_of::<u32>()
            + crate::slot::SLOT_BITMAP_BYTES
            + self.blacklist.capacity() * (40 + 8 + 8)
            + self.links.capacity()
                * (std::mem::size_of::<LinkId>() + std::mem::size_of::<Link>() + 8)
            + self.actions.capacity() * std::mem::size_of::<Action>()
    }

    /// Decodes one frame from `link` and handles it; a malformed packet is dropped and logged (the link
    /// stays, as in Redis).
    pub fn handle_frame(&mut self, link: LinkId, frame: &[u8], now_ms: u64) -> Vec<Action> {
        match Message::decode(frame) {
            Ok(msg) => self.handle(link, &msg, now_ms),
            Err(err) => {
                self.now_ms = now_ms;
                self.log(format!(
                    "Dropping cluster bus packet from link {link}: {err}"
                ));
                self.finish()
            }
        }
    }
}

pub(crate) fn idx_of(v: u32) -> Option<NodeIdx> {
    (v != NO_NODE).then_some(v as NodeIdx)
}
