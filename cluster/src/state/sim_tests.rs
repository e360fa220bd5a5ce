//! Tests over the simulated network: convergence, slot propagation, epoch collisions, failure detection,
//! automatic and manual failover, one vote per epoch, replica migration, UPDATE.

use std::collections::HashSet;

use super::admin::FailoverMode;
use super::node::flags;
use super::sim::{assert_converged, Sim, IP};
use super::Action;
use crate::bus::{Body, Message, MsgType};

#[test]
fn three_masters_converge() {
    let sim = Sim::create(3, 0, 2000);
    assert_converged(&sim, &[0, 1, 2]);
    for i in 0..3 {
        assert_eq!(sim.nodes[i].known_nodes(), 3);
        assert_eq!(
            sim.nodes[i].myself().ip,
            IP,
            "MEET taught each node its address"
        );
        assert!(sim.nodes[i]
            .cluster_nodes()
            .lines()
            .all(|l| l.contains(" connected")));
        assert_eq!(sim.nodes[i].size(), 3);
    }
    let mut links = Vec::new();
    sim.nodes[0].cluster_links(&mut links, zedis_resp::Protocol::Resp3, |_| ("r", 0, 0));
    let (zedis_resp::Frame::Array(links), _) = zedis_resp::parse_frame(&links).unwrap().unwrap()
    else {
        panic!()
    };
    assert_eq!(
        links.len(),
        4,
        "one outbound and one inbound link to each of the two peers"
    );
    let info = sim.nodes[0].cluster_info();
    assert!(info.contains("cluster_stats_messages_ping_sent:"), "{info}");
    assert!(
        info.contains("cluster_stats_messages_meet_received:"),
        "{info}"
    );
}

#[test]
fn config_epoch_collisions_resolve() {
    let mut sim = Sim::new(3, 2000);
    for m in 0..3 {
        let slots: Vec<u16> = (m * 100..(m + 1) * 100).map(|s| s as u16).collect();
        sim.call(m, |s, now| s.update_slots(&slots, false, now).unwrap());
    }
    sim.call(1, |s, now| s.meet(IP, 7000, 17000, now).unwrap());
    sim.call(2, |s, now| s.meet(IP, 7000, 17000, now).unwrap());
    sim.run(6000);
    let epochs: HashSet<u64> = (0..3).map(|i| sim.nodes[i].myself().config_epoch).collect();
    assert_eq!(
        epochs.len(),
        3,
        "every master ends with its own config epoch"
    );
    let views: HashSet<String> = (0..3).map(|i| sim.signature(i)).collect();
    assert_eq!(views.len(), 1);
}

#[test]
fn resharded_slots_propagate_with_a_bumped_epoch() {
    let mut sim = Sim::create(3, 0, 2000);
    let (src, dst) = (sim.name(0), sim.name(1));
    // Busy slots cannot be added elsewhere: a reshard goes through IMPORTING / MIGRATING / NODE.
    assert_eq!(
        sim.nodes[1]
            .update_slots(&[0], false, sim.now)
            .unwrap_err()
            .to_string(),
        "ERR Slot 0 is already busy"
    );
    let epoch_before = sim.nodes[1].myself().config_epoch;
    for slot in 0..100u16 {
        sim.call(1, |s, now| s.set_slot_importing(slot, &src, now).unwrap());
        sim.call(0, |s, now| s.set_slot_migrating(slot, &dst, now).unwrap());
    }
    assert!(sim.nodes[0]
        .cluster_nodes()
        .contains(&format!("[5->-{}]", String::from_utf8_lossy(&dst))));
    assert!(sim.nodes[1]
        .cluster_nodes()
        .contains(&format!("[5-<-{}]", String::from_utf8_lossy(&src))));
    for slot in 0..100u16 {
        sim.call(1, |s, now| s.set_slot_node(slot, &dst, 0, now).unwrap());
        sim.call(0, |s, now| s.set_slot_node(slot, &dst, 0, now).unwrap());
    }
    sim.run(3000);
    assert!(
        sim.nodes[1].myself().config_epoch > epoch_before,
        "importing bumped the epoch"
    );
    for i in 0..3 {
        let owner = sim.nodes[i].slot_owner(50).unwrap();
        assert_eq!(
            sim.nodes[i].node(owner).unwrap().name.to_vec(),
            dst,
            "node {i}"
        );
        assert_eq!(
            sim.nodes[i].slot_owner(100),
            sim.nodes[i].lookup(&src),
            "node {i}"
        );
    }
    assert!(
        !sim.nodes[0].cluster_nodes().contains('['),
        "migration entries closed"
    );
    assert_converged(&sim, &[0, 1, 2]);
}

