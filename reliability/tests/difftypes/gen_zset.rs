//! Sorted-set commands: ZADD and its flags, ranges by rank/score/lex with REV/LIMIT/WITHSCORES, exclusive
//! bounds, set algebra with WEIGHTS/AGGREGATE, pops (blocking ones inside MULTI only, where they do not
//! block), NaN/inf/-0 scores. ZRANDMEMBER is compared by shape (a random pick); ZSCAN as cursor + pairs.
//!
//! Lex ranges are only defined when all members have the same score (Redis documents the result as
//! unspecified otherwise: it walks from the first member >= min in score order and stops at the first
//! member > max, and a skiplist's random levels change where the walk starts). Lex commands therefore use
//! [`LEX_KEYS`], whose members are always added with score 0, or keys of other types.

use super::gen::{argv, op, Gen, Norm, Op};

const KEYS: &[&[u8]] = &[b"z1", b"z2", b"z3", b"{z}\x00"];
/// Sorted sets whose members all have score 0 (the lex commands' keys); never written by other commands.
const LEX_KEYS: &[&[u8]] = &[b"zl1", b"zl2", b"zl3"];
/// Scores: valid, infinite, NaN, `-0`, out of range, malformed.
const SCORES: &[&[u8]] = &[
    b"1",
    b"2",
    b"-1",
    b"0",
    b"-0",
    b"1.5",
    b"inf",
    b"-inf",
    b"+inf",
    b"nan",
    b"abc",
    b"1e400",
    b"0.1",
    b"3.0000000000000001",
    b"1e-320",
    b"9007199254740993",
    b"",
    b"(1",
    b"5",
    b"-2.5",
    b"1e308",
];
/// Score range bounds: inclusive, exclusive, infinite, malformed.
const SCORE_BOUNDS: &[&[u8]] = &[
    b"-inf", b"+inf", b"inf", b"(1", b"1", b"0", b"(0", b"2.5", b"nan", b"abc", b"-0", b"(-0",
    b"(inf", b"(-inf", b"[1", b"5", b"(5", b"-1",
];
/// Lex range bounds.
const LEX_BOUNDS: &[&[u8]] = &[
    b"-", b"+", b"[a", b"(a", b"[b", b"(c", b"a", b"[", b"(", b"[\x00", b"[zz", b"(zz", b"[m e",
    b"-a",
];

fn score(g: &mut Gen) -> Vec<u8> {
    g.rng.pick(SCORES).to_vec()
}

/// `[LIMIT offset count]` sometimes.
fn limit(g: &mut Gen, a: &mut Vec<Vec<u8>>) {
    if g.rng.chance(35) {
        a.push(b"LIMIT".to_vec());
        a.push(g.int());
        a.push(g.int());
    }
}

