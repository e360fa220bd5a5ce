//! The LATENCY events of forks and AOF writes (Redis's `fork`, `aof-write`, `aof-write-alone`,
//! `aof-write-active-child`, `aof-write-pending-fsync`, `aof-fsync-always`) through the real binary. How long
//! a fork or a write takes is the machine's business, so nothing here asserts a duration: the tests check
//! what must hold whatever the durations are (the `fork` sample is INFO's `latest_fork_usec` in ms, present
//! exactly when it reaches the threshold; `aof-write` is recorded with every `aof-write-*` case and is at
//! least as long).

mod common;

use common::Server;
use std::time::Duration;
use zedis_resp::Frame;
use zedis_testkit::{wait_until, RespClient, TempDir};

fn info_field(c: &mut RespClient, section: &str, name: &str) -> i64 {
    let Frame::Bulk(info) = c.cmd(&["INFO", section]) else {
        panic!("INFO {section}")
    };
    let info = String::from_utf8(info).unwrap();
    let prefix = format!("{name}:");
    info.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {name} in {info}"))
        .parse()
        .unwrap()
}

/// LATENCY LATEST as (event, latest ms, max ms).
fn latest(c: &mut RespClient) -> Vec<(String, i64, i64)> {
    let Frame::Array(rows) = c.cmd(&["LATENCY", "LATEST"]) else {
        panic!("LATENCY LATEST")
    };
    rows.into_iter()
        .map(|row| {
            let Frame::Array(fields) = row else {
                panic!("row")
            };
            let int = |f: &Frame| match f {
                Frame::Integer(n) => *n,
                other => panic!("{other:?}"),
            };
            let Frame::Bulk(name) = &fields[0] else {
                panic!("name")
            };
            (
                String::from_utf8_lossy(name).into_owned(),
                int(&fields[2]),
                int(&fields[3]),
            )
        })
        .collect()
}

fn idle(c: &mut RespClient) -> bool {
    wait_until(Duration::from_secs(60), || {
        info_field(c, "persistence", "rdb_bgsave_in_progress") == 0
            && info_field(c, "persistence", "aof_rewrite_in_progress") == 0
    })
}

#[test]
fn fork_event_is_info_latest_fork_usec_when_over_the_threshold() {
    let dir = TempDir::new("latency-fork");
    let zedis = Server::start(&[
        "--save",
        "",
        "--enable-debug-command",
        "yes",
        "--latency-monitor-threshold",
        "1",
        "--dir",
        &dir.path().to_string_lossy(),
    ]);
    let mut c = RespClient::connect(zedis.port);
    // A few hundred thousand keys make a fork take a while on most machines (not asserted).
    assert_eq!(
        c.cmd(&["DEBUG", "POPULATE", "300000", "k", "64"]),
        Frame::Simple(b"OK".to_vec())
    );
    for (command, started) in [
        ("BGSAVE", "Background saving started"),
        (
            "BGREWRITEAOF",
            "Background append only file rewriting started",
        ),
    ] {
        c.cmd(&["LATENCY", "RESET"]);
        assert_eq!(
            c.cmd(&[command]),
            Frame::Simple(started.as_bytes().to_vec())
        );
        assert!(idle(&mut c), "{command} did not finish");
        let usec = info_field(&mut c, "stats", "latest_fork_usec");
        assert!(usec > 0, "{command}: latest_fork_usec {usec}");
        let fork: Vec<_> = latest(&mut c)
            .into_iter()
            .filter(|(name, _, _)| name == "fork")
            .collect();
        if usec / 1000 >= 1 {
            assert_eq!(fork.len(), 1, "{command}: {usec} us and no fork event");
            assert_eq!(fork[0].1, usec / 1000, "{command}: {fork:?} vs {usec} us");
        } else {
            assert!(fork.is_empty(), "{command}: {usec} us below 1 ms: {fork:?}");
        }
    }
    assert_eq!(info_field(&mut c, "stats", "total_forks"), 2);
}

#[test]
fn aof_write_cases_come_with_aof_write() {
    let dir = TempDir::new("latency-aof");
    let zedis = Server::start(&[
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--latency-monitor-threshold",
        "1",
        "--dir",
        &dir.path().to_string_lossy(),
    ]);
    let mut c = RespClient::connect(zedis.port);
    let big = "x".repeat(16 << 20);
    for i in 0..4 {
        let key = format!("big{i}");
        assert_eq!(c.cmd(&["SET", &key, &big]), Frame::Simple(b"OK".to_vec()));
        if i == 1 {
            // A write while a rewrite child runs counts as `aof-write-active-child` when it is slow.
            c.cmd(&["BGREWRITEAOF"]);
        }
    }
    assert!(idle(&mut c));
    let events = latest(&mut c);
    let cases: Vec<_> = events
        .iter()
        .filter(|(name, _, _)| name.starts_with("aof-write-"))
        .collect();
    let all = events.iter().find(|(name, _, _)| name == "aof-write");
    for (name, _, max) in &cases {
        let all = all.unwrap_or_else(|| panic!("{name} without aof-write: {events:?}"));
        assert!(all.2 >= *max, "{events:?}");
        assert!(
            [
                "aof-write-alone",
                "aof-write-active-child",
                "aof-write-pending-fsync"
            ]
            .contains(&name.as_str()),
            "{name}"
        );
    }
    if all.is_some() {
        assert!(!cases.is_empty(), "aof-write without its case: {events:?}");
    }
    eprintln!("events recorded: {events:?}");
}
