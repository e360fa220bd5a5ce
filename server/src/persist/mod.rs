//! RDB snapshots as Redis 7.0 takes them: the one forked child that writes an RDB (`child.rs`, serving
//! BGSAVE, the save points and a replica's full resync alike), BGSAVE / LASTSAVE (`commands.rs`), the `save`
//! points (`save_points.rs`), SHUTDOWN and the SIGTERM / SIGINT shutdown (`shutdown.rs`), and the rdb_*
//! fields of INFO persistence. SAVE and loading at startup are in `crate::rdb_save`.

pub mod child;
pub mod commands;
pub mod save_points;
pub mod shutdown;

use crate::server::Core;
use crate::Strategy;
use std::fmt::Write as _;

/// Seconds after a failed BGSAVE before a save point or a scheduled BGSAVE tries again (Redis's
/// `CONFIG_BGSAVE_RETRY_DELAY`).
pub const BGSAVE_RETRY_DELAY_S: i64 = 5;

/// Redis's `-MISCONF` text for writes while the last background save failed.
pub const BGSAVE_MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// The snapshot state (Redis's `lastsave`, `lastbgsave_status`, `rdb_child_pid`...).
#[derive(Debug)]
pub struct Persist {
    /// The RDB child, while one runs.
    pub child: Option<child::RdbChild>,
    /// Unix second of the last successful save (startup time until then, as Redis).
    pub lastsave_s: i64,
    /// Whether the last background save succeeded.
    pub last_bgsave_ok: bool,
    /// Unix second of the last BGSAVE attempt (the retry delay after a failure).
    pub last_bgsave_try_s: i64,
    /// Duration of the last background save in seconds (-1: none yet).
    pub last_bgsave_time_s: i64,
    /// Saves started (SAVE and BGSAVE; Redis's `stat_rdb_saves`).
    pub saves: u64,
    /// BGSAVE SCHEDULE (or a save point) waits for the running child to finish.
    pub bgsave_scheduled: bool,
    /// Keys loaded and keys skipped as expired by the last RDB load.
    pub last_load_keys: (u64, u64),
    /// The shutdown in progress, if any.
    pub shutdown: shutdown::ShutdownState,
}

impl Default for Persist {
    fn default() -> Self {
        Persist {
            child: None,
            lastsave_s: crate::server::unix_ms() / 1000,
            last_bgsave_ok: true,
            last_bgsave_try_s: 0,
            last_bgsave_time_s: -1,
            saves: 0,
            bgsave_scheduled: false,
            last_load_keys: (0, 0),
            shutdown: Default::default(),
        }
    }
}

impl<S: Strategy> Core<S> {
    /// After FLUSHALL (Redis's `flushAllDataAndResetRDB`): a running RDB child is stopped, and with save
    /// points the now empty dataset is saved at once, so a restart does not bring the old data back.
    pub fn rdb_after_flushall(&mut self) {
        if self.engine.persist.child.is_some() {
            self.rdb_child_kill();
        }
        if !self.settings.save_points.is_empty() {
            let _ = self.rdb_save_now();
        }
    }

    /// `-MISCONF` for writes (and PING) after a failed background save with `stop-writes-on-bgsave-error`
    /// and save points configured, as Redis's `writeCommandsDeniedByDiskError`.
    pub fn rdb_misconf(&self) -> Option<String> {
        (self.settings.stop_writes_on_bgsave_error
            && !self.settings.save_points.is_empty()
            && !self.engine.persist.last_bgsave_ok)
            .then(|| BGSAVE_MISCONF.to_string())
    }
}

/// The RDB part of INFO persistence, in Redis 7.0's order. Redis's `current_cow_*`, `current_fork_perc` and
/// `current_save_keys_*` before it are left out: the parent does not follow the child's progress or
/// copy-on-write size (`rdb_last_cow_size` stays 0, as `aof_last_cow_size`).
pub fn info<S: Strategy>(core: &Core<S>, out: &mut String) {
    let p = &core.engine.persist;
    let current = p
        .child
        .as_ref()
        .map_or(-1, |c| c.started.elapsed().as_secs() as i64);
    let _ = write!(
        out,
        "rdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\n",
        core.engine.stats.changes_since_save,
        u8::from(p.child.is_some()),
        p.lastsave_s,
        if p.last_bgsave_ok { "ok" } else { "err" },
        p.last_bgsave_time_s,
        current,
        p.saves,
        p.last_load_keys.1,
        p.last_load_keys.0,
    );
}
