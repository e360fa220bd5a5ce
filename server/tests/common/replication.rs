//! Helpers for the replication tests: datasets read key by key, INFO fields, waiting for a replica to
//! catch up, writes of every type, and a redis-server on a fixed port.

use super::cmd;
use redis::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// Everything a client can read of a database: per key its type, TTL presence and contents.
pub fn dataset(conn: &mut redis::Connection) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for db in 0..3 {
        cmd(conn, &["SELECT", &db.to_string()]).unwrap();
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(conn).unwrap();
        for key in keys {
            let kind: String = redis::cmd("TYPE").arg(&key).query(conn).unwrap();
            let contents = match kind.as_str() {
                "string" => format!("{:?}", cmd(conn, &["GET", &key])),
                "list" => format!("{:?}", cmd(conn, &["LRANGE", &key, "0", "-1"])),
                "set" => {
                    let mut members: Vec<Vec<u8>> =
                        redis::cmd("SMEMBERS").arg(&key).query(conn).unwrap();
                    members.sort();
                    format!("{members:?}")
                }
                "hash" => {
                    let map: BTreeMap<Vec<u8>, Vec<u8>> =
                        redis::cmd("HGETALL").arg(&key).query(conn).unwrap();
                    format!("{map:?}")
                }
                "zset" => format!(
                    "{:?}",
                    cmd(conn, &["ZRANGE", &key, "0", "-1", "WITHSCORES"])
                ),
                "stream" => format!(
                    "{:?} {}",
                    cmd(conn, &["XRANGE", &key, "-", "+"]),
                    groups(conn, &key)
                ),
                other => other.to_string(),
            };
            let pttl: i64 = redis::cmd("PTTL").arg(&key).query(conn).unwrap();
            let ttl = if pttl > 0 { "volatile" } else { "persistent" };
            out.insert(format!("{db}:{key}"), format!("{kind} {ttl} {contents}"));
        }
    }
    cmd(conn, &["SELECT", "0"]).unwrap();
    out
}

/// A stream's groups without `entries-read` and `lag`: Redis propagates XREADGROUP as XCLAIM ... LASTID,
/// which does not carry the read counter, so even a redis-server replica of redis-server differs there.
pub fn groups(conn: &mut redis::Connection, key: &str) -> String {
    let Ok(Value::Array(groups)) = cmd(conn, &["XINFO", "GROUPS", key]) else {
        return String::new();
    };
    let mut out = String::new();
    for group in groups {
        let Value::Array(fields) = group else {
            continue;
        };
        for pair in fields.chunks(2) {
            let name = format!("{:?}", pair[0]);
            if !name.contains("entries-read") && !name.contains("lag") {
                out.push_str(&format!("{pair:?}"));
            }
        }
    }
    out
}

/// Asserts two datasets are equal, naming the keys that differ.
pub fn assert_same(left: &BTreeMap<String, String>, right: &BTreeMap<String, String>, what: &str) {
    let mut diffs = Vec::new();
    for key in left.keys().chain(right.keys()) {
        if left.get(key) != right.get(key) {
            diffs.push(format!(
                "{key}: {:?} vs {:?}",
                left.get(key),
                right.get(key)
            ));
        }
    }
    diffs.dedup();
    assert!(
        diffs.is_empty(),
        "{what}: {} keys differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    assert!(!left.is_empty(), "{what}: empty dataset");
}

/// One INFO replication field.
pub fn info_field(conn: &mut redis::Connection, section: &str, name: &str) -> Option<String> {
    let text: String = redis::cmd("INFO").arg(section).query(conn).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_string))
}

/// Waits (wide margin: 60 s) until `cond` holds.
pub fn wait_for(what: &str, cond: impl FnMut() -> bool) {
    super::wait_for_within(what, Duration::from_secs(60), cond);
}

/// Waits until the replica's link is up and it processed everything the master wrote.
pub fn wait_in_sync(master: &mut redis::Connection, replica: &mut redis::Connection) {
    wait_for("the replica to catch up", || {
        let up = info_field(replica, "replication", "master_link_status").as_deref() == Some("up");
        let wanted = info_field(master, "replication", "master_repl_offset");
        let done = info_field(replica, "replication", "slave_repl_offset");
        up && wanted.is_some() && wanted == done
    });
}

/// Writes of every type, in several databases, with expiry, a transaction and a script.
pub fn write_everything(conn: &mut redis::Connection, tag: &str) {
    let k = |name: &str| format!("{tag}:{name}");
    for args in [
        vec!["SET", &k("str"), "hello"],
        vec!["SET", &k("ex"), "v", "EX", "1000"],
        vec!["SET", &k("short"), "v", "PX", "1"],
        vec!["APPEND", &k("str"), " world"],
        vec!["INCRBYFLOAT", &k("float"), "10.5"],
        vec!["RPUSH", &k("list"), "a", "b", "c", "d"],
        vec!["LPOP", &k("list")],
        vec!["SADD", &k("set"), "x", "y", "z", "1", "2"],
        vec!["SPOP", &k("set")],
        vec!["HSET", &k("hash"), "f1", "v1", "f2", "v2"],
        vec!["HINCRBYFLOAT", &k("hash"), "n", "1.25"],
        vec!["ZADD", &k("zset"), "1", "a", "2.5", "b", "-3", "c"],
        vec!["ZINCRBY", &k("zset"), "2", "a"],
        vec!["XADD", &k("stream"), "*", "f", "v"],
        vec!["XADD", &k("stream"), "*", "g", "w"],
        vec!["XGROUP", "CREATE", &k("stream"), "grp", "0"],
        vec!["EXPIRE", &k("hash"), "5000"],
        vec!["PFADD", &k("hll"), "a", "b", "c"],
        vec!["SETBIT", &k("bits"), "77", "1"],
        vec!["SELECT", "1"],
        vec!["SET", &k("db1"), "one"],
        vec!["LPUSH", &k("db1list"), "p", "q"],
        vec!["SELECT", "0"],
        vec!["MULTI"],
        vec!["INCR", &k("tx")],
        vec!["INCR", &k("tx")],
        vec!["SADD", &k("txset"), "m"],
        vec!["EXEC"],
    ] {
        cmd(conn, &args).unwrap();
    }
    let _: Value = redis::cmd("EVAL")
        .arg("redis.call('SET', KEYS[1], 'lua'); return redis.call('INCR', KEYS[2])")
        .arg(2)
        .arg(k("lua1"))
        .arg(k("lua2"))
        .query(conn)
        .unwrap();
    let _: Value = redis::cmd("XREADGROUP")
        .arg(&[
            "GROUP",
            "grp",
            "alice",
            "COUNT",
            "1",
            "STREAMS",
            &k("stream"),
            ">",
        ])
        .query(conn)
        .unwrap();
    // The PX 1 key expires: its DEL reaches the replica through the stream.
    std::thread::sleep(Duration::from_millis(20));
    let _ = cmd(conn, &["GET", &k("short")]);
}

/// A redis-server on a fixed port (to restart it where the replica looks), with its files in a fresh temporary
/// directory, killed by PID on drop.
pub struct FixedRedis(zedis_testkit::RedisServer);

impl FixedRedis {
    /// Starts redis-server on `port`; None when it is missing or does not answer.
    pub fn start(port: u16) -> Option<FixedRedis> {
        zedis_testkit::RedisServer::builder()
            .port(port)
            .args(&["--repl-diskless-sync-delay", "0"])
            .start()
            .ok()
            .map(FixedRedis)
    }
}
