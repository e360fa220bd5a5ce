//! A Zedis master is stopped, a redis-server replica takes its slots, and the Zedis node restarts from its
//! nodes.conf still claiming them with its old epoch: the real nodes' UPDATE messages or the new master's own
//! higher-epoch claim turn it into a replica of the new master.

mod common;

use std::time::{Duration, Instant};

use common::bus_node::{now_ms, wait, BusNode};
use common::{line_of, RedisNode};
use zedis_cluster::bus::{Message, MsgType};
use zedis_cluster::Action;

#[test]
fn restarted_stale_master_is_updated_into_a_replica() {
    let args = [
        "--cluster-node-timeout",
        "2000",
        "--cluster-replica-validity-factor",
        "0",
    ];
    let nodes: Vec<RedisNode> = (0..3).filter_map(|_| RedisNode::start(&args)).collect();
    if nodes.len() < 3 {
        eprintln!("redis-server unavailable: skipped");
        return;
    }
    let mut c1 = nodes[0].client();
    let mut c2 = nodes[1].client();
    let mut c4 = nodes[2].client();
    c1.line("CLUSTER ADDSLOTSRANGE 0 5460");
    c1.line("CLUSTER SET-CONFIG-EPOCH 1");
    c2.line("CLUSTER ADDSLOTSRANGE 5461 10922");
    c2.line("CLUSTER SET-CONFIG-EPOCH 2");
    let id4 = c4.text("CLUSTER MYID");
    let mut z = BusNode::start(2000);
    let zid = z.name();
    let mine: Vec<u16> = (10923..16384).collect();
    let actions = z.state.update_slots(&mine, false, now_ms()).unwrap();
    z.apply(actions);
    let actions = z.state.set_config_epoch(3, now_ms()).unwrap();
    z.apply(actions);
    let seed = nodes[0].port;
    c2.line(&format!("CLUSTER MEET 127.0.0.1 {seed}"));
    c4.line(&format!("CLUSTER MEET 127.0.0.1 {seed}"));
    let actions = z
        .state
        .meet("127.0.0.1", seed, seed + 10000, now_ms())
        .unwrap();
    z.apply(actions);
    wait(&mut z, "four nodes, ok", |z| {
        let text = c1.text("CLUSTER NODES");
        z.state.known_nodes() == 4
            && text.lines().count() == 4
            && !text.contains("handshake")
            && z.state.is_ok()
    });
    assert_eq!(
        c4.line(&format!("CLUSTER REPLICATE {zid}")),
        zedis_resp::Frame::Simple(b"OK".to_vec())
    );
    wait(&mut z, "we see our redis replica", |z| {
        z.state
            .lookup(id4.as_bytes())
            .and_then(|i| z.state.node(i))
            .is_some_and(|n| n.is_replica())
    });
    let conf = z.state.to_nodes_conf();
    let cport = z.cport();
    drop(z);
    let deadline = Instant::now() + Duration::from_secs(90);
    while !line_of(&c1.text("CLUSTER NODES"), &id4)
        .is_some_and(|l| l.contains("master") && l.ends_with(" 10923-16383"))
    {
        assert!(
            Instant::now() < deadline,
            "the redis replica never took over:\n{}",
            c1.text("CLUSTER NODES")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut z = BusNode::restart(&conf, cport, 2000);
    assert_eq!(z.name(), zid);
    assert!(
        z.state.myself().is_master() && z.state.slot_owner(16000) == Some(z.state.myself_idx())
    );
    wait(
        &mut z,
        "UPDATE turns us into the new master's replica",
        |z| {
            let me = z.state.myself();
            me.is_replica()
                && me
                    .master
                    .and_then(|m| z.state.node(m))
                    .is_some_and(|m| m.name_str() == id4)
        },
    );
    let updates = z
        .received
        .iter()
        .filter(|f| Message::decode(f).is_ok_and(|m| m.header.kind == MsgType::Update))
        .count();
    // Which message wins the race (an UPDATE about the new master, or the new master's own PING/PONG with
    // its greater epoch) depends on timing; either must demote us.
    eprintln!("UPDATE packets received after the restart: {updates}");
    assert!(z
        .events
        .iter()
        .any(|a| matches!(a, Action::ReplicateFrom { node, .. } if node == id4.as_bytes())));
    wait(&mut z, "the real nodes list us as its replica", |_| {
        line_of(&c1.text("CLUSTER NODES"), &zid)
            .is_some_and(|l| l.contains(&format!("slave {id4}")))
    });
}
