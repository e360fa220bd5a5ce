//! Busy scripts and the server's links (issue 17): a replica leaving during a busy script, our master's
//! stream held on a busy replica, SIGTERM acted on after the script, SHUTDOWN NOSAVE and the AOF.

mod busy_support;
mod common;

use busy_support::*;
use common::reference::RedisProcess;
use common::Server;
use std::time::Duration;

#[test]
fn replica_leaving_during_a_busy_script_is_seen_by_it() {
    // Redis's "not enough good replicas state change during long script", with redis-server as the replica.
    let zedis = Server::start(&[]);
    let port = zedis.port.to_string();
    let Some(redis) = RedisProcess::start(&["--replicaof", "127.0.0.1", &port]) else {
        eprintln!("redis-server missing: skipped");
        return;
    };
    let mut master = Conn::open(zedis.port);
    let mut replica = Conn::open(redis.port);
    wait_until("the replica online", || {
        info(&mut master, "replication", "connected_slaves") == "1"
            && info(&mut replica, "replication", "master_link_status") == "up"
    });
    master.call(&["SET", "x", "pre-script value"]);
    master.call(&["CONFIG", "SET", "min-replicas-to-write", "1"]);
    master.call(&["CONFIG", "SET", "lua-time-limit", "10"]);
    let mut caller = Conn::open(zedis.port);
    caller.send(&[
        "EVAL",
        "redis.call('set', 'x', 'script value') \
         while true do \
           local info = redis.call('info', 'replication') \
           if (string.match(info, 'connected_slaves:0')) then redis.call('set', 'x', info) break end \
         end return 1",
        "1",
        "x",
    ]);
    assert!(wait_busy(&mut master).starts_with("-BUSY"));
    assert_eq!(replica.call(&["REPLICAOF", "NO", "ONE"]), "+OK\r\n");
    assert_eq!(caller.read(), ":1\r\n");
    let x = master.call(&["GET", "x"]);
    assert!(x.contains("connected_slaves:0"), "{x}");
    master.call(&["CONFIG", "SET", "min-replicas-to-write", "0"]);
}

#[test]
fn master_stream_waits_for_a_busy_script_on_a_replica() {
    let Some(redis) = RedisProcess::start(&[]) else {
        eprintln!("redis-server missing: skipped");
        return;
    };
    let zedis = Server::start(&["--replicaof", &format!("127.0.0.1 {}", redis.port)]);
    let mut master = Conn::open(redis.port);
    let mut replica = Conn::open(zedis.port);
    wait_until("the link up", || {
        info(&mut replica, "replication", "master_link_status") == "up"
    });
    replica.call(&["CONFIG", "SET", "busy-reply-threshold", "50"]);
    let mut caller = Conn::open(zedis.port);
    caller.send(&["EVAL_RO", "while true do end", "0"]);
    assert!(wait_busy(&mut replica).starts_with("-BUSY"));
    // The master's writes wait in the link while the script is busy (Redis does not apply them then).
    assert_eq!(master.call(&["SET", "during", "1"]), "+OK\r\n");
    std::thread::sleep(Duration::from_millis(300));
    assert!(replica.call(&["GET", "during"]).starts_with("-BUSY"));
    assert_eq!(replica.call(&["SCRIPT", "KILL"]), "+OK\r\n");
    assert!(caller.read().starts_with("-ERR Script killed by user"));
    wait_until("the write applied after the script", || {
        replica.call(&["GET", "during"]) == "$1\r\n1\r\n"
    });
    assert_eq!(master.call(&["SET", "after", "2"]), "+OK\r\n");
    wait_until("later writes applied", || {
        replica.call(&["GET", "after"]) == "$1\r\n2\r\n"
    });
}

#[test]
fn sigterm_during_a_busy_script_shuts_down_after_it() {
    let mut zedis = Server::start(&[]);
    let mut c = Conn::open(zedis.port);
    c.call(&["CONFIG", "SET", "busy-reply-threshold", "50"]);
    let mut caller = Conn::open(zedis.port);
    caller.send(&["EVAL", "while true do end", "0"]);
    assert!(wait_busy(&mut c).starts_with("-BUSY"));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &zedis.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // As Redis: the signal is acted on once the script is over, not from inside it.
    std::thread::sleep(Duration::from_millis(500));
    assert!(zedis.alive());
    assert!(c.call(&["PING"]).starts_with("-BUSY"));
    assert_eq!(c.call(&["SCRIPT", "KILL"]), "+OK\r\n");
    assert!(caller.read().starts_with("-ERR Script killed by user"));
    assert!(
        zedis.wait_exit(Duration::from_secs(60)),
        "the deferred SIGTERM was lost"
    );
}

#[test]
fn shutdown_nosave_during_a_busy_script_leaves_a_loadable_aof() {
    let dir = common::TempDir::new("busy-aof");
    let args = ["--appendonly", "yes", "--dir", dir.path()];
    let mut zedis = Server::start(&args);
    let mut c = Conn::open(zedis.port);
    assert_eq!(c.call(&["SET", "pre", "1"]), "+OK\r\n");
    c.call(&["CONFIG", "SET", "busy-reply-threshold", "50"]);
    let mut caller = Conn::open(zedis.port);
    caller.send(&[
        "EVAL",
        "redis.call('set', 'a', '1') redis.call('set', 'b', '2') while true do end",
        "0",
    ]);
    assert!(wait_busy(&mut c).starts_with("-BUSY"));
    c.send(&["SHUTDOWN", "NOSAVE"]);
    assert_eq!(c.read(), "<closed>");
    assert!(zedis.wait_exit(Duration::from_secs(60)));
    drop(zedis);
    let text = String::from_utf8_lossy(&std::fs::read(dir.aof_incr()).unwrap()).into_owned();
    if let Some(at) = text.find("$1\r\na\r\n") {
        let multi = text[..at]
            .rfind("MULTI")
            .expect("the script's writes follow a MULTI");
        assert!(text[multi..].contains("EXEC"), "{text:?}");
    }
    // The file loads, with the script's effects all or none (never half a script outside a transaction).
    let zedis = Server::start(&args);
    let mut c = Conn::open(zedis.port);
    assert_eq!(c.call(&["GET", "pre"]), "$1\r\n1\r\n");
    let (a, b) = (c.call(&["GET", "a"]), c.call(&["GET", "b"]));
    assert!(
        (a == "$1\r\n1\r\n" && b == "$1\r\n2\r\n") || (a == "$-1\r\n" && b == "$-1\r\n"),
        "{a:?} {b:?}"
    );
}
