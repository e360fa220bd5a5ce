//! Permission checks: may this user run this command with these keys and channels
//! (`ACLCheckAllUserCommandPerm`), with Redis's choice of which denial to report and its texts.

use zedis_util::glob;

use crate::catalog::{AclCommandId, CommandCatalog};
use crate::selector::{
    Selector, FLAG_ALL_CHANNELS, FLAG_ALL_COMMANDS, FLAG_ALL_KEYS, PERM_READ, PERM_WRITE,
};
use crate::store::{Acl, UserId};
use crate::user::User;

/// A key the command touches, as its key spec says (COMMAND GETKEYSANDFLAGS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRef<'a> {
    /// Index of the key in argv (command name = 0).
    pub pos: usize,
    /// The key.
    pub name: &'a [u8],
    /// The key spec has `access` (the value is read or returned).
    pub read: bool,
    /// The key spec has `insert`, `delete` or `update`.
    pub write: bool,
}

/// A channel the command publishes or subscribes to (unsubscribing is never checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelRef<'a> {
    /// Index in argv.
    pub pos: usize,
    /// The channel (or pattern).
    pub name: &'a [u8],
    /// PSUBSCRIBE: the argument is a pattern, matched literally against the user's patterns.
    pub pattern: bool,
}

/// What the server resolved about one command call.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The command, or the subcommand for a container.
    pub command: AclCommandId,
    /// The argument after the command name (after the subcommand for a subcommand), for `+cmd|arg` rules.
    pub first_arg: Option<&'a [u8]>,
    /// Keys from the key specs.
    pub keys: &'a [KeyRef<'a>],
    /// Channels published or subscribed to.
    pub channels: &'a [ChannelRef<'a>],
}

/// Why a command was refused. Ordered as Redis's codes: the highest wins when selectors disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DenialReason {
    /// The command (or subcommand) is not allowed.
    Command,
    /// A key is not allowed.
    Key,
    /// Authentication failed (ACL LOG only).
    Auth,
    /// A channel is not allowed.
    Channel,
}

impl DenialReason {
    /// ACL LOG's `reason` field.
    pub fn name(self) -> &'static str {
        match self {
            DenialReason::Command => "command",
            DenialReason::Key => "key",
            DenialReason::Auth => "auth",
            DenialReason::Channel => "channel",
        }
    }

    /// Redis's `getAclErrorMessage` (scripts prefix "The user executing the script ").
    pub fn short_message(self) -> &'static str {
        match self {
            DenialReason::Command => "can't run this command or subcommand",
            DenialReason::Key => {
                "can't access at least one of the keys mentioned in the command arguments"
            }
            DenialReason::Channel => "can't publish to the channel mentioned in the command",
            DenialReason::Auth => "lacking the permissions for the command",
        }
    }
}

/// A refusal: why, and what (the command's full name, or the key or channel argument).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// Why.
    pub reason: DenialReason,
    /// argv index of the key or channel (0 for a command denial).
    pub pos: usize,
    /// ACL LOG's `object`: the command's full name, the key or the channel.
    pub object: Vec<u8>,
}

impl Denial {
    /// The error reply for a command refused at the top level or while queueing in MULTI (without the
    /// leading `-`): `NOPERM this user has no permissions to run the 'get' command`.
    pub fn message(&self) -> Vec<u8> {
        match self.reason {
            DenialReason::Command => {
                let mut out = b"NOPERM this user has no permissions to run the '".to_vec();
                out.extend_from_slice(&self.object);
                out.extend_from_slice(b"' command");
                out
            }
            DenialReason::Key => b"NOPERM this user has no permissions to access one of the keys used as arguments".to_vec(),
            DenialReason::Channel => {
                b"NOPERM this user has no permissions to access one of the channels used as arguments".to_vec()
            }
            DenialReason::Auth => b"no permission".to_vec(),
        }
    }

