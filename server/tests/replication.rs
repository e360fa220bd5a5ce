//! Replication against real programs: redis-server 7.0 as a replica of Zedis, Zedis as a replica of
//! redis-server, Zedis chains; datasets compared key by key after full sync, with writes flowing, and after a
//! link break (partial resync).

mod common;

use common::reference::RedisProcess;
use common::{cmd, err, Server};
use redis::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Everything a client can read of a database: per key its type, TTL presence and contents.
fn dataset(conn: &mut redis::Connection) -> BTreeMap<String, String> {
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
fn groups(conn: &mut redis::Connection, key: &str) -> String {
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
fn assert_same(left: &BTreeMap<String, String>, right: &BTreeMap<String, String>, what: &str) {
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
fn info_field(conn: &mut redis::Connection, section: &str, name: &str) -> Option<String> {
    let text: String = redis::cmd("INFO").arg(section).query(conn).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_string))
}

/// Waits (wide margin) until `cond` holds.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// Waits until the replica's link is up and it processed everything the master wrote.
fn wait_in_sync(master: &mut redis::Connection, replica: &mut redis::Connection) {
    wait_for("the replica to catch up", || {
        let up = info_field(replica, "replication", "master_link_status").as_deref() == Some("up");
        let wanted = info_field(master, "replication", "master_repl_offset");
        let done = info_field(replica, "replication", "slave_repl_offset");
        up && wanted.is_some() && wanted == done
    });
}

/// Writes of every type, in several databases, with expiry, a transaction and a script.
fn write_everything(conn: &mut redis::Connection, tag: &str) {
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

#[test]
fn redis_replica_of_zedis_sees_every_write() {
    let zedis = Server::start(&[]);
    let mut master = zedis.conn();
    write_everything(&mut master, "before");
    let port = zedis.port.to_string();
    let Some(redis) = RedisProcess::start(&["--replicaof", "127.0.0.1", &port]) else {
        eprintln!("redis-server missing: skipped");
        return;
    };
    let mut replica = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port))
        .unwrap()
        .get_connection()
        .unwrap();
    wait_in_sync(&mut master, &mut replica);
    assert_same(
        &dataset(&mut master),
        &dataset(&mut replica),
        "after full sync",
    );
    write_everything(&mut master, "after");
    cmd(&mut master, &["DEL", "before:list"]).unwrap();
    wait_in_sync(&mut master, &mut replica);
    let data = dataset(&mut master);
    assert!(data.contains_key("0:after:stream") && !data.contains_key("0:after:short"));
    assert_same(&data, &dataset(&mut replica), "with writes flowing");
    // The master's view of its replica.
    let role = cmd(&mut master, &["ROLE"]).unwrap();
    let Value::Array(parts) = role else {
        panic!("{role:?}")
    };
    assert_eq!(parts[0], Value::BulkString(b"master".to_vec()));
    assert_eq!(
        info_field(&mut master, "replication", "connected_slaves").as_deref(),
        Some("1")
    );
    assert_eq!(
        info_field(&mut master, "stats", "sync_full").as_deref(),
        Some("1")
    );
    // WAIT: one replica acknowledges; asking for two times out with one.
    cmd(&mut master, &["SET", "waited", "1"]).unwrap();
    let acked: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(20000)
        .query(&mut master)
        .unwrap();
    assert_eq!(acked, 1);
    let acked: i64 = redis::cmd("WAIT")
        .arg(2)
        .arg(300)
        .query(&mut master)
        .unwrap();
    assert_eq!(acked, 1);
    // min-replicas-to-write.
    cmd(
        &mut master,
        &["CONFIG", "SET", "min-replicas-to-write", "2"],
    )
    .unwrap();
    assert_eq!(
        err(&mut master, &["SET", "x", "1"]),
        "NOREPLICAS Not enough good replicas to write."
    );
    cmd(
        &mut master,
        &["CONFIG", "SET", "min-replicas-to-write", "1"],
    )
    .unwrap();
    cmd(&mut master, &["SET", "x", "1"]).unwrap();
}

