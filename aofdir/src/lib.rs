//! Redis 7's multi-part AOF directory (`appenddirname`, `appendonlydir` by default): the manifest that
//! lists the base file (the last rewrite's snapshot, RDB or commands), the incr files (commands since), and
//! the history files waiting for deletion; the naming rules of each; the atomic manifest update; and the
//! upgrade of a single-file AOF into the directory. Written from `aof.c` so a directory Redis 7.0 wrote
//! loads here and the other way round.
//!
//! Non-goals: reading or writing the files' contents (the server replays commands, the RDB crate reads a
//! base in RDB format), and the rewrite itself.
#![deny(missing_docs)]

pub mod dir;
pub mod manifest;

pub use dir::{AofDir, DirError};
pub use manifest::{AofFile, FileKind, Manifest, ManifestError};
