//! Per-request arena (bumpalo) with capped retained memory, and its heap baseline.
//!
//! Being built: see README.md and the open issues.
#![deny(missing_docs)]
