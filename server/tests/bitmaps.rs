//! Bitmaps, HyperLogLog and SORT through the real binary: keyspace events, AOF replay, MEMORY USAGE, the
//! `proto-max-bulk-len` growth limit and WATCH.

mod common;

use common::{err, Server};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "zedis-bits-{name}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap()
}

/// Writes through every new write command, and what GET/LRANGE show afterwards.
fn workload(c: &mut redis::Connection) -> Vec<Vec<u8>> {
    let _: i64 = q(c, &["SETBIT", "bits", "100", "1"]);
    let _: i64 = q(c, &["SETBIT", "bits", "3", "1"]);
    let _: redis::Value = q(c, &["BITFIELD", "bits", "INCRBY", "u8", "#5", "300"]);
    let _: redis::Value = q(
        c,
        &[
            "BITFIELD", "bits", "OVERFLOW", "SAT", "SET", "i4", "60", "99",
        ],
    );
    let _: i64 = q(c, &["BITOP", "NOT", "inv", "bits"]);
    let _: i64 = q(c, &["PFADD", "hll", "a", "b", "c"]);
    let _: i64 = q(c, &["PFCOUNT", "hll"]);
    let _: i64 = q(c, &["PFADD", "hll2", "x", "y"]);
    let _: () = q(c, &["PFMERGE", "merged", "hll", "hll2"]);
    let _: i64 = q(c, &["RPUSH", "list", "3", "1", "2"]);
    let _: i64 = q(c, &["SORT", "list", "DESC", "STORE", "sorted"]);
    // A string grown past the inline limit (stored out of line), with a TTL added afterwards.
    for offset in ["3000", "9000", "20000"] {
        let _: i64 = q(c, &["SETBIT", "big", offset, "1"]);
    }
    let _: i64 = q(c, &["PEXPIREAT", "big", "99999999999999"]);
    let _: i64 = q(c, &["SETBIT", "big", "30000", "1"]);
    let mut out = Vec::new();
    for key in ["bits", "inv", "hll", "merged", "big"] {
        out.push(q::<Vec<u8>>(c, &["GET", key]));
    }
    let sorted: Vec<Vec<u8>> = q(c, &["LRANGE", "sorted", "0", "-1"]);
    out.extend(sorted);
    out
}

#[test]
fn aof_replays_to_the_same_values() {
    let dir = TempDir::new("aof");
    let args = ["--appendonly", "yes", "--dir", dir.0.to_str().unwrap()];
    let before = {
        let server = Server::start(&args);
        let mut c = server.conn();
        workload(&mut c)
    };
    let after = reload(&args);
    assert!(before == after, "values differ after AOF replay");
    // Again after a rewrite, which snapshots the out-of-line string.
    {
        let server = Server::start(&args);
        let mut c = server.conn();
        let _: () = q(&mut c, &["BGREWRITEAOF"]);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let info: String = q(&mut c, &["INFO", "persistence"]);
            let done = info.contains("aof_rewrite_in_progress:0")
                && !info.contains("aof_rewrites:0\r")
                && info.contains("aof_last_bgrewrite_status:ok");
            if done {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "rewrite did not finish"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert!(before == reload(&args), "values differ after rewrite");
    let server = Server::start(&args);
    assert_eq!(q::<i64>(&mut server.conn(), &["PFCOUNT", "merged"]), 5);
}

fn reload(args: &[&str]) -> Vec<Vec<u8>> {
    let server = Server::start(args);
    let mut c = server.conn();
    assert!(q::<i64>(&mut c, &["PTTL", "big"]) > 0);
    let mut after = Vec::new();
    for key in ["bits", "inv", "hll", "merged", "big"] {
        after.push(q::<Vec<u8>>(&mut c, &["GET", key]));
    }
    let sorted: Vec<Vec<u8>> = q(&mut c, &["LRANGE", "sorted", "0", "-1"]);
    after.extend(sorted);
    after
}

#[test]
fn keyspace_events_name_the_command() {
    let server = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut sub_conn = server.conn();
    let mut pubsub = sub_conn.as_pubsub();
    pubsub.psubscribe("__keyevent@0__:*").unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut c = server.conn();
    workload(&mut c);
    let mut got = Vec::new();
    for _ in 0..11 {
        let msg = pubsub.get_message().unwrap();
        got.push(format!(
            "{} {}",
            msg.get_channel_name().trim_start_matches("__keyevent@0__:"),
            msg.get_payload::<String>().unwrap()
        ));
    }
    assert_eq!(
        got,
        [
            "setbit bits",
            "setbit bits",
            "setbit bits",
            "setbit bits",
            "set inv",
            "pfadd hll",
            "pfadd hll2",
            "pfadd merged",
            "rpush list",
            "sortstore sorted",
            "setbit big",
        ]
    );
}

#[test]
fn growth_is_limited_and_memory_is_reported() {
    let server = Server::start(&["--proto-max-bulk-len", "1mb"]);
    let mut c = server.conn();
    assert_eq!(
        err(&mut c, &["SETBIT", "k", "8388608", "1"]),
        "ERR bit offset is not an integer or out of range"
    );
    let _: i64 = q(&mut c, &["SETBIT", "k", "8388607", "1"]);
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "k"]), 1024 * 1024);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "k"]), 1);
    assert_eq!(q::<i64>(&mut c, &["BITPOS", "k", "1"]), 8388607);
    let usage: i64 = q(&mut c, &["MEMORY", "USAGE", "k"]);
    assert!(usage >= 1024 * 1024, "MEMORY USAGE {usage}");
    // Many small growths: each extends the string by one byte.
    for i in 0..2000 {
        let _: i64 = q(&mut c, &["SETBIT", "grow", &(i * 8 + 7).to_string(), "1"]);
    }
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "grow"]), 2000);
    assert_eq!(q::<i64>(&mut c, &["BITCOUNT", "grow"]), 2000);
    let _: i64 = q(&mut c, &["PFADD", "h", "a"]);
    let hll_usage: i64 = q(&mut c, &["MEMORY", "USAGE", "h"]);
    assert!(hll_usage > 16, "MEMORY USAGE {hll_usage}");
}

#[test]
fn watch_sees_bit_and_hll_writes() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    let mut other = server.conn();
    for (key, write) in [
        ("b", vec!["SETBIT", "b", "1", "1"]),
        ("h", vec!["PFADD", "h", "x"]),
        ("f", vec!["BITFIELD", "f", "SET", "u8", "0", "1"]),
    ] {
        let _: () = q(&mut c, &["WATCH", key]);
        let _: redis::Value = q(&mut other, &write);
        let _: () = q(&mut c, &["MULTI"]);
        let _: () = q(&mut c, &["PING"]);
        let result: redis::Value = q(&mut c, &["EXEC"]);
        assert_eq!(result, redis::Value::Nil, "{key}");
    }
}
