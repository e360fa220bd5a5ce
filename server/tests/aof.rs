//! AOF persistence: durability under SIGKILL, truncated and corrupted files, rewrites under load, absolute TTLs,
//! turning the AOF on at run time and automatic rewrites. The files redis-server reads and writes are tested in
//! `aof_interop.rs`; the helpers both share are in `common/aof.rs`.

mod common;

use common::aof::{
    dir_bytes, fill, info_field, last_incr, snapshot, start, start_failing, wait_rewrite_done,
};
use common::{cmd, Server, TempDir};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Writer threads that SET `w{thread}:{n}` for increasing n and publish the last acknowledged n (+1).
struct Writers {
    acked: Vec<Arc<AtomicU64>>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Writers {
    fn start(port: u16, count: usize) -> Writers {
        let stop = Arc::new(AtomicBool::new(false));
        let mut acked = Vec::new();
        let mut threads = Vec::new();
        for t in 0..count {
            let done = Arc::new(AtomicU64::new(0));
            acked.push(Arc::clone(&done));
            let stop = Arc::clone(&stop);
            threads.push(std::thread::spawn(move || {
                let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
                let Ok(mut conn) = client.get_connection() else {
                    return;
                };
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("w{t}:{n}");
                    let ok: redis::RedisResult<()> =
                        redis::cmd("SET").arg(&key).arg(n).query(&mut conn);
                    if ok.is_err() {
                        return;
                    }
                    n += 1;
                    done.store(n, Ordering::SeqCst);
                }
            }));
        }
        Writers {
            acked,
            stop,
            threads,
        }
    }

    fn finish(self) -> Vec<u64> {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            let _ = thread.join();
        }
        self.acked
            .iter()
            .map(|a| a.load(Ordering::SeqCst))
            .collect()
    }
}

/// Keys `w{t}:{0..acked}` missing from the server.
fn missing_acked(conn: &mut redis::Connection, acked: &[u64]) -> u64 {
    let mut missing = 0;
    for (t, &count) in acked.iter().enumerate() {
        let keys: Vec<String> = (0..count).map(|n| format!("w{t}:{n}")).collect();
        for chunk in keys.chunks(1000) {
            let values: Vec<Option<u64>> = redis::cmd("MGET").arg(chunk).query(conn).unwrap();
            missing += values.iter().filter(|v| v.is_none()).count() as u64;
        }
    }
    missing
}

fn sigkill_under_load(policy: &str) -> (u64, u64) {
    let dir = TempDir::new(policy);
    let server = start(&dir, &["--appendfsync", policy]);
    let writers = Writers::start(server.port, 4);
    std::thread::sleep(Duration::from_millis(1500));
    drop(server); // SIGKILL while the writers are mid-stream.
    let acked = writers.finish();
    let total: u64 = acked.iter().sum();
    assert!(total > 0, "no write was acknowledged");
    let server = start(&dir, &["--appendfsync", policy]);
    let mut conn = server.conn();
    (total, missing_acked(&mut conn, &acked))
}

#[test]
fn always_sigkill_loses_no_acknowledged_write() {
    let (total, missing) = sigkill_under_load("always");
    assert_eq!(missing, 0, "{missing} of {total} acknowledged writes lost");
}

#[test]
fn everysec_sigkill_keeps_acknowledged_writes() {
    // A process kill leaves the page cache intact, and every turn's commands are written before the replies,
    // so with everysec too nothing acknowledged is lost (only a machine crash could lose about a second).
    let (total, missing) = sigkill_under_load("everysec");
    assert!(
        missing * 10 <= total,
        "{missing} of {total} acknowledged writes lost"
    );
}

