//! A client connection from either listener, TCP or Unix socket, behind one type the event loop can keep
//! in its client slots: `Read`/`Write` (with vectored writes), `mio::event::Source`, the raw descriptor,
//! and the `addr=`/`laddr=` texts CLIENT LIST shows (`ip:port`, or `<unixsocket>:0` as Redis shows Unix
//! clients). [`Listener`] accepts from either kind and applies `tcp-keepalive` to TCP clients.

use crate::listen::set_keepalive;
use crate::unix::UnixSocket;
use crate::DeployError;
use mio::event::Source;
use mio::net::{TcpListener, TcpStream, UnixStream};
use mio::{Interest, Registry, Token};
use std::io::{self, IoSlice, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;

/// A client socket.
#[derive(Debug)]
pub enum ClientStream {
    /// From a `bind` address.
    Tcp(TcpStream),
    /// From `unixsocket`.
    Unix(UnixStream),
}

/// Runs `$body` on the inner stream of either kind: one statically dispatched path for the calls both
/// `mio` stream types answer alike (a trait object would add an indirect call to every read and write).
macro_rules! on_stream {
    ($stream:expr, $inner:ident => $body:expr) => {
        match $stream {
            ClientStream::Tcp($inner) => $body,
            ClientStream::Unix($inner) => $body,
        }
    };
}

impl ClientStream {
    /// `TCP_NODELAY` for TCP (Redis sets it on every TCP client); nothing for a Unix socket.
    pub fn set_nodelay(&self) -> io::Result<()> {
        match self {
            ClientStream::Tcp(s) => s.set_nodelay(true),
            ClientStream::Unix(_) => Ok(()),
        }
    }

    /// The TCP peer, for protected mode (a Unix client is local: `None`).
    pub fn tcp_peer(&self) -> Option<SocketAddr> {
        match self {
            ClientStream::Tcp(s) => s.peer_addr().ok(),
            ClientStream::Unix(_) => None,
        }
    }

    /// Whether this is a Unix socket client (CLIENT LIST flag `U`).
    pub fn is_unix(&self) -> bool {
        matches!(self, ClientStream::Unix(_))
    }

    /// Shuts down both directions.
    pub fn shutdown(&self) -> io::Result<()> {
        on_stream!(self, s => s.shutdown(std::net::Shutdown::Both))
    }
}

impl Read for ClientStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        on_stream!(self, s => s.read(buf))
    }
}

impl Write for ClientStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        on_stream!(self, s => s.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        on_stream!(self, s => s.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Source for ClientStream {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        on_stream!(self, s => s.register(registry, token, interests))
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        on_stream!(self, s => s.reregister(registry, token, interests))
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        on_stream!(self, s => s.deregister(registry))
    }
}

impl AsRawFd for ClientStream {
    fn as_raw_fd(&self) -> RawFd {
        on_stream!(self, s => s.as_raw_fd())
    }
}

impl AsFd for ClientStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        on_stream!(self, s => s.as_fd())
    }
}

/// An accepted client: the stream and its CLIENT LIST `addr=` and `laddr=` texts.
#[derive(Debug)]
pub struct Accepted {
    /// The connection (non-blocking).
    pub stream: ClientStream,
    /// `ip:port` (IPv6 as `[::1]:port`, as Redis prints it) or `<unixsocket>:0`.
    pub addr: String,
    /// The local side, same forms.
    pub laddr: String,
}

/// `ip:port` as Redis's `anetFormatAddr` prints it in CLIENT LIST (`[::1]:6379` for IPv6).
pub fn redis_addr(addr: SocketAddr) -> String {
    addr.to_string()
}

/// A listener of either kind.
#[derive(Debug)]
pub enum Listener {
    /// A TCP listener for one `bind` address.
    Tcp(TcpListener),
    /// The `unixsocket` listener.
    Unix(UnixSocket),
}

