//! One command path: every command, whoever runs it, is resolved here once to its table entry, run, and its
//! effects drained in one place.
//!
//! - [`resolve`](resolve::resolve) maps an argv to its `&'static Command` (subcommand included) or to Redis's
//!   rejection text. After that nothing looks a command up by name again: rules are table flags
//!   (`crate::table`), and a blocked client keeps its command's [`CommandId`](crate::table::CommandId).
//! - `Core::call` (`pipeline.rs`) is the entry point for a client's command: MULTI queueing and CLIENT PAUSE,
//!   AUTH, RESP2 subscribed mode, memory (eviction before the command), MISCONF, then `Core::execute`.
//! - `Core::call_resolved` is the tail of `call` (eviction before the command, MISCONF): EXEC runs each queued
//!   command through it by the table entry resolved when it was queued.
//! - `Core::execute` runs a resolved command for a client; `Core::run_command` (also used by blocked-client
//!   retries, with the `CommandId` kept when the client blocked) runs the handler and calls
//!   `Core::drain_effects`.
//! - `Core::drain_effects` (`effects.rs`) is the only place that turns a command's `Effects` into AOF records
//!   (DELs for keys expired or evicted along the way, then the command or its rewritten form), stats, WATCH
//!   invalidation, keyspace notifications and ready keys for blocked clients. Eviction (`Core::reclaim`),
//!   the active expire cycle and AOF loading (`load.rs`) drain through it too, with their own [`Origin`].
//! - Blocked clients are served once per top-level command (after a whole EXEC), as Redis's
//!   `handleClientsBlockedOnKeys`.
//!
//! Later callers enter the same way: a script resolves its command with [`resolve()`], checks the command's
//! flags (e.g. `NOSCRIPT`) and runs it with `Core::call_resolved` for its (fake) client slot; the replication
//! stream and MIGRATE/RESTORE's replay run through `Core::load_command`'s shape (no client, effects drained
//! with their own [`Origin`]). Their effects then reach the AOF, WATCH, notifications and blocked clients
//! through the same `Core::drain_effects`, which feeds the replication stream next to the AOF
//! (`Core::propagate`, `crate::repl`). Our master's commands (on a replica) come in as an ordinary client's.

mod effects;
pub mod load;
mod pipeline;
mod prefetch;
pub mod resolve;
mod script;

/// Redis's `-NOREPLICAS` error (`min-replicas-to-write` not met).
pub const NOREPLICAS: &[u8] = b"NOREPLICAS Not enough good replicas to write.";

pub use effects::Origin;
pub use resolve::{resolve, wrong_arity, Rejection};
pub use script::ScriptRun;
