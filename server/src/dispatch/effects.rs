//! The after-command work, done in one place for every caller: [`Core::drain_effects`].

use crate::server::Core;
use crate::Strategy;
use zedis_keyspace::Oom;

/// What produced the effects being drained.
#[derive(Clone, Copy)]
pub enum Origin<'a> {
    /// A command `argv` ran in database `db` (a client's, a queued one inside EXEC, a blocked client's retry).
    Command {
        /// The database it ran in.
        db: usize,
        /// Its arguments, logged to the AOF when it wrote and has no rewritten form.
        argv: &'a [&'a [u8]],
    },
    /// The server's own work: eviction before a command or a queued command, the active expire cycle.
    Housekeeping,
    /// A command replayed from the AOF: nothing is propagated back to the file.
    Loading,
}

impl<S: Strategy> Core<S> {
    /// Does everything that follows a change of the keyspace, in Redis's order (`call()` then
    /// `afterCommand()`): AOF propagation (DELs for keys that expired or were evicted along the way, then the
    /// command itself in its deterministic form if it wrote), stats, WATCH invalidation, keyspace
    /// notifications, and marking keys blocked clients wait on as ready (they are served after the top-level
    /// command, see `Core::execute`). Leaves `fx` empty for the next command.
    pub fn drain_effects(&mut self, origin: Origin<'_>) {
        match origin {
            Origin::Command { .. } if self.nothing_to_drain() => {
                // A command that changed nothing (a read): only the count moves; the steps below would each
                // find nothing to do.
                self.engine.stats.commands_processed += 1;
                self.engine.fx.reset();
                return;
            }
            Origin::Command { db, argv } => {
                self.aof_log_command(db, argv);
                self.engine.stats.commands_processed += 1;
                self.engine.stats.changes_since_save += self.engine.fx.dirty;
                // Only FLUSHALL empties the whole keyspace inside a command (eviction drains as
                // housekeeping): with save points it also replaces the RDB, as Redis's.
                if self.engine.fx.flushed {
                    self.rdb_after_flushall();
                }
                // Keyspace handlers count their error replies as they write them (`Ctx::error`); server
                // handlers count theirs in `Core::reply_error`.
                self.engine.stats.error_replies += self.engine.fx.errors.len() as u64;
            }
            Origin::Housekeeping => self.aof_log_deletions(),
            Origin::Loading => {
                // No client is connected yet: no watcher, subscriber or blocked client to tell.
                self.engine.fx.reset();
                self.engine.ks.new_keys.clear();
                return;
            }
        }
        crate::multi::signal_touched(self);
        self.tracking_drain();
        self.publish_events();
        self.note_ready_keys();
        self.engine.fx.reset();
    }

    /// Whether a command's effects hold nothing for [`Core::drain_effects`] to act on: no write, deletion,
    /// flush, event, touched key, new key or error, and no tracking (whose drain also delivers).
    #[inline]
    fn nothing_to_drain(&self) -> bool {
        let fx = &self.engine.fx;
        fx.dirty == 0
            && !fx.flushed
            && fx.flushed_dbs.is_empty()
            && fx.touched.is_empty()
            && fx.expired.is_empty()
            && fx.events.is_empty()
            && fx.errors.is_empty()
            && self.engine.ks.new_keys.is_empty()
            && !self.engine.observe.tracking.active()
    }

    /// Makes room for about `bytes_needed` more bytes by the eviction policy, with the evicted keys'
    /// effects drained (AOF DELs, `evicted` events, WATCH). Err: the room cannot be made.
    pub fn reclaim(&mut self, bytes_needed: usize, now_ms: i64) -> Result<(), Oom> {
        self.engine.fx.reset();
        self.engine.fx.track_touched = self.track_touched_needed();
        let reclaimed = self
            .engine
            .ks
            .reclaim(bytes_needed, now_ms, &mut self.engine.fx);
        self.drain_effects(Origin::Housekeeping);
        reclaimed
    }

    /// Redis's `evictionTimeProc`: while used memory is over a lowered `maxmemory`, each loop turn evicts
    /// for a bounded time (the keyspace's per-call limit). Returns whether to keep going at once: still
    /// over the limit and this turn freed something (a policy with nothing to evict stops the catching
    /// up; the cron retries).
    pub fn evict_catch_up(&mut self, now_ms: i64) -> bool {
        use zedis_budget::GlobalBudget;
        let budget = self.budget;
        if budget.limit() == 0 || !budget.over_limit() {
            return false;
        }
        let before = budget.used();
        let _ = self.reclaim(0, now_ms);
        budget.over_limit() && budget.used() < before
    }

    /// As [`Core::reclaim`] for a write's own `bytes_needed`, plus `headroom_bytes` for the client buffers
    /// charged after it: the write's own bytes are always made room for, the headroom only within the
    /// keyspace's eviction time limit per call (the rest is left to the next write), so one write under
    /// memory pressure does a bounded amount of eviction.
    pub fn reclaim_with_headroom(
        &mut self,
        bytes_needed: usize,
        headroom_bytes: usize,
        now_ms: i64,
    ) -> Result<(), Oom> {
        let started = std::time::Instant::now();
        self.engine.fx.reset();
        self.engine.fx.track_touched = self.track_touched_needed();
        let reclaimed = self.engine.ks.reclaim_with_headroom(
            bytes_needed,
            headroom_bytes,
            now_ms,
            &mut self.engine.fx,
        );
        self.drain_effects(Origin::Housekeeping);
        self.engine.observe.latency.add_sample_if_needed(
            zedis_observe::latency::events::EVICTION_CYCLE,
            started.elapsed().as_millis() as u64,
            now_ms / 1000,
        );
        reclaimed
    }
}
