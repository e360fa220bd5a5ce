//! A user: flags, password hashes and selectors, and the rules that change them (Redis's `ACLSetUser`).

use sha2::{Digest, Sha256};

use crate::catalog::CommandCatalog;
use crate::describe::{channels_field, command_rules, keys_field, selector_rules};
use crate::error::RuleErrorKind;
use crate::selector::{Selector, FLAG_ALL_CHANNELS, FLAG_ROOT};
use crate::split::split_args;

/// May authenticate.
pub(crate) const USER_ON: u8 = 1 << 0;
/// May not authenticate.
pub(crate) const USER_OFF: u8 = 1 << 1;
/// Any password works.
pub(crate) const USER_NOPASS: u8 = 1 << 2;
/// RESTORE payloads are deep-sanitized.
pub(crate) const USER_SANITIZE: u8 = 1 << 3;
/// RESTORE payloads skip deep sanitization.
pub(crate) const USER_SKIP_SANITIZE: u8 = 1 << 4;

/// Flag names in the order Redis emits them.
const FLAG_NAMES: [(u8, &str); 5] = [
    (USER_ON, "on"),
    (USER_OFF, "off"),
    (USER_NOPASS, "nopass"),
    (USER_SKIP_SANITIZE, "skip-sanitize-payload"),
    (USER_SANITIZE, "sanitize-payload"),
];

/// A password hash: SHA-256 as 64 lowercase hex digits.
pub type PasswordHash = [u8; 64];

/// SHA-256 of `password` as lowercase hex (`ACLHashPassword`).
pub fn hash_password(password: &[u8]) -> PasswordHash {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(password);
    let mut out = [0u8; 64];
    for (idx, byte) in digest.iter().enumerate() {
        out[idx * 2] = HEX[usize::from(byte >> 4)];
        out[idx * 2 + 1] = HEX[usize::from(byte & 0xf)];
    }
    out
}

fn parse_hash(hash: &[u8]) -> Result<PasswordHash, RuleErrorKind> {
    if hash.len() != 64
        || !hash
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return Err(RuleErrorKind::BadHash);
    }
    let mut out = [0u8; 64];
    out.copy_from_slice(hash);
    Ok(out)
}

/// One selector as ACL GETUSER shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorInfo {
    /// The command rules (`-@all +get`).
    pub commands: Vec<u8>,
    /// Key patterns (`~*`, `~a %R~b`, or empty).
    pub keys: Vec<u8>,
    /// Channel patterns (`&*`, `&a &b`, or empty).
    pub channels: Vec<u8>,
}

/// ACL GETUSER's reply, field by field (reply order: flags, passwords, commands, keys, channels,
/// selectors; `flags` is a set in RESP3, each selector a map).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// Flag names in Redis's order.
    pub flags: Vec<&'static str>,
    /// Password hashes, hex.
    pub passwords: Vec<Vec<u8>>,
    /// The root selector (top-level `commands`, `keys`, `channels`).
    pub root: SelectorInfo,
    /// The other selectors.
    pub selectors: Vec<SelectorInfo>,
}

/// A user. Invariant: `selectors[0]` is the root selector (`FLAG_ROOT`), and no other has that flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub(crate) name: Vec<u8>,
    pub(crate) flags: u8,
    pub(crate) passwords: Vec<PasswordHash>,
    pub(crate) selectors: Vec<Selector>,
}

impl User {
    /// A new user as Redis creates one: off, no passwords, no permissions (`pubsub_all`: the
    /// `acl-pubsub-default allchannels` setting).
    pub(crate) fn new(name: &[u8], pubsub_all: bool) -> User {
        User {
            name: name.to_vec(),
            flags: USER_OFF,
            passwords: Vec::new(),
            selectors: vec![Selector::new(FLAG_ROOT | pubsub_default(pubsub_all))],
        }
    }

    /// The name.
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// Whether the user may authenticate (`on`).
    pub fn enabled(&self) -> bool {
        self.flags & USER_OFF == 0
    }

    /// Whether any password works (`nopass`).
    pub fn nopass(&self) -> bool {
        self.flags & USER_NOPASS != 0
    }

