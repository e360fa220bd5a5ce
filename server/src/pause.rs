//! CLIENT PAUSE: a command that arrives while clients are paused (all commands, or with WRITE only those that
//! write or may replicate, and EXEC of a transaction that writes) waits, with the rest of its client's input,
//! until the pause ends by CLIENT UNPAUSE or its timeout. Then the event loop runs the waiting commands in
//! arrival order ([`resume`]). As in Redis 7.0, commands queued inside MULTI are not paused by WRITE, and a
//! second pause keeps the later end time and the stricter mode.

use crate::multi::{decode_commands, encode_command};
use crate::server::{unix_ms, Core, Server};
use crate::table::{Command, MAY_REPLICATE, RUNS_QUEUE, WRITE};
use crate::Strategy;
use zedis_arena::RequestAlloc;
use zedis_client_pool::{ClientSlots, IoBuf};
use zedis_keyspace::commands::args::Args;
use zedis_resp::reply;

/// Whether a pause is in force now.
pub fn active<S: Strategy>(core: &Core<S>) -> bool {
    core.engine.paused_until_ms != 0 && core.engine.paused_until_ms > unix_ms()
}

/// `cmd`'s flags for the pause (and EXEC's queued flags), with a script's declared flags as Redis's
/// `evalGetCommandFlags` / `fcallGetCommandFlags` fold them in: EVAL, EVALSHA and FCALL may replicate
/// (held by a WRITE pause) unless the script or function declared flags, then they write unless `no-writes`.
pub fn command_flags<S: Strategy>(core: &Core<S>, cmd: &Command<S>, argv: &[&[u8]]) -> u32 {
    let (is_eval, is_sha) = match cmd.name {
        "eval" => (true, false),
        "evalsha" => (true, true),
        "fcall" => (false, false),
        _ => return cmd.flags,
    };
    let may_replicate = cmd.flags | MAY_REPLICATE;
    let (Some(scripting), Some(&name)) = (core.engine.scripting.as_deref(), argv.get(1)) else {
        return may_replicate;
    };
    let declared = if is_eval {
        match scripting.eval_flags(name, is_sha) {
            Some(shebang) if !shebang.compat_mode => shebang.flags,
            _ => return may_replicate,
        }
    } else {
        match scripting.function_flags(name) {
            Some(flags) => flags,
            None => return may_replicate,
        }
    };
    if declared.has(zedis_scripting::ScriptFlags::NO_WRITES) {
        cmd.flags & !(WRITE | MAY_REPLICATE)
    } else {
        (cmd.flags | WRITE) & !MAY_REPLICATE
    }
}

/// Whether the pause in force holds `cmd` (`argv`) from client `ck` (`queued`: it would be queued inside
/// MULTI).
pub fn applies<S: Strategy>(
    core: &Core<S>,
    ck: usize,
    cmd: &Command<S>,
    argv: &[&[u8]],
    queued: bool,
) -> bool {
    // Our master's stream and our replicas' acknowledgements are never paused (Redis's rule too).
    if core
        .clients
        .get(ck)
        .is_some_and(|c| c.is_master || crate::repl::is_online_replica(c))
    {
        return false;
    }
    if !core.engine.pause_writes_only {
        return true;
    }
    if queued {
        return false;
    }
    let flags = if cmd.has(RUNS_QUEUE) {
        core.clients.get(ck).map_or(0, |c| c.tx.queued_flags)
    } else {
        command_flags(core, cmd, argv)
    };
    flags & (WRITE | MAY_REPLICATE) != 0
}

/// Keeps `argv` until the pause ends; the client's later input waits behind it.
pub fn postpone<S: Strategy>(core: &mut Core<S>, ck: usize, cmd: &Command<S>, argv: &[&[u8]]) {
    let Some(client) = core.clients.get_mut(ck) else {
        return;
    };
    let mut buf = IoBuf::new();
    encode_command(&mut buf, cmd.id, argv);
    client.tx.postponed = Some(buf);
    core.engine.tx.postponed.push(ck);
}

/// Called every event-loop turn: once no pause is in force, runs the postponed commands and the input
/// that arrived behind them.
pub fn resume<S: Strategy>(server: &mut Server<S>) {
    // The keyspace keeps expired keys while a pause (of any origin) is in force: it follows the deadline.
    server.core.engine.ks.expire_paused_until_ms = server.core.engine.paused_until_ms;
    if server.core.engine.tx.postponed.is_empty() || active(&server.core) {
        return;
    }
    server.core.engine.paused_until_ms = 0;
    let waiting = std::mem::take(&mut server.core.engine.tx.postponed);
    for ck in waiting {
        let Some(client) = server.core.clients.get_mut(ck) else {
            continue;
        };
        let Some(buf) = client.tx.postponed.take() else {
            continue;
        };
        // The whole path again (MULTI queueing, AUTH...): the client's state may have changed meanwhile.
        for (_, argv) in decode_commands(buf.data()) {
            if !argv.is_empty() {
                server.core.call(ck, &argv);
            }
        }
        drop(buf);
        server.process_input(ck);
        server.arena.reset();
        let Some(client) = server.core.clients.get_mut(ck) else {
            continue;
        };
        if client.peer_closed && !client.tx.is_postponed() {
            server.core.write_client(ck);
            server.core.net.closing.push(ck);
        }
    }
}

/// # Format
/// `CLIENT PAUSE timeout [WRITE | ALL]`
pub fn client_pause<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let mut args = Args::new(argv).skip(1);
    if args.remaining() > 2 {
        let msg = format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            String::from_utf8_lossy(argv[1])
        );
        return core.reply_error(ck, msg.as_bytes());
    }
    // Redis checks the mode before the timeout.
    let mut timeout_args = args.clone();
    let _ = args.next_arg();
    let writes_only = if args.remaining() == 0 {
        false
    } else if args.flag("write") {
        true
    } else if args.flag("all") {
        false
    } else {
        return core.reply_error(ck, b"ERR CLIENT PAUSE mode must be WRITE or ALL");
    };
    let Ok(timeout) = timeout_args.int() else {
        return core.reply_error(ck, b"ERR timeout is not an integer or out of range");
    };
    if timeout < 0 {
        return core.reply_error(ck, b"ERR timeout is negative");
    }
    // Redis 7.0 adds without an overflow check: a huge timeout wraps into the past (no pause).
    let end_ms = unix_ms().wrapping_add(timeout);
    if active(core) {
        core.engine.paused_until_ms = core.engine.paused_until_ms.max(end_ms);
        core.engine.pause_writes_only &= writes_only;
    } else {
        core.engine.paused_until_ms = end_ms;
        core.engine.pause_writes_only = writes_only;
    }
    core.engine.ks.expire_paused_until_ms = core.engine.paused_until_ms;
    core.reply(ck, |out, _| reply::ok(out));
}
