//! Resolving an argv to its table entry, with Redis 7.0's rejection texts.

use crate::table::{Command, Handler, Table};
use crate::Strategy;

/// Why an argv names no runnable command.
pub enum Rejection<S: Strategy + 'static> {
    /// No such command.
    Unknown,
    /// The command (or subcommand) exists but the argument count does not fit its arity.
    Arity(&'static Command<S>),
    /// A container with no such subcommand.
    UnknownSubcommand(&'static Command<S>),
}

impl<S: Strategy> Rejection<S> {
    /// Redis's error text (without the leading `-`).
    pub fn text(&self, argv: &[&[u8]]) -> Vec<u8> {
        match self {
            Rejection::Unknown => unknown_command(argv),
            Rejection::Arity(cmd) => wrong_arity(cmd.name).into_bytes(),
            Rejection::UnknownSubcommand(cmd) => {
                let mut msg = b"ERR unknown subcommand '".to_vec();
                msg.extend_from_slice(c_str_prefix(argv[1], 128));
                msg.extend_from_slice(b"'. Try ");
                msg.extend_from_slice(cmd.name.to_ascii_uppercase().as_bytes());
                msg.extend_from_slice(b" HELP.");
                msg
            }
        }
    }
}

/// The command (or subcommand) `argv` names. A container given no subcommand resolves to itself (only
/// COMMAND's arity allows that; it then lists every command).
pub fn resolve<S: Strategy>(
    table: &'static Table<S>,
    argv: &[&[u8]],
) -> Result<&'static Command<S>, Rejection<S>> {
    let cmd = table.lookup(argv[0]).ok_or(Rejection::Unknown)?;
    if !cmd.arity_ok(argv.len()) {
        return Err(Rejection::Arity(cmd));
    }
    if !matches!(cmd.handler, Handler::Container) || argv.len() < 2 {
        return Ok(cmd);
    }
    match cmd.subcommand(argv[1]) {
        Some(sub) if sub.arity_ok(argv.len()) => Ok(sub),
        Some(sub) => Err(Rejection::Arity(sub)),
        None => Err(Rejection::UnknownSubcommand(cmd)),
    }
}

/// What C's `%.<max>s` prints of `bytes`: up to the first NUL, at most `max` bytes.
fn c_str_prefix(bytes: &[u8], max: usize) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end.min(max)]
}

/// Redis 7.0's unknown-command error, with the first arguments quoted (raw bytes, cut as `%.*s` cuts them).
pub fn unknown_command(argv: &[&[u8]]) -> Vec<u8> {
    let mut args = Vec::new();
    for arg in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        args.push(b'\'');
        args.extend_from_slice(c_str_prefix(arg, room));
        args.extend_from_slice(b"' ");
    }
    let mut msg = b"ERR unknown command '".to_vec();
    msg.extend_from_slice(c_str_prefix(argv[0], 128));
    msg.extend_from_slice(b"', with args beginning with: ");
    msg.extend_from_slice(&args);
    msg
}

/// Redis's arity error.
pub fn wrong_arity(name: &str) -> String {
    format!("ERR wrong number of arguments for '{name}' command")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_command_text_matches_redis() {
        let argv: [&[u8]; 3] = [b"foo", b"a", b"b"];
        assert_eq!(
            unknown_command(&argv),
            b"ERR unknown command 'foo', with args beginning with: 'a' 'b' "
        );
        let argv: [&[u8]; 1] = [b"foo"];
        assert_eq!(
            unknown_command(&argv),
            b"ERR unknown command 'foo', with args beginning with: "
        );
        let argv: [&[u8]; 3] = [b"FOO\0BAR", b"x\0y", b"\xff"];
        assert_eq!(
            unknown_command(&argv),
            b"ERR unknown command 'FOO', with args beginning with: 'x' '\xff' "
        );
    }
}