    /// Whether `password` authenticates this user (ignores on/off). Compares hashes in constant time.
    pub fn password_matches(&self, password: &[u8]) -> bool {
        if self.nopass() {
            return true;
        }
        let hashed = hash_password(password);
        let mut found = false;
        for stored in &self.passwords {
            let diff = stored
                .iter()
                .zip(hashed.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            found |= diff == 0;
        }
        found
    }

    /// Applies one rule (`ACLSetUser`). On error the user may be half-changed: callers work on a copy.
    pub(crate) fn apply(
        &mut self,
        catalog: &CommandCatalog,
        op: &[u8],
        pubsub_all: bool,
    ) -> Result<(), RuleErrorKind> {
        let is = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
        if op.is_empty() {
        } else if is("on") {
            self.flags = (self.flags | USER_ON) & !USER_OFF;
        } else if is("off") {
            self.flags = (self.flags | USER_OFF) & !USER_ON;
        } else if is("skip-sanitize-payload") {
            self.flags = (self.flags | USER_SKIP_SANITIZE) & !USER_SANITIZE;
        } else if is("sanitize-payload") {
            self.flags = (self.flags | USER_SANITIZE) & !USER_SKIP_SANITIZE;
        } else if is("nopass") {
            self.flags |= USER_NOPASS;
            self.passwords.clear();
        } else if is("resetpass") {
            self.flags &= !USER_NOPASS;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let hash = if op[0] == b'>' {
                hash_password(&op[1..])
            } else {
                parse_hash(&op[1..])?
            };
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.flags &= !USER_NOPASS;
        } else if op[0] == b'<' || op[0] == b'!' {
            let hash = if op[0] == b'<' {
                hash_password(&op[1..])
            } else {
                parse_hash(&op[1..])?
            };
            let idx = self.passwords.iter().position(|p| *p == hash);
            self.passwords
                .remove(idx.ok_or(RuleErrorKind::NoSuchPassword)?);
        } else if op[0] == b'(' && op.last() == Some(&b')') {
            let mut selector = Selector::new(pubsub_default(pubsub_all));
            // Unbalanced quotes inside make an empty selector in Redis 7.0 (the split yields nothing).
            for word in split_args(&op[1..op.len() - 1]).unwrap_or_default() {
                selector.apply(catalog, &word)?;
            }
            self.selectors.push(selector);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            self.flags = (self.flags & !(USER_NOPASS | USER_ON | USER_SKIP_SANITIZE))
                | USER_OFF
                | USER_SANITIZE;
            self.passwords.clear();
            self.selectors.truncate(1);
            let root = &mut self.selectors[0];
            for rule in ["resetkeys", "resetchannels", "-@all"] {
                root.apply(catalog, rule.as_bytes())?;
            }
            if pubsub_all {
                root.apply(catalog, b"allchannels")?;
            }
        } else {
            self.selectors[0].apply(catalog, op)?;
        }
        Ok(())
    }

    /// The rules that rebuild this user (ACL LIST without `user <name> `; ACL SAVE lines).
    pub fn describe(&self, catalog: &CommandCatalog) -> Vec<u8> {
        let mut out = Vec::new();
        for (flag, name) in FLAG_NAMES {
            if self.flags & flag != 0 {
                out.extend_from_slice(name.as_bytes());
                out.push(b' ');
            }
        }
        for hash in &self.passwords {
            out.push(b'#');
            out.extend_from_slice(hash);
            out.push(b' ');
        }
        for (idx, selector) in self.selectors.iter().enumerate() {
            let rules = selector_rules(catalog, selector);
            if idx == 0 {
                out.extend_from_slice(&rules);
            } else {
                out.extend_from_slice(b" (");
                out.extend_from_slice(&rules);
                out.push(b')');
            }
        }
        out
    }

    /// ACL GETUSER's fields.
    pub fn info(&self, catalog: &CommandCatalog) -> UserInfo {
        let selector_info = |s: &Selector| SelectorInfo {
            commands: command_rules(catalog, s),
            keys: keys_field(s),
            channels: channels_field(s),
        };
        UserInfo {
            flags: FLAG_NAMES
                .iter()
                .filter(|(flag, _)| self.flags & flag != 0)
                .map(|(_, name)| *name)
                .collect(),
            passwords: self.passwords.iter().map(|p| p.to_vec()).collect(),
            root: selector_info(&self.selectors[0]),
            selectors: self.selectors[1..].iter().map(selector_info).collect(),
        }
    }

    /// Heap bytes held.
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<User>()
            + self.name.capacity()
            + self.passwords.capacity() * 64
            + self.selectors.iter().map(Selector::bytes).sum::<usize>()
    }
}

fn pubsub_default(pubsub_all: bool) -> u8 {
    if pubsub_all {
        FLAG_ALL_CHANNELS
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            &hash_password(b"foo"),
            b"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
        );
        assert!(
            parse_hash(b"2C26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae")
                .is_err()
        );
    }
}
