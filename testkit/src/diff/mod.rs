//! The differential fuzzer's shared part: seeded random command sequences sent to `zedis-server` and to a
//! real `redis-server` 7.0.15, replies compared byte for byte.
//!
//! Two fuzzers use it, each with its own generator (the command families it covers) and its own docs on
//! which commands need which [`Norm`]: `server/tests/differential.rs` (strings, keys, expiry, lists, sets,
//! hashes, transactions) and `reliability/tests/differential_types.rs` (sorted sets, geo, bitmaps,
//! HyperLogLog, SORT, streams, scripts).
//!
//! - [`Run`]: two connection pairs to each server (RESP2 and RESP3), every command to both, replies
//!   compared raw first, then (when the bytes differ) under the command's [`Norm`] with the same leading
//!   type byte; MULTI/EXEC tracking (EXEC replies compared element-wise with the modes of what was queued);
//!   pipelines; fixups ([`Op::fixup`]); a [`Tolerance`] hook for accepted divergences; a failure report
//!   with the seed and the last commands.
//! - [`Generator`]: what a fuzzer's generator offers the runner.
//! - [`Rng`], [`Norm`], [`Op`], [`argv`]: the generator core.
//! - [`agree`]: the normalisations.
//! - [`seeds_from_env`] and friends: `ZEDIS_FUZZ_SEED`, `ZEDIS_FUZZ_SEEDS`, `ZEDIS_FUZZ_OPS`,
//!   `ZEDIS_FUZZ_HISTORY`.
//!
//! ```no_run
//! use zedis_testkit::diff::{seed_from_env, ops_from_env, Run};
//! # struct MyGen(zedis_testkit::diff::Rng);
//! # impl zedis_testkit::diff::Generator for MyGen {
//! #     fn next(&mut self, _: usize) -> zedis_testkit::diff::Op {
//! #         use zedis_testkit::diff::{argv, Norm, Op};
//! #         Op::new(argv(&[b"PING"]), Norm::Exact)
//! #     }
//! #     fn set_multi(&mut self, _: usize, _: bool) {}
//! #     fn rng(&mut self) -> &mut zedis_testkit::diff::Rng { &mut self.0 }
//! # }
//! # let (zedis_port, redis_port) = (0, 0);
//! let seed = seed_from_env();
//! let mut run = Run::new(seed, zedis_port, redis_port);
//! run.drive(&mut MyGen(zedis_testkit::diff::Rng::new(seed)), ops_from_env(20_000));
//! ```

mod conn;
mod env;
mod gen_core;
mod norm;
mod run;

pub use conn::{escape, show, Conn, REPLY_WAIT_MAX};
pub use env::{history_len_from_env, ops_from_env, seed_from_env, seeds_from_env, HISTORY_LEN};
pub use gen_core::{argv, Norm, Op, Rng};
pub use norm::agree;
pub use run::{Generator, Reply, Run, Tolerance, PIPELINE_LEN_MAX};
