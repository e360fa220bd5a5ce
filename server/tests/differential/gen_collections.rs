//! Generators for the collection families: lists, sets and hashes.

use super::gen::{args, Gen, Norm, Op};

/// A list command (non-blocking pops and moves; the blocking ones are generated inside MULTI only).
pub fn lists(g: &mut Gen) -> Op {
    let (k, k2) = (g.pick_key(), g.pick_key());
    let (v, i, j) = (g.pick_value(), g.pick_int(), g.pick_int());
    let a = match g.rng.below(17) {
        0..=2 => {
            let name = g
                .rng
                .pick(&[b"LPUSH", b"RPUSH", b"LPUSHX", b"RPUSHX", b"RPUSH"]);
            let mut a = args(&[name, k]);
            g.push_values(&mut a);
            a
        }
        3 | 4 => {
            let mut a = args(&[g.rng.pick(&[b"LPOP", b"RPOP"]), k]);
            if g.rng.chance(40) {
                a.push(i.to_vec());
            }
            a
        }
        5 => args(&[b"LLEN", k]),
        6 | 7 => args(&[b"LRANGE", k, i, j]),
        8 => args(&[b"LINDEX", k, i]),
        9 => args(&[b"LSET", k, i, v]),
        10 => args(&[b"LREM", k, i, v]),
        11 => args(&[b"LTRIM", k, i, j]),
        12 => {
            let side = g.rng.pick(&[b"BEFORE", b"AFTER", b"after", b"NEAR"]);
            args(&[b"LINSERT", k, side, g.pick_value(), v])
        }
        13 => {
            let mut a = args(&[b"LPOS", k, v]);
            for _ in 0..g.rng.below(3) {
                let opt = g.rng.pick(&[b"RANK", b"COUNT", b"MAXLEN", b"FOO"]);
                a.extend(args(&[opt, g.pick_int()]));
            }
            a
        }
        14 => args(&[b"LMOVE", k, k2, g.pick_side(), g.pick_side()]),
        15 => args(&[b"RPOPLPUSH", k, k2]),
        _ => {
            let n = g.rng.pick(&[b"1", b"2", b"0", b"-1", b"x", b"3"]);
            let mut a = args(&[b"LMPOP", n]);
            g.push_keys(&mut a);
            a.push(g.pick_side().to_vec());
            if g.rng.chance(50) {
                a.extend(args(&[b"COUNT", i]));
            }
            a
        }
    };
    g.op(a, Norm::Exact)
}

/// A set command; random picks (SPOP, SRANDMEMBER, SSCAN) only when `random_ok` (outside MULTI).
pub fn sets(g: &mut Gen, random_ok: bool) -> Op {
    let (k, k2) = (g.pick_key(), g.pick_key());
    let v = g.pick_value();
    let (a, norm) = match g.rng.below(17) {
        0..=3 => {
            let mut a = args(&[g.rng.pick(&[b"SADD", b"SADD", b"SREM"]), k]);
            g.push_values(&mut a);
            (a, Norm::Exact)
        }
        4 => (args(&[b"SMEMBERS", k]), Norm::Multiset),
        5 => (args(&[b"SISMEMBER", k, v]), Norm::Exact),
        6 => {
            let mut a = args(&[b"SMISMEMBER", k]);
            g.push_values(&mut a);
            (a, Norm::Exact)
        }
        7 => (args(&[b"SCARD", k]), Norm::Exact),
        8 if random_ok => {
            let mut a = args(&[b"SPOP", k]);
            if g.rng.chance(50) {
                a.push(g.pick_int().to_vec());
            }
            let mut op = g.op(a, Norm::Shape);
            op.fixup = Some(args(&[b"DEL", k]));
            return op;
        }
        9 if random_ok => {
            let mut a = args(&[b"SRANDMEMBER", k]);
            if g.rng.chance(60) {
                a.push(g.pick_int().to_vec());
            }
            (a, Norm::Shape)
        }
        10 | 11 => {
            let mut a = args(&[g.rng.pick(&[b"SINTER", b"SUNION", b"SDIFF"])]);
            g.push_keys(&mut a);
            (a, Norm::Multiset)
        }
        12 => {
            let name = g.rng.pick(&[b"SINTERSTORE", b"SUNIONSTORE", b"SDIFFSTORE"]);
            let mut a = args(&[name, k]);
            g.push_keys(&mut a);
            (a, Norm::Exact)
        }
        13 => {
            let n = g.rng.pick(&[b"1", b"2", b"0", b"-1", b"x", b"3"]);
            let mut a = args(&[b"SINTERCARD", n]);
            g.push_keys(&mut a);
            if g.rng.chance(40) {
                a.extend(args(&[b"LIMIT", g.pick_int()]));
            }
            (a, Norm::Exact)
        }
        14 => (args(&[b"SMOVE", k, k2, v]), Norm::Exact),
        15 if random_ok => {
            let mut a = args(&[b"SSCAN", k, b"0"]);
            if g.rng.chance(40) {
                a.extend(args(&[b"MATCH", g.pick_pattern()]));
            }
            a.extend(args(&[b"COUNT", b"1000"]));
            (a, Norm::Scan)
        }
        _ => (args(&[b"SADD", k, v]), Norm::Exact),
    };
    g.op(a, norm)
}