impl Listener {
    /// Accepts one client; `tcp-keepalive` (seconds, 0 = off) is applied to TCP clients. `WouldBlock`
    /// when none is waiting.
    pub fn accept(&mut self, keepalive_s: u32) -> io::Result<Accepted> {
        match self {
            Listener::Tcp(listener) => {
                let (stream, peer) = listener.accept()?;
                if let Err(DeployError::SocketOption { source, .. }) =
                    set_keepalive(&stream, keepalive_s)
                {
                    crate::verbose!(
                        "Error configuring the socket: setsockopt SO_KEEPALIVE: {source}"
                    );
                }
                let laddr = stream.local_addr().map(redis_addr).unwrap_or_default();
                Ok(Accepted {
                    stream: ClientStream::Tcp(stream),
                    addr: redis_addr(peer),
                    laddr,
                })
            }
            Listener::Unix(socket) => {
                let (stream, _) = socket.listener().accept()?;
                let text = unix_addr(socket.path());
                Ok(Accepted {
                    stream: ClientStream::Unix(stream),
                    addr: text.clone(),
                    laddr: text,
                })
            }
        }
    }
}

/// `<path>:0`, Redis's address text for a Unix socket client.
pub fn unix_addr(path: &Path) -> String {
    format!("{}:0", path.display())
}

impl Listener {
    /// The listening socket of either kind, for the poller (registration is not on the per-request path).
    fn source(&mut self) -> &mut dyn Source {
        match self {
            Listener::Tcp(l) => l,
            Listener::Unix(u) => u.listener(),
        }
    }
}

impl Source for Listener {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.source().register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.source().reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.source().deregister(registry)
    }
}

impl crate::listen::Listeners {
    /// Every listener as one list (TCP first, then the Unix socket), to register with one token each.
    pub fn into_list(self) -> Vec<Listener> {
        let mut list: Vec<Listener> = self.tcp.into_iter().map(Listener::Tcp).collect();
        list.extend(self.unix.map(Listener::Unix));
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn accept_soon(listener: &mut Listener) -> Accepted {
        for _ in 0..2000 {
            match listener.accept(60) {
                Ok(a) => return a,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Err(e) => panic!("{e}"),
            }
        }
        panic!("no client");
    }

    #[test]
    fn both_kinds_accept_read_write_and_name_their_addresses() {
        let dir = std::env::temp_dir().join(format!("zedis-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let tcp = crate::listen::bind_tcp("127.0.0.1:0".parse().unwrap(), 16).unwrap();
        let port = tcp.local_addr().unwrap().port();
        let listeners = crate::listen::Listeners {
            tcp: vec![tcp],
            unix: Some(UnixSocket::bind(&path, 0, 16).unwrap()),
        };
        let mut list = listeners.into_list();
        let mut tcp_client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut unix_client = std::os::unix::net::UnixStream::connect(&path).unwrap();
        let mut a = accept_soon(&mut list[0]);
        let mut b = accept_soon(&mut list[1]);
        assert_eq!(a.addr, redis_addr(tcp_client.local_addr().unwrap()));
        assert_eq!(a.laddr, format!("127.0.0.1:{port}"));
        assert_eq!(b.addr, format!("{}:0", path.display()));
        assert_eq!(b.laddr, b.addr);
        assert!(a.stream.tcp_peer().is_some() && b.stream.tcp_peer().is_none());
        let keepalive = socket2::SockRef::from(&a.stream);
        assert_eq!(
            keepalive.tcp_keepalive_time().unwrap(),
            Duration::from_secs(60)
        );
        a.stream.set_nodelay().unwrap();
        b.stream.set_nodelay().unwrap();
        for (stream, client) in [
            (&mut a.stream, &mut tcp_client as &mut dyn ReadWrite),
            (&mut b.stream, &mut unix_client as &mut dyn ReadWrite),
        ] {
            client.write_all(b"PING\r\n").unwrap();
            let mut buf = [0u8; 16];
            let mut got = 0;
            for _ in 0..2000 {
                match stream.read(&mut buf[got..]) {
                    Ok(n) => got += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Err(e) => panic!("{e}"),
                }
                if got == 6 {
                    break;
                }
            }
            assert_eq!(&buf[..got], b"PING\r\n");
            let n = stream
                .write_vectored(&[IoSlice::new(b"+PO"), IoSlice::new(b"NG\r\n")])
                .unwrap();
            assert_eq!(n, 7);
            let mut reply = [0u8; 7];
            client.read_exact(&mut reply).unwrap();
            assert_eq!(&reply, b"+PONG\r\n");
        }
        assert_eq!(redis_addr("[::1]:6379".parse().unwrap()), "[::1]:6379");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    trait ReadWrite: Read + Write {}
    impl<T: Read + Write> ReadWrite for T {}
}
