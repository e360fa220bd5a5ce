//! Scripts that run past `busy-reply-threshold` (alias `lua-time-limit`), as Redis 7.0's `scriptInterrupt`,
//! `scriptKill` and the busy branch of `processCommand`.
//!
//! The Lua instruction hook calls [`zedis_scripting::Host::interrupt`] every 100,000 instructions. Until the
//! threshold passes that is a comparison and nothing else (no allocation). Past it the script is *timed
//! out*: the slow-script warning is logged once, and from then on every hook call serves the event loop
//! for a moment ([`Core::serve_while_busy`], `busy_loop.rs`): other clients' commands run through the one
//! command path, where [`Core::busy_refuses`] answers `-BUSY` to every command not flagged `allow_busy`
//! (SCRIPT KILL, FUNCTION KILL / STATS, SHUTDOWN NOSAVE, AUTH, HELLO, MULTI, DISCARD, WATCH, UNWATCH,
//! QUIT, RESET, REPLCONF). SCRIPT KILL / FUNCTION KILL set [`Running::kill`] and the hook then fails the
//! script with `ERR Script killed by user with SCRIPT KILL...`.
//!
//! What is held while a script is busy ([`Busy::bytes`]: the poll buffer, the script's name and command)
//! is charged to the budget as `Component::Lua` from the moment it times out until it ends.

use crate::dispatch::ScriptRun;
use crate::server::Core;
use crate::table::{Command, ALLOW_BUSY, NO_AUTH, SUBSCRIBED_OK};
use crate::Strategy;
use std::time::{Duration, Instant};
use zedis_budget::{Component, GlobalBudget};
use zedis_client_pool::ClientSlots;
use zedis_resp::{reply, Protocol};
use zedis_scripting::busy::{self as rules, BusyScript, KillCommand};

/// The directive holding the threshold in milliseconds (0: scripts are never interrupted, as Redis, which
/// then installs no hook).
const THRESHOLD_DIRECTIVE: &str = "busy-reply-threshold";
/// Events taken from the poller per pass while a script is busy.
pub(super) const EVENTS_PER_PASS: usize = 128;

/// The script that timed out (Redis's run context with `SCRIPT_TIMEDOUT`).
#[derive(Debug)]
pub struct Running {
    /// What the kill rules look at.
    pub script: BusyScript,
    /// SCRIPT KILL / FUNCTION KILL asked for the script to die.
    pub kill: bool,
    /// The kill was logged.
    kill_logged: bool,
    /// Function name or the script's SHA1 (FUNCTION STATS, the log).
    pub name: Vec<u8>,
    /// The caller's FCALL / EVAL arguments (FUNCTION STATS `command`).
    pub command: Vec<Vec<u8>>,
    /// When the script started.
    pub started: Instant,
    /// FUNCTION STATS' library and function counts, taken before the run.
    pub function_counts: (usize, usize),
    /// The script's AOF / replication marks and propagated count, as of the last hook call (SHUTDOWN NOSAVE
    /// wraps what the script propagated so far before the AOF is flushed).
    marks: (Option<(usize, usize)>, Option<usize>, usize),
    /// SHUTDOWN wrapped the script's records so far: the script starts a new block if it goes on.
    wrapped: bool,
}

/// The busy-script state of the engine half.
#[derive(Debug, Default)]
pub struct Busy {
    /// `Some` while a script runs past the threshold.
    pub running: Option<Running>,
    /// The poll buffer used while busy (allocated when a script times out, dropped when it ends).
    pub(super) events: Option<mio::Events>,
    /// Clients to read again at the next pass (TLS records already decrypted, or a read cut short).
    pub(super) rereads: Vec<(usize, bool)>,
    /// A signal arrived while busy: the event loop reads it after the script (`Server::run`).
    pub signals_deferred: bool,
    /// Our master link had an event while busy: handled when the script ends.
    pub(super) master_link_deferred: bool,
    /// The first pass of this busy script looked at every client (`busy_loop.rs`).
    pub(super) swept: bool,
    /// The caller (Redis's protected client: nothing is written to it until its script ends) and, with the
    /// AOF on, clients whose replies were waiting when the script timed out: they leave after the
    /// loop turn's AOF write, as every reply to a write does, so they are not written while the script is
    /// busy (its own records sit in the same AOF buffer, which cannot be flushed halfway). Redis flushes
    /// the AOF there, its script's effects being held elsewhere until the script ends.
    stashed_writes: Vec<usize>,
    /// Bytes charged to the budget for this state.
    charged: usize,
}

