//! A real Redis 7.0 and Zedis reading each other's AOF: redis-server loading a Zedis `appendonlydir` (base,
//! rewrite and incr files), and Zedis loading redis-server's (RDB-preamble base, functions included) and
//! handing it back. Skipped with a note when `redis-server` is not installed.

mod common;

use common::aof::{dir_bytes, fill, info_field, snapshot, start, wait_rewrite_done};
use common::{cmd, connect_when_ready, wait_for_within, TempDir};
use std::time::Duration;
use zedis_testkit::RedisServer;

/// redis-server with `appendonly yes` on `dir` (its own files and log there too).
fn redis_on(dir: &TempDir) -> RedisServer {
    RedisServer::builder()
        .dir(&dir.0)
        .args(&["--appendonly", "yes"])
        .start()
        .expect("redis-server starts")
}

#[test]
fn redis_7_loads_a_zedis_aof() {
    if !zedis_testkit::have("redis-server") {
        return;
    }
    let dir = TempDir::new("redis");
    let expected = {
        let server = start(&dir, &[]);
        let mut conn = server.conn();
        fill(&mut conn);
        cmd(&mut conn, &["BGREWRITEAOF"]).unwrap();
        wait_rewrite_done(&mut conn, 1);
        // Some commands after the rewrite too, including rewritten (non-deterministic) ones.
        cmd(&mut conn, &["SPOP", "set"]).unwrap();
        cmd(&mut conn, &["EXPIRE", "list", "500"]).unwrap();
        cmd(&mut conn, &["HINCRBYFLOAT", "hash", "g", "0.5"]).unwrap();
        snapshot(&mut conn)
    };
    let redis = redis_on(&dir);
    let got = snapshot(&mut connect_when_ready(redis.port));
    drop(redis);
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
    assert!(dir.0.join("appendonlydir").is_dir());
}

#[test]
fn zedis_loads_redis_servers_appendonlydir_and_back() {
    if !zedis_testkit::have("redis-server") {
        return;
    }
    let dir = TempDir::new("redisdir");
    let mut redis = redis_on(&dir);
    let mut conn = connect_when_ready(redis.port);
    // Redis writes a base, an incr, then a rewrite (new RDB base) and more writes in the next incr.
    fill(&mut conn);
    cmd(
        &mut conn,
        &[
            "FUNCTION",
            "LOAD",
            "#!lua name=rlib\nredis.register_function('rfunc', function() return 42 end)",
        ],
    )
    .unwrap();
    let _: String = redis::cmd("BGREWRITEAOF").query(&mut conn).unwrap();
    wait_for_within("redis-server's rewrite", Duration::from_secs(60), || {
        info_field(&mut conn, "aof_rewrite_in_progress") == "0"
            && info_field(&mut conn, "aof_rewrites") == "1"
    });
    cmd(&mut conn, &["SET", "after", "rewrite"]).unwrap();
    let _: i64 = redis::cmd("INCR").arg("counter").query(&mut conn).unwrap();
    let expected = snapshot(&mut conn);
    let _ = cmd(&mut conn, &["SHUTDOWN"]);
    assert!(
        redis.wait_exit(Duration::from_secs(60)),
        "redis-server exits"
    );
    drop(redis);
    assert!(dir_bytes(&dir) > 0);

    let server = start(&dir, &[]);
    let mut conn = server.conn();
    assert_eq!(snapshot(&mut conn), expected);
    let answer: i64 = redis::cmd("FCALL")
        .arg("rfunc")
        .arg(0)
        .query(&mut conn)
        .unwrap();
    assert_eq!(answer, 42);
    // Zedis appends to Redis's last incr file, rewrites, and Redis reads the result back.
    cmd(&mut conn, &["SET", "zedis", "1"]).unwrap();
    let _: String = redis::cmd("BGREWRITEAOF").query(&mut conn).unwrap();
    wait_rewrite_done(&mut conn, 1);
    cmd(&mut conn, &["SET", "zedis2", "2"]).unwrap();
    let expected = snapshot(&mut conn);
    drop(server);
    let redis = redis_on(&dir);
    let mut conn = connect_when_ready(redis.port);
    let got = snapshot(&mut conn);
    let answer: i64 = redis::cmd("FCALL")
        .arg("rfunc")
        .arg(0)
        .query(&mut conn)
        .unwrap();
    drop(redis);
    assert_eq!(got, expected);
    assert_eq!(answer, 42);
}
