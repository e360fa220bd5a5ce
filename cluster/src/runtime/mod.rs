//! [`ClusterNode`]: the cluster bus of one Zedis node, ready to sit in the server's mio loop.
//!
//! It owns what is not server-specific: the bus listeners (`cluster-port`, or port + 10000, on the
//! server's `bind` addresses), the links (nonblocking mio sockets registered in the server's poller under
//! a token range the server reserves for it), their bounded buffers, connects and reconnects, nodes.conf
//! (loaded at start, saved atomically with fsync where Redis fsyncs), the CLUSTER command
//! ([`ClusterNode::command`]) and the routing check ([`ClusterNode::check_route`]). The server is told
//! only what it must act on: [`Event`]s, drained with [`ClusterNode::take_events`].
//!
//! - `link`: one link's socket and buffers; listener and connect set-up.
//! - `io`: accepting, reading, writing, connecting, closing; performing the state machine's actions.
//! - `command`: CLUSTER and its subcommands; `client`: READONLY / READWRITE / ASKING and the route check.
//! - `settings`: Redis's cluster directives and how they make a [`NodeConfig`].
//! - [`migrate`]: MIGRATE's client side (parsing, cached target connections, RESTORE-ASKING).

mod client;
mod command;
mod io;
mod link;
pub mod migrate;
mod settings;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::path::PathBuf;

use mio::net::TcpListener;
use mio::{Registry, Token};
use slab::Slab;

use crate::bus::FRAME_BYTES_MAX_DEFAULT;
use crate::file::{self, LoadError};
use crate::state::{ClusterState, Config, LinkId};

pub use client::{ClientFlags, CommandKind, CLUSTER_DISABLED};
pub use command::{CommandCtx, Keyspace, HELP, SUBCOMMANDS};
pub use link::parse_bind;
use link::BusLink;
pub use settings::{os_seed, Directive, DirectiveKind, ServerPorts, DIRECTIVES};

/// A cap on one link's send buffer even when `cluster-link-sendbuf-limit` is 0 (Redis: unlimited), so a
/// peer that stops reading cannot make this node buffer without bound.
pub const SENDBUF_BYTES_HARD_MAX: usize = 256 << 20;

/// How a [`ClusterNode`] is set up: the state machine's settings plus the I/O ones.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The state machine's settings (announced ports: `port`, `cport` = `cluster-announce-bus-port` or
    /// else `bus_port`).
    pub cluster: Config,
    /// The bus port to listen on: `cluster-port`, or the client port + 10000 when that is 0 (0 here: an
    /// ephemeral port, for tests).
    pub bus_port: u16,
    /// The server's `bind` addresses, in Redis's syntax (`*`, `-::*`, `127.0.0.1`); the bus listens on
    /// each of them.
    pub bind: Vec<String>,
    /// `bind-source-addr`: local address of outbound bus connections (None: the kernel's choice).
    pub bind_source_addr: Option<IpAddr>,
    /// `cluster-config-file`, resolved against the server's `dir`.
    pub config_file: PathBuf,
    /// `cluster-link-sendbuf-limit` in bytes (0 = only [`SENDBUF_BYTES_HARD_MAX`]).
    pub sendbuf_bytes_max: usize,
    /// Largest bus packet accepted (a PUBLISH carries a whole message).
    pub frame_bytes_max: usize,
    /// First mio token reserved for the bus.
    pub token_base: usize,
    /// Number of tokens reserved (listeners + links); links beyond it are refused.
    pub tokens_max: usize,
    /// `cluster-allow-reads-when-down`.
    pub allow_reads_when_down: bool,
    /// `cluster-allow-pubsubshard-when-down`.
    pub allow_pubsubshard_when_down: bool,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            cluster: Config::default(),
            bus_port: 16379,
            bind: vec!["*".to_string(), "-::*".to_string()],
            bind_source_addr: None,
            config_file: PathBuf::from("nodes.conf"),
            sendbuf_bytes_max: 0,
            frame_bytes_max: FRAME_BYTES_MAX_DEFAULT,
            token_base: 1 << 30,
            tokens_max: 4096,
            allow_reads_when_down: false,
            allow_pubsubshard_when_down: true,
        }
    }
}

