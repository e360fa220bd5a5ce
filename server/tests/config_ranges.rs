//! CONFIG SET value checks, hidden directives and all-or-nothing CONFIG SET, each compared with a real
//! redis-server 7.0 where Redis has the directive.

mod common;

use common::side_by_side::Pair;
use common::{cmd, Server};
use redis::Value;

/// The reply to a command as text: `OK`, the error as Redis sent it, or the value.
fn answer(conn: &mut redis::Connection, args: &[&str]) -> String {
    match cmd(conn, args) {
        Ok(Value::Okay) => "OK".to_string(),
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("{} {}", e.code().unwrap_or(""), e.detail().unwrap_or("")),
    }
}

fn get(conn: &mut redis::Connection, name: &str) -> Option<String> {
    let pairs: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg(name)
        .query(conn)
        .unwrap();
    pairs.get(1).cloned()
}

/// Out-of-range, unparsable and edge values for numeric directives: the same reply and the same value after.
#[test]
fn numeric_ranges_match_redis() {
    let Some((_pair, mut r, mut z)) = Pair::connected(&[]) else {
        return;
    };
    let cases: &[(&str, &[&str])] = &[
        ("hz", &["-5", "0", "501", "2147483648", "abc", "10"]),
        ("maxmemory-samples", &["0", "-1", "1k", "5"]),
        (
            "proto-max-bulk-len",
            &[
                "10",
                "1mb",
                "1048575",
                "-1",
                "99999999999999999999",
                "512mb",
            ],
        ),
        (
            "client-query-buffer-limit",
            &["1kb", "1048576", "-5", "1gb"],
        ),
        ("repl-backlog-size", &["0", "1", "1k", "20000", "1mb"]),
        ("maxmemory", &["-1", "1x", "99999999999999999999", "0"]),
        ("slowlog-max-len", &["-1", "9223372036854775808", "128"]),
        ("slowlog-log-slower-than", &["-2", "-1", "10000"]),
        ("maxmemory-eviction-tenacity", &["101", "-1", "10"]),
        ("hll-sparse-max-bytes", &["-1", "1k", "3000"]),
        ("stream-node-max-entries", &["-1", "100"]),
        (
            "zset-max-listpack-value",
            &["-1", "9223372036854775808", "64"],
        ),
        ("lfu-decay-time", &["-1", "1"]),
        ("tracking-table-max-keys", &["-1", "1000000"]),
        ("latency-monitor-threshold", &["-1", "0"]),
        ("auto-aof-rewrite-min-size", &["-1", "64mb"]),
        ("cluster-link-sendbuf-limit", &["-1", "0"]),
        ("key-load-delay", &["-2147483649", "-2147483648", "0"]),
        (
            "loading-process-events-interval-bytes",
            &["1023", "2097152"],
        ),
        ("watchdog-period", &["-1", "0"]),
    ];
    for (name, values) in cases {
        for value in *values {
            let args = ["CONFIG", "SET", name, value];
            assert_eq!(answer(&mut z, &args), answer(&mut r, &args), "{args:?}");
            assert_eq!(get(&mut z, name), get(&mut r, name), "{args:?}");
        }
    }
}

