//! CLIENT TRACKING wired into the server: invalidations as RESP3 pushes and as `__redis__:invalidate`
//! messages through REDIRECT, BCAST prefixes, NOLOOP, OPTIN, flushes; compared byte for byte with a real
//! redis-server running the same sequence, and redis-py's client-side cache against Zedis.

mod common;

use common::reference::RedisProcess;
use common::Server;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A raw connection.
struct Conn(TcpStream);

impl Conn {
    fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Conn(stream)
    }

    /// Sends one command (inline) and reads until `until` ends what arrived.
    fn call(&mut self, command: &str, until: &str) -> String {
        self.0
            .write_all(format!("{command}\r\n").as_bytes())
            .unwrap();
        self.read_until(until)
    }

    fn read_until(&mut self, until: &str) -> String {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.ends_with(until.as_bytes()) {
            match self.0.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&got).into_owned()
    }

    /// Everything that arrives before the reply to a PING (the sync point), without that reply.
    fn drain(&mut self) -> String {
        let text = self.call("PING", "+PONG\r\n");
        text.strip_suffix("+PONG\r\n").unwrap_or(&text).to_string()
    }

    /// CLIENT ID.
    fn id(&mut self) -> String {
        let reply = self.call("CLIENT ID", "\r\n");
        reply.trim_start_matches(':').trim_end().to_string()
    }
}

/// What the tracking clients of each scenario receive on the server at `port`.
fn scenarios(port: u16) -> Vec<(&'static str, String)> {
    let mut seen = Vec::new();
    let mut writer = Conn::open(port);
    writer.call("FLUSHALL", "+OK\r\n");

    // Default mode, RESP3: read keys are invalidated once when another client writes them.
    let mut c = Conn::open(port);
    c.call("HELLO 3", "*0\r\n");
    c.drain();
    c.call("CLIENT TRACKING on", "+OK\r\n");
    c.call("MGET a b", "\r\n");
    c.drain();
    writer.call("SET a 1", "+OK\r\n");
    writer.call("MSET b 2 c 3", "+OK\r\n");
    writer.call("SET a 2", "+OK\r\n");
    seen.push(("default", c.drain()));
    // The writer's own reads, in its own MULTI: the invalidation follows EXEC's reply.
    c.call("GET a", "\r\n");
    c.0.write_all(b"MULTI\r\nSET a 3\r\nEXEC\r\n").unwrap();
    seen.push(("self write in EXEC", c.drain()));
    // A script that reads makes its caller track the keys the script declared (not the ones it read).
    c.call("EVAL \"return redis.call('get','zz')\" 2 s1 s2", "\r\n");
    c.call("EVAL \"return redis.call('set','s3','x')\" 1 s3", "+OK\r\n");
    c.drain();
    writer.call("MSET s1 1 s2 2 s3 3 zz 4", "+OK\r\n");
    seen.push(("script keys", c.drain()));
    // FLUSHALL: a null invalidation.
    writer.call("FLUSHALL", "+OK\r\n");
    seen.push(("flush", c.drain()));
    seen.push(("trackinginfo", c.call("CLIENT TRACKINGINFO", "*0\r\n")));

    // NOLOOP: no message for keys the client changed itself.
    let mut n = Conn::open(port);
    n.call("HELLO 3", "*0\r\n");
    n.drain();
    n.call("CLIENT TRACKING on NOLOOP", "+OK\r\n");
    n.call("GET x", "\r\n");
    n.call("GET y", "\r\n");
    n.call("SET x 1", "+OK\r\n");
    writer.call("SET y 1", "+OK\r\n");
    seen.push(("noloop", n.drain()));

    // RESP2 REDIRECT to a client subscribed to __redis__:invalidate.
    let mut sub = Conn::open(port);
    let sub_id = sub.id();
    sub.call("SUBSCRIBE __redis__:invalidate", "\r\n:1\r\n");
    let mut r = Conn::open(port);
    r.call(&format!("CLIENT TRACKING on REDIRECT {sub_id}"), "+OK\r\n");
    seen.push((
        "getredir",
        r.call("CLIENT GETREDIR", "\r\n").replace(&sub_id, "ID"),
    ));
    r.call("GET r1", "\r\n");
    writer.call("SET r1 x", "+OK\r\n");
    sub.0.write_all(b"PING\r\n").unwrap();
    seen.push(("redirect", sub.read_until("*2\r\n$4\r\npong\r\n$0\r\n\r\n")));

    // BCAST with prefixes: every change under a prefix, batched per event loop turn.
    let mut b = Conn::open(port);
    b.call("HELLO 3", "*0\r\n");
    b.drain();
    b.call(
        "CLIENT TRACKING on BCAST PREFIX user: PREFIX job:",
        "+OK\r\n",
    );
    writer.call("SET user:1 a", "+OK\r\n");
    writer.call("SET other b", "+OK\r\n");
    writer.call("SET job:9 c", "+OK\r\n");
    seen.push(("bcast", b.drain()));

    // OPTIN: only reads right after CLIENT CACHING yes are tracked.
    let mut o = Conn::open(port);
    o.call("HELLO 3", "*0\r\n");
    o.drain();
    o.call("CLIENT TRACKING on OPTIN", "+OK\r\n");
    o.call("GET o1", "\r\n");
    o.call("CLIENT CACHING yes", "+OK\r\n");
    o.call("GET o2", "\r\n");
    writer.call("MSET o1 1 o2 2", "+OK\r\n");
    seen.push(("optin", o.drain()));
    seen.push((
        "errors",
        [
            "CLIENT TRACKING on BCAST OPTIN",
            "CLIENT TRACKING on PREFIX a",
            "CLIENT CACHING maybe",
            "CLIENT TRACKING on REDIRECT 999999",
        ]
        .iter()
        .map(|cmd| writer.call(cmd, "\r\n"))
        .collect(),
    ));
    seen
}

