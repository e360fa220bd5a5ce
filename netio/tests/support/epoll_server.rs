//! The same ping application on a mio (epoll) loop written the simple way the server's is: read until
//! `WouldBlock`, run every complete command, write replies once per turn, writable interest only while a
//! reply does not fit the socket.

use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use super::app::Session;

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const CONN_BASE: usize = 2;
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// System calls the loop made, counted where it makes them (to compare with `strace -c`).
#[derive(Debug, Default, Clone, Copy)]
pub struct Syscalls {
    /// `epoll_wait`.
    pub polls: u64,
    /// `read` (recvfrom).
    pub reads: u64,
    /// `write` (sendto).
    pub writes: u64,
    /// `accept4`, `setsockopt(TCP_NODELAY)`, `epoll_ctl`, `close`.
    pub other: u64,
}

impl Syscalls {
    /// All of them.
    pub fn total(&self) -> u64 {
        self.polls + self.reads + self.writes + self.other
    }
}

struct Conn {
    stream: TcpStream,
    session: Session,
    /// Bytes of `session.out` already written.
    written: usize,
    want_write: bool,
}

/// Runs until `stop` is set and the waker fires; `ready` gets the waker.
pub fn run(
    listener: std::net::TcpListener,
    stop: &AtomicBool,
    commands: &AtomicU64,
    ready: impl FnOnce(mio::Waker),
) -> std::io::Result<Syscalls> {
    let mut sys = Syscalls::default();
    listener.set_nonblocking(true)?;
    let mut listener = TcpListener::from_std(listener);
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    ready(mio::Waker::new(poll.registry(), WAKER)?);
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut pending = Vec::new();
    let mut buf = vec![0u8; READ_CHUNK_BYTES];
    while !stop.load(Ordering::Relaxed) {
        sys.polls += 1;
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            match event.token() {
                LISTENER => accept_all(&listener, &poll, &mut conns, &mut sys),
                WAKER => {}
                Token(t) => {
                    let ck = t - CONN_BASE;
                    let Some(conn) = conns.get_mut(ck).and_then(Option::as_mut) else {
                        continue;
                    };
                    let mut closed = false;
                    if event.is_readable() || event.is_read_closed() || event.is_error() {
                        closed = read_conn(conn, &mut buf, commands, &mut sys);
                    }
                    if closed {
                        // Deliver what the last commands produced, then close.
                        if conn.written < conn.session.out.len() {
                            sys.writes += 1;
                            let _ = conn.stream.write(&conn.session.out[conn.written..]);
                        }
                        conns[ck] = None;
                        sys.other += 2; // epoll_ctl(DEL), close
                        continue;
                    }
                    if !conn.session.out.is_empty() {
                        pending.push(ck);
                    }
                }
            }
        }
        for ck in pending.drain(..) {
            if let Some(conn) = conns.get_mut(ck).and_then(Option::as_mut) {
                if !write_conn(conn, &poll, ck, &mut sys) {
                    conns[ck] = None;
                    sys.other += 2;
                }
            }
        }
    }
    Ok(sys)
}

fn accept_all(
    listener: &TcpListener,
    poll: &Poll,
    conns: &mut Vec<Option<Conn>>,
    sys: &mut Syscalls,
) {
    loop {
        sys.other += 1;
        match listener.accept() {
            Ok((mut stream, _peer)) => {
                let _ = stream.set_nodelay(true);
                sys.other += 2; // setsockopt, epoll_ctl(ADD)
                let ck = conns
                    .iter()
                    .position(Option::is_none)
                    .unwrap_or(conns.len());
                if ck == conns.len() {
                    conns.push(None);
                }
                if poll
                    .registry()
                    .register(&mut stream, Token(ck + CONN_BASE), Interest::READABLE)
                    .is_ok()
                {
                    conns[ck] = Some(Conn {
                        stream,
                        session: Session::default(),
                        written: 0,
                        want_write: false,
                    });
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
    }
}

/// Reads until a short read or `WouldBlock` and runs the commands; true when the connection ended.
fn read_conn(conn: &mut Conn, buf: &mut [u8], commands: &AtomicU64, sys: &mut Syscalls) -> bool {
    loop {
        sys.reads += 1;
        match conn.stream.read(buf) {
            Ok(0) => return true,
            Ok(n) => {
                match conn.session.input(&buf[..n]) {
                    Some(ran) => {
                        commands.fetch_add(ran, Ordering::Relaxed);
                    }
                    None => return true,
                }
                // As the server does: a short read means the socket is drained (saves the EAGAIN read).
                if n < buf.len() {
                    return false;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return true,
        }
    }
}

/// Writes what the socket takes; false when the connection must go.
fn write_conn(conn: &mut Conn, poll: &Poll, ck: usize, sys: &mut Syscalls) -> bool {
    while conn.written < conn.session.out.len() {
        sys.writes += 1;
        match conn.stream.write(&conn.session.out[conn.written..]) {
            Ok(0) => return false,
            Ok(n) => conn.written += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
    let drained = conn.written == conn.session.out.len();
    if drained {
        conn.session.out.clear();
        conn.written = 0;
        if conn.session.close_after_reply {
            return false;
        }
    }
    if drained == conn.want_write {
        conn.want_write = !drained;
        let interest = if drained {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        };
        let _ = poll
            .registry()
            .reregister(&mut conn.stream, Token(ck + CONN_BASE), interest);
    }
    true
}
