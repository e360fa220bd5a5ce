//! Pub/Sub: channels, patterns, shard channels, subscriber limits, fan-out.
//!
//! Being built: see README.md and the open issues.
#![deny(missing_docs)]