/// One sorted-set command (`in_multi`: blocking pops allowed, since they do not block there).
pub fn zsets(g: &mut Gen, in_multi: bool) -> Op {
    let k = g.key(KEYS);
    let k2 = g.key(KEYS);
    let lk = g.rng.pick(LEX_KEYS).to_vec();
    let (m, m2) = (g.member(), g.member());
    let mut norm = Norm::Exact;
    let args = match g.rng.below(30) {
        0..=4 => {
            let mut a = argv(&[b"ZADD", &k]);
            for flag in [&b"NX"[..], b"XX", b"GT", b"LT", b"CH", b"INCR"] {
                if g.rng.chance(10) {
                    a.push(flag.to_vec());
                }
            }
            let n = if g.rng.chance(5) {
                60 + g.rng.below(100)
            } else {
                1 + g.rng.below(3)
            };
            for i in 0..n {
                let s = if n > 10 {
                    format!("{}", i % 37).into_bytes()
                } else {
                    score(g)
                };
                a.push(s);
                a.push(g.member());
            }
            a
        }
        5 => argv(&[b"ZINCRBY", &k, &score(g), &m]),
        6 => argv(&[b"ZSCORE", &k, &m]),
        7 => argv(&[b"ZMSCORE", &k, &m, &m2, b"nosuch"]),
        8 => argv(&[b"ZCARD", &k]),
        9 => argv(&[
            b"ZCOUNT",
            &k,
            g.rng.pick(SCORE_BOUNDS),
            g.rng.pick(SCORE_BOUNDS),
        ]),
        10 => argv(&[
            b"ZLEXCOUNT",
            &lk,
            g.rng.pick(LEX_BOUNDS),
            g.rng.pick(LEX_BOUNDS),
        ]),
        11..=13 => {
            let store = g.rng.chance(20);
            let by = g.rng.below(3);
            let src = if by == 2 { &lk } else { &k };
            let mut a = if store {
                argv(&[b"ZRANGESTORE", &k2, src])
            } else {
                argv(&[b"ZRANGE", src])
            };
            let pool = match by {
                0 => &[
                    &b"0"[..],
                    b"1",
                    b"-1",
                    b"2",
                    b"-2",
                    b"100",
                    b"abc",
                    b"(1",
                    b"-100",
                ][..],
                1 => SCORE_BOUNDS,
                _ => LEX_BOUNDS,
            };
            a.push(g.rng.pick(pool).to_vec());
            a.push(g.rng.pick(pool).to_vec());
            match by {
                1 => a.push(b"BYSCORE".to_vec()),
                2 => a.push(b"BYLEX".to_vec()),
                _ => {}
            }
            if g.rng.chance(30) {
                a.push(b"REV".to_vec());
            }
            // LIMIT by rank: Redis ignores it, Zedis refuses it (a known bug, differential_types_bugs.rs),
            // and ZRANGESTORE's keyspaces would then differ.
            if by != 0 {
                limit(g, &mut a);
            }
            if !store && g.rng.chance(40) {
                a.push(b"WITHSCORES".to_vec());
            }
            a
        }
        14 => {
            let name = g.rng.pick(&[b"ZRANGEBYSCORE", b"ZREVRANGEBYSCORE"]);
            let mut a = argv(&[name, &k, g.rng.pick(SCORE_BOUNDS), g.rng.pick(SCORE_BOUNDS)]);
            if g.rng.chance(40) {
                a.push(b"WITHSCORES".to_vec());
            }
            limit(g, &mut a);
            a
        }
        15 => {
            let name = g.rng.pick(&[b"ZRANGEBYLEX", b"ZREVRANGEBYLEX"]);
            let mut a = argv(&[name, &lk, g.rng.pick(LEX_BOUNDS), g.rng.pick(LEX_BOUNDS)]);
            limit(g, &mut a);
            a
        }
        16 => {
            let name = g.rng.pick(&[b"ZREVRANGE", b"ZRANK", b"ZREVRANK"]);
            if name == b"ZREVRANGE" {
                let mut a = argv(&[name, &k, &g.int(), &g.int()]);
                if g.rng.chance(40) {
                    a.push(b"WITHSCORES".to_vec());
                }
                a
            } else {
                argv(&[name, &k, &m])
            }
        }
        17 => argv(&[b"ZREM", &k, &m, &m2]),
        18 => match g.rng.below(3) {
            0 => argv(&[b"ZREMRANGEBYRANK", &k, &g.int(), &g.int()]),
            1 => argv(&[
                b"ZREMRANGEBYSCORE",
                &k,
                g.rng.pick(SCORE_BOUNDS),
                g.rng.pick(SCORE_BOUNDS),
            ]),
            _ => argv(&[
                b"ZREMRANGEBYLEX",
                &lk,
                g.rng.pick(LEX_BOUNDS),
                g.rng.pick(LEX_BOUNDS),
            ]),
        },
        19 => {
            let mut a = argv(&[g.rng.pick(&[b"ZPOPMIN", b"ZPOPMAX"]), &k]);
            if g.rng.chance(50) {
                a.push(g.int());
            }
            a
        }
        20 => {
            let mut a = argv(&[
                b"ZMPOP",
                &g.int(),
                &k,
                &k2,
                g.rng.pick(&[b"MIN", b"MAX", b"MID"]),
            ]);
            if g.rng.chance(40) {
                a.push(b"COUNT".to_vec());
                a.push(g.int());
            }
            a
        }
        21 if in_multi => match g.rng.below(3) {
            0 => argv(&[b"BZPOPMIN", &k, &k2, b"0"]),
            1 => argv(&[b"BZPOPMAX", &k, b"0.5"]),
            _ => argv(&[b"BZMPOP", b"0", b"2", &k, &k2, b"MAX", b"COUNT", b"2"]),
        },
        21..=24 => return algebra(g, &k, &k2),
        25 => {
            norm = Norm::Shape;
            let mut a = argv(&[b"ZRANDMEMBER", &k]);
            if g.rng.chance(70) {
                a.push(
                    g.rng
                        .pick(&[b"0", b"1", b"3", b"-3", b"-1", b"50", b"abc"])
                        .to_vec(),
                );
                if g.rng.chance(40) {
                    a.push(b"WITHSCORES".to_vec());
                }
            }
            a
        }
        26 => {
            norm = Norm::ScanPairs;
            argv(&[b"ZSCAN", &k, b"0", b"COUNT", b"1000"])
        }
        27 => {
            let mut a = argv(&[
                b"ZINTERCARD",
                g.rng.pick(&[b"1", b"2", b"0", b"-1", b"3"]),
                &k,
                &k2,
            ]);
            if g.rng.chance(40) {
                a.push(b"LIMIT".to_vec());
                a.push(g.int());
            }
            a
        }
        28 => {
            let mut a = argv(&[b"ZADD", b"zl1"]);
            if g.rng.chance(15) {
                a[1] = b"zl2".to_vec();
            }
            for flag in [&b"NX"[..], b"XX", b"CH"] {
                if g.rng.chance(10) {
                    a.push(flag.to_vec());
                }
            }
            for _ in 0..1 + g.rng.below(4) {
                a.push(b"0".to_vec());
                a.push(g.member());
            }
            a
        }
        _ => argv(&[b"DEL", &k]),
    };
    op(args, norm)
}

