//! EVAL, EVALSHA, their `_RO` forms, FCALL, FCALL_RO, SCRIPT and FUNCTION: the server side of
//! `zedis-scripting`. Scripts run their commands through [`Core::script_call`] (the dispatch module's entry
//! for scripts), as the calling client; blocked clients are served after the whole script (by
//! `Core::execute`), and the AOF gets the commands the script ran (wrapped in MULTI/EXEC when more than one),
//! never the script itself. FUNCTION LOAD/DELETE/FLUSH/RESTORE are logged as written.

pub mod busy;
mod busy_loop;

use crate::dispatch::ScriptRun;
use crate::server::Core;
use crate::Strategy;
use zedis_budget::{Component, GlobalBudget};
use zedis_client_pool::ClientSlots;
use zedis_resp::reply;
use zedis_scripting::{
    split_keys, CallCtx, Host, Invocation, RestorePolicy, RunOptions, ScriptFlags, Scripting,
};

/// SCRIPT HELP.
const SCRIPT_HELP: &[&str] = &[
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
];

/// FUNCTION HELP.
const FUNCTION_HELP: &[&str] = &[
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help."

];

/// The scripting engines for the server's engine half.
pub fn new_scripting() -> Option<Box<Scripting>> {
    Scripting::new(zedis_scripting::Limits::default())
        .ok()
        .map(Box::new)
}

/// Charges the Lua heaps and the script cache to the budget (`Component::Lua`) at their current size.
pub fn recharge<S: Strategy>(core: &mut Core<S>) {
    let Some(scripting) = core.engine.scripting.as_ref() else {
        return;
    };
    let bytes = scripting.used_memory_bytes() + scripting.scripts_cache_bytes();
    let charged = core.engine.scripting_charged;
    if bytes > charged {
        core.budget.reserve(Component::Lua, bytes - charged);
    } else {
        core.budget.release(Component::Lua, charged - bytes);
    }
    core.engine.scripting_charged = bytes;
}

/// INFO memory's scripting fields, as Redis names them.
pub fn info_memory<S: Strategy>(core: &Core<S>, out: &mut String) {
    use std::fmt::Write;
    let Some(s) = core.engine.scripting.as_ref() else {
        return;
    };
    let eval = s.eval_memory_bytes();
    let functions = s.functions_memory_bytes();
    let cache = s.scripts_cache_bytes();
    let _ = write!(
        out,
        "used_memory_lua:{eval}\r\nused_memory_vm_eval:{eval}\r\nused_memory_scripts_eval:{cache}\r\nnumber_of_cached_scripts:{}\r\nused_memory_vm_functions:{functions}\r\nused_memory_vm_total:{}\r\nused_memory_scripts:{cache}\r\n",
        s.cached_scripts(),
        eval + functions
    );
}

/// The [`zedis_scripting::Host`] of a script run by client `caller.ck`.
struct ScriptHost<'a, 'b, S: Strategy> {
    core: &'a mut Core<S>,
    caller: busy::Caller<'b>,
    run: ScriptRun,
}

impl<S: Strategy> Host for ScriptHost<'_, '_, S> {
    fn call(&mut self, argv: &[&[u8]], ctx: &CallCtx) -> Vec<u8> {
        self.core
            .script_call(self.caller.ck, &mut self.run, argv, ctx)
    }

    /// `redis.acl_check_cmd`: the caller's user against the command (Redis's
    /// `ACLCheckAllUserCommandPerm`, no ACL LOG entry); `None` for an unknown command.
    fn acl_check_cmd(&mut self, argv: &[&[u8]]) -> Option<bool> {
        let cmd = match crate::dispatch::resolve(self.core.table, argv) {
            Ok(cmd) | Err(crate::dispatch::Rejection::Arity(cmd)) => cmd,
            Err(_) => return None,
        };
        let user = self.core.client_user(self.caller.ck);
        Some(self.core.engine.access.check(user, cmd, argv).is_ok())
    }

    fn interrupt(&mut self, elapsed: std::time::Duration) -> bool {
        busy::interrupt(self.core, &self.caller, &mut self.run, elapsed)
    }
}

/// Writes a complete RESP reply produced by the scripting crate (errors counted).
fn reply_raw<S: Strategy>(core: &mut Core<S>, ck: usize, bytes: &[u8]) {
    if let Some(text) = crate::observe::error_text(bytes) {
        core.engine.stats.error_replies += 1;
        core.observe_error(text);
    }
    core.reply(ck, |out, _| out.extend_from_slice(bytes));
}

