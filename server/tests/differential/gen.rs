//! The command generator: seeded random commands over every family Zedis implements, valid and invalid.
//!
//! Keys come from a small pool (some binary) so commands collide across types; arguments come from pools
//! that mix valid values with bad integers, bad floats, out-of-range values and unknown options. A few
//! commands are mutated afterwards (an argument dropped or added, the name's case changed, an unknown name).

use zedis_testkit::diff::{argv, Generator};
pub use zedis_testkit::diff::{Norm, Op, Rng};

const KEYS: &[&[u8]] = &[
    b"k1",
    b"k2",
    b"k3",
    b"s1",
    b"s2",
    b"h1",
    b"h2",
    b"l1",
    b"l2",
    b"\x00\xffbin",
    b"a\r\nb",
    b"{t}x",
    b"",
];
/// Keys a family prefers (three times in four), so that most commands meet their own type; the rest
/// come from [`KEYS`], for wrong types and binary names.
const STRING_KEYS: &[&[u8]] = &[b"k1", b"k2", b"k3", b"\x00\xffbin"];
const LIST_KEYS: &[&[u8]] = &[b"l1", b"l2", b"a\r\nb"];
const SET_KEYS: &[&[u8]] = &[b"s1", b"s2", b"{t}x"];
const HASH_KEYS: &[&[u8]] = &[b"h1", b"h2", b""];
const VALUES: &[&[u8]] = &[
    b"1",
    b"-7",
    b"0",
    b"42",
    b"3.5",
    b"-0.25",
    b"abc",
    b"",
    b"\x00\xff",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"1e3",
    b" 5",
    b"inf",
    b"x y",
    b"hello world",
    b"a",
    b"b",
    b"c",
    b"10",
];
const INTS: &[&[u8]] = &[
    b"0",
    b"1",
    b"2",
    b"-1",
    b"-2",
    b"3",
    b"5",
    b"10",
    b"-100",
    b"100",
    b"abc",
    b"1.5",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"99999999999999999999",
    b"",
    b" 1",
    b"+1",
    b"007",
    b"-0",
    b"0x10",
    b"1e3",
    b"-9223372036854775809",
    b"18446744073709551615",
    b"4294967296",
];
const FLOATS: &[&[u8]] = &[
    b"0",
    b"1.5",
    b"-2.25",
    b"1e2",
    b"abc",
    b"inf",
    b"-inf",
    b"nan",
    b"3",
    b"0.1",
    b"1e400",
    b"",
    b"5.0e3",
    b"-0",
    b" 1",
    b"1e308",
    b"1.7976931348623157e309",
    b".5",
    b"5.",
    b"+inf",
    b"0x1p3",
    b"1_0",
    b"-1e-320",
];
const PATTERNS: &[&[u8]] = &[
    b"*", b"k*", b"k[1-2]", b"?", b"*x", b"[^k]*", b"\\*", b"h?", b"*\x00*", b"[", b"a*b",
];
const DBS: &[&[u8]] = &[b"0", b"1", b"2", b"3", b"16", b"-1", b"abc"];
const SIDES: &[&[u8]] = &[b"LEFT", b"RIGHT", b"left", b"MIDDLE"];

/// Generates commands; knows (from the driver) which connections are inside MULTI.
pub struct Gen {
    /// The PRNG.
    pub rng: Rng,
    in_multi: [bool; 2],
    /// The keys the family being generated prefers.
    prefer: &'static [&'static [u8]],
    /// Many distinct members (integers, so sets start as intsets, and long strings past the listpack value
    /// limit), so collections cross their compact-encoding thresholds.
    wide: Vec<&'static [u8]>,
}

impl Gen {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Gen {
        Gen {
            rng: Rng::new(seed),
            in_multi: [false; 2],
            prefer: KEYS,
            wide: (0..700)
                .map(|i| {
                    let text = match i % 3 {
                        0 | 1 => format!("{i}"),
                        _ => format!("member-{i}-{}", "x".repeat(60)),
                    };
                    &*Box::leak(text.into_bytes().into_boxed_slice())
                })
                .collect(),
        }
    }