impl Busy {
    /// Whether a script is running past the threshold.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Bytes held for the busy script (poll buffer, name, command).
    pub fn bytes(&self) -> usize {
        let events = self.events.as_ref().map_or(0, |e| {
            e.capacity() * std::mem::size_of::<mio::event::Event>()
        });
        let running = self.running.as_ref().map_or(0, |r| {
            r.name.capacity()
                + r.command.capacity() * std::mem::size_of::<Vec<u8>>()
                + r.command.iter().map(Vec::capacity).sum::<usize>()
        });
        events
            + running
            + self.rereads.capacity() * std::mem::size_of::<(usize, bool)>()
            + self.stashed_writes.capacity() * std::mem::size_of::<usize>()
    }
}

/// The script a hook call is about: who called it and with what.
#[derive(Debug, Clone)]
pub struct Caller<'a> {
    /// The calling client's slot.
    pub ck: usize,
    /// Its EVAL / EVALSHA / FCALL command (`_RO` forms included).
    pub argv: &'a [&'a [u8]],
    /// EVAL-family (true) or FCALL (false).
    pub is_eval: bool,
    /// EVALSHA-family: `argv[1]` is the SHA1.
    pub is_sha: bool,
    /// Libraries and functions loaded (FUNCTION STATS while the script is busy).
    pub function_counts: (usize, usize),
    /// FCALL: the function's registered name when `argv[1]` spells it in another case.
    pub registered: Option<Vec<u8>>,
}

/// The hook's call (Redis's `scriptInterrupt`): true when the script must die.
pub fn interrupt<S: Strategy>(
    core: &mut Core<S>,
    caller: &Caller<'_>,
    run: &mut ScriptRun,
    elapsed: Duration,
) -> bool {
    if core.engine.busy.running.is_none() {
        let threshold_ms = threshold_ms(core);
        if threshold_ms <= 0 || elapsed < Duration::from_millis(threshold_ms as u64) {
            return false;
        }
        enter(core, caller, elapsed);
    }
    if let Some(running) = core.engine.busy.running.as_mut() {
        running.script.wrote |= run.wrote;
        running.marks = (run.aof_mark, run.repl_mark, run.propagated);
    }
    core.serve_while_busy(caller.ck);
    let Some(running) = core.engine.busy.running.as_mut() else {
        return false;
    };
    if std::mem::take(&mut running.wrapped) {
        run.aof_mark = None;
        run.repl_mark = None;
        run.propagated = 0;
    }
    if running.kill && !running.kill_logged {
        running.kill_logged = true;
        zedis_deploy::warning!("{}", rules::KILLED_LOG);
    }
    running.kill
}

/// `busy-reply-threshold` in milliseconds, read without a lookup by name (the hook asks often).
fn threshold_ms<S: Strategy>(core: &Core<S>) -> i64 {
    static INDEX: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    let index = *INDEX.get_or_init(|| crate::config::directive_index(THRESHOLD_DIRECTIVE));
    index.map_or(0, |i| core.config.value_at(i).parse().unwrap_or(0))
}

/// The script just timed out: log it, remember what FUNCTION STATS and the kill rules need.
fn enter<S: Strategy>(core: &mut Core<S>, caller: &Caller<'_>, elapsed: Duration) {
    let name = if !caller.is_eval {
        caller
            .registered
            .clone()
            .unwrap_or_else(|| caller.argv[1].to_vec())
    } else if caller.is_sha {
        caller.argv[1].to_ascii_lowercase()
    } else {
        zedis_scripting::sha1_hex(caller.argv[1]).into_bytes()
    };
    zedis_deploy::warning!(
        "{}",
        rules::slow_script_log(
            elapsed.as_millis() as u64,
            caller.is_eval,
            &String::from_utf8_lossy(&name)
        )
    );
    let from_master = core.clients.get(caller.ck).is_some_and(|c| c.is_master);
    let busy = &mut core.engine.busy;
    busy.running = Some(Running {
        script: BusyScript {
            is_eval: caller.is_eval,
            wrote: false,
            from_master,
        },
        kill: false,
        kill_logged: false,
        name,
        command: caller.argv.iter().map(|a| a.to_vec()).collect(),
        started: Instant::now()
            .checked_sub(elapsed)
            .unwrap_or_else(Instant::now),
        function_counts: caller.function_counts,
        marks: (None, None, 0),
        wrapped: false,
    });
    busy.events = Some(mio::Events::with_capacity(EVENTS_PER_PASS));
    if core.engine.aof.enabled() {
        busy.stashed_writes = std::mem::take(&mut core.net.pending_writes);
    }
    core.busy_hold_caller_output(caller.ck);
    recharge(core);
}

