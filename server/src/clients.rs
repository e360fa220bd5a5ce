//! CLIENT subcommands and authentication helpers.

use crate::client::{Client, ReplyMode};
use crate::server::{unix_ms, Core};
use crate::Strategy;
use zedis_client_pool::ClientSlots;
use zedis_keyspace::commands::SYNTAX;
use zedis_resp::reply;

mod line;

const HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
];

/// Writes a HELP reply (an array of status lines).
pub fn help_reply<S: Strategy>(core: &mut Core<S>, ck: usize, lines: &[&str]) {
    core.reply(ck, |out, _| {
        reply::array_len(out, lines.len());
        for line in lines {
            reply::simple(out, line.as_bytes());
        }
    });
}

/// Marks client `ck` authenticated (lifting the unauthenticated request limits).
pub fn set_authenticated<S: Strategy>(core: &mut Core<S>, ck: usize) {
    if let Some(client) = core.clients.get_mut(ck) {
        client.authenticated = true;
        if let Some(input) = client.input.as_mut() {
            input.parser.set_authenticated(true);
        }
    }
}

pub use line::client_info_line;

/// # Format
/// `CLIENT ID`
pub fn id<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let id = core.clients.get(ck).map_or(0, |c| c.id);
    core.reply(ck, |out, _| reply::integer(out, id as i64));
}

/// # Format
/// `CLIENT SETNAME name`
pub fn setname<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    if !crate::conn::valid_client_name(argv[2]) {
        return core.reply_error(ck, crate::conn::BAD_CLIENT_NAME);
    }
    if let Some(client) = core.clients.get_mut(ck) {
        client.name = argv[2].to_vec();
    }
    core.reply(ck, |out, _| reply::ok(out));
}

/// # Format
/// `CLIENT GETNAME`
pub fn getname<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let name = core
        .clients
        .get(ck)
        .map(|c| c.name.clone())
        .unwrap_or_default();
    core.reply(ck, |out, p| {
        if name.is_empty() {
            reply::null(out, p)
        } else {
            reply::bulk(out, &name)
        }
    });
}

fn type_matches(client: &Client, kind: &[u8]) -> Option<bool> {
    let pubsub = client.subscriptions + client.shard_subscriptions > 0;
    let replica = client.replica.as_ref().is_some_and(|r| r.online);
    let master = client.is_master;
    match kind.to_ascii_lowercase().as_slice() {
        b"normal" => Some(!pubsub && !replica && !master),
        b"pubsub" => Some(pubsub && !replica && !master),
        b"master" => Some(master),
        b"replica" | b"slave" => Some(replica),
        _ => None,
    }
}

/// # Format
/// `CLIENT LIST [TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]`
pub fn list<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let mut kind: Option<&[u8]> = None;
    let mut ids: Option<Vec<u64>> = None;
    match argv.get(2) {
        None => {}
        Some(opt) if opt.eq_ignore_ascii_case(b"type") && argv.len() == 4 => kind = Some(argv[3]),
        Some(opt) if opt.eq_ignore_ascii_case(b"id") && argv.len() >= 4 => {
            let mut list = Vec::new();
            for arg in &argv[3..] {
                match zedis_keyspace::num::parse_i64_exact(arg).filter(|n| *n > 0) {
                    Some(n) => list.push(n as u64),
                    None => return core.reply_error(ck, b"ERR Invalid client ID"),
                }
            }
            ids = Some(list);
        }
        Some(_) => return core.reply_error(ck, SYNTAX),
    }
    let now = unix_ms();
    let mut text = String::new();
    let mut keys = core.clients.keys();
    keys.sort_by_key(|k| core.clients.get(*k).map_or(0, |c| c.id));
    for k in keys {
        let Some(client) = core.clients.get(k) else {
            continue;
        };
        if let Some(kind) = kind {
            match type_matches(client, kind) {
                Some(true) => {}
                Some(false) => continue,
                None => {
                    let msg = format!(
                        "ERR Unknown client type '{}'",
                        String::from_utf8_lossy(kind)
                    );
                    return core.reply_error(ck, msg.as_bytes());
                }
            }
        }
        if ids.as_ref().is_some_and(|ids| !ids.contains(&client.id)) {
            continue;
        }
        text.push_str(&line::client_line(core, k, now));
    }
    core.reply(ck, |out, p| {
        reply::verbatim(out, p, b"txt", text.as_bytes())
    });
}

/// # Format
/// `CLIENT INFO`
pub fn info<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let text = client_info_line(core, ck);
    core.reply(ck, |out, p| {
        reply::verbatim(out, p, b"txt", text.as_bytes())
    });
}

