//! [`UringDriver`]: the public API (accepting, sending, closing, one loop turn) and the submission side.
//!
//! # System calls per turn
//! A turn is exactly one `io_uring_enter` that submits every SQE queued since the last turn (new receives,
//! this turn's sends, resubmitted partial sends, cancels, closes, re-armed accept/tick/wake reads) and waits
//! for completions. Extra system calls happen only:
//! - per accepted connection: `getpeername` and `setsockopt(TCP_NODELAY)` (2);
//! - when a turn queues more SQEs than `ring_entries`: one more `io_uring_enter` per full queue;
//! - `Waker::wake`: one `write` on the eventfd, in the waking thread;
//! - at startup (setup, registrations, eventfd) and on drop (synchronous cancel, unregister, closing fds).
//!
//! Receives are multishot (one SQE serves every later read of the connection) and take buffers from the
//! shared pool; sends are one SQE per connection with output per turn; so at pipeline 1 a request costs a
//! share of one `io_uring_enter` instead of `epoll_wait` + `read` + `write`.

use std::io::{self, IoSlice};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use io_uring::{opcode, squeue, types, IoUring};

use crate::bufpool::BufPool;
use crate::conn::{Closing, Conn, ConnId, State, GENERATION_MASK};
use crate::setup::{register_pool, setup, BUFFER_GROUP};
use crate::{DriverConfig, DriverStats, Event, NetioError, Waker};

/// The overall timeout of a turn asked to wait for as long as it takes.
const WAIT_FOREVER: Duration = Duration::from_secs(24 * 3600);

/// What an operation's completion belongs to, in the top byte of its user data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Op {
    Accept = 1,
    Recv = 2,
    Send = 3,
    Close = 4,
    Cancel = 5,
    Tick = 6,
    Wake = 7,
    Watch = 8,
}

impl Op {
    pub(crate) fn token(self, slot: u32, generation: u32) -> u64 {
        (self as u64) << 56 | u64::from(generation & GENERATION_MASK) << 32 | u64::from(slot)
    }

    pub(crate) fn decode(user_data: u64) -> Option<(Op, u32, u32)> {
        let op = match user_data >> 56 {
            1 => Op::Accept,
            2 => Op::Recv,
            3 => Op::Send,
            4 => Op::Close,
            5 => Op::Cancel,
            6 => Op::Tick,
            7 => Op::Wake,
            8 => Op::Watch,
            _ => return None,
        };
        Some((
            op,
            (user_data >> 32) as u32 & GENERATION_MASK,
            user_data as u32,
        ))
    }
}

/// The io_uring network driver: one listener, its connections, a provided-buffer pool, a tick and a waker.
/// Single-threaded (the ring is set up for a single issuer): create it on the loop's thread.
pub struct UringDriver {
    pub(crate) ring: IoUring,
    pub(crate) pool: Rc<BufPool>,
    pub(crate) config: DriverConfig,
    pub(crate) listener: TcpListener,
    /// The multishot accept is armed.
    pub(crate) accept_armed: bool,
    /// The listener's generation (bumped by `replace_listener`): completions of an older accept are stale.
    pub(crate) accept_generation: u32,
    /// Accept failed for lack of file descriptors: re-armed on the next tick or close, not at once.
    pub(crate) accept_backoff: bool,
    /// Connection slots; `generations[slot]` is the generation of the slot's current or next connection.
    pub(crate) conns: Vec<Option<Conn>>,
    pub(crate) generations: Vec<u32>,
    pub(crate) free_slots: Vec<u32>,
    pub(crate) open: usize,
    /// Connections to flush or close at the start of the next turn (each at most once: `Conn::dirty`).
    pub(crate) dirty: Vec<u32>,
    /// The previous turn's `dirty` list, cleared, kept for its allocation.
    pub(crate) dirty_scratch: Vec<u32>,
    /// Connections whose receive stopped with `ENOBUFS`.
    pub(crate) starved: Vec<u32>,
    /// The tick interval; its timespec must stay put while the timeout SQE is armed.
    pub(crate) tick: Option<Box<types::Timespec>>,
    pub(crate) tick_generation: u32,
    pub(crate) tick_armed: bool,
    pub(crate) wake_fd: Arc<OwnedFd>,
    /// The eventfd read's target (8 bytes); boxed so its address survives moves of the driver.
    pub(crate) wake_buf: Box<u64>,
    pub(crate) wake_armed: bool,
    pub(crate) stats: DriverStats,
    /// Completions being handled (user data, result, flags); reused across turns.
    pub(crate) cqe_batch: Vec<(u64, i32, u32)>,
    /// Sends queued for the next enter (they usually complete during it; see `turn`).
    pub(crate) sends_queued: usize,
    /// Of those, sends answering input (see `Conn::awaiting_reply`): each peer should send again.
    pub(crate) replies_queued: usize,
    /// A descriptor watched for readability (`watch_readable`), e.g. another poller's epoll fd.
    pub(crate) watched: Option<RawFd>,
    /// A one-shot poll on `watched` is in flight.
    pub(crate) watch_armed: bool,
}

