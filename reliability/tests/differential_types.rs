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
//! - Normalisation, only where Redis is nondeterministic (see `zedis_testkit::diff::agree` and each
//!   generator's docs): ZRANDMEMBER and `GEOSEARCH ... COUNT n ANY` by shape (random pick / scan order); geo searches
//!   with no order asked as multisets (geohash-box order); ZSCAN (always `0 COUNT 1000`) as cursor plus
//!   pairs; SORT `BY nosort` of a set as a multiset (shape with LIMIT, never STORE); XPENDING's extended
//!   form without its idle times. Stream ids are always explicit (`*` reads the clock), XCLAIM/XAUTOCLAIM
//!   use min-idle-time 0 or one hour, XINFO CONSUMERS (idle times) is not generated.
//!
//! The runner, the normalisations and the generator core are `zedis_testkit::diff`, shared with the first
//! fuzzer; the generators and the accepted divergences (`difftypes/tolerate.rs`) are this fuzzer's own.
//!
//! Env: `ZEDIS_FUZZ_SEED` (default: random, printed), `ZEDIS_FUZZ_SEEDS` (`a-b` or `a,b,c`: run each),
//! `ZEDIS_FUZZ_OPS` (per seed, default 3,000),
//! `ZEDIS_FUZZ_HISTORY` (commands shown on a failure, default 20). The `zedis-server` binary is found as
//! the other reliability tests find it (`ZEDIS_SERVER_BIN`, else `target/debug/zedis-server`).

#[path = "difftypes/gen.rs"]
mod gen;
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
#[path = "difftypes/tolerate.rs"]
mod tolerate;

use std::time::Instant;

use gen::{Gen, Norm};
use tolerate::Explained;
use zedis_reliability::{Kind, ServerProcess, TempDir};
use zedis_resp::frame::Frame;
use zedis_testkit::diff::{ops_from_env, seeds_from_env, Run};

/// Operations per seed when `ZEDIS_FUZZ_OPS` is not set (CI-sized).
const OPS_DEFAULT: usize = 3_000;

/// Runs `ops` operations from `seed` against a fresh pair of servers; panics with a report on a divergence.
fn fuzz(seed: u64, ops: usize) {
    eprintln!("differential types fuzz: ZEDIS_FUZZ_SEED={seed} ZEDIS_FUZZ_OPS={ops}");
    let (zdir, rdir) = (
        TempDir::new("difftypes-zedis"),
        TempDir::new("difftypes-redis"),
    );
    let zedis = ServerProcess::start(Kind::Zedis, zdir.path(), &[]).expect("start zedis-server");
    let redis = ServerProcess::start(Kind::Redis, rdir.path(), &[]).expect("start redis-server");
    let explained = Explained::new(redis.port);
    let mut run = Run::with_tolerance(seed, zedis.port, redis.port, explained);
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
    run.drive(&mut gen, ops);
    eprintln!(
        "differential types fuzz: {ops} operations ({} replies, {} errors), no divergence",
        run.replies, run.errors
    );
    run.tolerance.report();
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
    let ops = ops_from_env(OPS_DEFAULT);
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
