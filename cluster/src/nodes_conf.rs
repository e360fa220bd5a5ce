//! nodes.conf in Redis 7.0's format, which is also CLUSTER NODES' format: one line per node
//! (`<id> <ip:port@cport[,hostname]> <flags> <master|-> <ping-sent> <pong-recv> <config-epoch>
//! <connected|disconnected> <slots...>`, myself's line adding `[slot->-id]` / `[slot-<-id]`), then
//! `vars currentEpoch <n> lastVoteEpoch <n>`. Loading refuses any malformed line with its number and problem
//! (Redis exits with "corrupted cluster config file" and no detail).

use std::fmt::Write;

use crate::error::ConfError;
use crate::slot::SLOTS;
use crate::state::node::{flags, valid_node_id, Node, NodeIdx};
use crate::state::{ClusterState, Config};

impl ClusterState {
    /// The node description line Redis's `clusterGenNodeDescription` prints (no trailing newline).
    pub fn node_description(&self, idx: NodeIdx) -> String {
        self.describe_node(idx, &self.owned_ranges(idx))
    }

    fn describe_node(&self, idx: NodeIdx, ranges: &[(u16, u16)]) -> String {
        let node = &self.nodes[idx];
        let mut s = String::with_capacity(128);
        s.push_str(node.name_str());
        let _ = write!(s, " {}:{}@{}", node.ip, node.port, node.cport);
        if !node.hostname.is_empty() {
            let _ = write!(s, ",{}", node.hostname);
        }
        s.push(' ');
        let mut any = false;
        for (bit, name) in flags::NAMES {
            if node.flags & bit != 0 {
                if any {
                    s.push(',');
                }
                s.push_str(name);
                any = true;
            }
        }
        if !any {
            s.push_str("noflags");
        }
        s.push(' ');
        match node.master {
            Some(m) => s.push_str(self.nodes[m].name_str()),
            None => s.push('-'),
        }
        let epoch = match node.master {
            Some(m) if node.is_replica() => self.nodes[m].config_epoch,
            _ => node.config_epoch,
        };
        let connected = node.link.is_some() || node.flags & flags::MYSELF != 0;
        let _ = write!(
            s,
            " {} {} {} {}",
            node.ping_sent_ms,
            node.pong_received_ms,
            epoch,
            if connected {
                "connected"
            } else {
                "disconnected"
            }
        );
        for &(start, end) in ranges {
            if start == end {
                let _ = write!(s, " {start}");
            } else {
                let _ = write!(s, " {start}-{end}");
            }
        }
        if idx == self.myself {
            for slot in 0..SLOTS as u16 {
                if let Some(to) = self.migrating_to(slot) {
                    let _ = write!(s, " [{slot}->-{}]", self.nodes[to].name_str());
                } else if let Some(from) = self.importing_from(slot) {
                    let _ = write!(s, " [{slot}-<-{}]", self.nodes[from].name_str());
                }
            }
        }
        s
    }

    /// Every node's slot ranges in one pass over the slot table (`clusterGenNodesSlotsInfo`).
    pub(crate) fn all_owned_ranges(&self) -> std::collections::HashMap<NodeIdx, Vec<(u16, u16)>> {
        let mut out: std::collections::HashMap<NodeIdx, Vec<(u16, u16)>> =
            std::collections::HashMap::new();
        // The run being scanned (owner, first slot): one map update per range, not per slot (this runs
        // for every nodes.conf save, so for every CLUSTER SETSLOT of a reshard).
        let mut run: Option<(NodeIdx, u16)> = None;
        for slot in 0..=SLOTS as u16 {
            let owner = if usize::from(slot) < SLOTS {
                self.slot_owner(slot)
            } else {
                None
            };
            if let Some((current, start)) = run {
                if owner == Some(current) {
                    continue;
                }
                out.entry(current).or_default().push((start, slot - 1));
            }
            run = owner.map(|o| (o, slot));
        }
        out
    }

    /// Ranges of slots bound to `idx` in the slot table (Redis's `slot_info_pairs`).
    pub fn owned_ranges(&self, idx: NodeIdx) -> Vec<(u16, u16)> {
        let mut out = Vec::new();
        let mut start: Option<u16> = None;
        for slot in 0..=SLOTS {
            let mine = slot < SLOTS && self.slot_owner(slot as u16) == Some(idx);
            match (mine, start) {
                (true, None) => start = Some(slot as u16),
                (false, Some(s)) => {
                    out.push((s, slot as u16 - 1));
                    start = None;
                }
                _ => {}
            }
        }
        out
    }

