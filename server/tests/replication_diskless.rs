//! Diskless replication (issue 19): Zedis as a diskless master (`repl-diskless-sync`, the `$EOF:` framing to
//! replicas that announced `capa eof`, `$<len>` to the others) serving real redis-server replicas and Zedis
//! replicas; Zedis as a replica loading from the socket (`repl-diskless-load`) from a real redis-server in
//! both framings; a replica killed during a transfer. Corrupt and truncated streams from a scripted master
//! are in `replication_diskless_faults.rs`.

mod common;

use common::reference::RedisProcess;
use common::replication::{
    assert_same, dataset, info_field, wait_for, wait_in_sync, write_everything,
};
use common::{cmd, Server, TempDir};
use redis::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A connection to a redis-server.
fn redis_conn(redis: &RedisProcess) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port))
        .unwrap()
        .get_connection()
        .unwrap()
}

/// The text of a log file (empty while it does not exist).
fn log_text(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Writes `n` plain keys through one pipeline.
fn fill(conn: &mut redis::Connection, n: usize) {
    let mut pipe = redis::pipe();
    for i in 0..n {
        pipe.cmd("SET")
            .arg(format!("bulk:{i}"))
            .arg(format!("value {i}"))
            .ignore();
    }
    pipe.query::<()>(conn).unwrap();
}

#[test]
fn zedis_diskless_master_serves_redis_replicas() {
    let dir = TempDir::new("diskless-master");
    let log = dir.0.join("master.log");
    let zedis = Server::start(&[
        "--repl-diskless-sync-delay",
        "2",
        "--logfile",
        log.to_str().unwrap(),
    ]);
    let mut master = zedis.conn();
    // Redis 7.0's defaults.
    for (name, value) in [
        ("repl-diskless-sync", "yes"),
        ("repl-diskless-sync-delay", "2"),
        ("repl-diskless-sync-max-replicas", "0"),
        ("repl-diskless-load", "disabled"),
    ] {
        let got = cmd(&mut master, &["CONFIG", "GET", name]).unwrap();
        assert_eq!(
            got,
            Value::Array(vec![
                Value::BulkString(name.as_bytes().to_vec()),
                Value::BulkString(value.as_bytes().to_vec())
            ])
        );
    }
    write_everything(&mut master, "before");
    let port = zedis.port.to_string();
    let Some(first) = RedisProcess::start(&["--replicaof", "127.0.0.1", &port]) else {
        eprintln!("redis-server missing: skipped");
        return;
    };
    let Some(second) = RedisProcess::start(&["--replicaof", "127.0.0.1", &port]) else {
        return;
    };
    let (mut r1, mut r2) = (redis_conn(&first), redis_conn(&second));
    wait_in_sync(&mut master, &mut r1);
    wait_in_sync(&mut master, &mut r2);
    let data = dataset(&mut master);
    assert_same(
        &data,
        &dataset(&mut r1),
        "first replica after a diskless sync",
    );
    assert_same(
        &data,
        &dataset(&mut r2),
        "second replica after a diskless sync",
    );
    write_everything(&mut master, "after");
    wait_in_sync(&mut master, &mut r1);
    wait_in_sync(&mut master, &mut r2);
    let data = dataset(&mut master);
    assert_same(
        &data,
        &dataset(&mut r1),
        "first replica with writes flowing",
    );
    assert_same(
        &data,
        &dataset(&mut r2),
        "second replica with writes flowing",
    );
    assert_eq!(
        info_field(&mut master, "stats", "sync_full").as_deref(),
        Some("2")
    );
    let text = log_text(&log);
    assert!(
        text.contains("Starting BGSAVE for SYNC with target: replicas sockets"),
        "{text}"
    );
    assert!(text.contains("Background RDB transfer terminated with success"));
    // No file was written for it.
    assert_eq!(
        info_field(&mut master, "persistence", "rdb_saves").as_deref(),
        Some("0")
    );
}

/// A raw replica: the handshake with `capas`, then PSYNC; returns the reader after `+FULLRESYNC`.
fn raw_full_sync(port: u16, capas: &[&str]) -> BufReader<TcpStream> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    stream
        .write_all(b"REPLCONF listening-port 4242\r\n")
        .unwrap();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "+OK\r\n");
    if !capas.is_empty() {
        let mut capa = String::from("REPLCONF");
        for c in capas {
            capa.push_str(" capa ");
            capa.push_str(c);
        }
        capa.push_str("\r\n");
        stream.write_all(capa.as_bytes()).unwrap();
        line.clear();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line, "+OK\r\n");
    }
    stream.write_all(b"PSYNC ? -1\r\n").unwrap();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line != "\n" {
            break;
        }
    }
    assert!(line.starts_with("+FULLRESYNC "), "{line:?}");
    reader
}

