//! A non-blocking TLS connection over any `Read + Write` socket (a mio `TcpStream` in the server). Its
//! plaintext calls behave like a non-blocking socket's: [`TlsStream::read_plain`] returns `WouldBlock` when
//! nothing is buffered and the socket has nothing, `Ok(0)` at end of stream; a read shorter than the buffer
//! means both rustls and the socket are drained (so "a short read means drained" holds as for TCP).
//! [`TlsStream::write_plain`] encrypts into rustls's bounded send buffer and returns `WouldBlock` while earlier
//! records are still waiting for the socket.
//!
//! The handshake runs inside those calls; it must finish before [`StreamLimits::handshake_timeout`] or every
//! call fails with `TimedOut` (the event loop also polls [`TlsStream::handshake_expired`] from its timer, for
//! a peer that sends nothing at all). Buffers are rustls's, which are bounded and do not grow from lengths a
//! peer declares: incoming records at most one record (~16 KiB) outside the handshake and 64 KiB while joining
//! handshake messages, decrypted input at most 16 KiB plus one record, outgoing records
//! [`StreamLimits::send_buffer_bytes_max`].
//!
//! The stream deliberately does not implement `std::io::Read`/`Write`: `Read::bytes` would shadow the memory
//! accounting [`TlsStream::bytes`], and the explicit names keep "plaintext" visible at the call site.

use crate::TlsError;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection};
use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Redis has no handshake timeout of its own; ten seconds is ample for a real client and short for a staller.
pub const HANDSHAKE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10);
/// rustls's default cap on encrypted-but-unsent plus plaintext-not-yet-encrypted bytes.
pub const SEND_BUFFER_BYTES_MAX_DEFAULT: usize = 64 * 1024;
/// Heap a connection holds beyond its buffered bytes once established: rustls's state, record keys and
/// buffers' spare capacity (the `memory` test measures about 8 KiB per idle connection on x86-64).
pub const CONNECTION_BYTES_BASE: usize = 10 * 1024;
/// Extra heap while the handshake runs (transcript, key shares, peer chain), on top of the handshake bytes
/// received so far (the `memory` test measures about 14 KiB per unfinished handshake holding up to 8 KiB).
pub const HANDSHAKE_BYTES_EXTRA: usize = 6 * 1024;
/// Most handshake input rustls holds: a 64 KiB handshake message being joined plus one record.
const HANDSHAKE_INPUT_BYTES_MAX: usize = 64 * 1024 + 16 * 1024 + 5;

/// Per-connection limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Time from accept (or connect) to a finished handshake.
    pub handshake_timeout: Duration,
    /// Cap on rustls's outgoing buffers; writes return `WouldBlock` beyond it.
    pub send_buffer_bytes_max: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            handshake_timeout: HANDSHAKE_TIMEOUT_DEFAULT,
            send_buffer_bytes_max: SEND_BUFFER_BYTES_MAX_DEFAULT,
        }
    }
}

/// One TLS connection: rustls's state machine plus the socket it runs over.
#[derive(Debug)]
pub struct TlsStream<S> {
    conn: Connection,
    sock: S,
    /// `Some` exactly while the handshake has not completed.
    handshake_deadline: Option<Instant>,
    /// Decrypted bytes rustls holds for [`TlsStream::read_plain`] (from the last processing, minus reads).
    plaintext_buffered: usize,
    /// Estimate of encrypted bytes rustls holds for the socket (0 when it has none).
    tls_buffered: usize,
    /// Bytes received while handshaking, capped at what rustls can hold then (charged until it completes).
    handshake_input_bytes: usize,
}

fn protocol_error(error: rustls::Error) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, error)
}

impl<S: Read + Write> TlsStream<S> {
    /// Server side of an accepted socket; the handshake starts with the first read.
    pub fn accept(
        sock: S,
        config: Arc<ServerConfig>,
        limits: StreamLimits,
    ) -> Result<Self, TlsError> {
        let conn = ServerConnection::new(config).map_err(|source| TlsError::Rustls {
            context: "new TLS server connection".to_owned(),
            source,
        })?;
        Ok(Self::new(conn.into(), sock, limits))
    }

