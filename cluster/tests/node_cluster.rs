//! The real `ClusterNode` in a mio loop (as the server will run it) joining redis-server 7.0.15 nodes:
//! convergence through CLUSTER MEET / ADDSLOTSRANGE sent as commands, replies equal to redis-server's for
//! the same cluster, redirections equal to redis-server's, PUBLISH both ways, nodes.conf surviving a restart,
//! and a redis-server replica's manual failover of a Zedis master. (The automatic failovers are in
//! `mixed_failover.rs`, the Zedis replica's manual failover in `manual_failover.rs`.)

mod common;

use std::time::Instant;

use common::zedis_node::{wait, ZedisNode};
use common::{assign_and_meet, line_of, signature, Client, RedisNode};
use zedis_cluster::{ClientFlags, CommandKind, Event};
use zedis_resp::{parse_frame, Frame, Protocol};

fn ok(frame: Frame) {
    assert_eq!(frame, Frame::Simple(b"OK".to_vec()));
}

/// Three redis-server masters owning 0-16000 with epochs 1-3, met through the first.
fn three_masters(ranges: [(u16, u16); 3]) -> Option<(Vec<RedisNode>, Vec<Client>, Vec<String>)> {
    let args = ["--cluster-node-timeout", "2000"];
    let nodes: Vec<RedisNode> = (0..3)
        .map(|_| RedisNode::start(&args))
        .collect::<Option<_>>()?;
    let mut clients: Vec<Client> = nodes.iter().map(RedisNode::client).collect();
    let ids = assign_and_meet(&mut clients, &ranges, nodes[0].port);
    Some((nodes, clients, ids))
}

fn wait_agreement(z: &mut ZedisNode, clients: &mut [Client], what: &str) {
    wait(z, what, |z| {
        let ours = signature(&z.text("CLUSTER NODES"));
        let all_agree = clients.iter_mut().all(|c| {
            signature(&c.text("CLUSTER NODES")) == ours
                && c.text("CLUSTER INFO").contains("cluster_state:ok")
        });
        all_agree
            && z.node.state().is_ok()
            && z.node.state().known_nodes() == 4
            && z.node.state().nodes().all(|(_, n)| !n.in_handshake())
    });
}

fn info_field<'a>(info: &'a str, name: &str) -> &'a str {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or("")
}