#[test]
fn truncated_file_loads_with_warning_or_is_refused() {
    let dir = TempDir::new("truncated");
    let expected = {
        let server = start(&dir, &[]);
        let mut conn = server.conn();
        fill(&mut conn);
        snapshot(&mut conn)
    };
    // The incr file being appended to is the last one the manifest lists.
    let incr = last_incr(&dir);
    let good_len = std::fs::metadata(&incr).unwrap().len();
    let partial = b"*3\r\n$3\r\nSET\r\n$4\r\nlost\r\n$5\r\nab";
    let mut bytes = std::fs::read(&incr).unwrap();
    bytes.extend_from_slice(partial);
    std::fs::write(&incr, &bytes).unwrap();

    let (ok, stderr) = start_failing(&dir, &["--aof-load-truncated", "no"]);
    assert!(!ok);
    assert!(
        stderr.contains("Unexpected end of file") && stderr.contains(&good_len.to_string()),
        "{stderr}"
    );

    let server = start(&dir, &[]);
    let mut conn = server.conn();
    assert_eq!(snapshot(&mut conn), expected);
    assert_eq!(std::fs::metadata(&incr).unwrap().len(), good_len, "trimmed");
    // Appends continue cleanly after the trimmed command.
    cmd(&mut conn, &["SET", "after", "1"]).unwrap();
    drop(server);
    let server = start(&dir, &[]);
    let mut conn = server.conn();
    let after: String = redis::cmd("GET").arg("after").query(&mut conn).unwrap();
    assert_eq!(after, "1");
}

#[test]
fn corrupted_file_stops_startup_naming_the_offset() {
    let dir = TempDir::new("corrupt");
    let first = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n";
    let mut bytes = first.to_vec();
    bytes.extend_from_slice(b"garbage\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n");
    std::fs::write(dir.aof(), &bytes).unwrap();
    let (ok, stderr) = start_failing(&dir, &[]);
    assert!(!ok);
    assert!(
        stderr.contains(&format!("byte offset {}", first.len())),
        "{stderr}"
    );

    // A bad bulk length inside a command (the refused file was moved into the directory: start afresh).
    std::fs::remove_dir_all(dir.0.join("appendonlydir")).unwrap();
    let mut bytes = first.to_vec();
    bytes.extend_from_slice(b"*2\r\n$x\r\nGET\r\n");
    bytes.extend_from_slice(first);
    std::fs::write(dir.aof(), &bytes).unwrap();
    let (ok, stderr) = start_failing(&dir, &[]);
    assert!(!ok);
    assert!(
        stderr.contains(&format!("byte offset {}", first.len())),
        "{stderr}"
    );
}

