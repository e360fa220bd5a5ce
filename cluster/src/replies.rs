//! CLUSTER INFO, CLUSTER SLOTS and CLUSTER SHARDS replies as Redis 7.0 builds them (preferred endpoint type
//! `ip`, no TLS). CLUSTER NODES is in `nodes_conf` (the same format as the file).

use std::fmt::Write;

use zedis_resp::{reply, Protocol};

use crate::bus::MsgType;
use crate::slot::SLOTS;
use crate::state::node::{flags, Node, NodeIdx};
use crate::state::ClusterState;

impl ClusterState {
    /// CLUSTER INFO's text (a bulk string in the reply).
    pub fn cluster_info(&self) -> String {
        let (mut assigned, mut ok, mut pfail, mut fail) = (0, 0, 0, 0);
        for slot in 0..SLOTS as u16 {
            let Some(owner) = self.slot_owner(slot) else {
                continue;
            };
            assigned += 1;
            let n = &self.nodes[owner];
            if n.failed() {
                fail += 1;
            } else if n.timed_out() {
                pfail += 1;
            } else {
                ok += 1;
            }
        }
        let me = &self.nodes[self.myself];
        let my_epoch = match me.master {
            Some(m) if me.is_replica() => self.nodes[m].config_epoch,
            _ => me.config_epoch,
        };
        let mut s = String::new();
        let _ = write!(
            s,
            "cluster_state:{}\r\ncluster_slots_assigned:{assigned}\r\ncluster_slots_ok:{ok}\r\n\
             cluster_slots_pfail:{pfail}\r\ncluster_slots_fail:{fail}\r\ncluster_known_nodes:{}\r\n\
             cluster_size:{}\r\ncluster_current_epoch:{}\r\ncluster_my_epoch:{my_epoch}\r\n",
            if self.state_ok { "ok" } else { "fail" },
            self.nodes.len(),
            self.size,
            self.current_epoch,
        );
        for (stats, dir) in [
            (&self.stats_sent, "sent"),
            (&self.stats_received, "received"),
        ] {
            let mut total = 0u64;
            for (kind, &count) in stats.iter().enumerate() {
                if count == 0 {
                    continue;
                }
                total += count;
                let name = MsgType::from_u16(kind as u16).name();
                let _ = write!(s, "cluster_stats_messages_{name}_{dir}:{count}\r\n");
            }
            let _ = write!(s, "cluster_stats_messages_{dir}:{total}\r\n");
        }
        let _ = write!(
            s,
            "total_cluster_links_buffer_limit_exceeded:{}\r\n",
            self.links_buffer_limit_exceeded
        );
        s
    }

    fn replica_available(&self, idx: NodeIdx) -> bool {
        let n = &self.nodes[idx];
        let offset = if n.flags & flags::MYSELF != 0 {
            self.my_repl_offset
        } else {
            n.repl_offset
        };
        !n.failed() && offset != 0
    }

    fn node_entry(out: &mut Vec<u8>, proto: Protocol, n: &Node) {
        reply::array_len(out, 4);
        reply::bulk(out, n.ip.as_bytes());
        reply::integer(out, i64::from(n.port));
        reply::bulk(out, &n.name);
        if n.hostname.is_empty() {
            reply::map_len(out, proto, 0);
        } else {
            reply::map_len(out, proto, 1);
            reply::bulk(out, b"hostname");
            reply::bulk(out, n.hostname.as_bytes());
        }
    }

    /// CLUSTER SLOTS: `[start, end, master, available replicas...]` per contiguous owner range.
    pub fn cluster_slots(&self, out: &mut Vec<u8>, proto: Protocol) {
        let mut ranges: Vec<(u16, u16, NodeIdx)> = Vec::new();
        for slot in 0..SLOTS as u16 {
            let Some(owner) = self.slot_owner(slot) else {
                continue;
            };
            match ranges.last_mut() {
                Some((_, end, o)) if *o == owner && *end + 1 == slot => *end = slot,
                _ => ranges.push((slot, slot, owner)),
            }
        }
        reply::array_len(out, ranges.len());
        for (start, end, owner) in ranges {
            let n = &self.nodes[owner];
            let replicas: Vec<NodeIdx> = n
                .replicas
                .iter()
                .copied()
                .filter(|&r| self.replica_available(r))
                .collect();
            reply::array_len(out, 3 + replicas.len());
            reply::integer(out, i64::from(start));
            reply::integer(out, i64::from(end));
            Self::node_entry(out, proto, n);
            for r in replicas {
                Self::node_entry(out, proto, &self.nodes[r]);
            }
        }
    }

