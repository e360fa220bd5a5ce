//! Connection and server commands: PING, ECHO, QUIT, HELLO, SELECT, RESET, INFO, TIME, SHUTDOWN.

use crate::server::Core;
use crate::Strategy;
use zedis_client_pool::ClientSlots;
use zedis_resp::{reply, Protocol};

impl<S: Strategy> Core<S> {
    /// Writes into client `ck`'s output with its protocol; no-op for a vanished client.
    pub fn reply(&mut self, ck: usize, write: impl FnOnce(&mut Vec<u8>, Protocol)) {
        if let Some(client) = self.clients.get_mut(ck) {
            let proto = client.proto;
            write(client.out.vec_mut(), proto);
            client.out.recharge();
        }
    }
}

/// # Format
/// `PING [message]`
pub fn ping<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    if argv.len() > 2 {
        return core.reply_error(ck, crate::dispatch::wrong_arity("ping").as_bytes());
    }
    let subscribed = core.clients.get(ck).is_some_and(|c| c.in_subscribed_mode());
    core.reply(ck, |out, _| match (subscribed, argv.get(1)) {
        (true, message) => {
            reply::array_len(out, 2);
            reply::bulk(out, b"pong");
            reply::bulk(out, message.copied().unwrap_or(b""));
        }
        (false, Some(message)) => reply::bulk(out, message),
        (false, None) => reply::simple(out, b"PONG"),
    });
}

/// # Format
/// `ECHO message`
pub fn echo<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    core.reply(ck, |out, _| reply::bulk(out, argv[1]));
}

/// # Format
/// `QUIT`
pub fn quit<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    core.reply(ck, |out, _| reply::ok(out));
    if let Some(client) = core.clients.get_mut(ck) {
        client.close_after_reply = true;
    }
}

/// Redis's `clientSetNameOrReply` check.
pub fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

/// The error for an invalid client name.
pub const BAD_CLIENT_NAME: &[u8] =
    b"ERR Client names cannot contain spaces, newlines or special characters.";

/// # Format
/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`
pub fn hello<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let mut version = None;
    if argv.len() >= 2 {
        match zedis_keyspace::num::parse_i64_exact(argv[1]) {
            None => {
                return core.reply_error(
                    ck,
                    b"ERR Protocol version is not an integer or out of range",
                )
            }
            Some(v) if !(2..=3).contains(&v) => {
                return core.reply_error(ck, b"NOPROTO unsupported protocol version")
            }
            Some(v) => version = Some(v),
        }
    }
    let mut j = 2;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if argv[j].eq_ignore_ascii_case(b"auth") && more >= 2 {
            if !crate::auth::authenticate(core, ck, argv[0], argv[j + 1], argv[j + 2]) {
                return core.reply_error(
                    ck,
                    b"WRONGPASS invalid username-password pair or user is disabled.",
                );
            }
            j += 3;
        } else if argv[j].eq_ignore_ascii_case(b"setname") && more >= 1 {
            if !valid_client_name(argv[j + 1]) {
                return core.reply_error(ck, BAD_CLIENT_NAME);
            }
            // Applied at once, as Redis does: a later bad option does not undo it.
            if let Some(client) = core.clients.get_mut(ck) {
                client.name = argv[j + 1].to_vec();
            }
            j += 2;
        } else {
            // `%s`: the option up to its first NUL.
            let opt = argv[j].split(|&b| b == 0).next().unwrap_or_default();
            let mut msg = b"ERR Syntax error in HELLO option '".to_vec();
            msg.extend_from_slice(opt);
            msg.push(b'\'');
            return core.reply_error(ck, &msg);
        }
    }
    let Some(client) = core.clients.get_mut(ck) else {
        return;
    };
    if !client.authenticated {
        return core.reply_error(ck, b"NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(v) = version {
        client.proto = if v == 3 {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        };
    }
    let (id, proto) = (client.id as i64, client.proto);
    core.reply(ck, |out, p| {
        reply::map_len(out, p, 7);
        for (k, v) in [("server", "redis"), ("version", crate::REDIS_VERSION)] {
            reply::bulk(out, k.as_bytes());
            reply::bulk(out, v.as_bytes());
        }
        reply::bulk(out, b"proto");
        reply::integer(out, if proto == Protocol::Resp3 { 3 } else { 2 });
        reply::bulk(out, b"id");
        reply::integer(out, id);
        for (k, v) in [("mode", "standalone"), ("role", "master")] {
            reply::bulk(out, k.as_bytes());
            reply::bulk(out, v.as_bytes());
        }
        reply::bulk(out, b"modules");
        reply::array_len(out, 0);
    });
}

/// # Format
/// `SELECT index`
pub fn select<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let Some(index) =
        zedis_keyspace::num::parse_i64_exact(argv[1]).filter(|n| i32::try_from(*n).is_ok())
    else {
        return core.reply_error(ck, zedis_keyspace::commands::NOT_INTEGER);
    };
    if core.cluster.enabled() && index != 0 {
        return core.reply_error(ck, b"ERR SELECT is not allowed in cluster mode");
    }
    if index < 0 || index as usize >= core.engine.ks.db_count() {
        return core.reply_error(ck, zedis_keyspace::commands::DB_RANGE);
    }
    if let Some(client) = core.clients.get_mut(ck) {
        client.db = index as usize;
    }
    core.reply(ck, |out, _| reply::ok(out));
}

/// # Format
/// `RESET`
pub fn reset<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    core.reset_client_state(ck);
    if let Some(id) = core.clients.get(ck).map(|c| c.id) {
        core.engine.observe.monitors.remove(ck, id);
    }
    let requirepass = !core.default_user_open();
    if let Some(client) = core.clients.get_mut(ck) {
        client.user = None;
        client.db = 0;
        client.proto = Protocol::Resp2;
        client.name.clear();
        client.reply_mode = Default::default();
        client.no_evict = false;
        client.authenticated = !requirepass;
        if let Some(input) = client.input.as_mut() {
            input.parser.set_authenticated(!requirepass);
        }
    }
    core.reply(ck, |out, _| reply::simple(out, b"RESET"));
}

/// # Format
/// `INFO [section [section ...]]`
pub fn info<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let text = crate::info::render(core, &argv[1..]);
    core.reply(ck, |out, p| {
        reply::verbatim(out, p, b"txt", text.as_bytes())
    });
}

/// # Format
/// `TIME`
pub fn time<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    core.reply(ck, |out, _| {
        reply::array_len(out, 2);
        reply::bulk_int(out, now.as_secs() as i64);
        reply::bulk_int(out, i64::from(now.subsec_micros()));
    });
}
