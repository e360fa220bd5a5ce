//! Redis Cluster with real `zedis-server` processes and the stock tools: `redis-cli --cluster create`
//! (6 nodes, 1 replica each), `check`, `reshard`, `add-node`, `rebalance`, `del-node` with every key intact,
//! `redis-cli -c` reads and writes, the route check's errors, PUBLISH across nodes, and redis-py's
//! `RedisCluster` reading and writing through a reshard with no error reaching the application.

mod cluster_support;

use cluster_support::*;
use std::time::{Duration, Instant};
use zedis_testkit::{wait_until, Frame};

fn text(frame: &Frame) -> String {
    match frame {
        Frame::Simple(s) | Frame::Error(s) => String::from_utf8_lossy(s).into_owned(),
        Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        Frame::Integer(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

/// Six Zedis nodes: create with replicas, check, `-c` writes and reads, reshard, add-node + rebalance onto
/// it, rebalance it empty, del-node: `check` passes after each step and all keys are still there once.
#[test]
fn six_zedis_nodes_create_reshard_add_rebalance_del() {
    if !have_redis() {
        return eprintln!("skipped: redis-cli not installed");
    }
    let _serial = serial();
    let nodes: Vec<Node> = (0..6).map(|_| Node::start(Kind::Zedis, 5000)).collect();
    let all: Vec<&Node> = nodes.iter().collect();
    let started = Instant::now();
    create(&all, 1);
    eprintln!("6 Zedis nodes converged in {:?}", started.elapsed());
    let m = masters(&all);
    assert_eq!(m.len(), 3, "three masters");
    for node in &all {
        assert!(node.cli(&["info", "cluster"]).contains("cluster_enabled:1"));
        assert!(node
            .cli(&["info", "clients"])
            .contains("cluster_connections:10"));
        // Every master has its replica, replicating through the ordinary replication code.
        if !node.is_master() {
            let info = node.cli(&["info", "replication"]);
            assert!(info.contains("role:slave"), "{info}");
        }
    }
    const KEYS: usize = 600;
    write_keys(m[0], "k", 0..KEYS);
    assert_eq!(missing_keys(m[1], "k", 0..KEYS), Vec::<usize>::new());
    assert_eq!(total_keys(&m), KEYS);

    // The route check, as Redis words it.
    let mut c = m[0].client();
    let (foreign, _) = key_on(m[1], "x", 0);
    let reply = text(&c.cmd(&["GET", &foreign]));
    let slot = zedis_cluster::key_hash_slot(foreign.as_bytes());
    assert_eq!(reply, format!("MOVED {slot} {}", m[1].addr()));
    let reply = text(&c.cmd(&["MGET", "a", "b"]));
    assert_eq!(
        reply,
        "CROSSSLOT Keys in request don't hash to the same slot"
    );
    assert_eq!(
        text(&c.cmd(&["SELECT", "1"])),
        "ERR SELECT is not allowed in cluster mode"
    );
    // MULTI: a redirected command fails the transaction, EXEC then reports it.
    assert_eq!(text(&c.cmd(&["MULTI"])), "OK");
    assert!(text(&c.cmd(&["SET", &foreign, "1"])).starts_with("MOVED"));
    assert!(text(&c.cmd(&["EXEC"])).starts_with("EXECABORT"));
    // A script's undeclared foreign key is refused.
    let reply = text(&c.cmd(&["EVAL", "return redis.call('GET', ARGV[1])", "0", &foreign]));
    assert!(
        reply.contains("Script attempted to access a non local key in a cluster node"),
        "{reply}"
    );
    // PUBLISH reaches subscribers on another node (across the bus).
    let mut sub = m[2].client();
    sub.cmd(&["SUBSCRIBE", "news"]);
    let receivers = text(&c.cmd(&["PUBLISH", "news", "hello"]));
    assert_eq!(receivers, "0", "no local subscriber");
    let message = sub.read_frame();
    let expected: Vec<Frame> = ["message", "news", "hello"]
        .iter()
        .map(|s| Frame::Bulk(s.as_bytes().to_vec()))
        .collect();
    assert_eq!(message, Frame::Array(expected));

    // REPLICAOF and FAILOVER belong to the cluster here.
    assert_eq!(
        text(&c.cmd(&["REPLICAOF", "127.0.0.1", "1"])),
        "ERR REPLICAOF not allowed in cluster mode."
    );
    // A client blocked on a key of a slot that moves away is redirected (the reshard takes the source's
    // lowest slots first).
    let low = (0..)
        .map(|i| format!("blk:{i}"))
        .find(|k| zedis_cluster::key_hash_slot(k.as_bytes()) < 100)
        .unwrap();
    let mut blocked = m[0].client();
    blocked.send(&[b"BLPOP", low.as_bytes(), b"0"]);

    // Reshard 150 slots between two Zedis masters.
    let started = Instant::now();
    reshard(m[0], m[0], m[1], 150);
    let slot = zedis_cluster::key_hash_slot(low.as_bytes());
    assert_eq!(
        text(&blocked.read_frame()),
        format!("MOVED {slot} {}", m[1].addr())
    );
    eprintln!("reshard of 150 slots in {:?}", started.elapsed());
    wait_converged(&all);
    assert_eq!(missing_keys(m[2], "k", 0..KEYS), Vec::<usize>::new());
    assert_eq!(total_keys(&m), KEYS);

    // add-node a fourth master, rebalance some slots onto it.
    let extra = Node::start(Kind::Zedis, 5000);
    cluster_tool("add-node", &[extra.addr(), m[0].addr()]);
    let mut with_extra = all.clone();
    with_extra.push(&extra);
    wait_converged(&with_extra);
    let weight = format!("{}=0.05", extra.id());
    cluster_tool(
        "rebalance",
        &[
            m[0].addr(),
            "--cluster-use-empty-masters".into(),
            "--cluster-weight".into(),
            weight,
        ],
    );
    wait_converged(&with_extra);
    let moved = served_slots(&extra).len();
    assert!(moved > 100, "rebalance gave the new master {moved} slots");
    let mut m4 = m.clone();
    m4.push(&extra);
    assert_eq!(missing_keys(m[1], "k", 0..KEYS), Vec::<usize>::new());
    assert_eq!(total_keys(&m4), KEYS);

    // Empty it again (weight 0), then del-node.
    let weight = format!("{}=0", extra.id());
    cluster_tool(
        "rebalance",
        &[m[0].addr(), "--cluster-weight".into(), weight],
    );
    wait_converged(&with_extra);
    assert!(served_slots(&extra).is_empty());
    cluster_tool("del-node", &[m[0].addr(), extra.id()]);
    wait_converged(&all);
    assert!(!m[0].cli(&["cluster", "nodes"]).contains(&extra.id()));
    assert_eq!(missing_keys(m[2], "k", 0..KEYS), Vec::<usize>::new());
    assert_eq!(total_keys(&m), KEYS);
}

/// redis-py's `RedisCluster` writes and reads back keys in a loop while `redis-cli --cluster reshard` moves
/// slots (MOVED, ASK, TRYAGAIN all handled by the client): no exception reaches the script.
#[test]
fn redis_py_cluster_client_through_a_reshard() {
    let Some(python) = zedis_testkit::python_with_redis() else {
        return eprintln!("skipped: no python with redis-py");
    };
    if !have_redis() {
        return eprintln!("skipped: redis-cli not installed");
    }
    let _serial = serial();
    let nodes: Vec<Node> = (0..3).map(|_| Node::start(Kind::Zedis, 5000)).collect();
    let all: Vec<&Node> = nodes.iter().collect();
    create(&all, 0);
    let dir = zedis_testkit::TempDir::new("redis-py-cluster");
    let stop = dir.join("stop");
    let script = format!(
        r#"
import os, sys, time
from redis.cluster import RedisCluster
rc = RedisCluster(host="127.0.0.1", port={port}, socket_timeout=20)
n = 0
written = {{}}
while not os.path.exists({stop:?}) and n < 200000:
    k = "py:%d" % n
    rc.set(k, "v%d" % n)
    written[k] = "v%d" % n
    j = (n * 7919) % (n + 1)
    got = rc.get("py:%d" % j)
    if got != ("v%d" % j).encode():
        print("wrong value for py:%d: %r" % (j, got)); sys.exit(1)
    n += 1
for k, v in written.items():
    if rc.get(k) != v.encode():
        print("lost", k); sys.exit(1)
print("ok", n)
"#,
        port = nodes[0].port,
        stop = stop.to_string_lossy(),
    );
    let script_path = dir.join("client.py");
    std::fs::write(&script_path, script).unwrap();
    let mut child = std::process::Command::new(&python)
        .arg(&script_path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python");
    std::thread::sleep(Duration::from_secs(1));
    reshard(&nodes[0], &nodes[0], &nodes[1], 200);
    reshard(&nodes[0], &nodes[1], &nodes[2], 100);
    std::fs::write(&stop, b"").unwrap();
    let finished = wait_until(Duration::from_secs(300), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if !finished {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.starts_with("ok "),
        "redis-py saw an error:\n{stdout}\n{stderr}"
    );
    eprintln!("redis-py: {}", stdout.trim());
    wait_converged(&all);
}