impl UringDriver {
    /// Takes over a bound listener (set non-blocking or not; io_uring does not care) and sets up the ring and
    /// the buffer pool. `Err(Unavailable)` when io_uring is refused here.
    pub fn new(listener: TcpListener, config: DriverConfig) -> Result<Self, NetioError> {
        config.validate()?;
        let ring = setup(config.ring_entries, config.defer_taskrun)?;
        let pool = BufPool::new(config.buffers_count, config.buffer_bytes, BUFFER_GROUP)?;
        register_pool(&ring, &pool)?;
        // SAFETY: eventfd returns a new fd we own (or -1).
        let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if efd < 0 {
            return Err(io::Error::last_os_error().into());
        }
        // SAFETY: efd is a fresh, valid fd owned by nobody else.
        let wake_fd = Arc::new(unsafe { OwnedFd::from_raw_fd(efd) });
        Ok(Self {
            ring,
            pool,
            config,
            listener,
            accept_armed: false,
            accept_generation: 0,
            accept_backoff: false,
            conns: Vec::new(),
            generations: Vec::new(),
            free_slots: Vec::new(),
            open: 0,
            dirty: Vec::new(),
            dirty_scratch: Vec::new(),
            starved: Vec::new(),
            tick: None,
            tick_generation: 0,
            tick_armed: false,
            wake_fd,
            wake_buf: Box::new(0),
            wake_armed: false,
            stats: DriverStats::default(),
            cqe_batch: Vec::new(),
            sends_queued: 0,
            replies_queued: 0,
            watched: None,
            watch_armed: false,
        })
    }

    /// The listener's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Takes over another bound listener (CONFIG SET port / bind) and returns the old one. The old listener's
    /// accept is cancelled with the next turn; dropping the returned listener at once is safe (the in-flight
    /// accept holds its own reference until the cancel completes, then the socket closes). Connections
    /// already accepted are not affected.
    pub fn replace_listener(&mut self, listener: TcpListener) -> Result<TcpListener, NetioError> {
        if self.accept_armed {
            let old = Op::Accept.token(0, self.accept_generation);
            self.push(
                &opcode::AsyncCancel::new(old)
                    .build()
                    .user_data(Op::Cancel.token(0, 0)),
            )?;
            self.accept_armed = false;
        }
        self.accept_generation = (self.accept_generation + 1) & GENERATION_MASK;
        self.accept_backoff = false;
        Ok(std::mem::replace(&mut self.listener, listener))
    }

    /// A handle that wakes this loop from any thread.
    pub fn waker(&self) -> Waker {
        Waker {
            fd: Arc::clone(&self.wake_fd),
        }
    }

