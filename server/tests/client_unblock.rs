//! CLIENT UNBLOCK (TIMEOUT and ERROR) for every blocking command and WAIT, its argument errors (compared with
//! a real redis-server), the statistics it leaves, and INFO's `blocked_clients` counting every kind of wait.

mod common;

use common::reference::RedisProcess;
use common::{cmd, err, Server};
use redis::Value;
use std::time::{Duration, Instant};

/// Waits (wide margin) until INFO clients reports `n` blocked clients.
fn wait_blocked(conn: &mut redis::Connection, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info: String = redis::cmd("INFO").arg("clients").query(conn).unwrap();
        if info.contains(&format!("blocked_clients:{n}\r\n")) {
            return;
        }
        assert!(Instant::now() < deadline, "never {n} blocked: {info}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn client_id(conn: &mut redis::Connection) -> i64 {
    redis::cmd("CLIENT").arg("ID").query(conn).unwrap()
}

/// CLIENT ID over a raw connection.
fn raw_id(raw: &mut common::Raw) -> String {
    raw.send(b"CLIENT ID\r\n");
    let mut line = String::new();
    while !line.ends_with("\r\n") {
        line.push_str(&raw.read_exact_len(1));
    }
    line.trim_start_matches(':').trim_end().to_string()
}

/// CLIENT UNBLOCK `id` [`reason`].
fn unblock(conn: &mut redis::Connection, id: &str, reason: Option<&str>) -> i64 {
    let mut c = redis::cmd("CLIENT");
    c.arg("UNBLOCK").arg(id);
    if let Some(reason) = reason {
        c.arg(reason);
    }
    c.query(conn).unwrap()
}

/// Each blocking command with the raw reply a timeout gives.
const BLOCKING: &[(&str, &str)] = &[
    ("BLPOP l 0", "*-1\r\n"),
    ("BRPOP l 0", "*-1\r\n"),
    ("BLMOVE l dst LEFT RIGHT 0", "*-1\r\n"),
    ("BRPOPLPUSH l dst 0", "*-1\r\n"),
    ("BLMPOP 0 1 l LEFT", "*-1\r\n"),
    ("BZPOPMIN z 0", "*-1\r\n"),
    ("BZPOPMAX z 0", "*-1\r\n"),
    ("BZMPOP 0 1 z MIN", "*-1\r\n"),
    ("XREAD BLOCK 0 STREAMS s $", "*-1\r\n"),
    ("XREADGROUP GROUP g c BLOCK 0 STREAMS s >", "*-1\r\n"),
    ("WAIT 1 0", ":0\r\n"),
];

#[test]
fn unblock_ends_every_blocking_command_with_a_timeout_or_an_error() {
    let server = Server::start(&[]);
    let mut admin = server.conn();
    cmd(&mut admin, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]).unwrap();
    for (command, timeout_reply) in BLOCKING {
        for reason in [None, Some("TIMEOUT"), Some("error")] {
            let mut raw = server.raw();
            let id = raw_id(&mut raw);
            raw.send(format!("{command}\r\n").as_bytes());
            wait_blocked(&mut admin, 1);
            assert_eq!(unblock(&mut admin, &id, reason), 1, "{command} {reason:?}");
            if reason == Some("error") {
                raw.expect("-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
            } else {
                raw.expect(timeout_reply);
            }
            wait_blocked(&mut admin, 0);
            // The connection goes on: its next command is answered.
            raw.roundtrip("PING\r\n", "+PONG\r\n");
            // Unblocking it again finds nothing to do.
            assert_eq!(unblock(&mut admin, &id, None), 0, "{command} {reason:?}");
        }
    }
}

#[test]
fn unblocked_list_waiter_leaves_its_queue_and_blocks_again() {
    let server = Server::start(&[]);
    let mut admin = server.conn();
    let mut raw = server.raw();
    let id = raw_id(&mut raw);
    raw.send(b"BLPOP l 0\r\n");
    wait_blocked(&mut admin, 1);
    let line: String = redis::cmd("CLIENT")
        .arg("LIST")
        .arg("ID")
        .arg(&id)
        .query(&mut admin)
        .unwrap();
    assert!(line.contains(" flags=b "), "{line}");
    assert!(line.contains(" cmd=blpop "), "{line}");
    assert_eq!(unblock(&mut admin, &id, None), 1);
    raw.expect("*-1\r\n");
    // Its queue entry is gone: a push is not served to it, and blocking again works.
    cmd(&mut admin, &["RPUSH", "l", "a"]).unwrap();
    raw.roundtrip("LPOP l\r\n", "$1\r\na\r\n");
    raw.send(b"BLPOP l 0\r\n");
    wait_blocked(&mut admin, 1);
    cmd(&mut admin, &["RPUSH", "l", "b"]).unwrap();
    raw.expect("*2\r\n$1\r\nl\r\n$1\r\nb\r\n");
}

#[test]
fn unblock_error_counts_for_the_blocked_command() {
    let server = Server::start(&[]);
    let mut admin = server.conn();
    cmd(&mut admin, &["CONFIG", "RESETSTAT"]).unwrap();
    let mut raw = server.raw();
    let id = raw_id(&mut raw);
    raw.send(b"BLPOP list1 0\r\n");
    wait_blocked(&mut admin, 1);
    assert_eq!(unblock(&mut admin, &id, Some("error")), 1);
    raw.expect("-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    let errors: String = redis::cmd("INFO")
        .arg("errorstats")
        .query(&mut admin)
        .unwrap();
    assert!(
        errors.contains("errorstat_UNBLOCKED:count=1\r\n"),
        "{errors}"
    );
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut admin)
        .unwrap();
    let blpop = stats
        .lines()
        .find(|l| l.starts_with("cmdstat_blpop:"))
        .expect("blpop counted");
    assert!(blpop.starts_with("cmdstat_blpop:calls=1,"), "{blpop}");
    assert!(
        blpop.ends_with("rejected_calls=0,failed_calls=1"),
        "{blpop}"
    );
    let client = stats
        .lines()
        .find(|l| l.starts_with("cmdstat_client|unblock:"))
        .expect("client|unblock counted");
    assert!(client.ends_with("failed_calls=0"), "{client}");
    let total: String = redis::cmd("INFO").arg("stats").query(&mut admin).unwrap();
    assert!(total.contains("total_error_replies:1\r\n"), "{total}");
}

/// The argument errors, byte for byte as redis-server replies them.
#[test]
fn unblock_argument_errors_match_redis() {
    let Some(redis) = RedisProcess::start(&[]) else {
        eprintln!("redis-server not found: skipped");
        return;
    };
    let server = Server::start(&[]);
    let mut zedis = server.conn();
    let mut reference = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port))
        .unwrap()
        .get_connection()
        .unwrap();
    let me_z = client_id(&mut zedis).to_string();
    let me_r = client_id(&mut reference).to_string();
    for args in [
        vec!["CLIENT", "UNBLOCK", "asd"],
        vec!["CLIENT", "UNBLOCK", "1", "foo"],
        vec!["CLIENT", "UNBLOCK", "asd", "foo"],
        vec!["CLIENT", "UNBLOCK", "1", "timeout", "x"],
        vec!["CLIENT", "UNBLOCK"],
    ] {
        assert_eq!(
            err(&mut zedis, &args),
            err(&mut reference, &args),
            "{args:?}"
        );
    }
    for (conn, me) in [(&mut zedis, &me_z), (&mut reference, &me_r)] {
        for args in [
            vec!["CLIENT", "UNBLOCK", me.as_str()],
            vec!["CLIENT", "UNBLOCK", "999999", "ERROR"],
            vec!["CLIENT", "UNBLOCK", "-3", "timeout"],
        ] {
            assert_eq!(cmd(conn, &args).unwrap(), Value::Int(0), "{args:?}");
        }
    }
    let help_z = cmd(&mut zedis, &["CLIENT", "HELP"]).unwrap();
    let help_r = cmd(&mut reference, &["CLIENT", "HELP"]).unwrap();
    assert_eq!(help_z, help_r);
}

/// INFO `blocked_clients` counts clients held by CLIENT PAUSE and WAIT too, as Redis does, and CLIENT LIST
/// flags them `b`.
#[test]
fn blocked_clients_counts_paused_and_waiting_clients() {
    let server = Server::start(&[]);
    let mut admin = server.conn();
    cmd(&mut admin, &["CLIENT", "PAUSE", "60000", "WRITE"]).unwrap();
    let mut writer = server.raw();
    writer.send(b"SET foo bar\r\n");
    wait_blocked(&mut admin, 1);
    let mut reader = server.raw();
    reader.roundtrip("GET foo\r\n", "$-1\r\n");
    let mut waiter = server.raw();
    waiter.send(b"WAIT 1 0\r\n");
    wait_blocked(&mut admin, 2);
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut admin).unwrap();
    assert_eq!(
        list.lines().filter(|l| l.contains(" flags=b ")).count(),
        2,
        "{list}"
    );
    cmd(&mut admin, &["CLIENT", "UNPAUSE"]).unwrap();
    writer.expect("+OK\r\n");
    wait_blocked(&mut admin, 1);
}
