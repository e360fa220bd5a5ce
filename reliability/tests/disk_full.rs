//! Disk full under the AOF: a 2 MiB tmpfs holds the server's directory and a ballast file fills it.
//!
//! Redis's behaviour (7.0.15, `flushAppendOnlyFile`): with `everysec` a failed write keeps the commands buffered,
//! writes (and PING) are refused with `-MISCONF Errors writing to the AOF file: <strerror>`, reads still work,
//! the cron retries the write and writes are accepted again once it succeeds; with `always` the server exits.
//! Both servers run the same scenario and their outcomes are compared; every acknowledged write must be there
//! after the space is freed and the server restarted.

use redis::Connection;
use std::time::{Duration, Instant};
use zedis_reliability::{info_field, Kind, ServerProcess, Tmpfs};

const VALUE_BYTES: usize = 1024;

fn value(key: &str) -> String {
    let mut v = format!("{key}:");
    while v.len() < VALUE_BYTES {
        v.push('x');
    }
    v
}

/// SETs `key` to its value; the error text (`CODE detail`) on failure.
fn set(conn: &mut Connection, key: &str) -> Result<(), String> {
    redis::cmd("SET")
        .arg(key)
        .arg(value(key))
        .query::<()>(conn)
        .map_err(|e| {
            format!(
                "{} {}",
                e.code().unwrap_or("?"),
                e.detail().unwrap_or(&e.to_string())
            )
        })
}

/// Acknowledged keys missing (or with a wrong value) on the server.
fn missing(conn: &mut Connection, acked: &[String]) -> Vec<String> {
    let mut lost = Vec::new();
    for chunk in acked.chunks(500) {
        let values: Vec<Option<String>> = redis::cmd("MGET").arg(chunk).query(conn).unwrap();
        for (key, got) in chunk.iter().zip(values) {
            if got.as_deref() != Some(value(key).as_str()) {
                lost.push(key.clone());
            }
        }
    }
    lost
}

/// What one server did in the everysec scenario.
#[derive(Debug, PartialEq, Eq)]
struct EverysecOutcome {
    /// The reply refusing the first write that could not be logged.
    refusal: String,
    /// PING's raw reply while the disk is full.
    ping_while_full: String,
    /// A read while the disk is full: whether it returned the value.
    read_while_full: bool,
    /// `aof_last_write_status` while full, then after recovery.
    write_status: (String, String),
    /// Acknowledged writes missing after freeing the space and a kill -9 + restart.
    lost: Vec<String>,
}

fn everysec_scenario(kind: Kind) -> Option<EverysecOutcome> {
    let fs = Tmpfs::mount(&format!("full-{}", kind.name()), "2m")?;
    let mut server = ServerProcess::start(
        kind,
        fs.path(),
        &["--appendonly", "yes", "--appendfsync", "everysec"],
    )
    .unwrap();
    let mut conn = server.conn();
    let mut acked = Vec::new();
    for i in 0..200 {
        let key = format!("pre:{i}");
        set(&mut conn, &key).unwrap();
        acked.push(key);
    }
    fs.fill();
    // The AOF's last page may still have room: write until the first refusal.
    let mut refusal = None;
    for i in 0..2000 {
        let key = format!("fill:{i}");
        match set(&mut conn, &key) {
            Ok(()) => acked.push(key),
            Err(e) => {
                refusal = Some(e);
                break;
            }
        }
    }
    let refusal =
        refusal.unwrap_or_else(|| panic!("{}: 2000 writes accepted on a full disk", kind.name()));
    let ping_while_full = server.raw().call("PING\r\n");
    let got: Option<String> = redis::cmd("GET").arg("pre:7").query(&mut conn).unwrap();
    let read_while_full = got.as_deref() == Some(value("pre:7").as_str());
    let status_full = info_field(&mut conn, "persistence", "aof_last_write_status").unwrap();

    fs.free();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match set(&mut conn, "recovered") {
            Ok(()) => break,
            Err(e) => assert!(
                Instant::now() < deadline,
                "{}: never recovered: {e}",
                kind.name()
            ),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    acked.push("recovered".into());
    for i in 0..100 {
        let key = format!("after:{i}");
        set(&mut conn, &key).unwrap();
        acked.push(key);
    }
    let status_after = info_field(&mut conn, "persistence", "aof_last_write_status").unwrap();
    drop(conn);
    server.restart().unwrap();
    let lost = missing(&mut server.conn(), &acked);
    Some(EverysecOutcome {
        refusal,
        ping_while_full,
        read_while_full,
        write_status: (status_full, status_after),
        lost,
    })
}

#[test]
fn everysec_disk_full_refuses_writes_then_recovers_as_redis() {
    let mut outcomes = Vec::new();
    for kind in Kind::available() {
        let Some(outcome) = everysec_scenario(kind) else {
            return;
        };
        eprintln!("{}: {outcome:?}", kind.name());
        outcomes.push(outcome);
    }
    let zedis = &outcomes[0];
    assert_eq!(
        zedis.refusal,
        "MISCONF Errors writing to the AOF file: No space left on device"
    );
    assert_eq!(
        zedis.ping_while_full,
        "-MISCONF Errors writing to the AOF file: No space left on device\r\n"
    );
    assert!(zedis.read_while_full);
    assert_eq!(zedis.write_status, ("err".to_string(), "ok".to_string()));
    assert!(
        zedis.lost.is_empty(),
        "acknowledged writes lost: {:?}",
        zedis.lost
    );
    if let Some(redis) = outcomes.get(1) {
        assert_eq!(zedis, redis);
    }
}

/// What one server did in the `always` scenario: (exited with a failure status, its log line, lost writes).
fn always_scenario(kind: Kind) -> Option<(bool, bool, Vec<String>)> {
    let fs = Tmpfs::mount(&format!("full-always-{}", kind.name()), "2m")?;
    let mut server = ServerProcess::start(
        kind,
        fs.path(),
        &["--appendonly", "yes", "--appendfsync", "always"],
    )
    .unwrap();
    let mut conn = server.conn();
    let mut acked = Vec::new();
    for i in 0..100 {
        let key = format!("pre:{i}");
        set(&mut conn, &key).unwrap();
        acked.push(key);
    }
    fs.fill();
    for i in 0..2000 {
        let key = format!("fill:{i}");
        match set(&mut conn, &key) {
            Ok(()) => acked.push(key),
            Err(_) => break,
        }
    }
    let status = server.wait_exit(Duration::from_secs(30));
    let failed = status.is_some_and(|s| !s.success());
    let said = server.log().contains(
        "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...",
    );
    fs.free();
    drop(conn);
    server.restart().unwrap();
    let lost = missing(&mut server.conn(), &acked);
    Some((failed, said, lost))
}

#[test]
fn always_disk_full_exits_without_losing_acknowledged_writes_as_redis() {
    let mut outcomes = Vec::new();
    for kind in Kind::available() {
        let Some(outcome) = always_scenario(kind) else {
            return;
        };
        eprintln!("{}: {outcome:?}", kind.name());
        outcomes.push(outcome);
    }
    assert_eq!(outcomes[0], (true, true, Vec::new()));
    if let Some(redis) = outcomes.get(1) {
        assert_eq!(&outcomes[0], redis);
    }
}