    /// Client side over a connected (or connecting) socket, for replication and cluster links. The
    /// certificate is checked against the configured CA, not against `server_name` (see
    /// [`crate::verify`]); `server_name` is still sent as SNI when it is a DNS name.
    pub fn connect(
        sock: S,
        config: Arc<ClientConfig>,
        server_name: ServerName<'static>,
        limits: StreamLimits,
    ) -> Result<Self, TlsError> {
        let conn =
            ClientConnection::new(config, server_name).map_err(|source| TlsError::Rustls {
                context: "new TLS client connection".to_owned(),
                source,
            })?;
        Ok(Self::new(conn.into(), sock, limits))
    }

    fn new(mut conn: Connection, sock: S, limits: StreamLimits) -> Self {
        conn.set_buffer_limit(Some(limits.send_buffer_bytes_max));
        TlsStream {
            conn,
            sock,
            handshake_deadline: Some(Instant::now() + limits.handshake_timeout),
            plaintext_buffered: 0,
            tls_buffered: 0,
            handshake_input_bytes: 0,
        }
    }

    /// Reads decrypted bytes. `Ok(0)` is the end of the stream (close_notify or TCP EOF); `WouldBlock` means
    /// nothing is available yet; `InvalidData` is a TLS protocol error (the alert has been sent: close);
    /// `TimedOut` is a handshake past its deadline (close).
    pub fn read_plain(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.check_deadline()?;
        let mut filled = 0;
        loop {
            match self.conn.reader().read(&mut buf[filled..]) {
                // close_notify received: end of stream after what this call read.
                Ok(0) => return Ok(filled),
                Ok(n) => {
                    filled += n;
                    self.plaintext_buffered = self.plaintext_buffered.saturating_sub(n);
                    if filled == buf.len() {
                        return Ok(filled);
                    }
                    continue;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                // TCP EOF without close_notify: still the end (Redis's clients often close that way).
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(filled),
                Err(e) => return Err(e),
            }
            match self.conn.read_tls(&mut self.sock) {
                // EOF is recorded by rustls; the reader reports it above once the buffer is drained.
                Ok(n) => self.count_handshake_input(n),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock && filled > 0 => return Ok(filled),
                Err(e) => return Err(e),
            }
            self.process()?;
        }
    }

    /// Encrypts up to `buf.len()` bytes; returns how many were taken. `WouldBlock` while earlier records still
    /// wait for the socket or the send buffer is full: call again (or [`TlsStream::flush`]) on writable.
    pub fn write_plain(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_plain_vectored(&[IoSlice::new(buf)])
    }

    /// [`TlsStream::write_plain`] over several buffers (the server's writev path).
    pub fn write_plain_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.check_deadline()?;
        self.flush()?;
        let wanted: usize = bufs.iter().map(|b| b.len()).sum();
        let n = self.conn.writer().write_vectored(bufs)?;
        if n == 0 && wanted > 0 {
            return Err(ErrorKind::WouldBlock.into());
        }
        // Each record adds a header and an AEAD tag (at most 22 bytes per 16 KiB record).
        self.tls_buffered += n + 22 * n.div_ceil(16 * 1024);
        self.flush_quiet()?;
        Ok(n)
    }

    /// Writes queued TLS records to the socket; `WouldBlock` if some remain (keep writable interest).
    pub fn flush(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => self.tls_buffered = self.tls_buffered.saturating_sub(n),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.tls_buffered = 0;
        Ok(())
    }

