//! CLUSTER RESET, CLUSTER REPLICAS / SLAVES, the link list for CLUSTER LINKS, and what a node loaded from
//! nodes.conf must do first.

use super::admin::AdminError;
use super::node::{Link, LinkId};
use super::{todo, Action, ClusterState, NO_NODE};
use crate::slot::SLOTS;

/// CLUSTER RESET on a master holding keys.
pub const RESET_WITH_KEYS: &str =
    "ERR CLUSTER RESET can't be called with master nodes containing keys";

impl ClusterState {
    /// CLUSTER RESET [HARD|SOFT] (`clusterReset`); `db_empty` is whether the keyspace is empty. A replica
    /// becomes a master and gets [`Action::BecomeMaster`] + [`Action::EmptyData`]; every slot is unassigned
    /// and every other node forgotten; HARD also zeroes the epochs and takes a new random name.
    pub fn reset(
        &mut self,
        hard: bool,
        db_empty: bool,
        now_ms: u64,
    ) -> Result<Vec<Action>, &'static str> {
        self.now_ms = now_ms;
        let me = self.myself;
        if self.nodes[me].is_master() && !db_empty {
            return Err(RESET_WITH_KEYS);
        }
        if self.nodes[me].is_replica() {
            self.set_node_as_master(me);
            self.actions.push(Action::BecomeMaster);
            self.actions.push(Action::EmptyData);
        }
        self.migrating_to.iter_mut().for_each(|v| *v = NO_NODE);
        self.importing_from.iter_mut().for_each(|v| *v = NO_NODE);
        self.reset_manual_failover();
        for slot in 0..SLOTS as u16 {
            self.del_slot(slot);
        }
        let others: Vec<_> = self
            .nodes
            .iter()
            .map(|(i, _)| i)
            .filter(|&i| i != me)
            .collect();
        for idx in others {
            self.del_node(idx);
        }
        if hard {
            self.current_epoch = 0;
            self.last_vote_epoch = 0;
            self.nodes[me].config_epoch = 0;
            self.log("configEpoch set to 0 via CLUSTER RESET HARD".to_string());
            let name = self.random_name();
            self.rename_node(me, name);
            self.log(format!(
                "Node hard reset, now I'm {}",
                self.nodes[me].name_str()
            ));
        }
        self.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE | todo::FSYNC_CONFIG;
        Ok(self.finish())
    }

    /// CLUSTER FLUSHSLOTS (`clusterDelNodeSlots(myself)`); the caller checks db 0 is empty first.
    pub fn flush_slots(&mut self, now_ms: u64) -> Vec<Action> {
        self.now_ms = now_ms;
        self.del_node_slots(self.myself);
        self.todo |= todo::UPDATE_STATE | todo::SAVE_CONFIG;
        self.finish()
    }

    /// CLUSTER REPLICAS / SLAVES `node`: the CLUSTER NODES lines of its replicas.
    pub fn replicas_of(&self, node: &[u8]) -> Result<Vec<String>, ReplicasError> {
        let n = self
            .lookup(node)
            .ok_or_else(|| ReplicasError::Unknown(String::from_utf8_lossy(node).into()))?;
        if self.nodes[n].is_replica() {
            return Err(ReplicasError::NotMaster);
        }
        Ok(self.nodes[n]
            .replicas
            .iter()
            .map(|&r| self.node_description(r))
            .collect())
    }

    /// Every open link (for CLUSTER LINKS; the server adds its buffer sizes and event counts).
    pub fn links(&self) -> impl Iterator<Item = (LinkId, &Link)> {
        self.links.iter().map(|(&id, l)| (id, l))
    }

    /// What a state loaded from nodes.conf does before its first tick: a replica (re)starts replicating
    /// from its master (`clusterCron` does this when replication is off).
    pub fn startup_actions(&mut self) -> Vec<Action> {
        let me = &self.nodes[self.myself];
        if let Some(m) = me.master.filter(|_| me.is_replica()) {
            let m = &self.nodes[m];
            if m.has_addr() && !m.ip.is_empty() {
                self.actions.push(Action::ReplicateFrom {
                    node: m.name,
                    ip: m.ip.clone(),
                    port: m.port,
                });
            }
        }
        self.finish()
    }
}

/// CLUSTER REPLICAS refusals; `Display` is Redis's error reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplicasError {
    /// Unknown node.
    #[error("ERR Unknown node {0}")]
    Unknown(String),
    /// The node is a replica.
    #[error("ERR The specified node is not a master")]
    NotMaster,
}

