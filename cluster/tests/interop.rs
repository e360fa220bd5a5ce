//! Interop with a real redis-server 7.0.15 in cluster mode: our state machine speaks the bus over TCP, the
//! real node lists us as a connected master, slot ownership travels both ways, and every packet it sent us
//! decodes and re-encodes to the same bytes.

mod common;

use std::time::{Duration, Instant};

use common::bus_node::{wait, BusNode};
use common::{line_of, signature, Client, RedisNode};
use zedis_cluster::bus::Message;
use zedis_resp::{parse_frame, Frame, Protocol};

const WAIT: Duration = Duration::from_secs(60);

fn query<'a>(keys: &[&'a str]) -> zedis_cluster::RouteQuery<'a> {
    zedis_cluster::RouteQuery {
        keys: keys.iter().map(|k| k.as_bytes()).collect(),
        ..Default::default()
    }
}

fn redis_id(client: &mut Client) -> String {
    client.text("CLUSTER MYID")
}

fn check_packets_byte_exact(node: &BusNode) {
    assert_eq!(
        node.bad_packets, 0,
        "every packet from redis-server decodes"
    );
    assert!(!node.received.is_empty());
    for frame in &node.received {
        let msg = Message::decode(frame).expect("decodes");
        assert_eq!(
            &msg.to_bytes(),
            frame,
            "re-encoding {:?} changes bytes",
            msg.header.kind
        );
    }
}

/// Both nodes split the 16384 slots and agree; redis-server reports cluster_state:ok.
fn split_slots_and_agree(z: &mut BusNode, redis: &RedisNode, client: &mut Client) {
    let rid = redis_id(client);
    assert_eq!(
        client.line("CLUSTER ADDSLOTSRANGE 0 8191"),
        Frame::Simple(b"OK".to_vec())
    );
    let mine: Vec<u16> = (8192..16384).collect();
    let actions = z
        .state
        .update_slots(&mine, false, common::bus_node::now_ms())
        .unwrap();
    z.apply(actions);
    let zid = z.name();
    let mut c2 = redis.client();
    wait(z, "redis-server's slots reach our state", |z| {
        z.state
            .slot_owner(0)
            .and_then(|o| z.state.node(o))
            .is_some_and(|n| n.name_str() == rid)
            && z.state.slot_owner(8191).is_some()
    });
    wait(z, "our slots reach redis-server", |_| {
        let nodes = c2.text("CLUSTER NODES");
        line_of(&nodes, &zid).is_some_and(|l| l.ends_with(" 8192-16383"))
    });
    wait(z, "both agree and redis-server says ok", |z| {
        let nodes = c2.text("CLUSTER NODES");
        let info = c2.text("CLUSTER INFO");
        signature(&nodes) == signature(&z.state.cluster_nodes())
            && info.contains("cluster_state:ok")
            && z.state.is_ok()
    });
    // CLUSTER SLOTS built from our state equals redis-server's reply (same topology, same format).
    let mut ours = Vec::new();
    z.state.cluster_slots(&mut ours, Protocol::Resp2);
    let (frame, _) = parse_frame(&ours).unwrap().unwrap();
    assert_eq!(frame, client.line("CLUSTER SLOTS"));
    // CLUSTER SHARDS: the same shards (order is each side's table order).
    let mut ours = Vec::new();
    z.state.cluster_shards(&mut ours, Protocol::Resp2);
    let (Frame::Array(mut ours), _) = parse_frame(&ours).unwrap().unwrap() else {
        panic!("array")
    };
    let Frame::Array(mut theirs) = client.line("CLUSTER SHARDS") else {
        panic!("array")
    };
    let key = |f: &Frame| format!("{f:?}");
    ours.sort_by_key(key);
    theirs.sort_by_key(key);
    assert_eq!(ours, theirs);
    // CLUSTER NODES lines: each side describes a node as that node describes itself (but for the
    // `myself` flag and the ping/pong times).
    let their_nodes = client.text("CLUSTER NODES");
    let our_nodes = z.state.cluster_nodes();
    for id in [&rid, &zid] {
        let strip = |l: &str| {
            let f: Vec<String> = l.split(' ').map(|x| x.replace("myself,", "")).collect();
            [&f[..4], &f[6..]].concat().join(" ")
        };
        assert_eq!(
            strip(&line_of(&our_nodes, id).unwrap()),
            strip(&line_of(&their_nodes, id).unwrap())
        );
    }
    // CLUSTER INFO: same state, slot counts, known nodes, size and current epoch.
    let head = |info: &str| info.lines().take(8).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(
        head(&z.state.cluster_info()),
        head(&client.text("CLUSTER INFO"))
    );
    // Routing: redis-server and our router give the same redirections for the same keys.
    let theirs_key = (0..)
        .map(|i| format!("k{i}"))
        .find(|k| zedis_cluster::key_hash_slot(k.as_bytes()) < 8192)
        .unwrap();
    let ours_key = (0..)
        .map(|i| format!("k{i}"))
        .find(|k| zedis_cluster::key_hash_slot(k.as_bytes()) >= 8192)
        .unwrap();
    let moved_here = client.line(&format!("GET {ours_key}"));
    let expected = format!(
        "MOVED {} 127.0.0.1:{}",
        zedis_cluster::key_hash_slot(ours_key.as_bytes()),
        z.state.config().port
    );
    assert_eq!(moved_here, Frame::Error(expected.into_bytes()));
    let ours = z
        .state
        .route(&query(&[&theirs_key]), |_| false)
        .error_text()
        .unwrap();
    assert_eq!(
        ours,
        format!(
            "MOVED {} 127.0.0.1:{}",
            zedis_cluster::key_hash_slot(theirs_key.as_bytes()),
            redis.port
        )
    );
    let cross = client.line(&format!("MGET {theirs_key} {ours_key}"));
    let ours = z
        .state
        .route(&query(&[&theirs_key, &ours_key]), |_| false)
        .error_text()
        .unwrap();
    assert_eq!(cross, Frame::Error(ours.into_bytes()));
    // Its nodes.conf loads into our state and names the same owners.
    let conf = redis.nodes_conf();
    let loaded =
        zedis_cluster::ClusterState::from_nodes_conf(zedis_cluster::Config::default(), &conf, 1)
            .unwrap_or_else(|e| panic!("{e}\n{conf}"));
    assert_eq!(
        signature(&loaded.cluster_nodes()),
        signature(&z.state.cluster_nodes())
    );
    assert_eq!(loaded.myself().name_str(), rid);
}

