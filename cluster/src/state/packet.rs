//! Processing a received packet (`clusterProcessPacket`, the gossip section, slot configuration updates,
//! config-epoch collisions).

use super::node::{flags, LinkId, Node, NodeIdx};
use super::{todo, Action, ClusterState};
use crate::bus::{Body, Gossip, Header, Message, MsgType, PingExt, MFLAG0_PAUSED};
use crate::slot::{SlotBitmap, SLOTS};

/// Manual failover timeout (`CLUSTER_MF_TIMEOUT`), ms.
pub(crate) const MF_TIMEOUT_MS: u64 = 5000;

impl ClusterState {
    /// Handles one decoded packet received on `link` at `now_ms` (Unix ms).
    pub fn handle(&mut self, link: LinkId, msg: &Message, now_ms: u64) -> Vec<Action> {
        self.now_ms = now_ms;
        self.process_packet(link, msg);
        self.finish()
    }

    /// `getNodeFromLinkAndMsg`.
    fn sender_of(&mut self, link: LinkId, h: &Header) -> Option<NodeIdx> {
        let info = self.links.get(&link)?.clone();
        if let Some(n) = info.node.filter(|&n| !self.nodes[n].in_handshake()) {
            return Some(n);
        }
        let sender = self.lookup(&h.sender)?;
        if info.node.is_none() && info.inbound {
            self.set_inbound_link(sender, link);
        }
        Some(sender)
    }

