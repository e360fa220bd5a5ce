//! `list-compress-depth` 1 and 2 (LZF-compressed inner quicklist nodes): every list command's reply on
//! big lists equals a real redis-server 7.0.15 started with the same depth, the encoding stays
//! `quicklist`, and compression really lowers `MEMORY USAGE`.

mod common;

use common::reference::RedisProcess;
use common::{cmd, connect_when_ready, Server};
use redis::Value;

/// A small deterministic generator (no seed files, same sequence on both servers).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// A compressible value (LZF finds repeats) or, one time in eight, a small integer.
fn value(rng: &mut Lcg) -> String {
    match rng.next(8) {
        0 => rng.next(2000).to_string(),
        k => format!("v{}:{}", rng.next(300), "abc".repeat(k as usize * 4)),
    }
}

/// One random list command on `key` (plus `other` for the two-key ones).
fn random_command(rng: &mut Lcg, key: &str, other: &str) -> Vec<String> {
    let i = |rng: &mut Lcg| (rng.next(4000) as i64 - 2000).to_string();
    let words: Vec<String> = match rng.next(16) {
        0 | 1 => vec!["LPUSH".into(), key.into(), value(rng), value(rng)],
        2 | 3 => vec!["RPUSH".into(), key.into(), value(rng), value(rng)],
        4 => vec!["LRANGE".into(), key.into(), i(rng), i(rng)],
        5 => vec!["LINDEX".into(), key.into(), i(rng)],
        6 => vec!["LSET".into(), key.into(), i(rng), value(rng)],
        7 => vec![
            "LINSERT".into(),
            key.into(),
            if rng.next(2) == 0 { "BEFORE" } else { "AFTER" }.into(),
            value(rng),
            value(rng),
        ],
        8 => vec![
            "LREM".into(),
            key.into(),
            (rng.next(7) as i64 - 3).to_string(),
            value(rng),
        ],
        9 => vec![
            "LPOS".into(),
            key.into(),
            value(rng),
            "RANK".into(),
            "-1".into(),
        ],
        10 => vec![
            "LPOS".into(),
            key.into(),
            value(rng),
            "COUNT".into(),
            "0".into(),
        ],
        11 => vec!["RPOPLPUSH".into(), key.into(), other.into()],
        12 => vec![
            "LMOVE".into(),
            other.into(),
            key.into(),
            "LEFT".into(),
            "RIGHT".into(),
        ],
        13 => vec!["LPOP".into(), key.into(), rng.next(5).to_string()],
        14 => vec!["RPOP".into(), key.into()],
        _ => {
            if rng.next(6) == 0 {
                vec![
                    "LTRIM".into(),
                    key.into(),
                    (rng.next(50)).to_string(),
                    "-1".into(),
                ]
            } else {
                vec!["LLEN".into(), key.into()]
            }
        }
    };
    words
}

fn run(conn: &mut redis::Connection, words: &[String]) -> Result<Value, String> {
    let args: Vec<&str> = words.iter().map(String::as_str).collect();
    cmd(conn, &args).map_err(|e| e.to_string())
}

fn compare_with_redis(depth: &str, seed: u64) {
    let Some(redis) = RedisProcess::start(&["--list-compress-depth", depth]) else {
        return;
    };
    let zedis = Server::start(&["--list-compress-depth", depth]);
    let mut r = connect_when_ready(redis.port);
    let mut z = zedis.conn();
    let mut rng = Lcg(seed);
    // Big lists first: thousands of elements, hundreds of nodes, all inner ones compressed.
    for key in ["big", "other"] {
        for _ in 0..40 {
            let mut words = vec!["RPUSH".to_string(), key.to_string()];
            words.extend((0..100).map(|_| value(&mut rng)));
            assert_eq!(run(&mut z, &words), run(&mut r, &words));
        }
    }
    for step in 0..3000 {
        let words = random_command(&mut rng, "big", "other");
        assert_eq!(
            run(&mut z, &words),
            run(&mut r, &words),
            "step {step}: {words:?}"
        );
    }
    for key in ["big", "other"] {
        let full = vec![
            "LRANGE".to_string(),
            key.to_string(),
            "0".into(),
            "-1".into(),
        ];
        assert_eq!(run(&mut z, &full), run(&mut r, &full));
        let enc = vec!["OBJECT".to_string(), "ENCODING".into(), key.to_string()];
        assert_eq!(run(&mut z, &enc), run(&mut r, &enc));
    }
}

#[test]
fn depth_1_replies_match_redis() {
    compare_with_redis("1", 7);
}

#[test]
fn depth_2_replies_match_redis() {
    compare_with_redis("2", 11);
}

fn memory_usage(conn: &mut redis::Connection, key: &str) -> i64 {
    match cmd(conn, &["MEMORY", "USAGE", key, "SAMPLES", "0"]) {
        Ok(Value::Int(n)) => n,
        other => panic!("MEMORY USAGE {key}: {other:?}"),
    }
}

#[test]
fn compression_lowers_memory_usage_and_config_set_applies_to_new_lists() {
    let zedis = Server::start(&[]);
    let mut z = zedis.conn();
    let fill = |z: &mut redis::Connection, key: &str| {
        for chunk in 0..50 {
            let mut words = vec!["RPUSH".to_string(), key.to_string()];
            words.extend((0..200).map(|i| {
                format!(
                    "user:{}:session:{}",
                    (chunk * 200 + i) % 500,
                    "x".repeat(16)
                )
            }));
            run(z, &words).unwrap();
        }
    };
    fill(&mut z, "plain");
    assert_eq!(
        run(
            &mut z,
            &[
                "CONFIG".into(),
                "SET".into(),
                "list-compress-depth".into(),
                "1".into()
            ]
        ),
        Ok(Value::Okay)
    );
    assert_eq!(
        run(
            &mut z,
            &["CONFIG".into(), "GET".into(), "list-compress-depth".into()]
        ),
        Ok(Value::Array(vec![
            Value::BulkString(b"list-compress-depth".to_vec()),
            Value::BulkString(b"1".to_vec())
        ]))
    );
    fill(&mut z, "packed");
    let (plain, packed) = (
        memory_usage(&mut z, "plain"),
        memory_usage(&mut z, "packed"),
    );
    println!("MEMORY USAGE of 10000 elements: depth 0 {plain} bytes, depth 1 {packed} bytes");
    assert!(packed * 2 < plain, "depth 1 {packed} vs depth 0 {plain}");
    let all = |z: &mut redis::Connection, key: &str| {
        run(z, &["LRANGE".into(), key.into(), "0".into(), "-1".into()]).unwrap()
    };
    assert_eq!(all(&mut z, "plain"), all(&mut z, "packed"));
    // Reads leave the list compressed (decompressed copies are dropped again).
    let after = memory_usage(&mut z, "packed");
    assert!(after * 2 < plain, "after LRANGE {after} vs depth 0 {plain}");
    assert_eq!(
        run(
            &mut z,
            &["OBJECT".into(), "ENCODING".into(), "packed".into()]
        ),
        Ok(Value::BulkString(b"quicklist".to_vec()))
    );
    // Out of range, as Redis.
    let bad = run(
        &mut z,
        &[
            "CONFIG".into(),
            "SET".into(),
            "list-compress-depth".into(),
            "-1".into(),
        ],
    );
    assert!(bad
        .unwrap_err()
        .contains("argument must be between 0 and 2147483647"));
}
