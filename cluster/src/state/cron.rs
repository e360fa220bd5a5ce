//! The periodic tick (`clusterCron`), sending PING/PONG with gossip, broadcasts, PFAIL/FAIL marking, the
//! cluster state (`clusterUpdateState`) and the deferred work (`clusterBeforeSleep`).

use super::node::{flags, LinkId, NodeIdx};
use super::{todo, Action, ClusterState};
use crate::bus::{ip_to_field, Body, Gossip, Header, Message, MsgType, PingExt, MFLAG0_PAUSED};

/// Redis's state-change delays (`CLUSTER_WRITABLE_DELAY`, `CLUSTER_MIN/MAX_REJOIN_DELAY`), ms.
const WRITABLE_DELAY_MS: u64 = 2000;
const MIN_REJOIN_DELAY_MS: u64 = 500;
const MAX_REJOIN_DELAY_MS: u64 = 5000;

impl ClusterState {
    /// The periodic work; call every 100 ms (Redis runs `clusterCron` 10 times a second) with Unix ms.
    pub fn tick(&mut self, now_ms: u64) -> Vec<Action> {
        self.now_ms = now_ms;
        self.cron();
        self.finish()
    }

    fn cron(&mut self) {
        let now = self.now_ms;
        self.iteration += 1;
        let timeout = self.cfg.node_timeout_ms;
        let handshake_timeout = timeout.max(1000);
        self.stats_pfail_nodes = 0;
        let all: Vec<NodeIdx> = self.nodes.iter().map(|(i, _)| i).collect();
        for &idx in &all {
            let node = &self.nodes[idx];
            if node.flags & (flags::MYSELF | flags::NOADDR) != 0 {
                continue;
            }
            if node.timed_out() {
                self.stats_pfail_nodes += 1;
            }
            if node.in_handshake() && now.saturating_sub(node.ctime_ms) > handshake_timeout {
                self.del_node(idx);
                continue;
            }
            if node.link.is_none() {
                let (ip, cport) = (node.ip.clone(), node.cport);
                let link = self.new_link(Some(idx), false, ip.clone());
                self.nodes[idx].link = Some(link);
                self.actions.push(Action::Connect { link, ip, cport });
            }
        }

        if self.iteration % 10 == 0 {
            self.ping_random_stale_node();
        }

        let (mut orphaned, mut max_replicas, mut my_master_replicas) = (0u32, 0usize, 0usize);
        let mut update_state = false;
        let all: Vec<NodeIdx> = self.nodes.iter().map(|(i, _)| i).collect();
        let me_replica = self.nodes[self.myself].is_replica();
        for idx in all {
            let Some(node) = self.nodes.get(idx) else {
                continue;
            };
            if node.flags & (flags::MYSELF | flags::NOADDR | flags::HANDSHAKE) != 0 {
                continue;
            }
            if me_replica && node.is_master() && !node.failed() {
                let ok = self.count_non_failing_replicas(idx);
                if ok == 0 && node.numslots > 0 && node.flags & flags::MIGRATE_TO != 0 {
                    orphaned += 1;
                }
                max_replicas = max_replicas.max(ok);
                if self.nodes[self.myself].master == Some(idx) {
                    my_master_replicas = ok;
                }
            }
            let node = &self.nodes[idx];
            let ping_delay = now.saturating_sub(node.ping_sent_ms);
            let data_delay = now.saturating_sub(node.data_received_ms);
            if let Some(l) = node.link {
                let link_age = self
                    .links
                    .get(&l)
                    .map_or(0, |l| now.saturating_sub(l.ctime_ms));
                if link_age > timeout
                    && node.ping_sent_ms != 0
                    && ping_delay > timeout / 2
                    && data_delay > timeout / 2
                {
                    self.free_link(l);
                }
            }
            let node = &self.nodes[idx];
            if let Some(l) = node.link {
                if node.ping_sent_ms == 0 && now.saturating_sub(node.pong_received_ms) > timeout / 2
                {
                    self.send_ping(l, MsgType::Ping);
                    continue;
                }
                if self.mf.end_ms != 0
                    && self.nodes[self.myself].is_master()
                    && self.mf.replica == Some(idx)
                {
                    self.send_ping(l, MsgType::Ping);
                    continue;
                }
            }
            let node = &mut self.nodes[idx];
            if node.ping_sent_ms == 0 {
                continue;
            }
            if ping_delay.min(data_delay) > timeout
                && node.flags & (flags::PFAIL | flags::FAIL) == 0
            {
                node.flags |= flags::PFAIL;
                update_state = true;
            }
        }

        self.manual_failover_check_timeout();
        if self.nodes[self.myself].is_replica() {
            self.handle_manual_failover();
            self.handle_replica_failover();
            if orphaned > 0
                && max_replicas >= 2
                && my_master_replicas == max_replicas
                && self.cfg.allow_replica_migration
            {
                self.handle_replica_migration(max_replicas);
            }
        }
        if update_state || !self.state_ok {
            self.update_state();
        }
    }

