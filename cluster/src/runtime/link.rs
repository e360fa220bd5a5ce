//! One bus link's socket and buffers, and the socket set-up the bus needs (listeners with
//! `SO_REUSEADDR` / `IPV6_V6ONLY`, nonblocking connects from an optional source address).

use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr};

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::bus::FrameReader;
use crate::state::LinkId;

/// Capacity a drained send buffer or an idle receive buffer keeps.
pub(crate) const IDLE_BUFFER_BYTES: usize = 16 << 10;
/// Bytes one `read` asks for.
const READ_CHUNK_BYTES: usize = 16 << 10;

/// A bus connection: the socket, its receive framing and its send buffer.
#[derive(Debug)]
pub(crate) struct BusLink {
    pub(crate) id: LinkId,
    pub(crate) stream: TcpStream,
    pub(crate) reader: FrameReader,
    /// Bytes to send; `out[out_pos..]` is pending. Invariant: `out_pos <= out.len()`.
    pub(crate) out: Vec<u8>,
    pub(crate) out_pos: usize,
    /// Outbound link whose `connect()` has not completed yet.
    pub(crate) connecting: bool,
    /// Interest registered with the poller (WRITABLE only while output is pending or connecting).
    pub(crate) writable_interest: bool,
    /// When the link was created (connect deadline), Unix ms.
    pub(crate) ctime_ms: u64,
}

/// What one read from a link produced.
pub(crate) enum ReadOutcome {
    /// This many bytes were added to the reader: take its frames, then read again.
    Data(usize),
    /// Nothing more now (the poller is edge-triggered: it reports the link again when bytes arrive).
    Drained,
    /// EOF or an error: close the link.
    Closed,
}

impl BusLink {
    pub(crate) fn new(
        id: LinkId,
        stream: TcpStream,
        connecting: bool,
        frame_bytes_max: usize,
        now_ms: u64,
    ) -> BusLink {
        BusLink {
            id,
            stream,
            reader: FrameReader::new(frame_bytes_max),
            out: Vec::new(),
            out_pos: 0,
            connecting,
            writable_interest: connecting,
            ctime_ms: now_ms,
        }
    }

    /// Pending output bytes.
    pub(crate) fn pending(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Heap bytes held by the link's buffers.
    pub(crate) fn bytes(&self) -> usize {
        std::mem::size_of::<BusLink>() + self.out.capacity() + self.reader.bytes()
    }

    /// One read (up to 16 KiB) into the frame reader. The caller takes the complete frames after each
    /// call, so the buffer holds at most one partial packet plus one read.
    pub(crate) fn read_chunk(&mut self) -> ReadOutcome {
        let mut chunk = [0u8; READ_CHUNK_BYTES];
        loop {
            return match self.stream.read(&mut chunk) {
                Ok(0) => ReadOutcome::Closed,
                Ok(n) => {
                    self.reader.push(&chunk[..n]);
                    ReadOutcome::Data(n)
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => ReadOutcome::Drained,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => ReadOutcome::Closed,
            };
        }
    }

    /// Writes pending output until the socket would block; `Err` means the link is dead.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        if self.connecting {
            return Ok(());
        }
        while self.out_pos < self.out.len() {
            match self.stream.write(&self.out[self.out_pos..]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
            if self.out.capacity() > 4 * IDLE_BUFFER_BYTES {
                self.out.shrink_to(IDLE_BUFFER_BYTES);
            }
        } else if self.out_pos > self.out.len() / 2 {
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
        }
        Ok(())
    }

    /// Registers WRITABLE interest exactly while it is needed.
    pub(crate) fn update_interest(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let want = self.connecting || self.pending() > 0;
        if want != self.writable_interest {
            let interest = if want {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            registry.reregister(&mut self.stream, token, interest)?;
            self.writable_interest = want;
        }
        Ok(())
    }

    /// An outbound connect has finished: `Ok(Some(local ip))` connected, `Ok(None)` still in progress,
    /// `Err` failed.
    pub(crate) fn finish_connect(&mut self) -> io::Result<Option<String>> {
        if let Some(e) = self.stream.take_error()? {
            return Err(e);
        }
        match self.stream.peer_addr() {
            Ok(_) => {
                self.connecting = false;
                let _ = self.stream.set_nodelay(true);
                Ok(Some(
                    self.stream
                        .local_addr()
                        .map(|a| a.ip().to_string())
                        .unwrap_or_default(),
                ))
            }
            Err(e) if e.kind() == ErrorKind::NotConnected => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A bus listener on `ip:port` (`SO_REUSEADDR`; IPv6 sockets are v6-only so `*` and `::*` can both bind),
/// backlog 511 as Redis's `tcp-backlog` default.
pub(crate) fn listen(ip: IpAddr, port: u16) -> io::Result<TcpListener> {
    let addr = SocketAddr::new(ip, port);
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if ip.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.bind(&SockAddr::from(addr))?;
    socket.listen(511)?;
    socket.set_nonblocking(true)?;
    Ok(TcpListener::from_std(socket.into()))
}

/// Starts a nonblocking connect to `addr`, from `source` when given (Redis's `bind-source-addr`).
pub(crate) fn connect(addr: SocketAddr, source: Option<IpAddr>) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    if let Some(ip) = source {
        socket.bind(&SockAddr::from(SocketAddr::new(ip, 0)))?;
    }
    match socket.connect(&SockAddr::from(addr)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    Ok(TcpStream::from_std(socket.into()))
}

/// Parses one of Redis's `bind` addresses: `*` (every IPv4 address), `::*` (every IPv6 address), an IP;
/// a leading `-` marks it optional (a failure to bind it is ignored). `None` when not an address.
pub fn parse_bind(text: &str) -> Option<(IpAddr, bool)> {
    let (optional, addr) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let ip = match addr {
        "*" => IpAddr::from([0u8, 0, 0, 0]),
        "::*" => IpAddr::from([0u16; 8]),
        other => other.parse().ok()?,
    };
    Some((ip, optional))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_syntax() {
        assert_eq!(parse_bind("*"), Some((IpAddr::from([0u8, 0, 0, 0]), false)));
        assert_eq!(parse_bind("-::*"), Some((IpAddr::from([0u16; 8]), true)));
        assert_eq!(
            parse_bind("127.0.0.1"),
            Some((IpAddr::from([127u8, 0, 0, 1]), false))
        );
        assert_eq!(parse_bind("localhost"), None);
    }
}
