//! Fixed, preallocated client slot pool with bounded buffers, and its heap baseline.
//!
//! Being built: see README.md and the open issues.
#![deny(missing_docs)]
