//! `zedis_rdb::digest` against a real redis-server 7.0: for every key of a dataset holding every type and
//! encoding (plus sorted-set scores that print in unusual ways), the digest of the value read back from
//! redis-server's DUMP payload equals its `DEBUG DIGEST-VALUE`, and the dataset digest equals `DEBUG DIGEST`.

mod common;

use common::fill::fill;
use common::{have, Client, Redis, Reply, TempDir};
use zedis_rdb::digest::{hex, value_digest, DatasetDigest};
use zedis_rdb::{decode_dump_payload, Limits, RdbValue};

/// Sorted sets whose scores test the `%.17g` text, in both encodings, and values of every small encoding.
fn fill_scores(c: &mut Client) {
    let scores = [
        "0",
        "-0",
        "1.5",
        "0.1",
        "-2.5e-300",
        "1e300",
        "inf",
        "-inf",
        "123456789012345678",
        "3",
    ];
    for (i, s) in scores.iter().enumerate() {
        c.ok(&["ZADD", "z:small", s, &format!("m{i}")]);
        c.ok(&["ZADD", "z:small", s, &format!("{i}")]);
    }
    for i in 0..300 {
        let s = scores[i % scores.len()];
        c.ok(&["ZADD", "z:big", s, &format!("member:{i}")]);
    }
    c.ok(&["SADD", "s:ints", "1", "-5", "1000000"]);
    c.ok(&["HSET", "h:ints", "1", "2", "f", "-3"]);
    c.ok(&["RPUSH", "l:ints", "7", "x", "-9223372036854775808"]);
    c.ok(&["SET", "s:ttl", "12"]);
    c.ok(&["EXPIRE", "s:ttl", "100000"]);
    c.ok(&["HSET", "h:ttl", "a", "b"]);
    c.ok(&["PEXPIRE", "h:ttl", "100000000"]);
}

fn keys_of(c: &mut Client) -> Vec<Vec<u8>> {
    let mut keys = Vec::new();
    let mut cursor = "0".to_string();
    loop {
        let reply = c.ok(&["SCAN", &cursor, "COUNT", "1000"]).items();
        cursor = reply[0].text();
        keys.extend(reply[1].items().iter().map(Reply::bytes));
        if cursor == "0" {
            return keys;
        }
    }
}

fn value_of(c: &mut Client, key: &[u8]) -> (RdbValue, bool) {
    let payload = c.cmd_bytes(&[b"DUMP", key]).bytes();
    let value = decode_dump_payload(&payload, Limits::default()).expect("redis-server's payload");
    let ttl = match c.cmd_bytes(&[b"PTTL", key]) {
        Reply::Int(n) => n,
        other => panic!("PTTL -> {other:?}"),
    };
    (value, ttl >= 0)
}

#[test]
fn digests_match_redis_debug_digest() {
    if !have("redis-server") {
        eprintln!("note: redis-server not installed, skipped");
        return;
    }
    let dir = TempDir::new("rdb-digest");
    let redis = Redis::start(dir.path(), "dump.rdb", &["--enable-debug-command", "yes"]);
    let mut c = redis.client();
    let empty = c.ok(&["DEBUG", "DIGEST"]).text();
    assert_eq!(empty, hex(&DatasetDigest::new().finish()));
    fill(&mut c);
    fill_scores(&mut c);

    let mut dataset = DatasetDigest::new();
    let mut compared = 0;
    for db in 0..16u32 {
        c.ok(&["SELECT", &db.to_string()]);
        let keys = keys_of(&mut c);
        if keys.is_empty() {
            continue;
        }
        dataset.database(db);
        for key in keys {
            let (value, has_expire) = value_of(&mut c, &key);
            let want = match c.cmd_bytes(&[b"DEBUG", b"DIGEST-VALUE", &key]) {
                Reply::Array(Some(items)) => items[0].text(),
                other => panic!("DEBUG DIGEST-VALUE -> {other:?}"),
            };
            let name = String::from_utf8_lossy(&key).into_owned();
            assert_eq!(
                hex(&value_digest(&value, has_expire)),
                want,
                "key {name} in db {db}"
            );
            dataset.key(&key, &value, has_expire);
            compared += 1;
        }
    }
    assert!(compared >= 30, "only {compared} keys compared");
    c.ok(&["SELECT", "0"]);
    assert_eq!(hex(&dataset.finish()), c.ok(&["DEBUG", "DIGEST"]).text());
    let missing = c.cmd(&["DEBUG", "DIGEST-VALUE", "no-such-key"]).items();
    assert_eq!(missing[0].text(), "0".repeat(40));
}
