//! The completion side of a turn: each CQE updates its connection and may yield an [`Event`].

use io_uring::cqueue;

use crate::conn::{CloseReason, Closing, ConnId, State};
use crate::driver::{peer_of, send_sqe, Op, UringDriver};
use crate::Event;

/// Completions copied out of the queue at a time.
const CQE_BATCH_MAX: usize = 256;

impl UringDriver {
    /// Processes every completion in the queue. SQEs it queues (re-armed receives, the rest of partial sends,
    /// closes) go out with the next turn's `io_uring_enter`.
    pub(crate) fn complete(&mut self, events: &mut Vec<Event>) {
        // Completions are copied out in batches first (handling needs `&mut self`), into a reused vector.
        let mut batch = std::mem::take(&mut self.cqe_batch);
        loop {
            batch.clear();
            batch.extend(
                self.ring
                    .completion()
                    .take(CQE_BATCH_MAX)
                    .map(|cqe| (cqe.user_data(), cqe.result(), cqe.flags())),
            );
            if batch.is_empty() {
                break;
            }
            self.stats.completions += batch.len() as u64;
            for &(user_data, result, flags) in &batch {
                self.complete_one(user_data, result, flags, events);
            }
        }
        self.cqe_batch = batch;
    }

    fn complete_one(&mut self, user_data: u64, result: i32, flags: u32, events: &mut Vec<Event>) {
        let Some((op, generation, slot)) = Op::decode(user_data) else {
            return;
        };
        let more = cqueue::more(flags);
        match op {
            Op::Accept if generation != self.accept_generation => {
                // The accept of a replaced listener: a connection it took just before the cancel is closed.
                if result >= 0 {
                    // SAFETY: the accepted socket is owned by nobody else.
                    unsafe { libc::close(result) };
                }
            }
            Op::Accept => self.on_accept(result, more, events),
            Op::Recv => self.on_recv(slot, generation, result, flags, events),
            Op::Send => self.on_send(slot, generation, result, events),
            Op::Close => self.release(slot),
            Op::Cancel => {}
            Op::Tick => {
                if generation != self.tick_generation {
                    return;
                }
                if result == -libc::ETIME {
                    events.push(Event::Tick);
                    // A descriptor shortage pauses accepting until the next tick.
                    self.accept_backoff = false;
                }
                if !more {
                    self.tick_armed = false;
                }
            }
            Op::Watch => {
                self.watch_armed = false;
                if result >= 0 || result == -libc::ECANCELED {
                    events.push(Event::Readable);
                }
            }
            Op::Wake => {
                self.wake_armed = false;
                if result >= 0 {
                    events.push(Event::Woken);
                }
            }
        }
    }

    fn on_accept(&mut self, result: i32, more: bool, events: &mut Vec<Event>) {
        if !more {
            self.accept_armed = false;
        }
        if result < 0 {
            if matches!(
                -result,
                libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM
            ) {
                self.accept_backoff = true;
            }
            return;
        }
        let fd = result;
        let peer = match peer_of(fd) {
            Ok(peer) => peer,
            Err(_) => {
                // Reset before we saw it: nothing to report.
                // SAFETY: fd is the accepted socket, owned by nobody else.
                unsafe { libc::close(fd) };
                return;
            }
        };
        let Some(id) = self.adopt(fd) else {
            return;
        };
        self.stats.accepted += 1;
        events.push(Event::Accepted(id, peer));
        let _ = self.advance(id.slot());
    }

    fn on_recv(
        &mut self,
        slot: u32,
        generation: u32,
        result: i32,
        flags: u32,
        events: &mut Vec<Event>,
    ) {
        // Whatever happens, a buffer the kernel handed out must come back (dropping the RecvBuf does that).
        let buf = cqueue::buffer_select(flags).and_then(|bid| {
            let len = usize::try_from(result).unwrap_or(0);
            self.pool.received(bid, len)
        });
        let more = cqueue::more(flags);
        let Some(c) = self.conns.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
        if c.generation != generation {
            return;
        }
        if !more {
            c.recv_armed = false;
        }
        let id = ConnId::new(slot, generation);
        let reporting = c.closing == Closing::No;
        match result {
            n if n > 0 => {
                self.stats.bytes_received += n as u64;
                if let (Some(buf), true, State::Open) = (buf, reporting, c.state) {
                    c.awaiting_reply = true;
                    events.push(Event::Data(id, buf));
                }
            }
            0 => {
                c.recv_armed = false;
                if c.state == State::Open {
                    c.state = State::InputEnded;
                    if reporting {
                        events.push(Event::Closed(id, CloseReason::PeerClosed));
                    }
                }
            }
            e if -e == libc::ENOBUFS => {
                self.stats.recv_starved += 1;
                if !c.starved && c.state == State::Open {
                    c.starved = true;
                    self.starved.push(slot);
                }
            }
            e if -e == libc::ECANCELED => {}
            e => {
                if c.state != State::Failed {
                    c.state = State::Failed;
                    c.drop_output();
                    if reporting {
                        events.push(Event::Closed(id, CloseReason::from_errno(-e)));
                    }
                }
            }
        }
        if !more {
            let _ = self.advance(slot);
        }
    }

    fn on_send(&mut self, slot: u32, generation: u32, result: i32, events: &mut Vec<Event>) {
        let Some(c) = self.conns.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
        if c.generation != generation {
            return;
        }
        c.send_inflight = false;
        let id = ConnId::new(slot, generation);
        if result >= 0 {
            let n = result as usize;
            self.stats.bytes_sent += n as u64;
            c.sent = (c.sent + n).min(c.inflight.len());
            if c.sent < c.inflight.len() && c.closing != Closing::Now && c.state != State::Failed {
                if n == 0 {
                    // A send that moves nothing on a stream socket means it is gone.
                    c.state = State::Failed;
                } else {
                    // Partial send: the rest goes out with the next enter, before any newer output.
                    self.stats.partial_sends += 1;
                    c.send_inflight = true;
                    let sqe = send_sqe(c.fd, &c.inflight[c.sent..], slot, generation);
                    let _ = self.push(&sqe);
                    return;
                }
            }
            c.inflight.clear();
            c.sent = 0;
            let keep = self.config.output_keep_bytes_max;
            if c.inflight.capacity() > keep {
                c.inflight = Vec::new();
            }
            if c.staged.capacity() > keep && c.staged.is_empty() {
                c.staged = Vec::new();
            }
        } else if -result != libc::ECANCELED && c.state != State::Failed {
            let was_open = c.state == State::Open;
            c.state = State::Failed;
            c.inflight = Vec::new();
            c.sent = 0;
            c.drop_output();
            if was_open && c.closing == Closing::No {
                events.push(Event::Closed(id, CloseReason::from_errno(-result)));
            }
        } else {
            c.inflight = Vec::new();
            c.sent = 0;
        }
        let _ = self.advance(slot);
    }
}