#[test]
fn invalidations_match_redis() {
    let server = Server::start(&[]);
    let ours = scenarios(server.port);
    assert!(
        ours[0]
            .1
            .contains(">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\na\r\n"),
        "{ours:?}"
    );
    let script = &ours
        .iter()
        .find(|(name, _)| *name == "script keys")
        .unwrap()
        .1;
    assert!(
        script.contains("$2\r\ns1\r\n")
            && script.contains("$2\r\ns2\r\n")
            && !script.contains("zz"),
        "{script:?}"
    );
    let Some(redis) = RedisProcess::start(&[]) else {
        eprintln!("redis-server not available: compared with nothing");
        return;
    };
    let theirs = scenarios(redis.port);
    for (ours, theirs) in ours.iter().zip(&theirs) {
        assert_eq!(ours, theirs);
    }
}

#[test]
fn info_counts_tracking_clients_and_keys() {
    let server = Server::start(&[]);
    let mut c = Conn::open(server.port);
    c.call("CLIENT TRACKING on", "+OK\r\n");
    c.call("MGET k1 k2 k3", "\r\n");
    let mut other = server.conn();
    let clients: String = redis::cmd("INFO").arg("clients").query(&mut other).unwrap();
    assert!(clients.contains("tracking_clients:1\r\n"), "{clients}");
    let stats: String = redis::cmd("INFO").arg("stats").query(&mut other).unwrap();
    assert!(stats.contains("tracking_total_keys:3\r\n"), "{stats}");
    assert!(stats.contains("tracking_total_items:3\r\n"), "{stats}");
    // The table is bounded: lowering tracking-table-max-keys evicts (and invalidates) keys.
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("tracking-table-max-keys")
        .arg("1")
        .query::<()>(&mut other)
        .unwrap();
    let _: () = redis::cmd("PING").query(&mut other).unwrap();
    let stats: String = redis::cmd("INFO").arg("stats").query(&mut other).unwrap();
    assert!(stats.contains("tracking_total_keys:1\r\n"), "{stats}");
    // A client that disconnects stops tracking.
    drop(c);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let clients: String = redis::cmd("INFO").arg("clients").query(&mut other).unwrap();
        if clients.contains("tracking_clients:0\r\n") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{clients}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// redis-py's tracking helpers: `client_tracking_on(clientid=...)` redirecting to a `pubsub()` connection
/// subscribed to `__redis__:invalidate` (RESP2), as a client-side cache without RESP3 does it. (redis-py's
/// own `cache_config` cache refuses any server older than Redis 7.4, whatever it supports.)
#[test]
fn redis_py_tracking_with_redirect() {
    let Ok(python) = std::env::var("ZEDIS_PYTHON") else {
        eprintln!("ZEDIS_PYTHON not set: skipped");
        return;
    };
    let server = Server::start(&[]);
    let script = r#"
import sys, time, redis
port = int(sys.argv[1])
r = redis.Redis(port=port, protocol=2)
ps = r.pubsub()
ps.subscribe("__redis__:invalidate")
assert ps.get_message(timeout=20)["type"] == "subscribe"
sub_id = [c for c in r.client_list() if c["cmd"] == "subscribe"][0]["id"]
tracked = redis.Redis(port=port, protocol=2, single_connection_client=True)
assert tracked.client_tracking_on(clientid=int(sub_id))
assert tracked.client_getredir() == int(sub_id)
r.set("k", "v1")
assert tracked.get("k") == b"v1"
r.set("k", "v2")
deadline = time.time() + 20
msg = None
while msg is None and time.time() < deadline:
    msg = ps.get_message(timeout=1)
assert msg["channel"] == b"__redis__:invalidate", msg
assert msg["data"] == [b"k"], msg
print("ok")
"#;
    let output = std::process::Command::new(python)
        .args(["-c", script, &server.port.to_string()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("ok"),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// CLIENT LIST / CLIENT INFO show tracking (`t`, `B`, `redir=`) and MONITOR (`O`) as Redis does.
#[test]
fn client_list_shows_tracking_and_monitor_flags() {
    let server = Server::start(&[]);
    let check = |port: u16| {
        let mut monitor = Conn::open(port);
        monitor.call("MONITOR", "+OK\r\n");
        let mut c = Conn::open(port);
        c.call("CLIENT TRACKING on BCAST", "+OK\r\n");
        let info = c.call("CLIENT INFO", "\n\r\n");
        assert!(info.contains(" flags=tB "), "{info}");
        assert!(info.contains(" redir=0 "), "{info}");
        let mut plain = Conn::open(port);
        let info = plain.call("CLIENT INFO", "\n\r\n");
        assert!(
            info.contains(" flags=N ") && info.contains(" redir=-1 "),
            "{info}"
        );
        let list = plain.call("CLIENT LIST", "\n\r\n");
        assert!(list.contains(" flags=O "), "{list}");
    };
    check(server.port);
    if let Some(redis) = RedisProcess::start(&[]) {
        check(redis.port);
    }
}
