//! `--kv-allocator segment` (issue 25) with the real binary: whole-segment expiry, eviction under maxmemory
//! with its DELs in the AOF, SCAN completeness while keys move to the tables, an RDB round trip, and the
//! promotion rules (a key read by any non-native command keeps its value and TTL).

mod common;

use common::{cmd, Server, TempDir};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const SEGMENT: [&str; 2] = ["--kv-allocator", "segment"];

fn start(extra: &[&str]) -> Server {
    let mut args: Vec<&str> = SEGMENT.to_vec();
    args.extend_from_slice(&["--save", ""]);
    args.extend_from_slice(extra);
    Server::start(&args)
}

fn info_field(c: &mut redis::Connection, name: &str) -> i64 {
    let info: String = redis::cmd("INFO").arg("everything").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in INFO"))
        .trim()
        .parse()
        .unwrap()
}

fn set_many(c: &mut redis::Connection, prefix: &str, n: usize, value: &str, px: Option<u64>) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
        let mut pipe = redis::pipe();
        for i in chunk {
            let cmd = pipe.cmd("SET").arg(format!("{prefix}{i}")).arg(value);
            if let Some(px) = px {
                cmd.arg("PX").arg(px);
            }
            cmd.ignore();
        }
        let _: () = pipe.query(c).unwrap();
    }
}

#[test]
fn info_allocator_shows_the_segment_figures() {
    let server = start(&[]);
    let mut c = server.conn();
    set_many(&mut c, "k", 1000, "value", None);
    let info: String = redis::cmd("INFO").arg("allocator").query(&mut c).unwrap();
    assert!(info.contains("kv_allocator:segment\r\n"), "{info}");
    assert_eq!(info_field(&mut c, "seg_items"), 1000);
    assert!(info_field(&mut c, "seg_segments") >= 1);
    // Overwrites leave holes, reported as dead bytes.
    set_many(&mut c, "k", 1000, "other", None);
    assert!(info_field(&mut c, "seg_dead_bytes") > 0);
    let cfg: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("kv-allocator")
        .query(&mut c)
        .unwrap();
    assert_eq!(cfg, ["kv-allocator", "segment"]);
}

