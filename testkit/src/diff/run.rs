//! The runner: drives `zedis-server` and `redis-server` side by side over two connection pairs (index 0
//! RESP2, index 1 RESP3), sends each generated command to both, compares the replies byte for byte or under
//! the command's [`Norm`], tracks MULTI state, and panics with a replayable report on a divergence.

use std::collections::VecDeque;

use zedis_resp::{parse_frame, Frame};

use super::conn::{escape, show, Conn};
use super::env::history_len_from_env;
use super::gen_core::{Norm, Op, Rng};
use super::norm;

/// The longest pipeline (commands sent in one write before reading their replies).
pub const PIPELINE_LEN_MAX: usize = 16;

/// What the runner needs of a command generator.
pub trait Generator {
    /// The next command for connection pair `conn`.
    fn next(&mut self, conn: usize) -> Op;
    /// Records whether pair `conn` is inside MULTI (as its replies showed).
    fn set_multi(&mut self, conn: usize, in_multi: bool);
    /// The PRNG (the runner draws the pair and the pipelines from it too).
    fn rng(&mut self) -> &mut Rng;
    /// The pair the next command must go to, if the generator has queued a command for one.
    fn forced_conn(&self) -> Option<usize> {
        None
    }
}

/// A raw reply and its decoded frame.
pub type Reply = (Vec<u8>, Frame);

/// Explains divergences that are not Zedis bugs (a Redis bug Zedis does not copy), counting them.
pub trait Tolerance {
    /// Whether the divergence of `zedis` from `redis` on `args` is accepted. `agree` compares two raw replies
    /// under the command's mode (for explanations that rewrite a reply and compare again).
    fn accepts(
        &mut self,
        args: &[Vec<u8>],
        zedis: &Reply,
        redis: &Reply,
        agree: &dyn Fn(&[u8], &[u8]) -> bool,
    ) -> bool;
}

/// No divergence is accepted.
impl Tolerance for () {
    fn accepts(
        &mut self,
        _: &[Vec<u8>],
        _: &Reply,
        _: &Reply,
        _: &dyn Fn(&[u8], &[u8]) -> bool,
    ) -> bool {
        false
    }
}

/// The run's state: the two servers' connections and what a report needs.
pub struct Run<T: Tolerance = ()> {
    /// The seed (printed in a failure report).
    pub seed: u64,
    zedis: [Conn; 2],
    redis: [Conn; 2],
    /// Per connection pair: the comparison modes of the commands queued since MULTI.
    queued: [Vec<Norm>; 2],
    history: VecDeque<String>,
    history_len: usize,
    /// Replies that were errors (a run that only meets errors tests little).
    pub errors: usize,
    /// All replies compared.
    pub replies: usize,
    /// What explains accepted divergences.
    pub tolerance: T,
}

impl Run<()> {
    /// Connects two pairs to the servers on `zedis_port` and `redis_port`, sends FLUSHALL, and switches the
    /// second pair to RESP3 (`HELLO 3`).
    pub fn new(seed: u64, zedis_port: u16, redis_port: u16) -> Run<()> {
        Run::with_tolerance(seed, zedis_port, redis_port, ())
    }
}

impl<T: Tolerance> Run<T> {
    /// As [`Run::new`], accepting the divergences `tolerance` explains.
    ///
    /// # Panics
    /// When FLUSHALL differs or HELLO 3 does not answer a map.
    pub fn with_tolerance(seed: u64, zedis_port: u16, redis_port: u16, tolerance: T) -> Run<T> {
        let mut run = Run {
            seed,
            zedis: [Conn::open(zedis_port), Conn::open(zedis_port)],
            redis: [Conn::open(redis_port), Conn::open(redis_port)],
            queued: [Vec::new(), Vec::new()],
            history: VecDeque::new(),
            history_len: history_len_from_env(),
            errors: 0,
            replies: 0,
            tolerance,
        };
        run.step(0, 0, &[b"FLUSHALL".to_vec()], Norm::Exact);
        let hello = [b"HELLO".to_vec(), b"3".to_vec()];
        for conns in [&mut run.zedis, &mut run.redis] {
            let (_, frame) = conns[1].call(&hello).expect("HELLO 3");
            assert!(matches!(frame, Frame::Map(_)), "HELLO 3 answered {frame:?}");
        }
        run
    }

    /// Runs operations 1..=`ops` from `gen`: each on a random pair (or the one the generator forces), one
    /// time in twenty a pipeline of up to [`PIPELINE_LEN_MAX`] commands that neither change MULTI state nor
    /// need a fixup.
    pub fn drive(&mut self, gen: &mut impl Generator, ops: usize) {
        let mut idx = 1;
        while idx <= ops {
            let pair = gen.forced_conn().unwrap_or_else(|| gen.rng().below(2));
            if gen.rng().chance(5) {
                let mut batch = Vec::new();
                let mut last = None;
                while batch.len() < PIPELINE_LEN_MAX && idx + batch.len() < ops {
                    let op = gen.next(pair);
                    let name = op.args[0].to_ascii_uppercase();
                    if op.fixup.is_some()
                        || matches!(name.as_slice(), b"MULTI" | b"EXEC" | b"DISCARD")
                    {
                        last = Some(op);
                        break;
                    }
                    batch.push(op);
                }
                self.pipeline(idx, pair, &batch, gen);
                idx += batch.len();
                if let Some(op) = last {
                    self.op(idx, pair, &op, gen);
                    idx += 1;
                }
                continue;
            }
            let op = gen.next(pair);
            self.op(idx, pair, &op, gen);
            idx += 1;
        }
    }

    /// Sends one command on pair `pair` and compares the replies; panics with a report on a mismatch.
    /// Returns Redis's reply.
    pub fn step(&mut self, idx: usize, pair: usize, args: &[Vec<u8>], norm: Norm) -> Frame {
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
    fn pipeline(&mut self, first_idx: usize, pair: usize, ops: &[Op], gen: &mut impl Generator) {
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
            if !self.tolerance.accepts(args, &z, &r, &agree) {
                self.fail(idx, args, &escape(&z.0), &escape(&r.0));
            }
        }
        self.queued[pair] = queued;
        self.replies += 1;
        self.errors += usize::from(matches!(r.1, Frame::Error(_)));
        r.1
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

    /// Runs one generated op and its fixup (unless the op failed), and tracks MULTI state from the reply.
    fn op(&mut self, idx: usize, pair: usize, op: &Op, gen: &mut impl Generator) {
        let reply = self.step(idx, pair, &op.args, op.norm);
        self.after(pair, op, &reply, gen);
        if let (Some(fixup), false) = (&op.fixup, matches!(reply, Frame::Error(_))) {
            std::thread::sleep(std::time::Duration::from_millis(op.settle_ms));
            self.step(idx, pair, fixup, Norm::Exact);
        }
    }

    /// Tracks MULTI state and queued comparison modes from a reply.
    fn after(&mut self, pair: usize, op: &Op, reply: &Frame, gen: &mut impl Generator) {
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
