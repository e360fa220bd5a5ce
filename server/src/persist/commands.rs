//! BGSAVE and LASTSAVE, with Redis 7.0's replies (`rdb.c`'s `bgsaveCommand`, `db.c`'s `lastsaveCommand`).

use crate::server::Core;
use crate::Strategy;
use zedis_resp::reply;

/// # Format
/// `BGSAVE [SCHEDULE]`
///
/// Forks the RDB child; with SCHEDULE while an AOF rewrite runs, starts it once that is done.
pub fn bgsave<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let schedule = match argv {
        [_] => false,
        [_, word] if word.eq_ignore_ascii_case(b"schedule") => true,
        _ => return core.reply_error(ck, zedis_keyspace::commands::SYNTAX),
    };
    let in_exec = core.engine.tx.executing;
    if core.engine.persist.child.is_some() {
        core.reply_error(ck, b"ERR Background save already in progress");
    } else if core.child_active() || in_exec {
        if schedule || in_exec {
            core.engine.persist.bgsave_scheduled = true;
            core.reply(ck, |out, _| {
                reply::simple(out, b"Background saving scheduled")
            });
        } else {
            core.reply_error(ck, b"ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
        }
    } else if core.rdb_fork().is_ok() {
        core.reply(ck, |out, _| {
            reply::simple(out, b"Background saving started")
        });
    } else {
        core.reply_error(ck, b"ERR");
    }
}

/// # Format
/// `LASTSAVE`
pub fn lastsave<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let at = core.engine.persist.lastsave_s;
    core.reply(ck, |out, _| reply::integer(out, at));
}
