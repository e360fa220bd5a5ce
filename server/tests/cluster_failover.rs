//! Cluster high availability with real `zedis-server` processes (node timeout 3000 ms): kill -9 of a master
//! under writes promotes its replica and every write acknowledged by `WAIT 1` is still there; CLUSTER
//! FAILOVER swaps a master and its replica with no acknowledged write lost.

mod cluster_support;

use cluster_support::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zedis_testkit::wait_until;

fn six_nodes() -> Vec<Node> {
    let nodes: Vec<Node> = (0..6).map(|_| Node::start(Kind::Zedis, 3000)).collect();
    create(&nodes.iter().collect::<Vec<_>>(), 1);
    wait_replicas_synced(&nodes.iter().collect::<Vec<_>>());
    nodes
}

/// kill -9 of a master while a client writes to it with WAIT: its replica is elected and serves the slots;
/// no acknowledged write is missing; a new write to those slots succeeds.
#[test]
fn kill9_master_under_writes_promotes_its_replica() {
    if !have_redis() {
        return eprintln!("skipped: redis-cli not installed");
    }
    let _serial = serial();
    let mut nodes = six_nodes();
    let all: Vec<&Node> = nodes.iter().collect();
    let master = masters(&all)[0];
    let replica = replica_of(&all, master).expect("the master has a replica");
    let (master_port, replica_port) = (master.port, replica.port);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = acked_writer(master, "w", stop.clone());
    // Let some writes be acknowledged, then kill the master mid-stream.
    std::thread::sleep(Duration::from_secs(2));
    let victim = nodes.iter_mut().find(|n| n.port == master_port).unwrap();
    victim.kill9();
    let killed_at = Instant::now();
    let acked = writer.join().expect("writer");
    assert!(acked.len() > 10, "only {} writes acknowledged", acked.len());
    let replica = nodes.iter().find(|n| n.port == replica_port).unwrap();
    let promoted = wait_until(Duration::from_secs(60), || {
        replica.is_master() && replica.state_ok()
    });
    assert!(promoted, "replica not promoted:\n{}", replica.log());
    eprintln!(
        "replica promoted {:?} after kill -9 ({} acknowledged writes)",
        killed_at.elapsed(),
        acked.len()
    );
    assert_eq!(absent_on(replica, &acked), Vec::<String>::new());
    let (key, _) = key_on(replica, "after", 0);
    assert_eq!(replica.cli(&["set", &key, "1"]), "OK");
    let survivors: Vec<&Node> = nodes.iter().filter(|n| n.port != master_port).collect();
    assert!(wait_until(Duration::from_secs(60), || survivors
        .iter()
        .all(|n| n.state_ok())));
}

/// CLUSTER FAILOVER on a replica while its master takes acknowledged writes: roles swap (the old master
/// replicates the new one) and every acknowledged write is on the new master.
#[test]
fn manual_failover_swaps_roles_without_losing_acked_writes() {
    if !have_redis() {
        return eprintln!("skipped: redis-cli not installed");
    }
    let _serial = serial();
    let nodes = six_nodes();
    let all: Vec<&Node> = nodes.iter().collect();
    let master = masters(&all)[1];
    let replica = replica_of(&all, master).expect("the master has a replica");
    let stop = Arc::new(AtomicBool::new(false));
    let writer = acked_writer(master, "m", stop.clone());
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(replica.cli(&["cluster", "failover"]), "OK");
    let swapped = wait_until(Duration::from_secs(60), || {
        replica.is_master() && master_of(master).as_deref() == Some(replica.id().as_str())
    });
    stop.store(true, Ordering::SeqCst);
    let acked = writer.join().expect("writer");
    assert!(
        swapped,
        "roles not swapped:\n{}\n{}",
        replica.log(),
        master.log()
    );
    assert!(acked.len() > 10, "only {} writes acknowledged", acked.len());
    assert_eq!(absent_on(replica, &acked), Vec::<String>::new());
    wait_converged(&all);
}