/// Reads the payload header after `+FULLRESYNC` (keepalive newlines skipped).
fn payload_header(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line != "\n" {
            return line.trim_end().to_string();
        }
    }
}

#[test]
fn the_payload_framing_follows_the_replica_capa_and_the_setting() {
    let zedis = Server::start(&["--repl-diskless-sync-delay", "0"]);
    let mut master = zedis.conn();
    cmd(&mut master, &["SET", "k", "v"]).unwrap();
    // `capa eof`: `$EOF:<40 chars>`, the RDB, the same 40 chars.
    let mut reader = raw_full_sync(zedis.port, &["eof", "psync2"]);
    let header = payload_header(&mut reader);
    let mark = header
        .strip_prefix("$EOF:")
        .expect("EOF framing")
        .to_string();
    assert_eq!(mark.len(), 40);
    let mut payload = Vec::new();
    let mut byte = [0u8; 1];
    while !payload.ends_with(mark.as_bytes()) {
        reader.read_exact(&mut byte).unwrap();
        payload.push(byte[0]);
    }
    assert!(payload.starts_with(b"REDIS"));
    // Without `capa eof`: the disk path and `$<len>`.
    let mut reader = raw_full_sync(zedis.port, &["psync2"]);
    let header = payload_header(&mut reader);
    let len: usize = header
        .strip_prefix('$')
        .unwrap()
        .parse()
        .expect("length framing");
    let mut payload = vec![0u8; len];
    reader.read_exact(&mut payload).unwrap();
    assert!(payload.starts_with(b"REDIS"));
    // `repl-diskless-sync no`: `$<len>` even with `capa eof`.
    cmd(&mut master, &["CONFIG", "SET", "repl-diskless-sync", "no"]).unwrap();
    let mut reader = raw_full_sync(zedis.port, &["eof", "psync2"]);
    let header = payload_header(&mut reader);
    assert!(header[1..].parse::<usize>().is_ok(), "{header}");
}

#[test]
fn redis_master_to_zedis_replica_in_each_load_mode() {
    // (master's repl-diskless-sync, replica's repl-diskless-load, whether the replica parses the socket)
    let cases = [
        ("yes", "disabled", false),
        ("yes", "on-empty-db", true),
        ("yes", "swapdb", true),
        ("no", "swapdb", true),
        ("no", "on-empty-db", true),
    ];
    for (sync, load, parses) in cases {
        let Some(redis) = RedisProcess::start(&[
            "--repl-diskless-sync",
            sync,
            "--repl-diskless-sync-delay",
            "0",
        ]) else {
            eprintln!("redis-server missing: skipped");
            return;
        };
        let mut master = redis_conn(&redis);
        write_everything(&mut master, "before");
        fill(&mut master, 3000);
        let dir = TempDir::new("diskless-load");
        let log = dir.0.join("replica.log");
        let zedis = Server::start(&[
            "--repl-diskless-load",
            load,
            "--logfile",
            log.to_str().unwrap(),
        ]);
        let mut replica = zedis.conn();
        cmd(
            &mut replica,
            &["REPLICAOF", "127.0.0.1", &redis.port.to_string()],
        )
        .unwrap();
        wait_in_sync(&mut master, &mut replica);
        let what = format!("diskless-sync {sync}, diskless-load {load}");
        assert_same(&dataset(&mut master), &dataset(&mut replica), &what);
        write_everything(&mut master, "after");
        wait_in_sync(&mut master, &mut replica);
        assert_same(&dataset(&mut master), &dataset(&mut replica), &what);
        let text = log_text(&log);
        assert_eq!(
            text.contains("from master to parser") || text.contains("with EOF to parser"),
            parses,
            "{what}: {text}"
        );
    }
}

#[test]
fn swapdb_replaces_old_data_and_on_empty_db_needs_an_empty_replica() {
    let Some(redis) = RedisProcess::start(&["--repl-diskless-sync-delay", "0"]) else {
        return;
    };
    let mut master = redis_conn(&redis);
    write_everything(&mut master, "m");
    for load in ["swapdb", "on-empty-db"] {
        let dir = TempDir::new("diskless-old");
        let log = dir.0.join("replica.log");
        let zedis = Server::start(&[
            "--repl-diskless-load",
            load,
            "--logfile",
            log.to_str().unwrap(),
        ]);
        let mut replica = zedis.conn();
        cmd(&mut replica, &["SET", "stale", "gone after sync"]).unwrap();
        cmd(&mut replica, &["HSET", "stale:hash", "f", "v"]).unwrap();
        cmd(
            &mut replica,
            &["REPLICAOF", "127.0.0.1", &redis.port.to_string()],
        )
        .unwrap();
        wait_in_sync(&mut master, &mut replica);
        assert_same(&dataset(&mut master), &dataset(&mut replica), load);
        let text = log_text(&log);
        // on-empty-db with keys present falls back to the in-memory path.
        assert_eq!(
            text.contains("to parser"),
            load == "swapdb",
            "{load}: {text}"
        );
    }
}

