//! A client's command from argv to reply: [`Core::call`] checks, [`Core::execute`] runs and drains.

use super::{resolve, Origin};
use crate::client::ReplyMode;
use crate::server::{cached_ms, Core};
use crate::table::{Command, Handler, DENYOOM, NO_AUTH, NO_MULTI, SUBSCRIBED_OK};
use crate::Strategy;
use zedis_acl::LogContext;
use zedis_budget::GlobalBudget;
use zedis_client_pool::ClientSlots;
use zedis_keyspace::commands::{BlockOn, Ctx};
use zedis_resp::reply;

/// What `Core::call`'s checks read of the calling client, read once.
struct Caller {
    authenticated: bool,
    is_master: bool,
    /// In MULTI (queueing).
    in_multi: bool,
    /// RESP2 subscribed mode.
    subscribed: bool,
    user: zedis_acl::UserId,
}

/// Room kept free at each write for client buffers charged after it (see [`Core::call`]).
const BUFFER_HEADROOM_BYTES: usize = 32 * 1024;

impl<S: Strategy> Core<S> {
    /// Runs one command of client `ck`: the entry point for commands read from a socket or resumed after
    /// CLIENT PAUSE.
    pub fn call(&mut self, ck: usize, argv: &[&[u8]]) {
        let resolved = resolve(self.table, argv);
        // One look at the client for every check below (none of them changes what it reads).
        let Some(client) = self.clients.get_mut(ck) else {
            return;
        };
        if let Ok(cmd) = &resolved {
            // As Redis's processCommand: CLIENT LIST's `cmd` (and ACL LOG's client-info) name the command
            // from its lookup on, even if it is refused.
            client.last_cmd = cmd.name;
        }
        let caller = Caller {
            authenticated: client.authenticated,
            is_master: client.is_master,
            in_multi: client.tx.active,
            subscribed: client.in_subscribed_mode(),
            user: client
                .user
                .unwrap_or_else(|| self.engine.access.acl.default_user()),
        };
        if let Ok(cmd) = &resolved {
            if self.acl_refuses(ck, &caller, cmd, argv) {
                return;
            }
            if let Some(refusal) = self.repl_refusal(&caller, cmd) {
                // As Redis's rejectCommand: a refused command inside MULTI fails the transaction.
                crate::multi::flag(self, ck);
                self.reply_error(ck, refusal);
                return self.observe_rejected(cmd);
            }
            // Cluster routing (MOVED, ASK, CROSSSLOT, TRYAGAIN, CLUSTERDOWN) before MULTI queues it.
            if let Some(refusal) = self.cluster_refusal(ck, cmd, argv) {
                if self.cluster.ids.exec == Some(cmd.id) {
                    crate::multi::discard_transaction(self, ck);
                } else {
                    crate::multi::flag(self, ck);
                }
                self.reply_error(ck, &refusal);
                return self.observe_rejected(cmd);
            }
            // A script past busy-reply-threshold: -BUSY unless `allow_busy` (scripting_cmds/busy.rs).
            if self.busy_refuses(ck, cmd, argv) {
                return;
            }
        }
        // MULTI queueing and CLIENT PAUSE (multi.rs, pause.rs).
        if crate::multi::intercept(self, ck, argv, &resolved) {
            return;
        }
        let cmd = match resolved {
            Ok(cmd) => cmd,
            Err(rejection) => {
                self.reply_error(ck, &rejection.text(argv));
                if let super::Rejection::Arity(cmd) = rejection {
                    self.observe_rejected(cmd);
                }
                return;
            }
        };
        if !caller.authenticated && !cmd.has(NO_AUTH) {
            self.reply_error(ck, b"NOAUTH Authentication required.");
            return self.observe_rejected(cmd);
        }
        if caller.subscribed && !cmd.has(SUBSCRIBED_OK) {
            let msg = format!(
                "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                cmd.name
            );
            self.reply_error(ck, msg.as_bytes());
            return self.observe_rejected(cmd);
        }
        self.call_resolved(ck, cmd, argv);
    }

    /// The ACL check of a client's command (Redis's `ACLCheckAllPerm` in `processCommand`): after NOAUTH and
    /// MULTI's refusal of a `no-multi` command (both answered later in `call`), before queueing in MULTI. A
    /// denial is logged, answered with `-NOPERM` and fails a transaction being queued. True if refused.
    fn acl_refuses(
        &mut self,
        ck: usize,
        caller: &Caller,
        cmd: &'static Command<S>,
        argv: &[&[u8]],
    ) -> bool {
        if !caller.authenticated || caller.is_master || (caller.in_multi && cmd.has(NO_MULTI)) {
            return false;
        }
        // A user allowed everything (the default one, by default) passes without the full check.
        if self.engine.access.acl.unrestricted(caller.user) {
            return false;
        }
        let context = if caller.in_multi {
            LogContext::Multi
        } else {
            LogContext::Toplevel
        };
        match self.acl_check(ck, cmd, argv, context) {
            Ok(()) => false,
            Err(denial) => {
                crate::multi::flag(self, ck);
                self.reply_error(ck, &denial.message());
                self.observe_rejected(cmd);
                true
            }
        }
    }

