//! One key per type and encoding, built by the same commands on Zedis and on a reference redis-server, and
//! read back command by command: what the DUMP/RESTORE tests (`dump_restore.rs`) and the RDB file tests
//! (`rdb_files.rs`) compare. Also the reference server they both start and replies as text.

use redis::Value;
use zedis_testkit::RedisServer;

/// A reference redis-server with `sanitize-dump-payload yes` plus `extra` (its files in a temporary directory,
/// killed by PID on drop); `None`, with a note, when it is not installed.
pub fn redis_start(extra: &[&str]) -> Option<RedisServer> {
    if !zedis_testkit::have("redis-server") {
        return None;
    }
    let redis = RedisServer::builder()
        .args(&["--sanitize-dump-payload", "yes"])
        .args(extra)
        .start()
        .expect("redis-server starts");
    Some(redis)
}

/// A reply, errors as `CODE message` text.
pub fn q(conn: &mut redis::Connection, args: &[&[u8]]) -> Result<Value, String> {
    let mut c = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query::<Value>(conn).map_err(|e| {
        format!("{} {}", e.code().unwrap_or(""), e.detail().unwrap_or(""))
            .trim()
            .to_string()
    })
}

/// A whitespace-separated command line, as [`q`] runs it.
pub fn run(conn: &mut redis::Connection, line: &str) -> Result<Value, String> {
    let words: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
    q(conn, &words)
}

/// Commands building one key per type and encoding: `(key, commands, payload deterministic in Redis)`.
pub fn fixtures() -> Vec<(&'static str, Vec<String>, bool)> {
    let many =
        |prefix: &str, n: usize| -> String { (0..n).map(|i| format!(" {prefix}{i}")).collect() };
    let pairs = |n: usize, width: usize| -> String {
        (0..n)
            .map(|i| format!(" f{i} {}", "v".repeat(width)))
            .collect()
    };
    let scores = |n: usize| -> String { (0..n).map(|i| format!(" {}.5 m{i}", i % 17)).collect() };
    vec![
        ("s:int8", vec!["SET s:int8 100".into()], true),
        ("s:int32", vec!["SET s:int32 -2000000000".into()], true),
        ("s:int64", vec!["SET s:int64 123456789012345".into()], true),
        ("s:embstr", vec!["SET s:embstr hello".into()], true),
        (
            "s:lzf",
            vec![format!("SET s:lzf {}", "abc".repeat(100))],
            true,
        ),
        (
            "s:raw",
            vec!["SET s:raw 0123456789abcdefghijklmnopqrstuvwxyz!".into()],
            true,
        ),
        (
            "s:bits",
            vec!["SETBIT s:bits 70000 1".into(), "SETBIT s:bits 3 1".into()],
            true,
        ),
        (
            "s:append",
            vec!["APPEND s:append 12".into(), "APPEND s:append 34".into()],
            true,
        ),
        (
            "l:small",
            vec!["RPUSH l:small a b 1 -2 300000 c".into()],
            true,
        ),
        (
            "l:nodes",
            vec![format!("RPUSH l:nodes{}", many("element-number-", 2000))],
            true,
        ),
        (
            "l:big",
            vec![format!("RPUSH l:big {} x", "y".repeat(10000))],
            true,
        ),
        (
            "set:ints",
            vec!["SADD set:ints 5 -1 70000 3 9999999999".into()],
            true,
        ),
        (
            "set:ht",
            vec![format!("SADD set:ht{}", many("m", 40))],
            false,
        ),
        (
            "set:bigints",
            vec![format!("SADD set:bigints{}", many("", 600))],
            false,
        ),
        ("h:lp", vec![format!("HSET h:lp{}", pairs(10, 5))], true),
        ("h:ht", vec![format!("HSET h:ht{}", pairs(200, 3))], false),
        (
            "h:wide",
            vec![format!("HSET h:wide{}", pairs(3, 100))],
            false,
        ),
        (
            "z:lp",
            vec![
                format!("ZADD z:lp{}", scores(20)),
                "ZADD z:lp -inf lo inf hi".into(),
            ],
            true,
        ),
        ("z:skip", vec![format!("ZADD z:skip{}", scores(300))], true),
        (
            "x:plain",
            vec![
                "XADD x:plain 1-1 a 1 b 2".into(),
                "XADD x:plain 1-2 a 3 b 4".into(),
                "XADD x:plain 5-0 other x".into(),
                "XGROUP CREATE x:plain g1 1-1 ENTRIESREAD 1".into(),
                "XGROUP CREATE x:plain g0 $".into(),
            ],
            true,
        ),
        (
            "x:many",
            (0..250)
                .map(|i| format!("XADD x:many {}-0 field{} {}", i + 1, i % 3, i))
                .collect(),
            true,
        ),
        (
            "x:pel",
            vec![
                "XADD x:pel 1-0 a 1".into(),
                "XADD x:pel 2-0 a 2".into(),
                "XADD x:pel 3-0 a 3".into(),
                "XGROUP CREATE x:pel g 0".into(),
                "XREADGROUP GROUP g alice COUNT 2 STREAMS x:pel >".into(),
                "XREADGROUP GROUP g bob STREAMS x:pel >".into(),
                "XDEL x:pel 2-0".into(),
            ],
            false,
        ),
    ]
}

/// What a key holds, read back with commands (sets and hashes sorted).
pub fn contents(conn: &mut redis::Connection, key: &str) -> Vec<String> {
    let ty = match run(conn, &format!("TYPE {key}")) {
        Ok(Value::SimpleString(t)) => t,
        other => panic!("TYPE {key}: {other:?}"),
    };
    let reads: Vec<String> = match ty.as_str() {
        "string" => vec![format!("GET {key}")],
        "list" => vec![format!("LRANGE {key} 0 -1")],
        "set" => vec![format!("SMEMBERS {key}")],
        "hash" => vec![format!("HGETALL {key}")],
        "zset" => vec![format!("ZRANGE {key} 0 -1 WITHSCORES")],
        "stream" => vec![
            format!("XRANGE {key} - +"),
            format!("XINFO GROUPS {key}"),
            format!("XLEN {key}"),
        ],
        other => panic!("type {other}"),
    };
    let mut out = vec![
        ty.clone(),
        format!("{:?}", run(conn, &format!("OBJECT ENCODING {key}"))),
    ];
    for r in reads {
        let v = run(conn, &r);
        let mut text = match v {
            Ok(Value::Array(items)) if ty == "set" => {
                let mut s: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
                s.sort();
                s
            }
            Ok(Value::Array(items)) if ty == "hash" => {
                let mut s: Vec<String> = items
                    .chunks(2)
                    .map(|p| format!("{:?}={:?}", p[0], p[1]))
                    .collect();
                s.sort();
                s
            }
            other => vec![format!("{other:?}")],
        };
        out.append(&mut text);
    }
    if ty == "stream" {
        for group in ["g", "g0", "g1"] {
            let pending = format!("{:?}", run(conn, &format!("XPENDING {key} {group}")));
            out.push(pending.replace(key, "KEY"));
        }
    }
    out
}
