//! Access control in the one command path: the ACL engine (`zedis-acl`) in the engine half, each client's
//! user, and the checks Redis's `ACLCheckAllPerm` makes for a command at the top level, in MULTI (when
//! queued and again at EXEC), and for a script's `redis.call`.
//!
//! - The ACL's command universe is filled from the command table at startup, rows in table order, so
//!   `+cmd`, `+cmd|sub`, `+@category` and ACL CAT speak of exactly the commands Zedis runs.
//! - A user whose root selector is `~* &* +@all` (the `default` user unless changed) passes on one flag test:
//!   no key or channel extraction happens for it.
//! - Otherwise keys come from the key specs (`command_meta::keys_with_flags`, COMMAND GETKEYSANDFLAGS's
//!   extraction; `access` = read, `insert`/`delete`/`update` = write) and channels from the pub/sub
//!   arguments (PUBLISH/SPUBLISH's channel, (S|P)SUBSCRIBE's arguments; unsubscribing is never checked).
//! - A denial is logged in ACL LOG with Redis's fields and answered with Redis's `-NOPERM` texts.
//! - The ACL's bytes (users, patterns, the catalog, the log) are charged to the budget as
//!   `Component::Other` and shown as INFO memory's `used_memory_acl`.

use crate::server::Core;
use crate::table::{Command, Table, NO_AUTH};
use crate::Strategy;
use zedis_acl::{
    parse_categories, Acl, AclCommandId, AclLog, ChannelRef, CommandCatalog, Denial, KeyRef,
    LogContext, LogEntry, Request, UserId,
};
use zedis_budget::{Component, GlobalBudget};
use zedis_client_pool::ClientSlots;

/// Which arguments of a command are pub/sub channels (Redis's `commands_with_channels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChannelArgs {
    /// None.
    None,
    /// The first argument (PUBLISH, SPUBLISH).
    Publish,
    /// Every argument (SUBSCRIBE, SSUBSCRIBE).
    Subscribe,
    /// Every argument, as patterns (PSUBSCRIBE).
    PatternSubscribe,
}

/// How the ACL check finds a command's keys, decided once per table row at startup.
#[derive(Debug, Clone)]
enum KeyPlan {
    /// No key specs (or no documentation): no keys.
    None,
    /// Index + range specs only: positions by arithmetic.
    Ranges(Box<[crate::command_meta::RangeSpec]>),
    /// Keyword or key-count specs, variable flags, SORT: the key-spec walk of COMMAND GETKEYSANDFLAGS.
    Specs,
}

impl KeyPlan {
    fn of(name: &str) -> KeyPlan {
        if name == "sort" || name == "sort_ro" {
            return KeyPlan::Specs;
        }
        match crate::command_meta::lookup(name) {
            None => KeyPlan::None,
            Some(docs) => match crate::command_meta::range_specs(docs) {
                Some(specs) if specs.is_empty() => KeyPlan::None,
                Some(specs) => KeyPlan::Ranges(specs.into_boxed_slice()),
                None => KeyPlan::Specs,
            },
        }
    }
}

/// The ACL state of the server.
pub struct Access {
    /// The users.
    pub acl: Acl,
    /// ACL LOG.
    pub log: AclLog,
    /// The ACL command id of each table row: `ids[top][0]` the command, `ids[top][n]` its subcommand `n`.
    ids: Vec<Vec<AclCommandId>>,
    /// How to find each table row's keys, parallel to `ids`.
    key_plans: Vec<Vec<KeyPlan>>,
    /// Table indexes of SORT and SORT_RO, whose `BY` and `GET` options need full key access.
    sort_tops: Vec<usize>,
    /// Channel arguments per ACL command id (dense).
    channels: Vec<ChannelArgs>,
    /// Bytes charged to the budget (`Component::Other`).
    charged_bytes: usize,
    /// The `requirepass` value last mapped onto the default user (`None` before startup).
    pub requirepass_applied: Option<String>,
}

