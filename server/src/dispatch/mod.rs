//! One command path: every command, whoever runs it, is resolved here once to its table entry, run, and its
//! effects drained in one place.
//!
//! - [`resolve`](resolve::resolve) maps an argv to its `&'static Command` (subcommand included) or to Redis's
//!   rejection text. After that nothing looks a command up by name again: rules are table flags
//!   (`crate::table`), and a blocked client keeps its command's [`CommandId`](crate::table::CommandId).
//! - `Core::call` (`pipeline.rs`) is the entry point for a client's command: MULTI queueing and CLIENT PAUSE,
//!   AUTH, RESP2 subscribed mode, memory (eviction before the command), MISCONF, then `Core::execute`.
//! - `Core::execute` runs a resolved command for a client (also used by EXEC for each queued command, and by
//!   blocked-client retries through `Core::run_command`), then calls [`drain_effects`](Core::drain_effects).
//! - `Core::drain_effects` (`effects.rs`) is the only place that turns a command's `Effects` into AOF records
//!   (DELs for keys expired or evicted along the way, then the command or its rewritten form), stats, WATCH
//!   invalidation, keyspace notifications and ready keys for blocked clients. Eviction (`Core::reclaim`),
//!   the active expire cycle and AOF loading (`load.rs`) drain through it too, with their own [`Origin`].
//! - Blocked clients are served once per top-level command (after a whole EXEC), as Redis's
//!   `handleClientsBlockedOnKeys`.
//!
//! Later callers (scripts, the replication stream, MIGRATE) run commands through `Core::execute` with a
//! resolved command and a client slot (a script's fake client), or through [`load`] for a stream without
//! a client; their effects then reach the AOF and the other consumers through the same `drain_effects`.

mod effects;
pub mod load;
mod pipeline;
pub mod resolve;

pub use effects::Origin;
pub use resolve::{resolve, wrong_arity, Rejection};