/// Writes a script's reply: an error raised by a command the script called was counted when that command
/// failed, so it is not counted again, but the script command still fails (Redis's
/// `ERR_REPLY_FLAG_NO_STATS_UPDATE`).
fn reply_script<S: Strategy>(core: &mut Core<S>, ck: usize, bytes: &[u8], counted: bool) {
    if counted && bytes.first() == Some(&b'-') {
        let name = core.clients.get(ck).map_or("", |c| c.last_cmd);
        core.observe_failed_uncounted(name);
        return core.reply(ck, |out, _| out.extend_from_slice(bytes));
    }
    reply_raw(core, ck, bytes);
}

/// Runs `run` with the engines taken out of the core (the script's commands borrow the core), then puts
/// them back, wraps the script's AOF records and replies. `keys`: the declared keys, whose slot (Redis's
/// `c->slot` from the route check) the script's commands must stay in, in cluster mode. `caller`: the
/// client and its command, for the busy-script rules (`busy.rs`).
fn run_script<S: Strategy>(
    core: &mut Core<S>,
    mut caller: busy::Caller<'_>,
    keys: &[&[u8]],
    run: impl FnOnce(&mut Scripting, &mut ScriptHost<'_, '_, S>) -> Vec<u8>,
) {
    let ck = caller.ck;
    let Some(mut scripting) = core.engine.scripting.take() else {
        return core.reply_error(ck, b"ERR scripting is not available");
    };
    caller.function_counts = scripting.function_counts();
    let db = core.clients.get(ck).map_or(0, |c| c.db);
    let mut host = ScriptHost {
        core,
        caller,
        run: ScriptRun {
            db,
            slot: keys.first().map(|k| zedis_cluster::key_hash_slot(k)),
            ..Default::default()
        },
    };
    let out = run(&mut scripting, &mut host);
    let script_run = host.run;
    let counted = scripting.last_error_already_counted();
    core.engine.scripting = Some(scripting);
    busy::finished(core);
    core.script_done(&script_run);
    recharge(core);
    reply_script(core, ck, &out, counted);
}

/// Whether a script with `flags` is refused before running because memory is over `maxmemory` (a script
/// that may write, without `allow-oom`; compatibility-mode scripts are checked per command).
fn refused_for_oom<S: Strategy>(core: &Core<S>, flags: ScriptFlags, compat: bool) -> bool {
    !compat
        && !flags.has(ScriptFlags::NO_WRITES)
        && !flags.has(ScriptFlags::ALLOW_OOM)
        && core.budget.limit() != 0
        && core.budget.over_limit()
}

/// Whether a script with `flags` is refused before running for want of good replicas (`min-replicas-to-write`):
/// a script that declared flags without `no-writes` counts as a write command, as in Redis's processCommand;
/// compatibility-mode scripts are checked per command.
fn refused_for_replicas<S: Strategy>(core: &Core<S>, flags: ScriptFlags, compat: bool) -> bool {
    !compat && !flags.has(ScriptFlags::NO_WRITES) && core.repl_denies_write()
}

/// EVAL, EVALSHA, EVAL_RO and EVALSHA_RO.
pub fn eval<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let name = argv[0].to_ascii_lowercase();
    let is_sha = name.starts_with(b"evalsha");
    let read_only = name.ends_with(b"_ro");
    // Fed before the script runs, so that the lines of the commands it runs follow it (Redis's evalCommand).
    core.feed_monitors(ck, argv);
    // As Redis's evalShaCommand: a SHA1 of the wrong length cannot match, before numkeys is looked at.
    if is_sha && argv[1].len() != 40 {
        return core.reply_error(ck, zedis_scripting::NOSCRIPT);
    }
    let (keys, args) = match split_keys(Invocation::Eval, argv[2], &argv[3..]) {
        Ok(split) => split,
        Err(bytes) => return reply_raw(core, ck, &bytes),
    };
    let protocol = core.clients.get(ck).map_or(Default::default(), |c| c.proto);
    if let Some(shebang) = core
        .engine
        .scripting
        .as_ref()
        .and_then(|s| s.eval_flags(argv[1], is_sha))
    {
        if !read_only && refused_for_oom(core, shebang.flags, shebang.compat_mode) {
            return core.reply_error(ck, zedis_keyspace::commands::OOM);
        }
        if !read_only && refused_for_replicas(core, shebang.flags, shebang.compat_mode) {
            return core.reply_error(ck, crate::dispatch::NOREPLICAS);
        }
    }
    let opts = RunOptions {
        protocol,
        read_only,
    };
    core.tracking_script_keys(keys);
    let caller = busy::Caller {
        ck,
        argv,
        is_eval: true,
        is_sha,
        function_counts: (0, 0),
        registered: None,
    };
    run_script(core, caller, keys, |scripting, host| {
        if is_sha {
            scripting.evalsha(argv[1], keys, args, opts, host)
        } else {
            scripting.eval(argv[1], keys, args, opts, host)
        }
    });
}

