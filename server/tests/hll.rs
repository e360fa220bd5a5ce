//! HyperLogLog values move between a real redis-server 7.0 and Zedis: the same PFADD sequence yields
//! byte-identical strings, and a value copied with GET/SET either way gives the same PFCOUNT and keeps
//! growing identically.

mod common;

use common::reference::RedisProcess;
use common::Server;

/// The reference server with a `redis` crate connection.
struct Redis(RedisProcess);

impl Redis {
    fn start() -> Option<Redis> {
        RedisProcess::start(&[]).map(Redis)
    }

    fn conn(&self) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.0.port))?.get_connection()
    }
}

fn pfadd(conn: &mut redis::Connection, key: &str, elements: &[String]) -> i64 {
    redis::cmd("PFADD")
        .arg(key)
        .arg(elements)
        .query(conn)
        .unwrap()
}

fn pfcount(conn: &mut redis::Connection, keys: &[&str]) -> i64 {
    redis::cmd("PFCOUNT").arg(keys).query(conn).unwrap()
}

fn get(conn: &mut redis::Connection, key: &str) -> Vec<u8> {
    redis::cmd("GET").arg(key).query(conn).unwrap()
}

fn set(conn: &mut redis::Connection, key: &str, value: &[u8]) {
    let _: () = redis::cmd("SET").arg(key).arg(value).query(conn).unwrap();
}

/// Batches of elements: small sparse values, the sparse→dense promotion, and large dense ones.
fn batches() -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut n = 0u64;
    for size in [1, 5, 50, 200, 1000, 5000, 20000] {
        out.push((n..n + size).map(|i| format!("el:{i}")).collect());
        n += size / 2; // overlapping batches: some elements repeat
    }
    out
}

#[test]
fn hll_values_are_interchangeable_with_redis() {
    let Some(redis) = Redis::start() else {
        eprintln!("redis-server not installed: skipping the HyperLogLog interop test");
        return;
    };
    let zedis = Server::start(&[]);
    let (mut r, mut z) = (redis.conn().unwrap(), zedis.conn());
    for (i, batch) in batches().iter().enumerate() {
        assert_eq!(
            pfadd(&mut r, "h", batch),
            pfadd(&mut z, "h", batch),
            "batch {i}"
        );
        assert!(
            get(&mut r, "h") == get(&mut z, "h"),
            "bytes differ after batch {i}"
        );
        assert_eq!(
            pfcount(&mut r, &["h"]),
            pfcount(&mut z, &["h"]),
            "batch {i}"
        );
        // The cached cardinality is written the same way too.
        assert!(
            get(&mut r, "h") == get(&mut z, "h"),
            "cache differs after batch {i}"
        );

        // Redis → Zedis: copy, count, grow both, compare.
        let from_redis = get(&mut r, "h");
        set(&mut z, "copy", &from_redis);
        assert_eq!(pfcount(&mut z, &["copy"]), pfcount(&mut r, &["h"]));
        let extra: Vec<String> = (0..30).map(|j| format!("x{i}:{j}")).collect();
        pfadd(&mut z, "copy", &extra);
        set(&mut r, "copy", &from_redis);
        pfadd(&mut r, "copy", &extra);
        assert!(get(&mut r, "copy") == get(&mut z, "copy"));

        // Zedis → Redis, and a merged count over both.
        let from_zedis = get(&mut z, "copy");
        set(&mut r, "back", &from_zedis);
        assert_eq!(pfcount(&mut r, &["back"]), pfcount(&mut z, &["copy"]));
        assert_eq!(
            pfcount(&mut r, &["back", "h"]),
            pfcount(&mut z, &["copy", "h"])
        );
        let _: () = redis::cmd("PFMERGE")
            .arg(&["m", "h", "back"])
            .query(&mut r)
            .unwrap();
        set(&mut z, "back", &from_zedis);
        let _: () = redis::cmd("PFMERGE")
            .arg(&["m", "h", "back"])
            .query(&mut z)
            .unwrap();
        assert!(
            get(&mut r, "m") == get(&mut z, "m"),
            "PFMERGE differs, batch {i}"
        );
    }
    let encoding = |c: &mut redis::Connection| -> String {
        redis::cmd("PFDEBUG")
            .arg(&["ENCODING", "h"])
            .query(c)
            .unwrap()
    };
    assert_eq!(encoding(&mut z), "dense");
    assert_eq!(encoding(&mut r), encoding(&mut z));
}

#[test]
fn sparse_limit_follows_the_config() {
    let Some(redis) = Redis::start() else {
        return;
    };
    let zedis = Server::start(&["--hll-sparse-max-bytes", "100"]);
    let (mut r, mut z) = (redis.conn().unwrap(), zedis.conn());
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "hll-sparse-max-bytes", "100"])
        .query(&mut r)
        .unwrap();
    let got: Vec<String> = redis::cmd("CONFIG")
        .arg(&["GET", "hll-sparse-max-bytes"])
        .query(&mut z)
        .unwrap();
    assert_eq!(got, ["hll-sparse-max-bytes", "100"]);
    for i in 0..60 {
        let el = vec![format!("e{i}")];
        pfadd(&mut r, "h", &el);
        pfadd(&mut z, "h", &el);
        assert!(get(&mut r, "h") == get(&mut z, "h"), "differs after {i}");
    }
    let enc: String = redis::cmd("PFDEBUG")
        .arg(&["ENCODING", "h"])
        .query(&mut z)
        .unwrap();
    assert_eq!(enc, "dense");
}