    /// The error for a queued command refused at EXEC time (the rules changed meanwhile).
    pub fn exec_message(&self) -> String {
        let reason = match self.reason {
            DenialReason::Command => "no permission to execute the command or subcommand",
            DenialReason::Key => "no permission to touch the specified keys",
            DenialReason::Channel => {
                "no permission to access one of the channels used as arguments"
            }
            DenialReason::Auth => "no permission",
        };
        format!(
            "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. \
             This command is no longer allowed for the following reason: {reason}"
        )
    }

    /// The error a script's `redis.call` gets (the scripting layer adds its own prefix/suffix).
    pub fn script_message(&self) -> String {
        format!(
            "The user executing the script {}",
            self.reason.short_message()
        )
    }

    /// ACL DRYRUN's bulk reply for a refusal.
    pub fn dryrun_message(&self) -> Vec<u8> {
        let (head, tail): (&[u8], &[u8]) = match self.reason {
            DenialReason::Command => (b"This user has no permissions to run the '", b"' command"),
            DenialReason::Key => (b"This user has no permissions to access the '", b"' key"),
            _ => (
                b"This user has no permissions to access the '",
                b"' channel",
            ),
        };
        [head, &self.object, tail].concat()
    }
}

/// Every selector flag a `~* &* +@all` selector has: such a root selector allows everything.
const FAST_PATH_FLAGS: u8 = FLAG_ALL_COMMANDS | FLAG_ALL_KEYS | FLAG_ALL_CHANNELS;

fn key_allowed(selector: &Selector, key: &KeyRef<'_>) -> bool {
    let wanted = if key.read { PERM_READ } else { 0 } | if key.write { PERM_WRITE } else { 0 };
    selector
        .patterns
        .iter()
        .any(|p| p.flags & wanted == wanted && glob::matches(&p.pattern, key.name))
}

fn channel_allowed(patterns: &[Vec<u8>], channel: &[u8], is_pattern: bool) -> bool {
    patterns.iter().any(|p| {
        if is_pattern {
            p.as_slice() == channel
        } else {
            glob::matches(p, channel)
        }
    })
}

/// One selector's verdict: `None` = allowed, else the reason and argv position.
fn check_selector(
    catalog: &CommandCatalog,
    selector: &Selector,
    request: &Request<'_>,
) -> Option<(DenialReason, usize)> {
    let id = request.command;
    if selector.flags & FLAG_ALL_COMMANDS == 0
        && !catalog.entry(id).no_auth
        && !selector.command_bit(id)
    {
        let first_args = selector.first_args_of(id);
        let allowed = request
            .first_arg
            .is_some_and(|arg| first_args.iter().any(|a| a.eq_ignore_ascii_case(arg)));
        if !allowed {
            return Some((DenialReason::Command, 0));
        }
    }
    if selector.flags & FLAG_ALL_KEYS == 0 {
        if let Some(key) = request.keys.iter().find(|k| !key_allowed(selector, k)) {
            return Some((DenialReason::Key, key.pos));
        }
    }
    if selector.flags & FLAG_ALL_CHANNELS == 0 {
        if let Some(channel) = request
            .channels
            .iter()
            .find(|c| !channel_allowed(&selector.channels, c.name, c.pattern))
        {
            return Some((DenialReason::Channel, channel.pos));
        }
    }
    None
}

impl Acl {
    /// Whether `user` may run `request`. A user whose root selector is `~* &* +@all` passes on one flag
    /// test. A deleted user is refused on the command.
    pub fn check(&self, user: UserId, request: &Request<'_>) -> Result<(), Denial> {
        let Some(user) = self.user(user) else {
            return Err(self.denial(request, DenialReason::Command, 0));
        };
        if user.selectors[0].flags & FAST_PATH_FLAGS == FAST_PATH_FLAGS {
            return Ok(());
        }
        self.check_user(user, request)
    }