/// The script ended (normally, with an error, or killed): leave the busy state, hand what was deferred to
/// the event loop.
pub fn finished<S: Strategy>(core: &mut Core<S>) {
    let busy = &mut core.engine.busy;
    if busy.running.take().is_none() {
        return;
    }
    busy.events = None;
    busy.swept = false;
    let stashed = std::mem::take(&mut busy.stashed_writes);
    core.net.pending_writes.extend(stashed);
    for reread in std::mem::take(&mut busy.rereads) {
        if !core.net.rereads.iter().any(|r| r.0 == reread.0) {
            core.net.rereads.push(reread);
        }
    }
    if std::mem::take(&mut core.engine.busy.master_link_deferred) {
        core.repl_link_event();
    }
    recharge(core);
}

/// Charges the busy state's bytes to the budget.
fn recharge<S: Strategy>(core: &mut Core<S>) {
    let bytes = core.engine.busy.bytes();
    let charged = core.engine.busy.charged;
    if bytes > charged {
        core.budget.reserve(Component::Lua, bytes - charged);
    } else {
        core.budget.release(Component::Lua, charged - bytes);
    }
    core.engine.busy.charged = bytes;
}

/// SCRIPT KILL and FUNCTION KILL (Redis's `scriptKill`).
pub fn kill<S: Strategy>(core: &mut Core<S>, ck: usize, command: KillCommand) {
    let running = core.engine.busy.running.as_ref().map(|r| r.script);
    match rules::kill(running, command) {
        Some(error) => core.reply_error(ck, error),
        None => {
            if let Some(running) = core.engine.busy.running.as_mut() {
                running.kill = true;
            }
            core.reply(ck, |out, _| reply::ok(out));
        }
    }
}

/// FUNCTION STATS while a script is busy (Redis's `functionStatsCommand`): `-BUSY` for an EVAL script, the
/// running function otherwise. `None` when no script is busy (the caller answers from the engines).
pub fn function_stats<S: Strategy>(core: &Core<S>, protocol: Protocol) -> Option<Vec<u8>> {
    let running = core.engine.busy.running.as_ref()?;
    if running.script.is_eval {
        let mut out = Vec::new();
        reply::error(&mut out, rules::BUSY_EVAL);
        return Some(out);
    }
    let command: Vec<&[u8]> = running.command.iter().map(Vec::as_slice).collect();
    Some(zedis_scripting::function_stats_reply(
        Some(zedis_scripting::RunningScript {
            name: &running.name,
            command: &command,
            duration_ms: running.started.elapsed().as_millis() as u64,
        }),
        running.function_counts,
        protocol,
    ))
}

/// What SHUTDOWN's arguments ask for while a script is busy (Redis's `shutdownCommand` checks, in order).
#[derive(Debug, PartialEq, Eq)]
enum ShutdownWhileBusy {
    /// A syntax error or ABORT: the handler answers as usual.
    Handler,
    /// Without NOSAVE: `-BUSY`.
    Refused,
    /// NOSAVE: the server may exit now.
    NoSave,
}

fn shutdown_while_busy(argv: &[&[u8]]) -> ShutdownWhileBusy {
    let (mut nosave, mut save, mut abort) = (false, false, false);
    for arg in &argv[1..] {
        match arg.to_ascii_lowercase().as_slice() {
            b"nosave" => nosave = true,
            b"save" => save = true,
            b"abort" => abort = true,
            b"now" | b"force" => {}
            _ => return ShutdownWhileBusy::Handler,
        }
    }
    if abort || (nosave && save) {
        return ShutdownWhileBusy::Handler;
    }
    if nosave {
        ShutdownWhileBusy::NoSave
    } else {
        ShutdownWhileBusy::Refused
    }
}

