//! Geo, bitmap/BITFIELD, HyperLogLog and SORT commands.
//!
//! Geo members have distinct positions (each member's coordinates come from its own cell), so distance ties
//! are practically impossible and ASC/DESC/COUNT results compare exactly; results with no order asked
//! (Redis returns them in geohash-box scan order) compare as multisets, `COUNT n ANY` by shape.
//! SORT is deterministic in Redis (numeric ties are broken by comparing the elements), except `BY nosort`
//! on a set (hash-table order) and `BY pattern ALPHA` (ties between equal or missing weights are left to
//! the quicksort): those compare as multisets and never take LIMIT or STORE.

use super::gen::{argv, op, Gen, Norm, Op};

const GEO_KEYS: &[&[u8]] = &[b"g1", b"g2", b"z1"];
const GEO_MEMBERS: &[&[u8]] = &[b"p0", b"p1", b"p2", b"p3", b"p4", b"p5", b"\x00p6", b"a"];
const UNITS: &[&[u8]] = &[b"m", b"km", b"mi", b"ft", b"KM", b"yd"];
const RADII: &[&[u8]] = &[
    b"0", b"100", b"5000", b"2000", b"20000", b"-1", b"abc", b"1e9", b"40000",
];

/// The coordinates of geo member `i` (valid), or an invalid pair one time in twelve.
fn position(g: &mut Gen, i: usize) -> (Vec<u8>, Vec<u8>) {
    if g.rng.chance(8) {
        let bad: &[&[u8]] = &[b"181", b"-180.5", b"86", b"abc", b"nan", b"inf", b""];
        return (g.rng.pick(bad).to_vec(), format!("{}", i).into_bytes());
    }
    let jitter = [0.0, 0.0013, 0.37, 1.9][g.rng.below(4)];
    let lon = -20.0 + 5.0 * i as f64 + jitter;
    let lat = 10.0 + 3.0 * i as f64 - jitter;
    (format!("{lon}").into_bytes(), format!("{lat}").into_bytes())
}

/// One geo command.
pub fn geo(g: &mut Gen) -> Op {
    let k = g.key(GEO_KEYS);
    let mi = g.rng.below(GEO_MEMBERS.len());
    let m = GEO_MEMBERS[mi];
    let m2 = g.rng.pick(GEO_MEMBERS);
    let pi = g.rng.below(8);
    let (lon, lat) = position(g, pi);
    let unit = g.rng.pick(UNITS);
    let radius = g.rng.pick(RADII);
    let mut norm = Norm::Exact;
    let args = match g.rng.below(12) {
        0..=2 => {
            let mut a = argv(&[b"GEOADD", &k]);
            for flag in [&b"NX"[..], b"XX", b"CH"] {
                if g.rng.chance(8) {
                    a.push(flag.to_vec());
                }
            }
            for _ in 0..1 + g.rng.below(3) {
                let i = g.rng.below(GEO_MEMBERS.len());
                let (lon, lat) = position(g, i);
                a.extend([lon, lat, GEO_MEMBERS[i].to_vec()]);
            }
            a
        }
        3 => argv(&[b"GEOPOS", &k, m, m2, b"nosuch"]),
        4 => {
            let mut a = argv(&[b"GEODIST", &k, m, m2]);
            if g.rng.chance(60) {
                a.push(unit.to_vec());
            }
            a
        }
        5 => argv(&[b"GEOHASH", &k, m, m2, b"nosuch"]),
        6..=8 => {
            let store = g.rng.chance(20);
            let mut a = if store {
                argv(&[b"GEOSEARCHSTORE", b"g3", &k])
            } else {
                argv(&[b"GEOSEARCH", &k])
            };
            if g.rng.chance(50) {
                a.extend(argv(&[b"FROMMEMBER", m]));
            } else {
                a.extend([b"FROMLONLAT".to_vec(), lon, lat]);
            }
            if g.rng.chance(60) {
                a.extend(argv(&[b"BYRADIUS", radius, unit]));
            } else {
                a.extend(argv(&[b"BYBOX", radius, g.rng.pick(RADII), unit]));
            }
            norm = search_options(g, &mut a, !store);
            if store && g.rng.chance(40) {
                a.push(b"STOREDIST".to_vec());
            }
            if store {
                norm = Norm::Exact;
            }
            a
        }
        9 => {
            let mut a = argv(&[g.rng.pick(&[b"GEORADIUS", b"GEORADIUS_RO"]), &k]);
            a.extend([lon, lat, radius.to_vec(), unit.to_vec()]);
            norm = search_options(g, &mut a, true);
            a
        }
        10 => {
            let mut a = argv(&[
                g.rng.pick(&[b"GEORADIUSBYMEMBER", b"GEORADIUSBYMEMBER_RO"]),
                &k,
                m,
            ]);
            a.extend([radius.to_vec(), unit.to_vec()]);
            norm = search_options(g, &mut a, true);
            a
        }
        _ => argv(&[b"ZRANGE", &k, b"0", b"-1", b"WITHSCORES"]),
    };
    op(args, norm)
}

