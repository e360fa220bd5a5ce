//! A busy script in cluster mode: the node keeps reading and answering the cluster bus from inside the
//! script's hook (as Redis serves its file events while busy), so the other nodes do not flag it as failing
//! while its clients get `-BUSY`. Run on Zedis nodes and, when installed, on redis-server nodes.

mod cluster_support;

use cluster_support::*;
use std::time::{Duration, Instant};

/// `cluster-node-timeout` of the nodes: the script stays busy for three times as long.
const NODE_TIMEOUT_MS: u64 = 1500;

fn busy_node_is_not_flagged(kind: Kind) {
    let nodes: Vec<Node> = (0..3).map(|_| Node::start(kind, NODE_TIMEOUT_MS)).collect();
    let refs: Vec<&Node> = nodes.iter().collect();
    create(&refs, 0);
    let (busy, others) = (&nodes[0], &nodes[1..]);
    let busy_id = busy.id();
    assert_eq!(
        busy.cli(&["config", "set", "busy-reply-threshold", "10"]),
        "OK"
    );
    let mut caller = busy.client();
    caller.send(&[b"EVAL", b"while true do end", b"0"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !busy.cli(&["ping"]).starts_with("BUSY") {
        assert!(Instant::now() < deadline, "the script never became busy");
        std::thread::sleep(Duration::from_millis(20));
    }
    let until = Instant::now() + Duration::from_millis(3 * NODE_TIMEOUT_MS);
    while Instant::now() < until {
        for other in others {
            let view = other.cli(&["cluster", "nodes"]);
            let line = view
                .lines()
                .find(|l| l.starts_with(&busy_id))
                .unwrap_or_default()
                .to_string();
            assert!(
                line.contains("connected") && !line.contains("fail"),
                "{kind:?}: the busy node is seen as {line:?}"
            );
        }
        assert!(busy.cli(&["ping"]).starts_with("BUSY"));
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(busy.cli(&["script", "kill"]), "OK");
    let (raw, _) = caller.read_raw();
    assert!(
        raw.starts_with(b"-ERR Script killed by user with SCRIPT KILL..."),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    assert_eq!(busy.cli(&["ping"]), "PONG");
    assert!(busy.state_ok());
}

#[test]
fn busy_node_keeps_answering_the_cluster_bus() {
    let _serial = serial();
    busy_node_is_not_flagged(Kind::Zedis);
    if have_redis() {
        busy_node_is_not_flagged(Kind::Redis);
    }
}
