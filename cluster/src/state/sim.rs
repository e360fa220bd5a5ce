//! A simulated network for tests: several state machines exchanging real encoded packets in memory, with
//! nodes that can be killed and revived and a clock advanced in 100 ms ticks.

use std::collections::{HashMap, HashSet, VecDeque};

use super::node::LinkId;
use super::{Action, ClusterState, Config};

pub(super) const IP: &str = "127.0.0.1";

pub(super) struct Sim {
    pub(super) nodes: Vec<ClusterState>,
    conns: HashMap<(usize, LinkId), (usize, LinkId)>,
    pending: VecDeque<(usize, LinkId, Vec<u8>)>,
    down: HashSet<usize>,
    pub(super) now: u64,
    /// Non-packet actions each node produced, in order.
    pub(super) events: Vec<Vec<Action>>,
}

impl Sim {
    pub(super) fn new(n: usize, node_timeout_ms: u64) -> Sim {
        let now = 1_700_000_000_000;
        let nodes = (0..n)
            .map(|i| {
                let cfg = Config {
                    node_timeout_ms,
                    port: 7000 + i as u16,
                    cport: 17000 + i as u16,
                    seed: 1 + i as u64 * 7777,
                    ..Config::default()
                };
                ClusterState::new(cfg, now)
            })
            .collect();
        Sim {
            nodes,
            conns: HashMap::new(),
            pending: VecDeque::new(),
            down: HashSet::new(),
            now,
            events: vec![Vec::new(); n],
        }
    }

    pub(super) fn apply(&mut self, i: usize, actions: Vec<Action>) {
        let mut queue: VecDeque<(usize, Action)> = actions.into_iter().map(|a| (i, a)).collect();
        while let Some((i, action)) = queue.pop_front() {
            match action {
                Action::Connect { link, cport, .. } => {
                    let target = (0..self.nodes.len()).find(|&j| 17000 + j as u16 == cport);
                    match target.filter(|j| !self.down.contains(j)) {
                        Some(j) => {
                            let jl = self.nodes[j].accept_link(IP, IP, self.now);
                            self.conns.insert((i, link), (j, jl));
                            self.conns.insert((j, jl), (i, link));
                            let more = self.nodes[i].link_connected(link, IP, self.now);
                            queue.extend(more.into_iter().map(|a| (i, a)));
                        }
                        None => {
                            let more = self.nodes[i].link_closed(link, self.now);
                            queue.extend(more.into_iter().map(|a| (i, a)));
                        }
                    }
                }
                Action::Send { link, packet } => {
                    if let Some(&(j, jl)) = self.conns.get(&(i, link)) {
                        if !self.down.contains(&j) {
                            self.pending.push_back((j, jl, packet));
                        }
                    }
                }
                Action::Close { link } => {
                    if let Some((j, jl)) = self.conns.remove(&(i, link)) {
                        self.conns.remove(&(j, jl));
                        if !self.down.contains(&j) {
                            let more = self.nodes[j].link_closed(jl, self.now);
                            queue.extend(more.into_iter().map(|a| (j, a)));
                        }
                    }
                }
                other => self.events[i].push(other),
            }
        }
    }

    pub(super) fn deliver(&mut self) {
        let mut budget = 100_000;
        while let Some((j, jl, packet)) = self.pending.pop_front() {
            budget -= 1;
            assert!(budget > 0, "packet storm");
            if self.down.contains(&j) || !self.conns.contains_key(&(j, jl)) {
                continue;
            }
            let actions = self.nodes[j].handle_frame(jl, &packet, self.now);
            self.apply(j, actions);
        }
    }

    /// Advances time by `ms` in 100 ms ticks.
    pub(super) fn run(&mut self, ms: u64) {
        for _ in 0..ms / 100 {
            self.now += 100;
            for i in 0..self.nodes.len() {
                if !self.down.contains(&i) {
                    let actions = self.nodes[i].tick(self.now);
                    self.apply(i, actions);
                }
            }
            self.deliver();
        }
    }

    pub(super) fn call(&mut self, i: usize, f: impl FnOnce(&mut ClusterState, u64) -> Vec<Action>) {
        let actions = f(&mut self.nodes[i], self.now);
        self.apply(i, actions);
        self.deliver();
    }

    pub(super) fn name(&self, i: usize) -> Vec<u8> {
        self.nodes[i].myself().name.to_vec()
    }

    /// Kills node `i`: its links drop (peers see the close), packets to it vanish, connects are refused.
    pub(super) fn kill(&mut self, i: usize) {
        self.down.insert(i);
        let dead: Vec<_> = self
            .conns
            .keys()
            .filter(|(a, _)| *a == i)
            .copied()
            .collect();
        for key in dead {
            if let Some((j, jl)) = self.conns.remove(&key) {
                self.conns.remove(&(j, jl));
                let more = self.nodes[j].link_closed(jl, self.now);
                self.apply(j, more);
            }
        }
    }

    pub(super) fn revive(&mut self, i: usize) {
        self.down.remove(&i);
    }

    /// `redis-cli --cluster`'s signature: sorted `id:slots` of every slot owner.
    pub(super) fn signature(&self, i: usize) -> String {
        let mut lines: Vec<String> = self.nodes[i]
            .cluster_nodes()
            .lines()
            .filter(|l| l.split(' ').count() > 8)
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                let slots: Vec<&str> = f[8..]
                    .iter()
                    .copied()
                    .filter(|s| !s.starts_with('['))
                    .collect();
                format!("{}:{}", f[0], slots.join(","))
            })
            .collect();
        lines.sort();
        lines.join("|")
    }

    /// Three masters owning a third of the slots each, configured as `redis-cli --cluster create` does.
    pub(super) fn create(
        n_masters: usize,
        replicas_per_master: usize,
        node_timeout_ms: u64,
    ) -> Sim {
        let n = n_masters * (1 + replicas_per_master);
        let mut sim = Sim::new(n, node_timeout_ms);
        let per = 16384 / n_masters;
        for m in 0..n_masters {
            let end = if m + 1 == n_masters {
                16384
            } else {
                (m + 1) * per
            };
            let slots: Vec<u16> = (m * per..end).map(|s| s as u16).collect();
            sim.call(m, |s, now| s.update_slots(&slots, false, now).unwrap());
            sim.call(m, |s, now| s.set_config_epoch(m as i64 + 1, now).unwrap());
        }
        for i in 1..n {
            sim.call(i, |s, now| s.meet(IP, 7000, 17000, now).unwrap());
        }
        sim.run(3000);
        for r in n_masters..n {
            let master = sim.name((r - n_masters) % n_masters);
            sim.call(r, |s, now| s.replicate(&master, true, now).unwrap());
        }
        for i in 0..n {
            sim.nodes[i].set_repl_offset(1000);
        }
        sim.run(3000);
        sim
    }
}

pub(super) fn assert_converged(sim: &Sim, live: &[usize]) {
    let first = sim.signature(live[0]);
    for &i in live {
        let s = &sim.nodes[i];
        assert_eq!(
            sim.signature(i),
            first,
            "node {i} disagrees:\n{}",
            s.cluster_nodes()
        );
        assert!(s.is_ok(), "node {i} state:\n{}", s.cluster_info());
        assert!(
            s.nodes().all(|(_, n)| !n.in_handshake()),
            "node {i}:\n{}",
            s.cluster_nodes()
        );
        assert_eq!(
            s.cluster_info()
                .lines()
                .find(|l| l.starts_with("cluster_slots_assigned")),
            Some("cluster_slots_assigned:16384")
        );
    }
}