impl From<ReplicasError> for AdminError {
    fn from(e: ReplicasError) -> AdminError {
        match e {
            ReplicasError::Unknown(n) => AdminError::UnknownNode(n),
            ReplicasError::NotMaster => AdminError::TargetNotMaster,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Config;

    #[test]
    fn reset_forgets_everything_and_hard_renames() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let text = format!(
            "{a} 127.0.0.1:7000@17000 myself,slave {b} 0 0 3 connected\n\
             {b} 127.0.0.1:7001@17001 master - 0 0 3 connected 0-16383\n\
             vars currentEpoch 5 lastVoteEpoch 2\n"
        );
        let mut s = ClusterState::from_nodes_conf(Config::default(), &text, 1).unwrap();
        assert!(s
            .startup_actions()
            .iter()
            .any(|a| matches!(a, Action::ReplicateFrom { port: 7001, .. })));
        assert_eq!(s.replicas_of(b.as_bytes()).unwrap().len(), 1);
        assert_eq!(
            s.replicas_of(a.as_bytes()).unwrap_err().to_string(),
            "ERR The specified node is not a master"
        );
        let actions = s.reset(false, false, 2).unwrap();
        assert!(actions.contains(&Action::EmptyData) && actions.contains(&Action::BecomeMaster));
        assert_eq!(s.known_nodes(), 1);
        assert_eq!(s.myself().name_str(), a);
        assert_eq!(s.current_epoch(), 5);
        assert!(s.slot_owner(0).is_none());
        s.update_slots(&[1, 2], false, 3).unwrap();
        assert_eq!(s.reset(true, false, 4).unwrap_err(), RESET_WITH_KEYS);
        s.reset(true, true, 5).unwrap();
        assert_ne!(s.myself().name_str(), a);
        assert_eq!(
            (
                s.current_epoch(),
                s.last_vote_epoch(),
                s.myself().config_epoch
            ),
            (0, 0, 0)
        );
        assert!(s
            .to_nodes_conf()
            .ends_with("vars currentEpoch 0 lastVoteEpoch 0\n"));
    }

    fn unsubscribed(actions: &[Action]) -> Vec<u16> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::UnsubscribeShardSlot { slot } => Some(*slot),
                _ => None,
            })
            .collect()
    }

    /// A slot leaving a shard unsubscribes its shard channels on the shard's master and on its replicas
    /// (Redis's `clusterDelSlot` → `removeChannelsInSlot`), never on a node of another shard.
    #[test]
    fn slots_leaving_my_shard_unsubscribe_their_shard_channels() {
        let (a, b, c) = ("a".repeat(40), "b".repeat(40), "c".repeat(40));
        let conf = |me_a: &str, me_b: &str, me_c: &str| {
            format!(
                "{a} 127.0.0.1:7000@17000 {me_a}master - 0 0 1 connected 0-99\n\
                 {b} 127.0.0.1:7001@17001 {me_b}slave {a} 0 0 1 connected\n\
                 {c} 127.0.0.1:7002@17002 {me_c}master - 0 0 2 connected 100-16383\n\
                 vars currentEpoch 2 lastVoteEpoch 0\n"
            )
        };
        let load =
            |text: String| ClusterState::from_nodes_conf(Config::default(), &text, 1).unwrap();
        let mut master = load(conf("myself,", "", ""));
        let mut replica = load(conf("", "myself,", ""));
        let mut other = load(conf("", "", "myself,"));
        // DELSLOTS of two of A's slots, SETSLOT NODE giving one to C, DELSLOTS of one of C's.
        for (s, in_a_shard) in [
            (&mut master, true),
            (&mut replica, true),
            (&mut other, false),
        ] {
            let pick = |a_shard: &[u16], c_shard: &[u16]| {
                if in_a_shard {
                    a_shard.to_vec()
                } else {
                    c_shard.to_vec()
                }
            };
            let deleted = s.update_slots(&[5, 3], true, 2).unwrap();
            assert_eq!(unsubscribed(&deleted), pick(&[5, 3], &[]));
            // (A replica refuses SETSLOT; it learns of the move over the bus.)
            if let Ok(moved) = s.set_slot_node(7, c.as_bytes(), 0, 3) {
                assert_eq!(unsubscribed(&moved), pick(&[7], &[]));
            }
            let theirs = s.update_slots(&[200], true, 4).unwrap();
            assert_eq!(unsubscribed(&theirs), pick(&[], &[200]));
        }
        // FLUSHSLOTS on A: every slot it still has, in order.
        let flushed = unsubscribed(&master.flush_slots(5));
        assert_eq!(flushed.len(), 97);
        assert!(flushed.windows(2).all(|w| w[0] < w[1]) && !flushed.contains(&7));
    }
}
