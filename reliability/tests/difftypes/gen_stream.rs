//! Stream commands with explicit ids only (`*` would take the wall clock): XADD with trimming, ranges,
//! XREAD (BLOCK only inside MULTI, where it does not block), consumer groups, XREADGROUP, XACK, XPENDING
//! (the extended form's idle times are ignored), XCLAIM/XAUTOCLAIM with min-idle-time 0 or one hour (so
//! the elapsed time never decides), XINFO STREAM/GROUPS (no time fields; XINFO CONSUMERS has `idle` and is
//! not generated), XSETID.

use super::gen::{argv, op, Gen, Norm, Op};

const KEYS: &[&[u8]] = &[b"x1", b"x2", b"{x}\xff"];
/// Entry ids: explicit, partial (`5-*`: the sequence is chosen), zero, the maximum, malformed.
const IDS: &[&[u8]] = &[
    b"0-1",
    b"1-0",
    b"1-1",
    b"2",
    b"3-5",
    b"5-*",
    b"7-*",
    b"100-0",
    b"0-0",
    b"0",
    b"18446744073709551615-18446744073709551615",
    b"abc",
    b"-1",
    b"1-abc",
    b"50-3",
    b"9-9",
    b"200",
];
/// Range bounds (with exclusive `(` forms and the special `-`/`+`).
const BOUNDS: &[&[u8]] = &[
    b"-", b"+", b"0", b"1-1", b"(1-1", b"3", b"(3-5", b"100", b"abc", b"(-", b"9-9",
];
const GROUPS: &[&[u8]] = &[b"g1", b"g2", b"nogroup"];
const CONSUMERS: &[&[u8]] = &[b"alice", b"bob", b"\x00c"];
const MIN_IDLE: &[&[u8]] = &[b"0", b"0", b"3600000", b"-1", b"abc"];

fn id(g: &mut Gen) -> Vec<u8> {
    g.rng.pick(IDS).to_vec()
}

fn count(g: &mut Gen, a: &mut Vec<Vec<u8>>) {
    if g.rng.chance(50) {
        a.push(b"COUNT".to_vec());
        a.push(
            g.rng
                .pick(&[b"1", b"2", b"5", b"0", b"-1", b"abc", b"100"])
                .to_vec(),
        );
    }
}