/// Log levels, as Redis's `loglevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// `debug`.
    Debug,
    /// `verbose`.
    Verbose,
    /// `notice`.
    Notice,
    /// `warning`.
    Warning,
}

/// What the server must do; everything else the node does itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Replicate from this master (`REPLICAOF ip port`, without touching the cluster state).
    ReplicateFrom {
        /// Master IP.
        ip: String,
        /// Master client port.
        port: u16,
    },
    /// Stop replicating and serve as a master (`REPLICAOF NO ONE`).
    BecomeMaster,
    /// CLUSTER RESET on a replica: empty every database (Redis's `emptyData`).
    EmptyData,
    /// Manual failover, master side: pause client writes until `until_ms` (Unix ms) or [`Event::UnpauseWrites`].
    PauseWrites {
        /// End of the pause.
        until_ms: u64,
    },
    /// End the manual-failover pause.
    UnpauseWrites,
    /// A PUBLISH (or SPUBLISH, `shard`) from another node: deliver to local subscribers only.
    Deliver {
        /// Channel.
        channel: Vec<u8>,
        /// Message.
        message: Vec<u8>,
        /// Shard channel (SPUBLISH).
        shard: bool,
    },
    /// This node lost `slot` while holding keys in it: delete them (and unsubscribe its shard channels).
    DeleteKeysInSlot {
        /// The slot.
        slot: u16,
    },
    /// `slot` left this node's shard: unsubscribe every client from its shard channels, each with
    /// Redis's `sunsubscribe` push (`removeChannelsInSlot`). Several come in slot-deletion order.
    UnsubscribeShardSlot {
        /// The slot.
        slot: u16,
    },
    /// nodes.conf could not be written (Redis exits with "Fatal: can't update cluster config file").
    ConfigSaveFailed {
        /// The error.
        error: String,
    },
    /// A line for the server log.
    Log {
        /// Level.
        level: LogLevel,
        /// Text.
        text: String,
    },
}

