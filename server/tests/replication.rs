//! Replication against real programs: redis-server 7.0 as a replica of Zedis, Zedis as a replica of
//! redis-server, Zedis chains; datasets compared key by key after full sync, with writes flowing, and after a
//! link break (partial resync).

mod common;

use common::reference::RedisProcess;
use common::replication::{assert_same, dataset, info_field, wait_in_sync, write_everything};
use common::{cmd, err, Server};
use redis::Value;

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
    // A master that is not there: the replica keeps trying; ROLE and CONFIG show it.
    raw.roundtrip("SLAVEOF 127.0.0.1 1\r\n", "+OK\r\n");
    raw.roundtrip(
        "CONFIG GET replicaof\r\n",
        "*2\r\n$9\r\nreplicaof\r\n$11\r\n127.0.0.1 1\r\n",
    );
    raw.roundtrip(
        "REPLICAOF 127.0.0.1 1\r\n",
        "+OK Already connected to specified master\r\n",
    );
    let role = cmd(&mut zedis.conn(), &["ROLE"]).unwrap();
    let Value::Array(parts) = role else {
        panic!("{role:?}")
    };
    assert_eq!(parts[0], Value::BulkString(b"slave".to_vec()));
    assert_eq!(parts[2], Value::Int(1));
    let state = format!("{:?}", parts[3]);
    assert!(state.contains("connect"), "{state}");
    assert_eq!(parts[4], Value::Int(-1));
    raw.roundtrip(
        "SET k v\r\n",
        "-READONLY You can't write against a read only replica.\r\n",
    );
    raw.roundtrip("WAIT 0 0\r\n", "-ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.\r\n");
    raw.roundtrip("REPLICAOF NO ONE\r\n", "+OK\r\n");
    raw.roundtrip(
        "CONFIG GET replicaof\r\n",
        "*2\r\n$9\r\nreplicaof\r\n$0\r\n\r\n",
    );
    raw.roundtrip("WAIT 0 0\r\n", ":0\r\n");
    raw.roundtrip("ROLE\r\n", "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
    // SYNC: a bare `$<len>` RDB payload, no +FULLRESYNC line.
    // (Newlines may come first: the keepalive Redis also sends while the RDB is being made.)
    raw.send(b"SYNC\r\n");
    let mut header = raw.read_exact_len(1);
    while header == "\n" {
        header = raw.read_exact_len(1);
    }
    assert_eq!(header, "$");
}