#[test]
fn master_failure_promotes_its_replica_and_old_master_rejoins_as_replica() {
    let mut sim = Sim::create(3, 1, 1000);
    assert_converged(&sim, &[0, 1, 2, 3, 4, 5]);
    let (dead, heir) = (0, 3);
    let dead_name = sim.name(dead);
    assert_eq!(
        sim.nodes[heir]
            .myself()
            .master
            .map(|m| sim.nodes[heir].node(m).unwrap().name.to_vec()),
        Some(dead_name.clone())
    );
    sim.kill(dead);
    sim.run(10_000);
    let live = [1, 2, 3, 4, 5];
    for &i in &live {
        let s = &sim.nodes[i];
        let d = s.lookup(&dead_name).unwrap();
        assert!(
            s.node(d).unwrap().failed(),
            "node {i} sees the dead master FAIL:\n{}",
            s.cluster_nodes()
        );
        let owner = s.slot_owner(0).unwrap();
        assert_eq!(
            s.node(owner).unwrap().name.to_vec(),
            sim.name(heir),
            "node {i}:\n{}",
            s.cluster_nodes()
        );
    }
    assert!(sim.nodes[heir].myself().is_master());
    assert!(sim.events[heir].contains(&Action::BecomeMaster));
    assert!(
        sim.nodes[heir].myself().config_epoch > 3,
        "the winner took a new epoch"
    );
    assert_converged(&sim, &live);
    sim.revive(dead);
    sim.run(6000);
    let old = &sim.nodes[dead];
    assert!(
        old.myself().is_replica(),
        "the old master follows the new one:\n{}",
        old.cluster_nodes()
    );
    assert!(sim.events[dead]
        .iter()
        .any(|a| matches!(a, Action::ReplicateFrom { port: 7003, .. })));
    assert_converged(&sim, &[0, 1, 2, 3, 4, 5]);
}

#[test]
fn manual_failover_swaps_roles() {
    let mut sim = Sim::create(3, 1, 2000);
    sim.call(4, |s, now| s.failover(FailoverMode::Default, now).unwrap());
    sim.run(3000);
    assert!(
        sim.events[1]
            .iter()
            .any(|a| matches!(a, Action::PauseWrites { .. })),
        "the master paused writes"
    );
    assert!(
        sim.nodes[4].myself().is_master(),
        "{}",
        sim.nodes[4].cluster_nodes()
    );
    assert!(
        sim.nodes[1].myself().is_replica(),
        "{}",
        sim.nodes[1].cluster_nodes()
    );
    assert_converged(&sim, &[0, 1, 2, 3, 4, 5]);
    assert_eq!(
        sim.nodes[4]
            .failover(FailoverMode::Default, sim.now)
            .unwrap_err()
            .to_string(),
        "ERR You should send CLUSTER FAILOVER to a replica"
    );
}

#[test]
fn one_vote_per_epoch() {
    let mut sim = Sim::create(3, 2, 2000);
    // Master 1 votes; replicas 3 and 6 (both of master 0) ask in the same epoch, master 0 forced FAIL.
    let voter = 1;
    let dead = sim.nodes[voter].lookup(&sim.name(0)).unwrap();
    sim.nodes[voter].nodes[dead].flags |= flags::FAIL;
    let epoch = sim.nodes[voter].current_epoch() + 1;
    let mut acks = 0;
    for asker in [3, 6] {
        let mut header = sim.nodes[asker].build_header(MsgType::FailoverAuthRequest);
        header.current_epoch = epoch;
        let packet = Message {
            header,
            body: Body::Empty,
        }
        .to_bytes();
        let link = sim.nodes[voter].nodes[sim.nodes[voter].lookup(&sim.name(asker)).unwrap()]
            .inbound_link
            .unwrap();
        let actions = sim.nodes[voter].handle_frame(link, &packet, sim.now);
        acks += actions
            .iter()
            .filter(|a| matches!(a, Action::Send { packet, .. } if Message::decode(packet).unwrap().header.kind == MsgType::FailoverAuthAck))
            .count();
    }
    assert_eq!(acks, 1);
    assert_eq!(sim.nodes[voter].last_vote_epoch(), epoch);
}

#[test]
fn state_memory_is_measured() {
    let small = Sim::new(1, 1000);
    let sim = Sim::create(3, 1, 2000);
    assert!(small.nodes[0].bytes() > 16384 * 4 * 3);
    assert!(sim.nodes[0].bytes() > small.nodes[0].bytes());
    eprintln!(
        "ClusterState::bytes(): 1 node {} B, 6 nodes {} B",
        small.nodes[0].bytes(),
        sim.nodes[0].bytes()
    );
}

#[test]
fn minority_side_goes_down_and_recovers() {
    let mut sim = Sim::create(3, 0, 1000);
    sim.kill(1);
    sim.kill(2);
    sim.run(4000);
    let s = &sim.nodes[0];
    assert!(
        !s.is_ok(),
        "a master alone is a minority:\n{}",
        s.cluster_info()
    );
    for i in [1, 2] {
        let n = s.lookup(&sim.name(i)).unwrap();
        let node = s.node(n).unwrap();
        assert!(
            node.timed_out() && !node.failed(),
            "PFAIL without a majority never becomes FAIL"
        );
    }
    assert!(s.cluster_info().contains("cluster_slots_pfail:"));
    sim.revive(1);
    sim.revive(2);
    sim.run(8000);
    assert_converged(&sim, &[0, 1, 2]);
    assert!(sim.nodes[0]
        .nodes()
        .all(|(_, n)| !n.timed_out() && !n.failed()));
}

