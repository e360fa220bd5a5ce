//! `repl-diskless-load on-empty-db|swapdb`: the replica parses the RDB of a full resync straight from the
//! master's socket, in either framing (`$<len>` or `$EOF:<mark>`), instead of collecting the payload first
//! (`disabled`, `load.rs`). `on-empty-db` does so only when we hold no key.
//!
//! As Redis does (it puts the socket in blocking mode), the load runs to its end inside the event loop
//! turn: [`SocketReader`] waits for the socket with `poll(2)`, up to `repl-timeout` per wait.
//!
//! - `swapdb` keeps the current databases and function libraries aside while the new ones load: on success
//!   the old ones are dropped, on failure the half-loaded data is dropped and the old data comes back.
//! - `on-empty-db` (and `swapdb` failing) never keeps half data: a failed load empties the keyspace.
//!
//! A bad stream (truncated, corrupt, a broken EOF mark, a master that goes silent) is refused with a log line
//! naming why; the link is then retried.

use super::handshake::Framing;
use super::replica::{LinkState, READ_CHUNK_BYTES};
use crate::server::Core;
use crate::Strategy;
use std::io::{ErrorKind, Read};
use std::os::fd::{AsRawFd, RawFd};
use zedis_budget::{Component, GlobalBudget};
use zedis_deploy::stream::ClientStream;
use zedis_tls::Transport;

/// Bytes of the payload's start kept to read its AUX fields (`repl-stream-db`) after the load.
const HEAD_BYTES: usize = 16 * 1024;
/// Consumed bytes dropped from the reader's buffer once this many accumulate.
const COMPACT_BYTES: usize = 256 * 1024;
/// Most the reader's buffer holds (charged to the budget while a load runs).
const READER_BYTES_MAX: usize = COMPACT_BYTES + READ_CHUNK_BYTES + HEAD_BYTES;

/// What `swapdb` keeps aside during a load: the databases and the function libraries' code.
type Stash<A> = (Vec<zedis_keyspace::db::Db<A>>, Vec<Vec<u8>>);

/// The RDB payload read from the master's socket, ending where its framing says.
pub struct SocketReader {
    stream: Transport<ClientStream>,
    fd: RawFd,
    /// Received bytes; `buf[pos..]` not yet handed out.
    buf: Vec<u8>,
    pos: usize,
    framing: Framing,
    /// `$<len>`: payload bytes not yet handed out.
    remaining: u64,
    timeout_ms: i32,
    /// The payload's first bytes.
    head: Vec<u8>,
}

impl SocketReader {
    /// A reader over `stream` whose first received bytes (after the `$` line) are `buffered`.
    pub fn new(
        stream: Transport<ClientStream>,
        buffered: Vec<u8>,
        framing: Framing,
        timeout_ms: i32,
    ) -> SocketReader {
        let fd = stream.socket().as_raw_fd();
        let remaining = match framing {
            Framing::Length(len) => len,
            _ => 0,
        };
        SocketReader {
            stream,
            fd,
            buf: buffered,
            pos: 0,
            framing,
            remaining,
            timeout_ms,
            head: Vec::new(),
        }
    }

    /// Bytes that are surely payload.
    fn available(&self) -> usize {
        let unread = self.buf.len() - self.pos;
        match self.framing {
            Framing::Length(_) => unread.min(usize::try_from(self.remaining).unwrap_or(usize::MAX)),
            // The last 40 bytes received may be the end mark.
            Framing::Eof(_) => unread.saturating_sub(40),
            Framing::Header => 0,
        }
    }

    /// Whether the payload is known to have ended (all of `$<len>`, or only the mark is left).
    fn at_end(&self) -> bool {
        match &self.framing {
            Framing::Length(_) => self.remaining == 0,
            Framing::Eof(mark) => self.buf[self.pos..] == mark[..],
            Framing::Header => true,
        }
    }

