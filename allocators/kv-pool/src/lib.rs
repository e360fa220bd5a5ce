//! Budgeted key-value allocators: a fixed size-class pool with O(1) reset, and a counted system baseline.
//!
//! Being built: see README.md and the open issues.
#![deny(missing_docs)]