/// FCALL and FCALL_RO.
pub fn fcall<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let read_only = argv[0].eq_ignore_ascii_case(b"fcall_ro");
    core.feed_monitors(ck, argv);
    // As Redis's fcallCommandGeneric: the function is looked up before numkeys is parsed.
    // The registered name is kept only when FCALL spelled it in another case (FUNCTION STATS shows it).
    let Some((flags, registered)) = core.engine.scripting.as_ref().and_then(|s| {
        s.function_lookup(argv[1]).map(|(flags, name)| {
            (
                flags,
                (name.as_bytes() != argv[1]).then(|| name.as_bytes().to_vec()),
            )
        })
    }) else {
        return core.reply_error(ck, b"ERR Function not found");
    };
    let (keys, args) = match split_keys(Invocation::Fcall, argv[2], &argv[3..]) {
        Ok(split) => split,
        Err(bytes) => return reply_raw(core, ck, &bytes),
    };
    let protocol = core.clients.get(ck).map_or(Default::default(), |c| c.proto);
    if !read_only && refused_for_oom(core, flags, false) {
        return core.reply_error(ck, zedis_keyspace::commands::OOM);
    }
    if !read_only && refused_for_replicas(core, flags, false) {
        return core.reply_error(ck, crate::dispatch::NOREPLICAS);
    }
    let opts = RunOptions {
        protocol,
        read_only,
    };
    core.tracking_script_keys(keys);
    let caller = busy::Caller {
        ck,
        argv,
        is_eval: false,
        is_sha: false,
        function_counts: (0, 0),
        registered,
    };
    run_script(core, caller, keys, |scripting, host| {
        scripting.fcall(argv[1], keys, args, opts, host)
    });
}

/// Redis's reply to a subcommand given the wrong arguments.
fn subcommand_syntax<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let msg = format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(argv[1]),
        String::from_utf8_lossy(argv[0]).to_ascii_uppercase()
    );
    core.reply_error(ck, msg.as_bytes());
}

/// Whether a FLUSH's optional mode argument is valid (`SYNC` or `ASYNC`).
fn flush_mode_ok(argv: &[&[u8]]) -> bool {
    argv.len() == 2
        || (argv.len() == 3
            && (argv[2].eq_ignore_ascii_case(b"sync") || argv[2].eq_ignore_ascii_case(b"async")))
}

/// SCRIPT LOAD, EXISTS, FLUSH, KILL and HELP.
pub fn script<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let sub = argv[1].to_ascii_lowercase();
    if sub == b"help" {
        return crate::clients::help_reply(core, ck, SCRIPT_HELP);
    }
    if sub == b"kill" {
        return busy::kill(core, ck, zedis_scripting::busy::KillCommand::Script);
    }
    let Some(scripting) = core.engine.scripting.as_mut() else {
        return core.reply_error(ck, b"ERR scripting is not available");
    };
    let out = match sub.as_slice() {
        b"load" => scripting.script_load(argv[2]),
        b"exists" => scripting.script_exists(&argv[2..]),
        _ => {
            if !flush_mode_ok(argv) {
                return core.reply_error(ck, b"ERR SCRIPT FLUSH only support SYNC|ASYNC option");
            }
            match scripting.script_flush() {
                Ok(()) => b"+OK\r\n".to_vec(),
                Err(_) => b"-ERR out of memory\r\n".to_vec(),
            }
        }
    };
    recharge(core);
    reply_raw(core, ck, &out);
}

/// Parses FUNCTION LIST's arguments: (library name pattern, WITHCODE) or the error text.
fn list_args<'a>(argv: &[&'a [u8]]) -> Result<(Option<&'a [u8]>, bool), String> {
    let (mut pattern, mut with_code) = (None, false);
    let mut i = 2;
    while i < argv.len() {
        let arg = argv[i];
        if !with_code && arg.eq_ignore_ascii_case(b"withcode") {
            with_code = true;
        } else if pattern.is_none() && arg.eq_ignore_ascii_case(b"libraryname") {
            if i + 1 >= argv.len() {
                return Err("ERR library name argument was not given".into());
            }
            i += 1;
            pattern = Some(argv[i]);
        } else {
            return Err(format!(
                "ERR Unknown argument {}",
                String::from_utf8_lossy(arg)
            ));
        }
        i += 1;
    }
    Ok((pattern, with_code))
}