impl Access {
    /// The ACL over `table`'s commands, with only the `default` user.
    pub fn new<S: Strategy>(table: &Table<S>) -> Access {
        let mut catalog = CommandCatalog::new();
        let mut ids = Vec::with_capacity(table.all().len());
        let mut key_plans = Vec::with_capacity(table.all().len());
        let mut channels = Vec::new();
        for cmd in table.all() {
            let Ok(id) = catalog.add_command(cmd.name, parse_categories(cmd.acl), cmd.has(NO_AUTH))
            else {
                continue;
            };
            let mut row = vec![id];
            let mut plans = vec![KeyPlan::of(cmd.name)];
            channels.push(channel_args(cmd.name));
            for sub in &cmd.subcommands {
                if let Ok(sub_id) = catalog.add_subcommand(
                    id,
                    sub.name,
                    parse_categories(sub.acl),
                    sub.has(NO_AUTH),
                ) {
                    row.push(sub_id);
                    plans.push(KeyPlan::of(sub.name));
                    channels.push(ChannelArgs::None);
                }
            }
            ids.push(row);
            key_plans.push(plans);
        }
        for &(name, categories, no_auth) in crate::acl_absent::ABSENT_COMMANDS {
            let categories = parse_categories(categories);
            let added = match name.split_once('|') {
                Some((parent, _)) => catalog
                    .get(parent)
                    .and_then(|p| catalog.add_subcommand(p, name, categories, no_auth).ok()),
                None => catalog.add_command(name, categories, no_auth).ok(),
            };
            if added.is_some() {
                channels.push(ChannelArgs::None);
            }
        }
        Access {
            acl: Acl::new(catalog, false),
            log: AclLog::default(),
            ids,
            key_plans,
            sort_tops: table
                .all()
                .iter()
                .filter(|c| c.name == "sort" || c.name == "sort_ro")
                .map(|c| c.id.top())
                .collect(),
            channels,
            charged_bytes: 0,
            requirepass_applied: None,
        }
    }

    /// The ACL id of a table row.
    pub fn command_id<S: Strategy>(&self, cmd: &Command<S>) -> Option<AclCommandId> {
        self.ids.get(cmd.id.top())?.get(cmd.id.sub()).copied()
    }

    /// Bytes held: users, catalog and log.
    pub fn bytes(&self) -> usize {
        self.acl.bytes()
            + self.log.bytes()
            + self
                .ids
                .iter()
                .map(|r| r.capacity() * 2 + 24)
                .sum::<usize>()
            + self.channels.capacity()
    }

    /// The bytes charged to the budget.
    pub fn charged_bytes(&self) -> usize {
        self.charged_bytes
    }

    /// Whether `user` may run `cmd` with `argv` (the full command, name first).
    pub fn check<S: Strategy>(
        &self,
        user: UserId,
        cmd: &Command<S>,
        argv: &[&[u8]],
    ) -> Result<(), Denial> {
        if self.acl.unrestricted(user) {
            return Ok(());
        }
        let Some(command) = self.command_id(cmd) else {
            return Ok(());
        };
        let is_sub = cmd.id.sub() != 0;
        let first_arg = argv.get(if is_sub { 2 } else { 1 }).copied();
        let key_refs = if self.acl.needs_keys(user) {
            self.keys_of(cmd, argv)
        } else {
            Vec::new()
        };
        let channel_refs = if self.acl.needs_channels(user) {
            self.channels_of(command, argv)
        } else {
            Vec::new()
        };
        self.acl.check(
            user,
            &Request {
                command,
                first_arg,
                keys: &key_refs,
                channels: &channel_refs,
            },
        )
    }