#[test]
fn failure_reports_need_a_majority_and_expire() {
    let mut sim = Sim::create(5, 0, 1000);
    sim.kill(4);
    sim.run(5000);
    let dead = sim.name(4);
    for i in 0..4 {
        let s = &sim.nodes[i];
        let n = s.lookup(&dead).unwrap();
        assert!(
            s.node(n).unwrap().failed(),
            "4 of 5 masters agree: FAIL on node {i}"
        );
    }
    // Gossip keeps refreshing the other masters' reports; with no packet for 2 × node timeout they expire.
    let reports = sim.nodes[0].count_failure_reports(&dead, sim.now).unwrap();
    assert!((2..=3).contains(&reports), "{reports} reports");
    assert_eq!(
        sim.nodes[0]
            .count_failure_reports(&dead, sim.now + 2001)
            .unwrap(),
        0
    );
}

#[test]
fn forced_and_takeover_failovers() {
    let mut sim = Sim::create(3, 1, 2000);
    sim.call(3, |s, now| s.failover(FailoverMode::Force, now).unwrap());
    sim.run(3000);
    assert!(
        sim.nodes[3].myself().is_master(),
        "FORCE elects with votes:\n{}",
        sim.nodes[3].cluster_nodes()
    );
    assert!(
        !sim.events[0]
            .iter()
            .any(|a| matches!(a, Action::PauseWrites { .. })),
        "FORCE skips the pause"
    );
    let epoch_before = sim.nodes[5].current_epoch();
    sim.call(5, |s, now| s.failover(FailoverMode::Takeover, now).unwrap());
    assert!(sim.nodes[5].myself().is_master(), "TAKEOVER needs no votes");
    assert!(sim.nodes[5].myself().config_epoch > epoch_before);
    sim.run(3000);
    assert!(
        sim.nodes[2].myself().is_replica(),
        "{}",
        sim.nodes[2].cluster_nodes()
    );
    assert_converged(&sim, &[0, 1, 2, 3, 4, 5]);
}

#[test]
fn an_orphaned_master_gets_a_migrating_replica() {
    let mut sim = Sim::create(3, 2, 1000);
    let orphan = sim.name(1);
    sim.kill(4);
    sim.kill(7);
    sim.run(15_000);
    let live = [0, 1, 2, 3, 5, 6, 8];
    let adopted: Vec<usize> = live
        .iter()
        .copied()
        .filter(|&i| {
            let s = &sim.nodes[i];
            s.myself().is_replica()
                && s.myself()
                    .master
                    .and_then(|m| s.node(m))
                    .is_some_and(|m| m.name.to_vec() == orphan)
        })
        .collect();
    assert_eq!(
        adopted.len(),
        1,
        "exactly one replica migrated to the orphaned master: {adopted:?}"
    );
    let migrated = adopted[0];
    assert!(sim.events[migrated]
        .iter()
        .any(|a| matches!(a, Action::ReplicateFrom { port: 7001, .. })));
}

#[test]
fn update_message_moves_slots_and_demotes_an_emptied_master() {
    let mut sim = Sim::create(3, 0, 2000);
    let (n0, n2) = (
        sim.nodes[0].lookup(&sim.name(0)).unwrap(),
        sim.nodes[0].lookup(&sim.name(2)).unwrap(),
    );
    let mut slots = sim.nodes[0].nodes[n0].slots.clone();
    for s in sim.nodes[0]
        .owned_ranges(n2)
        .iter()
        .flat_map(|&(a, b)| a..=b)
    {
        slots.set(s, true);
    }
    let header = sim.nodes[1].build_header(MsgType::Update);
    let name = sim.nodes[0].nodes[n2].name;
    let packet = Message {
        header,
        body: Body::Update {
            config_epoch: 100,
            name,
            slots,
        },
    }
    .to_bytes();
    let from1 = sim.nodes[0].nodes[sim.nodes[0].lookup(&sim.name(1)).unwrap()]
        .inbound_link
        .unwrap();
    let actions = sim.nodes[0].handle_frame(from1, &packet, sim.now);
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::ReplicateFrom { port: 7002, .. })),
        "{actions:?}"
    );
    let s = &sim.nodes[0];
    assert!(s.myself().is_replica() && s.myself().master == Some(n2));
    assert_eq!(s.slot_owner(0), Some(n2));
    assert_eq!(s.node(n2).unwrap().config_epoch, 100);
    // An UPDATE with an older epoch changes nothing.
    let header = sim.nodes[1].build_header(MsgType::Update);
    let stale = Message {
        header,
        body: Body::Update {
            config_epoch: 50,
            name,
            slots: Default::default(),
        },
    };
    sim.nodes[0].handle_frame(from1, &stale.to_bytes(), sim.now);
    assert_eq!(sim.nodes[0].slot_owner(0), Some(n2));
}