#[test]
fn bgrewriteaof_under_write_load_keeps_the_dataset() {
    let dir = TempDir::new("rewrite");
    let server = start(&dir, &["--appendfsync", "always"]);
    let mut conn = server.conn();
    fill(&mut conn);
    let writers = Writers::start(server.port, 3);
    // Writes of every type land while the child works.
    let mixer = {
        let port = server.port;
        std::thread::spawn(move || {
            let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
            let mut conn = client.get_connection().unwrap();
            for i in 0..400 {
                cmd(&mut conn, &["INCR", "counter"]).unwrap();
                cmd(&mut conn, &["RPUSH", "list", &i.to_string()]).unwrap();
                cmd(&mut conn, &["SADD", "set", &format!("m{i}")]).unwrap();
                cmd(
                    &mut conn,
                    &["HSET", "hash", &format!("f{}", i % 50), &i.to_string()],
                )
                .unwrap();
                cmd(&mut conn, &["SPOP", "set"]).unwrap();
                cmd(&mut conn, &["SET", &format!("s{}", i % 50), &i.to_string()]).unwrap();
            }
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let started: String = redis::cmd("BGREWRITEAOF").query(&mut conn).unwrap();
    assert_eq!(started, "Background append only file rewriting started");
    wait_rewrite_done(&mut conn, 1);
    mixer.join().unwrap();
    let acked = writers.finish();
    let _: String = redis::cmd("BGREWRITEAOF").query(&mut conn).unwrap();
    wait_rewrite_done(&mut conn, 2);
    cmd(&mut conn, &["SET", "last", "write"]).unwrap();
    let before = snapshot(&mut conn);
    assert_eq!(missing_acked(&mut conn, &acked), 0);
    let size: u64 = info_field(&mut conn, "aof_current_size").parse().unwrap();
    assert_eq!(size, dir_bytes(&dir));
    // The rewrites left one base and one incr file, the others deleted as history.
    assert_eq!(
        std::fs::read_dir(dir.0.join("appendonlydir"))
            .unwrap()
            .count(),
        3
    );
    drop(server);

    let server = start(&dir, &[]);
    let mut conn = server.conn();
    assert_eq!(snapshot(&mut conn), before);
    let leftovers: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with("temp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn ttls_survive_as_absolute_times() {
    let dir = TempDir::new("ttl");
    let server = start(&dir, &[]);
    let mut conn = server.conn();
    cmd(&mut conn, &["SET", "px", "v", "PX", "100000"]).unwrap();
    cmd(&mut conn, &["SETEX", "setex", "100", "v"]).unwrap();
    cmd(&mut conn, &["RPUSH", "list", "a"]).unwrap();
    cmd(&mut conn, &["EXPIRE", "list", "200"]).unwrap();
    cmd(&mut conn, &["GETEX", "px", "PX", "300000"]).unwrap();
    cmd(&mut conn, &["SET", "short", "v", "PX", "300"]).unwrap();
    let before = snapshot(&mut conn);
    std::thread::sleep(Duration::from_millis(1100));
    drop(server);
    let server = start(&dir, &[]);
    let mut conn = server.conn();
    let mut after = snapshot(&mut conn);
    // The short key's absolute time passed while down; it is gone (or about to be, logically already).
    let short: Option<String> = redis::cmd("GET").arg("short").query(&mut conn).unwrap();
    assert_eq!(short, None);
    after.remove(&(0, b"short".to_vec()));
    let mut before = before;
    before.remove(&(0, b"short".to_vec()));
    assert_eq!(after, before, "expire times are the same absolute ms");
}

#[test]
fn config_set_appendonly_writes_the_dataset_first() {
    let dir = TempDir::new("configset");
    let server = Server::start(&["--dir", dir.path()]);
    let mut conn = server.conn();
    fill(&mut conn);
    assert_eq!(info_field(&mut conn, "aof_enabled"), "0");
    assert!(!dir.0.join("appendonlydir").exists());
    cmd(&mut conn, &["CONFIG", "SET", "appendonly", "yes"]).unwrap();
    cmd(&mut conn, &["SET", "during", "1"]).unwrap();
    wait_rewrite_done(&mut conn, 1);
    cmd(&mut conn, &["SET", "after", "2"]).unwrap();
    let before = snapshot(&mut conn);
    drop(server);
    let server = start(&dir, &[]);
    let mut conn = server.conn();
    assert_eq!(snapshot(&mut conn), before);
    cmd(&mut conn, &["CONFIG", "SET", "appendonly", "no"]).unwrap();
    assert_eq!(info_field(&mut conn, "aof_enabled"), "0");
}

#[test]
fn automatic_rewrite_on_growth() {
    let dir = TempDir::new("auto");
    let server = start(
        &dir,
        &[
            "--auto-aof-rewrite-min-size",
            "4kb",
            "--auto-aof-rewrite-percentage",
            "100",
        ],
    );
    let mut conn = server.conn();
    let mut appended = 0;
    for i in 0..2000 {
        cmd(&mut conn, &["SET", "k", &i.to_string()]).unwrap();
        appended += format!(
            "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n{i}\r\n",
            i.to_string().len()
        )
        .len();
    }
    wait_rewrite_done(&mut conn, 1);
    let size = dir_bytes(&dir) as usize;
    assert!(
        size < appended,
        "rewritten: {size} bytes of {appended} appended"
    );
    let base: usize = info_field(&mut conn, "aof_base_size").parse().unwrap();
    assert!(base < appended);
    drop(server);
    let server = start(&dir, &[]);
    let mut conn = server.conn();
    let value: u64 = redis::cmd("GET").arg("k").query(&mut conn).unwrap();
    assert_eq!(value, 1999);
}
