//! Sorted sets through the real binary: encodings and their thresholds (CONFIG SET), a large set
//! against a model, blocking pops (wake-up order, MULTI, timeouts), keyspace events, COPY/RENAME/MOVE,
//! and the AOF (logged pops and rewrite) surviving a restart. Byte-exact replies against Redis are in
//! `tests/compat/zsets.txt`.

mod common;

use common::{cmd, Server};
use redis::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn text(value: Value) -> String {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes).unwrap(),
        Value::SimpleString(s) => s,
        Value::Int(n) => n.to_string(),
        Value::Nil => "(nil)".to_string(),
        other => format!("{other:?}"),
    }
}

fn run(conn: &mut redis::Connection, args: &[&str]) -> String {
    text(cmd(conn, args).unwrap())
}

fn range_withscores(conn: &mut redis::Connection, key: &str) -> Vec<(String, String)> {
    let flat: Vec<String> = redis::cmd("ZRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(conn)
        .unwrap();
    flat.chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect()
}

#[test]
fn encodings_follow_the_thresholds() {
    let server = Server::start(&[]);
    let mut conn = server.conn();
    for i in 0..128 {
        run(&mut conn, &["ZADD", "z", &i.to_string(), &format!("m{i}")]);
    }
    assert_eq!(run(&mut conn, &["OBJECT", "ENCODING", "z"]), "listpack");
    run(&mut conn, &["ZADD", "z", "200", "m200"]);
    assert_eq!(run(&mut conn, &["OBJECT", "ENCODING", "z"]), "skiplist");
    assert_eq!(run(&mut conn, &["TYPE", "z"]), "zset");
    // Removing members does not convert back, as in Redis.
    run(&mut conn, &["ZREMRANGEBYRANK", "z", "0", "100"]);
    assert_eq!(run(&mut conn, &["OBJECT", "ENCODING", "z"]), "skiplist");
    // A STORE result takes the encoding its size calls for.
    run(&mut conn, &["ZUNIONSTORE", "u", "1", "z"]);
    assert_eq!(run(&mut conn, &["OBJECT", "ENCODING", "u"]), "listpack");

    run(
        &mut conn,
        &["CONFIG", "SET", "zset-max-ziplist-entries", "2"],
    );
    let got: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("zset-max-listpack-entries")
        .query(&mut conn)
        .unwrap();
    assert_eq!(got, ["zset-max-listpack-entries", "2"]);
    run(&mut conn, &["ZADD", "small", "1", "a", "2", "b"]);
    assert_eq!(run(&mut conn, &["OBJECT", "ENCODING", "small"]), "listpack");
    run(&mut conn, &["ZADD", "small", "3", "c"]);
    assert_eq!(run(&mut conn, &["OBJECT", "ENCODING", "small"]), "skiplist");
    run(
        &mut conn,
        &["CONFIG", "SET", "zset-max-listpack-value", "3"],
    );
    run(&mut conn, &["ZADD", "long", "1", "abcd"]);
    assert_eq!(run(&mut conn, &["OBJECT", "ENCODING", "long"]), "skiplist");
    let copied = run(&mut conn, &["COPY", "long", "long2"]);
    assert_eq!(copied, "1");
    assert_eq!(run(&mut conn, &["OBJECT", "ENCODING", "long2"]), "skiplist");
    assert_eq!(
        range_withscores(&mut conn, "long2"),
        vec![("abcd".to_string(), "1".to_string())]
    );
}

#[test]
fn large_set_matches_a_model() {
    let server = Server::start(&[]);
    let mut conn = server.conn();
    let mut model: BTreeMap<String, i64> = BTreeMap::new();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut pipe = redis::pipe();
    for _ in 0..3000 {
        let member = format!("m{}", next() % 2000);
        let score = (next() % 500) as i64 - 250;
        model.insert(member.clone(), score);
        pipe.cmd("ZADD").arg("big").arg(score).arg(member).ignore();
    }
    for _ in 0..300 {
        let member = format!("m{}", next() % 2000);
        model.remove(&member);
        pipe.cmd("ZREM").arg("big").arg(member).ignore();
    }
    let _: () = pipe.query(&mut conn).unwrap();
    let mut order: Vec<(String, i64)> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
    order.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    let got = range_withscores(&mut conn, "big");
    let expected: Vec<(String, String)> = order
        .iter()
        .map(|(m, s)| (m.clone(), s.to_string()))
        .collect();
    assert_eq!(got, expected);
    for (rank, (member, _)) in order.iter().enumerate().step_by(37) {
        assert_eq!(run(&mut conn, &["ZRANK", "big", member]), rank.to_string());
        let rev = order.len() - 1 - rank;
        assert_eq!(
            run(&mut conn, &["ZREVRANK", "big", member]),
            rev.to_string()
        );
    }
    let in_range = order.iter().filter(|p| (-10..=10).contains(&p.1)).count();
    assert_eq!(
        run(&mut conn, &["ZCOUNT", "big", "-10", "10"]),
        in_range.to_string()
    );
    let by_score: Vec<String> = redis::cmd("ZRANGEBYSCORE")
        .arg("big")
        .arg("(0")
        .arg("+inf")
        .arg("LIMIT")
        .arg(5)
        .arg(10)
        .query(&mut conn)
        .unwrap();
    let expected: Vec<String> = order
        .iter()
        .filter(|p| p.1 > 0)
        .skip(5)
        .take(10)
        .map(|p| p.0.clone())
        .collect();
    assert_eq!(by_score, expected);
    let popped: Vec<String> = redis::cmd("ZPOPMAX")
        .arg("big")
        .arg(3)
        .query(&mut conn)
        .unwrap();
    let top: Vec<String> = order
        .iter()
        .rev()
        .take(3)
        .flat_map(|(m, s)| [m.clone(), s.to_string()])
        .collect();
    assert_eq!(popped, top);
}

#[test]
fn blocking_pops_serve_the_oldest_waiter_and_time_out() {
    let server = Server::start(&[]);
    let mut first = server.raw();
    first.send(b"BZPOPMIN q 0\r\n");
    std::thread::sleep(Duration::from_millis(200));
    let mut second = server.raw();
    second.send(b"BZMPOP 0 2 other q MAX COUNT 2\r\n");
    std::thread::sleep(Duration::from_millis(200));
    let mut writer = server.raw();
    writer.roundtrip("ZADD q 1 a\r\n", ":1\r\n");
    first.expect("*3\r\n$1\r\nq\r\n$1\r\na\r\n$1\r\n1\r\n");
    writer.roundtrip("ZADD q 2 b 3 c 4 d\r\n", ":3\r\n");
    second
        .expect("*2\r\n$1\r\nq\r\n*2\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n");
    writer.roundtrip("ZRANGE q 0 -1\r\n", "*1\r\n$1\r\nb\r\n");

    let started = Instant::now();
    writer.roundtrip("BZPOPMAX none 0.2\r\n", "*-1\r\n");
    assert!(started.elapsed() >= Duration::from_millis(190));
    writer.roundtrip("BZPOPMIN none -1\r\n", "-ERR timeout is negative\r\n");
    writer.roundtrip("SET s x\r\n", "+OK\r\n");
    writer.roundtrip(
        "BZPOPMIN s 0\r\n",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    // Inside MULTI a blocking pop does not block.
    writer.roundtrip("MULTI\r\n", "+OK\r\n");
    writer.roundtrip("BZPOPMIN none 0\r\n", "+QUEUED\r\n");
    writer.roundtrip("BZMPOP 0 1 none MIN\r\n", "+QUEUED\r\n");
    writer.roundtrip("EXEC\r\n", "*2\r\n*-1\r\n*-1\r\n");
}

#[test]
fn keyspace_events_use_the_z_class() {
    let server = Server::start(&["--notify-keyspace-events", "KEz"]);
    let mut sub = server.raw();
    sub.roundtrip(
        "PSUBSCRIBE __keyevent@0__:*\r\n",
        "*3\r\n$10\r\npsubscribe\r\n$16\r\n__keyevent@0__:*\r\n:1\r\n",
    );
    let mut conn = server.conn();
    run(&mut conn, &["ZADD", "k", "1", "a"]);
    run(&mut conn, &["ZINCRBY", "k", "1", "a"]);
    run(&mut conn, &["ZPOPMIN", "k"]);
    let mut expected = String::new();
    for event in ["zadd", "zincr", "zpopmin"] {
        let channel = format!("__keyevent@0__:{event}");
        expected.push_str(&format!(
            "*4\r\n$8\r\npmessage\r\n$16\r\n__keyevent@0__:*\r\n${}\r\n{channel}\r\n$1\r\nk\r\n",
            channel.len()
        ));
    }
    sub.expect(&expected);
}

#[test]
fn rename_and_move_keep_the_sorted_set() {
    let server = Server::start(&[]);
    let mut conn = server.conn();
    run(&mut conn, &["ZADD", "a", "1.5", "x", "2", "y"]);
    run(&mut conn, &["RENAME", "a", "b"]);
    assert_eq!(run(&mut conn, &["ZSCORE", "b", "x"]), "1.5");
    assert_eq!(run(&mut conn, &["MOVE", "b", "1"]), "1");
    run(&mut conn, &["SELECT", "1"]);
    assert_eq!(run(&mut conn, &["ZCARD", "b"]), "2");
    let scan: Vec<Value> = redis::cmd("SCAN")
        .arg(0)
        .arg("TYPE")
        .arg("zset")
        .query(&mut conn)
        .unwrap();
    assert_eq!(
        format!("{:?}", scan[1]),
        format!("{:?}", Value::Array(vec![Value::BulkString(b"b".to_vec())]))
    );
    let usage: i64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg("b")
        .query(&mut conn)
        .unwrap();
    assert!(usage > 0);
}

fn wait_rewrite_done(conn: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let info: String = redis::cmd("INFO").arg("persistence").query(conn).unwrap();
        if info.contains("aof_rewrite_in_progress:0") && !info.contains("aof_rewrites:0") {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("rewrite did not finish");
}

#[test]
fn aof_replays_pops_and_geo_and_rewrites_as_zadd() {
    let dir = std::env::temp_dir().join(format!("zedis-zset-aof-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let dir_arg = dir.to_str().unwrap();
    let args = ["--appendonly", "yes", "--dir", dir_arg];
    let expected;
    {
        let server = Server::start(&args);
        let mut conn = server.conn();
        run(
            &mut conn,
            &["ZADD", "z", "0.1", "a", "-inf", "b", "3", "c", "1e300", "d"],
        );
        run(&mut conn, &["ZINCRBY", "z", "0.2", "a"]);
        run(&mut conn, &["ZADD", "z", "INCR", "1", "c"]);
        run(&mut conn, &["ZPOPMIN", "z"]);
        for i in 0..200 {
            run(
                &mut conn,
                &["ZADD", "big", &format!("{i}.25"), &format!("member-{i}")],
            );
        }
        let _: Value = cmd(&mut conn, &["BGREWRITEAOF"]).unwrap();
        wait_rewrite_done(&mut conn);
        run(&mut conn, &["ZMPOP", "1", "big", "MAX", "COUNT", "3"]);
        run(&mut conn, &["BZPOPMIN", "big", "0"]);
        run(&mut conn, &["ZRANGESTORE", "copy", "big", "0", "9"]);
        run(
            &mut conn,
            &[
                "GEOADD",
                "geo",
                "13.361389",
                "38.115556",
                "Palermo",
                "15.087269",
                "37.502669",
                "Catania",
            ],
        );
        run(
            &mut conn,
            &[
                "GEOSEARCHSTORE",
                "near",
                "geo",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "100",
                "km",
                "STOREDIST",
            ],
        );
        expected = (
            range_withscores(&mut conn, "z"),
            range_withscores(&mut conn, "big"),
            range_withscores(&mut conn, "copy"),
            range_withscores(&mut conn, "geo"),
            range_withscores(&mut conn, "near"),
        );
        assert_eq!(
            expected.3[0],
            ("Palermo".to_string(), "3479099956230698".to_string())
        );
        assert_eq!(expected.4.len(), 1);
        assert_eq!(expected.1.len(), 196);
    }
    let server = Server::start(&args);
    let mut conn = server.conn();
    let got = (
        range_withscores(&mut conn, "z"),
        range_withscores(&mut conn, "big"),
        range_withscores(&mut conn, "copy"),
        range_withscores(&mut conn, "geo"),
        range_withscores(&mut conn, "near"),
    );
    assert_eq!(got, expected);
    assert_eq!(
        got.0[0],
        ("a".to_string(), "0.30000000000000004".to_string())
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_full_budget_refuses_writes_without_losing_the_set() {
    let mut server = Server::start(&["--maxmemory", "3mb", "--maxmemory-policy", "noeviction"]);
    let mut conn = server.conn();
    let value = "v".repeat(200);
    let mut added = 0u64;
    let mut refused = false;
    for i in 0..100_000 {
        match cmd(
            &mut conn,
            &["ZADD", "full", &i.to_string(), &format!("{value}{i}")],
        ) {
            Ok(_) => added += 1,
            Err(e) => {
                assert!(e.to_string().contains("OOM"), "{e}");
                refused = true;
                break;
            }
        }
    }
    assert!(refused, "3mb never filled");
    assert!(server.alive());
    assert_eq!(run(&mut conn, &["ZCARD", "full"]), added.to_string());
    let last = format!("{value}{}", added - 1);
    assert_eq!(
        run(&mut conn, &["ZRANK", "full", &last]),
        (added - 1).to_string()
    );
    run(&mut conn, &["DEL", "full"]);
    assert_eq!(run(&mut conn, &["ZADD", "again", "1", "a"]), "1");
}
