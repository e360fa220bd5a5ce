//! The observability engine of Zedis: the state and the reply/INFO text of Redis 7.0's SLOWLOG, LATENCY
//! monitor, INFO `commandstats`/`errorstats`/`latencystats`, the client-side caching (CLIENT TRACKING) table,
//! and a Prometheus exposition of the server's figures.
//!
//! # Goals
//! - Output byte-identical to Redis 7.0.15 (`slowlog.c`, `latency.c`, `sparkline.c`, `tracking.c`, the INFO
//!   code in `server.c`), verified in `tests/` against a real `redis-server` fed the same input.
//! - Plain data driven by the server: every engine takes its inputs (argv, durations, the clock, client ids)
//!   as arguments and writes replies into a `Vec<u8>` with `zedis_resp::reply`; nothing here reads a socket
//!   or a clock (except the metrics HTTP thread, which only serves a published snapshot).
//! - Measurable memory: every engine has a `bytes()` the server charges to the budget, and every table is
//!   bounded (slowlog-max-len, 160 samples per latency event, 128 error prefixes, tracking-table-max-keys).
//!
//! # Non-goals
//! - Wiring: the server's command table, `call()` timing and INFO sections call into this crate
//!   (`zedis-server`'s `observe.rs`, `observe_cmds.rs`, `monitor_cmd.rs`, `tracking_cmds.rs`,
//!   `metrics_port.rs`; README's "Observability engine" section).
//! - Redis's dict iteration order (random per process): events, commands and errors are listed in insertion
//!   or sorted order here; tests compare such lists as sets.
//!
//! # Module layout
//! - [`slowlog`]: [`SlowLog`], entries and SLOWLOG replies.
//! - [`latency`]: [`LatencyMonitor`] (events, LATEST, HISTORY, RESET, GRAPH), `sparkline` (Redis's ASCII
//!   renderer), `doctor` (LATENCY DOCTOR's report), [`histogram`] (per-command hdr histograms as Redis reports
//!   them).
//! - [`stats`]: [`CommandStats`] (INFO `commandstats`/`latencystats`, LATENCY HISTOGRAM); [`errorstats`]:
//!   [`ErrorStats`] (INFO `errorstats`, the 128-code cap).
//! - [`tracking`]: [`TrackingTable`] and invalidation messages; `tracking_cmd`: CLIENT TRACKING / CACHING /
//!   GETREDIR / TRACKINGINFO on it.
//! - [`metrics`]: Prometheus text writer ([`Snapshot`]); [`metrics_http`]: the `metrics-port` HTTP server.
//! - [`monitor`]: MONITOR's line format.
//! - [`debug`]: DEBUG's argv as a typed [`DebugRequest`] with Redis's errors, and the `enable-debug-command`
//!   guard; [`debug_reply`]: the fixed-shape replies (HELP, OBJECT, PROTOCOL, ERROR, DIGEST, POPULATE names).
//! - [`allocator_report`]: the per-strategy allocator figures as DEBUG JMAP and MEMORY MALLOC-STATS text;
//!   [`memory_doctor`]: MEMORY DOCTOR's rules and texts, MEMORY HELP.
//! - [`lolwut`]: LOLWUT (versions 5 and 6 and the version line), drawn from [`CRand`], glibc's `rand()`.
//!
//! ```
//! use zedis_observe::{CommandStats, SlowLog};
//!
//! // The server times a command, then logs and counts it.
//! let mut slowlog = SlowLog::new(0, 128); // slowlog-log-slower-than 0: log everything
//! slowlog.push_if_needed(&[b"GET", b"key"], 12, b"127.0.0.1:50000", b"", 1_700_000_000);
//! let mut reply = Vec::new();
//! slowlog.reply_len(&mut reply);
//! assert_eq!(reply, b":1\r\n");
//!
//! let mut stats = CommandStats::new();
//! let get = stats.register("get");
//! stats.record_call(get, 12);
//! let mut info = String::new();
//! stats.write_commandstats(&mut info);
//! assert_eq!(
//!     info,
//!     "# Commandstats\r\ncmdstat_get:calls=1,usec=12,usec_per_call=12.00,rejected_calls=0,failed_calls=0\r\n"
//! );
//! ```
#![deny(missing_docs)]

pub mod allocator_report;
mod cnum;
mod crand;
pub mod debug;
mod debug_help;
pub mod debug_reply;
pub mod doctor;
mod error;
pub mod errorstats;
mod help;
pub mod histogram;
pub mod latency;
pub mod lolwut;
mod lolwut6;
pub mod memory_doctor;
pub mod metrics;
pub mod metrics_http;
pub mod monitor;
pub mod slowlog;
mod sparkline;
pub mod stats;
pub mod tracking;
mod tracking_cmd;

pub use allocator_report::AllocatorReport;
pub use debug::{ClientPeer, DebugRequest, ProtectedAction};
pub use doctor::DoctorInputs;
pub use error::ObserveError;
pub use errorstats::ErrorStats;
pub use histogram::CommandHistogram;
pub use latency::LatencyMonitor;
pub use lolwut::CRand;
pub use memory_doctor::MemoryDoctorInputs;
pub use metrics::Snapshot;
pub use metrics_http::{MetricsPublisher, MetricsServer};
pub use slowlog::{SlowLog, SlowlogEntry};
pub use stats::{CommandSlot, CommandStats};
pub use tracking::{ClientConn, ClientDirectory, ClientId, Invalidation, TrackingTable};
