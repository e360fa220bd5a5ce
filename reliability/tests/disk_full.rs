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

/// See [`rewrite_scenario`].
type Outcome = (String, String, bool, String, Vec<String>, Vec<String>);

/// Waits for the running rewrite to end; returns `aof_last_bgrewrite_status`.
fn rewrite_status(conn: &mut Connection) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let running = info_field(conn, "persistence", "aof_rewrite_in_progress").unwrap();
        let scheduled = info_field(conn, "persistence", "aof_rewrite_scheduled").unwrap();
        if running == "0" && scheduled == "0" {
            return info_field(conn, "persistence", "aof_last_bgrewrite_status").unwrap();
        }
        assert!(Instant::now() < deadline, "rewrite never ended");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What one server did: (BGREWRITEAOF reply, rewrite status on the full disk, reads while full, status of a
/// rewrite after freeing the space, rewrite temp files left, acknowledged writes lost after a restart).
fn rewrite_scenario(kind: Kind) -> Option<Outcome> {
    let fs = Tmpfs::mount(&format!("rewrite-{}", kind.name()), "4m")?;
    let args = ["--appendonly", "yes", "--appendfsync", "everysec"];
    let mut server = ServerProcess::start(kind, fs.path(), &args).unwrap();
    let mut conn = server.conn();
    let mut acked = Vec::new();
    for i in 0..500 {
        let key = format!("pre:{i}");
        set(&mut conn, &key).unwrap();
        acked.push(key);
    }
    // Let the everysec fsync and any startup rewrite settle before the disk fills.
    rewrite_status(&mut conn);
    fs.fill();
    let reply = server.raw().call("BGREWRITEAOF\r\n");
    let full_status = rewrite_status(&mut conn);
    let got: Option<String> = redis::cmd("GET").arg("pre:1").query(&mut conn).unwrap();
    let read_while_full = got.as_deref() == Some(value("pre:1").as_str());
    fs.free();
    // Writes may have been refused (MISCONF) until the AOF write error is retried: wait for that first.
    let deadline = Instant::now() + Duration::from_secs(60);
    while set(&mut conn, "after-free").is_err() {
        assert!(
            Instant::now() < deadline,
            "{}: writes never resumed",
            kind.name()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    acked.push("after-free".into());
    server.raw().call("BGREWRITEAOF\r\n");
    let freed_status = rewrite_status(&mut conn);
    let leftovers: Vec<String> = std::fs::read_dir(fs.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("temp-"))
        .collect();
    drop(conn);
    server.restart().unwrap();
    let lost = missing(&mut server.conn(), &acked);
    Some((
        reply,
        full_status,
        read_while_full,
        freed_status,
        leftovers,
        lost,
    ))
}

#[test]
fn bgrewriteaof_on_a_full_disk_fails_cleanly_as_redis() {
    let mut outcomes = Vec::new();
    for kind in Kind::available() {
        let Some(outcome) = rewrite_scenario(kind) else {
            return;
        };
        eprintln!("{}: {outcome:?}", kind.name());
        outcomes.push(outcome);
    }
    let zedis = &outcomes[0];
    assert_eq!(zedis.1, "err", "the rewrite on a full disk");
    assert!(zedis.2, "reads while full");
    assert_eq!(zedis.3, "ok", "the rewrite after freeing space");
    assert!(zedis.4.is_empty(), "temp files left: {:?}", zedis.4);
    assert!(
        zedis.5.is_empty(),
        "acknowledged writes lost: {:?}",
        zedis.5
    );
    // Redis 7.0's multi-part AOF first opens a new incremental file and persists its manifest, which fails at
    // once on a full disk; Zedis's multi-part AOF does the same.
    assert!(
        zedis
            .0
            .starts_with("-ERR Can't execute an AOF background rewriting"),
        "{}",
        zedis.0
    );
    if let Some(redis) = outcomes.get(1) {
        assert_eq!(zedis, redis);
    }
}

/// SHUTDOWN while the AOF cannot be written: (exit status was success, acknowledged writes lost after the space
/// returns and the server restarts).
fn shutdown_scenario(kind: Kind) -> Option<(bool, Vec<String>)> {
    let fs = Tmpfs::mount(&format!("full-shutdown-{}", kind.name()), "2m")?;
    let args = ["--appendonly", "yes", "--appendfsync", "everysec"];
    let mut server = ServerProcess::start(kind, fs.path(), &args).unwrap();
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
        if set(&mut conn, &key).is_err() {
            break;
        }
        acked.push(key);
    }
    let _ = server.raw().call_or_closed("SHUTDOWN\r\n");
    let status = server.wait_exit(Duration::from_secs(30));
    fs.free();
    drop(conn);
    server.restart().unwrap();
    let lost = missing(&mut server.conn(), &acked);
    Some((status.is_some_and(|s| s.success()), lost))
}

/// Redis 7.0.15 exits on SHUTDOWN even though its AOF buffer cannot be written, and the write acknowledged when
/// the disk filled (buffered, not on disk) is lost. Zedis does the same; this test keeps the two in step (and
/// will flag it if either starts refusing SHUTDOWN instead).
#[test]
fn shutdown_on_a_full_disk_as_redis() {
    let mut outcomes = Vec::new();
    for kind in Kind::available() {
        let Some(outcome) = shutdown_scenario(kind) else {
            return;
        };
        eprintln!("{}: {outcome:?}", kind.name());
        outcomes.push(outcome);
    }
    let zedis = &outcomes[0];
    assert!(zedis.0, "SHUTDOWN exits with success");
    assert_eq!(
        zedis.1.len(),
        1,
        "only the buffered write is lost: {:?}",
        zedis.1
    );
    assert!(zedis.1[0].starts_with("fill:"));
    if let Some(redis) = outcomes.get(1) {
        assert_eq!((zedis.0, zedis.1.len()), (redis.0, redis.1.len()));
    }
}
