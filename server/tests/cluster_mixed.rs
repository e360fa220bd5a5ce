//! Mixed clusters of redis-server 7.0.15 and zedis-server processes: formed by `redis-cli --cluster create`,
//! resharded both ways with every key intact, PUBLISH and SPUBLISH routed across the two kinds, and a
//! Zedis replica taking over from a killed redis-server master and a redis-server replica from a killed
//! Zedis master (node timeout 3000), with every write acknowledged by `WAIT 1` kept.

mod cluster_support;

use cluster_support::*;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use zedis_testkit::{wait_until, Frame};

fn bulk_array(items: &[&str]) -> Frame {
    Frame::Array(
        items
            .iter()
            .map(|s| Frame::Bulk(s.as_bytes().to_vec()))
            .collect(),
    )
}

/// 3 redis-server and 3 Zedis nodes: create (with replicas), `-c` writes, reshard from a redis-server master
/// to a Zedis master and back the other way, PUBLISH both ways, SPUBLISH from the shard's master to a
/// subscriber on its replica.
#[test]
fn mixed_cluster_forms_reshards_both_ways_and_routes_pubsub() {
    if !have_redis() {
        return eprintln!("skipped: redis-server not installed");
    }
    let _serial = serial();
    let kinds = [
        Kind::Redis,
        Kind::Zedis,
        Kind::Redis,
        Kind::Zedis,
        Kind::Redis,
        Kind::Zedis,
    ];
    let nodes: Vec<Node> = kinds.iter().map(|k| Node::start(*k, 5000)).collect();
    let all: Vec<&Node> = nodes.iter().collect();
    let started = Instant::now();
    create(&all, 1);
    eprintln!("mixed cluster converged in {:?}", started.elapsed());
    let m = masters(&all);
    assert_eq!(m.len(), 3);
    let redis_master = *m
        .iter()
        .find(|n| n.kind == Kind::Redis)
        .expect("a redis master");
    let zedis_master = *m
        .iter()
        .find(|n| n.kind == Kind::Zedis)
        .expect("a zedis master");
    const KEYS: usize = 500;
    write_keys(zedis_master, "mix", 0..KEYS);
    assert_eq!(
        missing_keys(redis_master, "mix", 0..KEYS),
        Vec::<usize>::new()
    );

    reshard(redis_master, redis_master, zedis_master, 120);
    wait_converged(&all);
    assert_eq!(
        missing_keys(redis_master, "mix", 0..KEYS),
        Vec::<usize>::new()
    );
    assert_eq!(total_keys(&m), KEYS);
    reshard(zedis_master, zedis_master, redis_master, 200);
    wait_converged(&all);
    assert_eq!(
        missing_keys(zedis_master, "mix", 0..KEYS),
        Vec::<usize>::new()
    );
    assert_eq!(total_keys(&m), KEYS);

    // PUBLISH both ways across the bus.
    for (publisher, subscriber) in [(zedis_master, redis_master), (redis_master, zedis_master)] {
        let mut sub = subscriber.client();
        sub.cmd(&["SUBSCRIBE", "chan"]);
        let mut p = publisher.client();
        let expected = bulk_array(&["message", "chan", "across"]);
        publish_until_received(&mut p, &["PUBLISH", "chan", "across"], &mut sub, expected);
    }
    // SPUBLISH on a master reaches a subscriber on its replica, whichever kinds they are.
    for master in [zedis_master, redis_master] {
        let replica = replica_of(&all, master).expect("replica");
        let (channel, _) = key_on(master, "shard", 0);
        let mut sub = replica.client();
        sub.cmd(&["READONLY"]);
        let confirm = sub.cmd(&["SSUBSCRIBE", &channel]);
        assert!(matches!(confirm, Frame::Array(_)), "{confirm:?}");
        let mut p = master.client();
        let expected = bulk_array(&["smessage", &channel, "sharded"]);
        publish_until_received(
            &mut p,
            &["SPUBLISH", &channel, "sharded"],
            &mut sub,
            expected,
        );
    }
}

/// Publishes with `publish` until `sub` receives `expected`. A message sent over the cluster bus while the
/// link to the subscriber's node is being reconnected is dropped, in Redis too (on a loaded machine a link
/// can miss its PONG deadline and be rebuilt), so one lost message is retried, never waited for forever.
fn publish_until_received(
    p: &mut zedis_testkit::RespClient,
    publish: &[&str],
    sub: &mut zedis_testkit::RespClient,
    expected: Frame,
) {
    for _ in 0..10 {
        p.cmd(publish);
        sub.stream()
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let arrived = sub.stream().peek(&mut [0u8; 1]).is_ok_and(|n| n > 0);
        sub.stream()
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        if arrived {
            assert_eq!(sub.read_frame(), expected);
            return;
        }
    }
    panic!("{publish:?} never reached the subscriber");
}

/// Three masters (redis-server, Zedis, redis-server), a Zedis replica of the first and a redis-server
/// replica of the second; kill -9 of each master in turn under WAIT writes: the other kind's replica is
/// elected, and every acknowledged write is on it.
#[test]
fn mixed_failover_both_ways() {
    if !have_redis() {
        return eprintln!("skipped: redis-server not installed");
    }
    let _serial = serial();
    let mut masters_nodes: Vec<Node> = [Kind::Redis, Kind::Zedis, Kind::Redis]
        .iter()
        .map(|k| Node::start(*k, 3000))
        .collect();
    create(&masters_nodes.iter().collect::<Vec<_>>(), 0);
    let zedis_replica = Node::start(Kind::Zedis, 3000);
    let redis_replica = Node::start(Kind::Redis, 3000);
    for (replica, master) in [
        (&zedis_replica, &masters_nodes[0]),
        (&redis_replica, &masters_nodes[1]),
    ] {
        cluster_tool(
            "add-node",
            &[
                replica.addr(),
                master.addr(),
                "--cluster-slave".into(),
                "--cluster-master-id".into(),
                master.id(),
            ],
        );
    }
    {
        let mut all: Vec<&Node> = masters_nodes.iter().collect();
        all.push(&zedis_replica);
        all.push(&redis_replica);
        wait_converged(&all);
        assert!(wait_until(Duration::from_secs(60), || {
            zedis_replica
                .cli(&["info", "replication"])
                .contains("master_link_status:up")
                && redis_replica
                    .cli(&["info", "replication"])
                    .contains("master_link_status:up")
        }));
    }
    for (victim, replica) in [(0usize, &zedis_replica), (1usize, &redis_replica)] {
        let stop = Arc::new(AtomicBool::new(false));
        let writer = acked_writer(&masters_nodes[victim], "fo", stop);
        std::thread::sleep(Duration::from_secs(2));
        masters_nodes[victim].kill9();
        let killed = Instant::now();
        let acked = writer.join().expect("writer");
        assert!(acked.len() > 10, "only {} writes acknowledged", acked.len());
        let promoted = wait_until(Duration::from_secs(60), || {
            replica.is_master() && replica.state_ok()
        });
        assert!(
            promoted,
            "{:?} replica not promoted:\n{}",
            replica.kind,
            replica.log()
        );
        eprintln!(
            "{:?} replica promoted {:?} after kill -9 of the {:?} master",
            replica.kind,
            killed.elapsed(),
            masters_nodes[victim].kind
        );
        assert_eq!(absent_on(replica, &acked), Vec::<String>::new());
        let (key, _) = key_on(replica, "after", 0);
        assert_eq!(replica.cli(&["set", &key, "1"]), "OK");
    }
}