/// ASC/DESC, COUNT [ANY], WITH* options; returns how the reply compares.
fn search_options(g: &mut Gen, a: &mut Vec<Vec<u8>>, with: bool) -> Norm {
    let mut sorted = false;
    let mut any = false;
    if g.rng.chance(50) {
        a.push(g.rng.pick(&[b"ASC", b"DESC"]).to_vec());
        sorted = true;
    }
    if g.rng.chance(40) {
        a.push(b"COUNT".to_vec());
        a.push(
            g.rng
                .pick(&[b"1", b"2", b"3", b"0", b"-1", b"abc", b"100"])
                .to_vec(),
        );
        // Redis sorts ascending when COUNT is given without ANY and without an order.
        sorted = true;
        if g.rng.chance(30) {
            a.push(b"ANY".to_vec());
            any = true;
        }
    }
    if with {
        for opt in [&b"WITHCOORD"[..], b"WITHDIST", b"WITHHASH"] {
            if g.rng.chance(30) {
                a.push(opt.to_vec());
            }
        }
    }
    if any {
        Norm::Shape
    } else if sorted {
        Norm::Exact
    } else {
        Norm::Multiset
    }
}

const BIT_KEYS: &[&[u8]] = &[b"b1", b"b2", b"b3"];
/// Bit offsets: small, large within limits (a few hundred KB at most), out of range, malformed.
const BIT_OFFSETS: &[&[u8]] = &[
    b"0",
    b"1",
    b"7",
    b"8",
    b"13",
    b"100",
    b"1000",
    b"65535",
    b"999999",
    b"-1",
    b"4294967296",
    b"abc",
    b"",
];
const BF_TYPES: &[&[u8]] = &[
    b"i1", b"u1", b"i8", b"u8", b"i16", b"u16", b"i32", b"u32", b"i63", b"i64", b"u63", b"u64",
    b"i0", b"x8", b"u", b"I8",
];
const BF_OFFSETS: &[&[u8]] = &[
    b"0",
    b"1",
    b"7",
    b"13",
    b"#0",
    b"#3",
    b"100",
    b"-1",
    b"abc",
    b"#-1",
    b"4294967296",
];
const BF_VALUES: &[&[u8]] = &[
    b"1",
    b"-1",
    b"127",
    b"128",
    b"255",
    b"-129",
    b"9223372036854775807",
    b"abc",
    b"100000",
    b"0",
    b"-9223372036854775808",
];

/// `[start end [BYTE|BIT]]` sometimes.
fn bit_range(g: &mut Gen, a: &mut Vec<Vec<u8>>, end_optional: bool) {
    if g.rng.chance(60) {
        a.push(g.int());
        if !end_optional || g.rng.chance(70) {
            a.push(g.int());
            if g.rng.chance(40) {
                a.push(g.rng.pick(&[b"BYTE", b"BIT", b"bit", b"WORD"]).to_vec());
            }
        }
    }
}

