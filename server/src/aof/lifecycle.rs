//! The AOF in the server's life: startup, what each command logs, the write before replies, the cron (write
//! retries, rewrite children, automatic rewrites), CONFIG SET appendonly/appendfsync and shutdown.

use super::{FsyncPolicy, State};
use crate::observe::latency_since;
use crate::server::Core;
use crate::table::{Command, DISK_ERROR_DENIED, WRITE};
use crate::Strategy;
use std::fs::File;
use std::sync::atomic::Ordering;
use std::time::Instant;
use zedis_observe::latency::events;

impl<S: Strategy> Core<S> {
    /// Startup: loads the AOF when `appendonly yes`, then opens it for appending. Called before the loop runs.
    pub fn aof_startup(&mut self) -> anyhow::Result<()> {
        self.engine.aof.policy = FsyncPolicy::parse(self.config.get("appendfsync"));
        self.engine.aof.started = true;
        if !self.config.flag("appendonly") {
            return Ok(());
        }
        self.aof_open_dir()?;
        self.engine.aof.state = State::On;
        self.engine.aof.ensure_fsync_thread();
        Ok(())
    }

    /// Logs the keys deleted by expiry/eviction in `fx` (and a whole-keyspace eviction flush) as DEL/FLUSHALL.
    /// Called only by `Core::drain_effects`.
    pub fn aof_log_deletions(&mut self) {
        if !self.propagating() {
            return;
        }
        if self.engine.fx.flushed {
            self.propagate(0, &[b"FLUSHALL"]);
        }
        let expired = std::mem::take(&mut self.engine.fx.expired);
        for (db, key) in &expired {
            self.propagate(*db, &[b"DEL", key]);
        }
        self.engine.fx.expired = expired;
        self.engine.aof.recharge(self.budget);
    }

    /// After a command ran in `db`: its deletions, then itself (deterministic form) if it wrote. Called only by
    /// `Core::drain_effects`.
    pub fn aof_log_command(&mut self, db: usize, argv: &[&[u8]]) {
        if !self.propagating() {
            return;
        }
        // Only eviction empties the whole keyspace as a side effect, and it never runs inside a command
        // (`Core::reclaim` drains as housekeeping): here `fx.flushed` is FLUSHALL itself, logged below.
        let expired = std::mem::take(&mut self.engine.fx.expired);
        for (db, key) in &expired {
            self.propagate(*db, &[b"DEL", key]);
        }
        self.engine.fx.expired = expired;
        if self.engine.fx.dirty == 0 {
            return;
        }
        match self.engine.fx.rewritten.take() {
            Some(commands) => {
                for command in &commands {
                    let argv: Vec<&[u8]> = command.iter().map(|a| a.as_slice()).collect();
                    self.propagate(db, &argv);
                }
                self.engine.fx.rewritten = Some(commands);
            }
            None => self.propagate(db, argv),
        }
        self.engine.aof.recharge(self.budget);
    }

    /// Redis's `-MISCONF` refusal for writes (and PING) while the AOF cannot be written.
    pub fn aof_denies(&self, cmd: &Command<S>) -> Option<String> {
        if !cmd.has(WRITE | DISK_ERROR_DENIED) {
            return None;
        }
        self.rdb_misconf()
            .or_else(|| self.engine.aof.misconf_error())
    }

