//! The interface the server implements so scripts run their commands through the one command path.

use crate::flags::ScriptFlags;
use std::time::Duration;
use zedis_resp::Protocol;

/// What the server needs to know about the script issuing a `redis.call`/`redis.pcall`.
#[derive(Debug, Clone, Copy)]
pub struct CallCtx {
    /// The protocol the command's reply must be encoded in (`redis.setresp`, RESP2 by default).
    pub protocol: Protocol,
    /// The script's declared flags (shebang or `register_function` flags).
    pub flags: ScriptFlags,
    /// True when the script was declared without a shebang (EVAL compatibility mode): writes are allowed
    /// and the flags above are not enforced.
    pub compat_mode: bool,
    /// True for EVAL_RO, EVALSHA_RO and FCALL_RO: write commands must be refused.
    pub read_only: bool,
    /// `redis.set_repl` flags: bit 0 AOF, bit 1 replicas (Redis's `PROPAGATE_AOF`/`PROPAGATE_REPL`).
    pub repl_flags: u8,
}

/// Log levels of `redis.log`, as Redis's `LL_*` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// `redis.LOG_DEBUG` (0).
    Debug,
    /// `redis.LOG_VERBOSE` (1).
    Verbose,
    /// `redis.LOG_NOTICE` (2).
    Notice,
    /// `redis.LOG_WARNING` (3).
    Warning,
}

/// Runs commands for a script. The server implements it over its dispatcher: ACL, OOM, read-only, "not
/// allowed from script" (`noscript` flag), keyspace notifications, WATCH and effects all apply.
pub trait Host {
    /// Runs one command and returns its complete reply in RESP (in `ctx.protocol`): an error reply such
    /// as `-ERR Unknown Redis command called from script\r\n` when the command may not run. The errors
    /// Redis raises before running a command from a script are, without the leading `-`:
    /// `ERR Unknown Redis command called from script`,
    /// `ERR Wrong number of args calling Redis command from script`,
    /// `ERR This Redis command is not allowed from script`,
    /// `ERR Write commands are not allowed from read-only scripts.`.
    fn call(&mut self, argv: &[&[u8]], ctx: &CallCtx) -> Vec<u8>;

    /// `redis.acl_check_cmd(...)`: whether the calling user may run this command with these arguments;
    /// `None` for an unknown command (the script gets `Invalid command passed to redis.acl_check_cmd()`).
    fn acl_check_cmd(&mut self, argv: &[&[u8]]) -> Option<bool> {
        let _ = argv;
        Some(true)
    }

    /// `redis.log(level, ...)`: the message is the arguments joined by spaces.
    fn log(&mut self, level: LogLevel, message: &[u8]) {
        let _ = (level, message);
    }

    /// Called from Lua's instruction hook every [`crate::HOOK_INSTRUCTIONS`] instructions of a running
    /// script (never from inside [`Host::call`]) with the time the script has run. Return true to kill it:
    /// it then fails with `ERR Script killed by user with SCRIPT KILL...` (Redis's text for EVAL and
    /// FCALL alike), which `pcall` cannot catch.
    ///
    /// This is Redis's `scriptInterrupt`: past `busy-reply-threshold` the server logs the slow script
    /// once, protects the calling client, then serves the other clients' input from here (`-BUSY` for most
    /// commands; SCRIPT KILL / FUNCTION KILL set the kill request, refused with `-UNKILLABLE` once the
    /// script ran a write command; SHUTDOWN NOSAVE) and returns whether a kill was requested.
    fn interrupt(&mut self, elapsed: Duration) -> bool {
        let _ = elapsed;
        false
    }
}