#[test]
fn we_meet_redis_and_share_slots() {
    let Some(redis) = RedisNode::start(&[
        "--cluster-node-timeout",
        "5000",
        "--cluster-announce-hostname",
        "redis-host",
    ]) else {
        eprintln!("redis-server unavailable: skipped");
        return;
    };
    let mut client = redis.client();
    let rid = redis_id(&mut client);
    let mut z = BusNode::start_with(5000, "zedis-host");
    let actions = z
        .state
        .meet(
            "127.0.0.1",
            redis.port,
            redis.port + 10000,
            common::bus_node::now_ms(),
        )
        .unwrap();
    z.apply(actions);
    let zid = z.name();
    let mut c2 = redis.client();
    wait(&mut z, "redis-server lists us as a connected master", |z| {
        let nodes = c2.text("CLUSTER NODES");
        let known = z.state.lookup(rid.as_bytes()).is_some();
        known
            && line_of(&nodes, &zid)
                .is_some_and(|l| l.contains(" master - ") && l.contains(" connected"))
    });
    let nodes = client.text("CLUSTER NODES");
    let line = line_of(&nodes, &zid).unwrap();
    assert!(
        line.contains(&format!(
            "127.0.0.1:{}@{}",
            z.state.config().port,
            z.state.config().cport
        )),
        "{line}"
    );
    // Hostnames travel in the ping extension both ways and show in CLUSTER NODES.
    wait(&mut z, "hostnames reach both sides", |z| {
        let theirs = c2.text("CLUSTER NODES");
        let ours = z.state.cluster_nodes();
        line_of(&theirs, &zid).is_some_and(|l| l.contains(",zedis-host "))
            && line_of(&ours, &rid).is_some_and(|l| l.contains(",redis-host "))
    });
    assert!(client
        .text("CLUSTER INFO")
        .contains("cluster_known_nodes:2"));
    split_slots_and_agree(&mut z, &redis, &mut client);
    check_packets_byte_exact(&z);
}

#[test]
fn redis_meets_us_and_detects_our_failure() {
    let Some(redis) = RedisNode::start(&["--cluster-node-timeout", "2000"]) else {
        eprintln!("redis-server unavailable: skipped");
        return;
    };
    let mut client = redis.client();
    let mut z = BusNode::start(2000);
    let meet = format!(
        "CLUSTER MEET 127.0.0.1 {} {}",
        z.state.config().port,
        z.state.config().cport
    );
    assert_eq!(client.line(&meet), Frame::Simple(b"OK".to_vec()));
    let rid = redis_id(&mut client);
    let zid = z.name();
    let mut c2 = redis.client();
    wait(&mut z, "handshake completes both ways", |z| {
        let nodes = c2.text("CLUSTER NODES");
        let ours = z
            .state
            .lookup(rid.as_bytes())
            .and_then(|i| z.state.node(i))
            .is_some_and(|n| !n.in_handshake());
        ours && line_of(&nodes, &zid)
            .is_some_and(|l| !l.contains("handshake") && l.contains(" connected"))
    });
    assert_eq!(
        z.state.myself().ip,
        "127.0.0.1",
        "MEET taught us our address"
    );
    split_slots_and_agree(&mut z, &redis, &mut client);
    check_packets_byte_exact(&z);
    // Stop answering: redis-server flags us PFAIL (FAIL would need reports from 2 of the 2 masters) and,
    // with half the slots unreachable, its cluster_state goes fail.
    drop(z);
    let deadline = Instant::now() + WAIT;
    loop {
        let nodes = client.text("CLUSTER NODES");
        let info = client.text("CLUSTER INFO");
        if line_of(&nodes, &zid).is_some_and(|l| l.contains("fail?"))
            && info.contains("cluster_state:fail")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "redis-server never flagged us:\n{nodes}\n{info}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