    /// Before replies are sent: writes this turn's commands, and with `always` fdatasyncs them.
    pub fn aof_before_sleep(&mut self) {
        if self.engine.aof.state == State::Off || self.engine.aof.buf.is_empty() {
            return;
        }
        let always = self.engine.aof.policy == FsyncPolicy::Always;
        match self.aof_write_timed() {
            Err(_) if always => {
                zedis_deploy::warning!("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
                std::process::exit(1);
            }
            Err(_) => {}
            Ok(()) if always => {
                let sync_started = Instant::now();
                let synced = self.engine.aof.file.as_ref().map(File::sync_data);
                latency_since(
                    &mut self.engine.observe,
                    events::AOF_FSYNC_ALWAYS,
                    sync_started,
                );
                if let Some(Err(e)) = synced {
                    zedis_deploy::warning!("Can't persist AOF for fsync error when the AOF fsync policy is 'always': {e}. Exiting...");
                    std::process::exit(1);
                }
            }
            Ok(()) => {}
        }
        self.engine.aof.recharge(self.budget);
    }

    /// Writes the buffered commands with Redis's latency events of `flushAppendOnlyFile`: `aof-write`, and
    /// one of `aof-write-pending-fsync` (the everysec thread is syncing), `aof-write-active-child` (an RDB
    /// or rewrite child runs) or `aof-write-alone`.
    fn aof_write_timed(&mut self) -> Result<(), i32> {
        if self.engine.aof.buf.is_empty() || self.engine.aof.file.is_none() {
            return Ok(());
        }
        if self.engine.aof.flush_sleep_us > 0 {
            std::thread::sleep(std::time::Duration::from_micros(
                self.engine.aof.flush_sleep_us,
            ));
        }
        let pending_fsync = self.engine.aof.fsync_in_progress();
        let started = Instant::now();
        let written = self.engine.aof.write_buf();
        let case = if pending_fsync {
            events::AOF_WRITE_PENDING_FSYNC
        } else if self.child_active() {
            events::AOF_WRITE_ACTIVE_CHILD
        } else {
            events::AOF_WRITE_ALONE
        };
        latency_since(&mut self.engine.observe, case, started);
        latency_since(&mut self.engine.observe, events::AOF_WRITE, started);
        written
    }

    /// Cron: retries a failed write, reaps a finished rewrite child, starts scheduled or automatic rewrites.
    pub fn aof_cron(&mut self) {
        if self.engine.aof.write_errno.is_some() {
            let _ = self.aof_write_timed();
        }
        if let Some(pid) = self.engine.aof.rewrite.as_ref().map(|r| r.pid) {
            let mut status = 0;
            // SAFETY: plain waitpid on our own child.
            let reaped = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if reaped == pid {
                let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
                self.aof_rewrite_done(ok);
            }
            return;
        }
        let retry_due = self
            .engine
            .aof
            .retry_at
            .is_none_or(|at| Instant::now() >= at);
        if self.engine.aof.rewrite_scheduled && retry_due && self.engine.persist.child.is_none() {
            self.engine.aof.rewrite_scheduled = false;
            let _ = self.aof_start_rewrite();
            return;
        }
        let percentage = self.settings.aof_rewrite_percentage;
        let min_size = self.settings.aof_rewrite_min_bytes;
        let (current, base) = (
            self.engine.aof.total_size(),
            self.engine.aof.base_size.max(1),
        );
        if self.engine.aof.state == State::On && percentage > 0 && current > min_size {
            let growth = (current * 100 / base).saturating_sub(100);
            if growth >= percentage {
                zedis_deploy::notice!("Starting automatic rewriting of AOF on {growth}% growth");
                let _ = self.aof_start_rewrite();
            }
        }
    }

    /// Applies `appendonly` and `appendfsync` after startup and CONFIG SET.
    pub fn aof_apply_config(&mut self) {
        let policy = FsyncPolicy::parse(self.config.get("appendfsync"));
        self.engine.aof.policy = policy;
        self.engine.aof.timestamps.enabled = self.config.flag("aof-timestamp-enabled");
        if let Some(shared) = &self.engine.aof.fsync {
            shared
                .everysec
                .store(policy == FsyncPolicy::EverySec, Ordering::Relaxed);
        }
        let wanted = self.config.flag("appendonly");
        match (self.engine.aof.state, wanted) {
            (State::Off, true) if self.engine.aof.started => {
                // As Redis's startAppendOnly: the current dataset first goes to the file through a rewrite.
                self.engine.aof.state = State::WaitRewrite;
                self.engine.aof.ensure_fsync_thread();
                if let Err(e) = self.aof_start_rewrite() {
                    zedis_deploy::warning!("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation: {e}");
                    self.engine.aof.rewrite_scheduled = true;
                }
            }
            (State::On | State::WaitRewrite, false) => self.aof_stop(),
            _ => {}
        }
    }

    /// CONFIG SET appendonly no: flush, close, and abandon a running rewrite.
    fn aof_stop(&mut self) {
        let _ = self.engine.aof.write_buf();
        self.engine.aof.buf.clear();
        self.engine.aof.close_file();
        self.aof_kill_rewrite();
        self.engine.aof.state = State::Off;
        self.engine.aof.parts = None;
        self.engine.aof.rewrite_scheduled = false;
        self.engine.aof.write_errno = None;
        self.engine.aof.recharge(self.budget);
    }

    /// Shutdown: everything buffered goes to disk.
    pub fn aof_shutdown(&mut self) {
        self.aof_kill_rewrite();
        if self.engine.aof.state == State::On {
            let _ = self.engine.aof.write_buf();
            if let Some(file) = &self.engine.aof.file {
                let _ = file.sync_data();
            }
        }
    }
}
