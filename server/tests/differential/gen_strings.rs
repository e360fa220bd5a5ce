//! Generators for strings and expiry: SET and its options, GETEX, counters, ranges, LCS, EXPIRE and TTLs.

use super::gen::{args as argv, Gen, Norm, Op};

/// Second durations: valid ones are long (nothing expires mid-run), plus zero, negative and malformed.
const TTLS: &[&[u8]] = &[
    b"100",
    b"5000",
    b"100000",
    b"0",
    b"-1",
    b"abc",
    b"9223372036854775807",
    b"1.5",
];
/// Millisecond durations: long enough that nothing expires between the two servers' commands.
const PTTLS: &[&[u8]] = &[
    b"100000",
    b"5000000",
    b"0",
    b"-1",
    b"abc",
    b"9223372036854775807",
    b"1.5",
];
/// Absolute times: past (the key goes at once) or after 2100, plus invalid ones.
const ATS: &[&[u8]] = &[b"1", b"4102444800", b"4102444800000", b"0", b"-5", b"x"];

/// A string command.
pub fn strings(g: &mut Gen) -> Op {
    let k = g.pick_key();
    let v = g.pick_value();
    let i = g.pick_int();
    let args = match g.rng.below(22) {
        0 | 1 => argv(&[b"GET", k]),
        2..=4 => {
            let mut a = argv(&[b"SET", k, v]);
            set_options(g, &mut a);
            a
        }
        5 => argv(&[b"SETNX", k, v]),
        6 => argv(&[b"SETEX", k, g.rng.pick(TTLS), v]),
        7 => argv(&[b"PSETEX", k, g.rng.pick(PTTLS), v]),
        8 => argv(&[b"GETSET", k, v]),
        9 => argv(&[b"GETDEL", k]),
        10 => {
            let mut a = argv(&[b"GETEX", k]);
            for _ in 0..g.rng.below(3) {
                match g.rng.below(6) {
                    0 => a.extend(argv(&[b"EX", g.rng.pick(TTLS)])),
                    1 => a.extend(argv(&[b"PX", g.rng.pick(PTTLS)])),
                    2 => a.extend(argv(&[b"EXAT", g.rng.pick(ATS)])),
                    3 => a.extend(argv(&[b"PERSIST"])),
                    4 => a.extend(argv(&[b"KEEPTTL"])),
                    _ => a.extend(argv(&[b"PXAT", g.rng.pick(ATS)])),
                }
            }
            a
        }
        11 => {
            let mut a = argv(&[b"MGET"]);
            g.push_keys(&mut a);
            a
        }
        12 | 13 => {
            let mut a = argv(&[if g.rng.chance(70) { b"MSET" } else { b"MSETNX" }]);
            for _ in 0..1 + g.rng.below(3) {
                a.extend(argv(&[g.pick_key(), g.pick_value()]));
            }
            a
        }
        14 => argv(&[g.rng.pick(&[b"INCR", b"DECR"]), k]),
        15 => argv(&[g.rng.pick(&[b"INCRBY", b"DECRBY"]), k, i]),
        16 => argv(&[b"INCRBYFLOAT", k, g.pick_float()]),
        17 => argv(&[b"APPEND", k, v]),
        18 => argv(&[b"STRLEN", k]),
        19 => argv(&[g.rng.pick(&[b"GETRANGE", b"SUBSTR"]), k, i, g.pick_int()]),
        20 => {
            let offset = g
                .rng
                .pick(&[b"0", b"1", b"5", b"20", b"-1", b"abc", b"536870912"]);
            argv(&[b"SETRANGE", k, offset, v])
        }
        _ => {
            let mut a = argv(&[b"LCS", k, g.pick_key()]);
            match g.rng.below(4) {
                0 => a.push(b"LEN".to_vec()),
                1 => a.extend(argv(&[b"IDX", b"MINMATCHLEN", i, b"WITHMATCHLEN"])),
                2 => a.push(b"IDX".to_vec()),
                _ => {}
            }
            a
        }
    };
    g.op(args, Norm::Exact)
}

/// A key given a 1 ms life, then (after a wait) read with `EXISTS` on both servers: real expiry through
/// the lazy path, with no window where one server still has the key (outside MULTI only).
pub fn expire_soon(g: &mut Gen) -> Op {
    let (k, v) = (g.pick_key(), g.pick_value());
    let args = match g.rng.below(4) {
        0 => argv(&[b"PSETEX", k, b"1", v]),
        1 => argv(&[b"SET", k, v, b"PX", b"1"]),
        2 => argv(&[b"PEXPIRE", k, b"1"]),
        _ => argv(&[b"GETEX", k, b"PX", b"1"]),
    };
    let mut op = g.op(args, Norm::Exact);
    op.fixup = Some(argv(&[b"EXISTS", k]));
    op.settle_ms = 5;
    op
}

/// Zero to two SET options, conflicting ones included.
fn set_options(g: &mut Gen, a: &mut Vec<Vec<u8>>) {
    for _ in 0..g.rng.below(3) {
        match g.rng.below(9) {
            0 => a.push(b"NX".to_vec()),
            1 => a.push(b"XX".to_vec()),
            2 => a.push(b"GET".to_vec()),
            3 => a.extend(argv(&[b"EX", g.rng.pick(TTLS)])),
            4 => a.extend(argv(&[b"PX", g.rng.pick(PTTLS)])),
            5 => a.extend(argv(&[b"EXAT", g.rng.pick(ATS)])),
            6 => a.extend(argv(&[b"PXAT", g.rng.pick(ATS)])),
            7 => a.push(b"KEEPTTL".to_vec()),
            _ => a.push(b"FOO".to_vec()),
        }
    }
}

/// An expiry command (set, read or remove a TTL).
pub fn expire(g: &mut Gen) -> Op {
    let k = g.pick_key();
    let (args, norm) = match g.rng.below(8) {
        0..=2 => {
            let name = g
                .rng
                .pick(&[b"EXPIRE", b"PEXPIRE", b"EXPIREAT", b"PEXPIREAT"]);
            let when = if name.ends_with(b"AT") {
                g.rng.pick(ATS)
            } else if name == b"PEXPIRE" {
                g.rng.pick(PTTLS)
            } else {
                g.rng.pick(TTLS)
            };
            let mut a = argv(&[name, k, when]);
            let mut norm = Norm::Exact;
            for _ in 0..g.rng.below(3) {
                let option = g.rng.pick(&[b"NX", b"XX", b"GT", b"LT", b"nx", b"ZZ"]);
                if matches!(option, b"GT" | b"LT") && !name.ends_with(b"AT") {
                    norm = Norm::Flag;
                }
                a.push(option.to_vec());
            }
            (a, norm)
        }
        3 => (argv(&[b"TTL", k]), Norm::Within(2)),
        4 => (argv(&[b"PTTL", k]), Norm::Within(2000)),
        5 => (argv(&[b"EXPIRETIME", k]), Norm::Within(2)),
        6 => (argv(&[b"PEXPIRETIME", k]), Norm::Within(2000)),
        _ => (argv(&[b"PERSIST", k]), Norm::Exact),
    };
    g.op(args, norm)
}
