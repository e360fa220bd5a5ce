//! A selector: one set of command, key and channel permissions (a user has a root selector plus any
//! number of `(...)` selectors), and the rules that change it (Redis's `ACLSetSelector`).

use crate::catalog::{AclCommandId, CommandBits, CommandCatalog, FUTURE_COMMANDS_BIT};
use crate::category::category_bit;
use crate::error::RuleErrorKind;

/// The user's implicit first selector.
pub(crate) const FLAG_ROOT: u8 = 1 << 0;
/// Any key may be mentioned.
pub(crate) const FLAG_ALL_KEYS: u8 = 1 << 1;
/// Every command may run (cleared as soon as one command bit is cleared).
pub(crate) const FLAG_ALL_COMMANDS: u8 = 1 << 2;
/// Any channel may be mentioned.
pub(crate) const FLAG_ALL_CHANNELS: u8 = 1 << 3;

/// Key pattern permission: read.
pub(crate) const PERM_READ: u8 = 1 << 0;
/// Key pattern permission: write.
pub(crate) const PERM_WRITE: u8 = 1 << 1;
/// Both.
pub(crate) const PERM_ALL: u8 = PERM_READ | PERM_WRITE;

/// A key pattern and what it grants. Invariant: `flags` is never 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyPattern {
    pub(crate) pattern: Vec<u8>,
    pub(crate) flags: u8,
}

/// One selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selector {
    /// `FLAG_*` bits.
    pub(crate) flags: u8,
    /// Bit `id` set: the command may run. Bit [`FUTURE_COMMANDS_BIT`] is set only by `+@all`.
    pub(crate) allowed: CommandBits,
    /// First arguments allowed for a command whose bit is clear (`+select|0`), per command, in the
    /// order given; compared case-insensitively.
    pub(crate) first_args: Vec<(AclCommandId, Vec<Vec<u8>>)>,
    /// Key patterns in the order given (unique patterns). Empty while `FLAG_ALL_KEYS` is set.
    pub(crate) patterns: Vec<KeyPattern>,
    /// Channel patterns in the order given (unique). Empty while `FLAG_ALL_CHANNELS` is set.
    pub(crate) channels: Vec<Vec<u8>>,
}

/// Whether `bytes` holds a blank or NUL (Redis's `ACLStringHasSpaces`).
pub(crate) fn has_spaces(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .any(|&b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0))
}

impl Selector {
    /// An empty selector (no commands, keys or channels) with `flags`.
    pub(crate) fn new(flags: u8) -> Selector {
        Selector {
            flags,
            allowed: CommandBits::NONE,
            first_args: Vec::new(),
            patterns: Vec::new(),
            channels: Vec::new(),
        }
    }

    /// Whether the command bit of `id` is set.
    pub(crate) fn command_bit(&self, id: AclCommandId) -> bool {
        self.allowed.get(id.index())
    }

    /// Whether `+@all` was the base (future commands allowed).
    pub(crate) fn allows_future_commands(&self) -> bool {
        self.allowed.get(FUTURE_COMMANDS_BIT)
    }

    fn set_bit(&mut self, bit: usize, value: bool) {
        self.allowed.set(bit, value);
        if !value {
            self.flags &= !FLAG_ALL_COMMANDS;
        }
    }

    /// Allows or blocks a command, and with a container all its subcommands (`ACLChangeSelectorPerm`).
    pub(crate) fn change_command(
        &mut self,
        catalog: &CommandCatalog,
        id: AclCommandId,
        allow: bool,
    ) {
        self.set_bit(id.index(), allow);
        self.first_args.retain(|(cmd, _)| *cmd != id);
        for &sub in &catalog.entry(id).subcommands {
            self.set_bit(sub.index(), allow);
        }
    }

    /// Allows or blocks every command of a category, in catalog order.
    pub(crate) fn change_category(&mut self, catalog: &CommandCatalog, category: u32, allow: bool) {
        for &id in catalog.top_level() {
            let entry = catalog.entry(id);
            if entry.categories & category != 0 {
                self.change_command(catalog, id, allow);
            }
            for &sub in &entry.subcommands {
                if catalog.entry(sub).categories & category != 0 {
                    self.change_command(catalog, sub, allow);
                }
            }
        }
    }

    fn set_all_commands(&mut self, allow: bool) {
        if allow {
            self.allowed = CommandBits::ALL;
            self.flags |= FLAG_ALL_COMMANDS;
        } else {
            self.allowed = CommandBits::NONE;
            self.flags &= !FLAG_ALL_COMMANDS;
        }
        self.first_args.clear();
    }

    fn add_first_arg(&mut self, id: AclCommandId, arg: &[u8]) {
        match self.first_args.iter_mut().find(|(cmd, _)| *cmd == id) {
            Some((_, args)) => {
                if !args.iter().any(|a| a.eq_ignore_ascii_case(arg)) {
                    args.push(arg.to_vec());
                }
            }
            None => self.first_args.push((id, vec![arg.to_vec()])),
        }
    }

    /// The first arguments allowed for `id` (empty when none).
    pub(crate) fn first_args_of(&self, id: AclCommandId) -> &[Vec<u8>] {
        self.first_args
            .iter()
            .find(|(cmd, _)| *cmd == id)
            .map_or(&[], |(_, args)| args.as_slice())
    }