/// One bitmap or BITFIELD command.
pub fn bitmaps(g: &mut Gen) -> Op {
    let k = g.key(BIT_KEYS);
    let k2 = g.key(BIT_KEYS);
    let args = match g.rng.below(12) {
        0..=2 => argv(&[
            b"SETBIT",
            &k,
            g.rng.pick(BIT_OFFSETS),
            g.rng.pick(&[b"0", b"1", b"1", b"2", b"-1"]),
        ]),
        3 => argv(&[b"GETBIT", &k, g.rng.pick(BIT_OFFSETS)]),
        4 => {
            let mut a = argv(&[b"BITCOUNT", &k]);
            bit_range(g, &mut a, false);
            a
        }
        5 => {
            let mut a = argv(&[b"BITPOS", &k, g.rng.pick(&[b"0", b"1", b"2"])]);
            bit_range(g, &mut a, true);
            a
        }
        6 => {
            let opname = g
                .rng
                .pick(&[b"AND", b"OR", b"XOR", b"NOT", b"and", b"NAND"]);
            let mut a = argv(&[b"BITOP", opname, g.rng.pick(BIT_KEYS), &k]);
            if g.rng.chance(60) {
                a.push(k2.clone());
            }
            a
        }
        7..=9 => {
            let ro = g.rng.chance(20);
            let mut a = argv(&[if ro { &b"BITFIELD_RO"[..] } else { b"BITFIELD" }, &k]);
            for _ in 0..1 + g.rng.below(4) {
                let (t, o) = (g.rng.pick(BF_TYPES), g.rng.pick(BF_OFFSETS));
                // Writes only at small offsets (a write at offset 2^32-1 would allocate 512 MB).
                let small = !matches!(o, b"4294967296");
                match g.rng.below(if ro { 1 } else { 4 }) {
                    0 => a.extend(argv(&[b"GET", t, o])),
                    1 if small => a.extend(argv(&[b"SET", t, o, g.rng.pick(BF_VALUES)])),
                    2 if small => a.extend(argv(&[b"INCRBY", t, o, g.rng.pick(BF_VALUES)])),
                    _ => a.extend(argv(&[
                        b"OVERFLOW",
                        g.rng.pick(&[b"WRAP", b"SAT", b"FAIL", b"NONE"]),
                    ])),
                }
            }
            a
        }
        10 => match g.rng.below(3) {
            0 => argv(&[
                b"SET",
                &k,
                g.rng
                    .pick(&[b"\xff\xf0\x00", b"foobar", b"", b"\x00\x00\x01"]),
            ]),
            1 => argv(&[b"SETRANGE", &k, g.rng.pick(&[b"0", b"3", b"100"]), b"\x81z"]),
            _ => argv(&[b"STRLEN", &k]),
        },
        _ => argv(&[b"GET", &k]),
    };
    op(args, Norm::Exact)
}

const HLL_KEYS: &[&[u8]] = &[b"hl1", b"hl2", b"hl3"];

/// One HyperLogLog command; GET compares the raw HLL string (sparse or dense, with its cached count).
pub fn hll(g: &mut Gen) -> Op {
    let k = g.key(HLL_KEYS);
    let args = match g.rng.below(8) {
        0..=2 => {
            let mut a = argv(&[b"PFADD", &k]);
            let n = if g.rng.chance(10) {
                200 + g.rng.below(2000)
            } else {
                g.rng.below(4)
            };
            let base = g.rng.below(100_000);
            for i in 0..n {
                if n > 10 {
                    a.push(format!("e{}", base + i).into_bytes());
                } else {
                    a.push(g.member());
                }
            }
            a
        }
        3 | 4 => {
            let mut a = argv(&[b"PFCOUNT", &k]);
            if g.rng.chance(40) {
                a.push(g.key(HLL_KEYS));
            }
            a
        }
        5 => argv(&[b"PFMERGE", g.rng.pick(HLL_KEYS), &k, &g.key(HLL_KEYS)]),
        6 => argv(&[b"GET", &k]),
        // Corrupt HLLs only through an invalid header: a sparse HLL with bytes appended makes Redis apply
        // part of a PFADD before answering INVALIDOBJ, Zedis none (see differential_types_bugs.rs), and the
        // keyspaces would differ from then on.
        _ => match g.rng.below(2) {
            0 => argv(&[b"SET", &k, b"HYLLjunk"]),
            _ => argv(&[b"DEL", &k]),
        },
    };
    op(args, Norm::Exact)
}