    /// Every second: ping the node with the oldest PONG among 5 random ones.
    fn ping_random_stale_node(&mut self) {
        let candidates: Vec<NodeIdx> = self.nodes.iter().map(|(i, _)| i).collect();
        let mut best: Option<(NodeIdx, u64)> = None;
        for _ in 0..5 {
            let idx = candidates[(self.rand() % candidates.len() as u64) as usize];
            let node = &self.nodes[idx];
            if node.link.is_none()
                || node.ping_sent_ms != 0
                || node.flags & (flags::MYSELF | flags::HANDSHAKE) != 0
            {
                continue;
            }
            if best.is_none_or(|(_, pong)| pong > node.pong_received_ms) {
                best = Some((idx, node.pong_received_ms));
            }
        }
        if let Some((idx, _)) = best {
            if let Some(l) = self.nodes[idx].link {
                self.send_ping(l, MsgType::Ping);
            }
        }
    }

    /// `clusterBuildMessageHdr`.
    pub(crate) fn build_header(&self, kind: MsgType) -> Header {
        let me = &self.nodes[self.myself];
        let master = me
            .master
            .filter(|_| me.is_replica())
            .map_or(me, |m| &self.nodes[m]);
        let mut h = Header::new(kind, me.name);
        if let Some(ip) = &self.cfg.announce_ip {
            h.myip = ip_to_field(ip);
        }
        h.myslots = master.slots.clone();
        h.slaveof = me.master.map(|m| self.nodes[m].name);
        h.port = self.cfg.port;
        h.pport = self.cfg.pport;
        h.cport = self.cfg.cport;
        h.flags = me.flags;
        h.state = if self.state_ok { 0 } else { 1 };
        h.current_epoch = self.current_epoch;
        h.config_epoch = master.config_epoch;
        h.offset = self.my_repl_offset;
        if me.is_master() && self.mf.end_ms != 0 {
            h.mflags[0] |= MFLAG0_PAUSED;
        }
        h
    }

    /// Encodes and queues `msg` on `link`, counting it in the stats.
    pub(crate) fn send_message(&mut self, link: LinkId, msg: &Message) {
        if !self.links.contains_key(&link) {
            return;
        }
        if let Some(slot) = self
            .stats_sent
            .get_mut(usize::from(msg.header.kind.to_u16()))
        {
            *slot += 1;
        }
        self.actions.push(Action::Send {
            link,
            packet: msg.to_bytes(),
        });
    }

