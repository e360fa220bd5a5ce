//! CLUSTER FAILOVER (the coordinated manual failover) from a Zedis replica of a redis-server master: MFSTART,
//! the master pauses and sends its offset, the replica asks for votes with FORCEACK, the roles swap.

mod common;

use std::time::{Duration, Instant};

use common::bus_node::{now_ms, BusNode};
use common::RedisNode;
use zedis_cluster::{Action, FailoverMode};

fn line_of(nodes: &str, id: &str) -> Option<String> {
    nodes
        .lines()
        .find(|l| l.starts_with(id))
        .map(str::to_string)
}

fn wait(z: &mut BusNode, what: &str, mut check: impl FnMut(&mut BusNode) -> bool) {
    let mut last = Instant::now() - Duration::from_secs(1);
    let ok = z.run_until(Duration::from_secs(90), |n| {
        if last.elapsed() < Duration::from_millis(200) {
            return false;
        }
        last = Instant::now();
        check(n)
    });
    assert!(
        ok,
        "timed out waiting for: {what}\nour view:\n{}\nour log: {:?}",
        z.state.cluster_nodes(),
        z.events
    );
}

#[test]
fn zedis_replica_manual_failover_swaps_roles_with_redis_master() {
    let args = ["--cluster-node-timeout", "3000"];
    let nodes: Vec<RedisNode> = (0..3).filter_map(|_| RedisNode::start(&args)).collect();
    if nodes.len() < 3 {
        eprintln!("redis-server unavailable: skipped");
        return;
    }
    let mut clients: Vec<_> = nodes.iter().map(|r| r.client()).collect();
    let ranges = [(0, 5460), (5461, 10922), (10923, 16383)];
    let ids: Vec<String> = clients.iter_mut().map(|c| c.text("CLUSTER MYID")).collect();
    for (i, (start, end)) in ranges.iter().enumerate() {
        clients[i].cmd(&format!("CLUSTER ADDSLOTSRANGE {start} {end}"));
        clients[i].cmd(&format!("CLUSTER SET-CONFIG-EPOCH {}", i + 1));
    }
    for c in clients.iter_mut().skip(1) {
        c.cmd(&format!("CLUSTER MEET 127.0.0.1 {}", nodes[0].port));
    }
    let mut z = BusNode::start(3000);
    let actions = z
        .state
        .meet("127.0.0.1", nodes[0].port, nodes[0].port + 10000, now_ms())
        .unwrap();
    z.apply(actions);
    let zid = z.name();
    let mut c1 = nodes[0].client();
    wait(&mut z, "four nodes, all ok", |z| {
        let text = c1.text("CLUSTER NODES");
        z.state.known_nodes() == 4
            && z.state
                .nodes()
                .all(|(_, n)| !n.in_handshake() && n.link.is_some() || n.name_str() == z.name())
            && text.lines().count() == 4
            && !text.contains("handshake")
            && z.state.is_ok()
    });
    let actions = z
        .state
        .replicate(ids[0].as_bytes(), true, now_ms())
        .unwrap();
    z.apply(actions);
    // Every voter must know the Zedis node is a replica of ids[0] before it asks for votes: a master that
    // still sees it as a master denies the vote ("it is a master node"), and a manual failover gives up
    // after 5 s without retrying.
    wait(&mut z, "every master sees the Zedis replica", |_| {
        clients.iter_mut().all(|c| {
            line_of(&c.text("CLUSTER NODES"), &zid)
                .is_some_and(|l| l.contains(&format!(" slave {} ", ids[0])))
        })
    });
    let actions = z.state.failover(FailoverMode::Default, now_ms()).unwrap();
    z.apply(actions);
    let started = Instant::now();
    wait(&mut z, "roles swapped", |z| {
        let text = c1.text("CLUSTER NODES");
        let old =
            line_of(&text, &ids[0]).is_some_and(|l| l.contains(&format!("myself,slave {zid} ")));
        let new =
            line_of(&text, &zid).is_some_and(|l| l.contains("master") && l.ends_with(" 0-5460"));
        old && new && z.state.myself().is_master()
    });
    eprintln!(
        "manual failover (Zedis replica of redis-server master) done in {:?}",
        started.elapsed()
    );
    let log: Vec<&String> = z
        .events
        .iter()
        .filter_map(|a| {
            if let Action::Log(t) = a {
                Some(t)
            } else {
                None
            }
        })
        .collect();
    assert!(log.iter().any(|t| t.starts_with("Received replication offset for paused master manual failover")), "{log:?}");
    assert!(
        log.iter()
            .any(|t| t.starts_with("All master replication stream processed")),
        "{log:?}"
    );
    assert!(z.events.contains(&Action::BecomeMaster));
    let mut c2 = nodes[1].client();
    wait(&mut z, "cluster ok", |z| {
        c2.text("CLUSTER INFO").contains("cluster_state:ok") && z.state.is_ok()
    });
}
