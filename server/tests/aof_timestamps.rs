//! `aof-timestamp-enabled`: the `#TS:` annotations Redis 7.0 writes into its AOF (before the first command
//! of each second and at the start of a rewritten base of commands) are written by Zedis too, and each
//! server loads the other's annotated `appendonlydir`.

mod common;

use common::reference::RedisProcess;
use common::tools::tool_exists;
use common::{Server, TempDir};
use std::time::{Duration, Instant};

const FLAGS: [&str; 6] = [
    "--appendonly",
    "yes",
    "--aof-timestamp-enabled",
    "yes",
    "--aof-use-rdb-preamble",
    "no",
];

fn redis(dir: &TempDir) -> (RedisProcess, redis::Connection) {
    let mut args = vec!["--dir", dir.path()];
    args.extend(FLAGS);
    let process = RedisProcess::start(&args).expect("redis-server starts");
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", process.port)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut conn) = client.get_connection() {
            if redis::cmd("PING").query::<String>(&mut conn).is_ok() {
                return (process, conn);
            }
        }
        assert!(Instant::now() < deadline, "redis-server did not answer");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn aof_text(dir: &TempDir) -> String {
    let mut text = String::new();
    let mut names: Vec<_> = std::fs::read_dir(dir.0.join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_string_lossy().ends_with(".manifest"))
        .collect();
    names.sort();
    for p in names {
        text.push_str(&String::from_utf8_lossy(&std::fs::read(p).unwrap()));
    }
    text
}

fn keys(conn: &mut redis::Connection) -> Vec<(String, String)> {
    let mut names: Vec<String> = redis::cmd("KEYS").arg("*").query(conn).unwrap();
    names.sort();
    names
        .into_iter()
        .map(|k| {
            let v: String = redis::cmd("GET").arg(&k).query(conn).unwrap();
            (k, v)
        })
        .collect()
}

fn set(conn: &mut redis::Connection, key: &str, value: &str) {
    let _: () = redis::cmd("SET").arg(key).arg(value).query(conn).unwrap();
}

fn wait_rewrite(conn: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let info: String = redis::cmd("INFO").arg("persistence").query(conn).unwrap();
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrites:1") {
            return;
        }
        assert!(Instant::now() < deadline, "rewrite did not finish: {info}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn timestamp_annotations_are_written_and_loaded_both_ways() {
    if !tool_exists("redis-server") {
        eprintln!("redis-server not installed: skipped");
        return;
    }
    let dir = TempDir::new("aof-ts");
    let (process, mut conn) = redis(&dir);
    set(&mut conn, "from-redis", "1");
    let _: () = redis::cmd("SHUTDOWN").query(&mut conn).unwrap_or(());
    drop(process);
    assert!(
        aof_text(&dir).contains("#TS:"),
        "redis-server annotated its AOF"
    );

    // Zedis loads the annotated directory, annotates its own writes and its rewritten base.
    let mut args: Vec<&str> = vec!["--dir", dir.path()];
    args.extend(FLAGS);
    let server = Server::start(&args);
    let mut conn = server.conn();
    assert_eq!(
        keys(&mut conn),
        [("from-redis".to_string(), "1".to_string())]
    );
    let before = aof_text(&dir).matches("#TS:").count();
    set(&mut conn, "from-zedis", "2");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("appendfsync")
        .arg("always")
        .query(&mut conn)
        .unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    set(&mut conn, "from-zedis-later", "3");
    assert!(
        aof_text(&dir).matches("#TS:").count() > before,
        "{}",
        aof_text(&dir)
    );
    let _: String = redis::cmd("BGREWRITEAOF").query(&mut conn).unwrap();
    wait_rewrite(&mut conn);
    set(&mut conn, "after-rewrite", "4");
    let base = std::fs::read_dir(dir.0.join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains(".base."))
        .expect("a base file");
    let base_text = std::fs::read(&base).unwrap();
    assert!(
        base_text.starts_with(b"#TS:"),
        "{}",
        String::from_utf8_lossy(&base_text)
    );
    let expected = keys(&mut conn);
    drop(conn);
    drop(server);

    // Zedis after its restart and redis-server both read the result back.
    let server = Server::start(&args);
    assert_eq!(keys(&mut server.conn()), expected);
    drop(server);
    let (_process, mut conn) = redis(&dir);
    assert_eq!(keys(&mut conn), expected);
}
