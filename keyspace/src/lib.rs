//! Databases, value types, expiration and eviction, generic over the KV storage strategy.
//!
//! Being built: see README.md and the open issues.
#![deny(missing_docs)]

pub mod glob;
pub mod types;
