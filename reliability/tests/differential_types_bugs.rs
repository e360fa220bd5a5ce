//! The divergences from redis-server 7.0.15 that `differential_types.rs` found, one regression test each,
//! now fixed: each replays the exact commands on both servers and compares reply bytes.

use zedis_reliability::{Kind, Raw, ServerProcess, TempDir};
use zedis_resp::frame::encode_command;

/// Printable text for reply bytes.
fn escape(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// Sends `commands` to a fresh zedis-server and a fresh redis-server and asserts equal replies, byte for byte.
fn same_replies(commands: &[&[&[u8]]]) {
    if !zedis_reliability::redis_available() {
        eprintln!("note: redis-server not found; comparison skipped");
        return;
    }
    let mut replies = Vec::new();
    for kind in [Kind::Zedis, Kind::Redis] {
        let dir = TempDir::new("difftypes-bug");
        let server = ServerProcess::start(kind, dir.path(), &[]).expect("start");
        let mut conn = Raw::connect(server.port);
        let mut got = Vec::new();
        for args in commands {
            let mut out = Vec::new();
            encode_command(&mut out, args);
            conn.send(&out).expect("send");
            got.push(escape(&conn.reply()));
        }
        replies.push(got);
    }
    for (i, args) in commands.iter().enumerate() {
        let shown: Vec<String> = args.iter().map(|a| escape(a)).collect();
        assert_eq!(
            replies[0][i], replies[1][i],
            "command {shown:?}: zedis (left) and redis (right) differ"
        );
    }
}

#[test]
fn nogroup_error_keeps_binary_key_bytes() {
    same_replies(&[
        &[b"XADD", b"{x}\xff", b"1-1", b"f", b"v"],
        &[b"XCLAIM", b"{x}\xff", b"nogroup", b"alice", b"0", b"1-1"],
        &[b"XPENDING", b"{x}\xff", b"nogroup", b"-", b"+", b"10"],
        &[b"XAUTOCLAIM", b"{x}\xff", b"g1", b"alice", b"0", b"0"],
        &[
            b"XREADGROUP",
            b"GROUP",
            b"g\xfe",
            b"c",
            b"STREAMS",
            b"{x}\xff",
            b">",
        ],
        &[b"XPENDING", b"{x}\xff", b"no\x00group", b"-", b"+", b"10"],
        &[b"XINFO", b"CONSUMERS", b"{x}\xff", b"g\xfe\x00tail"],
        &[b"XGROUP", b"SETID", b"{x}\xff", b"g\xfe", b"0"],
        &[b"XGROUP", b"\xfe\xff\x00", b"{x}\xff"],
        &[
            b"XCLAIM",
            b"{x}\xff",
            b"g",
            b"c",
            b"0",
            b"1-1",
            b"\xff\x00x",
        ],
        &[b"EXPIRE", b"{x}\xff", b"10", b"N\xffX"],
    ]);
}

#[test]
fn pfcount_refused_in_read_only_script() {
    same_replies(&[
        &[b"PFADD", b"hl1", b"a", b"b"],
        &[
            b"EVAL_RO",
            b"return redis.call('PFCOUNT', KEYS[1])",
            b"1",
            b"hl1",
        ],
        &[b"COMMAND", b"INFO", b"PFCOUNT"],
    ]);
}

#[test]
fn fcall_unknown_function_before_numkeys() {
    same_replies(&[
        &[b"FCALL", b"nofunc", b"-1", b"k"],
        &[b"FCALL_RO", b"nofunc", b"5", b"k"],
    ]);
}

#[test]
fn zrange_by_rank_accepts_limit() {
    same_replies(&[
        &[b"ZADD", b"z", b"1", b"a", b"2", b"b", b"3", b"c"],
        &[b"ZRANGE", b"z", b"0", b"-1", b"LIMIT", b"1", b"-1"],
        &[b"ZRANGE", b"z", b"100", b"abc", b"LIMIT", b"5", b"-1"],
        &[b"ZRANGE", b"hsh", b"0", b"1", b"REV", b"LIMIT", b"1", b"-1"],
    ]);
}

#[test]
fn evalsha_short_sha_is_noscript_first() {
    same_replies(&[
        &[b"EVALSHA", b"", b"-1", b"k"],
        &[b"EVALSHA", b"abc", b"abc", b"k"],
        &[b"EVALSHA_RO", b"", b"5", b"k"],
    ]);
}

#[test]
fn xadd_id_checked_before_arity() {
    same_replies(&[
        &[b"XADD", b"x1", b"-1", b"f", b"v", b"LIMIT"],
        &[b"XADD", b"x1", b"MAXLEN", b"1", b"abc", b"f"],
        &[b"XADD", b"x1", b"1-1", b"f", b"v", b"LIMIT"],
        &[b"XADD", b"x1", b"nomkstream\x00x", b"5-1", b"f", b"v"],
        &[
            b"XADD", b"x1", b"MAXLEN", b"~\x00", b"1", b"6-1", b"f", b"v",
        ],
    ]);
}

#[test]
fn negative_zero_scores() {
    let mut zadd: Vec<Vec<u8>> = vec![b"ZADD".to_vec(), b"zz".to_vec()];
    for i in 0..130 {
        zadd.push(b"0".to_vec());
        zadd.push(format!("m{i}").into_bytes());
    }
    zadd.push(b"-0".to_vec());
    zadd.push(b"neg".to_vec());
    let zadd: Vec<&[u8]> = zadd.iter().map(|a| a.as_slice()).collect();
    same_replies(&[
        &zadd,
        &[b"ZSCAN", b"zz", b"0", b"MATCH", b"neg", b"COUNT", b"1000"],
        &[b"ZRANGE", b"zz", b"-3", b"-1", b"WITHSCORES"],
        &[
            b"ZRANGEBYSCORE",
            b"zz",
            b"-1",
            b"0",
            b"WITHSCORES",
            b"LIMIT",
            b"0",
            b"2",
        ],
        &[b"ZADD", b"small", b"0", b"d"],
        &[
            b"ZINTER",
            b"2",
            b"small",
            b"small",
            b"WEIGHTS",
            b"0.1",
            b"-0",
            b"AGGREGATE",
            b"MAX",
            b"WITHSCORES",
        ],
        &[
            b"ZUNION",
            b"2",
            b"small",
            b"small",
            b"WEIGHTS",
            b"-0",
            b"1",
            b"AGGREGATE",
            b"MIN",
            b"WITHSCORES",
        ],
    ]);
}

#[test]
fn pfadd_on_corrupt_sparse_hll_applies_as_redis() {
    let many: Vec<Vec<u8>> = (70156..72121)
        .map(|i| format!("e{i}").into_bytes())
        .collect();
    let mut pfadd: Vec<&[u8]> = vec![b"PFADD", b"hl3"];
    pfadd.extend(many.iter().map(|e| e.as_slice()));
    same_replies(&[
        &[b"PFADD", b"hl3", b"1"],
        &[b"APPEND", b"hl3", b"\x00"],
        &[b"PFADD", b"hl3", b"m e"],
        &[b"PFADD", b"hl3", b"", b""],
        &[b"PFADD", b"hl3", b"zz"],
        &[b"APPEND", b"hl3", b"\x00"],
        &pfadd,
        &[b"GET", b"hl3"],
        &[b"PFADD", b"hl3", b"new-element"],
        &[b"PFCOUNT", b"hl3"],
        &[b"PFCOUNT", b"hl3", b"nokey"],
        &[b"GET", b"hl3"],
    ]);
}

#[test]
fn zincrby_parses_zadd_flags() {
    same_replies(&[
        &[b"ZINCRBY", b"zq", b"NX", b"m"],
        &[b"ZINCRBY", b"zq", b"XX", b"m"],
    ]);
}

#[test]
fn geo_decode_of_out_of_range_scores() {
    same_replies(&[
        &[b"ZADD", b"zq", b"inf", b"a", b"1e300", b"b", b"-5", b"c"],
        &[b"GEOPOS", b"zq", b"a", b"b", b"c"],
        &[b"GEOHASH", b"zq", b"a", b"b", b"c"],
        &[b"GEODIST", b"zq", b"a", b"c"],
        &[
            b"GEOSEARCH",
            b"zq",
            b"FROMMEMBER",
            b"c",
            b"BYRADIUS",
            b"1",
            b"km",
            b"ASC",
        ],
    ]);
}

#[test]
fn script_double_reply_keeps_a_subnormal_value() {
    same_replies(&[
        &[b"ZADD", b"zq", b"1e-320", b"a"],
        &[
            b"EVAL",
            b"redis.setresp(3) return redis.call('ZSCORE', KEYS[1], ARGV[1])",
            b"1",
            b"zq",
            b"a",
        ],
    ]);
}

#[test]
fn zrangestore_keeps_zero_signs_as_redis_builds() {
    let long = [b'm'; 70];
    same_replies(&[
        &[b"CONFIG", b"SET", b"zset-max-listpack-entries", b"0"],
        &[
            b"ZADD", b"src", b"-0", b"a", b"-0", b"b", b"1", &long, b"2", b"c", b"-0", b"d",
        ],
        &[b"CONFIG", b"SET", b"zset-max-listpack-entries", b"128"],
        &[b"ZRANGESTORE", b"d", b"src", b"0", b"-1"],
        &[b"ZRANGE", b"d", b"0", b"-1", b"WITHSCORES"],
        &[b"ZRANGESTORE", b"d", b"src", b"0", b"-1", b"REV"],
        &[b"ZRANGE", b"d", b"0", b"-1", b"WITHSCORES"],
        &[b"ZRANGESTORE", b"d", b"src", b"-1", b"3", b"BYSCORE"],
        &[b"ZRANGE", b"d", b"0", b"-1", b"WITHSCORES"],
    ]);
}
