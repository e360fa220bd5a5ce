//! CLUSTER FAILOVER (the coordinated manual failover) from a Zedis replica of a redis-server master: MFSTART,
//! the master pauses and sends its offset, the replica asks for votes with FORCEACK, the roles swap. The
//! Zedis node is the real `ClusterNode` runtime, driven by CLUSTER commands.

mod common;

use std::time::Instant;

use common::zedis_node::{wait, ZedisNode};
use common::{assign_and_meet, line_of, RedisNode, THIRDS};
use zedis_cluster::Event;

#[test]
fn zedis_replica_manual_failover_swaps_roles_with_redis_master() {
    let args = ["--cluster-node-timeout", "3000"];
    let nodes: Vec<RedisNode> = (0..3).filter_map(|_| RedisNode::start(&args)).collect();
    if nodes.len() < 3 {
        eprintln!("redis-server unavailable: skipped");
        return;
    }
    let mut clients: Vec<_> = nodes.iter().map(|r| r.client()).collect();
    let ids = assign_and_meet(&mut clients, &THIRDS, nodes[0].port);
    let mut z = ZedisNode::start(3000);
    assert_eq!(
        z.text(&format!("CLUSTER MEET 127.0.0.1 {}", nodes[0].port)),
        "OK"
    );
    let zid = z.id();
    let mut c1 = nodes[0].client();
    wait(&mut z, "four nodes, all ok", |z| {
        let text = c1.text("CLUSTER NODES");
        let state = z.node.state();
        state.known_nodes() == 4
            && state
                .nodes()
                .all(|(_, n)| !n.in_handshake() && n.link.is_some() || n.name_str() == zid)
            && text.lines().count() == 4
            && !text.contains("handshake")
            && state.is_ok()
    });
    assert_eq!(z.text(&format!("CLUSTER REPLICATE {}", ids[0])), "OK");
    // Every voter must know the Zedis node is a replica of ids[0] before it asks for votes: a master that
    // still sees it as a master denies the vote ("it is a master node"), and a manual failover gives up
    // after 5 s without retrying.
    wait(&mut z, "every master sees the Zedis replica", |_| {
        clients.iter_mut().all(|c| {
            line_of(&c.text("CLUSTER NODES"), &zid)
                .is_some_and(|l| l.contains(&format!(" slave {} ", ids[0])))
        })
    });
    assert_eq!(z.text("CLUSTER FAILOVER"), "OK");
    let started = Instant::now();
    wait(&mut z, "roles swapped", |z| {
        let text = c1.text("CLUSTER NODES");
        let old =
            line_of(&text, &ids[0]).is_some_and(|l| l.contains(&format!("myself,slave {zid} ")));
        let new =
            line_of(&text, &zid).is_some_and(|l| l.contains("master") && l.ends_with(" 0-5460"));
        old && new && z.node.state().myself().is_master()
    });
    eprintln!(
        "manual failover (Zedis replica of redis-server master) done in {:?}",
        started.elapsed()
    );
    let log: Vec<&String> = z
        .seen
        .iter()
        .filter_map(|e| match e {
            Event::Log { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    assert!(log.iter().any(|t| t.starts_with("Received replication offset for paused master manual failover")), "{log:?}");
    assert!(
        log.iter()
            .any(|t| t.starts_with("All master replication stream processed")),
        "{log:?}"
    );
    assert!(z.seen.contains(&Event::BecomeMaster));
    let mut c2 = nodes[1].client();
    wait(&mut z, "cluster ok", |z| {
        c2.text("CLUSTER INFO").contains("cluster_state:ok") && z.node.state().is_ok()
    });
}