    /// `clusterBroadcastMessage`: to every node but myself and handshake nodes, on their outbound link.
    pub(crate) fn broadcast(&mut self, msg: &Message) {
        let links: Vec<LinkId> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.flags & (flags::MYSELF | flags::HANDSHAKE) == 0)
            .filter_map(|(_, n)| n.link)
            .collect();
        for l in links {
            self.send_message(l, msg);
        }
    }

    /// `clusterBroadcastPong`: to every connected node, or only the replicas of my shard.
    pub(crate) fn broadcast_pong(&mut self, local_replicas_only: bool) {
        let me = self.myself;
        let my_master = self.nodes[me].master;
        let links: Vec<LinkId> = self
            .nodes
            .iter()
            .filter(|&(i, n)| i != me && !n.in_handshake())
            .filter(|(_, n)| {
                !local_replicas_only
                    || (n.is_replica()
                        && n.master.is_some()
                        && (n.master == Some(me) || n.master == my_master))
            })
            .filter_map(|(_, n)| n.link)
            .collect();
        for l in links {
            self.send_ping(l, MsgType::Pong);
        }
    }

    fn gossip_entry(&self, idx: NodeIdx) -> Gossip {
        let n = &self.nodes[idx];
        Gossip {
            name: n.name,
            ping_sent_s: (n.ping_sent_ms / 1000) as u32,
            pong_received_s: (n.pong_received_ms / 1000) as u32,
            ip: ip_to_field(&n.ip),
            port: n.port,
            cport: n.cport,
            flags: n.flags,
            pport: n.pport,
        }
    }

    /// `clusterSendPing`: PING, PONG or MEET with gossip about max(3, N/10) random nodes plus all PFAIL ones.
    pub(crate) fn send_ping(&mut self, link: LinkId, kind: MsgType) {
        let Some(info) = self.links.get(&link).cloned() else {
            return;
        };
        self.pings_sent += 1;
        let mut freshnodes = self.nodes.len().saturating_sub(2);
        let wanted = (self.nodes.len() / 10).max(3).min(freshnodes);
        if !info.inbound && kind == MsgType::Ping {
            if let Some(n) = info.node.and_then(|n| self.nodes.get_mut(n)) {
                n.ping_sent_ms = self.now_ms;
            }
        }
        let header = self.build_header(kind);
        let candidates: Vec<NodeIdx> = self.nodes.iter().map(|(i, _)| i).collect();
        let mut gossip = Vec::with_capacity(wanted + self.stats_pfail_nodes as usize);
        let mut iterations = wanted * 3;
        while freshnodes > 0 && gossip.len() < wanted && iterations > 0 {
            iterations -= 1;
            let idx = candidates[(self.rand() % candidates.len() as u64) as usize];
            let n = &self.nodes[idx];
            if idx == self.myself || n.timed_out() {
                continue;
            }
            if n.flags & (flags::HANDSHAKE | flags::NOADDR) != 0
                || (n.link.is_none() && n.numslots == 0)
            {
                freshnodes -= 1;
                continue;
            }
            if n.last_in_ping_gossip == self.pings_sent {
                continue;
            }
            gossip.push(self.gossip_entry(idx));
            self.nodes[idx].last_in_ping_gossip = self.pings_sent;
            freshnodes -= 1;
        }
        let pfail: Vec<NodeIdx> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.timed_out() && n.flags & (flags::HANDSHAKE | flags::NOADDR) == 0)
            .map(|(i, _)| i)
            .take(self.stats_pfail_nodes as usize)
            .collect();
        gossip.extend(pfail.into_iter().map(|i| self.gossip_entry(i)));
        let mut exts = Vec::new();
        let hostname = &self.nodes[self.myself].hostname;
        if !hostname.is_empty() {
            exts.push(PingExt::Hostname(hostname.as_bytes().to_vec()));
        }
        self.send_message(
            link,
            &Message {
                header,
                body: Body::Ping { gossip, exts },
            },
        );
    }

    /// `clusterSendUpdate`: tell the node on `link` about `about`'s slots (minus those it stopped claiming).
    pub(crate) fn send_update(&mut self, link: LinkId, about: NodeIdx) {
        let header = self.build_header(MsgType::Update);
        let n = &self.nodes[about];
        let mut slots = n.slots.clone();
        for (b, skip) in slots.0.iter_mut().zip(self.owner_not_claiming.0.iter()) {
            *b &= !skip;
        }
        let body = Body::Update {
            config_epoch: n.config_epoch,
            name: n.name,
            slots,
        };
        self.send_message(link, &Message { header, body });
    }

    /// `markNodeAsFailingIfNeeded`: PFAIL + reports from a majority of masters → FAIL, broadcast.
    pub(crate) fn mark_node_as_failing_if_needed(&mut self, idx: NodeIdx) {
        let quorum = (self.size / 2 + 1) as usize;
        if !self.nodes[idx].timed_out() || self.nodes[idx].failed() {
            return;
        }
        let mut failures = self.failure_reports(idx);
        if self.nodes[self.myself].is_master() {
            failures += 1;
        }
        if failures < quorum {
            return;
        }
        self.log(format!(
            "Marking node {} as failing (quorum reached).",
            self.nodes[idx].name_str()
        ));
        let node = &mut self.nodes[idx];
        node.flags &= !flags::PFAIL;
        node.flags |= flags::FAIL;
        node.fail_time_ms = self.now_ms;
        let about = node.name;
        let header = self.build_header(MsgType::Fail);
        self.broadcast(&Message {
            header,
            body: Body::Fail { about },
        });
        self.todo |= todo::UPDATE_STATE | todo::SAVE_CONFIG;
    }

    /// `clearNodeFailureIfNeeded`: a reachable FAIL node is cleared if it is a replica or a master without
    /// slots, or if nobody took its slots for 2 × node timeout.
    pub(crate) fn clear_node_failure_if_needed(&mut self, idx: NodeIdx) {
        let now = self.now_ms;
        let node = &self.nodes[idx];
        let clear = node.is_replica()
            || node.numslots == 0
            || (node.is_master()
                && now.saturating_sub(node.fail_time_ms) > self.cfg.node_timeout_ms * 2);
        if clear {
            self.nodes[idx].flags &= !flags::FAIL;
            self.log(format!(
                "Clear FAIL state for node {}: is reachable again.",
                self.nodes[idx].name_str()
            ));
            self.todo |= todo::UPDATE_STATE | todo::SAVE_CONFIG;
        }
    }

    /// `clusterUpdateState`.
    pub(crate) fn update_state(&mut self) {
        let now = self.now_ms;
        self.todo &= !todo::UPDATE_STATE;
        if self.first_update_ms == 0 {
            self.first_update_ms = now;
        }
        let me_master = self.nodes[self.myself].is_master();
        if me_master
            && !self.state_ok
            && now.saturating_sub(self.first_update_ms) < WRITABLE_DELAY_MS
        {
            return;
        }
        let mut ok = true;
        if self.cfg.require_full_coverage {
            ok = (0..crate::SLOTS as u16)
                .all(|s| self.slot_owner(s).is_some_and(|o| !self.nodes[o].failed()));
        }
        let (mut size, mut reachable) = (0u32, 0u32);
        for (_, n) in self.nodes.iter() {
            if n.is_master() && n.numslots > 0 {
                size += 1;
                if n.flags & (flags::FAIL | flags::PFAIL) == 0 {
                    reachable += 1;
                }
            }
        }
        self.size = size;
        if reachable < size / 2 + 1 {
            ok = false;
            self.among_minority_ms = now;
        }
        if ok != self.state_ok {
            let rejoin = self
                .cfg
                .node_timeout_ms
                .clamp(MIN_REJOIN_DELAY_MS, MAX_REJOIN_DELAY_MS);
            if ok && me_master && now.saturating_sub(self.among_minority_ms) < rejoin {
                return;
            }
            self.log(format!(
                "Cluster state changed: {}",
                if ok { "ok" } else { "fail" }
            ));
            self.state_ok = ok;
            self.actions.push(Action::StateChanged { ok });
        }
    }

    /// `clusterBeforeSleep`: the work deferred by the handlers (at most one SaveConfig per call).
    pub(crate) fn before_sleep(&mut self) {
        let (mut save, mut fsync) = (false, false);
        for _ in 0..3 {
            let todo_now = std::mem::take(&mut self.todo);
            if todo_now == 0 {
                break;
            }
            if todo_now & todo::HANDLE_MANUALFAILOVER != 0 {
                if self.nodes[self.myself].is_replica() {
                    self.handle_manual_failover();
                    self.handle_replica_failover();
                }
            } else if todo_now & todo::HANDLE_FAILOVER != 0 {
                self.handle_replica_failover();
            }
            if todo_now & todo::UPDATE_STATE != 0 {
                self.update_state();
            }
            save |= todo_now & todo::SAVE_CONFIG != 0;
            fsync |= todo_now & todo::FSYNC_CONFIG != 0;
        }
        if save {
            self.actions.push(Action::SaveConfig { fsync });
        }
    }
}
