//! Streams through the real binary: blocking XREAD/XREADGROUP (wake-ups, `$` resolved at block time, errors
//! for deleted keys and groups, MULTI, timeouts, RESP3), the type-aware generic commands, and AOF logging and
//! rewrite reproducing ids, groups, PELs and delivery counts. Byte-exact replies vs Redis are in
//! `compat/streams.txt`.

mod common;

use common::{cmd, Server};
use redis::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Long enough for a client to be parked on a loaded machine.
const SETTLE: Duration = Duration::from_millis(300);

#[test]
fn xread_dollar_is_resolved_when_blocking() {
    let server = Server::start(&[]);
    let mut writer = server.raw();
    writer.roundtrip("XADD s 1-0 a 1\r\n", "$3\r\n1-0\r\n");
    let mut reader = server.raw();
    reader.send(b"XREAD BLOCK 0 STREAMS s $\r\n");
    std::thread::sleep(SETTLE);
    writer.roundtrip("XADD s 2-0 b 2\r\n", "$3\r\n2-0\r\n");
    reader.expect("*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
    // A missing key blocks from 0-0; a key of another type keeps the reader waiting.
    reader.send(b"XREAD BLOCK 0 STREAMS t $\r\n");
    std::thread::sleep(SETTLE);
    writer.roundtrip("SET t x\r\n", "+OK\r\n");
    writer.roundtrip("DEL t\r\n", ":1\r\n");
    writer.roundtrip("XADD t 5-0 c 3\r\n", "$3\r\n5-0\r\n");
    reader.expect("*1\r\n*2\r\n$1\r\nt\r\n*1\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n");
}

#[test]
fn xread_inside_multi_and_timeouts_reply_null() {
    let server = Server::start(&[]);
    let mut raw = server.raw();
    raw.roundtrip("MULTI\r\n", "+OK\r\n");
    raw.roundtrip("XREAD BLOCK 0 STREAMS s $\r\n", "+QUEUED\r\n");
    raw.roundtrip("EXEC\r\n", "*1\r\n*-1\r\n");
    let started = Instant::now();
    raw.roundtrip("XREAD BLOCK 200 STREAMS s 0\r\n", "*-1\r\n");
    assert!(started.elapsed() >= Duration::from_millis(190));
    raw.roundtrip(
        "XREADGROUP GROUP g c BLOCK 100 STREAMS s >\r\n",
        "-NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option\r\n",
    );
    raw.send(b"HELLO 3\r\n");
    let mut hello = String::new();
    while !hello.ends_with("*0\r\n") {
        hello.push_str(&raw.read_exact_len(1));
    }
    raw.roundtrip("XREAD BLOCK 100 STREAMS s 0\r\n", "_\r\n");
    raw.roundtrip("XADD s 1-0 a 1\r\n", "$3\r\n1-0\r\n");
    raw.roundtrip(
        "XREAD STREAMS s 0\r\n",
        "%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n",
    );
}

#[test]
fn xreadgroup_wakes_on_xadd_and_fails_on_delete_or_destroy() {
    let server = Server::start(&[]);
    let mut admin = server.raw();
    admin.roundtrip("XGROUP CREATE s g $ MKSTREAM\r\n", "+OK\r\n");
    let mut first = server.raw();
    first.send(b"XREADGROUP GROUP g alice BLOCK 0 STREAMS s >\r\n");
    std::thread::sleep(SETTLE);
    let mut second = server.raw();
    second.send(b"XREADGROUP GROUP g bob BLOCK 0 STREAMS s >\r\n");
    std::thread::sleep(SETTLE);
    admin.roundtrip("XADD s 1-0 f v\r\n", "$3\r\n1-0\r\n");
    first.expect("*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    let mut conn = server.conn();
    let pending = cmd(&mut conn, &["XPENDING", "s", "g", "-", "+", "10"]).unwrap();
    let Value::Array(rows) = pending else {
        panic!("{pending:?}")
    };
    assert_eq!(rows.len(), 1);
    // bob is still waiting: destroying the group answers it.
    admin.roundtrip("XGROUP DESTROY s g\r\n", ":1\r\n");
    second.expect("-NOGROUP the consumer group this client was blocked on no longer exists\r\n");
    admin.roundtrip("XGROUP CREATE s g $\r\n", "+OK\r\n");
    first.send(b"XREADGROUP GROUP g alice BLOCK 0 STREAMS s >\r\n");
    std::thread::sleep(SETTLE);
    admin.roundtrip("DEL s\r\n", ":1\r\n");
    first.expect("-UNBLOCKED the stream key no longer exists\r\n");
}

#[test]
fn generic_commands_know_streams() {
    let server = Server::start(&[]);
    let mut conn = server.conn();
    cmd(&mut conn, &["XADD", "s", "1-0", "a", "1"]).unwrap();
    cmd(&mut conn, &["XGROUP", "CREATE", "s", "g", "0"]).unwrap();
    cmd(
        &mut conn,
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"],
    )
    .unwrap();
    let text = |v: Value| match v {
        Value::SimpleString(s) => s,
        Value::BulkString(b) => String::from_utf8(b).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(text(cmd(&mut conn, &["TYPE", "s"]).unwrap()), "stream");
    assert_eq!(
        text(cmd(&mut conn, &["OBJECT", "ENCODING", "s"]).unwrap()),
        "stream"
    );
    let Value::Int(usage) = cmd(&mut conn, &["MEMORY", "USAGE", "s"]).unwrap() else {
        panic!()
    };
    assert!(usage > 0);
    cmd(&mut conn, &["COPY", "s", "s2"]).unwrap();
    cmd(&mut conn, &["RENAME", "s2", "s3"]).unwrap();
    let full = |conn: &mut redis::Connection, key: &str| {
        cmd(conn, &["XINFO", "STREAM", key, "FULL"]).unwrap()
    };
    assert_eq!(full(&mut conn, "s"), full(&mut conn, "s3"));
    let Value::Array(scan) = cmd(&mut conn, &["SCAN", "0", "TYPE", "stream"]).unwrap() else {
        panic!()
    };
    let Value::Array(keys) = &scan[1] else {
        panic!()
    };
    assert_eq!(keys.len(), 2);
    // An emptied stream stays.
    cmd(&mut conn, &["XDEL", "s", "1-0"]).unwrap();
    assert_eq!(cmd(&mut conn, &["EXISTS", "s"]).unwrap(), Value::Int(1));
}

/// A fresh directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "zedis-streams-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Drops fields a reload need not reproduce: consumers' `seen-time` (Redis does not log it either) and the
/// node counts (a rewrite packs the entries afresh).
fn mask(value: Value) -> Value {
    const MASKED: [&[u8]; 3] = [b"seen-time", b"radix-tree-keys", b"radix-tree-nodes"];
    match value {
        Value::Array(items) => {
            let mut out = Vec::new();
            let mut iter = items.into_iter().peekable();
            while let Some(item) = iter.next() {
                if matches!(&item, Value::BulkString(k) if MASKED.contains(&k.as_slice())) {
                    iter.next();
                    continue;
                }
                out.push(mask(item));
            }
            Value::Array(out)
        }
        other => other,
    }
}

/// Everything a reload must reproduce (no idle times: those are relative to now).
fn state(conn: &mut redis::Connection) -> Vec<Value> {
    let mut out = vec![cmd(conn, &["XRANGE", "s", "-", "+"]).unwrap()];
    out.push(mask(cmd(conn, &["XINFO", "STREAM", "s", "FULL"]).unwrap()));
    out.push(cmd(conn, &["XPENDING", "s", "g"]).unwrap());
    out.push(mask(cmd(conn, &["XINFO", "STREAM", "e", "FULL"]).unwrap()));
    out
}

fn wait_rewrite(conn: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let info: String = redis::cmd("INFO").arg("persistence").query(conn).unwrap();
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") {
            return;
        }
        assert!(Instant::now() < deadline, "rewrite did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn aof_reload_and_rewrite_reproduce_streams() {
    let dir = TempDir::new();
    let path = dir.0.to_str().unwrap();
    let args = [
        "--appendonly",
        "yes",
        "--dir",
        path,
        "--appendfsync",
        "always",
    ];
    let before = {
        let server = Server::start(&args);
        let mut conn = server.conn();
        for i in 0..30 {
            cmd(
                &mut conn,
                &["XADD", "s", "MAXLEN", "~", "20", "*", "n", &i.to_string()],
            )
            .unwrap();
        }
        for i in 30..35 {
            let n = i.to_string();
            let args = [
                "XADD", "s", "MAXLEN", "~", "20", "LIMIT", "100", "*", "n", &n,
            ];
            cmd(&mut conn, &args).unwrap();
        }
        cmd(&mut conn, &["XGROUP", "CREATE", "s", "g", "0"]).unwrap();
        cmd(
            &mut conn,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "alice",
                "COUNT",
                "5",
                "STREAMS",
                "s",
                ">",
            ],
        )
        .unwrap();
        cmd(
            &mut conn,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "bob",
                "NOACK",
                "COUNT",
                "2",
                "STREAMS",
                "s",
                ">",
            ],
        )
        .unwrap();
        let Value::Array(rows) = cmd(&mut conn, &["XPENDING", "s", "g", "-", "+", "1"]).unwrap()
        else {
            panic!()
        };
        let Value::Array(first) = &rows[0] else {
            panic!()
        };
        let Value::BulkString(id) = &first[0] else {
            panic!()
        };
        let id = String::from_utf8(id.clone()).unwrap();
        cmd(&mut conn, &["XCLAIM", "s", "g", "carol", "0", &id]).unwrap();
        cmd(
            &mut conn,
            &["XAUTOCLAIM", "s", "g", "dave", "0", "0", "COUNT", "1"],
        )
        .unwrap();
        cmd(&mut conn, &["XACK", "s", "g", &id]).unwrap();
        cmd(&mut conn, &["XDEL", "s", &id]).unwrap();
        cmd(&mut conn, &["XGROUP", "CREATECONSUMER", "s", "g", "erin"]).unwrap();
        cmd(&mut conn, &["XADD", "e", "MAXLEN", "0", "7-7", "x", "y"]).unwrap();
        state(&mut conn)
    };
    let after_reload = {
        let server = Server::start(&args);
        let mut conn = server.conn();
        let got = state(&mut conn);
        cmd(&mut conn, &["BGREWRITEAOF"]).unwrap();
        wait_rewrite(&mut conn);
        got
    };
    assert_eq!(before, after_reload);
    let server = Server::start(&args);
    let mut conn = server.conn();
    assert_eq!(before, state(&mut conn));
}

fn used_memory(conn: &mut redis::Connection) -> i64 {
    let info: String = redis::cmd("INFO").arg("memory").query(conn).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

#[test]
fn streams_are_charged_to_the_budget_and_refused_when_full() {
    let server = Server::start(&["--maxmemory", "4mb", "--maxmemory-policy", "noeviction"]);
    let mut conn = server.conn();
    let base = used_memory(&mut conn);
    let value = "x".repeat(100);
    let mut added = 0;
    let refused = loop {
        match cmd(&mut conn, &["XADD", "s", "*", "f", &value]) {
            Ok(_) => added += 1,
            Err(e) => break e.to_string(),
        }
        assert!(added < 1_000_000, "never refused");
    };
    assert!(refused.contains("OOM"), "{refused}");
    assert_eq!(cmd(&mut conn, &["XLEN", "s"]).unwrap(), Value::Int(added));
    let full = used_memory(&mut conn);
    // About 100 bytes of value per entry are held and charged.
    assert!(
        full - base > added * 100,
        "{full} - {base} for {added} entries"
    );
    cmd(&mut conn, &["DEL", "s"]).unwrap();
    let after = used_memory(&mut conn);
    assert!(after - base < (full - base) / 10, "{after} vs base {base}");
}

#[test]
fn xreadgroup_fails_when_its_key_changes_type() {
    let server = Server::start(&[]);
    let mut writer = server.raw();
    writer.roundtrip("XADD s 1-0 f v\r\n", "$3\r\n1-0\r\n");
    writer.roundtrip("XGROUP CREATE s g $\r\n", "+OK\r\n");
    let mut reader = server.raw();
    reader.send(b"XREADGROUP GROUP g alice BLOCK 0 STREAMS s >\r\n");
    std::thread::sleep(SETTLE);
    writer.roundtrip("SET s x\r\n", "+OK\r\n");
    reader.expect("-UNBLOCKED the stream key no longer exists\r\n");
}