    /// Sets (or with `None` stops) the periodic tick: a multishot timeout SQE that yields [`Event::Tick`]
    /// every `interval`, so a turn waiting for I/O also wakes for the cron.
    pub fn set_tick(&mut self, interval: Option<Duration>) -> Result<(), NetioError> {
        if self.tick_armed {
            let old = Op::Tick.token(0, self.tick_generation);
            self.push(
                &opcode::TimeoutRemove::new(old)
                    .build()
                    .user_data(Op::Cancel.token(0, 0)),
            )?;
            self.tick_armed = false;
        }
        self.tick_generation = (self.tick_generation + 1) & GENERATION_MASK;
        self.tick =
            interval.map(|d| Box::new(types::Timespec::from(d.max(Duration::from_millis(1)))));
        Ok(())
    }

    /// Watches `fd` for readability: whenever it is readable, a turn reports [`Event::Readable`] (once per
    /// turn at most). The poll is one-shot and re-armed by the next turn, so it is level-triggered: an fd still
    /// readable then reports again at once. Made for another poller's descriptor (mio's epoll fd), so one
    /// `io_uring_enter` waits for both loops. The caller keeps `fd` open while the driver lives.
    pub fn watch_readable(&mut self, fd: RawFd) {
        self.watched = Some(fd);
    }

