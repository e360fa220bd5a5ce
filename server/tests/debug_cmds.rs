//! DEBUG, LOLWUT and MEMORY MALLOC-STATS side by side with redis-server 7.0.15 started with
//! `--enable-debug-command yes`: the same dataset digests (every type, TTLs, logically expired keys), RELOAD
//! keeping the dataset, the default refusal, OBJECT's line, PROTOCOL and HELP byte for byte, LOLWUT's
//! version line and errors, and MALLOC-STATS's framed text.

mod common;

use common::side_by_side::Pair;
use common::Server;
use std::time::{Duration, Instant};
use zedis_resp::Frame;
use zedis_testkit::RespClient;

/// Redis and Zedis with `--enable-debug-command yes`, and a client of each: (pair, Redis's, Zedis's).
fn pair() -> Option<(Pair, RespClient, RespClient)> {
    let pair = Pair::start(&["--enable-debug-command", "yes"])?;
    let (r, z) = pair.clients();
    Some((pair, r, z))
}

/// The same dataset of every type, in two databases, some keys with a TTL.
fn fill(c: &mut RespClient) {
    for line in [
        "FLUSHALL",
        "SET s hello",
        "SET n 12345",
        "SET big 123456789012345678901234567890",
        "RPUSH l a b c 1 2 3",
        "SADD st x y z 1 2",
        "SADD ints 1 2 3 100",
        "ZADD z 1 a 2.5 b -3 c 1e300 d",
        "HSET h f v g w 1 2",
        "XADD x 1-1 a b c d",
        "XADD x 2-5 e f",
        "EXPIRE s 1000",
        "PEXPIRE h 500000",
        "SELECT 3",
        "SET other value",
        "RPUSH l3 only",
        "EXPIRE l3 9999",
        "SELECT 0",
    ] {
        let reply = c.line(line);
        assert!(!matches!(reply, Frame::Error(_)), "{line}: {reply:?}");
    }
}