const SORT_KEYS: &[&[u8]] = &[b"so1", b"so2", b"so3"];
/// Elements for SORT: numeric values distinct as numbers, words, one high byte (no NUL, which `strcoll`
/// would stop at).
const SORT_VALUES: &[&[u8]] = &[
    b"3", b"1", b"10", b"-2", b"2.5", b"7", b"abc", b"b", b"a", b"\xffx", b"1e2",
];

/// One SORT command, or a write that prepares its inputs (lists, sets, sorted sets, weight keys).
pub fn sort(g: &mut Gen) -> Op {
    let k = g.key(SORT_KEYS);
    let v = g.rng.pick(SORT_VALUES);
    let args = match g.rng.below(10) {
        0 => argv(&[b"RPUSH", b"so1", v, g.rng.pick(SORT_VALUES)]),
        1 => argv(&[b"SADD", b"so2", v, g.rng.pick(SORT_VALUES)]),
        2 => argv(&[b"ZADD", b"so3", g.rng.pick(&[b"1", b"2", b"0"]), v]),
        3 => {
            let w = [b"w_".to_vec(), v.to_vec()].concat();
            argv(&[b"SET", &w, g.rng.pick(&[b"5", b"1", b"-3", b"x", b"2"])])
        }
        4 => {
            let h = [b"hw_".to_vec(), v.to_vec()].concat();
            argv(&[b"HSET", &h, b"f", g.rng.pick(&[b"9", b"1", b"0.5"])])
        }
        5 => argv(&[b"LRANGE", b"sodst", b"0", b"-1"]),
        _ => return sort_command(g, k),
    };
    op(args, Norm::Exact)
}

fn sort_command(g: &mut Gen, k: Vec<u8>) -> Op {
    let ro = g.rng.chance(20);
    let mut a = vec![
        if ro {
            b"SORT_RO".to_vec()
        } else {
            b"SORT".to_vec()
        },
        k.clone(),
    ];
    let (mut nosort, mut by_pattern) = (false, false);
    if g.rng.chance(40) {
        let by = g.rng.pick(&[b"nosort", b"w_*", b"hw_*->f", b"nokey_*"]);
        nosort = by == b"nosort";
        by_pattern = !nosort;
        a.extend(argv(&[b"BY", by]));
    }
    for _ in 0..g.rng.below(3) {
        a.push(b"GET".to_vec());
        a.push(g.rng.pick(&[b"#", b"w_*", b"hw_*->f", b"*"]).to_vec());
    }
    if g.rng.chance(30) {
        a.push(g.rng.pick(&[b"ASC", b"DESC"]).to_vec());
    }
    let alpha = g.rng.chance(40);
    if alpha {
        a.push(b"ALPHA".to_vec());
    }
    let unordered = (nosort && !matches!(k.as_slice(), b"so1" | b"so3")) || (by_pattern && alpha);
    // LIMIT only where the order is defined (a LIMIT of an unspecified order picks unspecified elements).
    if !unordered && g.rng.chance(30) {
        a.push(b"LIMIT".to_vec());
        a.push(g.int());
        a.push(g.int());
    }
    if !ro && !unordered && g.rng.chance(20) {
        a.extend(argv(&[b"STORE", b"sodst"]));
    }
    // A set's order under BY nosort is its hash-table order; under ALPHA with a BY pattern Redis leaves
    // ties (equal or missing weights) to its quicksort (sortCompare answers 0), an unspecified order.
    let norm = if unordered {
        Norm::Multiset
    } else {
        Norm::Exact
    };
    op(a, norm)
}
