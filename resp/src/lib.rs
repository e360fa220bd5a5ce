//! RESP2/RESP3 and inline request parsing and reply encoding: zero-copy, memchr, no storage.
//!
//! Being built: see README.md and the open issues.
#![deny(missing_docs)]
