//! A test-only RESP responder on a mio event loop, holding each client as a `zedis_tls::Transport` and
//! driving it as the real server would: non-blocking reads until `WouldBlock`, replies written through
//! `write_vectored`, writable interest while output or TLS records are pending, stalled handshakes closed from
//! the timer. Commands: PING [msg], ECHO msg, QUIT, PEERCERTS (number of certificates the client presented).

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use std::collections::HashMap;
use std::io::{ErrorKind, IoSlice};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use zedis_tls::rustls::ServerConfig;
use zedis_tls::{StreamLimits, TlsStream, Transport};

const LISTENER: Token = Token(usize::MAX);
const INPUT_BYTES_MAX: usize = 4 << 20;

/// What the responder saw, for assertions.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Connections accepted.
    pub accepted: usize,
    /// Closed because the handshake passed its deadline.
    pub closed_timeout: usize,
    /// Closed on a TLS protocol error (garbage, bad certificate, ...).
    pub closed_protocol: usize,
    /// Closed at the peer's end of stream.
    pub closed_eof: usize,
    /// Open connections now.
    pub open: usize,
    /// Largest sum of `Transport::bytes()` over open connections seen.
    pub transport_bytes_max: usize,
    /// Sum of `Transport::bytes()` now.
    pub transport_bytes: usize,
    /// Commands answered.
    pub commands: usize,
}

/// A running responder; stopped and joined on drop.
pub struct RespServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// What it saw.
    pub stats: Arc<Mutex<Stats>>,
    /// The configuration new connections get (swap it to reload).
    pub config: Arc<Mutex<Arc<ServerConfig>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

struct Conn {
    transport: Transport<TcpStream>,
    input: Vec<u8>,
    output: Vec<u8>,
    close_after_write: bool,
    writable_interest: bool,
}

impl RespServer {
    /// Starts serving TLS with `config` and `limits`.
    pub fn start(config: Arc<ServerConfig>, limits: StreamLimits) -> RespServer {
        Self::start_with_hook(config, limits, || {})
    }

    /// As `start`, but every connection gets `-ERR max number of clients reached` at accept and is closed
    /// after it, the way the server refuses a client over `maxclients`.
    pub fn start_rejecting(config: Arc<ServerConfig>) -> RespServer {
        Self::spawn(config, StreamLimits::default(), || {}, true)
    }

    /// As `start`, running `hook` first on the responder's thread (the memory test marks it there).
    pub fn start_with_hook(
        config: Arc<ServerConfig>,
        limits: StreamLimits,
        hook: fn(),
    ) -> RespServer {
        Self::spawn(config, limits, hook, false)
    }

    fn spawn(
        config: Arc<ServerConfig>,
        limits: StreamLimits,
        hook: fn(),
        reject: bool,
    ) -> RespServer {
        let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).expect("bind");
        let port = listener.local_addr().unwrap().port();
        let poll = Poll::new().expect("poll");
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
            .unwrap();
        let stats = Arc::new(Mutex::new(Stats::default()));
        let config = Arc::new(Mutex::new(config));
        let stop = Arc::new(AtomicBool::new(false));
        let mut event_loop = Loop {
            poll,
            listener,
            conns: HashMap::new(),
            next: 0,
            limits,
            config: config.clone(),
            stats: stats.clone(),
            reject,
        };
        let stop_flag = stop.clone();
        let thread = std::thread::spawn(move || {
            hook();
            event_loop.run(&stop_flag)
        });
        RespServer {
            port,
            stats,
            config,
            stop,
            thread: Some(thread),
        }
    }

    /// A copy of the counters.
    pub fn stats(&self) -> Stats {
        self.stats.lock().unwrap().clone()
    }

    /// Waits (up to `timeout`) until `done(stats)` holds; returns the last stats.
    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&Stats) -> bool) -> Stats {
        let deadline = Instant::now() + timeout;
        loop {
            let stats = self.stats();
            if done(&stats) || Instant::now() >= deadline {
                return stats;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RespServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // A panic in the loop fails the test here.
            thread.join().expect("responder thread panicked");
        }
    }
}

struct Loop {
    poll: Poll,
    listener: TcpListener,
    conns: HashMap<usize, Conn>,
    next: usize,
    limits: StreamLimits,
    config: Arc<Mutex<Arc<ServerConfig>>>,
    stats: Arc<Mutex<Stats>>,
    /// Refuse every client with an error at accept.
    reject: bool,
}

enum Closed {
    Eof,
    Protocol,
    Timeout,
}