#[test]
fn zedis_to_zedis_diskless_both_sides() {
    // The per-key delays (negative: 1 us once in 5 keys on average) take the save and load loops that
    // sleep, every type included.
    let master_server = Server::start(&[
        "--repl-diskless-sync-delay",
        "0",
        "--rdb-key-save-delay",
        "-5",
    ]);
    let mut master = master_server.conn();
    write_everything(&mut master, "before");
    fill(&mut master, 5000);
    let replica_server =
        Server::start(&["--repl-diskless-load", "swapdb", "--key-load-delay", "-5"]);
    let mut replica = replica_server.conn();
    cmd(&mut replica, &["SET", "stale", "x"]).unwrap();
    cmd(
        &mut replica,
        &["REPLICAOF", "127.0.0.1", &master_server.port.to_string()],
    )
    .unwrap();
    wait_in_sync(&mut master, &mut replica);
    assert_same(
        &dataset(&mut master),
        &dataset(&mut replica),
        "zedis to zedis",
    );
    write_everything(&mut master, "after");
    wait_in_sync(&mut master, &mut replica);
    assert_same(&dataset(&mut master), &dataset(&mut replica), "with writes");
    let size = |c: &mut redis::Connection| cmd(c, &["DBSIZE"]).unwrap();
    assert_eq!(size(&mut master), size(&mut replica));
    // A break: the replica continues partially (the diskless sync left a usable history).
    let killed: i64 = redis::cmd("CLIENT")
        .arg(&["KILL", "TYPE", "replica"])
        .query(&mut master)
        .unwrap();
    assert_eq!(killed, 1);
    cmd(&mut master, &["SET", "after:break", "1"]).unwrap();
    wait_in_sync(&mut master, &mut replica);
    assert_same(
        &dataset(&mut master),
        &dataset(&mut replica),
        "after a break",
    );
    assert_eq!(
        info_field(&mut master, "stats", "sync_partial_ok").as_deref(),
        Some("1")
    );
}

/// Waits until the master's diskless child runs with `n` replicas waiting for it.
fn wait_transfer(master: &mut redis::Connection, n: usize) {
    wait_for("a diskless transfer to start", || {
        let running =
            info_field(master, "persistence", "rdb_bgsave_in_progress").as_deref() == Some("1");
        let text: String = redis::cmd("INFO")
            .arg("replication")
            .query(master)
            .unwrap_or_default();
        running && text.matches("state=wait_bgsave").count() == n
    });
}

#[test]
fn a_replica_killed_mid_transfer_does_not_break_the_others() {
    let dir = TempDir::new("diskless-kill");
    let log = dir.0.join("master.log");
    // 1 ms per key: the transfer of 4000 keys lasts seconds, a wide window.
    let zedis = Server::start(&[
        "--repl-diskless-sync-delay",
        "2",
        "--rdb-key-save-delay",
        "1000",
        "--logfile",
        log.to_str().unwrap(),
    ]);
    let mut master = zedis.conn();
    fill(&mut master, 4000);
    write_everything(&mut master, "typed");
    let port = zedis.port.to_string();
    let Some(doomed) = RedisProcess::start(&["--replicaof", "127.0.0.1", &port]) else {
        eprintln!("redis-server missing: skipped");
        return;
    };
    let survivor_log = dir.0.join("survivor.log");
    let Some(survivor) = RedisProcess::start(&[
        "--replicaof",
        "127.0.0.1",
        &port,
        "--logfile",
        survivor_log.to_str().unwrap(),
    ]) else {
        return;
    };
    wait_transfer(&mut master, 2);
    drop(doomed);
    // The master keeps serving while the child streams.
    cmd(&mut master, &["SET", "during", "transfer"]).unwrap();
    let mut replica = redis_conn(&survivor);
    let synced = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_in_sync(&mut master, &mut replica)
    }));
    if let Err(panic) = synced {
        eprintln!("master log:\n{}", log_text(&log));
        eprintln!("replica log:\n{}", log_text(&survivor_log));
        eprintln!("clients: {:?}", cmd(&mut master, &["CLIENT", "LIST"]));
        eprintln!(
            "master info:\n{:?}",
            info_field(&mut master, "replication", "master_repl_offset")
        );
        eprintln!(
            "replica info:\n{:?}",
            info_field(&mut replica, "replication", "slave_repl_offset")
        );
        std::panic::resume_unwind(panic);
    }
    assert_same(
        &dataset(&mut master),
        &dataset(&mut replica),
        "the survivor",
    );
    assert!(log_text(&log).contains("Background RDB transfer terminated with success"));

    // The only replica of a transfer goes: the child is stopped, the master carries on.
    let Some(lonely) = RedisProcess::start(&["--replicaof", "127.0.0.1", &port]) else {
        return;
    };
    wait_transfer(&mut master, 1);
    drop(lonely);
    wait_for("the child to be stopped", || {
        info_field(&mut master, "persistence", "rdb_bgsave_in_progress").as_deref() == Some("0")
    });
    assert!(
        log_text(&log).contains("Diskless rdb transfer, last replica dropped, killing fork child.")
    );
    assert_eq!(
        info_field(&mut master, "replication", "connected_slaves").as_deref(),
        Some("1")
    );
    cmd(&mut master, &["SET", "still", "here"]).unwrap();
    wait_in_sync(&mut master, &mut replica);
}

