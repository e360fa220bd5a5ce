//! The server's side of the observability engine (`zedis-observe`): the engines' state, and the hooks the
//! command path calls (timing, rejections, error replies) so that SLOWLOG, LATENCY and INFO
//! `commandstats`/`errorstats`/`latencystats` see every command, whoever runs it.
//!
//! - [`Core::observe_call`] after a command's handler (`dispatch/pipeline.rs`, `Core::run_command`): counts
//!   the call and its µs, a `command`/`fast-command` latency sample, the slow log, and a failed call when the
//!   command replied an error (Redis's `call()`).
//! - [`Core::observe_rejected`] where a resolved command is refused before it runs (Redis's `rejectCommand`).
//! - [`Core::observe_error`] for every error reply (`Core::reply_error`, the errors keyspace handlers recorded
//!   in the effects, script errors): INFO `errorstats`.
//! - [`Core::observe_recharge`] charges the engines' bytes to the budget (`Component::Other`).

use crate::server::Core;
use crate::table::{Command, FAST, SKIP_SLOWLOG};
use crate::Strategy;
use zedis_budget::{Component, GlobalBudget};
use zedis_client_pool::ClientSlots;
use zedis_observe::latency::events;
use zedis_observe::{CommandStats, ErrorStats, LatencyMonitor, SlowLog};

/// The observability engines the server feeds.
pub struct Observe {
    /// INFO commandstats / latencystats, LATENCY HISTOGRAM.
    pub commands: CommandStats,
    /// INFO errorstats.
    pub errors: ErrorStats,
    /// SLOWLOG.
    pub slowlog: SlowLog,
    /// LATENCY LATEST/HISTORY/GRAPH/DOCTOR/RESET.
    pub latency: LatencyMonitor,
    /// MONITOR clients (`crate::monitor_cmd`).
    pub monitors: crate::monitor_cmd::Monitors,
    /// CLIENT TRACKING (`crate::tracking_cmds`).
    pub tracking: crate::tracking_cmds::Tracking,
    /// The `metrics-port` endpoint when configured (`crate::metrics_port`).
    pub metrics: Option<crate::metrics_port::Metrics>,
    /// `fork()`s done by the parent: INFO `latest_fork_usec` / `total_forks`.
    pub forks: ForkStats,
    /// The error-reply total when a command's failure was last judged (Redis's `prev_err_count` in
    /// `incrCommandStatsOnError`): errors beyond it belong to the command being judged, so an EXEC or a
    /// script whose inner command failed is not counted as failed itself.
    errors_judged: u64,
    /// Bytes charged to the budget for the engines (`Component::Other`).
    charged_bytes: usize,
}

impl Observe {
    /// The engines with the command table's counters (`Table::new_with_stats`) and default settings.
    pub fn new(commands: CommandStats) -> Observe {
        Observe {
            commands,
            errors: ErrorStats::default(),
            slowlog: SlowLog::new(
                zedis_observe::slowlog::SLOWLOG_LOG_SLOWER_THAN_US_DEFAULT,
                zedis_observe::slowlog::SLOWLOG_MAX_LEN_DEFAULT,
            ),
            latency: LatencyMonitor::new(0),
            monitors: Default::default(),
            tracking: Default::default(),
            metrics: None,
            forks: ForkStats::default(),
            errors_judged: 0,
            charged_bytes: 0,
        }
    }

    /// Bytes the engines hold.
    pub fn bytes(&self) -> usize {
        self.commands.bytes()
            + self.errors.bytes()
            + self.slowlog.bytes()
            + self.latency.bytes()
            + self.tracking.bytes()
            + self.metrics.as_ref().map_or(0, |m| m.snapshot_bytes)
    }

    /// Bytes charged to the budget at the last recharge.
    pub fn charged_bytes(&self) -> usize {
        self.charged_bytes
    }
}

/// The forks of the server (Redis's `stat_fork_time` and `stat_total_forks`): the RDB child (BGSAVE, save
/// points, a replica's full sync) and the AOF rewrite child.
#[derive(Debug, Default, Clone, Copy)]
pub struct ForkStats {
    /// µs the last successful `fork()` took in the parent.
    pub latest_usec: u64,
    /// Successful `fork()`s since startup.
    pub total: u64,
}

/// A latency sample of `event` for the work begun at `started` (Redis's `latencyStartMonitor` /
/// `latencyEndMonitor` / `latencyAddSampleIfNeeded`), in whole ms as Redis's.
pub fn latency_since(obs: &mut Observe, event: &str, started: std::time::Instant) {
    let ms = started.elapsed().as_millis() as u64;
    obs.latency.add_sample_if_needed(event, ms, now_s());
}

/// The current unix second.
pub fn now_s() -> i64 {
    crate::server::unix_ms() / 1000
}

impl<S: Strategy> Core<S> {
    /// Applies the observability settings (startup and CONFIG SET).
    pub fn observe_apply_config(&mut self) {
        let c = &self.config;
        let obs = &mut self.engine.observe;
        obs.slowlog
            .set_log_slower_than_us(c.int("slowlog-log-slower-than"));
        obs.slowlog
            .set_max_len(c.int("slowlog-max-len").max(0) as u64);
        obs.latency
            .set_threshold_ms(c.int("latency-monitor-threshold").max(0) as u64);
        obs.commands
            .set_latency_tracking(c.flag("latency-tracking"));
        obs.tracking
            .table
            .set_max_keys(c.int("tracking-table-max-keys").max(0) as u64);
        let words: Vec<&[u8]> = c
            .get("latency-tracking-info-percentiles")
            .split_whitespace()
            .map(str::as_bytes)
            .collect();
        if let Ok(percentiles) = zedis_observe::stats::parse_percentiles(&words) {
            obs.commands.set_percentiles(percentiles);
        }
        self.observe_recharge();
    }

