//! Commands a Lua script runs (`redis.call`/`redis.pcall`): [`Core::script_call`], the scripts' entry into
//! the one command path.

use super::NOREPLICAS;
use super::{resolve, Rejection};
use crate::client::ReplyMode;
use crate::server::{cached_ms, Core};
use crate::table::{Command, DENYOOM, MAY_REPLICATE, NOSCRIPT, WRITE};
use crate::Strategy;
use zedis_budget::GlobalBudget;
use zedis_client_pool::ClientSlots;
use zedis_resp::reply;
use zedis_scripting::{flags::ScriptFlags, CallCtx};

/// What a script has done so far, for the checks and the AOF wrapping of its commands.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScriptRun {
    /// The script's database (SELECT inside a script changes only this, as Redis 7).
    pub db: usize,
    /// Where the AOF buffer stood before the script's first propagated command.
    pub aof_mark: Option<(usize, usize)>,
    /// Where the replication stream stood before the script's first propagated command.
    pub repl_mark: Option<usize>,
    /// Commands the script propagated to the AOF and the replication stream.
    pub propagated: usize,
    /// Cluster mode: the slot of the script's keys so far (all must share it unless
    /// `allow-cross-slot-keys`).
    pub slot: Option<u16>,
    /// A command flagged `write` passed the script checks (Redis's `SCRIPT_WRITE_DIRTY`): the script can no
    /// longer be refused halfway (OOM, NOREPLICAS) nor killed (`-UNKILLABLE`).
    pub wrote: bool,
}

impl<S: Strategy> Core<S> {
    /// Runs `argv` for the script of client `ck` and returns the reply in `ctx.protocol`: resolved by the
    /// table, refused as Redis refuses it from a script (unknown, arity, `noscript`, a write from a
    /// read-only script, `-OOM` for a `denyoom` command over `maxmemory` without `allow-oom`, `-MISCONF`),
    /// else run by the handler as the client (in the script's db, never blocking) and its effects drained
    /// per command. Blocked clients are served by the caller after the whole script.
    pub fn script_call(
        &mut self,
        ck: usize,
        run: &mut ScriptRun,
        argv: &[&[u8]],
        ctx: &CallCtx,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let cmd = match resolve(self.table, argv) {
            Ok(cmd) => cmd,
            Err(Rejection::Arity(cmd)) => {
                return self.script_refused(
                    Some(cmd),
                    b"ERR Wrong number of args calling Redis command from script",
                );
            }
            Err(_) => {
                return self.script_refused(None, b"ERR Unknown Redis command called from script");
            }
        };
        if cmd.has(NOSCRIPT) {
            return self.script_refused(
                Some(cmd),
                b"ERR This Redis command is not allowed from script",
            );
        }
        // As Redis's scriptVerifyACL: the calling client's user, logged with the `lua` context.
        if let Err(denial) = self.acl_check(ck, cmd, argv, zedis_acl::LogContext::Lua) {
            let msg = format!("ERR {}", denial.script_message());
            return self.script_refused(Some(cmd), msg.as_bytes());
        }
        // As Redis's scriptVerifyWriteCommandAllow: may-replicate commands (PFCOUNT, PUBLISH) count as writes.
        if (cmd.has(WRITE) || cmd.has(MAY_REPLICATE))
            && (ctx.read_only || (!ctx.compat_mode && ctx.flags.has(ScriptFlags::NO_WRITES)))
        {
            return self.script_refused(
                Some(cmd),
                b"ERR Write commands are not allowed from read-only scripts.",
            );
        }
        // As Redis's scriptVerifyOOM: over `maxmemory`, a `denyoom` command is refused unless the script
        // declared `allow-oom` or already wrote (it cannot be stopped halfway).
        let allow_oom = !ctx.compat_mode && ctx.flags.has(ScriptFlags::ALLOW_OOM);
        let over_limit = self.budget.limit() != 0 && self.budget.over_limit();
        if cmd.has(DENYOOM) && over_limit && !allow_oom && !run.wrote {
            return self.script_refused(Some(cmd), zedis_keyspace::commands::OOM);
        }
        // As Redis's scriptVerifyWriteCommandAllow: a first write is refused without enough good replicas
        // (`min-replicas-to-write`); once the script wrote, it cannot be stopped halfway.
        if cmd.has(WRITE) && !run.wrote && self.repl_denies_write() {
            return self.script_refused(Some(cmd), NOREPLICAS);
        }
        // As Redis's scriptCall: dirty once a write passed these checks, before the cluster check and the
        // command itself (SCRIPT KILL answers `-UNKILLABLE` from now on).
        if cmd.has(WRITE) {
            run.wrote = true;
        }
        // As Redis's scriptPrepareForRun: scripts without a shebang keep the old cross-slot freedom.
        let cross_slot = ctx.compat_mode || ctx.flags.has(ScriptFlags::ALLOW_CROSS_SLOT);
        if let Some(text) = self.cluster_script_refusal(ck, run, cmd, argv, cross_slot) {
            return self.script_refused(Some(cmd), text.as_bytes());
        }
        if is_blocking_stream_read(argv) {
            let msg = format!(
                "ERR {} command is not allowed with BLOCK option from scripts",
                String::from_utf8_lossy(argv[0])
            );
            reply::error(&mut out, msg.as_bytes());
            return out;
        }
        if let Some(misconf) = self.aof_denies(cmd) {
            return self.script_refused(Some(cmd), misconf.as_bytes());
        }
        // Run as the client, in the script's db and protocol, with replies on; restored afterwards.
        let Some(client) = self.clients.get_mut(ck) else {
            reply::error(&mut out, b"ERR client gone");
            return out;
        };
        let saved = (client.db, client.proto, client.reply_mode);
        client.db = run.db;
        client.proto = ctx.protocol;
        client.reply_mode = ReplyMode::On;
        let before = client.out.len();
        let aof_before = self.engine.aof.mark();
        let repl_before = self.engine.repl.mark();
        let ops_before = self.engine.repl.propagated_ops;
        // An `allow-oom` script writes past the limit: the keyspace's own reservations may overshoot.
        let lifted = over_limit && allow_oom && cmd.has(DENYOOM);
        let limit = self.budget.limit();
        if lifted {
            self.budget.set_limit(0);
        }
        let in_script = std::mem::replace(&mut self.engine.observe.monitors.in_script, true);
        self.run_command(ck, cmd, argv, cached_ms(), false);
        self.engine.observe.monitors.in_script = in_script;
        if lifted {
            self.budget.set_limit(limit);
        }
        if self.engine.repl.propagated_ops != ops_before {
            run.aof_mark.get_or_insert(aof_before);
            run.repl_mark.get_or_insert(repl_before);
            run.propagated += 1;
        }
        if let Some(client) = self.clients.get_mut(ck) {
            let buf = client.out.vec_mut();
            if buf.len() > before {
                out.extend_from_slice(&buf[before..]);
                buf.truncate(before);
            }
            client.out.recharge();
            run.db = client.db;
            (client.db, client.proto, client.reply_mode) = saved;
        }
        out
    }

