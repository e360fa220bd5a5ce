//! The users of a server and the ACL commands that manage them (SETUSER, DELUSER, GETUSER, LIST, USERS,
//! CAT, GENPASS, AUTH), over a [`CommandCatalog`].

use std::collections::BTreeMap;

use crate::catalog::CommandCatalog;
use crate::category::{category_bit, CATEGORIES};
use crate::error::AclError;
use crate::split::merge_selector_args;
use crate::user::{User, UserInfo};

/// A handle on a user that stays valid while the user exists (a client keeps it). A deleted user's
/// handle never names another user: slots carry a generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId {
    index: u32,
    generation: u32,
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    user: Option<User>,
}

/// What ACL SETUSER did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetUserOutcome {
    /// The user (new or existing: clients authenticated as it see the new rules at once).
    pub id: UserId,
    /// Some channel permission was taken away: the server must close this user's pub/sub clients whose
    /// subscriptions [`crate::Acl::subscription_allowed`] now refuses (Redis's
    /// `ACLKillPubsubClientsIfNeeded`).
    pub recheck_subscriptions: bool,
}

/// Why AUTH failed (both reply `-WRONGPASS`; the server logs an `auth` entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No such user.
    NoSuchUser,
    /// Disabled user or wrong password.
    Refused,
}

/// All users. Invariant: the `default` user always exists, at [`Acl::default_user`].
#[derive(Debug)]
pub struct Acl {
    pub(crate) catalog: CommandCatalog,
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Name to slot, in byte order (Redis's rax order for ACL LIST / USERS / SAVE).
    names: BTreeMap<Vec<u8>, u32>,
    /// `acl-pubsub-default allchannels`.
    pub(crate) pubsub_all: bool,
}

const DEFAULT_USER: UserId = UserId {
    index: 0,
    generation: 0,
};

impl Acl {
    /// An ACL with only the `default` user (`on nopass ~* &* +@all`). `pubsub_all` is the
    /// `acl-pubsub-default` setting (`allchannels` = true; Redis 7.0's default is `resetchannels`).
    pub fn new(catalog: CommandCatalog, pubsub_all: bool) -> Acl {
        let mut acl = Acl {
            catalog,
            slots: Vec::new(),
            free: Vec::new(),
            names: BTreeMap::new(),
            pubsub_all,
        };
        let user = acl.default_user_rules(b"default");
        acl.slots.push(Slot {
            generation: 0,
            user: Some(user),
        });
        acl.names.insert(b"default".to_vec(), 0);
        acl
    }

    /// A user with the default user's creation rules.
    pub(crate) fn default_user_rules(&self, name: &[u8]) -> User {
        let mut user = User::new(name, self.pubsub_all);
        for rule in ["+@all", "~*", "&*", "on", "nopass"] {
            let _ = user.apply(&self.catalog, rule.as_bytes(), self.pubsub_all);
        }
        user
    }

    /// Changes `acl-pubsub-default` (`allchannels` = true): the channel rules new users start with. Existing
    /// users keep theirs, as in Redis.
    pub fn set_pubsub_default(&mut self, all: bool) {
        self.pubsub_all = all;
    }

    /// The catalog.
    pub fn catalog(&self) -> &CommandCatalog {
        &self.catalog
    }

    /// The `default` user's handle (new connections start as it).
    pub fn default_user(&self) -> UserId {
        DEFAULT_USER
    }

    /// The user behind a handle, `None` once deleted.
    pub fn user(&self, id: UserId) -> Option<&User> {
        let slot = self.slots.get(id.index as usize)?;
        (slot.generation == id.generation).then_some(slot.user.as_ref()?)
    }

    /// The user named `name`.
    pub fn user_id(&self, name: &[u8]) -> Option<UserId> {
        let index = *self.names.get(name)?;
        Some(UserId {
            index,
            generation: self.slots[index as usize].generation,
        })
    }

    pub(crate) fn users(&self) -> impl Iterator<Item = &User> {
        self.names
            .values()
            .filter_map(|&index| self.slots[index as usize].user.as_ref())
    }

