//! Link events from the server and the state changes CLUSTER subcommands make (MEET, ADDSLOTS, DELSLOTS,
//! SETSLOT, SET-CONFIG-EPOCH, BUMPEPOCH, FORGET, REPLICATE, FAILOVER, PUBLISH propagation).

use std::net::IpAddr;

use super::node::{flags, LinkId, Node, NodeIdx};
use super::packet::MF_TIMEOUT_MS;
use super::{todo, Action, ClusterState, NO_NODE};
use crate::bus::{Body, Message, MsgType};
use crate::slot::SLOTS;

/// FORGET ban (`CLUSTER_BLACKLIST_TTL`), ms.
const BLACKLIST_TTL_MS: u64 = 60_000;

/// A refused CLUSTER subcommand; `Display` is Redis's error reply text (without the leading `-`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// MEET with a bad address.
    #[error("ERR Invalid node address specified: {0}:{1}")]
    InvalidAddress(String, u16),
    /// ADDSLOTS of an assigned slot.
    #[error("ERR Slot {0} is already busy")]
    SlotBusy(u16),
    /// DELSLOTS of an unassigned slot.
    #[error("ERR Slot {0} is already unassigned")]
    SlotUnassigned(u16),
    /// A slot twice in one ADDSLOTS/DELSLOTS.
    #[error("ERR Slot {0} specified multiple times")]
    SlotTwice(u16),
    /// SETSLOT on a replica.
    #[error("ERR Please use SETSLOT only with masters.")]
    SetSlotOnReplica,
    /// SETSLOT MIGRATING of a slot we do not own.
    #[error("ERR I'm not the owner of hash slot {0}")]
    NotOwner(u16),
    /// SETSLOT IMPORTING of a slot we own.
    #[error("ERR I'm already the owner of hash slot {0}")]
    AlreadyOwner(u16),
    /// SETSLOT MIGRATING/IMPORTING to an unknown node.
    #[error("ERR I don't know about node {0}")]
    DontKnowNode(String),
    /// Unknown node (SETSLOT NODE, FORGET, REPLICATE, ...).
    #[error("ERR Unknown node {0}")]
    UnknownNode(String),
    /// The target is a replica.
    #[error("ERR Target node is not a master")]
    TargetNotMaster,
    /// SETSLOT NODE giving away a slot that still has keys here.
    #[error("ERR Can't assign hashslot {0} to a different node while I still hold keys for this hash slot.")]
    SlotHasKeys(u16),
    /// SET-CONFIG-EPOCH with a negative value.
    #[error("ERR Invalid config epoch specified: {0}")]
    InvalidEpoch(i64),
    /// SET-CONFIG-EPOCH once other nodes are known.
    #[error(
        "ERR The user can assign a config epoch only when the node does not know any other node."
    )]
    EpochWithOtherNodes,
    /// SET-CONFIG-EPOCH when it is set already.
    #[error("ERR Node config epoch is already non-zero")]
    EpochAlreadySet,
    /// FORGET myself.
    #[error("ERR I tried hard but I can't forget myself...")]
    ForgetMyself,
    /// FORGET my master.
    #[error("ERR Can't forget my master!")]
    ForgetMyMaster,
    /// REPLICATE myself.
    #[error("ERR Can't replicate myself")]
    ReplicateMyself,
    /// REPLICATE a replica.
    #[error("ERR I can only replicate a master, not a replica.")]
    ReplicateReplica,
    /// REPLICATE on a master with slots or keys.
    #[error("ERR To set a master the node must be empty and without assigned slots.")]
    NotEmpty,
    /// FAILOVER on a master.
    #[error("ERR You should send CLUSTER FAILOVER to a replica")]
    FailoverOnMaster,
    /// FAILOVER on a replica without a known master.
    #[error("ERR I'm a replica but my master is unknown to me")]
    MasterUnknown,
    /// FAILOVER (no FORCE) with the master down.
    #[error("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE")]
    MasterDown,
}

