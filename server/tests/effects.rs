//! After-command effects on every path (`server/src/dispatch`): keys evicted or expired anywhere reach the AOF as
//! `DEL` and publish their keyspace events; blocked clients are served after the whole command or transaction.

mod common;

use common::{cmd, Server, TempDir};
use redis::Value;
use std::io::Read;
use std::time::{Duration, Instant};

fn int(v: Value) -> i64 {
    match v {
        Value::Int(n) => n,
        other => panic!("expected an integer, got {other:?}"),
    }
}

fn info_stat(conn: &mut redis::Connection, field: &str) -> i64 {
    let info: String = redis::cmd("INFO").arg("stats").query(conn).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO stats"))
        .trim()
        .parse()
        .unwrap()
}

/// A subscriber's socket and everything it received so far.
struct Subscriber {
    raw: common::Raw,
    text: Vec<u8>,
}

impl Subscriber {
    fn new(server: &Server, channel: &str) -> Subscriber {
        let mut raw = server.raw();
        raw.send(format!("SUBSCRIBE {channel}\r\n").as_bytes());
        raw.expect(&format!(
            "*3\r\n$9\r\nsubscribe\r\n${}\r\n{channel}\r\n:1\r\n",
            channel.len()
        ));
        raw.stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        Subscriber {
            raw,
            text: Vec::new(),
        }
    }

    /// Reads what arrived until the socket stays quiet for a read timeout.
    fn drain(&mut self) {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = self.raw.stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            self.text.extend_from_slice(&buf[..n]);
        }
    }

    /// Messages received on `channel`, waiting up to 20 s for `wanted` of them (and a moment for extra ones).
    fn count(&mut self, channel: &str, wanted: usize) -> usize {
        let needle = format!("\r\n{channel}\r\n");
        let count = |text: &[u8]| String::from_utf8_lossy(text).matches(&needle).count();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline && count(&self.text) < wanted {
            self.drain();
        }
        std::thread::sleep(Duration::from_millis(200));
        self.drain();
        count(&self.text)
    }
}

/// The issue-12 scenario: keys evicted while a MULTI is queued (the queued SET needs room) are logged as DEL and
/// announced as `evicted` events, so a restart on the same AOF keeps the same DBSIZE.
fn multi_eviction_survives_restart(preset: &str) {
    let dir = TempDir::new(preset);
    let args = [
        "--appendonly",
        "yes",
        "--dir",
        dir.path(),
        "--maxmemory",
        "8mb",
        "--maxmemory-policy",
        "allkeys-lru",
        "--notify-keyspace-events",
        "Ee",
        "--allocator",
        preset,
    ];
    let server = Server::start(&args);
    let mut subscriber = Subscriber::new(&server, "__keyevent@0__:evicted");
    let mut conn = server.conn();
    let value = "v".repeat(1024);
    for chunk in 0..120 {
        let mut pipe = redis::pipe();
        for i in 0..100 {
            pipe.cmd("SET")
                .arg(format!("key:{}", chunk * 100 + i))
                .arg(&value)
                .ignore();
        }
        pipe.query::<()>(&mut conn).unwrap();
        subscriber.drain();
    }
    let evicted_by_writes = info_stat(&mut conn, "evicted_keys");
    assert!(evicted_by_writes > 0, "8 MB cannot hold 12 MB of values");
    let before_multi = int(cmd(&mut conn, &["DBSIZE"]).unwrap());
    let big = "b".repeat(2 * 1024 * 1024);
    assert_eq!(cmd(&mut conn, &["MULTI"]).unwrap(), Value::Okay);
    assert_eq!(
        cmd(&mut conn, &["SET", "big", &big]).unwrap(),
        Value::SimpleString("QUEUED".into())
    );
    assert_eq!(cmd(&mut conn, &["DISCARD"]).unwrap(), Value::Okay);
    let dbsize = int(cmd(&mut conn, &["DBSIZE"]).unwrap());
    assert!(
        dbsize < before_multi,
        "queueing a 2 MB SET evicts ({before_multi} keys before, {dbsize} after)"
    );
    let evicted = info_stat(&mut conn, "evicted_keys");
    let seen = subscriber.count("__keyevent@0__:evicted", evicted as usize);
    assert_eq!(seen as i64, evicted, "one evicted event per evicted key");
    // Everything is written to the file before the replies leave: a SIGKILL now loses nothing.
    drop(conn);
    drop(subscriber);
    drop(server);
    let server = Server::start(&args);
    let mut conn = server.conn();
    assert_eq!(int(cmd(&mut conn, &["DBSIZE"]).unwrap()), dbsize);
}