    /// SORT's refusal of `BY <pattern with *>` and `GET` for a user without full key access (Redis's
    /// `sortCommandGeneric`), found by walking the options as SORT parses them: `None` to run the command
    /// (a malformed option is left to SORT's own error).
    pub fn sort_refusal<S: Strategy>(
        &self,
        user: UserId,
        cmd: &Command<S>,
        argv: &[&[u8]],
    ) -> Option<&'static [u8]> {
        if cmd.id.sub() != 0
            || !self.sort_tops.contains(&cmd.id.top())
            || self.acl.unrestricted(user)
        {
            return None;
        }
        let full = || {
            let Some(command) = self.command_id(cmd) else {
                return true;
            };
            let keys = self.keys_of(cmd, argv);
            let request = Request {
                command,
                first_arg: argv.get(1).copied(),
                keys: &keys,
                channels: &[],
            };
            self.acl.full_key_access(user, &request)
        };
        let store_allowed = !cmd.has(crate::table::READONLY);
        let mut j = 2;
        while j < argv.len() {
            let left = argv.len() - j - 1;
            let arg = argv[j];
            let is = |word: &[u8]| arg.eq_ignore_ascii_case(word);
            if is(b"asc") || is(b"desc") || is(b"alpha") {
            } else if is(b"limit") && left >= 2 {
                let int = |a: &[u8]| zedis_keyspace::num::parse_i64_exact(a).is_some();
                if !int(argv[j + 1]) || !int(argv[j + 2]) {
                    return None;
                }
                j += 2;
            } else if store_allowed && is(b"store") && left >= 1 {
                j += 1;
            } else if is(b"by") && left >= 1 {
                if argv[j + 1].contains(&b'*') && !full() {
                    return Some(
                        b"ERR BY option of SORT denied due to insufficient ACL permissions.",
                    );
                }
                j += 1;
            } else if is(b"get") && left >= 1 {
                if !full() {
                    return Some(
                        b"ERR GET option of SORT denied due to insufficient ACL permissions.",
                    );
                }
                j += 1;
            } else {
                return None;
            }
            j += 1;
        }
        None
    }

    /// The keys of `argv` for `cmd`, by its [`KeyPlan`].
    fn keys_of<'a, S: Strategy>(&self, cmd: &Command<S>, argv: &[&'a [u8]]) -> Vec<KeyRef<'a>> {
        let plan = self
            .key_plans
            .get(cmd.id.top())
            .and_then(|row| row.get(cmd.id.sub()));
        match plan {
            None | Some(KeyPlan::None) => Vec::new(),
            Some(KeyPlan::Specs) => keys_from_specs(cmd.name, argv),
            Some(KeyPlan::Ranges(specs)) => {
                let mut found = Vec::with_capacity(4);
                crate::command_meta::range_keys(specs, argv.len(), &mut found);
                found
                    .into_iter()
                    .map(|(pos, read, write)| KeyRef {
                        pos,
                        name: argv[pos],
                        read,
                        write,
                    })
                    .collect()
            }
        }
    }

    fn channels_of<'a>(&self, command: AclCommandId, argv: &[&'a [u8]]) -> Vec<ChannelRef<'a>> {
        let kind = self
            .channels
            .get(command.index())
            .copied()
            .unwrap_or(ChannelArgs::None);
        let (range, pattern) = match kind {
            ChannelArgs::None => return Vec::new(),
            ChannelArgs::Publish => (1..2.min(argv.len()), false),
            ChannelArgs::Subscribe => (1..argv.len(), false),
            ChannelArgs::PatternSubscribe => (1..argv.len(), true),
        };
        range
            .map(|pos| ChannelRef {
                pos,
                name: argv[pos],
                pattern,
            })
            .collect()
    }
}

/// The channel arguments of a command, decided once per catalog row at startup.
fn channel_args(name: &str) -> ChannelArgs {
    match name {
        "publish" | "spublish" => ChannelArgs::Publish,
        "subscribe" | "ssubscribe" => ChannelArgs::Subscribe,
        "psubscribe" => ChannelArgs::PatternSubscribe,
        _ => ChannelArgs::None,
    }
}

/// The keys of `argv` with their read/write access, from the key specs (COMMAND GETKEYSANDFLAGS).
fn keys_from_specs<'a>(name: &str, argv: &[&'a [u8]]) -> Vec<KeyRef<'a>> {
    let found = crate::command_meta::procedure_keys(name, argv).or_else(|| {
        let docs = crate::command_meta::lookup(name)?;
        crate::command_meta::keys_with_flags(name, docs, argv)
    });
    found
        .unwrap_or_default()
        .into_iter()
        .filter(|(pos, _)| *pos < argv.len())
        .map(|(pos, flags)| KeyRef {
            pos,
            name: argv[pos],
            read: flags.has_flag("access"),
            write: flags.has_flag("insert") || flags.has_flag("delete") || flags.has_flag("update"),
        })
        .collect()
}

impl<S: Strategy> Core<S> {
    /// The user of client `ck` (`default` for a vanished client).
    pub fn client_user(&self, ck: usize) -> UserId {
        self.clients
            .get(ck)
            .and_then(|c| c.user)
            .unwrap_or_else(|| self.engine.access.acl.default_user())
    }

    /// The name of `user` (empty once deleted).
    pub fn user_name(&self, user: Option<UserId>) -> Vec<u8> {
        let acl = &self.engine.access.acl;
        acl.user(user.unwrap_or_else(|| acl.default_user()))
            .map_or_else(Vec::new, |u| u.name().to_vec())
    }

    /// The ACL check of client `ck` running `cmd`: `Ok` or the denial, already logged in ACL LOG with
    /// `context`.
    pub fn acl_check(
        &mut self,
        ck: usize,
        cmd: &Command<S>,
        argv: &[&[u8]],
        context: LogContext,
    ) -> Result<(), Denial> {
        let user = self.client_user(ck);
        let denial = match self.engine.access.check(user, cmd, argv) {
            Ok(()) => return Ok(()),
            Err(denial) => denial,
        };
        let username = self.user_name(Some(user));
        self.acl_log(ck, &denial, context, username);
        Err(denial)
    }