/// ZUNION/ZINTER/ZDIFF and their STORE forms, with WEIGHTS and AGGREGATE (sets are valid inputs too).
fn algebra(g: &mut Gen, k: &[u8], k2: &[u8]) -> Op {
    let kind = g.rng.below(3);
    let store = g.rng.chance(40);
    let names: [&[u8]; 6] = [
        b"ZUNION",
        b"ZINTER",
        b"ZDIFF",
        b"ZUNIONSTORE",
        b"ZINTERSTORE",
        b"ZDIFFSTORE",
    ];
    let mut a = vec![names[kind + if store { 3 } else { 0 }].to_vec()];
    if store {
        a.push(g.key(KEYS));
    }
    let n = g
        .rng
        .pick(&[b"1", b"2", b"2", b"3", b"0", b"-1", b"abc"])
        .to_vec();
    a.push(n);
    a.push(k.to_vec());
    a.push(k2.to_vec());
    if g.rng.chance(30) {
        a.push(g.rng.pick(&[b"set", b"z3", b"lst"]).to_vec());
    }
    if kind != 2 && g.rng.chance(40) {
        a.push(b"WEIGHTS".to_vec());
        for _ in 0..2 {
            a.push(g.rng.pick(SCORES).to_vec());
        }
    }
    if kind != 2 && g.rng.chance(40) {
        a.push(b"AGGREGATE".to_vec());
        a.push(
            g.rng
                .pick(&[b"SUM", b"MIN", b"MAX", b"max", b"AVG"])
                .to_vec(),
        );
    }
    if !store && g.rng.chance(50) {
        a.push(b"WITHSCORES".to_vec());
    }
    op(a, Norm::Exact)
}