    /// CLUSTER SHARDS: per master, `slots` (start/end pairs) and `nodes` (the master, then its replicas).
    pub fn cluster_shards(&self, out: &mut Vec<u8>, proto: Protocol) {
        let masters: Vec<NodeIdx> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.is_master())
            .map(|(i, _)| i)
            .collect();
        reply::array_len(out, masters.len());
        let all_ranges = self.all_owned_ranges();
        for m in masters {
            reply::map_len(out, proto, 2);
            reply::bulk(out, b"slots");
            let ranges = all_ranges.get(&m).map_or(&[][..], Vec::as_slice);
            reply::array_len(out, ranges.len() * 2);
            for &(start, end) in ranges {
                reply::integer(out, i64::from(start));
                reply::integer(out, i64::from(end));
            }
            reply::bulk(out, b"nodes");
            let members: Vec<NodeIdx> = std::iter::once(m)
                .chain(self.nodes[m].replicas.iter().copied())
                .collect();
            reply::array_len(out, members.len());
            for idx in members {
                self.shard_node(out, proto, idx);
            }
        }
    }

    /// CLUSTER LINKS: every node's outbound then inbound link, as maps. `io(link)` gives what only the
    /// server knows: `(events, send_buffer_allocated, send_buffer_used)`, events being "r", "w", "rw" or "".
    pub fn cluster_links(
        &self,
        out: &mut Vec<u8>,
        proto: Protocol,
        mut io: impl FnMut(crate::state::LinkId) -> (&'static str, u64, u64),
    ) {
        let links: Vec<(crate::state::LinkId, &Node)> = self
            .nodes
            .iter()
            .flat_map(|(_, n)| {
                [n.link, n.inbound_link]
                    .into_iter()
                    .flatten()
                    .map(move |l| (l, n))
            })
            .collect();
        reply::array_len(out, links.len());
        for (id, node) in links {
            let Some(link) = self.links.get(&id) else {
                reply::map_len(out, proto, 0);
                continue;
            };
            let (events, allocated, used) = io(id);
            reply::map_len(out, proto, 6);
            reply::bulk(out, b"direction");
            reply::bulk(
                out,
                if link.inbound {
                    b"from".as_slice()
                } else {
                    b"to".as_slice()
                },
            );
            reply::bulk(out, b"node");
            reply::bulk(out, &node.name);
            reply::bulk(out, b"create-time");
            reply::integer(out, link.ctime_ms as i64);
            reply::bulk(out, b"events");
            reply::bulk(out, events.as_bytes());
            reply::bulk(out, b"send-buffer-allocated");
            reply::integer(out, allocated as i64);
            reply::bulk(out, b"send-buffer-used");
            reply::integer(out, used as i64);
        }
    }

    fn shard_node(&self, out: &mut Vec<u8>, proto: Protocol, idx: NodeIdx) {
        let n = &self.nodes[idx];
        let offset = if n.flags & flags::MYSELF != 0 {
            self.my_repl_offset
        } else {
            n.repl_offset
        };
        let fields = 7 + usize::from(n.port != 0) + usize::from(!n.hostname.is_empty()) - 1;
        reply::map_len(out, proto, fields);
        reply::bulk(out, b"id");
        reply::bulk(out, &n.name);
        if n.port != 0 {
            reply::bulk(out, b"port");
            reply::integer(out, i64::from(n.port));
        }
        reply::bulk(out, b"ip");
        reply::bulk(out, n.ip.as_bytes());
        reply::bulk(out, b"endpoint");
        reply::bulk(out, n.ip.as_bytes());
        if !n.hostname.is_empty() {
            reply::bulk(out, b"hostname");
            reply::bulk(out, n.hostname.as_bytes());
        }
        reply::bulk(out, b"role");
        reply::bulk(
            out,
            if n.is_replica() {
                b"replica".as_slice()
            } else {
                b"master".as_slice()
            },
        );
        reply::bulk(out, b"replication-offset");
        reply::integer(out, offset as i64);
        reply::bulk(out, b"health");
        let health: &[u8] = if n.failed() {
            b"fail"
        } else if n.is_replica() && offset == 0 {
            b"loading"
        } else {
            b"online"
        };
        reply::bulk(out, health);
    }
}
