//! Errors of the ACL engine, each with Redis 7.0's text (the server prefixes `ERR `).

use thiserror::Error;

/// Why one ACL SETUSER modifier was refused (`errno` in Redis's `ACLSetUser`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleErrorKind {
    /// ENOENT: an unknown command or category.
    UnknownCommand,
    /// EINVAL: a malformed modifier or a pattern with spaces.
    Syntax,
    /// EEXIST: a key pattern after `~*`/allkeys.
    KeyPatternAfterAll,
    /// EISDIR: a channel pattern after `&*`/allchannels.
    ChannelPatternAfterAll,
    /// ENODEV: removing a password the user does not have.
    NoSuchPassword,
    /// EBADMSG: a `#`/`!` hash that is not 64 lowercase hex digits.
    BadHash,
    /// ECHILD: `+cmd|sub|arg`.
    FirstArgOfSubcommand,
}

impl RuleErrorKind {
    /// Redis's description (`ACLSetUserStringError`).
    pub fn message(self) -> &'static str {
        match self {
            RuleErrorKind::UnknownCommand => "Unknown command or category name in ACL",
            RuleErrorKind::Syntax => "Syntax error",
            RuleErrorKind::KeyPatternAfterAll => {
                "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have \
                 any effect. Try 'resetkeys' to start with an empty list of patterns"
            }
            RuleErrorKind::ChannelPatternAfterAll => {
                "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not \
                 have any effect. Try 'resetchannels' to start with an empty list of channels"
            }
            RuleErrorKind::NoSuchPassword => {
                "The password you are trying to remove from the user does not exist"
            }
            RuleErrorKind::BadHash => {
                "The password hash must be exactly 64 characters and contain only lowercase hexadecimal \
                 characters"
            }
            RuleErrorKind::FirstArgOfSubcommand => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// An error of the ACL engine. `Display` is Redis's error text without the `ERR ` prefix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AclError {
    /// A SETUSER modifier was refused; nothing was changed.
    #[error("Error in ACL SETUSER modifier '{}': {}", String::from_utf8_lossy(.modifier), .kind.message())]
    Rule {
        /// The modifier as given (a merged selector for `(...)`).
        modifier: Vec<u8>,
        /// Why.
        kind: RuleErrorKind,
    },
    /// A `(` selector that never closes.
    #[error("Unmatched parenthesis in acl selector starting at '{}'.", String::from_utf8_lossy(.0))]
    UnmatchedParenthesis(Vec<u8>),
    /// A username with a space or NUL.
    #[error("Usernames can't contain spaces or null characters")]
    UsernameHasSpaces,
    /// ACL DELUSER default.
    #[error("The 'default' user cannot be removed")]
    DefaultUserCannotBeRemoved,
    /// ACL CAT with an unknown category (the name is cut to 128 bytes as Redis's `%.128s`).
    #[error("Unknown category '{}'", String::from_utf8_lossy(&.0[..Ord::min(.0.len(), 128)]))]
    UnknownCategory(Vec<u8>),
    /// ACL GENPASS with bits out of 1..=4096.
    #[error(
        "ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096"
    )]
    GenpassBits,
    /// ACL DRYRUN for a user that does not exist.
    #[error("User '{}' not found", String::from_utf8_lossy(.0))]
    NoSuchUser(Vec<u8>),
    /// ACL LOAD / aclfile errors, one line as Redis's.
    #[error("{0}")]
    Load(String),
    /// A `user` directive of the config file is invalid (the server refuses to start).
    #[error("{0}")]
    Config(String),
    /// The operating system's random source failed (ACL GENPASS).
    #[error("random source failed")]
    Random,
    /// The command catalog was built wrongly (duplicate name, more than 1023 commands, bad parent).
    #[error("command catalog: {0}")]
    Catalog(String),
}

impl AclError {
    /// The error text as bytes, byte for byte (unlike `Display`, invalid UTF-8 in names is kept).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            AclError::Rule { modifier, kind } => {
                let mut out = b"Error in ACL SETUSER modifier '".to_vec();
                out.extend_from_slice(modifier);
                out.extend_from_slice(b"': ");
                out.extend_from_slice(kind.message().as_bytes());
                out
            }
            AclError::UnmatchedParenthesis(arg) => {
                let mut out = b"Unmatched parenthesis in acl selector starting at '".to_vec();
                out.extend_from_slice(arg);
                out.extend_from_slice(b"'.");
                out
            }
            AclError::UnknownCategory(name) => {
                let mut out = b"Unknown category '".to_vec();
                out.extend_from_slice(&name[..name.len().min(128)]);
                out.push(b'\'');
                out
            }
            AclError::NoSuchUser(name) => {
                let mut out = b"User '".to_vec();
                out.extend_from_slice(name);
                out.extend_from_slice(b"' not found");
                out
            }
            other => other.to_string().into_bytes(),
        }
    }
}
