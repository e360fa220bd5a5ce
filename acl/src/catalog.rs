//! The command universe ACL rules speak about: names, subcommands, ACL categories and the `no_auth` flag.
//!
//! The server fills a [`CommandCatalog`] from its command table at startup (tests fill one from a real
//! redis-server's `COMMAND INFO`). The catalog's order is the order ACL CAT lists commands and the order
//! the rule describer emits single-command rules: Redis uses its command dict's iteration order, which
//! `COMMAND INFO` (no arguments) also shows.

use std::collections::HashMap;

use crate::category::CategoryBits;
use crate::error::AclError;

/// Bits per command bitmap (Redis's `USER_COMMAND_BITS_COUNT`); the last bit means "future commands".
pub(crate) const COMMAND_BITS: usize = 1024;
/// The reserved bit set only by `+@all`/allcommands.
pub(crate) const FUTURE_COMMANDS_BIT: usize = COMMAND_BITS - 1;
/// Most commands (and subcommands) a catalog holds: every bit but the reserved one.
pub const COMMANDS_MAX: usize = COMMAND_BITS - 1;

/// A command's (or subcommand's) index in its [`CommandCatalog`]: what [`crate::Acl::check`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AclCommandId(pub(crate) u16);

impl AclCommandId {
    /// The index (0-based, dense).
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// One command or subcommand.
#[derive(Debug, Clone)]
pub struct CommandEntry {
    /// Lowercase full name (`get`, `config|get`).
    pub name: String,
    /// ACL categories.
    pub categories: CategoryBits,
    /// Runs without authentication (`no_auth` flag): ACL command rules never deny it.
    pub no_auth: bool,
    /// The container, for a subcommand.
    pub parent: Option<AclCommandId>,
    /// Subcommands in catalog order (empty for a plain command).
    pub subcommands: Vec<AclCommandId>,
}

/// The command universe. Invariant: at most [`COMMANDS_MAX`] entries; names unique; a subcommand's parent
/// is a top-level command.
#[derive(Debug, Clone, Default)]
pub struct CommandCatalog {
    entries: Vec<CommandEntry>,
    top: Vec<AclCommandId>,
    index: HashMap<String, AclCommandId>,
}

impl CommandCatalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a top-level command. `name` is matched case-insensitively; `categories` from
    /// [`crate::parse_categories`].
    pub fn add_command(
        &mut self,
        name: &str,
        categories: CategoryBits,
        no_auth: bool,
    ) -> Result<AclCommandId, AclError> {
        let id = self.push(name.to_ascii_lowercase(), categories, no_auth, None)?;
        self.top.push(id);
        Ok(id)
    }

    /// Adds a subcommand of `parent`; `name` is the subcommand's own name or the full `parent|sub`.
    pub fn add_subcommand(
        &mut self,
        parent: AclCommandId,
        name: &str,
        categories: CategoryBits,
        no_auth: bool,
    ) -> Result<AclCommandId, AclError> {
        let parent_entry = self
            .entries
            .get(parent.index())
            .ok_or_else(|| AclError::Catalog(format!("no parent for {name}")))?;
        if parent_entry.parent.is_some() {
            return Err(AclError::Catalog(format!(
                "{name}: one level of subcommands only"
            )));
        }
        let sub = name.rsplit('|').next().unwrap_or(name);
        let full = format!("{}|{}", parent_entry.name, sub.to_ascii_lowercase());
        let id = self.push(full, categories, no_auth, Some(parent))?;
        self.entries[parent.index()].subcommands.push(id);
        Ok(id)
    }

    fn push(
        &mut self,
        name: String,
        categories: CategoryBits,
        no_auth: bool,
        parent: Option<AclCommandId>,
    ) -> Result<AclCommandId, AclError> {
        if self.entries.len() >= COMMANDS_MAX {
            return Err(AclError::Catalog(format!(
                "more than {COMMANDS_MAX} commands"
            )));
        }
        if self.index.contains_key(&name) {
            return Err(AclError::Catalog(format!("duplicate command {name}")));
        }
        let id = AclCommandId(self.entries.len() as u16);
        self.index.insert(name.clone(), id);
        self.entries.push(CommandEntry {
            name,
            categories,
            no_auth,
            parent,
            subcommands: Vec::new(),
        });
        Ok(id)
    }

    /// The entry of `id`.
    pub fn entry(&self, id: AclCommandId) -> &CommandEntry {
        &self.entries[id.index()]
    }

    /// Number of commands and subcommands.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the catalog is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Top-level commands in catalog order.
    pub fn top_level(&self) -> &[AclCommandId] {
        &self.top
    }

    /// The command with this exact full name (case-insensitive): `get`, `config|get`.
    pub fn get(&self, full_name: &str) -> Option<AclCommandId> {
        self.index.get(&full_name.to_ascii_lowercase()).copied()
    }