fn text(frame: Frame) -> String {
    match frame {
        Frame::Simple(s) | Frame::Bulk(s) | Frame::Error(s) => String::from_utf8(s).unwrap(),
        Frame::Verbatim { text: s, .. } => String::from_utf8(s).unwrap(),
        Frame::Integer(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

#[test]
fn digest_and_digest_value_equal_redis_for_every_type_with_ttls() {
    let Some((_pair, mut r, mut z)) = pair() else {
        return;
    };
    fill(&mut r);
    fill(&mut z);
    let digest = |c: &mut RespClient| text(c.cmd(&["DEBUG", "DIGEST"]));
    assert_ne!(digest(&mut z), "0".repeat(40));
    assert_eq!(digest(&mut z), digest(&mut r));
    let keys = [
        "DEBUG",
        "DIGEST-VALUE",
        "s",
        "n",
        "big",
        "l",
        "st",
        "ints",
        "z",
        "h",
        "x",
        "nokey",
    ];
    assert_eq!(z.raw(&keys), r.raw(&keys));
    assert_eq!(
        z.raw(&["DEBUG", "DIGEST-VALUE"]),
        r.raw(&["DEBUG", "DIGEST-VALUE"])
    );
    // A logically expired key still counts (active expiry off on both).
    for c in [&mut r, &mut z] {
        assert_eq!(text(c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"])), "OK");
        c.cmd(&["SET", "gone", "soon"]);
        c.cmd(&["PEXPIRE", "gone", "1"]);
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(digest(&mut z), digest(&mut r));
    assert_eq!(
        z.raw(&["DEBUG", "DIGEST-VALUE", "gone"]),
        r.raw(&["DEBUG", "DIGEST-VALUE", "gone"])
    );
    // Empty: all zeros on both.
    z.cmd(&["FLUSHALL"]);
    r.cmd(&["FLUSHALL"]);
    assert_eq!(digest(&mut z), "0".repeat(40));
    assert_eq!(digest(&mut r), "0".repeat(40));
}

#[test]
fn reload_keeps_the_dataset_and_populate_matches_redis() {
    let Some((_pair, mut r, mut z)) = pair() else {
        return;
    };
    fill(&mut z);
    fill(&mut r);
    let before = text(z.cmd(&["DEBUG", "DIGEST"]));
    // (RELOAD NOFLUSH MERGE is not compared: Zedis reads MERGE but does not apply it yet.)
    for args in [&["DEBUG", "RELOAD"][..], &["DEBUG", "RELOAD", "NOSAVE"]] {
        assert_eq!(text(z.cmd(args)), "OK", "{args:?}");
        assert_eq!(text(z.cmd(&["DEBUG", "DIGEST"])), before, "{args:?}");
    }
    assert_eq!(text(z.cmd(&["DBSIZE"])), text(r.cmd(&["DBSIZE"])));
    for c in [&mut r, &mut z] {
        c.cmd(&["FLUSHALL"]);
        assert_eq!(text(c.cmd(&["DEBUG", "POPULATE", "50", "pre", "12"])), "OK");
        assert_eq!(text(c.cmd(&["DEBUG", "POPULATE", "60"])), "OK");
    }
    assert_eq!(text(z.cmd(&["DBSIZE"])), "110");
    assert_eq!(
        text(z.cmd(&["DEBUG", "DIGEST"])),
        text(r.cmd(&["DEBUG", "DIGEST"]))
    );
}

#[test]
fn debug_refused_by_default_with_redis_text() {
    let Some(pair) = Pair::start(&[]) else {
        return;
    };
    let (mut r, mut z) = pair.clients();
    for args in [
        &["DEBUG", "SLEEP", "0"][..],
        &["DEBUG", "HELP"],
        &["DEBUG", "nosuch"],
    ] {
        let reply = z.raw(args);
        assert!(
            reply.starts_with(b"-ERR DEBUG command not allowed."),
            "{}",
            String::from_utf8_lossy(&reply)
        );
        assert_eq!(reply, r.raw(args), "{args:?}");
    }
    assert_eq!(z.raw(&["DEBUG"]), r.raw(&["DEBUG"]));
    let set = ["CONFIG", "SET", "enable-debug-command", "yes"];
    assert_eq!(z.raw(&set), r.raw(&set));
    let get = ["CONFIG", "GET", "enable-debug-command"];
    assert_eq!(z.raw(&get), r.raw(&get));
    let local = Server::start(&["--save", "", "--enable-debug-command", "local"]);
    let mut l = RespClient::connect(local.port);
    assert_eq!(text(l.cmd(&["DEBUG", "SLEEP", "0"])), "OK");
}

/// OBJECT's line without the address (and the LRU figures, which follow the clock).
fn object_shape(c: &mut RespClient, key: &str) -> String {
    let line = text(c.cmd(&["DEBUG", "OBJECT", key]));
    line.split(' ')
        .filter(|f| {
            *f != "Value"
                && !f.starts_with("at:")
                && !f.starts_with("lru:")
                && !f.starts_with("lru_seconds_idle:")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn object_help_protocol_and_errors_as_redis() {
    let Some((_pair, mut r, mut z)) = pair() else {
        return;
    };
    fill(&mut r);
    fill(&mut z);
    for key in ["s", "n", "big", "l"] {
        assert_eq!(
            object_shape(&mut z, key),
            object_shape(&mut r, key),
            "{key}"
        );
    }
    // `list-compress-depth` is set and read back as Redis does; back at 0, a new list shows no compression.
    for depth in ["1", "0"] {
        assert_eq!(
            z.raw(&["CONFIG", "SET", "list-compress-depth", depth]),
            r.raw(&["CONFIG", "SET", "list-compress-depth", depth])
        );
        assert_eq!(
            z.raw(&["CONFIG", "GET", "list-compress-depth"]),
            r.raw(&["CONFIG", "GET", "list-compress-depth"])
        );
    }
    for c in [&mut z, &mut r] {
        c.cmd(&["RPUSH", "l2", "a", "b", "c"]);
    }
    assert!(object_shape(&mut z, "l2").contains("ql_compressed:0"));
    let line = text(z.cmd(&["DEBUG", "OBJECT", "s"]));
    assert!(
        line.starts_with("Value at:0x")
            && line.contains(" lru:")
            && line.contains(" lru_seconds_idle:"),
        "{line}"
    );
    for args in [
        &["DEBUG", "OBJECT", "nokey"][..],
        &["DEBUG", "HELP"],
        &["DEBUG", "ERROR", "SOME custom error"],
        &["DEBUG", "LISTPACK", "z"],
        &["DEBUG", "LISTPACK", "s"],
        &["DEBUG", "QUICKLIST", "s"],
        &["DEBUG", "QUICKLIST", "l2"],
        &["DEBUG", "LISTPACK", "nokey"],
        &["DEBUG", "QUICKLIST", "nokey"],
        &["DEBUG", "STRINGMATCH-TEST"],
        &["DEBUG", "LOG", "hello"],
        &["DEBUG", "nosuch"],
        &["DEBUG", "SLEEP"],
        &["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "nope"],
        &["DEBUG", "PROTOCOL", "nope"],
    ] {
        assert_eq!(z.raw(args), r.raw(args), "{args:?}");
    }
    // A switch whose machinery Zedis does not have is refused, not pretended.
    assert_eq!(
        z.raw(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100"]),
        b"-ERR DEBUG quicklist-packed-threshold is not supported by Zedis\r\n".to_vec()
    );
    for resp3 in [false, true] {
        if resp3 {
            r.cmd(&["HELLO", "3"]);
            z.cmd(&["HELLO", "3"]);
        }
        for kind in [
            "string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib",
            "push", "verbatim", "true", "false",
        ] {
            let args = ["DEBUG", "PROTOCOL", kind];
            assert_eq!(z.raw(&args), r.raw(&args), "{kind} resp3 {resp3}");
        }
    }
}

#[test]
fn sleep_blocks_then_answers_ok() {
    let zedis = Server::start(&["--save", "", "--enable-debug-command", "yes"]);
    let mut z = RespClient::connect(zedis.port);
    let started = Instant::now();
    assert_eq!(text(z.cmd(&["DEBUG", "SLEEP", "0.3"])), "OK");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(text(z.cmd(&["DEBUG", "SLEEP", "garbage"])), "OK");
}

#[test]
fn lolwut_version_line_and_errors_as_redis() {
    let Some((_pair, mut r, mut z)) = pair() else {
        return;
    };
    for args in [
        &["LOLWUT", "VERSION", "1"][..],
        &["LOLWUT", "VERSION", "x"],
        &["LOLWUT", "VERSION", "5", "x"],
        &["LOLWUT", "VERSION", "6", "1", "1", "x"],
    ] {
        assert_eq!(z.raw(args), r.raw(args), "{args:?}");
    }
    let art = text(z.cmd(&["LOLWUT"]));
    assert!(art.ends_with("Redis ver. 7.0.15\n"), "{art}");
    let art = text(z.cmd(&["LOLWUT", "VERSION", "5", "20"]));
    assert!(
        art.ends_with("Georg Nees - schotter, plotter on paper, 1968. Redis ver. 7.0.15\n"),
        "{art}"
    );
    z.cmd(&["HELLO", "3"]);
    r.cmd(&["HELLO", "3"]);
    assert_eq!(
        z.raw(&["LOLWUT", "VERSION", "1"]),
        r.raw(&["LOLWUT", "VERSION", "1"])
    );
}

#[test]
fn malloc_stats_and_jmap_answer() {
    let Some((_pair, mut r, mut z)) = pair() else {
        return;
    };
    let stats = text(z.cmd(&["MEMORY", "MALLOC-STATS"]));
    assert!(
        stats.starts_with("___ Begin zedis allocator statistics ___"),
        "{stats}"
    );
    assert!(
        stats
            .trim_end()
            .ends_with("--- End zedis allocator statistics ---"),
        "{stats}"
    );
    let jmap = text(z.cmd(&["DEBUG", "JMAP"]));
    assert!(jmap.starts_with("# Budget\r\nallocator:zedis-"), "{jmap}");
    // Same reply types as redis-server: a bulk string in RESP2, a verbatim `txt` in RESP3.
    assert!(matches!(r.cmd(&["MEMORY", "MALLOC-STATS"]), Frame::Bulk(_)));
    assert!(matches!(z.cmd(&["MEMORY", "MALLOC-STATS"]), Frame::Bulk(_)));
    r.cmd(&["HELLO", "3"]);
    z.cmd(&["HELLO", "3"]);
    assert!(matches!(
        r.cmd(&["MEMORY", "MALLOC-STATS"]),
        Frame::Verbatim { .. }
    ));
    assert!(matches!(
        z.cmd(&["MEMORY", "MALLOC-STATS"]),
        Frame::Verbatim { .. }
    ));
    let args = ["MEMORY", "MALLOC-STATS", "x"];
    assert_eq!(z.raw(&args), r.raw(&args));
    for c in [&mut r, &mut z] {
        c.cmd(&["HELLO", "2"]);
    }
    let info = ["COMMAND", "INFO", "debug", "lolwut"];
    assert_eq!(z.cmd(&info), r.cmd(&info));
}