/// CLUSTER FAILOVER's option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailoverMode {
    /// Coordinated with the master (MFSTART, pause, catch up).
    Default,
    /// Without the master's agreement, still with votes.
    Force,
    /// Without votes: bump the epoch and take the slots.
    Takeover,
}

impl ClusterState {
    // ---- links ------------------------------------------------------------------------------------

    /// An inbound bus connection was accepted from `peer_ip`; `local_ip` is our address on it.
    pub fn accept_link(&mut self, peer_ip: &str, local_ip: &str, now_ms: u64) -> LinkId {
        self.now_ms = now_ms;
        let id = self.new_link(None, true, peer_ip.to_string());
        if let Some(l) = self.links.get_mut(&id) {
            l.local_ip = local_ip.to_string();
        }
        id
    }

    /// An outbound connection from [`Action::Connect`] completed; `local_ip` is our address on it. Sends
    /// the first MEET or PING (`clusterLinkConnectHandler`).
    pub fn link_connected(&mut self, link: LinkId, local_ip: &str, now_ms: u64) -> Vec<Action> {
        self.now_ms = now_ms;
        let Some(info) = self.links.get_mut(&link) else {
            return self.finish();
        };
        info.connected = true;
        info.local_ip = local_ip.to_string();
        if let Some(n) = info.node.filter(|&n| self.nodes.contains(n)) {
            let old_ping_sent = self.nodes[n].ping_sent_ms;
            let kind = if self.nodes[n].flags & flags::MEET != 0 {
                MsgType::Meet
            } else {
                MsgType::Ping
            };
            self.send_ping(link, kind);
            if old_ping_sent != 0 {
                self.nodes[n].ping_sent_ms = old_ping_sent;
            }
            self.nodes[n].flags &= !flags::MEET;
        }
        self.finish()
    }

    /// A link failed to connect, hit an I/O error or was closed by the peer (`handleLinkIOError`).
    pub fn link_closed(&mut self, link: LinkId, now_ms: u64) -> Vec<Action> {
        self.now_ms = now_ms;
        if let Some(info) = self.links.remove(&link) {
            if let Some(n) = info.node.and_then(|n| self.nodes.get_mut(n)) {
                if n.link == Some(link) {
                    n.link = None;
                    // A connection that never came up still counts as a ping in flight, so an unreachable
                    // node times out (Redis does this when connect() fails synchronously).
                    if !info.connected && n.ping_sent_ms == 0 {
                        n.ping_sent_ms = now_ms;
                    }
                } else if n.inbound_link == Some(link) {
                    n.inbound_link = None;
                }
            }
        }
        self.finish()
    }

    // ---- CLUSTER subcommands ------------------------------------------------------------------------

    /// CLUSTER MEET: start a handshake with `ip:port` (bus port `cport`); a handshake already in progress
    /// with that address is not an error (Redis replies OK).
    pub fn meet(
        &mut self,
        ip: &str,
        port: u16,
        cport: u16,
        now_ms: u64,
    ) -> Result<Vec<Action>, AdminError> {
        self.now_ms = now_ms;
        let norm: IpAddr = ip
            .parse()
            .map_err(|_| AdminError::InvalidAddress(ip.to_string(), port))?;
        if port == 0 || cport == 0 {
            return Err(AdminError::InvalidAddress(ip.to_string(), port));
        }
        let norm = norm.to_string();
        let busy = self.nodes.iter().any(|(_, n)| {
            n.in_handshake()
                && n.ip.eq_ignore_ascii_case(&norm)
                && n.port == port
                && n.cport == cport
        });
        if !busy {
            let name = self.random_name();
            let mut node = Node::new(name, flags::HANDSHAKE | flags::MEET, now_ms);
            node.ip = norm;
            node.port = port;
            node.cport = cport;
            self.add_node(node);
        }
        Ok(self.finish())
    }

