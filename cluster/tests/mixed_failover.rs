//! A mixed cluster: three redis-server 7.0.15 masters and a Zedis node as the replica of one of them. When
//! that master is killed, the real nodes flag it FAIL, vote for our replica, and adopt it as the new owner
//! of the slots (Redis's failover, decided over the bus by both implementations). The Zedis node is the real
//! `ClusterNode` runtime, driven by CLUSTER commands.

mod common;

use std::time::{Duration, Instant};

use common::zedis_node::{wait, ZedisNode, WAIT};
use common::{assign_and_meet, line_of, Client, RedisNode, THIRDS};
use zedis_cluster::Event;

#[test]
fn zedis_replica_takes_over_from_a_killed_redis_master() {
    let args = ["--cluster-node-timeout", "2000"];
    let (Some(r1), Some(r2), Some(r3)) = (
        RedisNode::start(&args),
        RedisNode::start(&args),
        RedisNode::start(&args),
    ) else {
        eprintln!("redis-server unavailable: skipped");
        return;
    };
    let mut clients: Vec<Client> = [&r1, &r2, &r3].iter().map(|r| r.client()).collect();
    let ids = assign_and_meet(&mut clients, &THIRDS, r1.port);
    let mut z = ZedisNode::start(2000);
    z.node.set_replication(1, 0);
    assert_eq!(z.text(&format!("CLUSTER MEET 127.0.0.1 {}", r1.port)), "OK");
    let zid = z.id();
    let mut c2 = r2.client();
    let mut c3 = r3.client();
    wait(&mut z, "all four nodes know each other", |z| {
        let nodes = c2.text("CLUSTER NODES");
        let state = z.node.state();
        state.known_nodes() == 4
            && state.nodes().all(|(_, n)| !n.in_handshake())
            && nodes.lines().count() == 4
            && !nodes.contains("handshake")
            && state.is_ok()
    });
    assert_eq!(z.text(&format!("CLUSTER REPLICATE {}", ids[0])), "OK");
    assert!(z
        .seen
        .iter()
        .any(|e| matches!(e, Event::ReplicateFrom { port, .. } if *port == r1.port)));
    wait(
        &mut z,
        "both surviving voters see us as the replica of the first master",
        |_| {
            [&mut c2, &mut c3].into_iter().all(|c| {
                line_of(&c.text("CLUSTER NODES"), &zid)
                    .is_some_and(|l| l.contains(&format!(" slave {} ", ids[0])))
            })
        },
    );

    drop(clients);
    drop(r1); // kill -9 equivalent: the process is killed by PID
    let killed = Instant::now();
    wait(
        &mut z,
        "our replica wins the election and redis-server adopts it",
        |z| {
            let nodes = c2.text("CLUSTER NODES");
            let state = z.node.state();
            let ours =
                state.myself().is_master() && state.slot_owner(0) == Some(state.myself_idx());
            let theirs = line_of(&nodes, &zid)
                .is_some_and(|l| l.contains("master") && l.ends_with(" 0-5460"));
            let old = line_of(&nodes, &ids[0]).is_some_and(|l| l.contains("master,fail"));
            ours && theirs && old
        },
    );
    let took = killed.elapsed();
    assert!(z.seen.contains(&Event::BecomeMaster));
    wait(&mut z, "the real nodes serve again", |z| {
        c2.text("CLUSTER INFO").contains("cluster_state:ok")
            && c3.text("CLUSTER INFO").contains("cluster_state:ok")
            && z.text("CLUSTER INFO").contains("cluster_state:ok")
    });
    // The promotion is on disk.
    let conf = z.nodes_conf();
    let mine = line_of(&conf, &zid).unwrap();
    assert!(
        mine.contains("myself,master") && mine.ends_with(" 0-5460"),
        "{conf}"
    );
    let info = c2.text("CLUSTER INFO");
    let epoch = z.node.state().myself().config_epoch;
    assert!(
        epoch > 3,
        "the new master has a fresh config epoch: {epoch}"
    );
    assert!(
        info.contains(&format!("cluster_current_epoch:{epoch}")),
        "{info}"
    );
    eprintln!("master killed -> Zedis replica promoted and adopted by redis-server in {took:?} (node timeout 2000 ms)");
}