#[test]
fn zedis_node_joins_three_redis_nodes_and_survives_a_restart() {
    let Some((redis, mut clients, ids)) = three_masters([(0, 5000), (5001, 10000), (10001, 16000)])
    else {
        eprintln!("redis-server unavailable: skipped");
        return;
    };
    let mut z = ZedisNode::start(2000);
    ok(z.line("CLUSTER ADDSLOTSRANGE 16001 16383"));
    ok(z.line("CLUSTER SET-CONFIG-EPOCH 4"));
    ok(z.line(&format!("CLUSTER MEET 127.0.0.1 {}", redis[0].port)));
    let zid = z.id();
    let started = Instant::now();
    wait_agreement(&mut z, &mut clients, "the four nodes agree");
    eprintln!(
        "4-node cluster converged in {:?}; ClusterNode::bytes() = {} ({} links open)",
        started.elapsed(),
        z.node.bytes(),
        z.node.open_links()
    );

    // Replies equal redis-server's for the same cluster.
    let c = &mut clients[0];
    let mut ours = z.raw(&[b"CLUSTER", b"SLOTS"], Protocol::Resp2);
    assert_eq!(
        parse_frame(&ours).unwrap().unwrap().0,
        c.line("CLUSTER SLOTS")
    );
    ours.clear();
    let shards = |frame: Frame| {
        let Frame::Array(mut v) = frame else {
            panic!("array")
        };
        v.sort_by_key(|f| format!("{f:?}"));
        v
    };
    ours.extend(z.raw(&[b"CLUSTER", b"SHARDS"], Protocol::Resp2));
    assert_eq!(
        shards(parse_frame(&ours).unwrap().unwrap().0),
        shards(c.line("CLUSTER SHARDS"))
    );
    let (our_info, their_info) = (z.text("CLUSTER INFO"), c.text("CLUSTER INFO"));
    for field in [
        "cluster_state",
        "cluster_slots_assigned",
        "cluster_slots_ok",
        "cluster_slots_pfail",
        "cluster_slots_fail",
        "cluster_known_nodes",
        "cluster_size",
        "cluster_current_epoch",
    ] {
        assert_eq!(
            info_field(&our_info, field),
            info_field(&their_info, field),
            "{field}"
        );
    }
    let (our_nodes, their_nodes) = (z.text("CLUSTER NODES"), c.text("CLUSTER NODES"));
    let strip = |l: String| {
        let f: Vec<String> = l.split(' ').map(|x| x.replace("myself,", "")).collect();
        [&f[..4], &f[6..]].concat().join(" ")
    };
    for id in ids.iter().chain([&zid]) {
        assert_eq!(
            strip(line_of(&our_nodes, id).unwrap()),
            strip(line_of(&their_nodes, id).unwrap()),
            "node {id}"
        );
    }
    assert_eq!(
        z.line(&format!("CLUSTER COUNT-FAILURE-REPORTS {}", ids[0])),
        c.line(&format!("CLUSTER COUNT-FAILURE-REPORTS {}", ids[0]))
    );
    assert_eq!(z.text("CLUSTER MYID"), zid);
    let fields = |frame: Frame| -> Vec<Vec<Vec<u8>>> {
        let Frame::Array(links) = frame else {
            panic!("array")
        };
        links
            .into_iter()
            .map(|l| match l {
                Frame::Array(kv) => kv
                    .into_iter()
                    .step_by(2)
                    .map(|k| match k {
                        Frame::Bulk(k) => k,
                        other => panic!("field name {other:?}"),
                    })
                    .collect(),
                other => panic!("link {other:?}"),
            })
            .collect()
    };
    let (ours, theirs) = (
        fields(z.line("CLUSTER LINKS")),
        fields(c.line("CLUSTER LINKS")),
    );
    assert!(
        ours.len() >= 3,
        "links to and from the three peers: {ours:?}"
    );
    assert!(
        ours.iter().chain(&theirs).all(|f| f == &theirs[0]),
        "the same fields, in the same order: {ours:?} / {theirs:?}"
    );

    // Routing: the same redirections as redis-server for the same keys.
    let client = ClientFlags::default();
    let get = CommandKind::default();
    for keys in [&["foo"][..], &["foo", "bar"], &["{foo}a", "{foo}b"]] {
        let args: Vec<&[u8]> = std::iter::once(&b"MGET"[..])
            .chain(keys.iter().map(|k| k.as_bytes()))
            .collect();
        let Frame::Error(theirs) = c.call(&args) else {
            panic!("redis-server redirects {keys:?}")
        };
        let key_bytes: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
        let ours = z
            .node
            .check_route(&key_bytes, get, client, |_| false)
            .unwrap_err();
        assert_eq!(
            ours,
            [b"-".as_slice(), &theirs, b"\r\n"].concat(),
            "{keys:?}"
        );
    }
    let local = (0..)
        .map(|i| format!("key:{i}"))
        .find(|k| zedis_cluster::key_hash_slot(k.as_bytes()) > 16000)
        .unwrap();
    assert_eq!(
        z.node
            .check_route(&[local.as_bytes()], get, client, |_| false),
        Ok(())
    );

    // PUBLISH both ways: redis-server's reaches us as an event; ours reaches a redis-server subscriber.
    assert_eq!(c.line("PUBLISH news hello"), Frame::Integer(0));
    wait(&mut z, "redis-server's PUBLISH reaches us", |z| {
        z.seen.iter().any(|e| {
            matches!(e, Event::Deliver { channel, message, shard: false }
                if channel == b"news" && message == b"hello")
        })
    });
    let mut sub = redis[2].client();
    assert!(matches!(sub.line("SUBSCRIBE ours"), Frame::Array(_)));
    z.node
        .publish(b"ours", b"from zedis", false, common::bus_node::now_ms());
    z.turn();
    let Frame::Array(msg) = sub.read_frame() else {
        panic!("a message")
    };
    assert_eq!(msg[2], Frame::Bulk(b"from zedis".to_vec()));

    // Restart: same id, slots and peers from nodes.conf; the links come back.
    let conf_before = z.nodes_conf();
    assert!(
        conf_before.contains("vars currentEpoch 4 lastVoteEpoch 0"),
        "{conf_before}"
    );
    let (dir, port) = z.stop();
    let mut z = ZedisNode::start_in(&dir, port, 2000).expect("restarts from its nodes.conf");
    assert_eq!(z.id(), zid);
    assert_eq!(z.node.state().known_nodes(), 4);
    assert!(z.seen.iter().any(
        |e| matches!(e, Event::Log { text, .. } if text.starts_with("Node configuration loaded"))
    ));
    wait_agreement(&mut z, &mut clients, "the restarted node rejoins");
    let their_nodes = clients[1].text("CLUSTER NODES");
    let line = line_of(&their_nodes, &zid).unwrap();
    assert!(
        line.contains(" connected 16001-16383") && !line.contains("fail"),
        "{line}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn redis_replica_manual_failover_of_a_zedis_master_pauses_its_writes() {
    let args = ["--cluster-node-timeout", "3000"];
    let redis: Vec<RedisNode> = (0..3).filter_map(|_| RedisNode::start(&args)).collect();
    if redis.len() < 3 {
        eprintln!("redis-server unavailable: skipped");
        return;
    }
    let mut clients: Vec<Client> = redis.iter().map(RedisNode::client).collect();
    for (i, (start, end)) in [(0, 5460), (5461, 10922)].iter().enumerate() {
        ok(clients[i].line(&format!("CLUSTER ADDSLOTSRANGE {start} {end}")));
        ok(clients[i].line(&format!("CLUSTER SET-CONFIG-EPOCH {}", i + 1)));
    }
    let replica_id = clients[2].text("CLUSTER MYID");
    for c in clients.iter_mut().skip(1) {
        ok(c.line(&format!("CLUSTER MEET 127.0.0.1 {}", redis[0].port)));
    }
    let mut z = ZedisNode::start(3000);
    ok(z.line("CLUSTER ADDSLOTSRANGE 10923 16383"));
    ok(z.line("CLUSTER SET-CONFIG-EPOCH 3"));
    ok(z.line(&format!("CLUSTER MEET 127.0.0.1 {}", redis[0].port)));
    let zid = z.id();
    wait(&mut z, "four nodes, all ok", |z| {
        let text = clients[0].text("CLUSTER NODES");
        z.node.state().known_nodes() == 4
            && z.node.state().nodes().all(|(_, n)| !n.in_handshake())
            && text.lines().count() == 4
            && !text.contains("handshake")
            && z.node.state().is_ok()
    });
    ok(clients[2].line(&format!("CLUSTER REPLICATE {zid}")));
    wait(
        &mut z,
        "every node sees the redis replica of the Zedis master",
        |z| {
            let ours = line_of(&z.text("CLUSTER NODES"), &replica_id)
                .is_some_and(|l| l.contains(&format!(" slave {zid} ")));
            ours && clients[..2].iter_mut().all(|c| {
                line_of(&c.text("CLUSTER NODES"), &replica_id)
                    .is_some_and(|l| l.contains(&format!(" slave {zid} ")))
            })
        },
    );
    ok(clients[2].line("CLUSTER FAILOVER"));
    let replica_port = redis[2].port;
    wait(&mut z, "roles swapped", |z| {
        let mine = line_of(&z.text("CLUSTER NODES"), &zid).unwrap_or_default();
        mine.contains(&format!("myself,slave {replica_id} "))
            && z.seen
                .iter()
                .any(|e| matches!(e, Event::ReplicateFrom { port, .. } if *port == replica_port))
    });
    assert!(
        z.seen
            .iter()
            .any(|e| matches!(e, Event::PauseWrites { .. })),
        "the master paused its writes for the manual failover: {:?}",
        z.seen
    );
    let pauses: Vec<&Event> = z
        .seen
        .iter()
        .filter(|e| matches!(e, Event::PauseWrites { .. } | Event::UnpauseWrites))
        .collect();
    assert!(
        matches!(
            pauses[..],
            [Event::PauseWrites { .. }, Event::UnpauseWrites]
        ),
        "paused once, then unpaused when demoted: {pauses:?}"
    );
    let text = clients[0].text("CLUSTER NODES");
    assert!(
        line_of(&text, &replica_id)
            .is_some_and(|l| l.contains("master") && l.ends_with(" 10923-16383")),
        "{text}"
    );
}
