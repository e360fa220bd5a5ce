//! redis-server 7.0.15 loads a nodes.conf written by `ClusterState::to_nodes_conf` and reports the same
//! cluster: same myself, same slot owners, same migration entries, same epochs.

mod common;

use common::RedisNode;
use zedis_cluster::bus::NodeName;
use zedis_cluster::{ClusterState, Config};
use zedis_resp::Frame;

fn id(i: u8) -> NodeName {
    let mut n = [b'0'; 40];
    n[39] = b'a' + i;
    n
}

#[test]
fn redis_loads_our_nodes_conf() {
    // Build a state the way nodes.conf describes one: myself with slots and open migrations, two masters,
    // one replica; then write it out.
    let a = String::from_utf8(id(0).to_vec()).unwrap();
    let b = String::from_utf8(id(1).to_vec()).unwrap();
    let c = String::from_utf8(id(2).to_vec()).unwrap();
    let r = String::from_utf8(id(3).to_vec()).unwrap();
    let text = format!(
        "{b} 127.0.0.1:30001@40001 master - 0 0 2 disconnected 5461-10922\n\
         {c} 127.0.0.1:30002@40002,c-host master - 0 0 3 disconnected 10923-16383\n\
         {a} 127.0.0.1:30000@40000 myself,master - 0 0 4 connected 0-100 102-5460 [101->-{b}] [11000-<-{c}]\n\
         {r} 127.0.0.1:30003@40003 slave {a} 0 0 4 disconnected\n\
         vars currentEpoch 9 lastVoteEpoch 5\n"
    );
    let state = ClusterState::from_nodes_conf(
        Config {
            port: 30000,
            cport: 40000,
            ..Config::default()
        },
        &text,
        1,
    )
    .unwrap();
    let ours = state.to_nodes_conf();
    assert_eq!(ours, text);
    let Some(redis) = RedisNode::start_with_conf(&["--cluster-node-timeout", "60000"], Some(&ours))
    else {
        eprintln!("redis-server unavailable: skipped");
        return;
    };
    let mut client = redis.client();
    assert_eq!(client.text("CLUSTER MYID"), a);
    let nodes = client.text("CLUSTER NODES");
    let mut lines: Vec<&str> = nodes.lines().collect();
    lines.sort();
    let mut expected: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with("vars"))
        .map(str::to_string)
        .collect();
    expected.sort();
    assert_eq!(lines.len(), expected.len(), "{nodes}");
    for (got, want) in lines.iter().zip(&expected) {
        // redis-server rewrote myself's ports from its own config; the rest must be identical.
        let fields = |l: &str| -> Vec<String> {
            l.split(' ')
                .enumerate()
                .filter(|&(i, _)| i != 1 && i != 4 && i != 5)
                .map(|(_, f)| f.to_string())
                .collect()
        };
        assert_eq!(fields(got), fields(want), "\n{got}\n{want}");
    }
    let info = client.text("CLUSTER INFO");
    assert!(info.contains("cluster_current_epoch:9"), "{info}");
    assert!(info.contains("cluster_my_epoch:4"), "{info}");
    assert_eq!(
        client.line(&format!("CLUSTER COUNT-FAILURE-REPORTS {b}")),
        Frame::Integer(0)
    );
    // And its own rewrite of the file loads back into ours with the same description.
    client.line("CLUSTER SAVECONFIG");
    let back = ClusterState::from_nodes_conf(
        Config {
            port: redis.port,
            cport: redis.port + 10000,
            ..Config::default()
        },
        &redis.nodes_conf(),
        1,
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", redis.nodes_conf()));
    assert_eq!(back.last_vote_epoch(), 5);
    assert_eq!(back.current_epoch(), 9);
    assert_eq!(
        back.node_description(back.myself_idx()),
        state_line(&nodes, &a)
    );
}

fn state_line(nodes: &str, id: &str) -> String {
    nodes
        .lines()
        .find(|l| l.starts_with(id))
        .unwrap()
        .to_string()
}