    fn key(&mut self) -> &'static [u8] {
        if self.rng.chance(75) {
            self.rng.pick(self.prefer)
        } else {
            self.rng.pick(KEYS)
        }
    }

    fn value(&mut self) -> &'static [u8] {
        if self.rng.chance(15) {
            let i = self.rng.below(self.wide.len());
            self.wide[i]
        } else {
            self.rng.pick(VALUES)
        }
    }

    /// `n` random keys (1..=3 when `n` is 0).
    fn keys(&mut self, out: &mut Vec<Vec<u8>>) {
        for _ in 0..1 + self.rng.below(3) {
            out.push(self.key().to_vec());
        }
    }

    /// One to four values or fields, sometimes dozens.
    fn values(&mut self, out: &mut Vec<Vec<u8>>) {
        let n = if self.rng.chance(5) {
            20 + self.rng.below(60)
        } else {
            1 + self.rng.below(4)
        };
        for _ in 0..n {
            out.push(self.value().to_vec());
        }
    }

    /// The next command for connection `conn`.
    pub fn next(&mut self, conn: usize) -> Op {
        let mut op = self.command(conn);
        self.mutate(&mut op);
        self.settle_past_expiry(conn, &mut op);
        op
    }

    /// A SET with an absolute time in the past stores a key that is already logically expired: Redis keeps
    /// counting it in DBSIZE until its active expiry cycle (timer driven) or an access removes it, so the two
    /// servers would differ by timing alone. Outside MULTI, an `EXISTS key` follows (removing it on both);
    /// inside MULTI, where nothing can follow at once, the time is moved to the future instead.
    fn settle_past_expiry(&mut self, conn: usize, op: &mut Op) {
        if !op.args[0].eq_ignore_ascii_case(b"SET") || op.args.len() < 2 {
            return;
        }
        let mut past = false;
        for i in 3..op.args.len().saturating_sub(1) {
            let unit = op.args[i].to_ascii_uppercase();
            let ms_per_unit: i128 = match unit.as_slice() {
                b"EXAT" => 1000,
                b"PXAT" => 1,
                _ => continue,
            };
            let when = std::str::from_utf8(&op.args[i + 1])
                .ok()
                .and_then(|t| t.parse::<i128>().ok());
            // 2000-01-01 in ms: every time the pools hold is either before 1971 or after 2100.
            if matches!(when, Some(t) if t > 0 && t * ms_per_unit < 946_684_800_000) {
                past = true;
                if self.in_multi[conn] {
                    op.args[i + 1] = b"4102444800".to_vec();
                    op.args[i] = b"EXAT".to_vec();
                }
            }
        }
        if past && !self.in_multi[conn] {
            op.fixup = Some(vec![b"EXISTS".to_vec(), op.args[1].clone()]);
        }
    }

    /// Records whether connection `conn` is inside MULTI (as its replies showed).
    pub fn set_multi(&mut self, conn: usize, in_multi: bool) {
        self.in_multi[conn] = in_multi;
    }

    fn command(&mut self, conn: usize) -> Op {
        if self.in_multi[conn] {
            if self.rng.chance(15) {
                return self.op(argv(&[b"EXEC"]), Norm::Exec);
            }
            if self.rng.chance(3) {
                return self.op(argv(&[b"DISCARD"]), Norm::Exact);
            }
            if self.rng.chance(5) {
                return self.blocking();
            }
        } else if self.rng.chance(2) {
            return self.op(argv(&[b"MULTI"]), Norm::Exact);
        }
        let random_ok = !self.in_multi[conn];
        if random_ok && self.rng.chance(2) {
            return super::gen_strings::expire_soon(self);
        }
        let family = self.rng.below(100);
        self.prefer = match family {
            0..=24 => STRING_KEYS,
            48..=64 => LIST_KEYS,
            65..=79 => SET_KEYS,
            80..=94 => HASH_KEYS,
            _ => KEYS,
        };
        match family {
            0..=24 => super::gen_strings::strings(self),
            25..=39 => self.keyspace(random_ok),
            40..=47 => super::gen_strings::expire(self),
            48..=64 => super::gen_collections::lists(self),
            65..=79 => super::gen_collections::sets(self, random_ok),
            80..=94 => super::gen_collections::hashes(self, random_ok),
            _ => self.misc(),
        }
    }

    /// An op with no fixup.
    pub fn op(&mut self, args: Vec<Vec<u8>>, norm: Norm) -> Op {
        Op {
            args,
            norm,
            fixup: None,
            settle_ms: 0,
        }
    }

    /// Arity and name mutations: wrong argument counts, odd case, unknown commands.
    fn mutate(&mut self, op: &mut Op) {
        let roll = self.rng.below(100);
        if roll < 3 && op.args.len() > 1 {
            op.args.pop();
        } else if roll < 6 {
            let extra = self.rng.pick(&[b"junk", b"1", b"NX", b"WITHSCORES"]);
            op.args.push(extra.to_vec());
        } else if roll < 7 {
            op.args[0] = b"NOSUCHCMD".to_vec();
        } else if roll < 17 {
            let name = &mut op.args[0];
            for (i, b) in name.iter_mut().enumerate() {
                if i % 2 == 0 {
                    *b = b.to_ascii_lowercase();
                }
            }
        }
    }

    fn blocking(&mut self) -> Op {
        let (k1, k2) = (self.key(), self.key());
        let args = match self.rng.below(4) {
            0 => argv(&[b"BLPOP", k1, k2, b"0"]),
            1 => argv(&[b"BRPOP", k1, b"1"]),
            2 => argv(&[b"BLMOVE", k1, k2, b"LEFT", b"RIGHT", b"0"]),
            _ => argv(&[b"BRPOPLPUSH", k1, k2, b"0"]),
        };
        self.op(args, Norm::Exact)
    }

    fn keyspace(&mut self, random_ok: bool) -> Op {
        let (k1, k2) = (self.key(), self.key());
        let (args, norm) = match self.rng.below(16) {
            0 | 1 => {
                let mut a = argv(&[self.rng.pick(&[b"DEL", b"UNLINK", b"EXISTS", b"TOUCH"])]);
                self.keys(&mut a);
                (a, Norm::Exact)
            }
            2 => (argv(&[b"KEYS", self.rng.pick(PATTERNS)]), Norm::Multiset),
            3 if random_ok => {
                let mut a = argv(&[b"SCAN", b"0"]);
                if self.rng.chance(50) {
                    a.extend(argv(&[b"MATCH", self.rng.pick(PATTERNS)]));
                }
                a.extend(argv(&[b"COUNT", b"1000"]));
                if self.rng.chance(30) {
                    let t = self
                        .rng
                        .pick(&[b"string", b"list", b"set", b"hash", b"zset", b"nope"]);
                    a.extend(argv(&[b"TYPE", t]));
                }
                (a, Norm::Scan)
            }
            4 if random_ok => (argv(&[b"RANDOMKEY"]), Norm::Shape),
            5 => (argv(&[b"RENAME", k1, k2]), Norm::Exact),
            6 => (argv(&[b"RENAMENX", k1, k2]), Norm::Exact),
            7 => {
                let mut a = argv(&[b"COPY", k1, k2]);
                if self.rng.chance(40) {
                    a.extend(argv(&[b"DB", self.rng.pick(DBS)]));
                }
                if self.rng.chance(40) {
                    a.push(b"REPLACE".to_vec());
                }
                (a, Norm::Exact)
            }
            8 => (argv(&[b"DBSIZE"]), Norm::Exact),
            9 => (argv(&[b"TYPE", k1]), Norm::Exact),
            10 => (argv(&[b"MOVE", k1, self.rng.pick(DBS)]), Norm::Exact),
            11 => (argv(&[b"SELECT", self.rng.pick(DBS)]), Norm::Exact),
            12 if self.rng.chance(20) => (
                argv(&[b"SWAPDB", self.rng.pick(DBS), self.rng.pick(DBS)]),
                Norm::Exact,
            ),
            13 if self.rng.chance(10) => {
                let mut a = argv(&[self.rng.pick(&[b"FLUSHDB", b"FLUSHALL"])]);
                if self.rng.chance(30) {
                    a.push(self.rng.pick(&[b"ASYNC", b"SYNC", b"LAZY"]).to_vec());
                }
                (a, Norm::Exact)
            }
            _ => (argv(&[b"EXISTS", k1, k2]), Norm::Exact),
        };
        self.op(args, norm)
    }

    fn misc(&mut self) -> Op {
        let args = match self.rng.below(5) {
            0 => argv(&[b"PING"]),
            1 => argv(&[b"PING", self.value()]),
            2 => argv(&[b"ECHO", self.value()]),
            3 => {
                let mut a = argv(&[b"WATCH"]);
                self.keys(&mut a);
                a
            }
            _ => argv(&[b"UNWATCH"]),
        };
        self.op(args, Norm::Exact)
    }

    /// Public access to the pools for the collection generators.
    pub fn pick_key(&mut self) -> &'static [u8] {
        self.key()
    }

    /// A random value or member.
    pub fn pick_value(&mut self) -> &'static [u8] {
        self.value()
    }

    /// Pushes one to four values.
    pub fn push_values(&mut self, out: &mut Vec<Vec<u8>>) {
        self.values(out)
    }

    /// Pushes one to three keys.
    pub fn push_keys(&mut self, out: &mut Vec<Vec<u8>>) {
        self.keys(out)
    }

    /// A random integer argument (valid or not).
    pub fn pick_int(&mut self) -> &'static [u8] {
        self.rng.pick(INTS)
    }

    /// A random float argument (valid or not).
    pub fn pick_float(&mut self) -> &'static [u8] {
        self.rng.pick(FLOATS)
    }

    /// A random list side (valid or not).
    pub fn pick_side(&mut self) -> &'static [u8] {
        self.rng.pick(SIDES)
    }

    /// A random glob pattern.
    pub fn pick_pattern(&mut self) -> &'static [u8] {
        self.rng.pick(PATTERNS)
    }
}

/// Re-exported for the collection generators.
pub use zedis_testkit::diff::argv as args;

impl Generator for Gen {
    fn next(&mut self, conn: usize) -> Op {
        Gen::next(self, conn)
    }
    fn set_multi(&mut self, conn: usize, in_multi: bool) {
        Gen::set_multi(self, conn, in_multi);
    }
    fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }
}
