//! The refusals of `state::admin` display exactly as redis-server 7.0.15's CLUSTER error replies, for the
//! same command on a node in the same state.

mod common;

use common::RedisNode;
use zedis_cluster::{ClusterState, Config, FailoverMode, RESET_WITH_KEYS};
use zedis_resp::Frame;

fn err(frame: Frame) -> String {
    match frame {
        Frame::Error(e) => String::from_utf8(e).unwrap(),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn error_texts_match_redis() {
    let Some(redis) = RedisNode::start(&["--cluster-require-full-coverage", "no"]) else {
        eprintln!("redis-server unavailable: skipped");
        return;
    };
    let mut c = redis.client();
    let rid = c.text("CLUSTER MYID");
    let mut z = ClusterState::new(Config::default(), 1);
    let zid = z.myself().name_str().to_string();
    let unknown = "f".repeat(40);
    let now = 2;

    assert_eq!(
        c.line("CLUSTER ADDSLOTS 5 6000"),
        Frame::Simple(b"OK".to_vec())
    );
    z.update_slots(&[5, 6000], false, now).unwrap();
    let cases: Vec<(String, String)> = vec![
        (
            err(c.line("CLUSTER ADDSLOTS 5")),
            z.update_slots(&[5], false, now).unwrap_err().to_string(),
        ),
        (
            err(c.line("CLUSTER DELSLOTS 6")),
            z.update_slots(&[6], true, now).unwrap_err().to_string(),
        ),
        (
            err(c.line("CLUSTER ADDSLOTS 7 7")),
            z.update_slots(&[7, 7], false, now).unwrap_err().to_string(),
        ),
        (
            err(c.line(&format!("CLUSTER SETSLOT 100 MIGRATING {unknown}"))),
            z.set_slot_migrating(100, unknown.as_bytes(), now)
                .unwrap_err()
                .to_string(),
        ),
        (
            err(c.line(&format!("CLUSTER SETSLOT 5 MIGRATING {unknown}"))),
            z.set_slot_migrating(5, unknown.as_bytes(), now)
                .unwrap_err()
                .to_string(),
        ),
        (
            err(c.line(&format!("CLUSTER SETSLOT 5 IMPORTING {rid}"))),
            z.set_slot_importing(5, zid.as_bytes(), now)
                .unwrap_err()
                .to_string(),
        ),
        (
            err(c.line(&format!("CLUSTER SETSLOT 5 NODE {unknown}"))),
            z.set_slot_node(5, unknown.as_bytes(), 0, now)
                .unwrap_err()
                .to_string(),
        ),
        (
            err(c.line("CLUSTER SET-CONFIG-EPOCH -1")),
            z.set_config_epoch(-1, now).unwrap_err().to_string(),
        ),
        (
            err(c.line(&format!("CLUSTER FORGET {rid}"))),
            z.forget(zid.as_bytes(), now).unwrap_err().to_string(),
        ),
        (
            err(c.line(&format!("CLUSTER FORGET {unknown}"))),
            z.forget(unknown.as_bytes(), now).unwrap_err().to_string(),
        ),
        (
            err(c.line(&format!("CLUSTER REPLICATE {rid}"))),
            z.replicate(zid.as_bytes(), true, now)
                .unwrap_err()
                .to_string(),
        ),
        (
            err(c.line("CLUSTER FAILOVER")),
            z.failover(FailoverMode::Default, now)
                .unwrap_err()
                .to_string(),
        ),
        (
            err(c.line("CLUSTER MEET 300.1.1.1 7000")),
            z.meet("300.1.1.1", 7000, 17000, now)
                .unwrap_err()
                .to_string(),
        ),
        (
            err(c.line(&format!("CLUSTER COUNT-FAILURE-REPORTS {unknown}"))),
            z.count_failure_reports(unknown.as_bytes(), now)
                .unwrap_err()
                .to_string(),
        ),
        (
            err(c.line(&format!("CLUSTER REPLICAS {unknown}"))),
            z.replicas_of(unknown.as_bytes()).unwrap_err().to_string(),
        ),
    ];
    for (theirs, ours) in cases {
        assert_eq!(ours, theirs);
    }
    // Epochs: set once, then refused; BUMPEPOCH with the greatest epoch stays.
    assert_eq!(
        c.line("CLUSTER SET-CONFIG-EPOCH 5"),
        Frame::Simple(b"OK".to_vec())
    );
    z.set_config_epoch(5, now).unwrap();
    assert_eq!(
        err(c.line("CLUSTER SET-CONFIG-EPOCH 6")),
        z.set_config_epoch(6, now).unwrap_err().to_string()
    );
    let (bumped, epoch, _) = z.bump_epoch(now);
    let ours = format!("{} {epoch}", if bumped { "BUMPED" } else { "STILL" });
    assert_eq!(
        c.line("CLUSTER BUMPEPOCH"),
        Frame::Simple(ours.into_bytes())
    );
    // RESET with keys on a master.
    let slot = zedis_cluster::key_hash_slot(b"k");
    c.line(&format!("CLUSTER ADDSLOTS {slot}"));
    // The cluster state turns ok after Redis's 2 s writable delay.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while c.line("SET k 1") != Frame::Simple(b"OK".to_vec()) {
        assert!(std::time::Instant::now() < deadline, "SET never accepted");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(err(c.line("CLUSTER RESET")), RESET_WITH_KEYS);
    assert_eq!(
        err(c.line(&format!("CLUSTER REPLICATE {unknown}"))),
        format!("ERR Unknown node {unknown}")
    );
    assert_eq!(
        z.replicate(unknown.as_bytes(), true, now)
            .unwrap_err()
            .to_string(),
        format!("ERR Unknown node {unknown}")
    );
}