#[test]
fn whole_segments_expire_without_being_read() {
    let server = start(&["--hz", "50"]);
    let mut c = server.conn();
    set_many(&mut c, "keep", 100, "x", None);
    // 1.5 s: the fill finishes before the first expiry even on a loaded machine (300 ms did not).
    set_many(&mut c, "short", 5000, "0123456789abcdef", Some(1_500));
    assert!(info_field(&mut c, "seg_items") > 100);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let size: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
        if size == 100 {
            break;
        }
        assert!(Instant::now() < deadline, "dbsize still {size}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(info_field(&mut c, "expired_keys"), 5000);
    assert!(info_field(&mut c, "seg_expired_segments") >= 1);
    assert_eq!(info_field(&mut c, "seg_items"), 100);
}

/// The commands of a RESP file, as argument vectors.
fn resp_commands(bytes: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut at = 0;
    let line = |at: &mut usize| -> Vec<u8> {
        let end = bytes[*at..].windows(2).position(|w| w == b"\r\n").unwrap() + *at;
        let l = bytes[*at..end].to_vec();
        *at = end + 2;
        l
    };
    while at < bytes.len() {
        let head = line(&mut at);
        assert_eq!(head[0], b'*');
        let n: usize = std::str::from_utf8(&head[1..]).unwrap().parse().unwrap();
        let mut argv = Vec::new();
        for _ in 0..n {
            let len_line = line(&mut at);
            let len: usize = std::str::from_utf8(&len_line[1..])
                .unwrap()
                .parse()
                .unwrap();
            argv.push(bytes[at..at + len].to_vec());
            at += len + 2;
        }
        out.push(argv);
    }
    out
}

#[test]
fn eviction_under_maxmemory_logs_dels_to_the_aof() {
    let dir = TempDir::new("seg-evict");
    let args = [
        "--maxmemory",
        "12mb",
        "--maxmemory-policy",
        "allkeys-lru",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--aof-use-rdb-preamble",
        "no",
        "--dir",
        dir.path(),
    ];
    let server = start(&args);
    let mut c = server.conn();
    let value = "v".repeat(400);
    set_many(&mut c, "key", 60_000, &value, None);
    let evicted = info_field(&mut c, "evicted_keys");
    assert!(evicted > 0, "nothing evicted");
    let used = info_field(&mut c, "used_memory");
    assert!(used <= 12 << 20, "used_memory {used} over maxmemory");
    assert!(info_field(&mut c, "seg_merges") + info_field(&mut c, "seg_evicted_items") > 0);
    let live: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(live, 60_000 - evicted);
    // Every evicted key is a DEL in the AOF, after its SET.
    let aof = std::fs::read(dir.aof_incr()).unwrap();
    let commands = resp_commands(&aof);
    let mut present = HashSet::new();
    let mut dels = 0;
    for argv in &commands {
        match argv[0].to_ascii_uppercase().as_slice() {
            b"SET" => {
                present.insert(argv[1].clone());
            }
            b"DEL" => {
                assert!(present.remove(&argv[1]), "DEL of a key not set");
                dels += 1;
            }
            _ => {}
        }
    }
    assert_eq!(dels, evicted);
    assert_eq!(present.len() as i64, live);
    drop(c);
    drop(server);
    // The AOF replays to the same keyspace.
    let server = start(&args[4..]);
    let mut c = server.conn();
    let reloaded: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(reloaded, live);
    let some = present.iter().next().unwrap().clone();
    let got: Vec<u8> = redis::cmd("GET").arg(&some).query(&mut c).unwrap();
    assert_eq!(got, value.as_bytes());
}

#[test]
fn scan_returns_every_key_while_keys_move_to_the_tables() {
    let server = start(&[]);
    let mut c = server.conn();
    set_many(&mut c, "s", 3000, "v", None);
    for i in 0..300 {
        let _: () = redis::cmd("HSET")
            .arg(format!("h{i}"))
            .arg("f")
            .arg("v")
            .query(&mut c)
            .unwrap();
    }
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut round = 0;
    loop {
        let (next, keys): (String, Vec<String>) = redis::cmd("SCAN")
            .arg(&cursor)
            .arg("COUNT")
            .arg(50)
            .query(&mut c)
            .unwrap();
        seen.extend(keys);
        // Meanwhile, move keys from the segment store to the tables (APPEND is not native) and add new ones.
        for j in 0..20 {
            let _: () = redis::cmd("APPEND")
                .arg(format!("s{}", (round * 20 + j) % 3000))
                .arg("x")
                .query(&mut c)
                .unwrap();
        }
        let _: () = redis::cmd("SET")
            .arg(format!("new{round}"))
            .arg("v")
            .query(&mut c)
            .unwrap();
        round += 1;
        cursor = next;
        if cursor == "0" {
            break;
        }
        assert!(round < 10_000, "scan does not end");
    }
    for i in 0..3000 {
        assert!(seen.contains(&format!("s{i}")), "s{i} missing");
    }
    for i in 0..300 {
        assert!(seen.contains(&format!("h{i}")), "h{i} missing");
    }
    // TYPE filter and MATCH on the store's keys.
    let (_, strings): (String, Vec<String>) = redis::cmd("SCAN")
        .arg("0")
        .arg("COUNT")
        .arg(100_000)
        .arg("TYPE")
        .arg("hash")
        .query(&mut c)
        .unwrap();
    assert!(strings.iter().all(|k| k.starts_with('h')));
    let keys: Vec<String> = redis::cmd("KEYS").arg("s1??").query(&mut c).unwrap();
    assert_eq!(keys.len(), 100);
}

#[test]
fn rdb_round_trip_keeps_values_and_ttls() {
    let dir = TempDir::new("seg-rdb");
    let args = ["--dir", dir.path(), "--dbfilename", "seg.rdb"];
    let server = start(&args);
    let mut c = server.conn();
    set_many(&mut c, "plain", 2000, "hello", None);
    set_many(&mut c, "ttl", 2000, "1234567890", Some(600_000));
    let _: () = redis::cmd("SELECT").arg(3).query(&mut c).unwrap();
    let _: () = redis::cmd("SET")
        .arg("other")
        .arg("db3")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("RPUSH")
        .arg("list")
        .arg("a")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    drop(c);
    drop(server);
    let server = start(&args);
    let mut c = server.conn();
    assert_eq!(redis::cmd("DBSIZE").query::<i64>(&mut c).unwrap(), 4000);
    // Loaded strings are back in the segment store.
    assert_eq!(info_field(&mut c, "seg_items"), 4001);
    let v: String = redis::cmd("GET").arg("plain7").query(&mut c).unwrap();
    assert_eq!(v, "hello");
    let ttl: i64 = redis::cmd("PTTL").arg("ttl1999").query(&mut c).unwrap();
    assert!(ttl > 500_000 && ttl <= 600_000, "pttl {ttl}");
    assert_eq!(
        redis::cmd("TTL")
            .arg("plain1")
            .query::<i64>(&mut c)
            .unwrap(),
        -1
    );
    let _: () = redis::cmd("SELECT").arg(3).query(&mut c).unwrap();
    assert_eq!(
        redis::cmd("GET")
            .arg("other")
            .query::<String>(&mut c)
            .unwrap(),
        "db3"
    );
    assert_eq!(
        redis::cmd("LLEN").arg("list").query::<i64>(&mut c).unwrap(),
        1
    );
}

#[test]
fn promotion_keeps_value_ttl_and_watch() {
    let server = start(&[]);
    let mut c = server.conn();
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("12")
        .arg("EX")
        .arg(1000)
        .query(&mut c)
        .unwrap();
    // OBJECT moves it to the tables: the same value, encoding and TTL as a table key.
    let enc: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg("k")
        .query(&mut c)
        .unwrap();
    assert_eq!(enc, "int");
    assert_eq!(info_field(&mut c, "seg_items"), 0);
    let ttl: i64 = redis::cmd("TTL").arg("k").query(&mut c).unwrap();
    assert!((990..=1000).contains(&ttl));
    assert_eq!(
        redis::cmd("INCR").arg("k").query::<i64>(&mut c).unwrap(),
        13
    );
    // WATCH on a segment key, then a native SET from another client aborts the transaction.
    let _: () = redis::cmd("SET").arg("w").arg("1").query(&mut c).unwrap();
    let _: () = redis::cmd("WATCH").arg("w").query(&mut c).unwrap();
    let mut other = server.conn();
    let _: () = redis::cmd("SET")
        .arg("w")
        .arg("2")
        .query(&mut other)
        .unwrap();
    let _: () = redis::cmd("MULTI").query(&mut c).unwrap();
    let _: () = redis::cmd("GET").arg("w").query(&mut c).unwrap();
    let exec: redis::Value = redis::cmd("EXEC").query(&mut c).unwrap();
    assert_eq!(exec, redis::Value::Nil);
    // SWAPDB and FLUSHDB see the store.
    let _: () = redis::cmd("SWAPDB").arg(0).arg(1).query(&mut c).unwrap();
    assert_eq!(redis::cmd("DBSIZE").query::<i64>(&mut c).unwrap(), 0);
    let _: () = redis::cmd("SELECT").arg(1).query(&mut c).unwrap();
    assert_eq!(
        redis::cmd("GET").arg("w").query::<String>(&mut c).unwrap(),
        "2"
    );
    let _: () = redis::cmd("FLUSHDB").query(&mut c).unwrap();
    assert_eq!(redis::cmd("DBSIZE").query::<i64>(&mut c).unwrap(), 0);
    assert!(cmd(&mut c, &["GET", "w"]).unwrap() == redis::Value::Nil);
}

#[test]
fn cluster_mode_is_refused() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_zedis-server"))
        .args([
            "--port",
            "0",
            "--kv-allocator",
            "segment",
            "--cluster-enabled",
            "yes",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            assert!(!status.success());
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started with cluster-enabled and segment");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn overwrite_holes_are_compacted_by_the_cron() {
    let server = start(&["--hz", "50"]);
    let mut c = server.conn();
    let value = "v".repeat(100);
    set_many(&mut c, "k", 40_000, &value, None);
    let held = info_field(&mut c, "seg_segments");
    // Overwriting every other key leaves the first segments half holes (none of them empties): the cron
    // merges neighbours whose live items fit one segment.
    for _ in 0..2 {
        for chunk in (0..40_000).step_by(2).collect::<Vec<_>>().chunks(200) {
            let mut pipe = redis::pipe();
            for i in chunk {
                pipe.cmd("SET").arg(format!("k{i}")).arg("w").ignore();
            }
            let _: () = pipe.query(&mut c).unwrap();
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(&mut c, "seg_merges") == 0 {
        assert!(Instant::now() < deadline, "no compaction ({held} segments)");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(info_field(&mut c, "seg_segments") < held);
    assert_eq!(redis::cmd("DBSIZE").query::<i64>(&mut c).unwrap(), 40_000);
    let odd: String = redis::cmd("GET").arg("k39999").query(&mut c).unwrap();
    assert_eq!(odd, value);
    let even: String = redis::cmd("GET").arg("k39998").query(&mut c).unwrap();
    assert_eq!(even, "w");
}