/// Why a [`ClusterNode`] cannot start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// nodes.conf is unreadable or corrupted.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A bus listener could not bind.
    #[error("Could not bind the cluster bus port {addr}: {source}")]
    Bind {
        /// `ip:port`.
        addr: String,
        /// The error.
        source: std::io::Error,
    },
    /// A `bind` entry is not an address.
    #[error("Invalid bind address '{0}'")]
    BadBind(String),
    /// Registering with the poller failed, or the token range has no room for the listeners.
    #[error("cluster bus registration: {0}")]
    Register(std::io::Error),
    /// Another node holds the lock on this nodes.conf.
    #[error("Sorry, the cluster configuration file {0} is already used by a different Redis Cluster node. Please make sure that different nodes use different cluster configuration files.")]
    Locked(PathBuf),
    /// The first nodes.conf save failed.
    #[error("Can't save the cluster config file {path}: {source}")]
    Save {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// The cluster side of one node: state machine, bus sockets, nodes.conf, CLUSTER command.
#[derive(Debug)]
pub struct ClusterNode {
    state: ClusterState,
    cfg: NodeConfig,
    registry: Registry,
    listeners: Vec<TcpListener>,
    /// Links by slot; a link's token is `token_base + listeners.len() + slot`.
    links: Slab<BusLink>,
    by_link: std::collections::HashMap<LinkId, usize>,
    events: Vec<Event>,
    /// Times a link was dropped for exceeding its send buffer limit (CLUSTER INFO).
    sendbuf_limit_exceeded: u64,
    /// A save failed: retry on the next tick.
    save_pending: Option<bool>,
    /// Links with input left unread after their per-event share: `(slab key, link id)`.
    rereads: Vec<(usize, LinkId)>,
    /// The nodes.conf lock, held while the node lives.
    _lock: std::fs::File,
}

impl ClusterNode {
    /// Loads (or creates and saves) nodes.conf, binds the bus listeners and registers them under
    /// `cfg.token_base..`. A fresh node is saved right away, as Redis does; a loaded replica gets its
    /// [`Event::ReplicateFrom`] queued.
    pub fn start(
        cfg: NodeConfig,
        registry: &Registry,
        now_ms: u64,
    ) -> Result<ClusterNode, NodeError> {
        let lock = file::lock_nodes_conf(&cfg.config_file)
            .map_err(|source| NodeError::Save {
                path: cfg.config_file.clone(),
                source,
            })?
            .ok_or_else(|| NodeError::Locked(cfg.config_file.clone()))?;
        let (mut state, fresh) =
            file::load_nodes_conf(&cfg.config_file, cfg.cluster.clone(), now_ms)?;
        let registry = registry.try_clone().map_err(NodeError::Register)?;
        let mut listeners = Vec::new();
        for text in &cfg.bind {
            let (ip, optional) =
                parse_bind(text).ok_or_else(|| NodeError::BadBind(text.clone()))?;
            match link::listen(ip, cfg.bus_port) {
                Ok(l) => listeners.push(l),
                Err(e) if optional && is_unavailable(&e) => {}
                Err(source) => {
                    return Err(NodeError::Bind {
                        addr: format!("{ip}:{}", cfg.bus_port),
                        source,
                    })
                }
            }
        }
        if listeners.len() >= cfg.tokens_max {
            return Err(NodeError::Register(std::io::Error::other(
                "the token range has no room for links",
            )));
        }
        for (i, l) in listeners.iter_mut().enumerate() {
            registry
                .register(l, Token(cfg.token_base + i), mio::Interest::READABLE)
                .map_err(NodeError::Register)?;
        }
        if fresh {
            file::save_nodes_conf(&cfg.config_file, &state.to_nodes_conf(), true).map_err(
                |source| NodeError::Save {
                    path: cfg.config_file.clone(),
                    source,
                },
            )?;
        }
        let startup = state.startup_actions();
        let mut node = ClusterNode {
            state,
            cfg,
            registry,
            listeners,
            links: Slab::new(),
            by_link: std::collections::HashMap::new(),
            events: Vec::new(),
            sendbuf_limit_exceeded: 0,
            save_pending: None,
            rereads: Vec::new(),
            _lock: lock,
        };
        let text = if fresh {
            "No cluster configuration found, I'm ".to_string()
        } else {
            "Node configuration loaded, I'm ".to_string()
        };
        node.log(
            LogLevel::Notice,
            format!("{text}{}", node.state.myself().name_str()),
        );
        node.apply(startup, now_ms);
        Ok(node)
    }

    /// The state machine (read-only: CLUSTER replies, INFO, routing).
    pub fn state(&self) -> &ClusterState {
        &self.state
    }

    /// The settings it runs with.
    pub fn config(&self) -> &NodeConfig {
        &self.cfg
    }

    /// CONFIG SET of a `cluster-*` directive: change the settings in place (the bind addresses, ports and
    /// token range are fixed at start; announced addresses and timeouts apply now).
    pub fn reconfigure(&mut self, change: impl FnOnce(&mut NodeConfig)) {
        change(&mut self.cfg);
        self.state.set_config(self.cfg.cluster.clone());
    }

    /// CONFIG SET of a cluster directive: re-reads the ones that may change ([`NodeConfig::apply_mutable`]).
    pub fn apply_directives(&mut self, get: impl Fn(&str) -> String, ports: ServerPorts) {
        self.reconfigure(|cfg| cfg.apply_mutable(&get, ports));
    }

    /// Replication facts the bus carries: this node's replication offset, and on a replica how long
    /// (ms) it has been without its master's stream (0 when connected). Call from the cron.
    pub fn set_replication(&mut self, offset: u64, data_age_ms: u64) {
        self.state.set_repl_offset(offset);
        self.state.set_repl_data_age(data_age_ms);
    }

    /// Every 100 ms from the server's cron (`clusterCron`): pings, failure detection, failover, reconnects,
    /// connect deadlines, a retried nodes.conf save.
    pub fn tick(&mut self, now_ms: u64) {
        self.reread(now_ms);
        self.expire_connects(now_ms);
        let actions = self.state.tick(now_ms);
        if let Some(fsync) = self.save_pending.take() {
            self.save_config(fsync);
        }
        self.apply(actions, now_ms);
    }

    /// Whether `token` is one of the bus's (listener or link).
    pub fn owns_token(&self, token: Token) -> bool {
        (self.cfg.token_base..self.cfg.token_base + self.cfg.tokens_max).contains(&token.0)
    }

    /// A poller event for one of the bus's tokens. (A link that sent more than its per-event share is
    /// read again at the start of the next `ready` or `tick`.)
    pub fn ready(&mut self, token: Token, readable: bool, writable: bool, now_ms: u64) {
        self.reread(now_ms);
        let Some(offset) = token.0.checked_sub(self.cfg.token_base) else {
            return;
        };
        if offset < self.listeners.len() {
            self.accept(offset, now_ms);
        } else {
            self.link_ready(offset - self.listeners.len(), readable, writable, now_ms);
        }
    }

    /// Propagates a local PUBLISH (`shard` false) or SPUBLISH over the bus (the server delivers it locally
    /// itself).
    pub fn publish(&mut self, channel: &[u8], message: &[u8], shard: bool, now_ms: u64) {
        let actions = self.state.publish(channel, message, shard, now_ms);
        self.apply(actions, now_ms);
    }

    /// What the server must act on since the last call, in order. Drain it after each call into the node
    /// (or once per loop turn, before the poller sleeps).
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Heap bytes of the state machine and every link's buffers, for the `GlobalBudget`.
    pub fn bytes(&self) -> usize {
        let links: usize = self.links.iter().map(|(_, l)| l.bytes()).sum();
        self.state.bytes()
            + links
            + self.links.capacity() * std::mem::size_of::<BusLink>()
            + self.by_link.capacity() * 24
            + self.events.capacity() * std::mem::size_of::<Event>()
    }

    /// Open bus sockets (inbound and outbound links).
    pub fn open_links(&self) -> usize {
        self.links.len()
    }

    /// The bus listeners' local addresses.
    pub fn listen_addrs(&self) -> Vec<std::net::SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// Closes every socket (shutdown). nodes.conf is already current (every change was saved).
    pub fn shutdown(&mut self) {
        let ids: Vec<usize> = self.links.iter().map(|(k, _)| k).collect();
        for key in ids {
            let mut link = self.links.remove(key);
            let _ = self.registry.deregister(&mut link.stream);
        }
        self.by_link.clear();
        for l in &mut self.listeners {
            let _ = self.registry.deregister(l);
        }
        self.listeners.clear();
    }

    fn log(&mut self, level: LogLevel, text: String) {
        self.events.push(Event::Log { level, text });
    }

    /// Writes nodes.conf now (`clusterSaveConfig`); on failure an [`Event::ConfigSaveFailed`] and a retry
    /// on the next tick.
    fn save_config(&mut self, fsync: bool) -> bool {
        let text = self.state.to_nodes_conf();
        match file::save_nodes_conf(&self.cfg.config_file, &text, fsync) {
            Ok(()) => true,
            Err(e) => {
                let fsync = fsync || self.save_pending.unwrap_or(false);
                self.save_pending = Some(fsync);
                self.events.push(Event::ConfigSaveFailed {
                    error: format!(
                        "Could not save the cluster config file {}: {e}",
                        self.cfg.config_file.display()
                    ),
                });
                false
            }
        }
    }
}

fn is_unavailable(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EADDRNOTAVAIL) | Some(libc::EAFNOSUPPORT) | Some(libc::EPROTONOSUPPORT)
    )
}
