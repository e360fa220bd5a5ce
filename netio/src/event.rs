//! What a turn reports ([`Event`]) and the driver's counters ([`DriverStats`]).

use std::net::SocketAddr;

use crate::bufpool::RecvBuf;
use crate::conn::{CloseReason, ConnId};

/// What a turn reports. Events of one connection come in order: `Accepted`, then `Data`..., then at most one
/// `Closed`. A connection the caller released with `close` reports nothing more.
#[derive(Debug)]
pub enum Event {
    /// A new connection and its peer's address. Its receive is armed already.
    Accepted(ConnId, SocketAddr),
    /// Bytes received, in a provided buffer that goes back to the pool when the `RecvBuf` is dropped.
    Data(ConnId, RecvBuf),
    /// Input ended. The id stays valid (send more after `PeerClosed`; release it with `close` or
    /// `close_after_send`) until the caller closes it.
    Closed(ConnId, CloseReason),
    /// The tick set by [`crate::UringDriver::set_tick`] expired (one event per expiry).
    Tick,
    /// A [`crate::Waker`] woke the loop.
    Woken,
    /// The descriptor given to [`crate::UringDriver::watch_readable`] is readable.
    Readable,
}

/// Counters of the driver (for INFO and for tests).
#[derive(Debug, Default, Clone)]
pub struct DriverStats {
    /// `io_uring_enter` calls made by `turn` (one per turn).
    pub enters: u64,
    /// Extra `io_uring_enter` calls because the submission queue filled up within a turn.
    pub early_submits: u64,
    /// Completions processed.
    pub completions: u64,
    /// Connections accepted.
    pub accepted: u64,
    /// Connections closed at once because `connections_max` were open.
    pub refused: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Sends that completed short and were resubmitted for the rest.
    pub partial_sends: u64,
    /// Receives that stopped for lack of provided buffers (`ENOBUFS`) and were re-armed later.
    pub recv_starved: u64,
    /// Largest output queued for one connection.
    pub queued_bytes_peak: usize,
}
