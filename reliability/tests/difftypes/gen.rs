//! The command generator: seeded random commands over sorted sets, geo, bitmaps/BITFIELD, HyperLogLog,
//! SORT, streams (with consumer groups) and scripts (EVAL/EVALSHA/FCALL), valid and invalid.
//!
//! Keys come from small per-family pools plus a shared pool (string, list, set and hash keys, binary
//! names), so that commands collide across types. A few commands are mutated afterwards (an argument
//! dropped or added, the name's case changed, an unknown name).

use zedis_testkit::diff::Generator;
pub use zedis_testkit::diff::{argv, Norm, Op, Rng};

/// Keys of other types (and binary names) that every family sometimes meets.
pub const SHARED_KEYS: &[&[u8]] = &[
    b"str",
    b"lst",
    b"set",
    b"hsh",
    b"\x00\xffbin",
    b"",
    b"z1",
    b"x1",
];
/// Integers, valid and not.
pub const INTS: &[&[u8]] = &[
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
    b"-0",
    b"+1",
];
/// Member names (binary ones included).
pub const MEMBERS: &[&[u8]] = &[
    b"a",
    b"b",
    b"c",
    b"d",
    b"e",
    b"\x00\xff",
    b"",
    b"m e",
    b"1",
    b"10",
    b"zz",
    b"A",
    b"a\r\nb",
];

/// Generates commands; knows (from the driver) which connections are inside MULTI.
pub struct Gen {
    /// The PRNG.
    pub rng: Rng,
    in_multi: [bool; 2],
    /// Many distinct long members, so sorted sets cross the listpack thresholds (128 entries, 64 bytes).
    pub wide: Vec<Vec<u8>>,
    /// SHA1s of the scripts loaded at the start (`SCRIPT LOAD`, as both servers answered).
    pub shas: Vec<Vec<u8>>,
    /// A command to send next on the given connection (see [`Gen::next`]).
    pending: Option<(usize, Op)>,
}

impl Gen {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Gen {
        Gen {
            rng: Rng::new(seed),
            in_multi: [false; 2],
            wide: (0..300)
                .map(|i| match i % 3 {
                    0 => format!("{i}").into_bytes(),
                    _ => format!("member-{i}-{}", "y".repeat(70)).into_bytes(),
                })
                .collect(),
            shas: Vec::new(),
            pending: None,
        }
    }

    /// A key of the family (`own`) three times in four, else one of [`SHARED_KEYS`].
    pub fn key(&mut self, own: &[&'static [u8]]) -> Vec<u8> {
        if self.rng.chance(80) {
            self.rng.pick(own).to_vec()
        } else {
            self.rng.pick(SHARED_KEYS).to_vec()
        }
    }

    /// A member: a small pool, sometimes a long distinct one.
    pub fn member(&mut self) -> Vec<u8> {
        if self.rng.chance(12) {
            let i = self.rng.below(self.wide.len());
            self.wide[i].clone()
        } else {
            self.rng.pick(MEMBERS).to_vec()
        }
    }

    /// An integer argument, valid or not.
    pub fn int(&mut self) -> Vec<u8> {
        self.rng.pick(INTS).to_vec()
    }

    /// The next command for connection `conn`.
    pub fn next(&mut self, conn: usize) -> Op {
        if let Some((c, op)) = self.pending.take() {
            assert_eq!(
                c, conn,
                "the driver sends a pending command on its connection"
            );
            return op;
        }
        let mut op = self.command(conn);
        self.mutate(&mut op);
        let name = op.args[0].to_ascii_uppercase();
        if name == b"SORT" || name == b"SORT_RO" {
            // Redis 7.0.15's SORT tests `errno == ERANGE` after strtod without clearing errno first, so a
            // range error left by any earlier command (a score such as 1e400 or 1e-320) makes a valid
            // numeric SORT fail with "One or more scores can't be converted into double". ZADD ... XX
            // parses its score with errno cleared and changes nothing: sent just before the SORT, on the
            // same connection, it makes Redis's answer depend on the data only.
            self.pending = Some((conn, op));
            return self::op(
                argv(&[b"ZADD", b"errno-reset", b"XX", b"1", b"m"]),
                Norm::Exact,
            );
        }
        op
    }

    /// The connection the next command must go to (the second half of an errno reset + SORT pair).
    pub fn forced_conn(&self) -> Option<usize> {
        self.pending.as_ref().map(|(c, _)| *c)
    }

    /// Records whether connection `conn` is inside MULTI (as its replies showed).
    pub fn set_multi(&mut self, conn: usize, in_multi: bool) {
        self.in_multi[conn] = in_multi;
    }

    fn command(&mut self, conn: usize) -> Op {
        if self.in_multi[conn] {
            if self.rng.chance(12) {
                return op(argv(&[b"EXEC"]), Norm::Exec);
            }
            if self.rng.chance(2) {
                return op(argv(&[b"DISCARD"]), Norm::Exact);
            }
        } else if self.rng.chance(2) {
            return op(argv(&[b"MULTI"]), Norm::Exact);
        }
        let in_multi = self.in_multi[conn];
        match self.rng.below(100) {
            0..=29 => super::gen_zset::zsets(self, in_multi),
            30..=39 => super::gen_misc::geo(self),
            40..=50 => super::gen_misc::bitmaps(self),
            51..=58 => super::gen_misc::hll(self),
            59..=66 => super::gen_misc::sort(self),
            67..=86 => super::gen_stream::streams(self, in_multi),
            87..=96 => super::gen_script::scripts(self),
            _ => self.keyspace(),
        }
    }

    /// Arity and name mutations: wrong argument counts, odd case, unknown commands.
    fn mutate(&mut self, op: &mut Op) {
        let roll = self.rng.below(100);
        if roll < 3 && op.args.len() > 1 {
            op.args.pop();
        } else if roll < 6 {
            let extra = self.rng.pick(&[
                b"junk",
                b"1",
                b"NX",
                b"WITHSCORES",
                b"LIMIT",
                b"REV",
                b"COUNT",
            ]);
            op.args.push(extra.to_vec());
        } else if roll < 7 {
            op.args[0] = b"NOSUCHCMD".to_vec();
        } else if roll < 15 {
            for (i, b) in op.args[0].iter_mut().enumerate() {
                if i % 2 == 0 {
                    *b = b.to_ascii_lowercase();
                }
            }
        }
    }

    /// Keys of other types, created and removed, and generic inspection.
    fn keyspace(&mut self) -> Op {
        let k = self.rng.pick(SHARED_KEYS);
        let m = self.member();
        let args = match self.rng.below(8) {
            0 => argv(&[b"SET", k, &m]),
            1 => argv(&[b"RPUSH", k, &m, b"3", b"1"]),
            2 => argv(&[b"SADD", k, &m, b"2"]),
            3 => argv(&[b"HSET", k, b"f", &m]),
            4 => argv(&[b"TYPE", k]),
            5 => argv(&[b"DEL", k, b"z2", b"x2"]),
            6 => argv(&[b"EXISTS", k, b"g1", b"b1"]),
            _ => argv(&[b"DBSIZE"]),
        };
        op(args, Norm::Exact)
    }
}

/// An op compared with `norm`.
pub fn op(args: Vec<Vec<u8>>, norm: Norm) -> Op {
    Op::new(args, norm)
}

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
    fn forced_conn(&self) -> Option<usize> {
        Gen::forced_conn(self)
    }
}