    /// Whether `user` may run anything with any key and channel (root selector `~* &* +@all`): the server
    /// then skips key and channel extraction and [`Acl::check`] altogether.
    pub fn unrestricted(&self, user: UserId) -> bool {
        self.user(user)
            .is_some_and(|u| u.selectors[0].flags & FAST_PATH_FLAGS == FAST_PATH_FLAGS)
    }

    /// Whether a check for `user` looks at keys (some selector lacks `allkeys`): when not, the server may
    /// pass no keys and skip the key-spec evaluation.
    pub fn needs_keys(&self, user: UserId) -> bool {
        self.user(user)
            .is_none_or(|u| u.selectors.iter().any(|s| s.flags & FLAG_ALL_KEYS == 0))
    }

    /// Whether a check for `user` looks at channels (some selector lacks `allchannels`).
    pub fn needs_channels(&self, user: UserId) -> bool {
        self.user(user)
            .is_none_or(|u| u.selectors.iter().any(|s| s.flags & FLAG_ALL_CHANNELS == 0))
    }

    /// [`Acl::check`] for a [`User`] directly.
    pub fn check_user(&self, user: &User, request: &Request<'_>) -> Result<(), Denial> {
        let mut relevant = (DenialReason::Command, 0);
        for selector in &user.selectors {
            match check_selector(&self.catalog, selector, request) {
                None => return Ok(()),
                Some(verdict) => {
                    if verdict.0 > relevant.0 || (verdict.0 == relevant.0 && verdict.1 > relevant.1)
                    {
                        relevant = verdict;
                    }
                }
            }
        }
        Err(self.denial(request, relevant.0, relevant.1))
    }

    fn denial(&self, request: &Request<'_>, reason: DenialReason, pos: usize) -> Denial {
        let object = match reason {
            DenialReason::Key => request.keys.iter().find(|k| k.pos == pos).map(|k| k.name),
            DenialReason::Channel => request
                .channels
                .iter()
                .find(|c| c.pos == pos)
                .map(|c| c.name),
            _ => None,
        };
        Denial {
            reason,
            pos,
            object: object
                .map(<[u8]>::to_vec)
                .unwrap_or_else(|| self.catalog.entry(request.command).name.as_bytes().to_vec()),
        }
    }

    /// Whether some selector of `user` allows `request` and reads any key (`allkeys`, or a `*` pattern with
    /// read permission): Redis's `ACLUserCheckCmdWithUnrestrictedKeyAccess`, which SORT's `BY` and `GET`
    /// options need. A deleted user has none.
    pub fn full_key_access(&self, user: UserId, request: &Request<'_>) -> bool {
        let Some(user) = self.user(user) else {
            return false;
        };
        user.selectors.iter().any(|s| {
            let unrestricted = s.flags & FLAG_ALL_KEYS != 0
                || s.patterns
                    .iter()
                    .any(|p| p.flags & PERM_READ != 0 && p.pattern.as_slice() == b"*");
            unrestricted && check_selector(&self.catalog, s, request).is_none()
        })
    }

    /// Whether some selector of `user` allows this key access (`ACLUserCheckKeyPerm`).
    pub fn key_allowed(&self, user: UserId, key: &[u8], read: bool, write: bool) -> bool {
        let key = KeyRef {
            pos: 0,
            name: key,
            read,
            write,
        };
        self.user(user).is_some_and(|u| {
            u.selectors
                .iter()
                .any(|s| s.flags & FLAG_ALL_KEYS != 0 || key_allowed(s, &key))
        })
    }

    /// Whether `user` may stay subscribed to `channel` (a pattern for PSUBSCRIBE): the test after ACL
    /// SETUSER reported [`crate::SetUserOutcome::recheck_subscriptions`] (`ACLUserCheckChannelPerm`).
    pub fn subscription_allowed(&self, user: UserId, channel: &[u8], is_pattern: bool) -> bool {
        self.user(user)
            .is_some_and(|u| user_channel_allowed(u, channel, is_pattern))
    }
}

