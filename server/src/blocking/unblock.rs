//! CLIENT UNBLOCK: ends another client's wait in a blocking command (BLPOP and the other list, sorted-set
//! and stream commands, and WAIT) as if it had timed out, or with Redis's `-UNBLOCKED` error.

use crate::server::Core;
use crate::Strategy;
use zedis_client_pool::ClientSlots;
use zedis_resp::reply;

/// The error a client unblocked with `CLIENT UNBLOCK id ERROR` receives (Redis's text).
pub const UNBLOCKED_ERROR: &[u8] = b"UNBLOCKED client unblocked via CLIENT UNBLOCK";

/// # Format
/// `CLIENT UNBLOCK client-id [TIMEOUT | ERROR]`
///
/// Replies 1 if the client was blocked and is now unblocked, else 0. As Redis 7.0, the reason is checked
/// before the id, and a client waiting for CLIENT PAUSE to end is not unblocked.
pub fn client_unblock<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    if argv.len() > 4 {
        let msg = format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            String::from_utf8_lossy(&argv[1][..argv[1].len().min(128)])
        );
        return core.reply_error(ck, msg.as_bytes());
    }
    let with_error = match argv.get(3) {
        None => false,
        Some(reason) if reason.eq_ignore_ascii_case(b"timeout") => false,
        Some(reason) if reason.eq_ignore_ascii_case(b"error") => true,
        Some(_) => {
            return core.reply_error(ck, b"ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
        }
    };
    let Some(id) = zedis_keyspace::num::parse_i64_exact(argv[2]) else {
        return core.reply_error(ck, zedis_keyspace::commands::NOT_INTEGER);
    };
    let target = core
        .clients
        .keys()
        .into_iter()
        .find(|&k| core.clients.get(k).is_some_and(|c| c.id as i64 == id));
    let done = target.is_some_and(|t| unblock(core, t, with_error));
    core.reply(ck, |out, _| reply::integer(out, i64::from(done)));
}

/// Unblocks client `target` if it waits in a blocking command or in WAIT; false if it does not.
fn unblock<S: Strategy>(core: &mut Core<S>, target: usize, with_error: bool) -> bool {
    let Some(client) = core.clients.get(target) else {
        return false;
    };
    let keyed = client.blocked.as_ref().map(|b| b.cmd);
    let waiting_acks = client.waiting_acks;
    let cmd_name = match keyed {
        Some(id) => core.table.by_id(id).map(|c| c.name),
        None if waiting_acks => Some("wait"),
        None => return false,
    };
    if keyed.is_some() {
        core.unblock_client(target);
    } else {
        let Some(at) = core.engine.repl.waiters.iter().position(|w| w.ck == target) else {
            return false;
        };
        let waiter = core.engine.repl.waiters.remove(at);
        if let Some(client) = core.clients.get_mut(target) {
            client.waiting_acks = false;
        }
        core.engine.blocked.resumed.push(target);
        if !with_error {
            // WAIT's timeout reply: the replicas that acknowledged so far.
            let acked = core.repl_acked(waiter.offset) as i64;
            core.reply(target, |out, _| reply::integer(out, acked));
        }
    }
    if with_error {
        core.reply_error(target, UNBLOCKED_ERROR);
        // The error belongs to the unblocked command (its failed_calls), not to CLIENT UNBLOCK.
        core.observe_before_call();
        if let Some(name) = cmd_name {
            core.observe_failed_uncounted(name);
        }
    } else if keyed.is_some() {
        core.reply(target, reply::null_array);
    }
    core.queue_write(target);
    true
}
