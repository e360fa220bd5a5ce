//! [`NetioError`]: what the driver refuses or fails at.

use std::io;

/// Errors of the io_uring driver.
#[derive(Debug, thiserror::Error)]
pub enum NetioError {
    /// `io_uring_setup` was refused: the kernel lacks io_uring, `kernel.io_uring_disabled` forbids it, or a
    /// seccomp filter (containers) blocks it. The server should say "io_uring unavailable, use --io epoll".
    #[error("io_uring unavailable ({0}); use --io epoll")]
    Unavailable(io::Error),
    /// The kernel has io_uring but not a feature the driver needs (named).
    #[error("io_uring on this kernel lacks {0}; use --io epoll")]
    Unsupported(&'static str),
    /// A [`crate::DriverConfig`] value out of range (the message names it).
    #[error("invalid io_uring driver configuration: {0}")]
    Config(String),
    /// The connection id is unknown: never accepted, or already released by `close`.
    #[error("unknown connection")]
    UnknownConn,
    /// The connection failed (reset, broken pipe): its output is dropped and nothing more can be sent.
    #[error("connection failed; output dropped")]
    ConnFailed,
    /// Queuing more output would pass `output_bytes_max` for this connection (a peer that stops reading).
    /// Nothing was queued; the caller normally closes the connection, as Redis's hard output limit does.
    #[error("output limit reached: {queued_bytes} bytes queued, {wanted_bytes} more, limit {limit_bytes}")]
    OutputLimit {
        /// Bytes already queued for the connection.
        queued_bytes: usize,
        /// Bytes the refused `send` carried.
        wanted_bytes: usize,
        /// The configured `output_bytes_max`.
        limit_bytes: usize,
    },
    /// A system call failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}