#[test]
fn multi_eviction_survives_restart_zedis() {
    multi_eviction_survives_restart("zedis");
}

#[test]
fn multi_eviction_survives_restart_system() {
    multi_eviction_survives_restart("system");
}

/// Waits until the server reports `count` blocked clients.
fn wait_blocked(conn: &mut redis::Connection, count: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info: String = redis::cmd("INFO").arg("clients").query(conn).unwrap();
        let blocked: i64 = info
            .lines()
            .find_map(|l| l.strip_prefix("blocked_clients:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        if blocked == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{blocked} blocked, wanted {count}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// As Redis's handleClientsBlockedOnKeys: a transaction wakes blocked clients only with its final state, so a
/// key pushed and deleted inside one EXEC wakes no one.
#[test]
fn blocked_clients_see_a_transaction_as_a_whole() {
    let server = Server::start(&[]);
    let mut conn = server.conn();
    let mut waiter = server.raw();
    waiter.send(b"BLPOP l 0\r\n");
    wait_blocked(&mut conn, 1);
    let mut pusher = server.raw();
    pusher.roundtrip(
        "MULTI\r\nLPUSH l x\r\nDEL l\r\nEXEC\r\n",
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:1\r\n",
    );
    // Still blocked: nothing arrives, and the next push is what it gets.
    waiter
        .stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    assert!(
        waiter.stream.read(&mut byte).is_err(),
        "the waiter must not be served a deleted element"
    );
    wait_blocked(&mut conn, 1);
    waiter
        .stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    pusher.roundtrip(
        "MULTI\r\nRPUSH l a\r\nRPUSH l b\r\nEXEC\r\n",
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:2\r\n",
    );
    waiter.expect("*2\r\n$1\r\nl\r\n$1\r\na\r\n");
    pusher.roundtrip("LRANGE l 0 -1\r\n", "*1\r\n$1\r\nb\r\n");
    wait_blocked(&mut conn, 0);
}

/// Error replies are counted where they are produced (keyspace handlers, server checks, inside EXEC), as
/// Redis 7.0 counts them in `total_error_replies`.
#[test]
fn error_replies_are_counted_once_each() {
    let server = Server::start(&[]);
    let mut raw = server.raw();
    raw.roundtrip("SET s abc\r\n", "+OK\r\n");
    raw.roundtrip(
        "INCR s\r\n",
        "-ERR value is not an integer or out of range\r\n",
    );
    raw.roundtrip(
        "FOOBAR\r\n",
        "-ERR unknown command 'FOOBAR', with args beginning with: \r\n",
    );
    raw.roundtrip(
        "LPUSH s x\r\n",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    raw.roundtrip(
        "MULTI\r\nINCR s\r\nSET t 1\r\nEXEC\r\n",
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n-ERR value is not an integer or out of range\r\n+OK\r\n",
    );
    raw.roundtrip("GET s\r\n", "$3\r\nabc\r\n");
    // Asked on the same raw connection: a client library's connection setup (CLIENT SETINFO, which Redis 7.0
    // refuses too) would add its own errors.
    raw.send(b"INFO stats\r\n");
    let mut text = String::new();
    while !text.contains("total_error_replies:") || !text.ends_with("\r\n") {
        text.push_str(&raw.read_exact_len(1));
    }
    let count = text
        .lines()
        .find_map(|l| l.strip_prefix("total_error_replies:"))
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(count, "4");
}

/// Keys removed by active expiry and by lazy expiry (inside EXEC too) each publish one `expired` event.
#[test]
fn expired_keys_publish_events_on_every_path() {
    let server = Server::start(&["--notify-keyspace-events", "Ex"]);
    let mut subscriber = Subscriber::new(&server, "__keyevent@0__:expired");
    let mut raw = server.raw();
    for i in 0..50 {
        raw.roundtrip(&format!("SET active:{i} v PX 30\r\n"), "+OK\r\n");
    }
    // Lazy expiry inside a transaction: the key is gone when EXEC runs (or the active cycle got it first;
    // either way one event).
    raw.roundtrip("SET lazy v PX 1\r\n", "+OK\r\n");
    std::thread::sleep(Duration::from_millis(20));
    raw.roundtrip(
        "MULTI\r\nGET lazy\r\nEXEC\r\n",
        "+OK\r\n+QUEUED\r\n*1\r\n$-1\r\n",
    );
    let mut conn = server.conn();
    let deadline = Instant::now() + Duration::from_secs(20);
    while int(cmd(&mut conn, &["DBSIZE"]).unwrap()) > 0 {
        assert!(
            Instant::now() < deadline,
            "the active cycle removes every key"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(info_stat(&mut conn, "expired_keys"), 51);
    assert_eq!(subscriber.count("__keyevent@0__:expired", 51), 51);
}

/// A ready key of another type does not serve a blocked client (no WRONGTYPE reply): it keeps waiting, as in
/// Redis's "LPUSH + DEL + SET should not awake blocked client".
#[test]
fn blocked_client_keeps_waiting_when_the_key_has_another_type() {
    let server = Server::start(&[]);
    let mut conn = server.conn();
    // (The client library's connection setup may have drawn errors of its own.)
    let errors_before = info_stat(&mut conn, "total_error_replies");
    let mut waiter = server.raw();
    waiter.send(b"BLPOP list 0\r\n");
    wait_blocked(&mut conn, 1);
    let mut other = server.raw();
    other.roundtrip(
        "MULTI\r\nLPUSH list a\r\nDEL list\r\nSET list foo\r\nEXEC\r\n",
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n:1\r\n:1\r\n+OK\r\n",
    );
    wait_blocked(&mut conn, 1);
    other.roundtrip("DEL list\r\n", ":1\r\n");
    other.roundtrip("LPUSH list b\r\n", ":1\r\n");
    waiter.expect("*2\r\n$4\r\nlist\r\n$1\r\nb\r\n");
    wait_blocked(&mut conn, 0);
    assert_eq!(info_stat(&mut conn, "total_error_replies"), errors_before);
}

/// Lowering `maxmemory` evicts at once (Redis's updateMaxmemory), with the `evicted` events published.
#[test]
fn lowering_maxmemory_evicts_at_once() {
    let server = Server::start(&[
        "--notify-keyspace-events",
        "Ee",
        "--maxmemory-policy",
        "allkeys-lru",
    ]);
    let mut subscriber = Subscriber::new(&server, "__keyevent@0__:evicted");
    let mut raw = server.raw();
    raw.roundtrip("SET foo bar\r\n", "+OK\r\n");
    raw.roundtrip("CONFIG SET maxmemory 1\r\n", "+OK\r\n");
    // No other command runs: the event comes from CONFIG SET itself.
    assert_eq!(subscriber.count("__keyevent@0__:evicted", 1), 1);
    raw.roundtrip("CONFIG SET maxmemory 0\r\n", "+OK\r\n");
    raw.roundtrip("DBSIZE\r\n", ":0\r\n");
}