    /// CLUSTER ADDSLOTS / ADDSLOTSRANGE (`del` false) and DELSLOTS / DELSLOTSRANGE (`del` true).
    pub fn update_slots(
        &mut self,
        slots: &[u16],
        del: bool,
        now_ms: u64,
    ) -> Result<Vec<Action>, AdminError> {
        self.now_ms = now_ms;
        let mut seen = vec![false; SLOTS];
        for &slot in slots {
            let assigned = self
                .slots
                .get(usize::from(slot))
                .is_some_and(|&o| o != NO_NODE);
            if del && !assigned {
                return Err(AdminError::SlotUnassigned(slot));
            }
            if !del && assigned {
                return Err(AdminError::SlotBusy(slot));
            }
            if std::mem::replace(&mut seen[usize::from(slot)], true) {
                return Err(AdminError::SlotTwice(slot));
            }
        }
        let me = self.myself;
        for &slot in slots {
            self.importing_from[usize::from(slot)] = NO_NODE;
            if del {
                self.del_slot(slot);
            } else {
                self.add_slot(me, slot);
            }
        }
        self.todo |= todo::UPDATE_STATE | todo::SAVE_CONFIG;
        Ok(self.finish())
    }

    fn master_node_arg(
        &self,
        name: &[u8],
        unknown: fn(String) -> AdminError,
    ) -> Result<NodeIdx, AdminError> {
        let n = self
            .lookup(name)
            .ok_or_else(|| unknown(String::from_utf8_lossy(name).into_owned()))?;
        if self.nodes[n].is_replica() {
            return Err(AdminError::TargetNotMaster);
        }
        Ok(n)
    }

    /// CLUSTER SETSLOT `slot` MIGRATING `node`.
    pub fn set_slot_migrating(
        &mut self,
        slot: u16,
        node: &[u8],
        now_ms: u64,
    ) -> Result<Vec<Action>, AdminError> {
        self.setslot_prelude(now_ms)?;
        if self.slot_owner(slot) != Some(self.myself) {
            return Err(AdminError::NotOwner(slot));
        }
        let n = self.master_node_arg(node, AdminError::DontKnowNode)?;
        self.migrating_to[usize::from(slot)] = n as u32;
        self.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE;
        Ok(self.finish())
    }

    /// CLUSTER SETSLOT `slot` IMPORTING `node`.
    pub fn set_slot_importing(
        &mut self,
        slot: u16,
        node: &[u8],
        now_ms: u64,
    ) -> Result<Vec<Action>, AdminError> {
        self.setslot_prelude(now_ms)?;
        if self.slot_owner(slot) == Some(self.myself) {
            return Err(AdminError::AlreadyOwner(slot));
        }
        let n = self.master_node_arg(node, AdminError::DontKnowNode)?;
        self.importing_from[usize::from(slot)] = n as u32;
        self.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE;
        Ok(self.finish())
    }

    /// CLUSTER SETSLOT `slot` STABLE.
    pub fn set_slot_stable(&mut self, slot: u16, now_ms: u64) -> Result<Vec<Action>, AdminError> {
        self.setslot_prelude(now_ms)?;
        self.importing_from[usize::from(slot)] = NO_NODE;
        self.migrating_to[usize::from(slot)] = NO_NODE;
        self.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE;
        Ok(self.finish())
    }

    /// CLUSTER SETSLOT `slot` NODE `node`; `keys_in_slot` is this node's key count in the slot.
    pub fn set_slot_node(
        &mut self,
        slot: u16,
        node: &[u8],
        keys_in_slot: u64,
        now_ms: u64,
    ) -> Result<Vec<Action>, AdminError> {
        self.setslot_prelude(now_ms)?;
        let n = self.master_node_arg(node, AdminError::UnknownNode)?;
        let me = self.myself;
        let was_mine = self.slot_owner(slot) == Some(me);
        if was_mine && n != me && keys_in_slot != 0 {
            return Err(AdminError::SlotHasKeys(slot));
        }
        if keys_in_slot == 0 {
            self.migrating_to[usize::from(slot)] = NO_NODE;
        }
        self.del_slot(slot);
        self.add_slot(n, slot);
        if was_mine && n != me && self.nodes[me].numslots == 0 && self.cfg.allow_replica_migration {
            self.log(format!(
                "Configuration change detected. Reconfiguring myself as a replica of {}",
                self.nodes[n].name_str()
            ));
            self.set_my_master(n);
            self.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE | todo::FSYNC_CONFIG;
        }
        if n == me && self.importing_from(slot).is_some() {
            if self.bump_epoch_without_consensus() {
                self.log(format!("configEpoch updated after importing slot {slot}"));
            }
            self.importing_from[usize::from(slot)] = NO_NODE;
            self.broadcast_pong(false);
        }
        self.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE;
        Ok(self.finish())
    }

