//! Votes and replica elections (`clusterSendFailoverAuthIfNeeded`, `clusterHandleSlaveFailover`), manual
//! failover (`clusterHandleManualFailover`) and replica migration (`clusterHandleSlaveMigration`).

use super::node::{flags, NodeIdx};
use super::{todo, Action, ClusterState};
use crate::bus::{Body, Header, Message, MsgType, MFLAG0_FORCEACK};
use crate::slot::SLOTS;

/// Delay before an orphaned master gets a migrating replica (`CLUSTER_SLAVE_MIGRATION_DELAY`), ms.
const REPLICA_MIGRATION_DELAY_MS: u64 = 5000;

impl ClusterState {
    /// A master's vote (`clusterSendFailoverAuthIfNeeded`): one per epoch, only for a replica of a FAIL
    /// master (or a manual failover), not twice for the same master within 2 × node timeout, and only if
    /// no claimed slot is owned with a greater configEpoch.
    pub(crate) fn send_failover_auth_if_needed(&mut self, node: NodeIdx, req: &Header) {
        let me = &self.nodes[self.myself];
        if me.is_replica() || me.numslots == 0 {
            return;
        }
        let name = self.nodes[node].name_str().to_string();
        if req.current_epoch < self.current_epoch {
            self.log(format!(
                "Failover auth denied to {name}: reqEpoch ({}) < curEpoch({})",
                req.current_epoch, self.current_epoch
            ));
            return;
        }
        if self.last_vote_epoch == self.current_epoch {
            self.log(format!(
                "Failover auth denied to {name}: already voted for epoch {}",
                self.current_epoch
            ));
            return;
        }
        let force_ack = req.mflags[0] & MFLAG0_FORCEACK != 0;
        let master = self.nodes[node].master;
        let reason = if self.nodes[node].is_master() {
            Some("it is a master node")
        } else if master.is_none() {
            Some("I don't know its master")
        } else if master.is_some_and(|m| !self.nodes[m].failed()) && !force_ack {
            Some("its master is up")
        } else {
            None
        };
        if let Some(reason) = reason {
            self.log(format!("Failover auth denied to {name}: {reason}"));
            return;
        }
        let Some(master) = master else { return };
        let since_vote = self.now_ms.saturating_sub(self.nodes[master].voted_time_ms);
        if since_vote < self.cfg.node_timeout_ms * 2 {
            self.log(format!(
                "Failover auth denied to {name}: can't vote about this master before {} milliseconds",
                self.cfg.node_timeout_ms * 2 - since_vote
            ));
            return;
        }
        for slot in 0..SLOTS as u16 {
            if !req.myslots.get(slot) || self.slot_unclaimed(slot) {
                continue;
            }
            let Some(owner) = self.slot_owner(slot) else {
                continue;
            };
            if self.nodes[owner].config_epoch > req.config_epoch {
                self.log(format!(
                    "Failover auth denied to {name}: slot {slot} epoch ({}) > reqEpoch ({})",
                    self.nodes[owner].config_epoch, req.config_epoch
                ));
                return;
            }
        }
        self.last_vote_epoch = self.current_epoch;
        self.nodes[master].voted_time_ms = self.now_ms;
        self.todo |= todo::SAVE_CONFIG | todo::FSYNC_CONFIG;
        if let Some(l) = self.nodes[node].link {
            let header = self.build_header(MsgType::FailoverAuthAck);
            self.send_message(
                l,
                &Message {
                    header,
                    body: Body::Empty,
                },
            );
        }
        self.log(format!(
            "Failover auth granted to {name} for epoch {}",
            self.current_epoch
        ));
    }