/// One stream command.
pub fn streams(g: &mut Gen, in_multi: bool) -> Op {
    let k = g.key(KEYS);
    let grp = g.rng.pick(GROUPS);
    let cons = g.rng.pick(CONSUMERS);
    let mut norm = Norm::Exact;
    let args = match g.rng.below(22) {
        0..=3 => {
            let mut a = argv(&[b"XADD", &k]);
            if g.rng.chance(10) {
                a.push(b"NOMKSTREAM".to_vec());
            }
            if g.rng.chance(15) {
                a.push(g.rng.pick(&[b"MAXLEN", b"MINID"]).to_vec());
                if g.rng.chance(50) {
                    a.push(g.rng.pick(&[b"=", b"~"]).to_vec());
                }
                a.push(
                    g.rng
                        .pick(&[b"3", b"0", b"1-1", b"10", b"-1", b"abc"])
                        .to_vec(),
                );
            }
            a.push(id(g));
            for _ in 0..1 + g.rng.below(2) {
                a.push(g.rng.pick(&[b"f", b"g", b"", b"\x00"]).to_vec());
                a.push(g.member());
            }
            a
        }
        4 => argv(&[b"XLEN", &k]),
        5 | 6 => {
            let mut a = argv(&[
                g.rng.pick(&[b"XRANGE", b"XREVRANGE"]),
                &k,
                g.rng.pick(BOUNDS),
                g.rng.pick(BOUNDS),
            ]);
            count(g, &mut a);
            a
        }
        7 => argv(&[b"XDEL", &k, &id(g), &id(g)]),
        8 => {
            let mut a = argv(&[b"XTRIM", &k, g.rng.pick(&[b"MAXLEN", b"MINID", b"SIZE"])]);
            if g.rng.chance(40) {
                a.push(g.rng.pick(&[b"=", b"~"]).to_vec());
            }
            a.push(g.rng.pick(&[b"2", b"0", b"3-5", b"5", b"-1"]).to_vec());
            if g.rng.chance(15) {
                a.extend(argv(&[b"LIMIT", b"10"]));
            }
            a
        }
        9 => {
            let mut a = argv(&[b"XREAD"]);
            count(g, &mut a);
            if in_multi && g.rng.chance(30) {
                a.extend(argv(&[b"BLOCK", b"0"]));
            }
            let k2 = g.key(KEYS);
            a.extend([b"STREAMS".to_vec(), k, k2]);
            a.push(g.rng.pick(&[b"0", b"1-1", b"$", b"abc"]).to_vec());
            a.push(g.rng.pick(&[b"0", b"3-5", b"$"]).to_vec());
            a
        }
        10 | 11 => match g.rng.below(6) {
            0 | 1 => {
                let mut a = argv(&[
                    b"XGROUP",
                    b"CREATE",
                    &k,
                    grp,
                    g.rng.pick(&[b"0", b"$", b"1-1", b"abc"]),
                ]);
                if g.rng.chance(40) {
                    a.push(b"MKSTREAM".to_vec());
                }
                if g.rng.chance(20) {
                    a.extend(argv(&[
                        b"ENTRIESREAD",
                        g.rng.pick(&[b"0", b"2", b"-1", b"abc"]),
                    ]));
                }
                a
            }
            2 => argv(&[
                b"XGROUP",
                b"SETID",
                &k,
                grp,
                g.rng.pick(&[b"0", b"$", b"3-5"]),
            ]),
            3 => argv(&[b"XGROUP", b"DESTROY", &k, grp]),
            4 => argv(&[b"XGROUP", b"CREATECONSUMER", &k, grp, cons]),
            _ => argv(&[b"XGROUP", b"DELCONSUMER", &k, grp, cons]),
        },
        12..=14 => {
            let mut a = argv(&[b"XREADGROUP", b"GROUP", grp, cons]);
            count(g, &mut a);
            if g.rng.chance(15) {
                a.push(b"NOACK".to_vec());
            }
            a.extend([b"STREAMS".to_vec(), k]);
            a.push(g.rng.pick(&[b">", b">", b"0", b"1-1", b"$"]).to_vec());
            a
        }
        15 => argv(&[b"XACK", &k, grp, &id(g), &id(g)]),
        16 | 17 => {
            let mut a = argv(&[b"XPENDING", &k, grp]);
            if g.rng.chance(70) {
                if g.rng.chance(30) {
                    a.extend(argv(&[b"IDLE", g.rng.pick(MIN_IDLE)]));
                }
                a.extend(argv(&[
                    g.rng.pick(BOUNDS),
                    g.rng.pick(BOUNDS),
                    g.rng.pick(&[b"10", b"1", b"0", b"-1"]),
                ]));
                if g.rng.chance(40) {
                    a.push(cons.to_vec());
                }
                norm = Norm::Pending;
            }
            a
        }
        18 => {
            let mut a = argv(&[b"XCLAIM", &k, grp, cons, g.rng.pick(MIN_IDLE), &id(g)]);
            if g.rng.chance(40) {
                a.push(id(g));
            }
            if g.rng.chance(20) {
                a.extend(argv(&[b"IDLE", g.rng.pick(&[b"7200000", b"0", b"-5"])]));
            }
            if g.rng.chance(20) {
                a.extend(argv(&[b"RETRYCOUNT", g.rng.pick(&[b"3", b"-1", b"abc"])]));
            }
            for opt in [&b"FORCE"[..], b"JUSTID"] {
                if g.rng.chance(20) {
                    a.push(opt.to_vec());
                }
            }
            a
        }
        19 => {
            let mut a = argv(&[
                b"XAUTOCLAIM",
                &k,
                grp,
                cons,
                g.rng.pick(MIN_IDLE),
                g.rng.pick(BOUNDS),
            ]);
            count(g, &mut a);
            if g.rng.chance(30) {
                a.push(b"JUSTID".to_vec());
            }
            a
        }
        20 => match g.rng.below(3) {
            0 => argv(&[b"XINFO", b"STREAM", &k]),
            1 => argv(&[b"XINFO", b"GROUPS", &k]),
            _ => argv(&[b"XINFO", b"NOSUCH", &k]),
        },
        _ => {
            let mut a = argv(&[
                b"XSETID",
                &k,
                g.rng.pick(&[b"100-0", b"0-1", b"1000-5", b"abc", b"5"]),
            ]);
            if g.rng.chance(40) {
                a.extend(argv(&[
                    b"ENTRIESADDED",
                    g.rng.pick(&[b"100", b"0", b"-1", b"5000"]),
                ]));
                a.extend(argv(&[
                    b"MAXDELETEDID",
                    g.rng.pick(&[b"0-1", b"50-0", b"abc"]),
                ]));
            }
            a
        }
    };
    op(args, norm)
}