/// # Format
/// `CLIENT KILL ip:port` / `CLIENT KILL [ID id] [TYPE type] [USER name] [ADDR ip:port] [LADDR ip:port] [SKIPME yes|no] ...`
pub fn kill<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let me = core.clients.get(ck).map_or(0, |c| c.id);
    if argv.len() == 3 {
        let target = core.clients.keys().into_iter().find(|k| {
            core.clients
                .get(*k)
                .is_some_and(|c| c.addr.as_bytes() == argv[2])
        });
        return match target {
            Some(k) => {
                close_later(core, k, ck);
                core.reply(ck, |out, _| reply::ok(out));
            }
            None => core.reply_error(ck, b"ERR No such client"),
        };
    }
    if argv.len() % 2 != 0 {
        return core.reply_error(ck, SYNTAX);
    }
    let mut skip_me = true;
    let mut filters: Vec<(Vec<u8>, &[u8])> = Vec::new();
    for pair in argv[2..].chunks(2) {
        let (opt, value) = (pair[0].to_ascii_lowercase(), pair[1]);
        match opt.as_slice() {
            b"id" => {
                if zedis_keyspace::num::parse_i64_exact(value).is_none_or(|n| n <= 0) {
                    return core.reply_error(ck, b"ERR client-id should be greater than 0");
                }
            }
            b"type" => {
                if !matches!(
                    value.to_ascii_lowercase().as_slice(),
                    b"normal" | b"pubsub" | b"master" | b"replica" | b"slave"
                ) {
                    let msg = format!(
                        "ERR Unknown client type '{}'",
                        String::from_utf8_lossy(value)
                    );
                    return core.reply_error(ck, msg.as_bytes());
                }
            }
            b"skipme" => match value.to_ascii_lowercase().as_slice() {
                b"yes" => skip_me = true,
                b"no" => skip_me = false,
                _ => return core.reply_error(ck, SYNTAX),
            },
            b"user" => {
                if core.engine.access.acl.user_id(value).is_none() {
                    let msg = format!("ERR No such user '{}'", String::from_utf8_lossy(value));
                    return core.reply_error(ck, msg.as_bytes());
                }
            }
            b"addr" | b"laddr" | b"maxage" => {}
            _ => return core.reply_error(ck, SYNTAX),
        }
        filters.push((opt, value));
    }
    let now = unix_ms();
    let mut killed = 0;
    for k in core.clients.keys() {
        let Some(client) = core.clients.get(k) else {
            continue;
        };
        if skip_me && client.id == me {
            continue;
        }
        let matches = filters.iter().all(|(opt, value)| match opt.as_slice() {
            b"id" => zedis_keyspace::num::parse_i64_exact(value) == Some(client.id as i64),
            b"type" => type_matches(client, value) == Some(true),
            b"addr" => client.addr.as_bytes() == *value,
            b"laddr" => client.laddr.as_bytes() == *value,
            b"user" => core.user_name(client.user) == *value,
            b"maxage" => zedis_keyspace::num::parse_i64_exact(value)
                .is_some_and(|s| (now - client.created_ms) / 1000 >= s),
            _ => true,
        });
        if matches {
            close_later(core, k, ck);
            killed += 1;
        }
    }
    core.reply(ck, |out, _| reply::integer(out, killed));
}

/// Closes `k` at the end of the loop turn; the calling client gets its reply first.
pub fn close_later<S: Strategy>(core: &mut Core<S>, k: usize, caller: usize) {
    if k == caller {
        if let Some(client) = core.clients.get_mut(k) {
            client.close_after_reply = true;
        }
    } else {
        core.net.closing.push(k);
    }
}

/// # Format
/// `CLIENT UNPAUSE`
pub fn unpause<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    core.engine.paused_until_ms = 0;
    core.reply(ck, |out, _| reply::ok(out));
}

/// # Format
/// `CLIENT REPLY ON | OFF | SKIP`
pub fn reply<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let mode = match argv[2].to_ascii_lowercase().as_slice() {
        b"on" => ReplyMode::On,
        b"off" => ReplyMode::Off,
        b"skip" => ReplyMode::Skip,
        _ => return core.reply_error(ck, SYNTAX),
    };
    if let Some(client) = core.clients.get_mut(ck) {
        client.reply_mode = match (mode, client.reply_mode) {
            // SKIP while OFF changes nothing, as in Redis.
            (ReplyMode::Skip, ReplyMode::Off) => ReplyMode::Off,
            (mode, _) => mode,
        };
    }
    if mode == ReplyMode::On {
        core.reply(ck, |out, _| reply::ok(out));
    }
}

/// # Format
/// `CLIENT NO-EVICT ON | OFF`
pub fn no_evict<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let on = match argv[2].to_ascii_lowercase().as_slice() {
        b"on" => true,
        b"off" => false,
        _ => return core.reply_error(ck, SYNTAX),
    };
    if let Some(client) = core.clients.get_mut(ck) {
        client.no_evict = on;
    }
    core.reply(ck, |out, _| reply::ok(out));
}

/// # Format
/// `CLIENT HELP`
pub fn help<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    help_reply(core, ck, HELP);
}
