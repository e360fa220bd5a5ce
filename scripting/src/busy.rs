//! Redis's rules for a script that runs past `busy-reply-threshold` (`scriptInterrupt`, `scriptKill`),
//! sans-IO: the server calls these from [`crate::Host::interrupt`] while it serves the other clients.

/// `-BUSY` for a command refused while an EVAL script runs (Redis's `slowevalerr`).
pub const BUSY_EVAL: &[u8] =
    b"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
/// `-BUSY` for a command refused while a function runs (Redis's `slowscripterr`).
pub const BUSY_FUNCTION: &[u8] =
    b"BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
/// SCRIPT KILL / FUNCTION KILL with nothing running.
pub const NOTBUSY: &[u8] = b"NOTBUSY No scripts in execution right now.";
/// SCRIPT KILL / FUNCTION KILL of a script that already ran a write command.
pub const UNKILLABLE: &[u8] = b"UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";
/// SCRIPT KILL / FUNCTION KILL of a script our master sent (replication or AOF must not lose it).
pub const UNKILLABLE_MASTER: &[u8] = b"UNKILLABLE The busy script was sent by a master instance in the context of replication and cannot be killed.";
/// The warning Redis logs when the hook kills a script.
pub const KILLED_LOG: &str = "Lua script killed by user with SCRIPT KILL.";

/// The script running past the threshold, as the kill rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusyScript {
    /// EVAL/EVALSHA (true) or FCALL (false).
    pub is_eval: bool,
    /// The script already ran a command flagged `write` (Redis's `SCRIPT_WRITE_DIRTY`, set when the
    /// command passed the script checks, before it runs).
    pub wrote: bool,
    /// The caller is our master (Redis's `mustObeyClient`): the script cannot be killed.
    pub from_master: bool,
}

/// Which kill command a client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillCommand {
    /// SCRIPT KILL: kills EVAL scripts only.
    Script,
    /// FUNCTION KILL: kills functions only.
    Function,
}

/// The outcome of a kill command: the error to reply (without its `-`), or `None` for `+OK`, in which
/// case the running script must be killed (return true from the next [`crate::Host::interrupt`]).
pub fn kill(running: Option<BusyScript>, command: KillCommand) -> Option<&'static [u8]> {
    let Some(script) = running else {
        return Some(NOTBUSY);
    };
    if script.from_master {
        return Some(UNKILLABLE_MASTER);
    }
    if script.wrote {
        return Some(UNKILLABLE);
    }
    match (command, script.is_eval) {
        (KillCommand::Script, false) => Some(BUSY_FUNCTION),
        (KillCommand::Function, true) => Some(BUSY_EVAL),
        _ => None,
    }
}

/// The `-BUSY` error for a command refused while `script` runs.
pub fn busy_error(script: BusyScript) -> &'static [u8] {
    if script.is_eval {
        BUSY_EVAL
    } else {
        BUSY_FUNCTION
    }
}

/// The warning Redis logs once when a script passes the threshold.
pub fn slow_script_log(elapsed_ms: u64, is_eval: bool, name: &str) -> String {
    let kill = if is_eval {
        "SCRIPT KILL"
    } else {
        "FUNCTION KILL"
    };
    format!(
        "Slow script detected: still in execution after {elapsed_ms} milliseconds. You can try \
         killing the script using the {kill} command. Script name is: {name}."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVAL: BusyScript = BusyScript {
        is_eval: true,
        wrote: false,
        from_master: false,
    };
    const FUNCTION: BusyScript = BusyScript {
        is_eval: false,
        wrote: false,
        from_master: false,
    };

    #[test]
    fn kill_rules_as_redis() {
        assert_eq!(kill(None, KillCommand::Script), Some(NOTBUSY));
        assert_eq!(kill(None, KillCommand::Function), Some(NOTBUSY));
        assert_eq!(kill(Some(EVAL), KillCommand::Script), None);
        assert_eq!(kill(Some(FUNCTION), KillCommand::Function), None);
        assert_eq!(
            kill(Some(FUNCTION), KillCommand::Script),
            Some(BUSY_FUNCTION)
        );
        assert_eq!(kill(Some(EVAL), KillCommand::Function), Some(BUSY_EVAL));
        let wrote = BusyScript {
            wrote: true,
            ..EVAL
        };
        assert_eq!(kill(Some(wrote), KillCommand::Script), Some(UNKILLABLE));
        // As Redis's scriptKill: the master check comes before the write check and the kind check.
        let master = BusyScript {
            from_master: true,
            ..wrote
        };
        assert_eq!(
            kill(Some(master), KillCommand::Function),
            Some(UNKILLABLE_MASTER)
        );
        assert_eq!(busy_error(EVAL), BUSY_EVAL);
        assert_eq!(busy_error(FUNCTION), BUSY_FUNCTION);
    }

    #[test]
    fn slow_script_warning() {
        assert_eq!(
            slow_script_log(12, false, "test"),
            "Slow script detected: still in execution after 12 milliseconds. You can try killing \
             the script using the FUNCTION KILL command. Script name is: test."
        );
    }
}
