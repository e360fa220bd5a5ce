//! SHUTDOWN and the SIGTERM / SIGINT shutdown, as Redis 7.0's `prepareForShutdown` / `finishShutdown`:
//! unless NOW, wait up to `shutdown-timeout` seconds (writes paused, the SHUTDOWN client blocked) for lagging
//! replicas; then stop the RDB and AOF rewrite children, flush and fsync the AOF, save the RDB when the flags
//! say so (`zedis_deploy::shutdown::ShutdownFlags::saves`), remove the pidfile and the Unix socket file, and
//! exit. A failed save cancels the shutdown unless FORCE; SHUTDOWN ABORT cancels a wait.

use crate::server::{cached_ms, Core};
use crate::Strategy;
use zedis_client_pool::ClientSlots;
use zedis_deploy::shutdown::ShutdownFlags;
use zedis_deploy::{notice, warning};

/// The shutdown state (Redis's `shutdown_asap`, `last_sig_received`, `shutdown_flags`, `shutdown_mstime`).
#[derive(Debug, Default)]
pub struct ShutdownState {
    /// A signal asked for a shutdown that has not begun yet.
    pub asap_signal: Option<i32>,
    /// The flags of the shutdown in progress.
    pub flags: ShutdownFlags,
    /// While waiting for lagging replicas: the unix ms at which the shutdown goes on anyway.
    pub deadline_ms: Option<i64>,
    /// Client slots blocked on SHUTDOWN while it waits.
    pub blocked: Vec<usize>,
    /// The CLIENT PAUSE state the wait replaced (restored when it is cancelled).
    paused_before: Option<(i64, bool)>,
}

/// What starting a shutdown led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begun {
    /// Done: the loop exits.
    Exit,
    /// Waiting for replicas.
    Waiting,
    /// Refused or failed (logged).
    Failed,
}

impl<S: Strategy> Core<S> {
    /// SIGTERM / SIGINT arrived (Redis's `sigShutdownHandler`): a second SIGINT exits at once.
    pub fn shutdown_on_signal(&mut self, signal: i32) {
        let state = &mut self.engine.persist.shutdown;
        if state.asap_signal.is_some() && signal == libc::SIGINT {
            warning!("You insist... exiting now.");
            if let Some(child) = self.engine.persist.child.as_ref() {
                let _ = std::fs::remove_file(&child.temp);
            }
            std::process::exit(1);
        }
        warning!(
            "{}",
            if signal == libc::SIGINT {
                "Received SIGINT scheduling shutdown..."
            } else {
                "Received SIGTERM scheduling shutdown..."
            }
        );
        state.asap_signal = Some(signal);
    }

    /// Each loop turn: a signal's shutdown begins; a wait for replicas ends when they caught up or the
    /// timeout passed (Redis's `serverCron` part).
    pub fn shutdown_tick(&mut self) {
        let state = &self.engine.persist.shutdown;
        if let Some(deadline) = state.deadline_ms {
            if cached_ms() >= deadline || self.replicas_in_sync() {
                self.finish_shutdown();
            }
            return;
        }
        if let Some(signal) = state.asap_signal {
            let flags = if signal == libc::SIGINT {
                self.settings.shutdown_on_sigint
            } else {
                self.settings.shutdown_on_sigterm
            };
            if self.prepare_shutdown(flags) == Begun::Failed {
                warning!("SIGTERM received but errors trying to shut down the server, check the logs for more information");
                self.engine.persist.shutdown.asap_signal = None;
            }
        }
    }

    /// Whether every replica acknowledged the whole stream (Redis's `isReadyToShutdown`).
    fn replicas_in_sync(&self) -> bool {
        let offset = self.engine.repl.master_repl_offset;
        self.engine.repl.replicas.iter().all(|&ck| {
            self.clients
                .get(ck)
                .and_then(|c| c.replica.as_ref())
                .is_none_or(|l| l.ack_offset == offset)
        })
    }

    /// Begins a shutdown with `flags` (Redis's `prepareForShutdown`).
    pub fn prepare_shutdown(&mut self, flags: ShutdownFlags) -> Begun {
        if self.engine.persist.shutdown.deadline_ms.is_some() {
            // Already waiting: a SHUTDOWN joins the wait (Redis blocks it before asking).
            return Begun::Waiting;
        }
        self.engine.persist.shutdown.flags = flags;
        warning!("User requested shutdown...");
        self.net.service.stopping();
        let timeout_s = self.settings.shutdown_timeout_s;
        if flags.waits_for_replicas(timeout_s, !self.replicas_in_sync()) {
            let state = &mut self.engine.persist.shutdown;
            state.deadline_ms = Some(cached_ms() + timeout_s as i64 * 1000);
            state.paused_before =
                Some((self.engine.paused_until_ms, self.engine.pause_writes_only));
            self.engine.repl.get_ack = true;
            self.engine.paused_until_ms = i64::MAX;
            self.engine.pause_writes_only = true;
            notice!("Waiting for replicas before shutting down.");
            return Begun::Waiting;
        }
        self.finish_shutdown()
    }

