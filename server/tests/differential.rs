//! A differential fuzzer: seeded random command sequences sent to `zedis-server` and to a real
//! `redis-server` 7.0, replies compared byte for byte.
//!
//! - Commands cover every family Zedis implements (strings, keys, expire, lists with non-blocking pops and
//!   moves, sets, hashes, MULTI/EXEC/DISCARD/WATCH, SELECT, PING/ECHO), with valid and invalid arguments
//!   (wrong arity, wrong types, bad integers and floats, out of range values, unknown options and commands)
//!   over a small pool of keys, some binary, so that commands collide.
//! - Two connection pairs: the first speaks RESP2, the second RESP3 (`HELLO 3`); each command goes to one
//!   pair, chosen at random, so MULTI, WATCH and SELECT state interleave across connections. Now and then up
//!   to 16 commands are pipelined (sent in one write, replies read after).
//! - Normalisation, only where Redis is nondeterministic (see `zedis_testkit::diff::agree`): SMEMBERS, SINTER,
//!   SUNION, SDIFF, KEYS, HKEYS, HVALS compared as multisets and HGETALL as pairs (hash table iteration
//!   order); SCAN/SSCAN/HSCAN (always `0 ... COUNT 1000`) as cursor plus multiset; SPOP, SRANDMEMBER,
//!   HRANDFIELD, RANDOMKEY by shape only (types and lengths), and every SPOP is followed by a `DEL` of its key
//!   on both servers so the keyspaces stay equal; TTL/EXPIRETIME within 2 s, PTTL/PEXPIRETIME within 2000 ms;
//!   EXPIRE/PEXPIRE with GT or LT only as "0 or 1" on both (an equal relative TTL set twice compares equal
//!   or greater depending on whether a millisecond passed, and the TTL reads tolerate the ms apart).
//!   Expiry uses past or far-future times, so no key expires between the two servers' commands, except 1 ms
//!   lives (PSETEX, SET PX, PEXPIRE, GETEX PX) followed by a 5 ms wait and `EXISTS key` on both; a
//!   SET with a past absolute time is followed by `EXISTS key` (outside MULTI) or gets a future time (inside),
//!   because Redis counts such a key in DBSIZE until its timer-driven active expiry removes it.
//!   OBJECT, INFO, CONFIG, CLIENT, MEMORY, TIME, COMMAND, DEBUG and pub/sub are not generated (they describe
//!   the server rather than the data, or block). Blocking list commands are generated inside MULTI only,
//!   where they do not block.
//!
//! The runner (connections, comparison, MULTI tracking, pipelines, fixups, failure report), the
//! normalisations and the generator core are `zedis_testkit::diff`, shared with the types fuzzer
//! (`reliability/tests/differential_types.rs`); the generator is this file's own (`differential/gen*.rs`).
//!
//! Env: `ZEDIS_FUZZ_SEED` (default: random, printed), `ZEDIS_FUZZ_OPS` (default 20,000),
//! `ZEDIS_FUZZ_HISTORY` (commands shown on a failure, default 20).
//! `scripts/fuzz-diff.sh` runs 100,000 operations on a release build.

mod common;
#[path = "differential/gen.rs"]
mod gen;
#[path = "differential/gen_collections.rs"]
mod gen_collections;
#[path = "differential/gen_strings.rs"]
mod gen_strings;

use common::reference::RedisProcess;
use gen::Gen;
use zedis_testkit::diff::{ops_from_env, seed_from_env, Run};

/// Operations when `ZEDIS_FUZZ_OPS` is not set.
const OPS_DEFAULT: usize = 20_000;

#[test]
fn differential_against_redis() {
    let Some(redis) = RedisProcess::start(&[]) else {
        eprintln!("note: redis-server not found or did not start; differential fuzzer skipped");
        return;
    };
    let seed = seed_from_env();
    let ops = ops_from_env(OPS_DEFAULT);
    eprintln!("differential fuzz: ZEDIS_FUZZ_SEED={seed} ZEDIS_FUZZ_OPS={ops}");
    let server = common::Server::start(&[]);
    let mut run = Run::new(seed, server.port, redis.port);
    run.drive(&mut Gen::new(seed), ops);
    eprintln!(
        "differential fuzz: {ops} operations ({} replies, {} errors), no divergence",
        run.replies, run.errors
    );
}