/// Runs a FUNCTION subcommand that changes the libraries on `scripting`. Ok(reply, wrote) or the error
/// text (for the caller's own reply path).
fn function_write(
    scripting: &mut Scripting,
    argv: &[&[u8]],
) -> Result<(Vec<u8>, bool), &'static str> {
    let sub = argv[1].to_ascii_lowercase();
    let out = match sub.as_slice() {
        b"load" => {
            let code = argv[argv.len() - 1];
            for opt in &argv[2..argv.len() - 1] {
                if !opt.eq_ignore_ascii_case(b"replace") {
                    let mut out = Vec::new();
                    let msg = format!("ERR Unknown option given: {}", String::from_utf8_lossy(opt));
                    reply::error(&mut out, msg.as_bytes());
                    return Ok((out, false));
                }
            }
            scripting.function_load(code, argv.len() > 3)
        }
        b"delete" => scripting.function_delete(argv[2]),
        b"flush" => {
            if argv.len() > 3 {
                return Err("syntax");
            }
            if !flush_mode_ok(argv) {
                return Err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
            }
            match scripting.function_flush() {
                Ok(()) => b"+OK\r\n".to_vec(),
                Err(_) => b"-ERR out of memory\r\n".to_vec(),
            }
        }
        _ => {
            if argv.len() > 4 {
                return Err("syntax");
            }
            let policy = match argv.get(3).map(|p| p.to_ascii_lowercase()) {
                None => RestorePolicy::Append,
                Some(p) if p == b"append" => RestorePolicy::Append,
                Some(p) if p == b"flush" => RestorePolicy::Flush,
                Some(p) if p == b"replace" => RestorePolicy::Replace,
                Some(_) => return Err("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE."),
            };
            scripting.function_restore(argv[2], policy)
        }
    };
    let wrote = out.first() != Some(&b'-');
    Ok((out, wrote))
}

/// FUNCTION LOAD, LIST, DELETE, FLUSH, DUMP, RESTORE, STATS, KILL and HELP.
pub fn function<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let sub = argv[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"help" => return crate::clients::help_reply(core, ck, FUNCTION_HELP),
        b"kill" => return busy::kill(core, ck, zedis_scripting::busy::KillCommand::Function),
        _ => {}
    }
    let protocol = core.clients.get(ck).map_or(Default::default(), |c| c.proto);
    if sub == b"stats" {
        if let Some(out) = busy::function_stats(core, protocol) {
            return reply_raw(core, ck, &out);
        }
    }
    let Some(scripting) = core.engine.scripting.as_mut() else {
        return core.reply_error(ck, b"ERR scripting is not available");
    };
    let out = match sub.as_slice() {
        b"list" => match list_args(argv) {
            Ok((pattern, with_code)) => scripting.function_list(pattern, with_code, protocol),
            Err(msg) => return core.reply_error(ck, msg.as_bytes()),
        },
        b"dump" => {
            let payload = scripting.function_dump();
            let mut out = Vec::new();
            reply::bulk(&mut out, &payload);
            out
        }
        b"stats" => scripting.function_stats(None, protocol),
        _ => match function_write(scripting, argv) {
            Ok((out, wrote)) => {
                if wrote {
                    core.engine.fx.dirty += 1;
                }
                out
            }
            Err("syntax") => return subcommand_syntax(core, ck, argv),
            Err(msg) => return core.reply_error(ck, msg.as_bytes()),
        },
    };
    recharge(core);
    reply_raw(core, ck, &out);
}

/// Replays a FUNCTION command read from the AOF. Ok(false): it replied an error.
pub fn load_function<S: Strategy>(core: &mut Core<S>, argv: &[&[u8]]) -> Result<bool, String> {
    let Some(scripting) = core.engine.scripting.as_mut() else {
        return Err("scripting is not available".into());
    };
    match function_write(scripting, argv) {
        Ok((_, wrote)) => Ok(wrote),
        Err(_) => Ok(false),
    }
}

/// Each function library's code, as FUNCTION DUMP holds it (for the RDB's functions section).
pub fn library_codes<S: Strategy>(core: &Core<S>) -> Vec<Vec<u8>> {
    let Some(scripting) = core.engine.scripting.as_ref() else {
        return Vec::new();
    };
    if scripting.function_counts().0 == 0 {
        return Vec::new();
    }
    zedis_rdb::decode_function_payload(&scripting.function_dump(), zedis_rdb::Limits::default())
        .unwrap_or_default()
}

/// The commands that recreate the function libraries (for the AOF rewrite): one FUNCTION RESTORE of their
/// dump, or nothing without libraries.
pub fn rewrite_commands<S: Strategy>(core: &Core<S>) -> Option<Vec<Vec<u8>>> {
    let scripting = core.engine.scripting.as_ref()?;
    let listed = scripting.function_list(None, false, zedis_resp::Protocol::Resp2);
    if listed.starts_with(b"*0\r\n") {
        return None;
    }
    Some(vec![
        b"FUNCTION".to_vec(),
        b"RESTORE".to_vec(),
        scripting.function_dump(),
    ])
}
