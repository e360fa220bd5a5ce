//! What the server holds per client: a plain socket or a TLS stream, read and written the same way.
//! `Transport<TcpStream>` has `read_plain`, `write_plain_vectored` and `flush` with a socket's non-blocking
//! meaning and, with the `mio` feature, implements `mio::event::Source`, so the event loop's accept,
//! register, read and writev code keeps its shape (`read` becomes `read_plain`, `write_vectored` becomes
//! `write_plain_vectored`); the
//! TLS-only duties are [`Transport::wants_write`] (keep writable interest even with no reply left) and
//! [`Transport::handshake_expired`] (close stalled handshakes from the timer).

use crate::stream::TlsStream;
use rustls::pki_types::CertificateDer;
use std::io::{self, IoSlice, Read, Write};
use std::time::Instant;

/// A client connection: plain TCP or TLS over it.
#[derive(Debug)]
pub enum Transport<S> {
    /// The plain port.
    Plain(S),
    /// The TLS port (boxed: its state is about 1.2 KiB inline, which plain clients should not carry).
    Tls(Box<TlsStream<S>>),
}

impl<S> Transport<S> {
    /// Whether this is a TLS connection.
    pub fn is_tls(&self) -> bool {
        matches!(self, Transport::Tls(_))
    }

    /// Whether encrypted bytes still wait for the socket (always false for plain TCP). While true, keep
    /// writable interest and call `flush()` on writable events, even when the reply buffer is empty.
    pub fn wants_write(&self) -> bool {
        match self {
            Transport::Plain(_) => false,
            Transport::Tls(tls) => tls.wants_write(),
        }
    }

    /// Whether a TLS handshake is still running (false for plain TCP). Plaintext written meanwhile waits in
    /// rustls until the handshake completes, so a client closed "after its reply" must not be closed before.
    pub fn is_handshaking(&self) -> bool {
        match self {
            Transport::Plain(_) => false,
            Transport::Tls(tls) => tls.is_handshaking(),
        }
    }

    /// Whether decrypted input is waiting in the stream (read again without waiting for a readable event).
    pub fn has_buffered_input(&self) -> bool {
        match self {
            Transport::Plain(_) => false,
            Transport::Tls(tls) => tls.has_buffered_input(),
        }
    }

    /// Whether a TLS handshake is unfinished past its deadline at `now` (the server closes the client).
    pub fn handshake_expired(&self, now: Instant) -> bool {
        match self {
            Transport::Plain(_) => false,
            Transport::Tls(tls) => tls.handshake_expired(now),
        }
    }

    /// The peer's verified certificate chain, leaf first (TLS with a client certificate only).
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        match self {
            Transport::Plain(_) => None,
            Transport::Tls(tls) => tls.peer_certificates(),
        }
    }

    /// Heap bytes the transport holds beyond the socket (0 for plain TCP), for the memory budget.
    pub fn bytes(&self) -> usize {
        match self {
            Transport::Plain(_) => 0,
            Transport::Tls(tls) => tls.bytes(),
        }
    }

    /// The socket.
    pub fn socket(&self) -> &S {
        match self {
            Transport::Plain(sock) => sock,
            Transport::Tls(tls) => tls.get_ref(),
        }
    }

    /// The socket, mutably (registration, `set_nodelay`; never read or write a TLS socket directly).
    pub fn socket_mut(&mut self) -> &mut S {
        match self {
            Transport::Plain(sock) => sock,
            Transport::Tls(tls) => tls.get_mut(),
        }
    }
}

impl<S: Read + Write> Transport<S> {
    /// Sends TLS close_notify (nothing for plain TCP); call before dropping a client the server closes.
    pub fn close(&mut self) {
        if let Transport::Tls(tls) = self {
            tls.close();
        }
    }
}

impl<S: Read + Write> Transport<S> {
    /// Reads plaintext: the socket's `read` for plain TCP, [`TlsStream::read_plain`] for TLS (same
    /// `Ok(0)`/`WouldBlock` meaning; TLS adds `InvalidData` for protocol errors and `TimedOut` for a handshake
    /// past its deadline, both meaning "close").
    pub fn read_plain(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(sock) => sock.read(buf),
            Transport::Tls(tls) => tls.read_plain(buf),
        }
    }

    /// Writes plaintext (see [`TlsStream::write_plain`]).
    pub fn write_plain(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(sock) => sock.write(buf),
            Transport::Tls(tls) => tls.write_plain(buf),
        }
    }

    /// Writes plaintext from several buffers: `writev` for plain TCP, [`TlsStream::write_plain_vectored`].
    pub fn write_plain_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Plain(sock) => sock.write_vectored(bufs),
            Transport::Tls(tls) => tls.write_plain_vectored(bufs),
        }
    }

    /// Pushes queued TLS records to the socket (`WouldBlock` if some remain); nothing to do for plain TCP.
    pub fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(_) => Ok(()),
            Transport::Tls(tls) => tls.flush(),
        }
    }
}

#[cfg(feature = "mio")]
impl<S: mio::event::Source> mio::event::Source for Transport<S> {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        self.socket_mut().register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        self.socket_mut().reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
        self.socket_mut().deregister(registry)
    }
}

#[cfg(test)]
mod tests {
    /// Plain clients pay a tag and a socket; the TLS state (about 1.2 KiB inline) is behind the box.
    #[test]
    fn plain_clients_do_not_carry_tls_state() {
        let transport = std::mem::size_of::<crate::Transport<mio::net::TcpStream>>();
        let tls = std::mem::size_of::<crate::TlsStream<mio::net::TcpStream>>();
        assert!(transport <= 16, "{transport}");
        assert!(tls > 256, "{tls}");
    }
}