#[test]
fn zedis_master_votes_for_a_redis_replica() {
    let args = ["--cluster-node-timeout", "2000"];
    let (Some(r1), Some(r2), Some(r4)) = (
        RedisNode::start(&args),
        RedisNode::start(&args),
        RedisNode::start(&args),
    ) else {
        eprintln!("redis-server unavailable: skipped");
        return;
    };
    let mut c1 = r1.client();
    let mut c2 = r2.client();
    let mut c4 = r4.client();
    c1.line("CLUSTER ADDSLOTSRANGE 0 5460");
    c1.line("CLUSTER SET-CONFIG-EPOCH 1");
    c2.line("CLUSTER ADDSLOTSRANGE 5461 10922");
    c2.line("CLUSTER SET-CONFIG-EPOCH 2");
    let id1 = c1.text("CLUSTER MYID");
    let id4 = c4.text("CLUSTER MYID");
    let mut z = ZedisNode::start(2000);
    assert_eq!(z.text("CLUSTER ADDSLOTSRANGE 10923 16383"), "OK");
    assert_eq!(z.text("CLUSTER SET-CONFIG-EPOCH 3"), "OK");
    for c in [&mut c2, &mut c4] {
        c.line(&format!("CLUSTER MEET 127.0.0.1 {}", r1.port));
    }
    assert_eq!(z.text(&format!("CLUSTER MEET 127.0.0.1 {}", r1.port)), "OK");
    wait(&mut z, "four nodes, cluster ok", |z| {
        let nodes = c2.text("CLUSTER NODES");
        let state = z.node.state();
        state.known_nodes() == 4
            && state.nodes().all(|(_, n)| !n.in_handshake())
            && nodes.lines().count() == 4
            && !nodes.contains("handshake")
            && state.is_ok()
    });
    c4.line(&format!("CLUSTER REPLICATE {id1}"));
    wait(
        &mut z,
        "we see the redis replica of the first master",
        |z| {
            let state = z.node.state();
            let r = state.lookup(id4.as_bytes()).and_then(|i| state.node(i));
            r.is_some_and(|n| {
                n.is_replica()
                    && n.master
                        .and_then(|m| state.node(m))
                        .is_some_and(|m| m.name_str() == id1)
            }) && c4
                .text("INFO replication")
                .contains("master_link_status:up")
        },
    );
    drop(c1);
    drop(r1);
    let killed = Instant::now();
    wait(&mut z, "the redis replica is promoted with our vote", |z| {
        let state = z.node.state();
        let ours = state
            .slot_owner(0)
            .and_then(|o| state.node(o))
            .is_some_and(|n| n.name_str() == id4);
        ours && line_of(&c2.text("CLUSTER NODES"), &id4)
            .is_some_and(|l| l.contains("master") && l.ends_with(" 0-5460"))
    });
    eprintln!(
        "master killed -> redis-server replica promoted with a Zedis vote in {:?} (node timeout 2000 ms)",
        killed.elapsed()
    );
    let granted = z.seen.iter().any(
        |e| matches!(e, Event::Log { text, .. } if text.starts_with("Failover auth granted to")),
    );
    assert!(granted, "{:?}", z.seen);
    let state = z.node.state();
    let old = state
        .lookup(id1.as_bytes())
        .and_then(|i| state.node(i))
        .unwrap();
    assert!(old.failed(), "we flagged the killed master FAIL");
    wait(&mut z, "everyone ok again", |z| {
        c2.text("CLUSTER INFO").contains("cluster_state:ok") && z.node.state().is_ok()
    });
}

/// The same failover among redis-server nodes only, for the side-by-side figure (printed, not asserted).
#[test]
fn redis_only_failover_baseline() {
    let args = ["--cluster-node-timeout", "2000"];
    let nodes: Vec<RedisNode> = (0..4).filter_map(|_| RedisNode::start(&args)).collect();
    if nodes.len() < 4 {
        eprintln!("redis-server unavailable: skipped");
        return;
    }
    let mut clients: Vec<Client> = nodes.iter().map(|r| r.client()).collect();
    let ids = assign_and_meet(&mut clients, &THIRDS, nodes[0].port);
    let deadline = Instant::now() + WAIT;
    let mut c2 = nodes[1].client();
    loop {
        let nodes_text = c2.text("CLUSTER NODES");
        let joined = nodes_text.lines().count() == 4 && !nodes_text.contains("handshake");
        if joined
            && clients[3].line(&format!("CLUSTER REPLICATE {}", ids[0]))
                == zedis_resp::Frame::Simple(b"OK".to_vec())
        {
            break;
        }
        assert!(Instant::now() < deadline, "never joined");
        std::thread::sleep(Duration::from_millis(100));
    }
    while !clients[3]
        .text("INFO replication")
        .contains("master_link_status:up")
    {
        assert!(Instant::now() < deadline, "replica never synced");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut nodes = nodes;
    drop(clients);
    drop(nodes.remove(0));
    let killed = Instant::now();
    loop {
        if line_of(&c2.text("CLUSTER NODES"), &ids[3])
            .is_some_and(|l| l.contains("master") && l.ends_with(" 0-5460"))
        {
            break;
        }
        assert!(Instant::now() < deadline, "no failover");
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "redis-only: master killed -> replica promoted in {:?} (node timeout 2000 ms)",
        killed.elapsed()
    );
}
