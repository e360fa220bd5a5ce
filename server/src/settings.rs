//! Typed settings: the configuration values the server consults while it runs, parsed once when the
//! configuration is applied (startup, CONFIG SET) so that no per-command or per-read path looks a value up by
//! name. `Config` stays the source of truth for CONFIG GET/SET/REWRITE.

use crate::config::Config;
use crate::outlimit::OutputLimits;
use zedis_deploy::shutdown::ShutdownFlags;
use zedis_resp::ParserLimits;

/// Values read by the event loop, the command path and the cron.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `hz`, clamped to 1..=500.
    pub hz: u64,
    /// `client-query-buffer-limit`: a client whose query buffer (or MULTI queue) passes it is closed.
    pub query_buffer_bytes_max: usize,
    /// `timeout`: idle clients are closed after this many seconds (0 = never).
    pub idle_timeout_s: i64,
    /// `protected-mode yes`.
    pub protected_mode: bool,
    /// Parser limits applied to every client (`proto-max-bulk-len`).
    pub parser_limits: ParserLimits,
    /// `client-output-buffer-limit`.
    pub output_limits: OutputLimits,
    /// `auto-aof-rewrite-percentage` (0 = no automatic rewrite).
    pub aof_rewrite_percentage: u64,
    /// `auto-aof-rewrite-min-size`.
    pub aof_rewrite_min_bytes: u64,
    /// `aof-load-truncated`.
    pub aof_load_truncated: bool,
    /// `repl-backlog-size`.
    pub repl_backlog_bytes: usize,
    /// `repl-ping-replica-period`.
    pub repl_ping_period_s: u64,
    /// `repl-timeout`.
    pub repl_timeout_s: u64,
    /// `min-replicas-to-write` (0: off).
    pub min_replicas_to_write: usize,
    /// `min-replicas-max-lag` (0: off).
    pub min_replicas_max_lag_s: u64,
    /// `replica-read-only`.
    pub replica_read_only: bool,
    /// `enable-debug-command`: who may run DEBUG.
    pub debug_command: zedis_observe::debug::ProtectedAction,
    /// `replica-ignore-maxmemory`.
    pub replica_ignore_maxmemory: bool,
    /// `replica-serve-stale-data`.
    pub replica_serve_stale_data: bool,
    /// `tcp-keepalive` in seconds, applied to clients accepted from now on (0: off).
    pub tcp_keepalive_s: u32,
    /// `save`: (seconds, changes) pairs, in the configured order (empty: no automatic BGSAVE).
    pub save_points: Vec<(u64, u64)>,
    /// `stop-writes-on-bgsave-error`.
    pub stop_writes_on_bgsave_error: bool,
    /// `shutdown-on-sigterm`.
    pub shutdown_on_sigterm: ShutdownFlags,
    /// `shutdown-on-sigint`.
    pub shutdown_on_sigint: ShutdownFlags,
    /// `shutdown-timeout` in seconds (0: do not wait for replicas).
    pub shutdown_timeout_s: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            hz: 10,
            query_buffer_bytes_max: 1 << 30,
            idle_timeout_s: 0,
            protected_mode: true,
            parser_limits: ParserLimits::default(),
            output_limits: OutputLimits::default(),
            aof_rewrite_percentage: 100,
            aof_rewrite_min_bytes: 64 << 20,
            aof_load_truncated: true,
            repl_backlog_bytes: 1 << 20,
            repl_ping_period_s: 10,
            repl_timeout_s: 60,
            min_replicas_to_write: 0,
            min_replicas_max_lag_s: 10,
            replica_read_only: true,
            debug_command: zedis_observe::debug::ProtectedAction::No,
            replica_ignore_maxmemory: true,
            replica_serve_stale_data: true,
            tcp_keepalive_s: 300,
            save_points: Vec::new(),
            stop_writes_on_bgsave_error: true,
            shutdown_on_sigterm: ShutdownFlags::default(),
            shutdown_on_sigint: ShutdownFlags::default(),
            shutdown_timeout_s: 10,
        }
    }
}

impl Settings {
    /// Reads the settings from `config` (values were validated when set).
    pub fn from_config(c: &Config) -> Settings {
        Settings {
            hz: c.int("hz").clamp(1, 500) as u64,
            query_buffer_bytes_max: c.int("client-query-buffer-limit") as usize,
            idle_timeout_s: c.int("timeout"),
            protected_mode: c.get("protected-mode").eq_ignore_ascii_case("yes"),
            parser_limits: ParserLimits {
                bulk_bytes_max: c.int("proto-max-bulk-len") as usize,
                ..ParserLimits::default()
            },
            output_limits: OutputLimits::parse(
                c.get("client-output-buffer-limit"),
                &Default::default(),
            )
            .unwrap_or_default(),
            aof_rewrite_percentage: c.int("auto-aof-rewrite-percentage") as u64,
            aof_rewrite_min_bytes: c.int("auto-aof-rewrite-min-size") as u64,
            aof_load_truncated: c.flag("aof-load-truncated"),
            repl_backlog_bytes: (c.int("repl-backlog-size") as usize).max(16 * 1024),
            repl_ping_period_s: c.int("repl-ping-replica-period").max(1) as u64,
            repl_timeout_s: c.int("repl-timeout").max(1) as u64,
            min_replicas_to_write: c.int("min-replicas-to-write") as usize,
            min_replicas_max_lag_s: c.int("min-replicas-max-lag") as u64,
            replica_read_only: c.flag("replica-read-only"),
            debug_command: zedis_observe::debug::ProtectedAction::parse(
                c.get("enable-debug-command").as_bytes(),
            )
            .unwrap_or(zedis_observe::debug::ProtectedAction::No),
            replica_ignore_maxmemory: c.flag("replica-ignore-maxmemory"),
            replica_serve_stale_data: c.flag("replica-serve-stale-data"),
            tcp_keepalive_s: c.int("tcp-keepalive").clamp(0, i64::from(u32::MAX)) as u32,
            save_points: crate::persist::save_points::parse(c.get("save")),
            stop_writes_on_bgsave_error: c.flag("stop-writes-on-bgsave-error"),
            shutdown_on_sigterm: ShutdownFlags::parse(c.get("shutdown-on-sigterm"))
                .unwrap_or_default(),
            shutdown_on_sigint: ShutdownFlags::parse(c.get("shutdown-on-sigint"))
                .unwrap_or_default(),
            shutdown_timeout_s: c.int("shutdown-timeout").max(0) as u64,
        }
    }
}