    /// Adds an ACL LOG entry for client `ck`.
    pub fn acl_log(&mut self, ck: usize, denial: &Denial, context: LogContext, username: Vec<u8>) {
        let client_info = crate::clients::client_info_line(self, ck).into_bytes();
        self.engine.access.log.add(LogEntry {
            count: 1,
            reason: denial.reason,
            context,
            object: denial.object.clone(),
            username,
            time_ms: crate::server::unix_ms() as u64,
            client_info,
        });
        self.access_recharge();
    }

    /// Charges the ACL's bytes to the budget when they changed.
    pub fn access_recharge(&mut self) {
        let bytes = self.engine.access.bytes();
        let charged = self.engine.access.charged_bytes;
        if bytes > charged {
            self.budget.reserve(Component::Other, bytes - charged);
        } else {
            self.budget.release(Component::Other, charged - bytes);
        }
        self.engine.access.charged_bytes = bytes;
    }

    /// Whether a new connection (or one after RESET) starts authenticated: the default user is `nopass`
    /// and enabled (Redis's `authRequired`).
    pub fn default_user_open(&self) -> bool {
        let acl = &self.engine.access.acl;
        acl.user(acl.default_user())
            .is_some_and(|u| u.nopass() && u.enabled())
    }

    /// Closes every client authenticated as one of `users` (deleted users, or replaced by ACL LOAD), as
    /// Redis's `ACLFreeUserAndKillClients`: the calling client `caller` gets its reply first.
    pub fn disconnect_users(&mut self, users: &[UserId], caller: usize) {
        if users.is_empty() {
            return;
        }
        for k in self.clients.keys() {
            let Some(client) = self.clients.get_mut(k) else {
                continue;
            };
            if client.user.is_some_and(|u| users.contains(&u)) {
                client.user = None;
                client.authenticated = false;
                crate::clients::close_later(self, k, caller);
            }
        }
    }

    /// After ACL SETUSER took channels away from `user`: closes its subscribed clients whose channels,
    /// patterns or shard channels are no longer allowed, as Redis's `ACLKillPubsubClientsIfNeeded`.
    pub fn disconnect_revoked_subscribers(&mut self, user: UserId, caller: usize) {
        let default = self.engine.access.acl.default_user();
        for k in self.clients.keys() {
            let Some(client) = self.clients.get(k) else {
                continue;
            };
            let subscribed = client.subscriptions + client.shard_subscriptions > 0;
            if !subscribed || client.user.unwrap_or(default) != user {
                continue;
            }
            let revoked = self.subscriptions_of(k).iter().any(|(kind, name)| {
                let pattern = *kind == zedis_pubsub::Kind::Pattern;
                !self
                    .engine
                    .access
                    .acl
                    .subscription_allowed(user, name, pattern)
            });
            if revoked {
                crate::clients::close_later(self, k, caller);
            }
        }
    }

    /// Client `ck`'s subscriptions, each kind in subscription order.
    fn subscriptions_of(&self, ck: usize) -> Vec<(zedis_pubsub::Kind, std::rc::Rc<[u8]>)> {
        use zedis_pubsub::{ClientId, Kind};
        let client = ClientId(ck as u64);
        [Kind::Channel, Kind::Pattern, Kind::ShardChannel]
            .into_iter()
            .flat_map(|kind| {
                let names = self.engine.pubsub.subscriptions(kind, client);
                names.into_iter().map(move |name| (kind, name))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Handler;

    type S = crate::Chosen<
        zedis_kv_pool::SystemAlloc,
        zedis_arena::HeapAlloc,
        zedis_client_pool::HeapClients<crate::client::Client>,
    >;

    /// The range plan finds exactly the keys the key-spec walk finds, for every command with range specs,
    /// over argument counts from 1 to 9.
    #[test]
    fn range_plans_match_the_key_spec_walk() {
        let table: Table<S> = Table::new();
        let access = Access::new(&table);
        let words: Vec<Vec<u8>> = (0..10).map(|i| format!("a{i}").into_bytes()).collect();
        let mut checked = 0;
        for cmd in table.all() {
            let rows = std::iter::once(cmd).chain(cmd.subcommands.iter());
            for row in rows {
                if matches!(row.handler, Handler::Container) {
                    continue;
                }
                let plan = &access.key_plans[row.id.top()][row.id.sub()];
                if !matches!(plan, KeyPlan::Ranges(_)) {
                    continue;
                }
                for argc in 1..10 {
                    let argv: Vec<&[u8]> = words[..argc].iter().map(Vec::as_slice).collect();
                    assert_eq!(
                        access.keys_of(row, &argv),
                        keys_from_specs(row.name, &argv),
                        "{} with {argc} arguments",
                        row.name
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }
}
