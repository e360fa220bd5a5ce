//! Fixes for tests of Redis 7.0.15's own TCL suite, each checked side by side with a real `redis-server`:
//! lookups that leave a key's access clock alone (unit/introspection-2), and SORT BY a constant from a script
//! (unit/scripting).

mod common;

use common::connect;
use common::side_by_side::Servers;
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
    let servers = Servers::start(&[]);
    let mut conns: Vec<_> = servers
        .ports()
        .into_iter()
        .map(|(name, port)| (name, connect(port)))
        .collect();
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
    let servers = Servers::start(&[]);
    let mut seen = Vec::new();
    for (_, port) in servers.ports() {
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

/// The reply of `script` (EVAL with `key`), as a flat list of optional strings.
fn eval_strings(conn: &mut redis::Connection, script: &str, key: &str) -> Vec<Option<String>> {
    redis::cmd("EVAL")
        .arg(script)
        .arg(1)
        .arg(key)
        .query(conn)
        .unwrap()
}

/// SORT BY a constant from a script orders a set as ALPHA (with or without GET), as Redis does for
/// `CLIENT_SCRIPT` callers; lists and sorted sets keep their order.
#[test]
fn sort_by_constant_from_script_is_ordered() {
    let servers = Servers::start(&[]);
    let members = "p g b z r d a e c q l o n h m s f t v i aa aaa u azz";
    let mut sorted: Vec<&str> = members.split(' ').collect();
    sorted.sort_unstable();
    let sorted: Vec<Option<String>> = sorted.iter().map(|m| Some(m.to_string())).collect();
    let mut replies = Vec::new();
    for (_, port) in servers.ports() {
        let mut conn = connect(port);
        let _: () = redis::cmd("FLUSHALL").query(&mut conn).unwrap();
        let _: i64 = redis::cmd("SADD")
            .arg("myset")
            .arg(members.split(' ').collect::<Vec<_>>())
            .query(&mut conn)
            .unwrap();
        let by = eval_strings(
            &mut conn,
            "return redis.call('sort',KEYS[1],'by','_')",
            "myset",
        );
        assert_eq!(by, sorted, "port {port}");
        let _: () = redis::cmd("DEL").arg("myset").query(&mut conn).unwrap();
        let _: i64 = redis::cmd("SADD")
            .arg("myset")
            .arg(&["a", "b", "c"])
            .query(&mut conn)
            .unwrap();
        let get = eval_strings(
            &mut conn,
            "return redis.call('sort',KEYS[1],'by','_','get','#','get','_:*')",
            "myset",
        );
        let want: Vec<Option<String>> = ["a", "b", "c"]
            .iter()
            .flat_map(|m| [Some(m.to_string()), None])
            .collect();
        assert_eq!(get, want, "port {port}");
        // A list keeps its own order (and DESC reverses it), in a script too.
        let _: i64 = redis::cmd("RPUSH")
            .arg("mylist")
            .arg(&["c", "a", "b"])
            .query(&mut conn)
            .unwrap();
        let list = eval_strings(
            &mut conn,
            "return redis.call('sort',KEYS[1],'by','nosort')",
            "mylist",
        );
        let zset_script = "redis.call('zadd',KEYS[1],1,'z',2,'a',3,'m') \
                           return redis.call('sort',KEYS[1],'by','nosort','desc')";
        let zset = eval_strings(&mut conn, zset_script, "myzset");
        replies.push((list, zset));
    }
    let want = |v: &[&str]| v.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>();
    assert_eq!(replies[0], (want(&["c", "a", "b"]), want(&["m", "a", "z"])));
    if replies.len() > 1 {
        assert_eq!(replies[0], replies[1]);
    }
}

/// INFO stats' `expired_keys`.
fn expired_keys(conn: &mut redis::Connection) -> i64 {
    let info: String = redis::cmd("INFO").arg("stats").query(conn).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("expired_keys:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// While CLIENT PAUSE WRITE is in force neither the active cycle nor reads delete expired keys (reads see
/// them missing); after CLIENT UNPAUSE a read deletes them. The same as a real redis-server.
#[test]
fn pause_keeps_expired_keys() {
    let servers = Servers::start(&[]);
    for (_, port) in servers.ports() {
        let mut conn = connect(port);
        let before = expired_keys(&mut conn);
        let _: () = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg("foo{t}")
            .arg("bar")
            .arg("PX")
            .arg(10)
            .ignore()
            .cmd("SET")
            .arg("bar{t}")
            .arg("foo")
            .arg("PX")
            .arg(10)
            .ignore()
            .cmd("CLIENT")
            .arg("PAUSE")
            .arg(50_000)
            .arg("WRITE")
            .ignore()
            .query(&mut conn)
            .unwrap();
        // Many active expire cycles (10 a second) and reads go by.
        for _ in 0..15 {
            std::thread::sleep(Duration::from_millis(100));
            let got: (Option<String>, Option<String>, i64, i64) = redis::pipe()
                .cmd("GET")
                .arg("foo{t}")
                .cmd("GET")
                .arg("bar{t}")
                .cmd("EXISTS")
                .arg("foo{t}")
                .cmd("TTL")
                .arg("bar{t}")
                .query(&mut conn)
                .unwrap();
            assert_eq!(got, (None, None, 0, -2), "port {port}");
        }
        assert_eq!(
            expired_keys(&mut conn),
            before,
            "port {port}: deleted during the pause"
        );
        let _: () = redis::cmd("CLIENT")
            .arg("UNPAUSE")
            .query(&mut conn)
            .unwrap();
        let _: Option<String> = redis::cmd("GET").arg("foo{t}").query(&mut conn).unwrap();
        let _: Option<String> = redis::cmd("GET").arg("bar{t}").query(&mut conn).unwrap();
        assert_eq!(expired_keys(&mut conn), before + 2, "port {port}");
    }
}

/// INFO clients' `blocked_clients`.
fn blocked_clients(conn: &mut redis::Connection) -> i64 {
    let info: String = redis::cmd("INFO").arg("clients").query(conn).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// A raw socket to 127.0.0.1:`port` (10 s read timeout).
fn raw(port: u16) -> common::Raw {
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    common::Raw { stream }
}

/// Waits (wide margin) until `blocked_clients` is `want`.
fn wait_blocked(conn: &mut redis::Connection, want: i64) -> bool {
    for _ in 0..100 {
        if blocked_clients(conn) == want {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Under CLIENT PAUSE WRITE, EVAL without a shebang (may replicate) and with a shebang but no `no-writes`
/// (writes) wait, directly or queued in MULTI; `no-writes` scripts and functions and EVAL_RO run. The same as
/// a real redis-server.
#[test]
fn pause_write_holds_scripts_that_may_write() {
    let servers = Servers::start(&[]);
    for (_, port) in servers.ports() {
        let mut admin = connect(port);
        let _: () = redis::cmd("FUNCTION")
            .arg("FLUSH")
            .query(&mut admin)
            .unwrap();
        let lib = "#!lua name=tclfix\nredis.register_function{function_name='ro', \
                   callback=function() return 'hello' end, flags={'no-writes'}}";
        let _: String = redis::cmd("FUNCTION")
            .arg("LOAD")
            .arg(lib)
            .query(&mut admin)
            .unwrap();
        let _: () = redis::cmd("CLIENT")
            .arg("PAUSE")
            .arg(60_000)
            .arg("WRITE")
            .query(&mut admin)
            .unwrap();
        // Not held.
        let mut rr = connect(port);
        let ro: String = redis::cmd("EVAL")
            .arg("#!lua flags=no-writes\nreturn 'a'")
            .arg(0)
            .query(&mut rr)
            .unwrap();
        let ro2: String = redis::cmd("EVAL_RO")
            .arg("return 'b'")
            .arg(0)
            .query(&mut rr)
            .unwrap();
        let f: String = redis::cmd("FCALL").arg("ro").arg(0).query(&mut rr).unwrap();
        assert_eq!(
            (ro.as_str(), ro2.as_str(), f.as_str()),
            ("a", "b", "hello"),
            "port {port}"
        );
        // Held: a plain EVAL, a shebang EVAL without flags, and a MULTI with a shebang EVAL.
        let mut plain = raw(port);
        plain.send(b"*3\r\n$4\r\nEVAL\r\n$8\r\nreturn 1\r\n$1\r\n0\r\n");
        let mut bang = raw(port);
        bang.send(b"*3\r\n$4\r\nEVAL\r\n$14\r\n#!lua\nreturn 2\r\n$1\r\n0\r\n");
        let mut multi = raw(port);
        multi.send(b"*1\r\n$5\r\nMULTI\r\n*3\r\n$4\r\nEVAL\r\n$15\r\n#!lua\nreturn 12\r\n$1\r\n0\r\n*1\r\n$4\r\nEXEC\r\n");
        assert!(
            wait_blocked(&mut admin, 3),
            "port {port}: scripts were not held"
        );
        let _: () = redis::cmd("CLIENT")
            .arg("UNPAUSE")
            .query(&mut admin)
            .unwrap();
        plain.expect(":1\r\n");
        bang.expect(":2\r\n");
        multi.expect("+OK\r\n+QUEUED\r\n*1\r\n:12\r\n");
        assert!(wait_blocked(&mut admin, 0), "port {port}");
    }
}