    /// After command `cmd` of client `ck` ran for `duration_us` (`blocked`: it is now waiting; its slow log
    /// entry and latency sample come when it is served).
    pub fn observe_call(
        &mut self,
        ck: usize,
        cmd: &Command<S>,
        argv: &[&[u8]],
        duration_us: i64,
        blocked: bool,
    ) {
        // The loop turn's clock: a slow log entry or latency sample needs no finer time.
        let now_s = crate::server::cached_ms() / 1000;
        let error_replies = self.engine.stats.error_replies;
        // A blocked client's command served now: it was counted when it blocked (Redis's
        // `updateStatsOnUnblock`).
        let unblocked = self.engine.blocked.serving;
        let obs = &mut self.engine.observe;
        if let Some(slot) = cmd.slot {
            if error_replies > obs.errors_judged {
                obs.commands.record_failed(slot);
            }
            if unblocked {
                obs.commands.record_unblocked(slot, duration_us);
            } else {
                obs.commands.record_call(slot, duration_us);
            }
        }
        obs.errors_judged = error_replies;
        if blocked {
            return;
        }
        let event = if unblocked {
            events::COMMAND_UNBLOCKING
        } else if cmd.has(FAST) {
            events::FAST_COMMAND
        } else {
            events::COMMAND
        };
        obs.latency
            .add_sample_if_needed(event, (duration_us / 1000) as u64, now_s);
        if !cmd.has(SKIP_SLOWLOG)
            && duration_us >= obs.slowlog.log_slower_than_us()
            && obs.slowlog.log_slower_than_us() >= 0
        {
            let (peer, name) = self
                .clients
                .get(ck)
                .map_or((&[][..], &[][..]), |c| (c.addr.as_bytes(), &c.name[..]));
            obs.slowlog
                .push_if_needed(argv, duration_us, peer, name, now_s);
        }
    }

    /// A `fork()` begun at `started` succeeded (called in the parent): INFO `latest_fork_usec` /
    /// `total_forks` and the `fork` latency event, as Redis's `redisFork`.
    pub fn observe_fork(&mut self, started: std::time::Instant) {
        let usec = started.elapsed().as_micros() as u64;
        let obs = &mut self.engine.observe;
        obs.forks.latest_usec = usec;
        obs.forks.total += 1;
        obs.latency
            .add_sample_if_needed(events::FORK, usec / 1000, now_s());
    }

    /// Before a command runs: errors replied since the last command was judged are not its own.
    pub fn observe_before_call(&mut self) {
        self.engine.observe.errors_judged = self.engine.stats.error_replies;
    }

    /// A resolved command refused before it ran (after its error reply was written).
    pub fn observe_rejected(&mut self, cmd: &Command<S>) {
        if let Some(slot) = cmd.slot {
            self.engine.observe.commands.record_rejected(slot);
        }
        self.engine.observe.errors_judged = self.engine.stats.error_replies;
    }

    /// The command that ran last replied an error already counted elsewhere (a script's error raised by a
    /// command it called): it still counts as failed, as Redis's `ERR_REPLY_FLAG_NO_STATS_UPDATE`.
    pub fn observe_failed_uncounted(&mut self, cmd_name: &str) {
        if let Some(slot) = self.engine.observe.commands.slot(cmd_name.as_bytes()) {
            self.engine.observe.commands.record_failed(slot);
        }
    }

    /// One error reply with text `text` (with or without its leading `-` and trailing CRLF): INFO
    /// errorstats, logged when errorstats disables itself.
    pub fn observe_error(&mut self, text: &[u8]) {
        let text = text.strip_suffix(b"\r\n").unwrap_or(text);
        if let Some(disabled) = self.engine.observe.errors.record(text) {
            for line in &disabled.log_lines {
                zedis_deploy::warning!("{line}");
            }
        }
    }

    /// Charges the engines' bytes to the budget (`Component::Other`) when they changed.
    pub fn observe_recharge(&mut self) {
        let bytes = self.engine.observe.bytes();
        let charged = self.engine.observe.charged_bytes;
        if bytes > charged {
            self.budget.reserve(Component::Other, bytes - charged);
        } else if bytes < charged {
            self.budget.release(Component::Other, charged - bytes);
        }
        self.engine.observe.charged_bytes = bytes;
    }

    /// CONFIG RESETSTAT's part: command, error and latency-histogram counters, the fork figures.
    pub fn observe_reset_stats(&mut self) {
        self.engine.observe.commands.reset();
        self.engine.observe.errors.reset();
        self.engine.observe.forks = ForkStats::default();
        self.engine.observe.errors_judged = self.engine.stats.error_replies;
        self.observe_recharge();
    }
}

/// The error text at the start of `reply` (a RESP error: `-CODE message\r\n`), without `-` and CRLF.
pub fn error_text(reply: &[u8]) -> Option<&[u8]> {
    let rest = reply.strip_prefix(b"-")?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_takes_the_first_line() {
        assert_eq!(
            error_text(b"-WRONGTYPE Operation\r\n:1\r\n"),
            Some(&b"WRONGTYPE Operation"[..])
        );
        assert_eq!(error_text(b"+OK\r\n"), None);
        assert_eq!(error_text(b"-ERR unterminated"), None);
    }
}
