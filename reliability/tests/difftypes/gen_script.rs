//! Scripts: EVAL/EVAL_RO/EVALSHA with small deterministic Lua scripts over this fuzzer's types (reply
//! conversions both ways, errors raised and returned, RESP3 inside the script), SCRIPT EXISTS/LOAD/FLUSH,
//! FCALL/FCALL_RO on the libraries loaded at the start, FUNCTION LOAD/DELETE/LIST of one library.

use super::gen::{argv, op, Gen, Norm, Op};

/// The scripts; `SCRIPT LOAD` of each at the start gives their SHA1s (see [`Gen::shas`]).
pub const SCRIPTS: &[&str] = &[
    "return redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])",
    "return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')",
    "return redis.pcall('ZINCRBY', KEYS[1], ARGV[1], 'm')",
    "return {1, 2.9, 'x', {true, false}, nil, 7}",
    "return redis.status_reply('FINE')",
    "return redis.error_reply('MY error')",
    "return {err='custom'}",
    "error('boom')",
    "return tonumber(ARGV[1])",
    "return #KEYS + #ARGV * 100",
    "return redis.call('XADD', KEYS[1], '7-1', 'f', 'v')",
    "return redis.call('PFADD', KEYS[1], ARGV[1])",
    "return redis.call('GEOPOS', KEYS[1], ARGV[1])",
    "return redis.call('SETBIT', KEYS[1], 7, 1)",
    "return redis.call('nosuch')",
    "return redis.call('ZADD')",
    "local t = redis.call('ZRANGE', KEYS[1], 0, -1) return #t",
    "return redis.sha1hex(ARGV[1] or '')",
    "return cjson.decode('[1,2,3]')[2]",
    "return string.format('%.3f', 1/3)",
    "redis.setresp(3) return redis.call('ZSCORE', KEYS[1], ARGV[1])",
    "redis.setresp(3) return redis.call('XINFO', 'STREAM', KEYS[1])",
    "return +",
    "return 3.99",
    "return redis.call('PING')",
    "return redis.call('EVAL', 'return 1', 0)",
    "return redis.call('SORT_RO', 'so1', 'ALPHA')",
    "return redis.call('BITFIELD', KEYS[1], 'INCRBY', 'u8', '0', ARGV[1] or '1')",
    "return redis.call('XREADGROUP', 'GROUP', 'g1', 'alice', 'STREAMS', KEYS[1], '>')",
    "return redis.call('ZPOPMIN', KEYS[1])",
    "return redis.call('PFCOUNT', KEYS[1])",
    "return {double=1.5}",
    "return redis.call('ZMSCORE', KEYS[1], 'a', 'b')",
];

/// The libraries `FUNCTION LOAD`ed at the start (and reloaded with REPLACE now and then).
pub const LIBRARIES: &[&str] = &[
    "#!lua name=libz\nredis.register_function('zf', function(keys, args) \
     return redis.call('ZADD', keys[1], args[1], args[2]) end)",
    "#!lua name=libr\nredis.register_function{function_name='rf', callback=function(keys, args) \
     return redis.call('ZCARD', keys[1]) end, flags={'no-writes'}}",
];

const KEYS: &[&[u8]] = &[b"z1", b"z2", b"x1", b"g1", b"hl1", b"b1", b"so1", b"str"];
const ARGS: &[&[u8]] = &[
    b"1",
    b"a",
    b"2.5",
    b"nan",
    b"abc",
    b"-0",
    b"p1",
    b"\x00\xff",
    b"255",
];
const NUMKEYS: &[&[u8]] = &[b"1", b"1", b"1", b"0", b"2", b"-1", b"abc", b"9"];

/// Numkeys, a key and one or two arguments.
fn call_args(g: &mut Gen, a: &mut Vec<Vec<u8>>) {
    a.push(g.rng.pick(NUMKEYS).to_vec());
    a.push(g.rng.pick(KEYS).to_vec());
    for _ in 0..g.rng.below(3) {
        a.push(g.rng.pick(ARGS).to_vec());
    }
}

/// One scripting command.
pub fn scripts(g: &mut Gen) -> Op {
    let i = g.rng.below(SCRIPTS.len());
    let mut a = match g.rng.below(12) {
        0..=4 => vec![b"EVAL".to_vec(), SCRIPTS[i].as_bytes().to_vec()],
        5 => vec![b"EVAL_RO".to_vec(), SCRIPTS[i].as_bytes().to_vec()],
        6 | 7 => {
            let sha = g.shas.get(i).cloned().unwrap_or_default();
            let sha = if g.rng.chance(10) {
                b"ffffffffffffffffffffffffffffffffffffffff".to_vec()
            } else {
                sha
            };
            vec![g.rng.pick(&[b"EVALSHA", b"EVALSHA_RO"]).to_vec(), sha]
        }
        8 | 9 => {
            let f = g.rng.pick(&[b"zf", b"rf", b"nofunc"]);
            vec![
                g.rng.pick(&[b"FCALL", b"FCALL", b"FCALL_RO"]).to_vec(),
                f.to_vec(),
            ]
        }
        10 => {
            let sha = g.shas.get(i).cloned().unwrap_or_default();
            let args = match g.rng.below(8) {
                0 => argv(&[b"SCRIPT", b"FLUSH"]),
                1..=3 => argv(&[b"SCRIPT", b"LOAD", SCRIPTS[i].as_bytes()]),
                _ => argv(&[b"SCRIPT", b"EXISTS", &sha, b"0000"]),
            };
            return op(args, Norm::Exact);
        }
        _ => {
            let lib = LIBRARIES[g.rng.below(LIBRARIES.len())].as_bytes();
            let args = match g.rng.below(5) {
                0 => argv(&[b"FUNCTION", b"LOAD", lib]),
                1 => argv(&[b"FUNCTION", b"LOAD", b"REPLACE", lib]),
                2 => argv(&[
                    b"FUNCTION",
                    b"DELETE",
                    g.rng.pick(&[b"libz", b"libr", b"nolib"]),
                ]),
                3 => argv(&[b"FUNCTION", b"LIST", b"LIBRARYNAME", b"libz"]),
                _ => argv(&[b"FUNCTION", b"LOAD", b"#!lua name=bad\nreturn 1"]),
            };
            return op(args, Norm::Exact);
        }
    };
    // PFCOUNT in a read-only script is refused by Redis only (a known Zedis bug, see
    // `differential_types_bugs.rs`); allowed, it also rewrites the HLL's cached count, so the keyspaces
    // would differ afterwards: it runs in read-write scripts only.
    if matches!(a[0].as_slice(), b"EVAL_RO" | b"EVALSHA_RO") && SCRIPTS[i].contains("PFCOUNT") {
        let len = a[0].len() - 3;
        a[0].truncate(len);
    }
    call_args(g, &mut a);
    op(a, Norm::Exact)
}