/// A hash command; random picks (HRANDFIELD, HSCAN) only when `random_ok` (outside MULTI).
pub fn hashes(g: &mut Gen, random_ok: bool) -> Op {
    let k = g.pick_key();
    let (f, v) = (g.pick_value(), g.pick_value());
    let (a, norm) = match g.rng.below(16) {
        0..=2 => {
            let mut a = args(&[g.rng.pick(&[b"HSET", b"HSET", b"HMSET"]), k]);
            for _ in 0..1 + g.rng.below(3) {
                a.extend(args(&[g.pick_value(), g.pick_value()]));
            }
            (a, Norm::Exact)
        }
        3 => (args(&[b"HSETNX", k, f, v]), Norm::Exact),
        4 => (args(&[b"HGET", k, f]), Norm::Exact),
        5 => {
            let mut a = args(&[b"HMGET", k]);
            g.push_values(&mut a);
            (a, Norm::Exact)
        }
        6 => {
            let mut a = args(&[b"HDEL", k]);
            g.push_values(&mut a);
            (a, Norm::Exact)
        }
        7 => (args(&[b"HEXISTS", k, f]), Norm::Exact),
        8 => (args(&[b"HLEN", k]), Norm::Exact),
        9 => (args(&[b"HGETALL", k]), Norm::Pairs),
        10 => (
            args(&[g.rng.pick(&[b"HKEYS", b"HVALS"]), k]),
            Norm::Multiset,
        ),
        11 => (args(&[b"HINCRBY", k, f, g.pick_int()]), Norm::Exact),
        12 => (args(&[b"HINCRBYFLOAT", k, f, g.pick_float()]), Norm::Exact),
        13 => (args(&[b"HSTRLEN", k, f]), Norm::Exact),
        14 if random_ok => {
            let mut a = args(&[b"HRANDFIELD", k]);
            if g.rng.chance(60) {
                a.push(g.pick_int().to_vec());
                if g.rng.chance(50) {
                    a.push(b"WITHVALUES".to_vec());
                }
            }
            (a, Norm::Shape)
        }
        15 if random_ok => {
            let mut a = args(&[b"HSCAN", k, b"0"]);
            if g.rng.chance(40) {
                a.extend(args(&[b"MATCH", g.pick_pattern()]));
            }
            a.extend(args(&[b"COUNT", b"1000"]));
            (a, Norm::ScanPairs)
        }
        _ => (args(&[b"HGET", k, f]), Norm::Exact),
    };
    g.op(a, norm)
}