/// Several pairs are all applied or none: a bad value anywhere leaves every other directive as it was.
#[test]
fn config_set_is_all_or_nothing() {
    let Some((_pair, mut r, mut z)) = Pair::connected(&[]) else {
        return;
    };
    for conn in [&mut z, &mut r] {
        for args in [
            &["CONFIG", "SET", "maxmemory", "10mb", "hz", "-5"][..],
            &["CONFIG", "SET", "hz", "20", "maxmemory-clients", "bad"],
            &[
                "CONFIG",
                "SET",
                "slowlog-max-len",
                "7",
                "proto-max-bulk-len",
                "10",
            ],
            &["CONFIG", "SET", "hz", "30", "databases", "4"],
            &["CONFIG", "SET", "hz", "30", "hz", "31"],
        ] {
            assert!(answer(conn, args).starts_with("ERR "), "{args:?}");
        }
        assert_eq!(get(conn, "maxmemory").as_deref(), Some("0"));
        assert_eq!(get(conn, "hz").as_deref(), Some("10"));
        assert_eq!(get(conn, "slowlog-max-len").as_deref(), Some("128"));
        let args = ["CONFIG", "SET", "hz", "20", "maxmemory", "5mb"];
        assert_eq!(answer(conn, &args), "OK");
        assert_eq!(get(conn, "hz").as_deref(), Some("20"));
        assert_eq!(get(conn, "maxmemory").as_deref(), Some("5242880"));
    }
    for args in [
        &["CONFIG", "SET", "maxmemory", "10mb", "hz", "-5"][..],
        &["CONFIG", "SET", "hz", "30", "databases", "4"],
        &["CONFIG", "SET", "hz", "30", "hz", "31"],
        &["CONFIG", "SET", "hz", "30", "nosuch", "1"],
    ] {
        assert_eq!(answer(&mut z, args), answer(&mut r, args), "{args:?}");
    }
}

/// Hidden directives answer only when named exactly, a glob never lists them; every directive `CONFIG GET *`
/// lists can be set to its own value (Redis's "CONFIG sanity"), Zedis's start-up-only ones included.
#[test]
fn hidden_directives_and_config_sanity() {
    let server = Server::start(&[]);
    let mut z = server.conn();
    for hidden in [
        "key-load-delay",
        "rdb-key-save-delay",
        "loading-process-events-interval-bytes",
        "watchdog-period",
        "use-exit-on-panic",
        "allocator",
    ] {
        assert!(get(&mut z, hidden).is_some(), "{hidden}");
    }
    let all: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("*")
        .query(&mut z)
        .unwrap();
    let names: Vec<&str> = all.iter().step_by(2).map(String::as_str).collect();
    for hidden in ["key-load-delay", "rdb-key-save-delay", "watchdog-period"] {
        assert!(!names.contains(&hidden), "{hidden} listed by *");
    }
    // Zedis's start-up-only directives are listed; their own value is a no-op, another is refused.
    assert!(names.contains(&"kv-allocator"));
    let current = get(&mut z, "kv-allocator").unwrap();
    assert_eq!(
        answer(&mut z, &["CONFIG", "SET", "kv-allocator", &current]),
        "OK"
    );
    let other = if current == "pool" { "system" } else { "pool" };
    assert_eq!(
        answer(&mut z, &["CONFIG", "SET", "kv-allocator", other]),
        "ERR CONFIG SET failed (possibly related to argument 'kv-allocator') - can't set immutable config"
    );
    // Redis's own skip list: immutable or environment-bound directives.
    let skip = [
        "rdbchecksum",
        "daemonize",
        "tcp-backlog",
        "always-show-logo",
        "syslog-enabled",
        "cluster-enabled",
        "aclfile",
        "unixsocket",
        "pidfile",
        "syslog-ident",
        "appendfilename",
        "appenddirname",
        "supervised",
        "syslog-facility",
        "databases",
        "logfile",
        "unixsocketperm",
        "replicaof",
        "slaveof",
        "requirepass",
        "set-proc-title",
        "cluster-config-file",
        "cluster-port",
        "enable-debug-command",
        "dbfilename",
        "dir",
        "tls-port",
        "tls-prefer-server-ciphers",
        "tls-session-cache-timeout",
        "tls-session-cache-size",
        "tls-session-caching",
        "tls-cert-file",
        "tls-key-file",
        "tls-client-cert-file",
        "tls-client-key-file",
        "tls-dh-params-file",
        "tls-ca-cert-file",
        "tls-ca-cert-dir",
        "tls-protocols",
        "tls-ciphers",
        "tls-ciphersuites",
    ];
    for pair in all.chunks(2) {
        let (name, value) = (pair[0].as_str(), pair[1].as_str());
        if skip.contains(&name) {
            continue;
        }
        assert_eq!(
            answer(&mut z, &["CONFIG", "SET", name, value]),
            "OK",
            "{name}"
        );
        assert_eq!(get(&mut z, name).as_deref(), Some(value), "{name}");
    }
}