    /// The last step (Redis's `finishShutdown`): on success the loop exits; on failure the shutdown is
    /// cancelled and the blocked clients get Redis's error.
    pub fn finish_shutdown(&mut self) -> Begun {
        let flags = self.engine.persist.shutdown.flags;
        let replicas = self.engine.repl.replicas.len();
        if replicas > 0 {
            let offset = self.engine.repl.master_repl_offset;
            let in_sync = self
                .engine
                .repl
                .replicas
                .iter()
                .filter(|&&ck| {
                    self.clients
                        .get(ck)
                        .and_then(|c| c.replica.as_ref())
                        .is_some_and(|l| l.ack_offset == offset)
                })
                .count();
            notice!("{in_sync} of {replicas} replicas are in sync when shutting down.");
        }
        if self.engine.persist.child.is_some() {
            warning!("There is a child saving an .rdb. Killing it!");
            self.rdb_child_kill();
        }
        if self.engine.aof.rewrite_in_progress() {
            // Turning the AOF on is not done: the files do not hold the dataset yet.
            if self.engine.aof.waiting_first_rewrite() {
                if flags.force {
                    warning!("Writing initial AOF. Exit anyway.");
                } else {
                    warning!("Writing initial AOF, can't exit.");
                    return self.shutdown_failed();
                }
            }
            warning!("There is a child rewriting the AOF. Killing it!");
        }
        if self.engine.aof.enabled() {
            notice!("Calling fsync() on the AOF file.");
        }
        self.aof_shutdown();
        if flags.saves(!self.settings.save_points.is_empty()) {
            notice!("Saving the final RDB snapshot before exiting.");
            self.net.service.status("Saving the final RDB snapshot");
            if let Err(e) = self.rdb_save_now() {
                warning!("Failed saving the DB: {e}");
                if flags.force {
                    warning!("Error trying to save the DB. Exit anyway.");
                } else {
                    warning!("Error trying to save the DB, can't exit.");
                    self.net
                        .service
                        .status("Error trying to save the DB, can't exit.");
                    return self.shutdown_failed();
                }
            }
        }
        self.net.service.shutdown();
        self.shutdown = true;
        Begun::Exit
    }

    /// The shutdown cannot finish (Redis's `finishShutdown` error path).
    fn shutdown_failed(&mut self) -> Begun {
        warning!("Errors trying to shut down the server. Check the logs for more information.");
        self.cancel_shutdown();
        Begun::Failed
    }

    /// Ends a wait or a failed shutdown: the blocked clients get Redis's error, writes resume (Redis's
    /// `cancelShutdown`).
    fn cancel_shutdown(&mut self) {
        let state = std::mem::take(&mut self.engine.persist.shutdown);
        if let Some((until, writes_only)) = state.paused_before {
            self.engine.paused_until_ms = until;
            self.engine.pause_writes_only = writes_only;
        }
        for ck in state.blocked {
            self.reply_error(ck, b"ERR Errors trying to SHUTDOWN. Check logs.");
            if let Some(client) = self.clients.get_mut(ck) {
                client.waiting_acks = false;
            }
            self.engine.blocked.resumed.push(ck);
            self.queue_write(ck);
        }
    }

    /// SHUTDOWN ABORT (Redis's `abortShutdown`): true if a shutdown was waiting or requested.
    fn abort_shutdown(&mut self) -> bool {
        let state = &mut self.engine.persist.shutdown;
        if state.deadline_ms.is_some() {
            self.cancel_shutdown();
        } else if state.asap_signal.is_some() {
            state.asap_signal = None;
        } else {
            return false;
        }
        notice!("Shutdown manually aborted.");
        true
    }
}

/// # Format
/// `SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]`
pub fn shutdown<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let mut flags = ShutdownFlags::default();
    let mut abort = false;
    for arg in &argv[1..] {
        match arg.to_ascii_lowercase().as_slice() {
            b"nosave" => flags.nosave = true,
            b"save" => flags.save = true,
            b"now" => flags.now = true,
            b"force" => flags.force = true,
            b"abort" => abort = true,
            _ => return core.reply_error(ck, zedis_keyspace::commands::SYNTAX),
        }
    }
    if (abort && flags != ShutdownFlags::default()) || (flags.save && flags.nosave) {
        return core.reply_error(ck, zedis_keyspace::commands::SYNTAX);
    }
    if abort {
        return if core.abort_shutdown() {
            core.reply(ck, |out, _| zedis_resp::reply::ok(out))
        } else {
            core.reply_error(ck, b"ERR No shutdown in progress.")
        };
    }
    let in_multi_or_script = core.engine.tx.executing || core.clients.get(ck).is_none();
    if !flags.now && in_multi_or_script {
        return core.reply_error(
            ck,
            b"ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client",
        );
    }
    match core.prepare_shutdown(flags) {
        Begun::Exit => {}
        Begun::Waiting => {
            core.engine.persist.shutdown.blocked.push(ck);
            if let Some(client) = core.clients.get_mut(ck) {
                client.waiting_acks = true;
            }
        }
        Begun::Failed => {
            // The blocked clients (this one included, had it waited) were answered by the cancel; a refusal
            // before any wait answers here.
            core.reply_error(ck, b"ERR Errors trying to SHUTDOWN. Check logs.");
        }
    }
}
