//! CLIENT LIST / CLIENT INFO fields as Redis 7.0 prints them (names and order compared with a real
//! redis-server), their values for pub/sub, MULTI, NO-EVICT and idle clients, and COMMAND INFO's
//! `no_async_loading` and `asking` flags.

mod common;

use common::side_by_side::{same_reply, Pair};
use common::{cmd, Server};
use std::time::{Duration, Instant};

/// `name=value` pairs of one line.
fn fields(line: &str) -> Vec<(String, String)> {
    line.trim_end()
        .split(' ')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn field(line: &str, name: &str) -> String {
    fields(line)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {name} in {line}"))
}

/// The CLIENT LIST line of the client named `name`.
fn line_of(admin: &mut redis::Connection, name: &str) -> String {
    let list: String = redis::cmd("CLIENT").arg("LIST").query(admin).unwrap();
    list.lines()
        .find(|l| l.contains(&format!(" name={name} ")))
        .unwrap_or_else(|| panic!("{name} not in {list}"))
        .to_string()
}

#[test]
fn field_names_and_order_match_redis() {
    let Some((_pair, mut r, mut z)) = Pair::connected(&[]) else {
        return;
    };
    let zi: String = redis::cmd("CLIENT").arg("INFO").query(&mut z).unwrap();
    let ri: String = redis::cmd("CLIENT").arg("INFO").query(&mut r).unwrap();
    let names = |l: &str| fields(l).into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    assert_eq!(names(&zi), names(&ri));
    // The running command is still in the query buffer, as in Redis; nothing is queued for output.
    for (k, v) in [
        ("flags", "N"),
        ("multi", "-1"),
        ("obl", "0"),
        ("oll", "0"),
        ("omem", "0"),
        ("events", "r"),
        ("cmd", "client|info"),
        ("redir", "-1"),
        ("resp", "2"),
    ] {
        assert_eq!(field(&zi, k), v, "{zi}");
        assert_eq!(field(&ri, k), v, "{ri}");
    }
}

#[test]
fn pubsub_multi_and_no_evict_clients_are_shown_as_redis() {
    let server = Server::start(&[]);
    let mut admin = server.conn();

    let mut raw = server.raw();
    raw.roundtrip("CLIENT SETNAME subscriber\r\n", "+OK\r\n");
    raw.send(b"SUBSCRIBE a\r\nPSUBSCRIBE p* q*\r\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let line = line_of(&mut admin, "subscriber");
        if field(&line, "psub") == "2" {
            assert_eq!(field(&line, "sub"), "1", "{line}");
            assert_eq!(field(&line, "flags"), "P", "{line}");
            break;
        }
        assert!(Instant::now() < deadline, "{line}");
        std::thread::sleep(Duration::from_millis(20));
    }

    let mut tx = server.conn();
    cmd(&mut tx, &["CLIENT", "SETNAME", "tx"]).unwrap();
    cmd(&mut tx, &["MULTI"]).unwrap();
    cmd(&mut tx, &["SET", "k", "v"]).unwrap();
    cmd(&mut tx, &["INCR", "n"]).unwrap();
    let line = line_of(&mut admin, "tx");
    assert_eq!(field(&line, "flags"), "x", "{line}");
    assert_eq!(field(&line, "multi"), "2", "{line}");
    assert_ne!(field(&line, "multi-mem"), "0", "{line}");
    cmd(&mut tx, &["EXEC"]).unwrap();
    let line = line_of(&mut admin, "tx");
    assert_eq!(field(&line, "multi"), "-1", "{line}");
    assert_eq!(field(&line, "multi-mem"), "0", "{line}");
    assert_eq!(field(&line, "cmd"), "exec", "{line}");

    let mut protected = server.conn();
    cmd(&mut protected, &["CLIENT", "SETNAME", "protected"]).unwrap();
    cmd(&mut protected, &["CLIENT", "NO-EVICT", "on"]).unwrap();
    let line = line_of(&mut admin, "protected");
    assert_eq!(field(&line, "flags"), "e", "{line}");
    cmd(&mut protected, &["CLIENT", "NO-EVICT", "off"]).unwrap();
    let line = line_of(&mut admin, "protected");
    assert_eq!(field(&line, "flags"), "N", "{line}");
}

/// A connection that has sent nothing shows `cmd=NULL`, as Redis.
#[test]
fn a_silent_client_has_no_last_command() {
    let server = Server::start(&[]);
    let mut admin = server.conn();
    let _silent = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut admin).unwrap();
        if let Some(line) = list.lines().find(|l| l.contains(" cmd=NULL ")) {
            assert_eq!(field(line, "qbuf"), "0", "{line}");
            break;
        }
        assert!(Instant::now() < deadline, "{list}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn command_info_flags_match_redis() {
    let Some((_pair, mut r, mut z)) = Pair::connected(&[]) else {
        return;
    };
    for name in [
        "bgsave",
        "save",
        "replicaof",
        "psync",
        "restore-asking",
        "cluster|setslot",
        "cluster|meet",
        "client|unblock",
    ] {
        same_reply(&mut r, &mut z, &["COMMAND", "INFO", name]);
        same_reply(&mut r, &mut z, &["COMMAND", "DOCS", name]);
    }
}

/// COMMAND GETKEYS / GETKEYSANDFLAGS corner cases, compared with redis-server: MIGRATE's KEYS form falls back
/// to Redis's own key procedure (its key spec is incomplete), SORT's STORE, key-count commands.
#[test]
fn getkeys_corner_cases_match_redis() {
    let Some((_pair, mut r, mut z)) = Pair::connected(&[]) else {
        return;
    };
    let cases: &[&[&str]] = &[
        &["GETKEYSANDFLAGS", "migrate", "h", "1", "k", "0", "5"],
        &[
            "GETKEYSANDFLAGS",
            "migrate",
            "h",
            "1",
            "",
            "0",
            "5",
            "copy",
            "keys",
            "a",
            "b",
        ],
        &[
            "GETKEYSANDFLAGS",
            "migrate",
            "h",
            "1",
            "",
            "0",
            "5",
            "auth2",
            "u",
            "p",
            "keys",
            "a",
        ],
        &[
            "GETKEYSANDFLAGS",
            "migrate",
            "h",
            "1",
            "",
            "0",
            "5",
            "auth",
            "keys",
            "keys",
            "a",
        ],
        &[
            "GETKEYSANDFLAGS",
            "migrate",
            "h",
            "1",
            "x",
            "0",
            "5",
            "keys",
            "a",
        ],
        &[
            "GETKEYS", "migrate", "h", "1", "", "0", "5", "replace", "keys", "a", "b", "c",
        ],
        &[
            "GETKEYSANDFLAGS",
            "sort",
            "k",
            "by",
            "x",
            "get",
            "y",
            "store",
            "d",
        ],
        &["GETKEYSANDFLAGS", "set", "k", "v", "get"],
        &["GETKEYSANDFLAGS", "lmpop", "2", "a", "b", "left"],
        &[
            "GETKEYSANDFLAGS",
            "zunionstore",
            "d",
            "2",
            "a",
            "b",
            "weights",
            "1",
            "2",
        ],
        &["GETKEYS", "eval", "return 1", "0"],
        &["GETKEYS", "ping"],
        &["GETKEYS", "set"],
        &["GETKEYS", "nosuch", "a"],
    ];
    for case in cases {
        let mut args = vec!["COMMAND"];
        args.extend_from_slice(case);
        same_reply(&mut r, &mut z, &args);
    }
}

/// INFO's server, clients and cpu sections carry Redis 7.0's fields in its order (Zedis adds
/// `zedis_version`), and the default INFO includes the errorstats section as Redis's does.
#[test]
fn info_fields_match_redis() {
    let Some((_pair, mut r, mut z)) = Pair::connected(&[]) else {
        return;
    };
    let names = |conn: &mut redis::Connection, section: &str| -> Vec<String> {
        let text: String = redis::cmd("INFO").arg(section).query(conn).unwrap();
        text.lines()
            .filter_map(|l| l.split_once(':').map(|(k, _)| k.to_string()))
            .filter(|k| k != "zedis_version")
            .collect()
    };
    for section in ["server", "clients", "cpu"] {
        assert_eq!(names(&mut z, section), names(&mut r, section), "{section}");
    }
    let headers = |conn: &mut redis::Connection| -> Vec<String> {
        let text: String = redis::cmd("INFO").query(conn).unwrap();
        text.lines()
            .filter(|l| l.starts_with('#') && *l != "# Allocator")
            .map(str::to_string)
            .collect()
    };
    assert_eq!(headers(&mut z), headers(&mut r));
}