    fn insert(&mut self, user: User) -> UserId {
        let name = user.name.clone();
        let index = match self.free.pop() {
            Some(index) => {
                let slot = &mut self.slots[index as usize];
                slot.generation = slot.generation.wrapping_add(1);
                slot.user = Some(user);
                index
            }
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    user: Some(user),
                });
                (self.slots.len() - 1) as u32
            }
        };
        self.names.insert(name, index);
        UserId {
            index,
            generation: self.slots[index as usize].generation,
        }
    }

    /// ACL SETUSER: applies `rules` to a copy of the user (a new one when it does not exist) and stores it
    /// only when every rule is valid.
    pub fn set_user(&mut self, name: &[u8], rules: &[&[u8]]) -> Result<SetUserOutcome, AclError> {
        if crate::selector::has_spaces(name) {
            return Err(AclError::UsernameHasSpaces);
        }
        let merged = merge_selector_args(rules).map_err(|(error, _)| error)?;
        let existing = self.user_id(name);
        let mut user = match existing.and_then(|id| self.user(id)) {
            Some(user) => user.clone(),
            None => User::new(name, self.pubsub_all),
        };
        for op in &merged {
            user.apply(&self.catalog, op, self.pubsub_all)
                .map_err(|kind| AclError::Rule {
                    modifier: op.clone(),
                    kind,
                })?;
        }
        match existing {
            Some(id) => {
                let slot = &mut self.slots[id.index as usize];
                let recheck = slot
                    .user
                    .as_ref()
                    .is_some_and(|old| channels_revoked(old, &user));
                slot.user = Some(user);
                Ok(SetUserOutcome {
                    id,
                    recheck_subscriptions: recheck,
                })
            }
            None => Ok(SetUserOutcome {
                id: self.insert(user),
                recheck_subscriptions: false,
            }),
        }
    }

    /// ACL DELUSER: removes the named users; returns the handles removed (the server closes their
    /// clients, Redis's `ACLFreeUserAndKillClients`). `default` cannot be removed (nothing is removed).
    pub fn delete_users(&mut self, names: &[&[u8]]) -> Result<Vec<UserId>, AclError> {
        if names.iter().any(|n| *n == b"default") {
            return Err(AclError::DefaultUserCannotBeRemoved);
        }
        let mut removed = Vec::new();
        for name in names {
            if let Some(id) = self.user_id(name) {
                self.remove(id);
                removed.push(id);
            }
        }
        Ok(removed)
    }

    fn remove(&mut self, id: UserId) {
        let slot = &mut self.slots[id.index as usize];
        if let Some(user) = slot.user.take() {
            self.names.remove(&user.name);
            self.free.push(id.index);
        }
    }

    /// Replaces every user but `default` (whose handle stays) by `users`; returns the handles that no
    /// longer exist (ACL LOAD: the server closes their clients).
    pub(crate) fn replace_all(&mut self, users: Vec<User>) -> Vec<UserId> {
        let old: Vec<UserId> = self
            .names
            .keys()
            .filter(|n| n.as_slice() != b"default")
            .filter_map(|n| self.user_id(n))
            .collect();
        for &id in &old {
            self.remove(id);
        }
        for user in users {
            if user.name == b"default" {
                self.slots[0].user = Some(user);
            } else {
                self.insert(user);
            }
        }
        old
    }

    /// ACL GETUSER.
    pub fn get_user(&self, name: &[u8]) -> Option<UserInfo> {
        Some(self.user(self.user_id(name)?)?.info(&self.catalog))
    }

    /// ACL LIST: `user <name> <rules>` per user, in name order.
    pub fn list(&self) -> Vec<Vec<u8>> {
        self.users()
            .map(|user| {
                let mut line = b"user ".to_vec();
                line.extend_from_slice(&user.name);
                line.push(b' ');
                line.extend_from_slice(&user.describe(&self.catalog));
                line
            })
            .collect()
    }

    /// ACL USERS: the names, in order.
    pub fn usernames(&self) -> Vec<&[u8]> {
        self.names.keys().map(Vec::as_slice).collect()
    }

    /// AUTH / HELLO AUTH: the user when it is enabled and the password matches.
    pub fn authenticate(&self, name: &[u8], password: &[u8]) -> Result<UserId, AuthFailure> {
        let id = self.user_id(name).ok_or(AuthFailure::NoSuchUser)?;
        match self.user(id) {
            Some(user) if user.enabled() && user.password_matches(password) => Ok(id),
            _ => Err(AuthFailure::Refused),
        }
    }

    /// `requirepass`: `Some(password)` makes it the default user's only password, `None` makes the default
    /// user `nopass` (`ACLUpdateDefaultUserPassword`).
    pub fn set_default_password(&mut self, password: Option<&[u8]>) {
        let pubsub_all = self.pubsub_all;
        if let Some(user) = self.slots[0].user.as_mut() {
            let _ = user.apply(&self.catalog, b"resetpass", pubsub_all);
            let rule = match password {
                Some(password) => [b">".as_slice(), password].concat(),
                None => b"nopass".to_vec(),
            };
            let _ = user.apply(&self.catalog, &rule, pubsub_all);
        }
    }

    /// ACL CAT without argument: the category names.
    pub fn categories(&self) -> &'static [&'static str] {
        &CATEGORIES
    }

    /// ACL CAT <category>: the commands in it (full names, catalog order).
    pub fn category_commands(&self, category: &[u8]) -> Result<Vec<&str>, AclError> {
        let bit =
            category_bit(category).ok_or_else(|| AclError::UnknownCategory(category.to_vec()))?;
        Ok(self.catalog.names_in_category(bit))
    }

    /// Heap bytes held by users and the catalog.
    pub fn bytes(&self) -> usize {
        let users: usize = self.users().map(User::bytes).sum();
        let names: usize = self.names.keys().map(|n| n.capacity() + 48).sum();
        users + names + self.slots.capacity() * std::mem::size_of::<Slot>() + self.catalog.bytes()
    }
}