    /// CLUSTER NODES: every node (handshake ones included), one line each.
    pub fn cluster_nodes(&self) -> String {
        self.describe_nodes(0)
    }

    fn describe_nodes(&self, skip_flags: u16) -> String {
        let mut s = String::new();
        let ranges = self.all_owned_ranges();
        for (idx, node) in self.nodes.iter() {
            if node.flags & skip_flags != 0 {
                continue;
            }
            s.push_str(&self.describe_node(idx, ranges.get(&idx).map_or(&[][..], Vec::as_slice)));
            s.push('\n');
        }
        s
    }

    /// nodes.conf content (handshake nodes left out, then the `vars` line).
    pub fn to_nodes_conf(&self) -> String {
        let mut s = self.describe_nodes(flags::HANDSHAKE);
        let _ = writeln!(
            s,
            "vars currentEpoch {} lastVoteEpoch {}",
            self.current_epoch, self.last_vote_epoch
        );
        s
    }

    /// Loads a nodes.conf (`clusterLoadConfig`). `now_ms` stands in for non-zero ping/pong times and FAIL
    /// times, as in Redis. An empty file is an error here; the caller creates a fresh state for it.
    pub fn from_nodes_conf(
        cfg: Config,
        text: &str,
        now_ms: u64,
    ) -> Result<ClusterState, ConfError> {
        let mut state = ClusterState::empty(cfg, now_ms);
        let mut myself = None;
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            let argv: Vec<&str> = line.split_ascii_whitespace().collect();
            if argv.is_empty() {
                continue;
            }
            if argv[0].eq_ignore_ascii_case("vars") {
                state.load_vars(&argv, line_no)?;
                continue;
            }
            let idx = state.load_node_line(&argv, line_no, now_ms)?;
            if state.nodes[idx].flags & flags::MYSELF != 0 {
                if myself.is_some_and(|m| m != idx) {
                    return Err(ConfError::new(line_no, "a second node is flagged myself"));
                }
                myself = Some(idx);
            }
        }
        state.myself = myself.ok_or_else(|| ConfError::new(0, "no node is flagged myself"))?;
        let max_epoch = state
            .nodes
            .iter()
            .map(|(_, n)| n.config_epoch)
            .max()
            .unwrap_or(0);
        state.current_epoch = state.current_epoch.max(max_epoch);
        state.apply_my_address_keep_ip();
        Ok(state)
    }

    fn apply_my_address_keep_ip(&mut self) {
        let ip = std::mem::take(&mut self.nodes[self.myself].ip);
        self.apply_my_address();
        if self.cfg.announce_ip.is_none() {
            self.nodes[self.myself].ip = ip;
        }
    }

    fn load_vars(&mut self, argv: &[&str], line: usize) -> Result<(), ConfError> {
        if argv.len() % 2 == 0 {
            return Err(ConfError::new(line, "vars line has a name without a value"));
        }
        for pair in argv[1..].chunks(2) {
            let value = || {
                pair[1].parse::<u64>().map_err(|_| {
                    ConfError::new(line, format!("{} is not a number: '{}'", pair[0], pair[1]))
                })
            };
            if pair[0].eq_ignore_ascii_case("currentEpoch") {
                self.current_epoch = value()?;
            } else if pair[0].eq_ignore_ascii_case("lastVoteEpoch") {
                self.last_vote_epoch = value()?;
            } else {
                self.log(format!(
                    "Skipping unknown cluster config variable '{}'",
                    pair[0]
                ));
            }
        }
        Ok(())
    }

    fn node_for(&mut self, name: &str, line: usize, what: &str) -> Result<NodeIdx, ConfError> {
        if !valid_node_id(name.as_bytes()) {
            return Err(ConfError::new(line, format!("invalid {what} id '{name}'")));
        }
        if let Some(idx) = self.lookup(name.as_bytes()) {
            return Ok(idx);
        }
        let mut id = [0u8; 40];
        id.copy_from_slice(name.as_bytes());
        Ok(self.add_node(Node::new(id, 0, self.now_ms)))
    }

    fn load_node_line(
        &mut self,
        argv: &[&str],
        line: usize,
        now_ms: u64,
    ) -> Result<NodeIdx, ConfError> {
        if argv.len() < 8 {
            return Err(ConfError::new(
                line,
                format!("a node line needs at least 8 fields, found {}", argv.len()),
            ));
        }
        let idx = self.node_for(argv[0], line, "node")?;
        let (addr, hostname) = match argv[1].split_once(',') {
            Some((a, h)) => (a, h),
            None => (argv[1], ""),
        };
        let (ip, ports) = addr
            .rsplit_once(':')
            .ok_or_else(|| ConfError::new(line, format!("address '{addr}' has no port")))?;
        let (port, cport) = match ports.split_once('@') {
            Some((p, c)) => (p, Some(c)),
            None => (ports, None),
        };
        let port_num = |p: &str| {
            p.parse::<u16>()
                .map_err(|_| ConfError::new(line, format!("invalid port '{p}'")))
        };
        let port = port_num(port)?;
        let cport = match cport {
            Some(c) => port_num(c)?,
            None => port.wrapping_add(10000),
        };
        let mut node_flags = 0u16;
        for f in argv[2].split(',') {
            node_flags |= match f.to_ascii_lowercase().as_str() {
                "myself" => flags::MYSELF,
                "master" => flags::MASTER,
                "slave" => flags::SLAVE,
                "fail?" => flags::PFAIL,
                "fail" => flags::FAIL,
                "handshake" => flags::HANDSHAKE,
                "noaddr" => flags::NOADDR,
                "nofailover" => flags::NOFAILOVER,
                "noflags" => 0,
                _ => return Err(ConfError::new(line, format!("unknown node flag '{f}'"))),
            };
        }
        let master = if argv[3].starts_with('-') {
            None
        } else {
            Some(self.node_for(argv[3], line, "master node")?)
        };
        if master == Some(idx) {
            return Err(ConfError::new(line, "a node cannot be its own master"));
        }
        let epoch: u64 = argv[6]
            .parse()
            .map_err(|_| ConfError::new(line, format!("invalid config epoch '{}'", argv[6])))?;
        let nonzero = |s: &str| s.parse::<i64>().map(|v| v != 0).unwrap_or(false);
        {
            let n = &mut self.nodes[idx];
            n.hostname = hostname.to_string();
            n.ip = ip.to_string();
            n.port = port;
            n.cport = cport;
            n.flags |= node_flags;
            if node_flags & flags::FAIL != 0 {
                n.fail_time_ms = now_ms;
            }
            if nonzero(argv[4]) {
                n.ping_sent_ms = now_ms;
            }
            if nonzero(argv[5]) {
                n.pong_received_ms = now_ms;
            }
            n.config_epoch = if n.is_replica() && master.is_some() {
                0
            } else {
                epoch
            };
        }
        if let Some(m) = master {
            // A node listed twice keeps one master (and sits in one replica list).
            if let Some(old) = self.nodes[idx].master.filter(|&old| old != m) {
                self.remove_replica(old, idx);
            }
            self.nodes[idx].master = Some(m);
            self.add_replica(m, idx);
        }
        for arg in &argv[8..] {
            self.load_slot_arg(idx, arg, line)?;
        }
        Ok(idx)
    }

    fn load_slot_arg(&mut self, idx: NodeIdx, arg: &str, line: usize) -> Result<(), ConfError> {
        let slot_num = |s: &str| match s.parse::<u16>() {
            Ok(v) if usize::from(v) < SLOTS => Ok(v),
            _ => Err(ConfError::new(
                line,
                format!("invalid slot '{s}' in '{arg}'"),
            )),
        };
        if let Some(inner) = arg.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or_else(|| {
                ConfError::new(line, format!("unterminated migration entry '{arg}'"))
            })?;
            let (slot, rest) = inner.split_once('-').ok_or_else(|| {
                ConfError::new(line, format!("malformed migration entry '{arg}'"))
            })?;
            let slot = slot_num(slot)?;
            let (importing, peer) = if let Some(p) = rest.strip_prefix(">-") {
                (false, p)
            } else if let Some(p) = rest.strip_prefix("<-") {
                (true, p)
            } else {
                return Err(ConfError::new(
                    line,
                    format!("migration entry '{arg}' is neither ->- nor -<-"),
                ));
            };
            let peer = self.node_for(peer, line, "migration node")? as u32;
            if importing {
                self.importing_from[usize::from(slot)] = peer;
            } else {
                self.migrating_to[usize::from(slot)] = peer;
            }
            return Ok(());
        }
        let (start, stop) = match arg.split_once('-') {
            Some((a, b)) => (slot_num(a)?, slot_num(b)?),
            None => (slot_num(arg)?, slot_num(arg)?),
        };
        if start > stop {
            return Err(ConfError::new(
                line,
                format!("slot range '{arg}' is reversed"),
            ));
        }
        for slot in start..=stop {
            self.add_slot(idx, slot);
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "nodes_conf_tests.rs"]
mod tests;