    /// Queues `data` for `conn` (copied into the connection's output buffer; sent by the next turn with one
    /// Send SQE per connection). Fails with `OutputLimit` (queuing nothing) past `output_bytes_max`.
    pub fn send(&mut self, conn: ConnId, data: &[IoSlice<'_>]) -> Result<(), NetioError> {
        let limit = self.config.output_bytes_max;
        let c = self.conn_mut(conn)?;
        if c.state == State::Failed {
            return Err(NetioError::ConnFailed);
        }
        let wanted: usize = data.iter().map(|s| s.len()).sum();
        let queued = c.queued_bytes();
        if queued.saturating_add(wanted) > limit {
            return Err(NetioError::OutputLimit {
                queued_bytes: queued,
                wanted_bytes: wanted,
                limit_bytes: limit,
            });
        }
        if wanted == 0 {
            return Ok(());
        }
        c.staged.reserve(wanted);
        for s in data {
            c.staged.extend_from_slice(s);
        }
        let peak = c.queued_bytes();
        self.stats.queued_bytes_peak = self.stats.queued_bytes_peak.max(peak);
        self.mark_dirty(conn.slot());
        Ok(())
    }

    /// Releases `conn` now: queued output is dropped, its operations are cancelled and its socket is closed by
    /// the next turns. The id is invalid from now on; no more events come for it.
    pub fn close(&mut self, conn: ConnId) -> Result<(), NetioError> {
        let c = self.conn_mut(conn)?;
        c.closing = Closing::Now;
        c.drop_output();
        self.mark_dirty(conn.slot());
        Ok(())
    }

    /// Releases `conn` once its queued output is sent (or fails): Redis's close-after-reply. No more input is
    /// reported for it; the id is invalid from now on.
    pub fn close_after_send(&mut self, conn: ConnId) -> Result<(), NetioError> {
        let c = self.conn_mut(conn)?;
        if c.closing == Closing::No {
            c.closing = Closing::AfterSend;
        }
        self.mark_dirty(conn.slot());
        Ok(())
    }

    /// One loop turn: queue this turn's sends, closes and re-arms, submit everything with one
    /// `io_uring_enter` that waits up to `timeout` (`None`: until something completes; `Some(ZERO)`: not at
    /// all) for completions, and append the resulting events to `events`.
    pub fn turn(
        &mut self,
        timeout: Option<Duration>,
        events: &mut Vec<Event>,
    ) -> Result<(), NetioError> {
        self.prepare()?;
        self.ring.completion().sync();
        let wait = if self.ring.completion().is_empty() {
            timeout
        } else {
            Some(Duration::ZERO)
        };
        // Sends to sockets with room complete during the submission itself: waiting for one completion would
        // return at once with only those, and cost a second enter to wait for input. So wait for them plus the
        // input they should bring (`expect_replies`: each peer whose request was just answered is expected to
        // send its next one; otherwise one completion), but at most `batch_wait_usec`, after which any
        // completion ends the wait (kernel 6.12 min-wait). With DEFER_TASKRUN the kernel does not even wake
        // the loop before that many completions are due: fewer sleeps and wake-ups per request.
        let sends = std::mem::take(&mut self.sends_queued);
        let replies = std::mem::take(&mut self.replies_queued);
        let batch = self.config.batch_wait_usec > 0
            && self.ring.params().is_feature_min_timeout()
            && wait != Some(Duration::ZERO);
        let want = if batch {
            let input = if self.config.expect_replies {
                replies.max(1)
            } else {
                1
            };
            (sends + input).min(self.ring.params().cq_entries() as usize)
        } else {
            1
        };
        let min_wait_usec = if batch {
            self.config.batch_wait_usec
        } else {
            0
        };
        let result = match wait {
            None if !batch => self.ring.submit_and_wait(1),
            // With a min-wait, the kernel wants an overall timeout too (without one, the min-wait ends the
            // wait): "forever" is a day.
            wait => {
                let ts = types::Timespec::from(wait.unwrap_or(WAIT_FOREVER));
                let args = types::SubmitArgs::new()
                    .min_wait_usec(min_wait_usec)
                    .timespec(&ts);
                self.ring.submitter().submit_with_args(want, &args)
            }
        };
        self.stats.enters += 1;
        if let Err(e) = result {
            match e.raw_os_error() {
                Some(libc::ETIME | libc::EINTR | libc::EBUSY | libc::EAGAIN) => {}
                _ => return Err(e.into()),
            }
        }
        self.complete(events);
        Ok(())
    }

    /// Queues the re-arms (accept, tick, wake read, starved receives) and the dirty connections' sends and
    /// closes.
    fn prepare(&mut self) -> Result<(), NetioError> {
        if !self.accept_armed && !self.accept_backoff {
            let fd = types::Fd(self.listener.as_raw_fd());
            let sqe = opcode::AcceptMulti::new(fd)
                .flags(libc::SOCK_CLOEXEC)
                .build();
            self.push(&sqe.user_data(Op::Accept.token(0, self.accept_generation)))?;
            self.accept_armed = true;
        }
        if !self.tick_armed {
            if let Some(ts) = self.tick.as_deref() {
                let sqe = opcode::Timeout::new(ts as *const types::Timespec)
                    .flags(types::TimeoutFlags::MULTISHOT)
                    .build()
                    .user_data(Op::Tick.token(0, self.tick_generation));
                self.push(&sqe)?;
                self.tick_armed = true;
            }
        }
        if let (Some(fd), false) = (self.watched, self.watch_armed) {
            let sqe = opcode::PollAdd::new(types::Fd(fd), libc::POLLIN as u32)
                .build()
                .user_data(Op::Watch.token(0, 0));
            self.push(&sqe)?;
            self.watch_armed = true;
        }
        if !self.wake_armed {
            let buf: *mut u64 = &mut *self.wake_buf;
            let sqe = opcode::Read::new(types::Fd(self.wake_fd.as_raw_fd()), buf.cast(), 8)
                .build()
                .user_data(Op::Wake.token(0, 0));
            self.push(&sqe)?;
            self.wake_armed = true;
        }
        if !self.starved.is_empty() && self.pool.held() < self.pool.count_usize() {
            let mut starved = std::mem::take(&mut self.starved);
            for &slot in &starved {
                if let Some(c) = self.conns.get_mut(slot as usize).and_then(Option::as_mut) {
                    c.starved = false;
                    self.advance(slot)?;
                }
            }
            // Keep the list's allocation (no allocation per turn); `advance` does not add to it.
            starved.clear();
            self.starved = starved;
        }
        // The dirty list is swapped with a scratch list rather than taken, so neither is reallocated per turn;
        // `advance` never marks a connection dirty, so nothing is added to `dirty` meanwhile.
        let mut dirty = std::mem::replace(&mut self.dirty, std::mem::take(&mut self.dirty_scratch));
        let result = dirty.iter().try_for_each(|&slot| {
            if let Some(c) = self.conns.get_mut(slot as usize).and_then(Option::as_mut) {
                c.dirty = false;
                self.advance(slot)?;
            }
            Ok(())
        });
        dirty.clear();
        self.dirty_scratch = dirty;
        result
    }

    /// Queues what connection `slot` needs next: its receive (re-armed unless closing or ended), a Send of its
    /// staged output when none is in flight, cancels and the Close once it is being released.
    pub(crate) fn advance(&mut self, slot: u32) -> Result<(), NetioError> {
        let Some(c) = self.conns.get_mut(slot as usize).and_then(Option::as_mut) else {
            return Ok(());
        };
        let (fd, generation) = (c.fd, c.generation);
        if c.closing == Closing::AfterSend && (c.state == State::Failed || c.drained()) {
            c.closing = Closing::Now;
        }
        if c.closing == Closing::Now {
            return self.advance_close(slot);
        }
        let mut sqes: [Option<squeue::Entry>; 2] = [None, None];
        if c.state == State::Open && c.closing == Closing::No && !c.recv_armed && !c.starved {
            c.recv_armed = true;
            sqes[0] = Some(
                opcode::RecvMulti::new(types::Fd(fd), self.pool.group)
                    .build()
                    .user_data(Op::Recv.token(slot, generation)),
            );
        }
        if c.state != State::Failed && !c.send_inflight && !c.staged.is_empty() {
            std::mem::swap(&mut c.staged, &mut c.inflight);
            c.staged.clear();
            c.sent = 0;
            c.send_inflight = true;
            sqes[1] = Some(send_sqe(fd, &c.inflight, slot, generation));
            self.sends_queued += 1;
            if std::mem::take(&mut c.awaiting_reply) {
                self.replies_queued += 1;
            }
        }
        for sqe in sqes.iter().flatten() {
            self.push(sqe)?;
        }
        Ok(())
    }

    /// The release path: cancel what is in flight, then (once nothing is) close the socket through the ring.
    fn advance_close(&mut self, slot: u32) -> Result<(), NetioError> {
        let Some(c) = self.conns.get_mut(slot as usize).and_then(Option::as_mut) else {
            return Ok(());
        };
        let (fd, generation) = (c.fd, c.generation);
        if c.close_queued {
            return Ok(());
        }
        c.drop_output();
        if !c.idle() {
            if c.cancel_queued {
                return Ok(());
            }
            c.cancel_queued = true;
            let (recv, send) = (c.recv_armed, c.send_inflight);
            for (armed, op) in [(recv, Op::Recv), (send, Op::Send)] {
                if armed {
                    let sqe = opcode::AsyncCancel::new(op.token(slot, generation)).build();
                    self.push(&sqe.user_data(Op::Cancel.token(slot, generation)))?;
                }
            }
            return Ok(());
        }
        c.close_queued = true;
        let sqe = opcode::Close::new(types::Fd(fd))
            .build()
            .user_data(Op::Close.token(slot, generation));
        self.push(&sqe)
    }

    /// Queues one SQE, submitting early if the queue is full.
    pub(crate) fn push(&mut self, sqe: &squeue::Entry) -> Result<(), NetioError> {
        // SAFETY (for both pushes): every buffer an SQE points to (connection output, the wake buffer, the tick
        // timespec, the buffer ring) stays valid and unmoved until its completion or the driver's drop.
        if unsafe { self.ring.submission().push(sqe) }.is_ok() {
            return Ok(());
        }
        self.ring.submit()?;
        self.stats.early_submits += 1;
        unsafe { self.ring.submission().push(sqe) }
            .map_err(|_| NetioError::Io(io::Error::other("submission queue full after submit")))
    }

    pub(crate) fn mark_dirty(&mut self, slot: u32) {
        if let Some(c) = self.conns.get_mut(slot as usize).and_then(Option::as_mut) {
            if !c.dirty {
                c.dirty = true;
                self.dirty.push(slot);
            }
        }
    }

    fn conn_mut(&mut self, id: ConnId) -> Result<&mut Conn, NetioError> {
        match self.conns.get_mut(id.index()).and_then(Option::as_mut) {
            Some(c) if c.generation == id.generation() && c.closing == Closing::No => Ok(c),
            _ => Err(NetioError::UnknownConn),
        }
    }

    fn conn_ref(&self, id: ConnId) -> Option<&Conn> {
        match self.conns.get(id.index()).and_then(Option::as_ref) {
            Some(c) if c.generation == id.generation() && c.closing == Closing::No => Some(c),
            _ => None,
        }
    }

    /// Takes an accepted socket into a free slot; `None` (socket closed) when `connections_max` are open.
    pub(crate) fn adopt(&mut self, fd: RawFd) -> Option<ConnId> {
        let slot = match self.free_slots.pop() {
            Some(slot) => slot,
            None if self.conns.len() < self.config.connections_max as usize => {
                self.conns.push(None);
                self.generations.push(0);
                (self.conns.len() - 1) as u32
            }
            None => {
                // SAFETY: fd is the accepted socket, owned by nobody yet.
                unsafe { libc::close(fd) };
                self.stats.refused += 1;
                return None;
            }
        };
        let generation = self.generations[slot as usize];
        self.conns[slot as usize] = Some(Conn::new(fd, generation));
        self.open += 1;
        Some(ConnId::new(slot, generation))
    }

    /// Frees a slot after its Close completed.
    pub(crate) fn release(&mut self, slot: u32) {
        if let Some(entry) = self.conns.get_mut(slot as usize) {
            if entry.take().is_some() {
                self.open -= 1;
                // A descriptor came free: accepting may resume.
                self.accept_backoff = false;
                self.generations[slot as usize] =
                    (self.generations[slot as usize] + 1) & GENERATION_MASK;
                self.free_slots.push(slot);
            }
        }
    }
}

/// A Send of `buf` (at most 1 GiB per SQE; the rest goes as a partial send), without SIGPIPE.
pub(crate) fn send_sqe(fd: RawFd, buf: &[u8], slot: u32, generation: u32) -> squeue::Entry {
    let len = buf.len().min(1 << 30) as u32;
    opcode::Send::new(types::Fd(fd), buf.as_ptr(), len)
        .flags(libc::MSG_NOSIGNAL)
        .build()
        .user_data(Op::Send.token(slot, generation))
}

/// Peer address of an accepted socket, and TCP_NODELAY on it (replies go out at once, as the server does).
pub(crate) fn peer_of(fd: RawFd) -> io::Result<SocketAddr> {
    // SAFETY: borrow the fd as a TcpStream without taking ownership (into_raw_fd below gives it back).
    let stream = unsafe { std::net::TcpStream::from_raw_fd(fd) };
    let peer = stream.peer_addr();
    let _ = stream.set_nodelay(true);
    let _ = stream.into_raw_fd();
    peer
}

impl Drop for UringDriver {
    fn drop(&mut self) {
        // Queued Close SQEs still run (their connections no longer own their fds).
        let _ = self.ring.submit();
        // Cancel every operation and wait for it, so the kernel no longer writes provided buffers or reads
        // output buffers we are about to free; then the buffer ring can go.
        let _ = self
            .ring
            .submitter()
            .register_sync_cancel(None, types::CancelBuilder::any());
        let _ = self.ring.submitter().unregister_buf_ring(BUFFER_GROUP);
    }
}

mod figures;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for op in [
            Op::Accept,
            Op::Recv,
            Op::Send,
            Op::Close,
            Op::Cancel,
            Op::Tick,
            Op::Wake,
            Op::Watch,
        ] {
            for (slot, generation) in [
                (0, 0),
                (7, 1),
                (u32::MAX, GENERATION_MASK),
                (3, GENERATION_MASK + 5),
            ] {
                let decoded = Op::decode(op.token(slot, generation));
                assert_eq!(decoded, Some((op, generation & GENERATION_MASK, slot)));
            }
        }
        assert_eq!(Op::decode(0), None);
        assert_eq!(Op::decode(9 << 56), None);
    }
}
