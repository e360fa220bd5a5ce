//! PUBLISH across a mixed cluster, and a peer sending malformed bus packets: dropped or disconnected,
//! never a crash.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::bus_node::{now_ms, BusNode};
use common::RedisNode;
use proptest::prelude::*;
use proptest::test_runner::{Config as PropConfig, TestRunner};
use zedis_cluster::bus::{Body, Header, Message, MsgType};
use zedis_cluster::Action;
use zedis_resp::Frame;

fn bulk(s: &str) -> Frame {
    Frame::Bulk(s.as_bytes().to_vec())
}

#[test]
fn publish_travels_both_ways() {
    let Some(redis) = RedisNode::start(&["--cluster-node-timeout", "5000"]) else {
        eprintln!("redis-server unavailable: skipped");
        return;
    };
    let mut client = redis.client();
    let rid = client.text("CLUSTER MYID");
    let mut z = BusNode::start(5000);
    let actions = z
        .state
        .meet("127.0.0.1", redis.port, redis.port + 10000, now_ms())
        .unwrap();
    z.apply(actions);
    let zid = z.name();
    let ok = z.run_until(Duration::from_secs(60), |z| {
        let known = z
            .state
            .lookup(rid.as_bytes())
            .and_then(|i| z.state.node(i))
            .is_some_and(|n| n.link.is_some());
        known
            && client
                .text("CLUSTER NODES")
                .lines()
                .any(|l| l.starts_with(&zid) && l.contains(" connected"))
    });
    assert!(ok, "never connected");
    let mut sub = redis.client();
    assert_eq!(
        sub.line("SUBSCRIBE news"),
        Frame::Array(vec![bulk("subscribe"), bulk("news"), Frame::Integer(1)])
    );
    let actions = z.state.publish(b"news", b"from-zedis", false, now_ms());
    assert!(actions.iter().any(|a| matches!(a, Action::Send { .. })));
    z.apply(actions);
    z.run_until(Duration::from_millis(300), |_| false);
    assert_eq!(
        sub.read_frame(),
        Frame::Array(vec![bulk("message"), bulk("news"), bulk("from-zedis")])
    );
    assert_eq!(client.line("PUBLISH other from-redis"), Frame::Integer(0));
    let delivered = Action::Deliver {
        channel: b"other".to_vec(),
        message: b"from-redis".to_vec(),
        shard: false,
    };
    assert!(
        z.run_until(Duration::from_secs(30), |z| z.events.contains(&delivered)),
        "{:?}",
        z.events
    );
}

/// Reads until EOF or `timeout`; true when the peer closed the connection.
fn closed_by_peer(stream: &mut TcpStream, z: &mut BusNode, timeout: Duration) -> bool {
    stream.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 8192];
    while Instant::now() < deadline {
        z.poll();
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn malformed_packets_are_dropped_or_disconnected() {
    let mut z = BusNode::start(5000);
    let addr = ("127.0.0.1", z.cport());
    // A well-framed packet whose length disagrees with its type: dropped and logged, the link stays.
    let mut s = TcpStream::connect(addr).unwrap();
    let mut packet = Message {
        header: Header::new(MsgType::Fail, [b'a'; 40]),
        body: Body::Empty,
    }
    .to_bytes();
    packet[12..14].copy_from_slice(&3u16.to_be_bytes());
    s.write_all(&packet).unwrap();
    assert!(!closed_by_peer(&mut s, &mut z, Duration::from_millis(500)));
    assert!(z
        .events
        .iter()
        .any(|a| matches!(a, Action::Log(t) if t.contains("Received invalid fail packet"))));
    // A bad signature: the link is closed.
    s.write_all(b"XXXXXXXXXXXXXXXX").unwrap();
    assert!(closed_by_peer(&mut s, &mut z, Duration::from_secs(10)));
    // A declared length beyond the limit: closed before anything is buffered.
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"RCmb\xff\xff\xff\xff").unwrap();
    assert!(closed_by_peer(&mut s, &mut z, Duration::from_secs(10)));
    // Random bytes and mutated real packets from many peers: the node survives and still works.
    let good = Message {
        header: Header::new(MsgType::Ping, [b'b'; 40]),
        body: Body::Ping {
            gossip: vec![],
            exts: vec![],
        },
    }
    .to_bytes();
    let mut runner = TestRunner::new(PropConfig {
        cases: 64,
        ..PropConfig::default()
    });
    let inputs = (
        proptest::collection::vec(any::<u8>(), 0..3000),
        proptest::collection::vec((0usize..2256, any::<u8>()), 0..6),
    );
    let z = std::cell::RefCell::new(z);
    runner
        .run(&inputs, |(noise, edits)| {
            let mut z = z.borrow_mut();
            let mut s = TcpStream::connect(addr).unwrap();
            let mut mutated = good.clone();
            for (at, v) in edits {
                mutated[at] = v;
            }
            let _ = s.write_all(&mutated);
            let _ = s.write_all(&noise);
            for _ in 0..5 {
                z.poll();
            }
            Ok(())
        })
        .unwrap();
    let mut z = z.into_inner();
    z.run_until(Duration::from_millis(300), |_| false);
    let slots: Vec<u16> = (0..16384).collect();
    let actions = z.state.update_slots(&slots, false, now_ms()).unwrap();
    z.apply(actions);
    assert!(
        z.run_until(Duration::from_secs(10), |z| z.state.is_ok()),
        "{}",
        z.state.cluster_info()
    );
    let me = z.state.myself_idx();
    // Only a (mutated) MEET may add a node, and only as a handshake node that expires.
    assert!(
        z.state.nodes().all(|(i, n)| i == me || n.in_handshake()),
        "{}",
        z.state.cluster_nodes()
    );
}