    /// Applies one selector rule (Redis's `ACLSetSelector`).
    pub(crate) fn apply(
        &mut self,
        catalog: &CommandCatalog,
        op: &[u8],
    ) -> Result<(), RuleErrorKind> {
        let is = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
        if is("allkeys") || is("~*") {
            self.flags |= FLAG_ALL_KEYS;
            self.patterns.clear();
        } else if is("resetkeys") {
            self.flags &= !FLAG_ALL_KEYS;
            self.patterns.clear();
        } else if is("allchannels") || is("&*") {
            self.flags |= FLAG_ALL_CHANNELS;
            self.channels.clear();
        } else if is("resetchannels") {
            self.flags &= !FLAG_ALL_CHANNELS;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.set_all_commands(true);
        } else if is("nocommands") || is("-@all") {
            self.set_all_commands(false);
        } else {
            match (op.first(), op.get(1)) {
                (Some(b'~' | b'%'), _) => return self.add_key_pattern(op),
                (Some(b'&'), _) => return self.add_channel(&op[1..]),
                (Some(b'+' | b'-'), Some(b'@')) => {
                    let bit = category_bit(&op[2..]).ok_or(RuleErrorKind::UnknownCommand)?;
                    self.change_category(catalog, bit, op[0] == b'+');
                }
                (Some(b'+'), _) => return self.allow_command(catalog, &op[1..]),
                (Some(b'-'), _) => {
                    let id = catalog
                        .lookup_rule(&op[1..])
                        .ok_or(RuleErrorKind::UnknownCommand)?;
                    self.change_command(catalog, id, false);
                }
                _ => return Err(RuleErrorKind::Syntax),
            }
        }
        Ok(())
    }

    fn add_key_pattern(&mut self, op: &[u8]) -> Result<(), RuleErrorKind> {
        if self.flags & FLAG_ALL_KEYS != 0 {
            return Err(RuleErrorKind::KeyPatternAfterAll);
        }
        let (flags, offset) = if op[0] == b'%' {
            let mut flags = 0;
            let mut offset = 1;
            while offset < op.len() {
                let c = op[offset];
                if c.eq_ignore_ascii_case(&b'r') && flags & PERM_READ == 0 {
                    flags |= PERM_READ;
                } else if c.eq_ignore_ascii_case(&b'w') && flags & PERM_WRITE == 0 {
                    flags |= PERM_WRITE;
                } else if c == b'~' {
                    offset += 1;
                    break;
                } else {
                    return Err(RuleErrorKind::Syntax);
                }
                offset += 1;
            }
            (flags, offset)
        } else {
            (PERM_ALL, 1)
        };
        // Redis 7.0.15 refuses `%~pattern` (no permission named): a pattern granting nothing.
        if flags == 0 || has_spaces(&op[offset..]) {
            return Err(RuleErrorKind::Syntax);
        }
        let pattern = &op[offset..];
        match self.patterns.iter_mut().find(|p| p.pattern == pattern) {
            Some(existing) => existing.flags |= flags,
            None => self.patterns.push(KeyPattern {
                pattern: pattern.to_vec(),
                flags,
            }),
        }
        Ok(())
    }

    fn add_channel(&mut self, pattern: &[u8]) -> Result<(), RuleErrorKind> {
        if self.flags & FLAG_ALL_CHANNELS != 0 {
            return Err(RuleErrorKind::ChannelPatternAfterAll);
        }
        if has_spaces(pattern) {
            return Err(RuleErrorKind::Syntax);
        }
        if !self.channels.iter().any(|c| c == pattern) {
            self.channels.push(pattern.to_vec());
        }
        Ok(())
    }

    /// `+name`, `+container|sub` or `+command|first-arg`.
    fn allow_command(
        &mut self,
        catalog: &CommandCatalog,
        name: &[u8],
    ) -> Result<(), RuleErrorKind> {
        let Some(bar) = name.iter().rposition(|&b| b == b'|') else {
            let id = catalog
                .lookup_rule(name)
                .ok_or(RuleErrorKind::UnknownCommand)?;
            self.change_command(catalog, id, true);
            return Ok(());
        };
        let (base, sub) = (&name[..bar], &name[bar + 1..]);
        let id = catalog
            .lookup_rule(base)
            .ok_or(RuleErrorKind::UnknownCommand)?;
        let entry = catalog.entry(id);
        if entry.parent.is_some() {
            return Err(RuleErrorKind::FirstArgOfSubcommand);
        }
        if sub.is_empty() {
            return Err(RuleErrorKind::Syntax);
        }
        if entry.subcommands.is_empty() {
            self.add_first_arg(id, sub);
        } else {
            let sub_id = catalog
                .lookup_rule(name)
                .ok_or(RuleErrorKind::UnknownCommand)?;
            self.change_command(catalog, sub_id, true);
        }
        Ok(())
    }

    /// Heap bytes held.
    pub(crate) fn bytes(&self) -> usize {
        let first_args: usize = self
            .first_args
            .iter()
            .map(|(_, args)| 32 + args.iter().map(|a| a.capacity() + 24).sum::<usize>())
            .sum();
        let patterns: usize = self
            .patterns
            .iter()
            .map(|p| p.pattern.capacity() + 32)
            .sum();
        let channels: usize = self.channels.iter().map(|c| c.capacity() + 24).sum();
        std::mem::size_of::<Selector>() + first_args + patterns + channels
    }
}
