//! A second differential fuzzer (issue 26): seeded random command sequences over the types the first one
//! (`server/tests/differential.rs`) does not cover, sent to `zedis-server` and to a real `redis-server`
//! 7.0.15, replies compared byte for byte.
//!
//! - Families: sorted sets, geo, bitmaps/BITFIELD, HyperLogLog, SORT/SORT_RO, streams with consumer groups,
//!   scripts (EVAL/EVAL_RO/EVALSHA, SCRIPT, FCALL/FCALL_RO, FUNCTION), with valid and invalid arguments
//!   (wrong arity, wrong types, bad numbers, out-of-range values, exclusive bounds, LIMIT, WITHSCORES, REV,
//!   BYLEX/BYSCORE, WEIGHTS/AGGREGATE, NaN/inf/`-0` scores, large offsets within limits), binary keys and
//!   members, and MULTI/EXEC around all of it.
//! - Two connection pairs: the first speaks RESP2, the second RESP3 (`HELLO 3`); each command goes to one
//!   pair, chosen at random. Now and then up to 16 commands are pipelined.
//! - Normalisation, only where Redis is nondeterministic (see `difftypes/norm.rs` and each generator's
//!   docs): ZRANDMEMBER and `GEOSEARCH ... COUNT n ANY` by shape (random pick / scan order); geo searches
//!   with no order asked as multisets (geohash-box order); ZSCAN (always `0 COUNT 1000`) as cursor plus
//!   pairs; SORT `BY nosort` of a set as a multiset (shape with LIMIT, never STORE); XPENDING's extended
//!   form without its idle times. Stream ids are always explicit (`*` reads the clock), XCLAIM/XAUTOCLAIM
//!   use min-idle-time 0 or one hour, XINFO CONSUMERS (idle times) is not generated.
//!
//! Env: `ZEDIS_FUZZ_SEED` (default: random, printed), `ZEDIS_FUZZ_SEEDS` (`a-b` or `a,b,c`: run each),
//! `ZEDIS_FUZZ_OPS` (per seed, default 3,000),
//! `ZEDIS_FUZZ_HISTORY` (commands shown on a failure, default 20). The `zedis-server` binary is found as
//! the other reliability tests find it (`ZEDIS_SERVER_BIN`, else `target/debug/zedis-server`).

#[path = "difftypes/gen.rs"]
mod gen;
#[path = "difftypes/gen_core.rs"]
mod gen_core;
#[path = "difftypes/gen_misc.rs"]
mod gen_misc;
#[path = "difftypes/gen_script.rs"]
mod gen_script;
#[path = "difftypes/gen_stream.rs"]
mod gen_stream;
#[path = "difftypes/gen_zset.rs"]
mod gen_zset;
#[path = "difftypes/known.rs"]
mod known;
#[path = "difftypes/norm.rs"]
mod norm;

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use gen::{Gen, Norm, Op};
use zedis_reliability::{Kind, ServerProcess, TempDir};
use zedis_resp::frame::{encode_command, parse_frame, Frame};

/// How long one reply may take (the machine is shared and loaded).
const REPLY_WAIT_MAX: Duration = Duration::from_secs(20);
/// How many past commands a failure report shows (`ZEDIS_FUZZ_HISTORY` overrides it).
const HISTORY_LEN: usize = 20;
/// The longest pipeline (commands sent in one write before reading their replies).
const PIPELINE_LEN_MAX: usize = 16;
/// Operations per seed when `ZEDIS_FUZZ_OPS` is not set (CI-sized).
const OPS_DEFAULT: usize = 3_000;

