//! Redis Cluster for Zedis: what a Zedis node needs to sit in a Redis 7.0 cluster beside redis-server
//! nodes (issues 20 and 21): a sans-IO core, and [`ClusterNode`], the runtime that runs it inside the
//! server's mio loop.
//!
//! # Goals
//! - Redis 7.0.15's behaviour and formats: key slots (`keyHashSlot`), the cluster bus (`clusterMsg` v1,
//!   byte for byte), nodes.conf / CLUSTER NODES, CLUSTER INFO / SLOTS / SHARDS replies, and the logic of
//!   `cluster.c`: handshake, gossip, epochs and collisions, slot ownership and UPDATE, PFAIL/FAIL, cluster
//!   state, votes, replica election, manual failover, replica migration.
//! - Sans-IO: [`ClusterState`] takes decoded packets, link events and a clock, and returns [`Action`]s
//!   (send, connect, close, save config, deliver PUBLISH, change replication role, ...). Tests drive several
//!   states over an in-memory network and over real sockets against redis-server.
//! - Bad input never panics: packets are decoded with bounded lengths into typed errors ([`DecodeError`],
//!   [`FrameError`]); a corrupted nodes.conf is refused with its line and problem ([`ConfError`]).
//! - Memory is measurable: [`ClusterNode::bytes`] (state + link buffers), [`ClusterState::bytes`],
//!   [`bus::FrameReader::bytes`].
//!
//! # Non-goals (for the server)
//! - The per-slot key index, MIGRATE, replication itself: the server implements [`Keyspace`] for
//!   COUNTKEYSINSLOT / GETKEYSINSLOT and acts on the [`Event`]s (replicate from, become master, pause
//!   writes, deliver PUBLISH, delete the keys of a lost slot).
//!
//! # How the server drives it
//! [`ClusterNode`] (module [`runtime`]) is the one object the server holds: [`ClusterNode::start`] with the
//! server's `mio::Registry` and a token range (nodes.conf loaded or created, bus listeners bound),
//! [`ClusterNode::ready`] for poller events on its tokens, [`ClusterNode::tick`] every 100 ms,
//! [`ClusterNode::command`] for CLUSTER, [`ClusterNode::check_route`] before a keyed command runs,
//! [`ClusterNode::publish`] after a local PUBLISH / SPUBLISH, and [`ClusterNode::take_events`] for what
//! the server must do. README "Cluster core (zedis-cluster)" has the wiring, step by step.
//!
//! Below it, the sans-IO core can be driven directly (the simulations and `tests/common/bus_node.rs` do):
//! - Startup: [`file::load_nodes_conf`] (a fresh state when nodes.conf is missing or empty), then
//!   [`ClusterState::startup_actions`]; on every [`Action::SaveConfig`] write [`ClusterState::to_nodes_conf`]
//!   with [`file::save_nodes_conf`].
//! - Every 100 ms: [`ClusterState::tick`] with Unix ms.
//! - Bus listener (port + 10000): on accept, [`ClusterState::accept_link`]; per link a [`bus::FrameReader`];
//!   each complete frame to [`ClusterState::handle_frame`]; a [`FrameError`] or EOF →
//!   [`ClusterState::link_closed`]. [`Action::Connect`] → nonblocking connect, then
//!   [`ClusterState::link_connected`] or [`ClusterState::link_closed`].
//! - CLUSTER subcommands call the methods in `state::admin` (meet, update_slots, set_slot_*, replicate,
//!   failover, forget, ...) whose [`AdminError`] displays as Redis's error reply.
//!
//! ```
//! use zedis_cluster::{Action, ClusterState, Config};
//!
//! // Two nodes; A meets B. The "network" here just hands A's first packet to B.
//! let now = 1_700_000_000_000;
//! let mut a = ClusterState::new(Config { port: 7000, cport: 17000, seed: 1, ..Config::default() }, now);
//! let mut b = ClusterState::new(Config { port: 7001, cport: 17001, seed: 2, ..Config::default() }, now);
//! a.meet("127.0.0.1", 7001, 17001, now).unwrap();
//! let connect = a.tick(now + 100).into_iter().find_map(|act| match act {
//!     Action::Connect { link, ip, cport } => Some((link, ip, cport)),
//!     _ => None,
//! });
//! let (link_a, ip, cport) = connect.expect("A connects to B's bus port");
//! assert_eq!((ip.as_str(), cport), ("127.0.0.1", 17001));
//! let link_b = b.accept_link("127.0.0.1", "127.0.0.1", now + 100);
//! let sent = a.link_connected(link_a, "127.0.0.1", now + 100);
//! let Some(Action::Send { packet, .. }) = sent.into_iter().find(|act| matches!(act, Action::Send { .. })) else {
//!     panic!("A sends MEET")
//! };
//! let replies = b.handle_frame(link_b, &packet, now + 101);
//! assert!(replies.iter().any(|act| matches!(act, Action::Send { link, .. } if *link == link_b)), "B answers PONG");
//! assert_eq!(b.known_nodes(), 2); // A, in handshake until B's own PING/PONG exchange completes
//! ```
//!
//! # Module layout
//! - [`slot`]: CRC16, `key_hash_slot`, [`SlotBitmap`].
//! - [`bus`]: the wire format (header, messages, gossip, ping extensions, framing).
//! - [`state`]: the node table and state machine (`table`, `packet`, `cron`, `failover`, `admin`).
//! - `nodes_conf`: nodes.conf and CLUSTER NODES; `replies`: CLUSTER INFO / SLOTS / SHARDS.
//! - [`file`](mod@file): loading nodes.conf and saving it atomically (the only I/O here).
//! - [`runtime`]: [`ClusterNode`], the bus sockets in the server's mio loop, nodes.conf saving and
//!   locking, the CLUSTER command, client flags (READONLY / ASKING) and the routing checks.
//! - [`route`]: where a command runs (`getNodeByQuery`) and its -MOVED / -ASK / -CROSSSLOT / -TRYAGAIN /
//!   -CLUSTERDOWN reply.
//!
//! # Deviations from Redis
//! - nodes.conf loading is stricter: ports, epochs and slots must be numbers in range, a reversed slot range
//!   or an unknown flag is refused with a message (Redis uses `atoi` or panics without detail).
//! - Gossip entries and node names that are not valid ids are ignored rather than added.
//! - Node order in CLUSTER NODES / SHARDS is table order (Redis's is its hash table's order).
#![deny(missing_docs)]

pub mod bus;
mod error;
pub mod file;
mod nodes_conf;
mod replies;
pub mod route;
pub mod runtime;
pub mod slot;
pub mod state;

pub use error::{ConfError, DecodeError, FrameError};
pub use route::{Route, RouteQuery};
pub use runtime::{
    ClientFlags, ClusterNode, CommandCtx, CommandKind, Event, Keyspace, LogLevel, NodeConfig,
    NodeError,
};
pub use slot::{crc16, key_hash_slot, SlotBitmap, SLOTS, SLOT_BITMAP_BYTES};
pub use state::admin::{AdminError, FailoverMode};
pub use state::lifecycle::{ReplicasError, RESET_WITH_KEYS};
pub use state::{Action, ClusterState, Config, LinkId, Node, NodeIdx};