impl Loop {
    fn run(&mut self, stop: &AtomicBool) {
        let mut events = Events::with_capacity(256);
        while !stop.load(Ordering::Relaxed) {
            self.poll
                .poll(&mut events, Some(Duration::from_millis(20)))
                .expect("poll");
            for event in events.iter() {
                if event.token() == LISTENER {
                    self.accept_all();
                    continue;
                }
                let id = event.token().0;
                let mut outcome = None;
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    outcome = self.read(id);
                }
                if outcome.is_none() && event.is_writable() {
                    outcome = self.write(id);
                }
                if let Some(why) = outcome {
                    self.close(id, why);
                }
            }
            let now = Instant::now();
            let expired: Vec<usize> = self
                .conns
                .iter()
                .filter(|(_, c)| c.transport.handshake_expired(now))
                .map(|(&id, _)| id)
                .collect();
            for id in expired {
                self.close(id, Closed::Timeout);
            }
            let bytes: usize = self
                .conns
                .values()
                .map(|c| c.transport.bytes() + c.input.capacity())
                .sum();
            let mut stats = self.stats.lock().unwrap();
            stats.transport_bytes = bytes;
            stats.transport_bytes_max = stats.transport_bytes_max.max(bytes);
            stats.open = self.conns.len();
        }
    }

    fn accept_all(&mut self) {
        loop {
            let (sock, _) = match self.listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) => return,
            };
            let config = self.config.lock().unwrap().clone();
            let Ok(tls) = TlsStream::accept(sock, config, self.limits) else {
                continue;
            };
            let mut transport = Transport::Tls(Box::new(tls));
            let id = self.next;
            self.next += 1;
            self.poll
                .registry()
                .register(&mut transport, Token(id), Interest::READABLE)
                .unwrap();
            self.conns.insert(
                id,
                Conn {
                    transport,
                    input: Vec::new(),
                    output: Vec::new(),
                    close_after_write: false,
                    writable_interest: false,
                },
            );
            self.stats.lock().unwrap().accepted += 1;
            if self.reject {
                if let Some(conn) = self.conns.get_mut(&id) {
                    conn.output
                        .extend_from_slice(b"-ERR max number of clients reached\r\n");
                    conn.close_after_write = true;
                }
                if let Some(why) = self.write(id) {
                    self.close(id, why);
                }
            }
        }
    }

    fn read(&mut self, id: usize) -> Option<Closed> {
        let conn = self.conns.get_mut(&id)?;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match conn.transport.read_plain(&mut chunk) {
                Ok(0) => return Some(Closed::Eof),
                Ok(n) => {
                    conn.input.extend_from_slice(&chunk[..n]);
                    if conn.input.len() > INPUT_BYTES_MAX {
                        return Some(Closed::Protocol);
                    }
                    if n < chunk.len() {
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::TimedOut => return Some(Closed::Timeout),
                Err(_) => return Some(Closed::Protocol),
            }
        }
        let commands = respond(conn);
        self.stats.lock().unwrap().commands += commands;
        self.write(id)
    }

    fn write(&mut self, id: usize) -> Option<Closed> {
        let conn = self.conns.get_mut(&id)?;
        while !conn.output.is_empty() {
            match conn
                .transport
                .write_plain_vectored(&[IoSlice::new(&conn.output)])
            {
                Ok(n) => {
                    conn.output.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => return Some(Closed::Protocol),
            }
        }
        match conn.transport.flush() {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(_) => return Some(Closed::Protocol),
        }
        let pending = !conn.output.is_empty() || conn.transport.wants_write();
        // Plaintext written during the handshake waits in rustls until it completes.
        if !pending && conn.close_after_write && !conn.transport.is_handshaking() {
            return Some(Closed::Eof);
        }
        if pending != conn.writable_interest {
            conn.writable_interest = pending;
            let interest = if pending {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            self.poll
                .registry()
                .reregister(&mut conn.transport, Token(id), interest)
                .unwrap();
        }
        None
    }

    fn close(&mut self, id: usize, why: Closed) {
        let Some(mut conn) = self.conns.remove(&id) else {
            return;
        };
        conn.transport.close();
        let _ = self.poll.registry().deregister(&mut conn.transport);
        let mut stats = self.stats.lock().unwrap();
        match why {
            Closed::Eof => stats.closed_eof += 1,
            Closed::Protocol => stats.closed_protocol += 1,
            Closed::Timeout => stats.closed_timeout += 1,
        }
    }
}

/// Answers every complete command in `conn.input`; returns how many.
fn respond(conn: &mut Conn) -> usize {
    let mut done = 0;
    while let Some((args, used)) = parse(&conn.input) {
        conn.input.drain(..used);
        done += 1;
        let name = args
            .first()
            .map(|a| a.to_ascii_uppercase())
            .unwrap_or_default();
        match (name.as_slice(), args.len()) {
            (b"PING", 1) => conn.output.extend_from_slice(b"+PONG\r\n"),
            (b"PING" | b"ECHO", 2) => {
                conn.output
                    .extend_from_slice(format!("${}\r\n", args[1].len()).as_bytes());
                conn.output.extend_from_slice(&args[1]);
                conn.output.extend_from_slice(b"\r\n");
            }
            (b"QUIT", 1) => {
                conn.output.extend_from_slice(b"+OK\r\n");
                conn.close_after_write = true;
            }
            (b"PEERCERTS", 1) => {
                let n = conn.transport.peer_certificates().map_or(0, |c| c.len());
                conn.output
                    .extend_from_slice(format!(":{n}\r\n").as_bytes());
            }
            _ => conn.output.extend_from_slice(b"-ERR unknown command\r\n"),
        }
    }
    done
}

/// One command (RESP array of bulk strings, or an inline line) and the bytes it used.
fn parse(input: &[u8]) -> Option<(Vec<Vec<u8>>, usize)> {
    let line_end = |from: usize| {
        input[from..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|p| from + p)
    };
    let end = line_end(0)?;
    if input[0] != b'*' {
        let args = input[..end]
            .split(|&b| b == b' ')
            .filter(|a| !a.is_empty())
            .map(|a| a.to_vec())
            .collect();
        return Some((args, end + 2));
    }
    let count: usize = std::str::from_utf8(&input[1..end]).ok()?.parse().ok()?;
    let mut pos = end + 2;
    let mut args = Vec::new();
    for _ in 0..count.min(1024) {
        let end = line_end(pos)?;
        let len: usize = std::str::from_utf8(input.get(pos + 1..end)?)
            .ok()?
            .parse()
            .ok()?;
        let data = input.get(end + 2..end + 2 + len)?;
        args.push(data.to_vec());
        pos = end + 2 + len + 2;
        if pos > input.len() {
            return None;
        }
    }
    Some((args, pos))
}