/// ACL GENPASS [bits]: `bits` random bits as lowercase hex, rounded up to whole hex digits.
pub fn genpass(bits: i64) -> Result<String, AclError> {
    const GENPASS_BITS_MAX: i64 = 4096;
    if bits <= 0 || bits > GENPASS_BITS_MAX {
        return Err(AclError::GenpassBits);
    }
    let chars = ((bits + 3) / 4) as usize;
    let mut random = vec![0u8; chars.div_ceil(2)];
    getrandom::getrandom(&mut random).map_err(|_| AclError::Random)?;
    let mut out = String::with_capacity(chars + 1);
    for byte in random {
        out.push_str(&format!("{byte:02x}"));
    }
    out.truncate(chars);
    Ok(out)
}

/// Whether `new` may refuse a subscription `old` allowed (Redis's superset test: any all-channels
/// selector in `new` keeps everything; otherwise every channel of `old` must appear in `new`).
fn channels_revoked(old: &User, new: &User) -> bool {
    use crate::selector::FLAG_ALL_CHANNELS;
    if new
        .selectors
        .iter()
        .any(|s| s.flags & FLAG_ALL_CHANNELS != 0)
    {
        return false;
    }
    old.selectors.iter().any(|s| {
        s.flags & FLAG_ALL_CHANNELS != 0
            || s.channels
                .iter()
                .any(|c| !new.selectors.iter().any(|n| n.channels.contains(c)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::test_catalog;

    #[test]
    fn bytes_follow_users_and_rules() {
        let mut acl = Acl::new(test_catalog(), false);
        let empty = acl.bytes();
        acl.set_user(b"a", &[b"~pattern:*", b"&channel", b"+get", b"(~x +set)"])
            .unwrap();
        let one = acl.bytes();
        assert!(one > empty + 128, "{one} vs {empty}");
        acl.set_user(b"a", &[b"~another:pattern:that:is:long:*"])
            .unwrap();
        assert!(acl.bytes() > one);
        acl.delete_users(&[b"a"]).unwrap();
        assert!(acl.bytes() < one);
    }

    #[test]
    fn handles_do_not_outlive_users() {
        let mut acl = Acl::new(test_catalog(), false);
        let a = acl.set_user(b"a", &[b"on", b">pw"]).unwrap().id;
        assert_eq!(acl.authenticate(b"a", b"pw"), Ok(a));
        assert_eq!(acl.authenticate(b"a", b"no"), Err(AuthFailure::Refused));
        assert_eq!(acl.authenticate(b"zz", b"pw"), Err(AuthFailure::NoSuchUser));
        assert_eq!(acl.delete_users(&[b"a", b"zz"]).unwrap(), vec![a]);
        let b = acl.set_user(b"b", &[]).unwrap().id;
        assert!(
            acl.user(a).is_none(),
            "the slot was reused with a new generation"
        );
        assert_eq!(acl.user(b).map(User::name), Some(b"b".as_slice()));
        assert_eq!(
            acl.delete_users(&[b"default"]),
            Err(AclError::DefaultUserCannotBeRemoved)
        );
        acl.set_default_password(Some(b"secret"));
        assert_eq!(
            acl.authenticate(b"default", b"secret"),
            Ok(acl.default_user())
        );
        assert!(acl.authenticate(b"default", b"x").is_err());
        acl.set_default_password(None);
        assert!(acl.authenticate(b"default", b"x").is_ok());
        assert_eq!(
            acl.usernames(),
            vec![b"b".as_slice(), b"default".as_slice()]
        );
    }
}