#[test]
fn shard_publish_stays_in_the_shard_and_travels_both_ways() {
    let Some(redis) = RedisNode::start(&["--cluster-node-timeout", "5000"]) else {
        eprintln!("redis-server unavailable: skipped");
        return;
    };
    let mut client = redis.client();
    let rid = client.text("CLUSTER MYID");
    assert_eq!(
        client.line("CLUSTER ADDSLOTSRANGE 0 16383"),
        Frame::Simple(b"OK".to_vec())
    );
    let mut z = BusNode::start(5000);
    let actions = z
        .state
        .meet("127.0.0.1", redis.port, redis.port + 10000, now_ms())
        .unwrap();
    z.apply(actions);
    let ok = z.run_until(Duration::from_secs(60), |z| {
        z.state
            .lookup(rid.as_bytes())
            .and_then(|i| z.state.node(i))
            .is_some_and(|n| n.link.is_some() && n.numslots == 16384)
    });
    assert!(ok, "never joined");
    let actions = z.state.replicate(rid.as_bytes(), true, now_ms()).unwrap();
    z.apply(actions);
    let zid = z.name();
    let ok = z.run_until(Duration::from_secs(60), |_| {
        client
            .text("CLUSTER NODES")
            .lines()
            .any(|l| l.starts_with(&zid) && l.contains(&format!("slave {rid}")))
    });
    assert!(ok, "never became the replica");
    // Redis sends SPUBLISH to the nodes of its shard: we, its replica, get it.
    let mut sub = redis.client();
    assert_eq!(
        sub.line("SSUBSCRIBE orders"),
        Frame::Array(vec![bulk("ssubscribe"), bulk("orders"), Frame::Integer(1)])
    );
    assert_eq!(client.line("SPUBLISH orders o1"), Frame::Integer(1));
    let delivered = Action::Deliver {
        channel: b"orders".to_vec(),
        message: b"o1".to_vec(),
        shard: true,
    };
    assert!(
        z.run_until(Duration::from_secs(30), |z| z.events.contains(&delivered)),
        "{:?}",
        z.events
    );
    assert_eq!(
        sub.read_frame(),
        Frame::Array(vec![bulk("smessage"), bulk("orders"), bulk("o1")])
    );
    // And ours reaches the master's shard subscribers.
    let actions = z.state.publish(b"orders", b"o2", true, now_ms());
    z.apply(actions);
    z.run_until(Duration::from_millis(300), |_| false);
    assert_eq!(
        sub.read_frame(),
        Frame::Array(vec![bulk("smessage"), bulk("orders"), bulk("o2")])
    );
}
