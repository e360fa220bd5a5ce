//! One entry of the node table ([`Node`]), its flags, failure reports and the links to it.

use crate::bus::NodeName;
use crate::slot::SlotBitmap;

/// Node flags, the values Redis puts on the wire (`CLUSTER_NODE_*`).
pub mod flags {
    /// A master.
    pub const MASTER: u16 = 1;
    /// A replica.
    pub const SLAVE: u16 = 2;
    /// No PONG within the node timeout (from this node's view).
    pub const PFAIL: u16 = 4;
    /// Failing, agreed by a majority of masters.
    pub const FAIL: u16 = 8;
    /// This node.
    pub const MYSELF: u16 = 16;
    /// First PING/PONG not yet exchanged; the name is a placeholder.
    pub const HANDSHAKE: u16 = 32;
    /// Address unknown.
    pub const NOADDR: u16 = 64;
    /// Send MEET rather than PING on the next connection.
    pub const MEET: u16 = 128;
    /// Master eligible for replica migration.
    pub const MIGRATE_TO: u16 = 256;
    /// Replica that will not fail over.
    pub const NOFAILOVER: u16 = 512;

    /// Flag names in CLUSTER NODES / nodes.conf order (`redisNodeFlagsTable`).
    pub const NAMES: [(u16, &str); 8] = [
        (MYSELF, "myself"),
        (MASTER, "master"),
        (SLAVE, "slave"),
        (PFAIL, "fail?"),
        (FAIL, "fail"),
        (HANDSHAKE, "handshake"),
        (NOADDR, "noaddr"),
        (NOFAILOVER, "nofailover"),
    ];
}

/// Index of a node in the state's table (stable while the node exists; reused after it is deleted).
pub type NodeIdx = usize;

/// A link id, chosen by the state machine for outbound links ([`crate::Action::Connect`]) and by
/// [`crate::ClusterState::accept_link`] for inbound ones. The server maps it to its socket.
pub type LinkId = u64;

/// One failure report: `reporter` (a master) said the node was PFAIL or FAIL at `time_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailReport {
    /// The reporting master.
    pub reporter: NodeIdx,
    /// Last time it reported, ms.
    pub time_ms: u64,
}

/// What the state machine knows about a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The node it talks to (`None` for an inbound link whose sender is not known yet).
    pub node: Option<NodeIdx>,
    /// Accepted from the peer (true) or opened by us (false).
    pub inbound: bool,
    /// Creation time, ms.
    pub ctime_ms: u64,
    /// Outbound link whose connection has completed.
    pub connected: bool,
    /// Our address on this connection (learnt from the socket; "" until known).
    pub local_ip: String,
    /// The peer's address on this connection.
    pub peer_ip: String,
}

/// A node of the cluster as this node sees it (Redis's `clusterNode`). Times are Unix ms, 0 = never.
#[derive(Debug, Clone)]
pub struct Node {
    /// 40 lowercase hex characters (random while in HANDSHAKE).
    pub name: NodeName,
    /// When this entry was created.
    pub ctime_ms: u64,
    /// `flags::*`.
    pub flags: u16,
    /// Last configEpoch seen for it.
    pub config_epoch: u64,
    /// Slots it serves; `numslots` is their count.
    pub slots: SlotBitmap,
    /// Number of set bits in `slots`.
    pub numslots: u32,
    /// Its replicas (when a master).
    pub replicas: Vec<NodeIdx>,
    /// Its master (may be `None` for a replica whose master is unknown).
    pub master: Option<NodeIdx>,
    /// Ping counter value when it was last put in a gossip section (avoids duplicates in one packet).
    pub last_in_ping_gossip: u64,
    /// When we sent the PING still awaiting a PONG (0 = none pending).
    pub ping_sent_ms: u64,
    /// When we last received a PONG.
    pub pong_received_ms: u64,
    /// When we last received any packet from it.
    pub data_received_ms: u64,
    /// When FAIL was set.
    pub fail_time_ms: u64,
    /// When we last voted for one of its replicas.
    pub voted_time_ms: u64,
    /// When `repl_offset` was received.
    pub repl_offset_time_ms: u64,
    /// Its replication offset.
    pub repl_offset: u64,
    /// Since when it is an orphaned master (replica migration), 0 = not orphaned.
    pub orphaned_time_ms: u64,
    /// Its IP ("" when unknown).
    pub ip: String,
    /// Its announced hostname ("" when none).
    pub hostname: String,
    /// Client port.
    pub port: u16,
    /// Plaintext client port (TLS clusters).
    pub pport: u16,
    /// Bus port.
    pub cport: u16,
    /// Our outbound link to it.
    pub link: Option<LinkId>,
    /// Its inbound link to us.
    pub inbound_link: Option<LinkId>,
    /// Failure reports about it from masters.
    pub fail_reports: Vec<FailReport>,
}

impl Node {
    pub(crate) fn new(name: NodeName, flags: u16, now_ms: u64) -> Node {
        Node {
            name,
            ctime_ms: now_ms,
            flags,
            config_epoch: 0,
            slots: SlotBitmap::default(),
            numslots: 0,
            replicas: Vec::new(),
            master: None,
            last_in_ping_gossip: 0,
            ping_sent_ms: 0,
            pong_received_ms: 0,
            data_received_ms: 0,
            fail_time_ms: 0,
            voted_time_ms: 0,
            repl_offset_time_ms: 0,
            repl_offset: 0,
            orphaned_time_ms: 0,
            ip: String::new(),
            hostname: String::new(),
            port: 0,
            pport: 0,
            cport: 0,
            link: None,
            inbound_link: None,
            fail_reports: Vec::new(),
        }
    }

    /// The name as text.
    pub fn name_str(&self) -> &str {
        std::str::from_utf8(&self.name).unwrap_or("")
    }
    /// Master flag set.
    pub fn is_master(&self) -> bool {
        self.flags & flags::MASTER != 0
    }
    /// Replica flag set.
    pub fn is_replica(&self) -> bool {
        self.flags & flags::SLAVE != 0
    }
    /// In handshake.
    pub fn in_handshake(&self) -> bool {
        self.flags & flags::HANDSHAKE != 0
    }
    /// PFAIL set.
    pub fn timed_out(&self) -> bool {
        self.flags & flags::PFAIL != 0
    }
    /// FAIL set.
    pub fn failed(&self) -> bool {
        self.flags & flags::FAIL != 0
    }
    /// Address known.
    pub fn has_addr(&self) -> bool {
        self.flags & flags::NOADDR == 0
    }

    /// Heap bytes this entry holds beyond its inline size.
    pub fn heap_bytes(&self) -> usize {
        crate::slot::SLOT_BITMAP_BYTES
            + self.replicas.capacity() * std::mem::size_of::<NodeIdx>()
            + self.ip.capacity()
            + self.hostname.capacity()
            + self.fail_reports.capacity() * std::mem::size_of::<FailReport>()
    }
}

/// Whether `name` is a valid node id (40 bytes of `a-z` / `0-9`, as Redis's `verifyClusterNodeId`).
pub fn valid_node_id(name: &[u8]) -> bool {
    name.len() == 40
        && name
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}
