//! An argument cursor for command parsers: it says what each argument is as it is taken (`next_key`, `flag`,
//! `int`), and [`Args::finish`] rejects arguments left over, so no parser indexes `argv[i]` by hand.
//!
//! Errors are Redis's texts ([`ArgError::text`]); the caller replies them as they are.

use super::{NOT_INTEGER, SYNTAX};
use crate::num::parse_i64_exact;

/// Why an argument could not be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgError {
    /// No argument left where one is required, or one left over: Redis's syntax error.
    Syntax,
    /// Not an integer by Redis's `string2ll` rules.
    NotInteger,
}

impl ArgError {
    /// Redis's error text for this failure (without the leading `-`).
    pub fn text(self) -> &'static [u8] {
        match self {
            ArgError::Syntax => SYNTAX,
            ArgError::NotInteger => NOT_INTEGER,
        }
    }
}

/// A cursor over a command's arguments, starting after the command name.
#[derive(Debug, Clone)]
pub struct Args<'a> {
    argv: &'a [&'a [u8]],
    /// Index of the next argument to take. Invariant: `1 <= pos <= argv.len()` (or 0 for an empty argv).
    pos: usize,
}

impl<'a> Args<'a> {
    /// A cursor over `argv` (name included), placed after the name (after `skip` more for subcommands).
    pub fn new(argv: &'a [&'a [u8]]) -> Args<'a> {
        Args {
            argv,
            pos: argv.len().min(1),
        }
    }

    /// Skips `count` arguments (a subcommand name); fewer if fewer are left.
    pub fn skip(mut self, count: usize) -> Args<'a> {
        self.pos = (self.pos + count).min(self.argv.len());
        self
    }

    /// How many arguments are left.
    pub fn remaining(&self) -> usize {
        self.argv.len() - self.pos
    }

    /// The next argument without taking it.
    pub fn peek(&self) -> Option<&'a [u8]> {
        self.argv.get(self.pos).copied()
    }

    /// Takes the next argument, whatever it is.
    pub fn next_arg(&mut self) -> Result<&'a [u8], ArgError> {
        let arg = self.peek().ok_or(ArgError::Syntax)?;
        self.pos += 1;
        Ok(arg)
    }

    /// Takes the next argument as a key.
    pub fn next_key(&mut self) -> Result<&'a [u8], ArgError> {
        self.next_arg()
    }

    /// Takes the next argument if it is `name` (ASCII case-insensitive); true if it was.
    pub fn flag(&mut self, name: &str) -> bool {
        let found = self
            .peek()
            .is_some_and(|arg| arg.eq_ignore_ascii_case(name.as_bytes()));
        if found {
            self.pos += 1;
        }
        found
    }

    /// Takes the next argument as an integer (Redis's `string2ll` rules).
    pub fn int(&mut self) -> Result<i64, ArgError> {
        let arg = self.peek().ok_or(ArgError::Syntax)?;
        let value = parse_i64_exact(arg).ok_or(ArgError::NotInteger)?;
        self.pos += 1;
        Ok(value)
    }

    /// Takes every argument left (a key list, a value list).
    pub fn rest(&mut self) -> &'a [&'a [u8]] {
        let rest = &self.argv[self.pos..];
        self.pos = self.argv.len();
        rest
    }

    /// Ends parsing: an argument left over is a syntax error.
    pub fn finish(&self) -> Result<(), ArgError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(ArgError::Syntax)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_keys_flags_and_ints_then_rejects_extra_args() {
        let argv: [&[u8]; 5] = [b"CMD", b"key", b"Count", b"12", b"extra"];
        let mut args = Args::new(&argv);
        assert_eq!(args.next_key(), Ok(&b"key"[..]));
        assert!(!args.flag("match"));
        assert!(args.flag("COUNT"));
        assert_eq!(args.int(), Ok(12));
        assert_eq!(args.finish(), Err(ArgError::Syntax));
        assert_eq!(args.next_arg(), Ok(&b"extra"[..]));
        assert_eq!(args.finish(), Ok(()));
        assert_eq!(args.next_key(), Err(ArgError::Syntax));
    }

    #[test]
    fn int_follows_string2ll_and_leaves_a_bad_argument_in_place() {
        let argv: [&[u8]; 3] = [b"CMD", b"007", b"-5"];
        let mut args = Args::new(&argv);
        assert_eq!(args.int(), Err(ArgError::NotInteger));
        assert_eq!(args.int().map_err(ArgError::text), Err(NOT_INTEGER));
        assert_eq!(args.next_arg(), Ok(&b"007"[..]));
        assert_eq!(args.int(), Ok(-5));
        assert_eq!(args.int(), Err(ArgError::Syntax));
    }

    #[test]
    fn skip_rest_and_empty_argv_stay_in_bounds() {
        let argv: [&[u8]; 4] = [b"CLIENT", b"PAUSE", b"a", b"b"];
        let mut args = Args::new(&argv).skip(1);
        assert_eq!(args.remaining(), 2);
        assert_eq!(args.rest(), &argv[2..]);
        assert_eq!(args.remaining(), 0);
        let args = Args::new(&argv).skip(10);
        assert_eq!(args.remaining(), 0);
        let empty: [&[u8]; 0] = [];
        let mut args = Args::new(&empty);
        assert_eq!(args.remaining(), 0);
        assert!(!args.flag("x"));
        assert_eq!(args.finish(), Ok(()));
    }
}