#[test]
fn redis_replica_continues_after_a_link_break() {
    let zedis = Server::start(&[]);
    let mut master = zedis.conn();
    write_everything(&mut master, "a");
    let port = zedis.port.to_string();
    let Some(redis) = RedisProcess::start(&["--replicaof", "127.0.0.1", &port]) else {
        return;
    };
    let mut replica = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port))
        .unwrap()
        .get_connection()
        .unwrap();
    wait_in_sync(&mut master, &mut replica);
    // Break the link from the master's side; writes go on meanwhile.
    let killed: i64 = redis::cmd("CLIENT")
        .arg(&["KILL", "TYPE", "replica"])
        .query(&mut master)
        .unwrap();
    assert_eq!(killed, 1);
    write_everything(&mut master, "b");
    wait_in_sync(&mut master, &mut replica);
    assert_same(
        &dataset(&mut master),
        &dataset(&mut replica),
        "after partial resync",
    );
    assert_eq!(
        info_field(&mut master, "stats", "sync_full").as_deref(),
        Some("1")
    );
    assert_eq!(
        info_field(&mut master, "stats", "sync_partial_ok").as_deref(),
        Some("1")
    );
}

#[test]
fn zedis_replica_of_redis_and_a_zedis_chain() {
    // A diskless master without delay: the payload comes in the `$EOF:` form.
    let Some(redis) = RedisProcess::start(&["--repl-diskless-sync-delay", "0"]) else {
        return;
    };
    let mut master = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port))
        .unwrap()
        .get_connection()
        .unwrap();
    write_everything(&mut master, "before");
    let first = Server::start(&["--replicaof", &format!("127.0.0.1 {}", redis.port)]);
    let mut replica = first.conn();
    let second = Server::start(&[]);
    let mut chained = second.conn();
    cmd(&mut chained, &["SET", "stale", "gone after sync"]).unwrap();
    cmd(
        &mut chained,
        &["REPLICAOF", "127.0.0.1", &first.port.to_string()],
    )
    .unwrap();
    wait_in_sync(&mut master, &mut replica);
    write_everything(&mut master, "after");
    wait_in_sync(&mut master, &mut replica);
    wait_in_sync(&mut master, &mut chained);
    let data = dataset(&mut master);
    assert_same(&data, &dataset(&mut replica), "replica of redis-server");
    assert_same(&data, &dataset(&mut chained), "replica of a replica");
    // Read-only replicas, ROLE, and the same replication id and offset down the chain.
    assert_eq!(
        err(&mut replica, &["SET", "k", "v"]),
        "READONLY You can't write against a read only replica."
    );
    let role = cmd(&mut chained, &["ROLE"]).unwrap();
    let Value::Array(parts) = role else {
        panic!("{role:?}")
    };
    assert_eq!(parts[0], Value::BulkString(b"slave".to_vec()));
    assert_eq!(parts[3], Value::BulkString(b"connected".to_vec()));
    let id = |c: &mut redis::Connection| info_field(c, "replication", "master_replid");
    assert_eq!(id(&mut master), id(&mut replica));
    assert_eq!(id(&mut master), id(&mut chained));
    // Promotion: a new id, the old one kept as replid2; the chained replica follows the promoted one.
    let old = id(&mut replica);
    cmd(&mut replica, &["REPLICAOF", "NO", "ONE"]).unwrap();
    assert_eq!(
        info_field(&mut replica, "replication", "master_replid2"),
        old
    );
    assert_ne!(id(&mut replica), old);
    cmd(&mut replica, &["SET", "promoted", "yes"]).unwrap();
    wait_in_sync(&mut replica, &mut chained);
    assert_same(
        &dataset(&mut replica),
        &dataset(&mut chained),
        "after promotion",
    );
    assert_eq!(
        info_field(&mut replica, "stats", "sync_partial_ok").as_deref(),
        Some("1"),
        "the chained replica continued with the promoted one's replid2"
    );
}

