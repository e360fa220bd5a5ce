//! Per-connection state: the socket, which operations are in flight, and the output queue.

use std::os::fd::RawFd;

/// A connection's handle: its slot in the driver's table plus a generation, so a completion or a call for a
/// connection that was closed (and whose slot was reused) is recognised and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId {
    slot: u32,
    generation: u32,
}

impl ConnId {
    pub(crate) fn new(slot: u32, generation: u32) -> Self {
        Self {
            slot,
            generation: generation & GENERATION_MASK,
        }
    }

    /// The slot (`0..connections_max`): dense, reused after `close`, fit to index a `Vec` of client state.
    pub fn index(self) -> usize {
        self.slot as usize
    }

    pub(crate) fn slot(self) -> u32 {
        self.slot
    }

    pub(crate) fn generation(self) -> u32 {
        self.generation
    }
}

/// Generations wrap at 24 bits (they share a completion's 64-bit user data with the slot and the operation).
pub(crate) const GENERATION_MASK: u32 = 0xFF_FFFF;

/// Why a connection's input ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer shut down its sending side (EOF). Queued output is still sent: call `close_after_send` to
    /// deliver the last replies, as Redis does for a half-closed client.
    PeerClosed,
    /// The connection was reset or the pipe broke (`ECONNRESET`, `EPIPE`): queued output was dropped.
    Reset,
    /// Another receive or send error (the errno): queued output was dropped.
    Failed(i32),
}

impl CloseReason {
    pub(crate) fn from_errno(errno: i32) -> Self {
        if errno == libc::ECONNRESET || errno == libc::EPIPE {
            CloseReason::Reset
        } else {
            CloseReason::Failed(errno)
        }
    }
}

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Reading and writing.
    Open,
    /// Input ended (EOF); output still goes out.
    InputEnded,
    /// Failed: no input, output dropped.
    Failed,
}

/// One connection. Invariants: `sent <= inflight.len()`; `inflight` is non-empty iff `send_inflight`, and is
/// not touched while the kernel sends from it; the fd is closed exactly once (by a Close SQE, or on drop).
pub(crate) struct Conn {
    pub(crate) fd: RawFd,
    pub(crate) generation: u32,
    pub(crate) state: State,
    /// A multishot receive is armed (its completions may still come).
    pub(crate) recv_armed: bool,
    /// The receive stopped for lack of buffers; re-armed when some come back.
    pub(crate) starved: bool,
    /// A Send is in flight from `inflight[sent..]`.
    pub(crate) send_inflight: bool,
    /// Output queued since the last Send was submitted.
    pub(crate) staged: Vec<u8>,
    /// The buffer the in-flight Send reads from (kept until it completes).
    pub(crate) inflight: Vec<u8>,
    pub(crate) sent: usize,
    /// The caller released the connection (`close`) or asked to once output drains (`close_after_send`).
    pub(crate) closing: Closing,
    /// Cancels for the in-flight operations were queued.
    pub(crate) cancel_queued: bool,
    /// The Close SQE was queued: the slot is freed on its completion.
    pub(crate) close_queued: bool,
    /// Queued in the driver's `dirty` list (to flush or to close this turn).
    pub(crate) dirty: bool,
    /// Input was reported since this connection's last Send was queued: that Send answers a request, so the
    /// peer is likely to send its next one (`DriverConfig::expect_replies`). Pushes to idle peers (pub/sub,
    /// MONITOR) do not count.
    pub(crate) awaiting_reply: bool,
}

/// Whether the caller asked to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closing {
    No,
    /// Once `staged` and `inflight` are sent (or the connection fails).
    AfterSend,
    /// Now: output is dropped, operations cancelled.
    Now,
}

impl Conn {
    pub(crate) fn new(fd: RawFd, generation: u32) -> Self {
        Self {
            fd,
            generation,
            state: State::Open,
            recv_armed: false,
            starved: false,
            send_inflight: false,
            staged: Vec::new(),
            inflight: Vec::new(),
            sent: 0,
            closing: Closing::No,
            cancel_queued: false,
            close_queued: false,
            dirty: false,
            awaiting_reply: false,
        }
    }

    /// Output bytes not yet sent (staged plus the unsent part of the in-flight buffer).
    pub(crate) fn queued_bytes(&self) -> usize {
        self.staged.len() + self.inflight.len() - self.sent
    }

    /// Heap bytes this connection holds (its output buffers' capacity) plus its slot.
    pub(crate) fn bytes(&self) -> usize {
        self.staged.capacity() + self.inflight.capacity() + std::mem::size_of::<Self>()
    }

    /// Drops all output (failure or immediate close); the in-flight buffer stays until its Send completes.
    pub(crate) fn drop_output(&mut self) {
        self.staged = Vec::new();
        if !self.send_inflight {
            self.inflight = Vec::new();
            self.sent = 0;
        }
    }

    /// True when nothing is queued or in flight.
    pub(crate) fn drained(&self) -> bool {
        self.staged.is_empty() && !self.send_inflight
    }

    /// True when no operation of this connection is in flight (its fd may be closed).
    pub(crate) fn idle(&self) -> bool {
        !self.recv_armed && !self.send_inflight
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if !self.close_queued {
            // SAFETY: the fd came from accept and is owned by this connection; it was not closed by an SQE.
            unsafe { libc::close(self.fd) };
        }
    }
}
