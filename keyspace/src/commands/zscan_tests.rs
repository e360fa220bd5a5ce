//! ZSCAN against a real redis-server 7.0.15: the same commands, the same reply bytes for `listpack` sets
//! (every member at once, cursor 0, whatever the cursor), the same members for paged `skiplist` sets.

use crate::commands::{hashes, sets, zsets, Ctx, Effects};
use crate::{Keyspace, KeyspaceConfig};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use zedis_kv_pool::SystemAlloc;
use zedis_resp::Protocol;
use zedis_testkit::{Frame, RedisServer, RespClient};

pub(crate) type A = SystemAlloc;

/// A redis-server (`zedis_testkit::RedisServer`: a free port, its files in a temp dir, killed by PID on
/// drop) and a connection to it, once it has loaded its dump.
pub(crate) struct Reference {
    server: RedisServer,
    conn: RespClient,
}

impl Reference {
    /// `None` when redis-server cannot be started.
    pub(crate) fn start() -> Option<Reference> {
        Reference::start_with(&[], None)
    }

    /// As [`Reference::start`], with extra command-line arguments, and `dump` as the `dump.rdb` it loads.
    pub(crate) fn start_with(extra: &[&str], dump: Option<&[u8]>) -> Option<Reference> {
        let mut builder = RedisServer::builder().args(extra);
        if let Some(bytes) = dump {
            builder = builder.file("dump.rdb", bytes);
        }
        let server = builder.start().ok()?;
        let mut conn = server.client();
        let deadline = Instant::now() + Duration::from_secs(30);
        // Loading a dump answers -LOADING until it is done.
        while conn.cmd(&["PING"]) != Frame::Simple(b"PONG".to_vec()) {
            assert!(
                Instant::now() < deadline,
                "redis-server did not load its dump"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Reference { server, conn })
    }

    /// The directory holding its files (`dump.rdb` after a SAVE).
    pub(crate) fn dir(&self) -> &std::path::Path {
        &self.server.dir
    }

    /// Sends `words` and returns the reply's bytes.
    pub(crate) fn call(&mut self, words: &[&[u8]]) -> Vec<u8> {
        self.conn.send(words);
        self.conn.read_raw().0
    }
}

/// Runs one command through Zedis's handler; returns its reply bytes.
pub(crate) fn ours(ks: &mut Keyspace<A>, words: &[&[u8]]) -> Vec<u8> {
    let mut fx = Effects::default();
    let mut out = Vec::new();
    let mut ctx = Ctx {
        argv: words,
        out: &mut out,
        proto: Protocol::Resp2,
        db: 0,
        now_ms: 1_000_000,
        fx: &mut fx,
    };
    let name = words[0].to_ascii_lowercase();
    match name.as_slice() {
        b"zadd" => zsets::zadd(ks, &mut ctx),
        b"zscan" => zsets::zscan(ks, &mut ctx),
        b"sadd" => sets::sadd(ks, &mut ctx),
        b"srem" => sets::srem(ks, &mut ctx),
        b"sscan" => sets::sscan(ks, &mut ctx),
        b"hset" => hashes::hset(ks, &mut ctx),
        b"hdel" => hashes::hdel(ks, &mut ctx),
        b"hscan" => hashes::hscan(ks, &mut ctx),
        other => panic!("no handler for {other:?}"),
    }
    out
}

pub(crate) fn split(line: &str) -> Vec<&[u8]> {
    line.split_whitespace().map(str::as_bytes).collect()
}

/// The `(cursor, items)` of a ZSCAN/SSCAN/HSCAN reply.
pub(crate) fn parse_page(reply: &[u8]) -> (u64, Vec<Vec<u8>>) {
    let text = String::from_utf8_lossy(reply);
    let lines: Vec<&str> = text.split("\r\n").collect();
    // *2, $n, cursor, *m, then $len / item pairs.
    let cursor = lines[2].parse().unwrap();
    let items = lines[4..]
        .iter()
        .skip(1)
        .step_by(2)
        .map(|s| s.as_bytes().to_vec())
        .collect();
    (cursor, items)
}

#[test]
fn zscan_replies_as_redis_server() {
    let mut redis = Reference::start().expect("a free port and a temp dir");
    let mut ks = Keyspace::<A>::new(1, KeyspaceConfig::default());
    let script = [
        "zadd z 1 a 2 b 3 c -0 d 1.5 e 1e300 f",
        "zscan z 0",
        "zscan z 7",
        "zscan z 123456789 COUNT 1",
        "zscan z 0 MATCH [ab]*",
        "zscan z 0 COUNT 1 MATCH nothing",
        "zscan nokey 0",
        "zscan nokey 5",
        "zscan z abc",
        "zscan z -1",
        "zscan z 0 COUNT 0",
        "zscan z 0 COUNT x",
        "zscan z 0 MATCH",
        "zscan z 0 FOO bar",
    ];
    for line in script {
        let words = split(line);
        assert_eq!(
            String::from_utf8_lossy(&ours(&mut ks, &words)),
            String::from_utf8_lossy(&redis.call(&words)),
            "{line}"
        );
    }
    // A skiplist set: both page it (a nonzero cursor first) and return the same members and scores.
    for n in 0..300 {
        let line = format!("zadd big {} m{n}", n % 7);
        let words = split(&line);
        ours(&mut ks, &words);
        redis.call(&words);
    }
    let full_scan = |call: &mut dyn FnMut(&[&[u8]]) -> Vec<u8>| {
        let (mut cursor, mut pairs, mut first_cursor) = (0u64, BTreeSet::new(), None);
        loop {
            let text = cursor.to_string();
            let (next, items) = parse_page(&call(&split(&format!("zscan big {text} COUNT 20"))));
            first_cursor.get_or_insert(next);
            pairs.extend(items.chunks(2).map(|p| (p[0].clone(), p[1].clone())));
            cursor = next;
            if cursor == 0 {
                return (first_cursor, pairs);
            }
        }
    };
    let (our_first, our_pairs) = full_scan(&mut |w| ours(&mut ks, w));
    let (redis_first, redis_pairs) = full_scan(&mut |w| redis.call(w));
    assert_ne!(our_first, Some(0));
    assert_ne!(redis_first, Some(0));
    assert_eq!(our_pairs.len(), 300);
    assert_eq!(our_pairs, redis_pairs);
}