    fn flush_quiet(&mut self) -> io::Result<()> {
        match self.flush() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(()),
            other => other,
        }
    }

    /// Drives the handshake alone (outgoing links, or a server that wants it done before reading): `Ok(())`
    /// once complete, `WouldBlock` while waiting for the peer. Application data that arrived with the last
    /// handshake flight stays buffered for [`TlsStream::read_plain`] (see [`TlsStream::has_buffered_input`]).
    pub fn handshake(&mut self) -> io::Result<()> {
        self.check_deadline()?;
        loop {
            self.flush()?;
            if !self.conn.is_handshaking() {
                return Ok(());
            }
            match self.conn.read_tls(&mut self.sock) {
                Ok(0) => {
                    return Err(io::Error::new(
                        ErrorKind::UnexpectedEof,
                        "peer closed during TLS handshake",
                    ))
                }
                Ok(n) => self.count_handshake_input(n),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            self.process()?;
        }
    }

    fn count_handshake_input(&mut self, n: usize) {
        if self.handshake_deadline.is_some() {
            self.handshake_input_bytes =
                (self.handshake_input_bytes + n).min(HANDSHAKE_INPUT_BYTES_MAX);
        }
    }

    /// Sends close_notify (best effort: what the socket does not take now is dropped with the connection).
    pub fn close(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush_quiet();
    }

    fn process(&mut self) -> io::Result<()> {
        match self.conn.process_new_packets() {
            Ok(state) => {
                self.plaintext_buffered = state.plaintext_bytes_to_read();
                self.tls_buffered = state.tls_bytes_to_write();
            }
            Err(error) => {
                // rustls queued an alert for the peer: send it, then report.
                let _ = self.flush();
                return Err(protocol_error(error));
            }
        }
        if !self.conn.is_handshaking() {
            self.handshake_deadline = None;
            self.handshake_input_bytes = 0;
        }
        self.flush_quiet()
    }

    fn check_deadline(&mut self) -> io::Result<()> {
        if self.handshake_expired(Instant::now()) {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                "TLS handshake timed out",
            ));
        }
        Ok(())
    }
}

impl<S> TlsStream<S> {
    /// Whether the handshake is still running.
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// When the handshake must have finished (`None` once it has).
    pub fn handshake_deadline(&self) -> Option<Instant> {
        self.handshake_deadline
    }

    /// Whether the handshake is unfinished at `now` past its deadline (the server closes such a client).
    pub fn handshake_expired(&self, now: Instant) -> bool {
        self.handshake_deadline
            .is_some_and(|deadline| now >= deadline)
    }

    /// Whether encrypted bytes wait for the socket: keep (or ask for) writable interest and call
    /// [`TlsStream::flush`] when writable, even with no plaintext left to write.
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Whether decrypted input is buffered (read it even without a readable event: the socket has no more).
    pub fn has_buffered_input(&self) -> bool {
        self.plaintext_buffered > 0
    }

    /// The peer's certificate chain, leaf first, once the handshake verified it (`None` if none was sent:
    /// `tls-auth-clients no`/`optional`).
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.conn.peer_certificates()
    }

    /// The negotiated protocol version ("TLSv1.3"), once known.
    pub fn protocol_name(&self) -> Option<&'static str> {
        match self.conn.protocol_version()? {
            rustls::ProtocolVersion::TLSv1_3 => Some("TLSv1.3"),
            rustls::ProtocolVersion::TLSv1_2 => Some("TLSv1.2"),
            other => other.as_str(),
        }
    }

    /// The negotiated cipher suite's IANA name, once known.
    pub fn cipher_suite_name(&self) -> Option<&'static str> {
        self.conn
            .negotiated_cipher_suite()
            .and_then(|s| s.suite().as_str())
    }

    /// Heap bytes this connection holds, for the memory budget: a measured base, plus while handshaking a
    /// measured extra and the handshake bytes received, plus the plaintext and records rustls reports
    /// buffered. An estimate from above (the `memory` test checks it against a counting allocator).
    pub fn bytes(&self) -> usize {
        let handshake = if self.handshake_deadline.is_some() {
            HANDSHAKE_BYTES_EXTRA + self.handshake_input_bytes
        } else {
            0
        };
        CONNECTION_BYTES_BASE + handshake + self.plaintext_buffered + self.tls_buffered
    }

    /// The socket.
    pub fn get_ref(&self) -> &S {
        &self.sock
    }

    /// The socket, mutably (to register it with a poller; reading or writing it directly breaks the stream).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.sock
    }
}