fn user_channel_allowed(user: &User, channel: &[u8], is_pattern: bool) -> bool {
    user.selectors.iter().any(|s| {
        s.flags & FLAG_ALL_CHANNELS != 0 || channel_allowed(&s.channels, channel, is_pattern)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::test_catalog;

    fn acl_with(rules: &[&str]) -> (Acl, UserId) {
        let mut acl = Acl::new(test_catalog(), false);
        let rules: Vec<&[u8]> = rules.iter().map(|r| r.as_bytes()).collect();
        let id = acl.set_user(b"u", &rules).unwrap().id;
        (acl, id)
    }

    fn request<'a>(
        acl: &Acl,
        name: &str,
        first: Option<&'a [u8]>,
        keys: &'a [KeyRef<'a>],
        channels: &'a [ChannelRef<'a>],
    ) -> Request<'a> {
        Request {
            command: acl.catalog().get(name).unwrap(),
            first_arg: first,
            keys,
            channels,
        }
    }

    #[test]
    fn fast_path_user_passes_everything() {
        let acl = Acl::new(test_catalog(), false);
        let keys = [KeyRef {
            pos: 1,
            name: b"k",
            read: true,
            write: true,
        }];
        let channels = [ChannelRef {
            pos: 2,
            name: b"c",
            pattern: false,
        }];
        let req = request(&acl, "flushall", None, &keys, &channels);
        assert_eq!(acl.check(acl.default_user(), &req), Ok(()));
        assert!(acl.unrestricted(acl.default_user()));
        assert!(!acl.needs_keys(acl.default_user()) && !acl.needs_channels(acl.default_user()));
        let (acl, u) = acl_with(&["allkeys", "+@all", "(&a +get)"]);
        assert!(!acl.unrestricted(u));
        assert!(acl.needs_keys(u), "the selector has no keys");
        assert!(acl.needs_channels(u));
    }

    #[test]
    fn command_key_and_channel_denials() {
        let (acl, u) = acl_with(&[
            "+@read",
            "%R~r*",
            "~rw*",
            "&news.*",
            "+publish",
            "+select|0",
            "+config|get",
        ]);
        let k = |pos, name: &'static [u8], read, write| KeyRef {
            pos,
            name,
            read,
            write,
        };
        assert_eq!(
            acl.check(
                u,
                &request(&acl, "get", None, &[k(1, b"r1", true, false)], &[])
            ),
            Ok(())
        );
        let denial = acl
            .check(
                u,
                &request(&acl, "set", None, &[k(1, b"r1", false, true)], &[]),
            )
            .unwrap_err();
        assert_eq!(
            denial.message(),
            b"NOPERM this user has no permissions to run the 'set' command"
        );
        let keys = [k(1, b"rw1", true, false), k(2, b"r2", true, true)];
        let denial = acl
            .check(u, &request(&acl, "lrange", None, &keys, &[]))
            .unwrap_err();
        assert_eq!(
            (denial.reason, denial.pos, denial.object.as_slice()),
            (DenialReason::Key, 2, b"r2".as_slice())
        );
        assert_eq!(
            denial.dryrun_message(),
            b"This user has no permissions to access the 'r2' key"
        );
        let ch = [ChannelRef {
            pos: 1,
            name: b"other",
            pattern: false,
        }];
        let denial = acl
            .check(u, &request(&acl, "publish", None, &[], &ch))
            .unwrap_err();
        assert_eq!(denial.reason, DenialReason::Channel);
        let ch = [ChannelRef {
            pos: 1,
            name: b"news.*",
            pattern: true,
        }];
        assert_eq!(
            acl.check(u, &request(&acl, "publish", None, &[], &ch)),
            Ok(())
        );
        let ch = [ChannelRef {
            pos: 1,
            name: b"news.x*",
            pattern: true,
        }];
        assert!(
            acl.check(u, &request(&acl, "publish", None, &[], &ch))
                .is_err(),
            "patterns match literally"
        );
        assert_eq!(
            acl.check(u, &request(&acl, "select", Some(b"0"), &[], &[])),
            Ok(())
        );
        assert!(acl
            .check(u, &request(&acl, "select", Some(b"1"), &[], &[]))
            .is_err());
        assert_eq!(
            acl.check(u, &request(&acl, "config|get", None, &[], &[])),
            Ok(())
        );
        assert!(acl
            .check(u, &request(&acl, "config|set", None, &[], &[]))
            .is_err());
        assert_eq!(
            acl.check(u, &request(&acl, "auth", None, &[], &[])),
            Ok(()),
            "no_auth commands always run"
        );
    }

    #[test]
    fn selectors_and_denial_choice() {
        let (acl, u) = acl_with(&["~a", "+get", "(~b +set)", "(&c +publish)"]);
        let k = |pos, name: &'static [u8]| KeyRef {
            pos,
            name,
            read: true,
            write: false,
        };
        assert_eq!(
            acl.check(u, &request(&acl, "get", None, &[k(1, b"a")], &[])),
            Ok(())
        );
        assert_eq!(
            acl.check(u, &request(&acl, "set", None, &[k(1, b"b")], &[])),
            Ok(())
        );
        // Root denies the key at 1, the first selector the command: the key wins (higher code).
        let denial = acl
            .check(u, &request(&acl, "set", None, &[k(1, b"a")], &[]))
            .unwrap_err();
        assert_eq!((denial.reason, denial.pos), (DenialReason::Key, 1));
        let denial = acl
            .check(u, &request(&acl, "lpush", None, &[k(1, b"a")], &[]))
            .unwrap_err();
        assert_eq!(denial.object, b"lpush");
        let gone = {
            let mut acl = acl_with(&["+get"]).0;
            let id = acl.user_id(b"u").unwrap();
            acl.delete_users(&[b"u"]).unwrap();
            acl.check(id, &request(&acl, "get", None, &[], &[]))
                .unwrap_err()
                .reason
        };
        assert_eq!(gone, DenialReason::Command);
        assert!(acl.key_allowed(u, b"b", false, true));
        assert!(!acl.key_allowed(u, b"z", true, false));
        assert!(acl.subscription_allowed(u, b"c", false));
        assert!(!acl.subscription_allowed(u, b"d", false));
    }

    #[test]
    fn full_key_access_needs_an_all_keys_selector_that_allows_the_command() {
        let (acl, u) = acl_with(&["~a*", "+get", "(%R~* +set)"]);
        let get = request(&acl, "get", None, &[], &[]);
        let set = request(&acl, "set", None, &[], &[]);
        assert!(!acl.full_key_access(u, &get), "root has ~a* only");
        assert!(
            acl.full_key_access(u, &set),
            "the selector reads * and allows set"
        );
        let (acl, u) = acl_with(&["%W~*", "+get"]);
        assert!(!acl.full_key_access(u, &request(&acl, "get", None, &[], &[])));
        let acl = Acl::new(test_catalog(), false);
        let get = request(&acl, "get", None, &[], &[]);
        assert!(acl.full_key_access(acl.default_user(), &get));
    }

    #[test]
    fn revoking_channels_asks_for_a_recheck() {
        let mut acl = acl_with(&["&a", "&b"]).0;
        assert!(!acl.set_user(b"u", &[b"&c"]).unwrap().recheck_subscriptions);
        assert!(
            acl.set_user(b"u", &[b"resetchannels", b"&a"])
                .unwrap()
                .recheck_subscriptions
        );
        assert!(
            !acl.set_user(b"u", &[b"allchannels"])
                .unwrap()
                .recheck_subscriptions
        );
        assert!(
            acl.set_user(b"u", &[b"resetchannels"])
                .unwrap()
                .recheck_subscriptions
        );
    }
}