    /// Resolves a command name as an ACL rule names it (Redis's strict `lookupCommandBySds`): `cmd` or
    /// `container|sub`; `plain|x` and more than one `|` name nothing.
    pub(crate) fn lookup_rule(&self, name: &[u8]) -> Option<AclCommandId> {
        let name = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
        let mut parts = name.split('|');
        let base = self.index.get(parts.next()?).copied()?;
        match (parts.next(), parts.next()) {
            (None, _) => Some(base),
            (Some(_), Some(_)) => None,
            (Some(_), None) => {
                if self.entries[base.index()].subcommands.is_empty() {
                    None
                } else {
                    self.index.get(&name).copied()
                }
            }
        }
    }

    /// Full names of the commands in a category, in catalog order (subcommands after their container):
    /// ACL CAT's reply.
    pub fn names_in_category(&self, category: CategoryBits) -> Vec<&str> {
        let mut out = Vec::new();
        for &id in &self.top {
            let entry = self.entry(id);
            if entry.categories & category != 0 {
                out.push(entry.name.as_str());
            }
            for &sub in &entry.subcommands {
                let sub = self.entry(sub);
                if sub.categories & category != 0 {
                    out.push(sub.name.as_str());
                }
            }
        }
        out
    }

    /// Heap bytes held.
    pub fn bytes(&self) -> usize {
        let entries: usize = self
            .entries
            .iter()
            .map(|e| {
                std::mem::size_of::<CommandEntry>()
                    + e.name.capacity() * 2
                    + e.subcommands.capacity() * 2
            })
            .sum();
        entries
            + self.top.capacity() * 2
            + self.index.capacity() * (std::mem::size_of::<(String, u16)>() + 1)
    }
}

/// A command bitmap: bit `id` set = the command may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CommandBits([u64; COMMAND_BITS / 64]);

impl CommandBits {
    pub(crate) const NONE: CommandBits = CommandBits([0; COMMAND_BITS / 64]);
    pub(crate) const ALL: CommandBits = CommandBits([u64::MAX; COMMAND_BITS / 64]);

    pub(crate) fn get(&self, bit: usize) -> bool {
        self.0[bit / 64] & (1 << (bit % 64)) != 0
    }

    pub(crate) fn set(&mut self, bit: usize, value: bool) {
        if value {
            self.0[bit / 64] |= 1 << (bit % 64);
        } else {
            self.0[bit / 64] &= !(1 << (bit % 64));
        }
    }
}

/// A small catalog for unit tests: plain commands, a container with subcommands, a `no_auth` command.
#[cfg(test)]
pub(crate) fn test_catalog() -> CommandCatalog {
    use crate::category::parse_categories;
    let mut catalog = CommandCatalog::new();
    let plain = [
        ("get", "@read @string @fast", false),
        ("set", "@write @string @slow", false),
        ("lpush", "@write @list @fast", false),
        ("lrange", "@read @list @slow", false),
        ("select", "@fast @connection", false),
        ("publish", "@pubsub @fast", false),
        ("subscribe", "@pubsub @slow", false),
        ("auth", "@fast @connection", true),
        ("flushall", "@keyspace @write @slow @dangerous", false),
    ];
    for (name, categories, no_auth) in plain {
        catalog
            .add_command(name, parse_categories(categories), no_auth)
            .unwrap();
    }
    let config = catalog
        .add_command("config", parse_categories("@slow"), false)
        .unwrap();
    for (sub, categories) in [
        ("get", "@admin @slow @dangerous"),
        ("set", "@admin @slow @dangerous"),
        ("help", "@slow"),
    ] {
        catalog
            .add_subcommand(config, sub, parse_categories(categories), false)
            .unwrap();
    }
    catalog
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_lookup_follows_redis() {
        let mut catalog = CommandCatalog::new();
        let get = catalog.add_command("GET", 2, false).unwrap();
        let config = catalog.add_command("config", 0, false).unwrap();
        let config_get = catalog
            .add_subcommand(config, "config|get", 0, false)
            .unwrap();
        assert_eq!(catalog.lookup_rule(b"get"), Some(get));
        assert_eq!(catalog.lookup_rule(b"Config|GET"), Some(config_get));
        assert_eq!(catalog.lookup_rule(b"config"), Some(config));
        assert_eq!(catalog.lookup_rule(b"get|x"), None);
        assert_eq!(catalog.lookup_rule(b"config|get|x"), None);
        assert_eq!(catalog.lookup_rule(b"config|"), None);
        assert_eq!(catalog.lookup_rule(b""), None);
        assert!(catalog.add_command("get", 0, false).is_err());
    }
}