/// One connection with its unread input.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends a command and reads one reply: its raw bytes and its decoded frame.
    fn call(&mut self, args: &[Vec<u8>]) -> Result<(Vec<u8>, Frame), String> {
        self.send(&[args])?;
        self.read()
    }

    /// Sends commands in one write (a pipeline).
    fn send(&mut self, commands: &[&[Vec<u8>]]) -> Result<(), String> {
        let mut out = Vec::new();
        for args in commands {
            let parts: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            encode_command(&mut out, &parts);
        }
        self.stream.write_all(&out).map_err(|e| e.to_string())
    }

    /// Reads one reply.
    fn read(&mut self) -> Result<(Vec<u8>, Frame), String> {
        let deadline = Instant::now() + REPLY_WAIT_MAX;
        let mut chunk = [0u8; 16384];
        loop {
            match parse_frame(&self.buf) {
                Ok(Some((frame, used))) => return Ok((self.buf.drain(..used).collect(), frame)),
                Ok(None) => {}
                Err(e) => return Err(format!("unparsable reply {e}: {}", escape(&self.buf))),
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(format!("connection closed; partial {}", escape(&self.buf))),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if Instant::now() >= deadline {
                        return Err(format!("timeout; partial {}", escape(&self.buf)));
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }
}

/// Printable text for bytes: ASCII as is, other bytes (and CR/LF) as `\xNN`.
fn escape(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

/// A command as one readable line.
fn show(args: &[Vec<u8>]) -> String {
    args.iter()
        .map(|a| format!("\"{}\"", escape(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The run's state: the two servers' connections (index 0 RESP2, 1 RESP3) and what a report needs.
struct Run {
    seed: u64,
    zedis: [Conn; 2],
    redis: [Conn; 2],
    /// A third redis-server connection for looking at state while replies are pending on the others.
    redis_side: Conn,
    /// Per connection pair: the comparison modes of the commands queued since MULTI.
    queued: [Vec<Norm>; 2],
    history: VecDeque<String>,
    history_len: usize,
    /// Replies that were errors, and all replies (a run that only meets errors tests little).
    errors: usize,
    replies: usize,
    /// How many times each known divergence ([`known::KNOWN`]) was met.
    known: Vec<usize>,
    /// How many times [`Run::sort_errno_leak`] explained a divergence.
    errno_leaks: usize,
    /// How many times [`sort_alpha_ties`] explained a divergence.
    alpha_ties: usize,
}

impl Run {
    /// Sends one command on pair `pair` and compares the replies; panics with a report on a mismatch.
    fn step(&mut self, idx: usize, pair: usize, args: &[Vec<u8>], norm: Norm) -> Frame {
        let sent = (
            self.zedis[pair].send(&[args]),
            self.redis[pair].send(&[args]),
        );
        if let (Err(e), _) | (_, Err(e)) = sent {
            self.fail(idx, args, &e, "<send failed>");
        }
        self.compare(idx, pair, args, norm)
    }

    /// Sends several commands to each server in one write, then compares the replies one by one.
    fn pipeline(&mut self, first_idx: usize, pair: usize, ops: &[Op], gen: &mut Gen) {
        let commands: Vec<&[Vec<u8>]> = ops.iter().map(|op| op.args.as_slice()).collect();
        let sent = (
            self.zedis[pair].send(&commands),
            self.redis[pair].send(&commands),
        );
        if let (Err(e), _) | (_, Err(e)) = sent {
            self.fail(first_idx, &ops[0].args, &e, "<send failed>");
        }
        for (i, op) in ops.iter().enumerate() {
            let reply = self.compare(first_idx + i, pair, &op.args, op.norm);
            self.after(pair, op, &reply, gen);
        }
    }

    /// Reads one reply from each server for `args` (already sent) and compares them.
    fn compare(&mut self, idx: usize, pair: usize, args: &[Vec<u8>], norm: Norm) -> Frame {
        self.history
            .push_back(format!("#{idx} conn{pair}: {}", show(args)));
        if self.history.len() > self.history_len {
            self.history.pop_front();
        }
        let z = self.zedis[pair].read();
        let r = self.redis[pair].read();
        let (z, r) = match (z, r) {
            (Ok(z), Ok(r)) => (z, r),
            (z, r) => self.fail(idx, args, &format!("{z:?}"), &format!("{r:?}")),
        };
        let queued = std::mem::take(&mut self.queued[pair]);
        // The decoded frames hide RESP2/RESP3 encoding choices (`$-1` and `_` both decode to a null), so a
        // normalised comparison also requires the same leading type byte.
        if z.0 != r.0 && (z.0[0] != r.0[0] || !norm::agree(norm, &z.1, &r.1, &queued)) {
            let agree = |a: &[u8], b: &[u8]| match (parse_frame(a), parse_frame(b)) {
                (Ok(Some((fa, _))), Ok(Some((fb, _)))) => {
                    a == b || (a[0] == b[0] && norm::agree(norm, &fa, &fb, &queued))
                }
                _ => false,
            };
            match known::classify(args, &z.0, &r.0, agree) {
                Some(used) => used.into_iter().for_each(|k| self.known[k] += 1),
                None if self.sort_errno_leak(args, &z.0, &r.0) => self.errno_leaks += 1,
                None if self.sort_alpha_ties(args, &z.1, &r.1) => self.alpha_ties += 1,
                None => self.fail(idx, args, &escape(&z.0), &escape(&r.0)),
            }
        }
        self.queued[pair] = queued;
        self.replies += 1;
        self.errors += usize::from(matches!(r.1, Frame::Error(_)));
        r.1
    }

    /// Redis 7.0.15's SORT converts a listpack sorted set to a skiplist first (`zsetConvert`), reading
    /// each score with `strtod`; a subnormal score sets `errno = ERANGE`, which SORT's own numeric
    /// conversion then reads as its failure (it never clears `errno`), so Redis refuses a numeric SORT
    /// of such a set with "One or more scores can't be converted into double". A Redis bug Zedis does
    /// not copy: the divergence is accepted exactly there (numeric SORT, that error, Zedis sorted, and the
    /// key a sorted set holding a subnormal score).
    fn sort_errno_leak(&mut self, args: &[Vec<u8>], zedis: &[u8], redis: &[u8]) -> bool {
        let name = args[0].to_ascii_uppercase();
        if !matches!(name.as_slice(), b"SORT" | b"SORT_RO")
            || args.iter().any(|a| a.eq_ignore_ascii_case(b"ALPHA"))
            || redis != b"-ERR One or more scores can't be converted into double\r\n"
            || zedis.first() != Some(&b'*')
        {
            return false;
        }
        let query = [
            b"ZRANGE".to_vec(),
            args[1].clone(),
            b"0".to_vec(),
            b"-1".to_vec(),
            b"WITHSCORES".to_vec(),
        ];
        let Ok((_, Frame::Array(items))) = self.redis_side.call(&query) else {
            return false;
        };
        items.iter().skip(1).step_by(2).any(|score| match score {
            Frame::Bulk(text) => std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
                .is_some_and(|v| v != 0.0 && v.abs() < f64::MIN_POSITIVE),
            _ => false,
        })
    }

    /// SORT ... ALPHA without STORE compares with `strcoll`, which stops at a NUL, so elements equal up
    /// to their first NUL (`""` and `"\0\xff"`) are ties. Redis's sort keeps ties in input order, and
    /// the input order of a set or sorted set is its hash table's (`dictNext`), which Zedis does not
    /// share. Accepted when both replies hold the same per-element groups (one reply per GET) in any
    /// order and the key is a set or sorted set with two members equal as C strings.
    fn sort_alpha_ties(&mut self, args: &[Vec<u8>], zedis: &Frame, redis: &Frame) -> bool {
        let upper: Vec<Vec<u8>> = args.iter().map(|a| a.to_ascii_uppercase()).collect();
        if !matches!(upper[0].as_slice(), b"SORT" | b"SORT_RO")
            || !upper.iter().any(|a| a == b"ALPHA")
            || upper.iter().any(|a| a == b"STORE" || a == b"BY")
        {
            return false;
        }
        let (Frame::Array(z), Frame::Array(r)) = (zedis, redis) else {
            return false;
        };
        let per = upper.iter().filter(|a| *a == b"GET").count().max(1);
        let groups = |v: &[Frame]| {
            let mut chunks: Vec<String> = v.chunks(per).map(|c| format!("{c:?}")).collect();
            chunks.sort();
            chunks
        };
        if z.len() != r.len() || groups(z) != groups(r) {
            return false;
        }
        let kind = match self.redis_side.call(&[b"TYPE".to_vec(), args[1].clone()]) {
            Ok((_, Frame::Simple(t))) => t,
            _ => return false,
        };
        let query: Vec<Vec<u8>> = match kind.as_slice() {
            b"set" => vec![b"SMEMBERS".to_vec(), args[1].clone()],
            b"zset" => vec![
                b"ZRANGE".to_vec(),
                args[1].clone(),
                b"0".to_vec(),
                b"-1".to_vec(),
            ],
            _ => return false,
        };
        let Ok((_, Frame::Array(members))) = self.redis_side.call(&query) else {
            return false;
        };
        let mut c_strings: Vec<&[u8]> = members
            .iter()
            .filter_map(|f| match f {
                Frame::Bulk(b) => Some(b.split(|&x| x == 0).next().unwrap_or_default()),
                _ => None,
            })
            .collect();
        let all = c_strings.len();
        c_strings.sort();
        c_strings.dedup();
        c_strings.len() < all
    }

    fn fail(&self, idx: usize, args: &[Vec<u8>], zedis: &str, redis: &str) -> ! {
        let history: Vec<&str> = self.history.iter().map(|s| s.as_str()).collect();
        panic!(
            "differential mismatch: ZEDIS_FUZZ_SEED={} op #{idx}\ncommand: {}\nzedis: {zedis}\nredis: {redis}\n\
             last commands:\n  {}",
            self.seed,
            show(args),
            history.join("\n  ")
        );
    }

    /// Runs one generated op, and tracks MULTI state from the reply.
    fn op(&mut self, idx: usize, pair: usize, op: &Op, gen: &mut Gen) {
        let reply = self.step(idx, pair, &op.args, op.norm);
        self.after(pair, op, &reply, gen);
    }

    /// Tracks MULTI state and queued comparison modes from a reply.
    fn after(&mut self, pair: usize, op: &Op, reply: &Frame, gen: &mut Gen) {
        let name = op.args[0].to_ascii_uppercase();
        let arity_error = matches!(reply, Frame::Error(e) if e.starts_with(b"ERR wrong number"));
        match name.as_slice() {
            b"MULTI" if *reply == Frame::Simple(b"OK".to_vec()) => {
                self.queued[pair].clear();
                gen.set_multi(pair, true);
            }
            b"EXEC" | b"DISCARD" if !arity_error => {
                self.queued[pair].clear();
                gen.set_multi(pair, false);
            }
            _ if *reply == Frame::Simple(b"QUEUED".to_vec()) => self.queued[pair].push(op.norm),
            _ => {}
        }
    }
}

/// Runs `ops` operations from `seed` against a fresh pair of servers; panics with a report on a divergence.
fn fuzz(seed: u64, ops: usize) {
    eprintln!("differential types fuzz: ZEDIS_FUZZ_SEED={seed} ZEDIS_FUZZ_OPS={ops}");
    let (zdir, rdir) = (
        TempDir::new("difftypes-zedis"),
        TempDir::new("difftypes-redis"),
    );
    let zedis = ServerProcess::start(Kind::Zedis, zdir.path(), &[]).expect("start zedis-server");
    let redis = ServerProcess::start(Kind::Redis, rdir.path(), &[]).expect("start redis-server");
    let mut run = Run {
        seed,
        zedis: [Conn::open(zedis.port), Conn::open(zedis.port)],
        redis: [Conn::open(redis.port), Conn::open(redis.port)],
        redis_side: Conn::open(redis.port),
        queued: [Vec::new(), Vec::new()],
        history: VecDeque::new(),
        history_len: std::env::var("ZEDIS_FUZZ_HISTORY")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(HISTORY_LEN),
        errors: 0,
        replies: 0,
        known: vec![0; known::KNOWN.len()],
        errno_leaks: 0,
        alpha_ties: 0,
    };
    run.step(0, 0, &[b"FLUSHALL".to_vec()], Norm::Exact);
    let hello = [b"HELLO".to_vec(), b"3".to_vec()];
    for conns in [&mut run.zedis, &mut run.redis] {
        let (_, frame) = conns[1].call(&hello).expect("HELLO 3");
        assert!(matches!(frame, Frame::Map(_)), "HELLO 3 answered {frame:?}");
    }
    let mut gen = Gen::new(seed);
    for script in gen_script::SCRIPTS {
        let args = vec![
            b"SCRIPT".to_vec(),
            b"LOAD".to_vec(),
            script.as_bytes().to_vec(),
        ];
        let sha = match run.step(0, 0, &args, Norm::Exact) {
            Frame::Bulk(sha) => sha,
            _ => Vec::new(),
        };
        gen.shas.push(sha);
    }
    for lib in gen_script::LIBRARIES {
        let args = vec![
            b"FUNCTION".to_vec(),
            b"LOAD".to_vec(),
            lib.as_bytes().to_vec(),
        ];
        run.step(0, 0, &args, Norm::Exact);
    }
    let mut idx = 1;
    while idx <= ops {
        let pair = gen.forced_conn().unwrap_or_else(|| gen.rng.below(2));
        if gen.rng.chance(5) {
            // A pipeline: commands that do not change MULTI state, sent in one write.
            let mut batch = Vec::new();
            let mut last = None;
            while batch.len() < PIPELINE_LEN_MAX && idx + batch.len() < ops {
                let op = gen.next(pair);
                let name = op.args[0].to_ascii_uppercase();
                if matches!(name.as_slice(), b"MULTI" | b"EXEC" | b"DISCARD") {
                    last = Some(op);
                    break;
                }
                batch.push(op);
            }
            run.pipeline(idx, pair, &batch, &mut gen);
            idx += batch.len();
            if let Some(op) = last {
                run.op(idx, pair, &op, &mut gen);
                idx += 1;
            }
            continue;
        }
        let op = gen.next(pair);
        run.op(idx, pair, &op, &mut gen);
        idx += 1;
    }
    eprintln!(
        "differential types fuzz: {ops} operations ({} replies, {} errors), no divergence",
        run.replies, run.errors
    );
    if run.errno_leaks > 0 {
        eprintln!(
            "  SORT refused by Redis after its zsetConvert left ERANGE: {} times",
            run.errno_leaks
        );
    }
    if run.alpha_ties > 0 {
        eprintln!(
            "  SORT ALPHA ties (equal up to a NUL) in another order: {} times",
            run.alpha_ties
        );
    }
    for (k, n) in known::KNOWN.iter().zip(&run.known) {
        if *n > 0 {
            eprintln!("  known divergence met {n} times: {}", k.name);
        }
    }
}

/// The seeds to run: `ZEDIS_FUZZ_SEEDS` (`a-b` inclusive, or `a,b,c`), else `ZEDIS_FUZZ_SEED`, else one
/// from the clock.
fn seeds_from_env() -> Vec<u64> {
    if let Ok(list) = std::env::var("ZEDIS_FUZZ_SEEDS") {
        if let Some((a, b)) = list.split_once('-') {
            let (a, b): (u64, u64) = (
                a.trim().parse().expect("ZEDIS_FUZZ_SEEDS: a-b"),
                b.trim().parse().expect("ZEDIS_FUZZ_SEEDS: a-b"),
            );
            return (a..=b).collect();
        }
        return list
            .split(',')
            .map(|s| s.trim().parse().expect("ZEDIS_FUZZ_SEEDS: a,b,c"))
            .collect();
    }
    match std::env::var("ZEDIS_FUZZ_SEED") {
        Ok(s) => vec![s.parse().expect("ZEDIS_FUZZ_SEED must be an integer")],
        Err(_) => vec![std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64 % 1_000_000_000)
            .unwrap_or(1)],
    }
}

/// Fixed seeds run in CI besides the random one, a regression check for every family.
const SMOKE_SEEDS: &[u64] = &[11, 13, 16, 21, 22];

#[test]
fn differential_types_smoke() {
    if !zedis_reliability::redis_available() {
        eprintln!("note: redis-server not found; differential types fuzzer skipped");
        return;
    }
    for &seed in SMOKE_SEEDS {
        fuzz(seed, 3_000);
    }
}

/// A random seed (printed; replay with `ZEDIS_FUZZ_SEED`) for `ZEDIS_FUZZ_OPS` operations (3,000 in CI),
/// or every seed of `ZEDIS_FUZZ_SEEDS` for the long run (README, Reliability).
#[test]
fn differential_types_against_redis() {
    if !zedis_reliability::redis_available() {
        eprintln!("note: redis-server not found; differential types fuzzer skipped");
        return;
    }
    let ops: usize = std::env::var("ZEDIS_FUZZ_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(OPS_DEFAULT);
    let started = Instant::now();
    let seeds = seeds_from_env();
    for &seed in &seeds {
        fuzz(seed, ops);
    }
    eprintln!(
        "differential types fuzz: {} seeds x {ops} operations = {} operations in {:.0?}, no divergence",
        seeds.len(),
        seeds.len() * ops,
        started.elapsed()
    );
}