impl<S: Strategy> Core<S> {
    /// The busy branch of Redis's `processCommand`, for `Core::call` (after the ACL, replication and cluster
    /// refusals, before MULTI queueing and CLIENT PAUSE): while a script is busy, a command not flagged
    /// `allow_busy` gets `-BUSY` (and fails a transaction being queued). NOAUTH and RESP2 subscribed-mode
    /// refusals come first, as in Redis. True if refused.
    pub fn busy_refuses(&mut self, ck: usize, cmd: &Command<S>, argv: &[&[u8]]) -> bool {
        let Some(running) = self.engine.busy.running.as_ref() else {
            return false;
        };
        let error = rules::busy_error(running.script);
        let Some(client) = self.clients.get(ck) else {
            return false;
        };
        if (!client.authenticated && !cmd.has(NO_AUTH))
            || (client.in_subscribed_mode() && !cmd.has(SUBSCRIBED_OK))
        {
            return false;
        }
        if cmd.has(ALLOW_BUSY) {
            if cmd.name != "shutdown" {
                return false;
            }
            match shutdown_while_busy(argv) {
                ShutdownWhileBusy::Handler => return false,
                ShutdownWhileBusy::NoSave => {
                    self.busy_wrap_for_shutdown();
                    return false;
                }
                // SHUTDOWN's own refusal (an error reply, not a rejected command).
                ShutdownWhileBusy::Refused => {
                    self.reply_error(ck, error);
                    return true;
                }
            }
        }
        // As Redis's rejectCommand: EXEC ends the transaction with EXECABORT, others fail it.
        if cmd.name == "exec" {
            crate::multi::discard_transaction(self, ck);
            let mut text = b"EXECABORT Transaction discarded because of: ".to_vec();
            text.extend_from_slice(error);
            self.reply_error(ck, &text);
        } else {
            crate::multi::flag(self, ck);
            self.reply_error(ck, error);
        }
        self.observe_rejected(cmd);
        true
    }

    /// Before SHUTDOWN NOSAVE flushes the AOF: what the busy script propagated so far becomes one
    /// MULTI/EXEC block, so the file never holds half a script outside a transaction.
    fn busy_wrap_for_shutdown(&mut self) {
        let Some(running) = self.engine.busy.running.as_mut() else {
            return;
        };
        let (aof_mark, repl_mark, propagated) = running.marks;
        if propagated <= 1 {
            return;
        }
        running.wrapped = true;
        running.marks = (None, None, 0);
        if let Some(mark) = aof_mark {
            self.engine.aof.wrap_in_multi(mark);
        }
        if let Some(mark) = repl_mark {
            self.engine.repl.wrap_in_multi(mark);
        }
    }

    /// Keeps the caller's output for after the script (Redis skips a protected client's writes).
    pub(super) fn busy_hold_caller_output(&mut self, caller: usize) {
        if let Some(i) = self.net.pending_writes.iter().position(|&ck| ck == caller) {
            self.net.pending_writes.swap_remove(i);
            self.engine.busy.stashed_writes.push(caller);
        }
    }

    /// Whether a script runs past the threshold (the command path then neither evicts nor serves blocked
    /// clients, as Redis inside a yielding command).
    pub fn busy_running(&self) -> bool {
        self.engine.busy.is_running()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_arguments_while_busy() {
        let parse = |args: &[&str]| {
            let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            shutdown_while_busy(&argv)
        };
        assert_eq!(parse(&["shutdown"]), ShutdownWhileBusy::Refused);
        assert_eq!(parse(&["shutdown", "now"]), ShutdownWhileBusy::Refused);
        assert_eq!(parse(&["shutdown", "save"]), ShutdownWhileBusy::Refused);
        assert_eq!(parse(&["SHUTDOWN", "NOSAVE"]), ShutdownWhileBusy::NoSave);
        assert_eq!(
            parse(&["shutdown", "nosave", "now", "force"]),
            ShutdownWhileBusy::NoSave
        );
        assert_eq!(parse(&["shutdown", "abort"]), ShutdownWhileBusy::Handler);
        assert_eq!(
            parse(&["shutdown", "nosave", "save"]),
            ShutdownWhileBusy::Handler
        );
        assert_eq!(parse(&["shutdown", "bogus"]), ShutdownWhileBusy::Handler);
    }
}