    fn setslot_prelude(&mut self, now_ms: u64) -> Result<(), AdminError> {
        self.now_ms = now_ms;
        if self.nodes[self.myself].is_replica() {
            return Err(AdminError::SetSlotOnReplica);
        }
        Ok(())
    }

    /// `clusterBumpConfigEpochWithoutConsensus`: true when the epoch was bumped (BUMPED), false (STILL).
    pub(crate) fn bump_epoch_without_consensus(&mut self) -> bool {
        let max = self
            .nodes
            .iter()
            .map(|(_, n)| n.config_epoch)
            .max()
            .unwrap_or(0)
            .max(self.current_epoch);
        let me = self.myself;
        if self.nodes[me].config_epoch == 0 || self.nodes[me].config_epoch != max {
            self.current_epoch += 1;
            self.nodes[me].config_epoch = self.current_epoch;
            self.todo |= todo::SAVE_CONFIG | todo::FSYNC_CONFIG;
            self.log(format!("New configEpoch set to {}", self.current_epoch));
            true
        } else {
            false
        }
    }

    /// CLUSTER BUMPEPOCH: `(bumped, my config epoch)` → `+BUMPED n` / `+STILL n`.
    pub fn bump_epoch(&mut self, now_ms: u64) -> (bool, u64, Vec<Action>) {
        self.now_ms = now_ms;
        let bumped = self.bump_epoch_without_consensus();
        let epoch = self.nodes[self.myself].config_epoch;
        (bumped, epoch, self.finish())
    }

    /// CLUSTER SET-CONFIG-EPOCH.
    pub fn set_config_epoch(&mut self, epoch: i64, now_ms: u64) -> Result<Vec<Action>, AdminError> {
        self.now_ms = now_ms;
        if epoch < 0 {
            return Err(AdminError::InvalidEpoch(epoch));
        }
        if self.nodes.len() > 1 {
            return Err(AdminError::EpochWithOtherNodes);
        }
        let me = self.myself;
        if self.nodes[me].config_epoch != 0 {
            return Err(AdminError::EpochAlreadySet);
        }
        self.nodes[me].config_epoch = epoch as u64;
        self.log(format!(
            "configEpoch set to {epoch} via CLUSTER SET-CONFIG-EPOCH"
        ));
        self.current_epoch = self.current_epoch.max(epoch as u64);
        self.todo |= todo::UPDATE_STATE | todo::SAVE_CONFIG;
        Ok(self.finish())
    }

    /// CLUSTER FORGET: delete the node and ban it for 60 s.
    pub fn forget(&mut self, node: &[u8], now_ms: u64) -> Result<Vec<Action>, AdminError> {
        self.now_ms = now_ms;
        let n = self
            .lookup(node)
            .ok_or_else(|| AdminError::UnknownNode(String::from_utf8_lossy(node).into()))?;
        let me = self.myself;
        if n == me {
            return Err(AdminError::ForgetMyself);
        }
        if self.nodes[me].is_replica() && self.nodes[me].master == Some(n) {
            return Err(AdminError::ForgetMyMaster);
        }
        self.blacklist.retain(|_, &mut until| until >= now_ms);
        self.blacklist
            .insert(self.nodes[n].name, now_ms + BLACKLIST_TTL_MS);
        self.del_node(n);
        self.todo |= todo::UPDATE_STATE | todo::SAVE_CONFIG;
        Ok(self.finish())
    }