    fn process_packet(&mut self, link_id: LinkId, msg: &Message) {
        let Some(link) = self.links.get(&link_id).cloned() else {
            return;
        };
        let h = &msg.header;
        let kind = h.kind;
        if let Some(slot) = self.stats_received.get_mut(usize::from(kind.to_u16())) {
            *slot += 1;
        }
        let now = self.now_ms;
        let sender = self.sender_of(link_id, h);
        if let Some(s) = sender {
            self.nodes[s].data_received_ms = now;
        }
        let (mut sender_current_epoch, mut sender_config_epoch) = (0, 0);
        if let Some(s) = sender.filter(|&s| !self.nodes[s].in_handshake()) {
            sender_current_epoch = h.current_epoch;
            sender_config_epoch = h.config_epoch;
            if sender_current_epoch > self.current_epoch {
                self.current_epoch = sender_current_epoch;
            }
            if sender_config_epoch > self.nodes[s].config_epoch {
                self.nodes[s].config_epoch = sender_config_epoch;
                self.todo |= todo::SAVE_CONFIG | todo::FSYNC_CONFIG;
            }
            self.nodes[s].repl_offset = h.offset;
            self.nodes[s].repl_offset_time_ms = now;
            let me = &self.nodes[self.myself];
            if self.mf.end_ms != 0
                && me.is_replica()
                && me.master == Some(s)
                && h.mflags[0] & MFLAG0_PAUSED != 0
                && self.mf.master_offset.is_none()
            {
                self.mf.master_offset = Some(h.offset);
                self.todo |= todo::HANDLE_MANUALFAILOVER;
                self.log(format!(
                    "Received replication offset for paused master manual failover: {}",
                    h.offset
                ));
            }
        }
        match (&msg.body, kind) {
            (Body::Ping { gossip, exts }, MsgType::Ping | MsgType::Pong | MsgType::Meet) => {
                self.process_ping(link_id, &link, h, gossip, exts, sender, sender_config_epoch)
            }
            (Body::Fail { about }, MsgType::Fail) => match sender {
                Some(_) => {
                    let failing = self.lookup(about);
                    if let Some(f) = failing
                        .filter(|&f| self.nodes[f].flags & (flags::FAIL | flags::MYSELF) == 0)
                    {
                        self.log(format!(
                            "FAIL message received from {} about {}",
                            String::from_utf8_lossy(&h.sender),
                            self.nodes[f].name_str()
                        ));
                        let node = &mut self.nodes[f];
                        node.flags |= flags::FAIL;
                        node.fail_time_ms = now;
                        node.flags &= !flags::PFAIL;
                        self.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE;
                    }
                }
                None => self.log(format!(
                    "Ignoring FAIL message from unknown node {} about {}",
                    String::from_utf8_lossy(&h.sender),
                    String::from_utf8_lossy(about)
                )),
            },
            (Body::Publish { channel, message }, MsgType::Publish | MsgType::PublishShard) => {
                if sender.is_some() {
                    self.actions.push(Action::Deliver {
                        channel: channel.clone(),
                        message: message.clone(),
                        shard: kind == MsgType::PublishShard,
                    });
                }
            }
            (Body::Empty, MsgType::FailoverAuthRequest) => {
                if let Some(s) = sender {
                    self.send_failover_auth_if_needed(s, h);
                }
            }
            (Body::Empty, MsgType::FailoverAuthAck) => {
                if let Some(s) = sender {
                    let n = &self.nodes[s];
                    if n.is_master()
                        && n.numslots > 0
                        && sender_current_epoch >= self.election.auth_epoch
                    {
                        self.election.auth_count += 1;
                        self.todo |= todo::HANDLE_FAILOVER;
                    }
                }
            }
            (Body::Empty, MsgType::MfStart) => {
                let Some(s) = sender.filter(|&s| self.nodes[s].master == Some(self.myself)) else {
                    return;
                };
                self.reset_manual_failover();
                self.mf.end_ms = now + MF_TIMEOUT_MS;
                self.mf.replica = Some(s);
                self.actions.push(Action::PauseWrites {
                    until_ms: now + MF_TIMEOUT_MS * 2,
                });
                self.log(format!(
                    "Manual failover requested by replica {}.",
                    self.nodes[s].name_str()
                ));
                self.send_ping(link_id, MsgType::Ping);
            }
            (
                Body::Update {
                    config_epoch,
                    name,
                    slots,
                },
                MsgType::Update,
            ) => {
                let (Some(_), Some(n)) = (sender, self.lookup(name)) else {
                    return;
                };
                if self.nodes[n].config_epoch >= *config_epoch {
                    return;
                }
                if self.nodes[n].is_replica() {
                    self.set_node_as_master(n);
                }
                self.nodes[n].config_epoch = *config_epoch;
                self.todo |= todo::SAVE_CONFIG | todo::FSYNC_CONFIG;
                self.update_slots_config_with(n, *config_epoch, slots);
            }
            (
                Body::Module {
                    module_id,
                    kind,
                    payload,
                },
                MsgType::Module,
            ) => {
                if let Some(s) = sender {
                    self.actions.push(Action::ModuleMessage {
                        sender: self.nodes[s].name,
                        module_id: *module_id,
                        kind: *kind,
                        payload: payload.clone(),
                    });
                }
            }
            _ => self.log(format!("Received unknown packet type: {}", kind.to_u16())),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn process_ping(
        &mut self,
        link_id: LinkId,
        link: &super::Link,
        h: &Header,
        gossip: &[Gossip],
        exts: &[PingExt],
        sender: Option<NodeIdx>,
        sender_config_epoch: u64,
    ) {
        let now = self.now_ms;
        let kind = h.kind;
        if matches!(kind, MsgType::Ping | MsgType::Meet) {
            let me = self.myself;
            if (kind == MsgType::Meet || self.nodes[me].ip.is_empty())
                && self.cfg.announce_ip.is_none()
                && !link.local_ip.is_empty()
                && link.local_ip != self.nodes[me].ip
            {
                self.nodes[me].ip = link.local_ip.clone();
                self.log(format!(
                    "IP address for this node updated to {}",
                    link.local_ip
                ));
                self.todo |= todo::SAVE_CONFIG;
            }
            if sender.is_none() && kind == MsgType::Meet {
                let name = self.random_name();
                let mut node = Node::new(name, flags::HANDSHAKE, now);
                let announced = h.myip_str();
                node.ip = if announced.is_empty() {
                    link.peer_ip.clone()
                } else {
                    announced
                };
                node.port = h.port;
                node.pport = h.pport;
                node.cport = h.cport;
                self.add_node(node);
                self.todo |= todo::SAVE_CONFIG;
                self.process_gossip(link_id, h, gossip);
            }
            self.send_ping(link_id, MsgType::Pong);
        }

        if !link.inbound {
            let Some(ln) = link.node.filter(|&n| self.nodes.contains(n)) else {
                return;
            };
            if self.nodes[ln].in_handshake() {
                if let Some(s) = sender {
                    if self.update_address_if_needed(s, link_id, h) {
                        self.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE;
                    }
                    self.del_node(ln);
                    return;
                }
                if self.lookup(&h.sender).is_some() || !super::node::valid_node_id(&h.sender) {
                    return;
                }
                self.rename_node(ln, h.sender);
                let node = &mut self.nodes[ln];
                node.flags &= !flags::HANDSHAKE;
                node.flags |= h.flags & (flags::MASTER | flags::SLAVE);
                self.todo |= todo::SAVE_CONFIG;
            } else if self.nodes[ln].name != h.sender {
                let node = &mut self.nodes[ln];
                node.flags |= flags::NOADDR;
                node.ip.clear();
                node.port = 0;
                node.pport = 0;
                node.cport = 0;
                self.free_link(link_id);
                self.todo |= todo::SAVE_CONFIG;
                return;
            }
        }

        let sender = sender.filter(|&s| self.nodes.contains(s));
        if let Some(s) = sender {
            let node = &mut self.nodes[s];
            node.flags = (node.flags & !flags::NOFAILOVER) | (h.flags & flags::NOFAILOVER);
            if kind == MsgType::Ping
                && !node.in_handshake()
                && self.update_address_if_needed(s, link_id, h)
            {
                self.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE;
            }
        }

        if !link.inbound && kind == MsgType::Pong {
            if let Some(ln) = link.node.filter(|&n| self.nodes.contains(n)) {
                let node = &mut self.nodes[ln];
                node.pong_received_ms = now;
                node.ping_sent_ms = 0;
                if node.timed_out() {
                    node.flags &= !flags::PFAIL;
                    self.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE;
                } else if node.failed() {
                    self.clear_node_failure_if_needed(ln);
                }
            }
        }

        let Some(s) = sender else {
            return;
        };
        self.update_role(s, h);

        let sender_master = if self.nodes[s].is_master() {
            Some(s)
        } else {
            self.nodes[s].master
        };
        let dirty_slots = sender_master.is_some_and(|m| self.nodes[m].slots != h.myslots);
        if self.nodes[s].is_master() && dirty_slots {
            self.update_slots_config_with(s, sender_config_epoch, &h.myslots);
        }
        if dirty_slots {
            self.tell_stale_sender(s, sender_config_epoch, &h.myslots);
        }
        let me = self.myself;
        if self.nodes[me].is_master()
            && self.nodes[s].is_master()
            && sender_config_epoch == self.nodes[me].config_epoch
        {
            self.handle_config_epoch_collision(s);
        }
        self.process_gossip(link_id, h, gossip);
        let hostname = exts.iter().rev().find_map(|e| match e {
            PingExt::Hostname(name) => Some(String::from_utf8_lossy(name).into_owned()),
            _ => None,
        });
        let hostname = hostname.unwrap_or_default();
        if self.nodes[s].hostname != hostname {
            self.nodes[s].hostname = hostname;
            self.todo |= todo::SAVE_CONFIG;
        }
    }

    /// Role switch (master ↔ replica) announced in a header.
    fn update_role(&mut self, s: NodeIdx, h: &Header) {
        let Some(master_name) = h.slaveof else {
            self.set_node_as_master(s);
            return;
        };
        let master = self.lookup(&master_name);
        if self.nodes[s].is_master() {
            self.del_node_slots(s);
            let node = &mut self.nodes[s];
            node.flags &= !(flags::MASTER | flags::MIGRATE_TO);
            node.flags |= flags::SLAVE;
            self.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE;
        }
        if let Some(m) = master.filter(|&m| self.nodes[s].master != Some(m) && m != s) {
            if let Some(old) = self.nodes[s].master {
                self.remove_replica(old, s);
            }
            self.add_replica(m, s);
            self.nodes[s].master = Some(m);
            self.todo |= todo::SAVE_CONFIG;
        }
    }

    /// The sender claims slots a master with a greater configEpoch owns: send it an UPDATE about that master.
    fn tell_stale_sender(&mut self, s: NodeIdx, sender_config_epoch: u64, claimed: &SlotBitmap) {
        for slot in 0..SLOTS as u16 {
            if !claimed.get(slot) || self.slot_unclaimed(slot) {
                continue;
            }
            let Some(owner) = self.slot_owner(slot) else {
                continue;
            };
            if owner == s {
                continue;
            }
            if self.nodes[owner].config_epoch > sender_config_epoch {
                if let Some(l) = self.nodes[s].link {
                    self.send_update(l, owner);
                }
                break;
            }
        }
    }

    /// `nodeUpdateAddressIfNeeded`.
    fn update_address_if_needed(&mut self, n: NodeIdx, link_id: LinkId, h: &Header) -> bool {
        if self.nodes[n].link == Some(link_id) {
            return false;
        }
        let announced = h.myip_str();
        let ip = if announced.is_empty() {
            match self.links.get(&link_id) {
                Some(l) if !l.peer_ip.is_empty() => l.peer_ip.clone(),
                _ => return false,
            }
        } else {
            announced
        };
        let node = &self.nodes[n];
        if node.port == h.port && node.cport == h.cport && node.pport == h.pport && node.ip == ip {
            return false;
        }
        let node = &mut self.nodes[n];
        node.ip = ip;
        node.port = h.port;
        node.pport = h.pport;
        node.cport = h.cport;
        node.flags &= !flags::NOADDR;
        if let Some(l) = node.link {
            self.free_link(l);
        }
        let node = &self.nodes[n];
        let text = format!(
            "Address updated for node {}, now {}:{}",
            node.name_str(),
            node.ip,
            node.port
        );
        let me = &self.nodes[self.myself];
        if me.is_replica() && me.master == Some(n) {
            let node = &self.nodes[n];
            self.actions.push(Action::ReplicateFrom {
                node: node.name,
                ip: node.ip.clone(),
                port: node.port,
            });
        }
        self.log(text);
        true
    }

    /// `clusterProcessGossipSection`.
    fn process_gossip(&mut self, link_id: LinkId, h: &Header, gossip: &[Gossip]) {
        let now = self.now_ms;
        let sender = self
            .links
            .get(&link_id)
            .and_then(|l| l.node)
            .or_else(|| self.lookup(&h.sender));
        let sender = sender.filter(|&s| self.nodes.contains(s));
        for g in gossip {
            let fail_flags = g.flags & (flags::FAIL | flags::PFAIL);
            match self.lookup(&g.name) {
                Some(n) => {
                    if let Some(s) =
                        sender.filter(|&s| self.nodes[s].is_master() && n != self.myself)
                    {
                        if fail_flags != 0 {
                            if self.add_failure_report(n, s) {
                                let text = format!(
                                    "Node {} reported node {} as not reachable.",
                                    self.nodes[s].name_str(),
                                    self.nodes[n].name_str()
                                );
                                self.log(text);
                            }
                            self.mark_node_as_failing_if_needed(n);
                        } else {
                            self.del_failure_report(n, s);
                        }
                    }
                    if fail_flags == 0
                        && self.nodes[n].ping_sent_ms == 0
                        && self.failure_reports(n) == 0
                    {
                        let pong_ms = u64::from(g.pong_received_s) * 1000;
                        if pong_ms <= now + 500 && pong_ms > self.nodes[n].pong_received_ms {
                            self.nodes[n].pong_received_ms = pong_ms;
                        }
                    }
                    let ip = g.ip_str();
                    let node = &self.nodes[n];
                    if node.flags & (flags::FAIL | flags::PFAIL) != 0
                        && g.flags & flags::NOADDR == 0
                        && fail_flags == 0
                        && (!node.ip.eq_ignore_ascii_case(&ip)
                            || node.port != g.port
                            || node.cport != g.cport)
                    {
                        if let Some(l) = node.link {
                            self.free_link(l);
                        }
                        let node = &mut self.nodes[n];
                        node.ip = ip;
                        node.port = g.port;
                        node.pport = g.pport;
                        node.cport = g.cport;
                        node.flags &= !flags::NOADDR;
                    }
                }
                None => {
                    if sender.is_some()
                        && g.flags & flags::NOADDR == 0
                        && super::node::valid_node_id(&g.name)
                        && !self.blacklisted(&g.name)
                    {
                        let mut node =
                            Node::new(g.name, g.flags & !(flags::MYSELF | flags::MEET), now);
                        node.ip = g.ip_str();
                        node.port = g.port;
                        node.pport = g.pport;
                        node.cport = g.cport;
                        self.add_node(node);
                    }
                }
            }
        }
    }

    /// `clusterUpdateSlotsConfigWith`.
    pub(crate) fn update_slots_config_with(
        &mut self,
        sender: NodeIdx,
        epoch: u64,
        slots: &SlotBitmap,
    ) {
        let me = self.myself;
        if sender == me {
            self.log("Discarding UPDATE message about myself.".to_string());
            return;
        }
        let curmaster = if self.nodes[me].is_master() {
            Some(me)
        } else {
            self.nodes[me].master
        };
        let mut newmaster = None;
        let mut dirty = Vec::new();
        let (mut sender_slots, mut migrated_our_slots) = (0u32, 0u32);
        for slot in 0..SLOTS as u16 {
            if slots.get(slot) {
                sender_slots += 1;
                let owner = self.slot_owner(slot);
                if owner == Some(sender) {
                    self.owner_not_claiming.set(slot, false);
                    continue;
                }
                if self.importing_from(slot).is_some() {
                    continue;
                }
                if self.slot_unclaimed(slot)
                    || owner.is_some_and(|o| self.nodes[o].config_epoch < epoch)
                {
                    if owner == Some(me) {
                        dirty.push(slot);
                    }
                    if owner.is_some() && owner == curmaster {
                        newmaster = Some(sender);
                        migrated_our_slots += 1;
                    }
                    self.del_slot(slot);
                    self.add_slot(sender, slot);
                    self.owner_not_claiming.set(slot, false);
                    self.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE | todo::FSYNC_CONFIG;
                }
            } else if self.slot_owner(slot) == Some(sender) {
                self.owner_not_claiming.set(slot, true);
            }
        }
        let grand = self.nodes[me].master.and_then(|m| self.nodes[m].master);
        if let (Some(_), Some(cm)) = (newmaster, curmaster) {
            if self.nodes[cm].numslots == 0
                && (self.cfg.allow_replica_migration || sender_slots == migrated_our_slots)
            {
                let text = format!(
                    "Configuration change detected. Reconfiguring myself as a replica of {}",
                    self.nodes[sender].name_str()
                );
                self.log(text);
                self.set_my_master(sender);
                self.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE | todo::FSYNC_CONFIG;
                return;
            }
        }
        if let Some(g) = grand.filter(|&g| g != me) {
            self.log(format!(
                "I'm a sub-replica! Reconfiguring myself as a replica of grandmaster {}",
                self.nodes[g].name_str()
            ));
            self.set_my_master(g);
            self.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE | todo::FSYNC_CONFIG;
        } else {
            self.actions.extend(
                dirty
                    .into_iter()
                    .map(|slot| Action::DeleteKeysInSlot { slot }),
            );
        }
    }

    /// `clusterHandleConfigEpochCollision`: the node with the smaller name moves to a new epoch.
    fn handle_config_epoch_collision(&mut self, s: NodeIdx) {
        let me = self.myself;
        let (sn, mn) = (&self.nodes[s], &self.nodes[me]);
        if sn.config_epoch != mn.config_epoch
            || !sn.is_master()
            || !mn.is_master()
            || sn.name <= mn.name
        {
            return;
        }
        self.current_epoch += 1;
        self.nodes[me].config_epoch = self.current_epoch;
        self.todo |= todo::SAVE_CONFIG | todo::FSYNC_CONFIG;
        let text = format!(
            "WARNING: configEpoch collision with node {}. configEpoch set to {}",
            self.nodes[s].name_str(),
            self.current_epoch
        );
        self.log(text);
    }
}
