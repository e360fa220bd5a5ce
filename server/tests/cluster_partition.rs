//! A master cut off from the majority of masters stops taking writes after the node timeout and takes them
//! again once the partition heals, as Redis decides `cluster_state` (`clusterUpdateState`): the partition is
//! made by stopping (SIGSTOP) every other node of a six-node cluster, and healed with SIGCONT.

mod cluster_support;

use cluster_support::*;
use std::time::Duration;
use zedis_testkit::wait_until;

fn signal(nodes: &[&Node], sig: i32) {
    for n in nodes {
        if let Some(pid) = n.pid() {
            // SAFETY: kill(2) on a child process this test started.
            unsafe { libc::kill(pid as i32, sig) };
        }
    }
}

#[test]
fn a_master_cut_off_from_the_majority_refuses_writes_then_recovers() {
    if !have_redis() {
        return eprintln!("skipped: redis-cli not installed");
    }
    let _serial = serial();
    let nodes: Vec<Node> = (0..6).map(|_| Node::start(Kind::Zedis, 3000)).collect();
    let all: Vec<&Node> = nodes.iter().collect();
    create(&all, 1);
    let lone = masters(&all)[0];
    let (key, _) = key_on(lone, "part", 0);
    assert_eq!(lone.cli(&["set", &key, "before"]), "OK");
    let others: Vec<&Node> = all
        .iter()
        .filter(|n| n.port != lone.port)
        .copied()
        .collect();
    signal(&others, libc::SIGSTOP);
    // Node timeout 3000 ms: the others become PFAIL, no majority of masters is reachable, the state fails.
    let refused = wait_until(Duration::from_secs(60), || {
        lone.cli(&["set", &key, "during"]).contains("CLUSTERDOWN")
    });
    let info = lone.cli(&["cluster", "info"]);
    signal(&others, libc::SIGCONT);
    assert!(
        refused,
        "the minority master kept taking writes:\n{info}\n{}",
        lone.log()
    );
    assert!(info.contains("cluster_state:fail"), "{info}");
    let back = wait_until(Duration::from_secs(120), || {
        lone.cli(&["set", &key, "after"]) == "OK"
    });
    assert!(
        back,
        "no writes after the partition healed:\n{}",
        lone.log()
    );
    assert_eq!(lone.cli(&["get", &key]), "after");
}