    /// Receives more bytes, waiting up to the timeout.
    fn fill(&mut self) -> std::io::Result<()> {
        if self.pos >= COMPACT_BYTES {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read_plain(&mut chunk) {
                Ok(0) => {
                    return Err(std::io::Error::new(
                        ErrorKind::UnexpectedEof,
                        "the master closed the connection during the transfer",
                    ))
                }
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.wait()?,
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits until the socket is readable.
    fn wait(&mut self) -> std::io::Result<()> {
        // TLS: records rustls queued (alerts, key updates) go out first.
        let _ = self.stream.flush();
        let mut pfd = libc::pollfd {
            fd: self.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        loop {
            // SAFETY: one valid pollfd.
            let ready = unsafe { libc::poll(&mut pfd, 1, self.timeout_ms) };
            if ready > 0 {
                return Ok(());
            }
            if ready == 0 {
                return Err(std::io::Error::new(
                    ErrorKind::TimedOut,
                    "timeout while reading the RDB from the master",
                ));
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// After the RDB parser stopped: checks that the payload ends there (the EOF mark follows, or all of
    /// `$<len>` was used); returns the socket and the bytes received after the payload (the stream's
    /// start).
    pub fn finish(mut self) -> Result<(Transport<ClientStream>, Vec<u8>), String> {
        match self.framing.clone() {
            Framing::Eof(mark) => {
                while self.buf.len() - self.pos < 40 {
                    self.fill().map_err(|e| e.to_string())?;
                }
                if self.buf[self.pos..self.pos + 40] != mark[..] {
                    return Err("Replication stream EOF marker is broken".into());
                }
                self.pos += 40;
            }
            Framing::Length(_) if self.remaining > 0 => {
                return Err(format!(
                    "the RDB ended {} bytes before the length the master announced",
                    self.remaining
                ));
            }
            _ => {}
        }
        let rest = self.buf.split_off(self.pos);
        Ok((self.stream, rest))
    }

    /// Gives the socket back after a failure (it is closed by the retry).
    pub fn into_stream(self) -> Transport<ClientStream> {
        self.stream
    }
}

impl Read for SocketReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.available().min(out.len());
            if n > 0 {
                let bytes = &self.buf[self.pos..self.pos + n];
                out[..n].copy_from_slice(bytes);
                if self.head.len() < HEAD_BYTES {
                    let keep = n.min(HEAD_BYTES - self.head.len());
                    self.head.extend_from_slice(&bytes[..keep]);
                }
                self.pos += n;
                if matches!(self.framing, Framing::Length(_)) {
                    self.remaining -= n as u64;
                }
                return Ok(n);
            }
            if out.is_empty() || self.at_end() {
                return Ok(0);
            }
            self.fill()?;
        }
    }
}

impl<S: Strategy> Core<S> {
    /// Loads the RDB whose `$` line was read from the master's socket (see the module docs); on success
    /// the link is ready to become the master client.
    pub(super) fn repl_diskless_load(&mut self) -> Result<(), String> {
        let Some(link) = self.engine.repl.master.as_mut() else {
            return Ok(());
        };
        let state = std::mem::replace(&mut link.state, LinkState::Connect);
        let LinkState::Transfer {
            rx, replid, offset, ..
        } = state
        else {
            return Ok(());
        };
        let Some(stream) = link.stream.take() else {
            return Err("no socket".into());
        };
        let buffered = std::mem::take(&mut link.inbuf);
        let framing = rx.framing().clone();
        link.recharge(self.budget);
        let swapdb = self.config.get("repl-diskless-load") == "swapdb";
        let timeout_ms = (self.settings.repl_timeout_s as i64 * 1000).min(i32::MAX as i64) as i32;
        match &framing {
            Framing::Eof(_) => zedis_deploy::notice!(
                "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to parser"
            ),
            Framing::Length(len) => zedis_deploy::notice!(
                "MASTER <-> REPLICA sync: receiving {len} bytes from master to parser"
            ),
            Framing::Header => {}
        }
        // swapdb: the current data and libraries wait aside; else they go now.
        let old = swapdb.then(|| self.repl_stash_dataset());
        if old.is_none() {
            zedis_deploy::notice!("MASTER <-> REPLICA sync: Flushing old data");
            self.engine.ks.flush_all();
        }
        if let Some(scripting) = self.engine.scripting.as_mut() {
            let _ = scripting.function_flush();
        }
        zedis_deploy::notice!("MASTER <-> REPLICA sync: Loading DB in memory");
        self.budget
            .reserve(Component::Persistence, READER_BYTES_MAX);
        let mut reader = SocketReader::new(stream, buffered, framing, timeout_ms);
        let loaded = self.repl_rdb_load(&mut reader).map_err(|e| {
            format!("Failed trying to load the MASTER synchronization DB from socket: {e}")
        });
        let head = std::mem::take(&mut reader.head);
        let finished = match loaded {
            Ok(_) => reader.finish(),
            Err(e) => {
                drop(reader.into_stream());
                Err(e)
            }
        };
        self.budget
            .release(Component::Persistence, READER_BYTES_MAX);
        let (stream, rest) = match finished {
            Ok(done) => done,
            Err(e) => {
                self.repl_discard_load(old);
                return Err(e);
            }
        };
        if let Some((dbs, _)) = old {
            zedis_deploy::notice!("MASTER <-> REPLICA sync: Swapping active DB with loaded DB");
            zedis_deploy::notice!("MASTER <-> REPLICA sync: Discarding old DB");
            drop(dbs);
        }
        if let Some(link) = self.engine.repl.master.as_mut() {
            link.stream = Some(stream);
            link.inbuf = rest;
            link.recharge(self.budget);
        }
        self.repl_loaded(replid, offset, super::rdb::stream_db(&head));
        Ok(())
    }

    /// Takes every database out of the keyspace (left empty) and notes the function libraries' code.
    fn repl_stash_dataset(&mut self) -> Stash<S::Kv> {
        let functions = crate::scripting_cmds::library_codes(self);
        let ks = &mut self.engine.ks;
        let dbs = (0..ks.db_count())
            .map(|i| {
                let db = std::mem::take(ks.db_mut(i));
                // Cluster mode's per-slot key index stays on for the database that replaces it.
                if db.slot_index().is_some() {
                    let _ = ks.db_mut(i).enable_slot_index();
                }
                db
            })
            .collect();
        (dbs, functions)
    }

    /// A diskless load failed: the half-loaded data goes; with swapdb the stashed data comes back.
    fn repl_discard_load(&mut self, old: Option<Stash<S::Kv>>) {
        let Some((dbs, functions)) = old else {
            // Nothing else shares the allocator: the fast whole-keyspace reset is safe.
            self.engine.ks.flush_all();
            return;
        };
        zedis_deploy::notice!("MASTER <-> REPLICA sync: Discarding temporary DB");
        let ks = &mut self.engine.ks;
        for (i, db) in dbs.into_iter().enumerate() {
            // Key by key: the stashed databases live in the same allocator.
            ks.flush_db(i);
            *ks.db_mut(i) = db;
        }
        if let Some(scripting) = self.engine.scripting.as_mut() {
            let _ = scripting.function_flush();
            for code in &functions {
                let _ = scripting.function_load(code, false);
            }
        }
        crate::scripting_cmds::recharge(self);
        zedis_deploy::notice!("MASTER <-> REPLICA sync: Restored the dataset from before the sync");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write;

    /// Sends `bytes` in pieces of `piece` bytes from another thread, then closes.
    fn peer_sending(bytes: Vec<u8>, piece: usize) -> Transport<ClientStream> {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            let mut theirs = theirs;
            for chunk in bytes.chunks(piece.max(1)) {
                if theirs.write_all(chunk).is_err() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_micros(50));
            }
        });
        let ours = mio::net::UnixStream::from_std(ours);
        Transport::Plain(ClientStream::Unix(ours))
    }

    fn read_all(reader: &mut SocketReader) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = [0u8; 777];
        loop {
            match reader.read(&mut buf)? {
                0 => return Ok(out),
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }

    const MARK: [u8; 40] = *b"0123456789abcdefghij0123456789abcdefghij";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Whatever the pieces, the reader hands out the payload (read as the RDB parser reads it: exactly the
        /// bytes it needs) and leaves the stream after it.
        #[test]
        fn both_framings_end_exactly(payload in proptest::collection::vec(any::<u8>(), 0..3000),
                                     tail in proptest::collection::vec(any::<u8>(), 0..100),
                                     buffered in 0usize..200, piece in 1usize..500, eof in any::<bool>()) {
            let mut wire = payload.clone();
            if eof {
                wire.extend_from_slice(&MARK);
            }
            wire.extend_from_slice(&tail);
            let buffered = buffered.min(wire.len());
            let framing = if eof { Framing::Eof(MARK) } else { Framing::Length(payload.len() as u64) };
            let stream = peer_sending(wire[buffered..].to_vec(), piece);
            let mut reader = SocketReader::new(stream, wire[..buffered].to_vec(), framing, 10_000);
            let mut got = vec![0u8; payload.len()];
            reader.read_exact(&mut got).unwrap();
            prop_assert_eq!(&got, &payload);
            if !eof {
                prop_assert_eq!(reader.read(&mut [0u8; 8]).unwrap(), 0, "the announced length ends it");
            }
            let (_, rest) = reader.finish().unwrap();
            // What arrived after the payload is a prefix of the stream (the rest may still be in flight).
            prop_assert!(tail.starts_with(&rest));
        }
    }

    #[test]
    fn truncation_and_a_broken_mark_are_errors() {
        // `$<len>` cut short: the peer closes.
        let stream = peer_sending(b"REDIS".to_vec(), 2);
        let mut reader = SocketReader::new(stream, Vec::new(), Framing::Length(10), 10_000);
        let e = read_all(&mut reader).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnexpectedEof);
        // EOF framing: the payload stops at the mark, and a parser that wanted more sees the end.
        let mut wire = b"REDIS".to_vec();
        wire.extend_from_slice(&MARK);
        let mut reader = SocketReader::new(
            peer_sending(wire, 3),
            Vec::new(),
            Framing::Eof(MARK),
            10_000,
        );
        assert_eq!(read_all(&mut reader).unwrap(), b"REDIS");
        // A different mark: the bytes look like payload, then the peer closes.
        let mut wire = b"REDIS".to_vec();
        wire.extend_from_slice(&[b'x'; 40]);
        let mut reader = SocketReader::new(
            peer_sending(wire, 7),
            Vec::new(),
            Framing::Eof(MARK),
            10_000,
        );
        assert!(read_all(&mut reader).is_err());
        // The parser stopped early: the bytes where the mark should be are not it.
        let mut wire = b"REDIS".to_vec();
        wire.extend_from_slice(&MARK);
        let mut reader = SocketReader::new(
            peer_sending(wire, 64),
            Vec::new(),
            Framing::Eof(MARK),
            10_000,
        );
        let mut four = [0u8; 4];
        reader.read_exact(&mut four).unwrap();
        assert_eq!(
            reader.finish().unwrap_err(),
            "Replication stream EOF marker is broken"
        );
    }

    #[test]
    fn a_silent_master_times_out() {
        let (ours, _theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let stream = Transport::Plain(ClientStream::Unix(mio::net::UnixStream::from_std(ours)));
        let mut reader = SocketReader::new(stream, Vec::new(), Framing::Length(10), 50);
        let e = read_all(&mut reader).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut);
    }
}
