//! Node table and slot bookkeeping (`clusterAddNode`, `clusterDelNode`, `clusterAddSlot`, replica lists,
//! failure reports, links).

use super::node::{flags, FailReport, Link, LinkId, Node, NodeIdx};
use super::{idx_of, todo, Action, ClusterState, NO_NODE};
use crate::bus::NodeName;
use crate::slot::SLOTS;

impl ClusterState {
    pub(crate) fn add_node(&mut self, node: Node) -> NodeIdx {
        let name = node.name;
        let idx = self.nodes.insert(node);
        self.by_name.insert(name, idx);
        idx
    }

    /// `clusterDelNode` + `freeClusterNode`.
    pub(crate) fn del_node(&mut self, idx: NodeIdx) {
        if idx == self.myself || !self.nodes.contains(idx) {
            return;
        }
        let v = idx as u32;
        for slot in 0..SLOTS {
            if self.importing_from[slot] == v {
                self.importing_from[slot] = NO_NODE;
            }
            if self.migrating_to[slot] == v {
                self.migrating_to[slot] = NO_NODE;
            }
            if self.slots[slot] == v {
                self.del_slot(slot as u16);
            }
        }
        for (_, node) in self.nodes.iter_mut() {
            node.fail_reports.retain(|r| r.reporter != idx);
        }
        let replicas = std::mem::take(&mut self.nodes[idx].replicas);
        for r in replicas {
            if let Some(n) = self.nodes.get_mut(r) {
                n.master = None;
            }
        }
        if let Some(m) = self.nodes[idx].master {
            self.remove_replica(m, idx);
        }
        if self.mf.replica == Some(idx) {
            self.mf.replica = None;
        }
        let (link, inbound) = (self.nodes[idx].link, self.nodes[idx].inbound_link);
        for l in [link, inbound].into_iter().flatten() {
            self.free_link(l);
        }
        let node = self.nodes.remove(idx);
        self.by_name.remove(&node.name);
    }

    pub(crate) fn rename_node(&mut self, idx: NodeIdx, name: NodeName) {
        let old = self.nodes[idx].name;
        self.by_name.remove(&old);
        self.nodes[idx].name = name;
        self.by_name.insert(name, idx);
    }

    /// `clusterAddSlot`: fails when the slot is already bound.
    pub(crate) fn add_slot(&mut self, idx: NodeIdx, slot: u16) -> bool {
        if self.slots[usize::from(slot)] != NO_NODE {
            return false;
        }
        self.set_slot_bit(idx, slot);
        self.slots[usize::from(slot)] = idx as u32;
        true
    }

    fn set_slot_bit(&mut self, idx: NodeIdx, slot: u16) {
        let masters_have_replicas = self.masters_have_replicas();
        let node = &mut self.nodes[idx];
        if !node.slots.set(slot, true) {
            node.numslots += 1;
            if node.numslots == 1 && masters_have_replicas {
                node.flags |= flags::MIGRATE_TO;
            }
        }
    }

    fn masters_have_replicas(&self) -> bool {
        self.nodes
            .iter()
            .any(|(_, n)| !n.is_replica() && !n.replicas.is_empty())
    }

    /// `clusterDelSlot`. When the owner's shard (its master and that master's replicas) includes this
    /// node, the slot's shard channels go too ([`Action::UnsubscribeShardSlot`]), as Redis does on every
    /// path that unassigns a slot (DELSLOTS, SETSLOT NODE, an UPDATE or PING with a newer config,
    /// FLUSHSLOTS, RESET, a failover taking the slots over, a forgotten node).
    pub(crate) fn del_slot(&mut self, slot: u16) -> bool {
        let Some(owner) = idx_of(self.slots[usize::from(slot)]) else {
            return false;
        };
        let shard_master = self.nodes[owner].master.unwrap_or(owner);
        if self.myself == shard_master || self.nodes[self.myself].master == Some(shard_master) {
            self.actions.push(Action::UnsubscribeShardSlot { slot });
        }
        let node = &mut self.nodes[owner];
        if node.slots.set(slot, false) {
            node.numslots -= 1;
        }
        self.slots[usize::from(slot)] = NO_NODE;
        true
    }

    pub(crate) fn del_node_slots(&mut self, idx: NodeIdx) -> u32 {
        let mut deleted = 0;
        for slot in 0..SLOTS as u16 {
            if self.nodes[idx].slots.get(slot) {
                self.del_slot(slot);
                deleted += 1;
            }
        }
        deleted
    }

    pub(crate) fn slot_unclaimed(&self, slot: u16) -> bool {
        self.slots[usize::from(slot)] == NO_NODE || self.owner_not_claiming.get(slot)
    }

    pub(crate) fn add_replica(&mut self, master: NodeIdx, replica: NodeIdx) {
        let m = &mut self.nodes[master];
        if !m.replicas.contains(&replica) {
            m.replicas.push(replica);
        }
        m.flags |= flags::MIGRATE_TO;
    }

