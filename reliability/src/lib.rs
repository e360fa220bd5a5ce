//! Fault tests for `zedis-server`, run against the real binary and, where Redis's behaviour is the reference,
//! against a real `redis-server` 7.0.15 in the same scenario.
//!
//! This crate has no production code: the library is the test harness its integration tests share, and the
//! tests live in `tests/` (one fault family per file). `scripts/faults.sh` builds `zedis-server` first and runs
//! them, including the slower `#[ignore]`d ones.
//!
//! Goals: every fault is injected for real (a full tmpfs, SIGKILL, SIGSTOP, RST, stalled sockets) and the
//! outcome is compared with Redis's: error texts, what survives a restart, which clients are disconnected.
//! Non-goals: measuring speed (no test asserts one; every wait has wide margins).
//!
//! Free ports and temporary directories come from `zedis-testkit` (re-exported as [`TempDir`]).
//!
//! Layout:
//! - [`process`]: a server process (Zedis or Redis) on a free port, with its log, RSS, open fds, signals.
//! - [`sample`]: peak RSS sampled in the background while a fault runs.
//! - [`tmpfs`]: a small tmpfs mount that a test can fill and free (disk-full faults).
//! - [`wire`]: raw sockets (exact reply bytes, closed-connection detection, RST close) and INFO fields.
//! - [`writers`]: write load that records what was acknowledged, and the check that none of it was lost.
#![deny(missing_docs)]

pub mod process;
pub mod sample;
pub mod tmpfs;
pub mod wire;
pub mod writers;

pub use process::{redis_available, Kind, ServerProcess, StartError};
pub use sample::RssSampler;
pub use tmpfs::Tmpfs;
pub use wire::{info_field, Raw};
pub use writers::{Acked, Writers};
pub use zedis_testkit::TempDir;