    /// Replication's refusals, in Redis's order: `min-replicas-to-write` and `replica-read-only` for writes
    /// (never for our master's own commands), then `replica-serve-stale-data no` while the link is down.
    fn repl_refusal(&self, caller: &Caller, cmd: &Command<S>) -> Option<&'static [u8]> {
        if caller.is_master || !caller.authenticated {
            return None;
        }
        let write = cmd.has(crate::table::WRITE);
        if write && self.repl_denies_write() {
            return Some(super::NOREPLICAS);
        }
        let replica = self.engine.repl.is_replica();
        if write && replica && self.settings.replica_read_only {
            return Some(b"READONLY You can't write against a read only replica.");
        }
        if replica
            && !self.settings.replica_serve_stale_data
            && !cmd.has(crate::table::STALE)
            && !self.repl_link_up()
        {
            return Some(
                b"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
            );
        }
        None
    }

    /// The memory and persistence checks, then [`Core::execute`]: for a command already resolved and let in
    /// (by `call`, or by EXEC for a command queued after those checks).
    pub fn call_resolved(&mut self, ck: usize, cmd: &'static Command<S>, argv: &[&[u8]]) {
        let now_ms = cached_ms();
        // As Redis's processCommand: with a limit set, any command first evicts while memory is over it (so a
        // lowered maxmemory takes effect even under a read-only load); a command that may grow memory also
        // makes room for its own bytes plus headroom for the client buffers charged after it, and is refused
        // with -OOM when that cannot be done.
        let denyoom = cmd.has(DENYOOM);
        // A replica applies its master's commands whatever its memory (`replica-ignore-maxmemory`); not while
        // a script is busy (Redis keeps eviction's DELs out of the script's propagation).
        if self.budget.limit() != 0
            && (denyoom || self.budget.over_limit())
            && !(self.settings.replica_ignore_maxmemory
                && self.clients.get(ck).is_some_and(|c| c.is_master))
            && !self.busy_running()
        {
            let (own, headroom) = if denyoom {
                (
                    argv.iter().map(|a| a.len()).sum::<usize>() + 64,
                    BUFFER_HEADROOM_BYTES,
                )
            } else {
                (0, 0)
            };
            if self.reclaim_with_headroom(own, headroom, now_ms).is_err() && denyoom {
                self.reply_error(ck, zedis_keyspace::commands::OOM);
                return self.observe_rejected(cmd);
            }
        }
        if let Some(misconf) = self.aof_denies(cmd) {
            self.reply_error(ck, misconf.as_bytes());
            return self.observe_rejected(cmd);
        }
        self.execute(ck, cmd, argv, now_ms);
    }

    /// Runs the resolved command `cmd` for client `ck`, drains its effects, applies CLIENT REPLY and schedules
    /// the reply. At the top level (not inside EXEC) the blocked clients whose keys it made ready are served
    /// afterwards, so a transaction wakes them only with its final state.
    pub fn execute(&mut self, ck: usize, cmd: &'static Command<S>, argv: &[&[u8]], now_ms: i64) {
        let before = match self.clients.get_mut(ck) {
            Some(client) => {
                client.last_cmd = cmd.name;
                client.out.len()
            }
            None => 0,
        };
        // Inside EXEC, blocking commands act as their non-blocking forms.
        let may_block = !self.engine.tx.executing;
        if let Some((block, retry_argv)) = self.run_command(ck, cmd, argv, now_ms, may_block) {
            self.block_client(ck, block, cmd.id, retry_argv, argv);
        }
        self.after_command(ck, cmd, before);
        // While a script is busy this is a nested call: the script's caller does it afterwards.
        if !self.engine.tx.executing && !self.busy_running() {
            self.tracking_command_done(ck, cmd);
            self.tracking_deliver();
            self.serve_ready_keys();
        }
    }

    /// Runs `cmd` for client `ck` in its db and drains the effects. Returns what the command waits for if it
    /// asked to block (only when `may_block`), with the argv to retry it with when the handler named one.
    pub fn run_command(
        &mut self,
        ck: usize,
        cmd: &'static Command<S>,
        argv: &[&[u8]],
        now_ms: i64,
        may_block: bool,
    ) -> Option<(BlockOn, Option<Vec<Vec<u8>>>)> {
        let (user, db, id) = match self.clients.get(ck) {
            Some(c) => (
                c.user
                    .unwrap_or_else(|| self.engine.access.acl.default_user()),
                c.db,
                Some(c.id),
            ),
            None => (self.engine.access.acl.default_user(), 0, None),
        };
        // SORT's BY/GET need full key access (checked where SORT parses them, so in every context).
        if let Some(text) = self.engine.access.sort_refusal(user, cmd, argv) {
            self.reply_error(ck, text);
            return None;
        }
        self.engine.fx.reset();
        self.engine.fx.may_block = may_block;
        // Only blocked clients' retries run while ready keys are being served.
        self.engine.fx.blocked_retry = self.engine.blocked.serving;
        // A command a script runs (`script_call` marks the run) sees it, as Redis's CLIENT_SCRIPT flag.
        self.engine.fx.from_script = self.engine.observe.monitors.in_script;
        // Expired keys stay while clients are paused (any pause: CLIENT PAUSE, FAILOVER, SHUTDOWN).
        self.engine.ks.expire_paused_until_ms = self.engine.paused_until_ms;
        self.engine.fx.track_touched = self.track_touched_needed();
        self.observe_before_call();
        let modifier = std::mem::replace(&mut self.engine.observe.tracking.current, id);
        if let Handler::Srv(_) = cmd.handler {
            // Server-side commands read the tables directly: segment-store keys they name move there first.
            self.engine.ks.promote_args(db, argv, now_ms);
        }
        // The time-stamp counter where the kernel keeps time with it: two `Instant::now()` per command cost
        // about 5% of a pipelined GET's CPU (`zedis_util::ticks`).
        let started = zedis_util::ticks::now();
        match cmd.handler {
            Handler::Kv(handler) => self.run_kv(ck, handler, argv, now_ms),
            Handler::Srv(handler) => handler(self, ck, argv),
            // Only COMMAND may come without a subcommand (see `resolve`).
            Handler::Container => crate::introspect::command_all(self, ck, argv),
        }
        let duration_us = started.elapsed_us() as i64;
        let block = self.engine.fx.block.take();
        let retry_argv = self.engine.fx.block_argv.take();
        self.drain_effects(Origin::Command { db, argv });
        self.engine.observe.tracking.current = modifier;
        self.tracking_after_command(ck, cmd, argv);
        let retry = self.engine.blocked.serving;
        self.observe_call(ck, cmd, argv, duration_us, block.is_some());
        if !retry {
            self.feed_monitors_after(ck, cmd, argv);
        }
        block.map(|block| (block, retry_argv))
    }

    /// Runs a keyspace handler for client `ck` (its db and protocol) with the effects prepared by the caller.
    fn run_kv(
        &mut self,
        ck: usize,
        handler: zedis_keyspace::commands::Handler<S::Kv>,
        argv: &[&[u8]],
        now_ms: i64,
    ) {
        let Some(client) = self.clients.get_mut(ck) else {
            return;
        };
        let mut ctx = Ctx {
            argv,
            out: client.out.vec_mut(),
            proto: client.proto,
            db: client.db,
            now_ms,
            fx: &mut self.engine.fx,
        };
        handler(&mut self.engine.ks, &mut ctx);
        client.out.recharge();
        // Each error the handler wrote is filed by its code where it was produced (`Ctx::error`).
        let texts = std::mem::take(&mut self.engine.fx.errors);
        for text in &texts {
            self.observe_error(text);
        }
        self.engine.fx.errors = texts;
    }

    /// Applies CLIENT REPLY to what `cmd` produced (output beyond `before` bytes; never to the pushes of a
    /// `pushes` command, subscription confirmations), ends a cluster ASKING, and schedules the reply.
    fn after_command(&mut self, ck: usize, cmd: &Command<S>, before: usize) {
        let pushes = cmd.has(crate::table::PUSHES);
        if let Some(client) = self.clients.get_mut(ck) {
            let asking = self.cluster.ids.asking == Some(cmd.id);
            client.cluster.after_command(asking, client.tx.active);
            let discard = match client.reply_mode {
                ReplyMode::On => false,
                ReplyMode::Off => true,
                ReplyMode::Skip => {
                    client.reply_mode = ReplyMode::SkipThis;
                    false
                }
                ReplyMode::SkipThis => {
                    client.reply_mode = ReplyMode::On;
                    true
                }
            };
            let produced = client.out.len().saturating_sub(before);
            if discard && !pushes && produced > 0 {
                let out = client.out.vec_mut();
                let len = out.len();
                out.truncate(len - produced);
            }
        }
        self.queue_write(ck);
    }

    /// Replies an error to client `ck` (and counts it).
    pub fn reply_error(&mut self, ck: usize, text: &[u8]) {
        self.engine.stats.error_replies += 1;
        self.observe_error(text);
        if let Some(client) = self.clients.get_mut(ck) {
            // CLIENT REPLY OFF/SKIP silence errors too.
            match client.reply_mode {
                ReplyMode::Off => return,
                ReplyMode::SkipThis => {
                    client.reply_mode = ReplyMode::On;
                    return;
                }
                ReplyMode::Skip => client.reply_mode = ReplyMode::SkipThis,
                ReplyMode::On => {}
            }
            reply::error(client.out.vec_mut(), text);
            client.out.recharge();
        }
        self.queue_write(ck);
    }
}