    /// `clusterGetSlaveRank`: replicas of my master with a greater offset than mine.
    pub(crate) fn replica_rank(&self) -> u32 {
        let me = &self.nodes[self.myself];
        let Some(master) = me.master else { return 0 };
        self.nodes[master]
            .replicas
            .iter()
            .filter(|&&r| r != self.myself)
            .map(|&r| &self.nodes[r])
            .filter(|r| r.flags & flags::NOFAILOVER == 0 && r.repl_offset > self.my_repl_offset)
            .count() as u32
    }

    /// `clusterHandleSlaveFailover`: schedule, run and win an election.
    pub(crate) fn handle_replica_failover(&mut self) {
        let now = self.now_ms;
        self.todo &= !todo::HANDLE_FAILOVER;
        let auth_age = now.saturating_sub(self.election.auth_time_ms);
        let quorum = self.size / 2 + 1;
        let manual = self.mf.end_ms != 0 && self.mf.can_start;
        let auth_timeout = (self.cfg.node_timeout_ms * 2).max(2000);
        let auth_retry = auth_timeout * 2;
        let me = &self.nodes[self.myself];
        let Some(master) = me.master.filter(|_| me.is_replica()) else {
            return;
        };
        let m = &self.nodes[master];
        if (!manual && (!m.failed() || self.cfg.replica_no_failover)) || m.numslots == 0 {
            return;
        }
        let mut data_age = self.repl_data_age_ms;
        if data_age > self.cfg.node_timeout_ms {
            data_age -= self.cfg.node_timeout_ms;
        }
        let max_age = self.cfg.repl_ping_replica_period_s * 1000
            + self.cfg.node_timeout_ms * self.cfg.replica_validity_factor;
        if self.cfg.replica_validity_factor != 0 && data_age > max_age && !manual {
            return;
        }
        if auth_age > auth_retry {
            let jitter = self.rand() % 500;
            self.election.auth_time_ms = now + 500 + jitter;
            self.election.auth_count = 0;
            self.election.auth_sent = false;
            self.election.auth_rank = self.replica_rank();
            self.election.auth_time_ms += u64::from(self.election.auth_rank) * 1000;
            if self.mf.end_ms != 0 {
                self.election.auth_time_ms = now;
                self.election.auth_rank = 0;
                self.todo |= todo::HANDLE_FAILOVER;
            }
            self.log(format!(
                "Start of election delayed for {} milliseconds (rank #{}, offset {}).",
                self.election.auth_time_ms.saturating_sub(now),
                self.election.auth_rank,
                self.my_repl_offset
            ));
            self.broadcast_pong(true);
            return;
        }
        if !self.election.auth_sent && self.mf.end_ms == 0 {
            let rank = self.replica_rank();
            if rank > self.election.auth_rank {
                let added = u64::from(rank - self.election.auth_rank) * 1000;
                self.election.auth_time_ms += added;
                self.election.auth_rank = rank;
                self.log(format!(
                    "Replica rank updated to #{rank}, added {added} milliseconds of delay."
                ));
            }
        }
        if now < self.election.auth_time_ms || auth_age > auth_timeout {
            return;
        }
        if !self.election.auth_sent {
            self.current_epoch += 1;
            self.election.auth_epoch = self.current_epoch;
            self.log(format!(
                "Starting a failover election for epoch {}.",
                self.current_epoch
            ));
            let mut header = self.build_header(MsgType::FailoverAuthRequest);
            if self.mf.end_ms != 0 {
                header.mflags[0] |= MFLAG0_FORCEACK;
            }
            self.broadcast(&Message {
                header,
                body: Body::Empty,
            });
            self.election.auth_sent = true;
            self.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE | todo::FSYNC_CONFIG;
            return;
        }
        if self.election.auth_count >= quorum {
            self.log("Failover election won: I'm the new master.".to_string());
            let me = self.myself;
            if self.nodes[me].config_epoch < self.election.auth_epoch {
                self.nodes[me].config_epoch = self.election.auth_epoch;
                self.log(format!(
                    "configEpoch set to {} after successful failover",
                    self.election.auth_epoch
                ));
            }
            self.failover_replace_my_master();
        }
    }

