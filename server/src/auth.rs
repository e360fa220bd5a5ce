//! AUTH, HELLO AUTH, `requirepass` and `protected-mode`.
//!
//! Users are the ACL's (`crate::access`); `requirepass` is the `default` user's password (empty: `nopass`),
//! mapped onto it whenever the directive changes, as Redis's `ACLUpdateDefaultUserPassword`. A connection
//! starts authenticated as `default` when that user is `nopass` and enabled; otherwise it may only send small
//! requests (the parser's unauthenticated limits) and commands flagged `no_auth` until AUTH or HELLO AUTH
//! succeeds. A failed attempt is logged in ACL LOG (`reason` auth, `object` the command as typed).

use crate::server::Core;
use crate::Strategy;
use std::io::Write;
use std::net::IpAddr;
use zedis_acl::{Denial, DenialReason, LogContext};
use zedis_client_pool::ClientSlots;
use zedis_resp::reply;

/// Redis 7.0's reply to a non-loopback connection while protected mode is on and no password is set.
pub const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Redis's reply to a wrong user or password.
pub const WRONGPASS: &[u8] = b"WRONGPASS invalid username-password pair or user is disabled.";

/// # Format
/// `AUTH [username] password`
pub fn auth<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let (user, password): (&[u8], &[u8]) = match argv.len() {
        2 => {
            if core.default_user_nopass() {
                return core.reply_error(ck, b"ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
            }
            (b"default", argv[1])
        }
        3 => (argv[1], argv[2]),
        _ => return core.reply_error(ck, zedis_keyspace::commands::SYNTAX),
    };
    if !authenticate(core, ck, argv[0], user, password) {
        return core.reply_error(ck, WRONGPASS);
    }
    core.reply(ck, |out, _| reply::ok(out));
}

/// Redis's `ACLAuthenticateUser`: on success client `ck` becomes `user`, authenticated; on failure an `auth`
/// entry is logged (`object` is the command as typed, `username` the name tried).
pub fn authenticate<S: Strategy>(
    core: &mut Core<S>,
    ck: usize,
    command: &[u8],
    user: &[u8],
    password: &[u8],
) -> bool {
    match core.engine.access.acl.authenticate(user, password) {
        Ok(id) => {
            if let Some(client) = core.clients.get_mut(ck) {
                client.user = Some(id);
            }
            crate::clients::set_authenticated(core, ck);
            true
        }
        Err(_) => {
            let in_multi = core.clients.get(ck).is_some_and(|c| c.tx.active);
            let context = if in_multi {
                LogContext::Multi
            } else {
                LogContext::Toplevel
            };
            let denial = Denial {
                reason: DenialReason::Auth,
                pos: 0,
                object: command.to_vec(),
            };
            core.acl_log(ck, &denial, context, user.to_vec());
            false
        }
    }
}

impl<S: Strategy> Core<S> {
    /// Whether the `default` user is `nopass` (AUTH with one argument is then an error, and protected mode
    /// refuses remote connections).
    pub fn default_user_nopass(&self) -> bool {
        let acl = &self.engine.access.acl;
        acl.user(acl.default_user()).is_some_and(|u| u.nopass())
    }
}

/// Maps `requirepass` onto the `default` user when it changed (startup, CONFIG SET), then lets every
/// unauthenticated connection in if the default user is now open (Redis checks it at each command).
pub fn apply_requirepass<S: Strategy>(core: &mut Core<S>) {
    let requirepass = core.config.get("requirepass").to_string();
    let access = &mut core.engine.access;
    if access.requirepass_applied.as_deref() != Some(requirepass.as_str()) {
        let password = (!requirepass.is_empty()).then_some(requirepass.as_bytes());
        // At startup an empty requirepass leaves the default user as the config's `user default` made it.
        if access.requirepass_applied.is_some() || password.is_some() {
            access.acl.set_default_password(password);
        }
        access.requirepass_applied = Some(requirepass);
        core.access_recharge();
    }
    open_if_default_open(core);
}

/// Authenticates every connection still waiting for AUTH when the default user is `nopass` and enabled.
pub fn open_if_default_open<S: Strategy>(core: &mut Core<S>) {
    if !core.default_user_open() {
        return;
    }
    for ck in core.clients.keys() {
        if core.clients.get(ck).is_some_and(|c| !c.authenticated) {
            crate::clients::set_authenticated(core, ck);
        }
    }
}

/// Whether a loopback address (IPv4, IPv6, or IPv4-mapped IPv6).
fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Protected mode (on by default): with no password set, a connection from a non-loopback address gets
/// Redis's DENIED explanation (a TLS one is closed without it) and is closed. True if `stream` was refused.
pub fn protected_mode_denies<S: Strategy>(
    core: &mut Core<S>,
    stream: &mut zedis_deploy::stream::ClientStream,
    tls: bool,
) -> bool {
    let protected = core.settings.protected_mode;
    // A Unix socket client is local.
    let Some(peer) = stream.tcp_peer() else {
        return false;
    };
    if !protected || !core.default_user_nopass() || is_loopback(peer.ip()) {
        return false;
    }
    // A fresh socket's send buffer takes the whole message; a short write only shortens the explanation.
    if !tls {
        let _ = stream.write(PROTECTED_MODE_DENIED);
    }
    core.engine.stats.rejected_connections += 1;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses() {
        assert!(is_loopback("127.0.0.1".parse().unwrap()));
        assert!(is_loopback("127.1.2.3".parse().unwrap()));
        assert!(is_loopback("::1".parse().unwrap()));
        assert!(is_loopback("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!is_loopback("192.0.2.2".parse().unwrap()));
        assert!(!is_loopback("::ffff:192.0.2.2".parse().unwrap()));
    }

    #[test]
    fn denied_message_is_one_error_line() {
        assert!(PROTECTED_MODE_DENIED.starts_with(b"-DENIED Redis is running in protected mode"));
        assert!(PROTECTED_MODE_DENIED.ends_with(b"from the outside.\r\n"));
        assert_eq!(
            PROTECTED_MODE_DENIED
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
            1
        );
    }
}