    /// A command the script may not run (Redis's `scriptCall` error path): the error is counted here, in
    /// `errorstats` and `total_error_replies`, and the command (when known) as a rejected call; the script's
    /// own error reply then is not counted again.
    fn script_refused(&mut self, cmd: Option<&Command<S>>, text: &[u8]) -> Vec<u8> {
        self.engine.stats.error_replies += 1;
        self.observe_error(text);
        match cmd {
            Some(cmd) => self.observe_rejected(cmd),
            // No command to charge: the error is judged all the same (the script command is not failed twice).
            None => self.observe_before_call(),
        }
        let mut out = Vec::new();
        reply::error(&mut out, text);
        out
    }

    /// After a script: wraps the commands it propagated in MULTI/EXEC when there are more than one.
    pub fn script_done(&mut self, run: &ScriptRun) {
        if run.propagated > 1 {
            if let Some(mark) = run.aof_mark {
                self.engine.aof.wrap_in_multi(mark);
            }
            if let Some(mark) = run.repl_mark {
                self.engine.repl.wrap_in_multi(mark);
            }
        }
    }
}

/// XREAD/XREADGROUP with BLOCK: refused from scripts, as Redis does.
fn is_blocking_stream_read(argv: &[&[u8]]) -> bool {
    let name = argv[0];
    if !name.eq_ignore_ascii_case(b"xread") && !name.eq_ignore_ascii_case(b"xreadgroup") {
        return false;
    }
    argv[1..]
        .iter()
        .take_while(|a| !a.eq_ignore_ascii_case(b"streams"))
        .any(|a| a.eq_ignore_ascii_case(b"block"))
}
