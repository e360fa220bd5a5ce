//! What the AOF tests (`aof.rs`, `aof_interop.rs`) share: a server with `appendonly yes` on a directory, a
//! start the server must refuse, INFO persistence fields, waiting for a rewrite, a dataset written and read
//! back key by key, and the files of `appendonlydir`.

use super::launch::Launch;
use super::{cmd, Server, TempDir};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A server with `--appendonly yes --dir <dir>` plus `extra`.
pub fn start(dir: &TempDir, extra: &[&str]) -> Server {
    let mut args = vec!["--appendonly", "yes", "--dir", dir.path()];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// Runs zedis-server with `--appendonly yes --dir <dir>` plus `extra`, expecting it to exit at startup;
/// returns (success, its log and standard error).
pub fn start_failing(dir: &TempDir, extra: &[&str]) -> (bool, String) {
    // A free port (`port 0` means no TCP listener, and with nothing else to listen on Redis and Zedis
    // refuse to start before loading anything).
    let port = zedis_testkit::free_port().to_string();
    Launch::new(&["--port", &port, "--appendonly", "yes", "--dir", dir.path()])
        .args(extra)
        .exit_output(Duration::from_secs(60))
}

/// One field of INFO persistence.
pub fn info_field(conn: &mut redis::Connection, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg("persistence").query(conn).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {info}"))
        .to_string()
}

/// Waits (60 s) until at least `rewrites_at_least` rewrites finished, the last one ok, with the AOF on.
pub fn wait_rewrite_done(conn: &mut redis::Connection, rewrites_at_least: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let done = info_field(conn, "aof_rewrite_in_progress") == "0"
            && info_field(conn, "aof_rewrites").parse::<u64>().unwrap() >= rewrites_at_least
            && info_field(conn, "aof_enabled") == "1";
        if done {
            assert_eq!(info_field(conn, "aof_last_bgrewrite_status"), "ok");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("rewrite did not finish");
}

/// (db, key) -> (type, value, PEXPIRETIME).
pub type Snapshot = BTreeMap<(u8, Vec<u8>), (String, Vec<Vec<u8>>, i64)>;

/// Every key of databases 0..4 with its type, value (sets/hashes sorted) and expire time.
pub fn snapshot(conn: &mut redis::Connection) -> Snapshot {
    let mut all = BTreeMap::new();
    for db in 0..4u8 {
        cmd(conn, &["SELECT", &db.to_string()]).unwrap();
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(conn).unwrap();
        for key in keys {
            let kind: String = redis::cmd("TYPE").arg(&key).query(conn).unwrap();
            let mut value: Vec<Vec<u8>> = match kind.as_str() {
                "string" => vec![redis::cmd("GET").arg(&key).query(conn).unwrap()],
                "list" => redis::cmd("LRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .query(conn)
                    .unwrap(),
                "set" => redis::cmd("SMEMBERS").arg(&key).query(conn).unwrap(),
                "hash" => redis::cmd("HGETALL").arg(&key).query(conn).unwrap(),
                other => panic!("type {other}"),
            };
            if kind == "set" {
                value.sort();
            }
            if kind == "hash" {
                let mut pairs: Vec<Vec<u8>> = value.chunks(2).map(|p| p.concat()).collect();
                pairs.sort();
                value = pairs;
            }
            let expire: i64 = redis::cmd("PEXPIRETIME").arg(&key).query(conn).unwrap();
            all.insert((db, key), (kind, value, expire));
        }
    }
    cmd(conn, &["SELECT", "0"]).unwrap();
    all
}

/// Strings, a list, a set, a hash, and in database 2 a key with a TTL and a float.
pub fn fill(conn: &mut redis::Connection) {
    for i in 0..50 {
        cmd(conn, &["SET", &format!("s{i}"), &i.to_string()]).unwrap();
    }
    cmd(conn, &["RPUSH", "list", "a", "b", "c"]).unwrap();
    cmd(conn, &["SADD", "set", "x", "1", "2"]).unwrap();
    cmd(conn, &["HSET", "hash", "f", "v", "g", "7"]).unwrap();
    cmd(conn, &["SELECT", "2"]).unwrap();
    cmd(conn, &["SET", "in2", "two", "EX", "1000"]).unwrap();
    cmd(conn, &["INCRBYFLOAT", "float", "1.25"]).unwrap();
    cmd(conn, &["SELECT", "0"]).unwrap();
}

/// The last incr file the manifest of `dir/appendonlydir` lists.
pub fn last_incr(dir: &TempDir) -> PathBuf {
    let aofdir = dir.0.join("appendonlydir");
    let manifest = std::fs::read_to_string(aofdir.join("appendonly.aof.manifest")).unwrap();
    let name = manifest
        .lines()
        .rev()
        .find(|l| l.ends_with("type i"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .to_string();
    aofdir.join(name)
}

/// Bytes of the base and incr files of `dir/appendonlydir` (the manifest excluded).
pub fn dir_bytes(dir: &TempDir) -> u64 {
    std::fs::read_dir(dir.0.join("appendonlydir"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().ends_with(".manifest"))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}
