//! Hidden directives: CONFIG GET answers them only when named exactly, never for a glob (Redis's
//! `HIDDEN_CONFIG`), so `CONFIG GET *` lists what a Redis 7.0 client expects to find and may set.
//!
//! Hidden are Redis's own hidden debugging directives (accepted and shown, with no effect in Zedis: it has
//! no per-key load or save delay, watchdog or exit-on-panic switch).
//!
//! Zedis's own start-up-only directives (memory strategies, metrics port) stay listed; CONFIG SET takes
//! their current value as a no-op (so a client that writes back every directive `CONFIG GET *` listed, as
//! Redis's "CONFIG sanity" test does, succeeds) and refuses any other value as immutable.

/// The hidden directives' names.
pub const HIDDEN: &[&str] = &[
    "key-load-delay",
    "rdb-key-save-delay",
    "loading-process-events-interval-bytes",
    "watchdog-period",
    "use-exit-on-panic",
];

/// Zedis's own directives fixed at start-up.
pub const ZEDIS_STARTUP_ONLY: &[&str] = &[
    "allocator",
    "kv-allocator",
    "request-allocator",
    "client-allocator",
    "metrics-port",
    "io",
];

/// Whether `name` (a directive's canonical name) is hidden from glob patterns.
pub fn is_hidden(name: &str) -> bool {
    HIDDEN.iter().any(|h| h.eq_ignore_ascii_case(name))
}