    /// CLUSTER REPLICATE; `db_empty` is whether this node holds no keys.
    pub fn replicate(
        &mut self,
        node: &[u8],
        db_empty: bool,
        now_ms: u64,
    ) -> Result<Vec<Action>, AdminError> {
        self.now_ms = now_ms;
        let n = self
            .lookup(node)
            .ok_or_else(|| AdminError::UnknownNode(String::from_utf8_lossy(node).into()))?;
        let me = self.myself;
        if n == me {
            return Err(AdminError::ReplicateMyself);
        }
        if self.nodes[n].is_replica() {
            return Err(AdminError::ReplicateReplica);
        }
        if self.nodes[me].is_master() && (self.nodes[me].numslots != 0 || !db_empty) {
            return Err(AdminError::NotEmpty);
        }
        self.set_my_master(n);
        self.todo |= todo::UPDATE_STATE | todo::SAVE_CONFIG;
        Ok(self.finish())
    }

    /// CLUSTER FAILOVER [FORCE|TAKEOVER].
    pub fn failover(&mut self, mode: FailoverMode, now_ms: u64) -> Result<Vec<Action>, AdminError> {
        self.now_ms = now_ms;
        let me = self.myself;
        if self.nodes[me].is_master() {
            return Err(AdminError::FailoverOnMaster);
        }
        let master = self.nodes[me].master.ok_or(AdminError::MasterUnknown)?;
        if mode == FailoverMode::Default
            && (self.nodes[master].failed() || self.nodes[master].link.is_none())
        {
            return Err(AdminError::MasterDown);
        }
        self.reset_manual_failover();
        self.mf.end_ms = now_ms + MF_TIMEOUT_MS;
        match mode {
            FailoverMode::Takeover => {
                self.log("Taking over the master (user request).".to_string());
                self.bump_epoch_without_consensus();
                self.failover_replace_my_master();
            }
            FailoverMode::Force => {
                self.log("Forced failover user request accepted.".to_string());
                self.mf.can_start = true;
            }
            FailoverMode::Default => {
                self.log("Manual failover user request accepted.".to_string());
                if let Some(l) = self.nodes[master].link {
                    let header = self.build_header(MsgType::MfStart);
                    self.send_message(
                        l,
                        &Message {
                            header,
                            body: Body::Empty,
                        },
                    );
                }
            }
        }
        Ok(self.finish())
    }

    /// PUBLISH / SPUBLISH propagation: broadcast to every node (`shard` false) or to this shard's nodes.
    pub fn publish(
        &mut self,
        channel: &[u8],
        message: &[u8],
        shard: bool,
        now_ms: u64,
    ) -> Vec<Action> {
        self.now_ms = now_ms;
        let kind = if shard {
            MsgType::PublishShard
        } else {
            MsgType::Publish
        };
        let header = self.build_header(kind);
        let msg = Message {
            header,
            body: Body::Publish {
                channel: channel.to_vec(),
                message: message.to_vec(),
            },
        };
        if shard {
            let me = self.myself;
            let primary = self.nodes[me]
                .master
                .filter(|_| self.nodes[me].is_replica())
                .unwrap_or(me);
            let mut members = self.nodes[primary].replicas.clone();
            members.push(primary);
            let links: Vec<LinkId> = members
                .into_iter()
                .filter(|&n| n != me)
                .filter_map(|n| self.nodes[n].link)
                .collect();
            for l in links {
                self.send_message(l, &msg);
            }
        } else {
            self.broadcast(&msg);
        }
        self.finish()
    }

    /// CLUSTER COUNT-FAILURE-REPORTS.
    pub fn count_failure_reports(&mut self, node: &[u8], now_ms: u64) -> Result<usize, AdminError> {
        self.now_ms = now_ms;
        let n = self
            .lookup(node)
            .ok_or_else(|| AdminError::UnknownNode(String::from_utf8_lossy(node).into()))?;
        Ok(self.failure_reports(n))
    }
}