#[test]
fn info_replication_has_redis_fields() {
    let Some(redis) = RedisProcess::start(&[]) else {
        return;
    };
    let zedis = Server::start(&[]);
    let names = |port: u16| {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .unwrap()
            .get_connection()
            .unwrap();
        let text: String = redis::cmd("INFO").arg("replication").query(&mut c).unwrap();
        text.lines()
            .filter_map(|l| l.split_once(':').map(|(n, _)| n.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(zedis.port), names(redis.port), "as a master");
    let z = Server::start(&["--replicaof", &format!("127.0.0.1 {}", redis.port)]);
    let r = RedisProcess::start(&["--replicaof", "127.0.0.1", &redis.port.to_string()]).unwrap();
    let mut zc = z.conn();
    let mut mc = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port))
        .unwrap()
        .get_connection()
        .unwrap();
    wait_in_sync(&mut mc, &mut zc);
    let mut rc = redis::Client::open(format!("redis://127.0.0.1:{}/", r.port))
        .unwrap()
        .get_connection()
        .unwrap();
    wait_in_sync(&mut mc, &mut rc);
    assert_eq!(names(z.port), names(r.port), "as a replica");
}

#[test]
fn replconf_and_psync_errors_as_redis() {
    let zedis = Server::start(&[]);
    let mut raw = zedis.raw();
    raw.roundtrip("REPLCONF listening-port 1234 capa eof\r\n", "+OK\r\n");
    raw.roundtrip(
        "REPLCONF foo bar\r\n",
        "-ERR Unrecognized REPLCONF option: foo\r\n",
    );
    raw.roundtrip(
        "REPLCONF foo\r\n",
        "-ERR wrong number of arguments for 'replconf' command\r\n",
    );
    raw.roundtrip("REPLICAOF x notaport\r\n", "-ERR Invalid master port\r\n");
    raw.roundtrip("WAIT 0 0\r\n", ":0\r\n");
    raw.roundtrip("ROLE\r\n", "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
    // SYNC: a bare `$<len>` RDB payload, no +FULLRESYNC line.
    raw.send(b"SYNC\r\n");
    let header = raw.read_exact_len(1);
    assert_eq!(header, "$");
}

/// A redis-server on a fixed port (to restart it where the replica looks), killed by PID on drop.
struct FixedRedis(std::process::Child);

impl FixedRedis {
    fn start(port: u16) -> Option<FixedRedis> {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--repl-diskless-sync-delay",
                "0",
            ])
            .args(["--dir", &std::env::temp_dir().to_string_lossy()])
            .args(["--dbfilename", &format!("zedis-test-restart-{port}.rdb")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let guard = FixedRedis(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(guard);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for FixedRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn zedis_replica_follows_a_restarted_master() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let Some(first) = FixedRedis::start(port) else {
        return;
    };
    let connect = || {
        redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .unwrap()
            .get_connection()
            .unwrap()
    };
    let mut master = connect();
    write_everything(&mut master, "old");
    let zedis = Server::start(&["--replicaof", &format!("127.0.0.1 {port}")]);
    let mut replica = zedis.conn();
    wait_in_sync(&mut master, &mut replica);
    assert_same(
        &dataset(&mut master),
        &dataset(&mut replica),
        "first master",
    );
    drop(first);
    wait_for("the link to go down", || {
        info_field(&mut replica, "replication", "master_link_status").as_deref() == Some("down")
    });
    // The replica serves its (stale) data meanwhile.
    assert!(dataset(&mut replica).contains_key("0:old:str"));
    let Some(_second) = FixedRedis::start(port) else {
        return;
    };
    let mut master = connect();
    write_everything(&mut master, "new");
    wait_in_sync(&mut master, &mut replica);
    let data = dataset(&mut master);
    assert!(!data.contains_key("0:old:str"));
    assert_same(&data, &dataset(&mut replica), "restarted master");
}

#[test]
fn failover_hands_the_master_role_to_a_redis_replica() {
    let zedis = Server::start(&[]);
    let mut old_master = zedis.conn();
    assert_eq!(
        err(&mut old_master, &["FAILOVER"]),
        "ERR FAILOVER requires connected replicas."
    );
    assert_eq!(
        err(&mut old_master, &["FAILOVER", "ABORT"]),
        "ERR No failover in progress."
    );
    write_everything(&mut old_master, "pre");
    let port = zedis.port.to_string();
    let Some(redis) = RedisProcess::start(&["--replicaof", "127.0.0.1", &port]) else {
        return;
    };
    let mut target = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port))
        .unwrap()
        .get_connection()
        .unwrap();
    let other = Server::start(&["--replicaof", &format!("127.0.0.1 {port}")]);
    let mut other_conn = other.conn();
    wait_in_sync(&mut old_master, &mut target);
    wait_in_sync(&mut old_master, &mut other_conn);
    assert_eq!(
        err(
            &mut old_master,
            &["FAILOVER", "TO", "127.0.0.1", "1", "TIMEOUT", "100"]
        ),
        "ERR FAILOVER target HOST and PORT is not a replica."
    );
    let redis_port = redis.port.to_string();
    cmd(
        &mut old_master,
        &[
            "FAILOVER",
            "TO",
            "127.0.0.1",
            &redis_port,
            "TIMEOUT",
            "30000",
        ],
    )
    .unwrap();
    wait_for("the roles to switch", || {
        info_field(&mut target, "replication", "role").as_deref() == Some("master")
            && info_field(&mut old_master, "replication", "master_link_status").as_deref()
                == Some("up")
    });
    assert_eq!(
        info_field(&mut old_master, "replication", "master_port"),
        Some(redis_port.clone())
    );
    assert_eq!(
        info_field(&mut old_master, "replication", "master_failover_state").as_deref(),
        Some("no-failover")
    );
    // The new master's writes reach the old master; the other replica still follows the old master.
    write_everything(&mut target, "post");
    wait_in_sync(&mut target, &mut old_master);
    wait_in_sync(&mut target, &mut other_conn);
    let data = dataset(&mut target);
    assert!(data.contains_key("0:pre:str") && data.contains_key("0:post:str"));
    assert_same(
        &data,
        &dataset(&mut old_master),
        "old master after failover",
    );
    assert_same(
        &data,
        &dataset(&mut other_conn),
        "its replica after failover",
    );
}

#[test]
fn sub_replicas_start_in_the_database_the_stream_is_in() {
    let top = Server::start(&[]);
    let mut master = top.conn();
    let middle = Server::start(&["--replicaof", &format!("127.0.0.1 {}", top.port)]);
    let mut middle_conn = middle.conn();
    // The top master's stream is now in database 1 and stays there: no SELECT follows.
    cmd(&mut master, &["SELECT", "1"]).unwrap();
    cmd(&mut master, &["SET", "first", "1"]).unwrap();
    wait_in_sync(&mut master, &mut middle_conn);
    let via = format!("127.0.0.1 {}", middle.port);
    let zedis_leaf = Server::start(&["--replicaof", &via]);
    let mut zedis_leaf_conn = zedis_leaf.conn();
    let middle_port = middle.port.to_string();
    let redis_leaf = RedisProcess::start(&["--replicaof", "127.0.0.1", &middle_port]);
    wait_in_sync(&mut master, &mut zedis_leaf_conn);
    cmd(&mut master, &["SET", "second", "2"]).unwrap();
    cmd(&mut master, &["RPUSH", "list", "a"]).unwrap();
    wait_in_sync(&mut master, &mut middle_conn);
    wait_in_sync(&mut master, &mut zedis_leaf_conn);
    let data = dataset(&mut master);
    assert!(data.contains_key("1:second"));
    assert_same(&data, &dataset(&mut zedis_leaf_conn), "zedis sub-replica");
    if let Some(redis_leaf) = redis_leaf {
        let mut conn = redis::Client::open(format!("redis://127.0.0.1:{}/", redis_leaf.port))
            .unwrap()
            .get_connection()
            .unwrap();
        wait_in_sync(&mut master, &mut conn);
        assert_same(&data, &dataset(&mut conn), "redis-server sub-replica");
    }
}
