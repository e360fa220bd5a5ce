//! Access control for Zedis, as Redis 7.0's ACL: users, selectors, rules, checks and the ACL LOG.
//!
//! Goals: the rule language, ACL LIST / GETUSER descriptions, error texts and `-NOPERM` replies byte for
//! byte as Redis 7.0.15; a check that costs one flag test for a `~* &* +@all` user; state the server can
//! charge to its memory budget ([`Acl::bytes`], [`AclLog::bytes`]).
//!
//! Non-goals: networking, RESP encoding, key extraction. The server resolves the command, extracts keys
//! (from its key specs) and channels, and asks [`Acl::check`]; it renders the typed replies.
//!
//! Layout:
//! - [`category`]: the 21 ACL categories.
//! - [`catalog`]: the command universe ([`CommandCatalog`]) the server fills from its command table.
//! - `selector`, `user`: rule parsing (`ACLSetSelector`, `ACLSetUser`).
//! - `describe`: rules rebuilt from bitmaps (ACL LIST, GETUSER, SAVE).
//! - `store`: the users ([`Acl`]): SETUSER, DELUSER, GETUSER, LIST, USERS, CAT, AUTH, GENPASS.
//! - `check`: [`Acl::check`], [`Denial`] and its texts (top level, EXEC, scripts, DRYRUN).
//! - `log`: [`AclLog`].
//! - `file`: the aclfile (ACL SAVE / LOAD); `config`: `user` directives of the config file.
//! - `split`: Redis's argument splitting for selectors.
//!
//! ```
//! use zedis_acl::{parse_categories, Acl, CommandCatalog, KeyRef, Request};
//!
//! let mut catalog = CommandCatalog::new();
//! let get = catalog.add_command("get", parse_categories("@read @string @fast"), false).unwrap();
//! catalog.add_command("set", parse_categories("@write @string @slow"), false).unwrap();
//! let mut acl = Acl::new(catalog, false);
//! let app = acl.set_user(b"app", &[b"on", b">pw", b"~app:*", b"+@read"]).unwrap().id;
//! assert_eq!(acl.authenticate(b"app", b"pw"), Ok(app));
//! let keys = [KeyRef { pos: 1, name: b"other", read: true, write: false }];
//! let denial = acl
//!     .check(app, &Request { command: get, first_arg: Some(b"other"), keys: &keys, channels: &[] })
//!     .unwrap_err();
//! assert_eq!(
//!     denial.message(),
//!     b"NOPERM this user has no permissions to access one of the keys used as arguments"
//! );
//! assert_eq!(acl.list()[0], b"user app on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~app:* resetchannels -@all +@read");
//! ```
#![deny(missing_docs)]

pub mod catalog;
pub mod category;
mod check;
mod config;
mod describe;
mod error;
mod file;
mod log;
mod selector;
mod split;
mod store;
mod user;

pub use catalog::{AclCommandId, CommandCatalog, CommandEntry, COMMANDS_MAX};
pub use category::{category_bit, parse_categories, CategoryBits, CATEGORIES};
pub use check::{ChannelRef, Denial, DenialReason, KeyRef, Request};
pub use config::ConfigUsers;
pub use error::{AclError, RuleErrorKind};
pub use log::{AclLog, LogContext, LogEntry, ACLLOG_MAX_LEN_DEFAULT};
pub use store::{genpass, Acl, AuthFailure, SetUserOutcome, UserId};
pub use user::{hash_password, PasswordHash, SelectorInfo, User, UserInfo};