#[test]
fn max_replicas_starts_the_transfer_before_the_delay() {
    // A delay far beyond the test's waits: only `repl-diskless-sync-max-replicas 2` can start the fork.
    let zedis = Server::start(&[
        "--repl-diskless-sync-delay",
        "3600",
        "--repl-diskless-sync-max-replicas",
        "2",
    ]);
    let mut master = zedis.conn();
    write_everything(&mut master, "x");
    let port = zedis.port.to_string();
    let Some(first) = RedisProcess::start(&["--replicaof", "127.0.0.1", &port]) else {
        eprintln!("redis-server missing: skipped");
        return;
    };
    // One replica waits (no fork yet)...
    wait_for("the first replica to wait", || {
        let text: String = redis::cmd("INFO")
            .arg("replication")
            .query(&mut master)
            .unwrap_or_default();
        text.contains("state=wait_bgsave")
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        info_field(&mut master, "persistence", "rdb_bgsave_in_progress").as_deref(),
        Some("0")
    );
    // ...the second one starts it for both.
    let Some(second) = RedisProcess::start(&["--replicaof", "127.0.0.1", &port]) else {
        return;
    };
    let (mut r1, mut r2) = (redis_conn(&first), redis_conn(&second));
    wait_in_sync(&mut master, &mut r1);
    wait_in_sync(&mut master, &mut r2);
    let data = dataset(&mut master);
    assert_same(&data, &dataset(&mut r1), "first");
    assert_same(&data, &dataset(&mut r2), "second");
}

#[test]
fn writes_during_a_long_transfer_outgrow_the_backlog_and_still_reach_the_replica() {
    for diskless in ["yes", "no"] {
        // The smallest backlog and a transfer of seconds: the stream written meanwhile (about 300 KB) is
        // far more than the backlog holds; it is kept for the waiting replica instead, as Redis does.
        let zedis = Server::start(&[
            "--repl-diskless-sync",
            diskless,
            "--repl-diskless-sync-delay",
            "0",
            "--repl-backlog-size",
            "16kb",
            "--rdb-key-save-delay",
            "1000",
        ]);
        let mut master = zedis.conn();
        fill(&mut master, 2000);
        let port = zedis.port.to_string();
        let Some(redis) = RedisProcess::start(&["--replicaof", "127.0.0.1", &port]) else {
            eprintln!("redis-server missing: skipped");
            return;
        };
        wait_for("the child to start", || {
            info_field(&mut master, "persistence", "rdb_bgsave_in_progress").as_deref() == Some("1")
        });
        let big = "x".repeat(150);
        for i in 0..2000 {
            cmd(&mut master, &["SET", &format!("during:{i}"), &big]).unwrap();
        }
        let mut replica = redis_conn(&redis);
        wait_in_sync(&mut master, &mut replica);
        assert_eq!(
            cmd(&mut replica, &["DBSIZE"]).unwrap(),
            Value::Int(4000),
            "diskless {diskless}"
        );
        assert_eq!(
            info_field(&mut master, "stats", "sync_full").as_deref(),
            Some("1"),
            "one full sync was enough (diskless {diskless})"
        );
    }
}
