//! The command table: the single source of truth for dispatch, arity errors and COMMAND's answers.
//!
//! Names, arity, flags, key positions, groups, summaries and ACL categories are Redis 7.0's, generated from a
//! running redis-server 7.0 by `scripts/gen-command-table.py` (COMMAND INFO / COMMAND DOCS); handlers are
//! written by hand. Lookup lowercases the name into a stack buffer: no allocation per command.

use crate::server::Core;
use crate::Strategy;
use zedis_keyspace::commands::Handler as KvHandler;

mod flags;
mod index;
mod rows;
pub use flags::*;
use rows::base_commands;

/// A server-level handler: the core, the client's slot key, the argv.
pub type ServerHandler<S> = fn(&mut Core<S>, usize, &[&[u8]]);

/// What runs a command.
pub enum Handler<S: Strategy> {
    /// A keyspace command.
    Kv(KvHandler<S::Kv>),
    /// A server command (connection, introspection, pub/sub...).
    Srv(ServerHandler<S>),
    /// A container: dispatch on the subcommand.
    Container,
}

/// One command (or subcommand: `name` is then `parent|sub`).
pub struct Command<S: Strategy> {
    /// Lowercase full name.
    pub name: &'static str,
    /// Redis arity: positive = exact argc, negative = at least -arity.
    pub arity: i32,
    /// Flag bits.
    pub flags: u32,
    /// First key, last key (negative counts from the end), step.
    pub keys: (i32, i32, i32),
    /// COMMAND DOCS group.
    pub group: &'static str,
    /// Version that introduced it.
    pub since: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Time complexity.
    pub complexity: &'static str,
    /// ACL categories, space separated (`@read @string @fast`).
    pub acl: &'static str,
    /// Command tips, space separated.
    pub tips: &'static str,
    /// The handler.
    pub handler: Handler<S>,
    /// Subcommands of a container.
    pub subcommands: Vec<Command<S>>,
    /// Position in the table, set by [`Table::new`]: [`Table::by_id`] finds the command again without a name
    /// lookup (a blocked client keeps it to be retried).
    pub id: CommandId,
    /// Its counters in the observability engine's [`zedis_observe::CommandStats`], registered by
    /// [`Table::new_with_stats`] (`None` only before that).
    pub slot: Option<zedis_observe::CommandSlot>,
}

/// Where a command sits in the table: top-level index and subcommand index + 1 (0 for the command itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommandId {
    top: u16,
    sub: u16,
}

impl CommandId {
    /// The id as one integer (for queues that store commands as bytes).
    pub fn to_bits(self) -> u32 {
        (u32::from(self.top) << 16) | u32::from(self.sub)
    }

    /// The top-level command's index in the table.
    pub fn top(self) -> usize {
        usize::from(self.top)
    }

    /// The subcommand's index + 1 (0 for a top-level command).
    pub fn sub(self) -> usize {
        usize::from(self.sub)
    }

    /// The id [`CommandId::to_bits`] encoded.
    pub fn from_bits(bits: u32) -> CommandId {
        CommandId {
            top: (bits >> 16) as u16,
            sub: bits as u16,
        }
    }
}

impl<S: Strategy> Command<S> {
    fn subs(mut self, subcommands: Vec<Command<S>>) -> Self {
        self.subcommands = subcommands;
        self
    }

    /// Whether `argc` arguments (name included) satisfy the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let arity = self.arity as i64;
        (arity >= 0 && argc as i64 == arity) || (arity < 0 && argc as i64 >= -arity)
    }

    /// The subcommand named `sub` (case-insensitive).
    pub fn subcommand(&self, sub: &[u8]) -> Option<&Command<S>> {
        self.subcommands.iter().find(|c| {
            c.name
                .split('|')
                .nth(1)
                .is_some_and(|n| n.as_bytes().eq_ignore_ascii_case(sub))
        })
    }

    /// Whether the command has `flag`.
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
}

/// All commands, with a name index.
pub struct Table<S: Strategy> {
    commands: Vec<Command<S>>,
    index: index::NameIndex,
}

/// Longest command name Zedis knows: a longer name is refused without hashing it.
const NAME_BYTES_MAX: usize = 32;

impl<S: Strategy> Table<S> {
    /// The table, built once at startup.
    pub fn new() -> Self {
        Self::new_with_stats().0
    }

    /// The table and the command counters every row (and subcommand) is registered in: each row keeps its
    /// [`Command::slot`] (containers before their subcommands, as INFO commandstats lists them).
    pub fn new_with_stats() -> (Self, zedis_observe::CommandStats) {
        let mut stats = zedis_observe::CommandStats::new();
        let mut commands = base_commands::<S>();
        for (top, command) in commands.iter_mut().enumerate() {
            command.id = CommandId {
                top: top as u16,
                sub: 0,
            };
            command.slot = Some(stats.register(command.name));
            for (sub, subcommand) in command.subcommands.iter_mut().enumerate() {
                subcommand.id = CommandId {
                    top: top as u16,
                    sub: sub as u16 + 1,
                };
                subcommand.slot = Some(stats.register(subcommand.name));
                if let Some(&(_, flags)) =
                    INTERNAL_FLAGS.iter().find(|(n, _)| *n == subcommand.name)
                {
                    subcommand.flags |= flags;
                }
            }
            if let Some(&(_, flags)) = INTERNAL_FLAGS.iter().find(|(n, _)| *n == command.name) {
                command.flags |= flags;
            }
        }
        let index = index::NameIndex::new(commands.iter().map(|c| c.name));
        (Table { commands, index }, stats)
    }

    /// The command named `name` (case-insensitive).
    #[inline]
    pub fn lookup(&self, name: &[u8]) -> Option<&Command<S>> {
        if name.len() > NAME_BYTES_MAX {
            return None;
        }
        let row = self.index.find(name, |row| {
            self.commands[row]
                .name
                .as_bytes()
                .eq_ignore_ascii_case(name)
        })?;
        Some(&self.commands[row])
    }

    /// The command with id `id` (from [`Command::id`]).
    pub fn by_id(&self, id: CommandId) -> Option<&Command<S>> {
        let top = self.commands.get(id.top as usize)?;
        match id.sub {
            0 => Some(top),
            sub => top.subcommands.get(sub as usize - 1),
        }
    }

    /// Every top-level command.
    pub fn all(&self) -> &[Command<S>] {
        &self.commands
    }
}

impl<S: Strategy> Default for Table<S> {
    fn default() -> Self {
        Self::new()
    }
}