    /// `clusterFailoverReplaceYourMaster`: become master, take the old master's slots, tell everyone.
    pub(crate) fn failover_replace_my_master(&mut self) {
        let me = self.myself;
        let Some(old) = self.nodes[me]
            .master
            .filter(|_| self.nodes[me].is_replica())
        else {
            return;
        };
        self.set_node_as_master(me);
        self.actions.push(Action::BecomeMaster);
        for slot in 0..SLOTS as u16 {
            if self.nodes[old].slots.get(slot) {
                self.del_slot(slot);
                self.add_slot(me, slot);
            }
        }
        self.update_state();
        self.todo |= todo::SAVE_CONFIG | todo::FSYNC_CONFIG;
        self.broadcast_pong(false);
        self.reset_manual_failover();
    }

    /// `resetManualFailover`.
    pub(crate) fn reset_manual_failover(&mut self) {
        if self.mf.replica.is_some() {
            self.actions.push(Action::UnpauseWrites);
        }
        self.mf = super::ManualFailover::default();
    }

    pub(crate) fn manual_failover_check_timeout(&mut self) {
        if self.mf.end_ms != 0 && self.mf.end_ms < self.now_ms {
            self.log("Manual failover timed out.".to_string());
            self.reset_manual_failover();
        }
    }

    /// `clusterHandleManualFailover`: start once this replica has processed the paused master's offset.
    pub(crate) fn handle_manual_failover(&mut self) {
        if self.mf.end_ms == 0 || self.mf.can_start {
            return;
        }
        let Some(offset) = self.mf.master_offset else {
            return;
        };
        if offset == self.my_repl_offset {
            self.mf.can_start = true;
            self.log(
                "All master replication stream processed, manual failover can start.".to_string(),
            );
            self.todo |= todo::HANDLE_FAILOVER;
        } else {
            self.todo |= todo::HANDLE_MANUALFAILOVER;
        }
    }

    /// `clusterHandleSlaveMigration`: the smallest-named replica of the best-covered master moves to an
    /// orphaned master after a delay, if its master keeps `migration_barrier` other working replicas.
    pub(crate) fn handle_replica_migration(&mut self, max_replicas: usize) {
        let me = self.myself;
        if !self.state_ok {
            return;
        }
        let Some(my_master) = self.nodes[me].master else {
            return;
        };
        let ok_replicas = self.count_non_failing_replicas(my_master);
        if ok_replicas <= self.cfg.migration_barrier as usize {
            return;
        }
        let mut candidate = me;
        let mut target = None;
        let now = self.now_ms;
        let idxs: Vec<NodeIdx> = self.nodes.iter().map(|(i, _)| i).collect();
        for idx in idxs {
            let node = &self.nodes[idx];
            if node.is_replica() || node.failed() || node.flags & flags::NOFAILOVER != 0 {
                continue;
            }
            if node.flags & flags::MIGRATE_TO == 0 {
                continue;
            }
            let ok = self.count_non_failing_replicas(idx);
            if ok == 0 && node.numslots > 0 {
                target = Some(idx);
                if self.nodes[idx].orphaned_time_ms == 0 {
                    self.nodes[idx].orphaned_time_ms = now;
                }
            } else {
                self.nodes[idx].orphaned_time_ms = 0;
            }
            if ok == max_replicas {
                for &r in &self.nodes[idx].replicas {
                    if self.nodes[r].name < self.nodes[candidate].name {
                        candidate = r;
                    }
                }
            }
        }
        if let Some(t) = target {
            if candidate == me
                && now.saturating_sub(self.nodes[t].orphaned_time_ms) > REPLICA_MIGRATION_DELAY_MS
            {
                self.log(format!(
                    "Migrating to orphaned master {}",
                    self.nodes[t].name_str()
                ));
                self.set_my_master(t);
            }
        }
    }
}
