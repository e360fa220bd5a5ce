//! kill -9 of the server while an AOF rewrite child is running, with writes still arriving: the restart loads
//! the old AOF (the child's temp file is never renamed into place by anyone) with every acknowledged write, as
//! Redis does. (`server/tests/aof.rs` covers kill -9 under plain write load and a rewrite that completes.)

use std::time::Duration;
use zedis_reliability::{info_field, Kind, ServerProcess, TempDir};

/// (acknowledged writes lost after the restart, whether the kill came while the rewrite was running).
fn kill_during_rewrite(kind: Kind) -> (usize, bool) {
    let dir = TempDir::new("rewrite-kill");
    let args = ["--appendonly", "yes", "--appendfsync", "always"];
    let mut server = ServerProcess::start(kind, dir.path(), &args).unwrap();
    let mut conn = server.conn();
    let mut acked: Vec<String> = Vec::new();
    for start in (0..100_000).step_by(1000) {
        let mut cmd = redis::cmd("MSET");
        for i in start..start + 1000 {
            cmd.arg(format!("k{i}")).arg(i);
        }
        cmd.query::<()>(&mut conn).unwrap();
    }
    acked.push("k99999".into());
    let reply: String = redis::cmd("BGREWRITEAOF").query(&mut conn).unwrap();
    assert!(reply.contains("rewriting"), "{reply}");
    let mut during = false;
    for i in 0..200 {
        let key = format!("during:{i}");
        redis::cmd("SET")
            .arg(&key)
            .arg(i)
            .query::<()>(&mut conn)
            .unwrap();
        acked.push(key);
        during =
            info_field(&mut conn, "persistence", "aof_rewrite_in_progress").as_deref() == Some("1");
        if i >= 20 && during {
            break;
        }
    }
    server.kill9();
    drop(conn);
    // The orphaned child may still be writing its temp file; the restart must not care.
    std::thread::sleep(Duration::from_secs(2));
    server.restart().unwrap();
    let mut conn = server.conn();
    let values: Vec<Option<String>> = redis::cmd("MGET").arg(&acked).query(&mut conn).unwrap();
    let size: u64 = redis::cmd("DBSIZE").query(&mut conn).unwrap();
    assert_eq!(size, 100_000 + acked.len() as u64 - 1, "{}", kind.name());
    (values.iter().filter(|v| v.is_none()).count(), during)
}

#[test]
fn kill9_during_bgrewriteaof_keeps_every_acknowledged_write() {
    for kind in Kind::available() {
        let (lost, during) = kill_during_rewrite(kind);
        eprintln!(
            "{}: killed {} the rewrite; {lost} acknowledged writes lost",
            kind.name(),
            if during { "during" } else { "after" }
        );
        assert_eq!(lost, 0, "{}", kind.name());
    }
}