    pub(crate) fn remove_replica(&mut self, master: NodeIdx, replica: NodeIdx) {
        if let Some(m) = self.nodes.get_mut(master) {
            m.replicas.retain(|&r| r != replica);
            if m.replicas.is_empty() {
                m.flags &= !flags::MIGRATE_TO;
            }
        }
    }

    pub(crate) fn count_non_failing_replicas(&self, idx: NodeIdx) -> usize {
        self.nodes[idx]
            .replicas
            .iter()
            .filter(|&&r| !self.nodes[r].failed())
            .count()
    }

    /// `clusterSetNodeAsMaster`.
    pub(crate) fn set_node_as_master(&mut self, idx: NodeIdx) {
        if self.nodes[idx].is_master() {
            return;
        }
        if let Some(m) = self.nodes[idx].master {
            self.remove_replica(m, idx);
            if idx != self.myself {
                self.nodes[idx].flags |= flags::MIGRATE_TO;
            }
        }
        let node = &mut self.nodes[idx];
        node.flags &= !flags::SLAVE;
        node.flags |= flags::MASTER;
        node.master = None;
        self.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE;
    }

    /// `clusterSetMaster`: make myself a replica of `master`.
    pub(crate) fn set_my_master(&mut self, master: NodeIdx) {
        let me = self.myself;
        if self.nodes[me].is_master() {
            self.nodes[me].flags &= !(flags::MASTER | flags::MIGRATE_TO);
            self.nodes[me].flags |= flags::SLAVE;
            self.migrating_to.iter_mut().for_each(|v| *v = NO_NODE);
            self.importing_from.iter_mut().for_each(|v| *v = NO_NODE);
        } else if let Some(old) = self.nodes[me].master {
            self.remove_replica(old, me);
        }
        self.nodes[me].master = Some(master);
        self.add_replica(master, me);
        let m = &self.nodes[master];
        self.actions.push(Action::ReplicateFrom {
            node: m.name,
            ip: m.ip.clone(),
            port: m.port,
        });
        self.reset_manual_failover();
    }

    // ---- failure reports ------------------------------------------------------------------------

    pub(crate) fn add_failure_report(&mut self, failing: NodeIdx, reporter: NodeIdx) -> bool {
        let now = self.now_ms;
        let reports = &mut self.nodes[failing].fail_reports;
        if let Some(r) = reports.iter_mut().find(|r| r.reporter == reporter) {
            r.time_ms = now;
            return false;
        }
        reports.push(FailReport {
            reporter,
            time_ms: now,
        });
        true
    }

    pub(crate) fn cleanup_failure_reports(&mut self, idx: NodeIdx) {
        let max = self.cfg.node_timeout_ms * 2;
        let now = self.now_ms;
        self.nodes[idx]
            .fail_reports
            .retain(|r| now.saturating_sub(r.time_ms) <= max);
    }

    pub(crate) fn del_failure_report(&mut self, idx: NodeIdx, reporter: NodeIdx) -> bool {
        self.cleanup_failure_reports(idx);
        let reports = &mut self.nodes[idx].fail_reports;
        let before = reports.len();
        reports.retain(|r| r.reporter != reporter);
        reports.len() != before
    }

    /// `clusterNodeFailureReportsCount` (valid reports only).
    pub fn failure_reports(&mut self, idx: NodeIdx) -> usize {
        if !self.nodes.contains(idx) {
            return 0;
        }
        self.cleanup_failure_reports(idx);
        self.nodes[idx].fail_reports.len()
    }

    // ---- ban list ---------------------------------------------------------------------------------

    pub(crate) fn blacklisted(&mut self, name: &NodeName) -> bool {
        let now = self.now_ms;
        self.blacklist.retain(|_, &mut until| until >= now);
        self.blacklist.contains_key(name)
    }

    // ---- links ------------------------------------------------------------------------------------

    pub(crate) fn new_link(
        &mut self,
        node: Option<NodeIdx>,
        inbound: bool,
        peer_ip: String,
    ) -> LinkId {
        let id = self.next_link;
        self.next_link += 1;
        let link = Link {
            node,
            inbound,
            ctime_ms: self.now_ms,
            connected: inbound,
            local_ip: String::new(),
            peer_ip,
        };
        self.links.insert(id, link);
        id
    }

    /// `freeClusterLink`: forgets the link and tells the server to close it.
    pub(crate) fn free_link(&mut self, link: LinkId) {
        let Some(info) = self.links.remove(&link) else {
            return;
        };
        if let Some(n) = info.node.and_then(|n| self.nodes.get_mut(n)) {
            if n.link == Some(link) {
                n.link = None;
            } else if n.inbound_link == Some(link) {
                n.inbound_link = None;
            }
        }
        self.actions.push(Action::Close { link });
    }

    pub(crate) fn set_inbound_link(&mut self, idx: NodeIdx, link: LinkId) {
        if let Some(old) = self.nodes[idx].inbound_link {
            if old != link {
                self.free_link(old);
            }
        }
        self.nodes[idx].inbound_link = Some(link);
        if let Some(l) = self.links.get_mut(&link) {
            l.node = Some(idx);
        }
    }
}
