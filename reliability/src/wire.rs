//! Raw protocol sockets: exact reply bytes, telling a closed connection from a silent one, closing with RST.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// A raw connection to a server.
pub struct Raw {
    /// The socket.
    pub stream: TcpStream,
    /// Bytes read but not yet consumed by a reply.
    pending: Vec<u8>,
}

/// What happened to a connection over a wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The peer closed it (EOF or reset), after sending these bytes.
    Closed(Vec<u8>),
    /// Still open after the wait; these bytes arrived meanwhile.
    Open(Vec<u8>),
}

impl Raw {
    /// Connects to 127.0.0.1:`port` (10 s read timeout).
    ///
    /// # Panics
    /// When the connection is refused.
    pub fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        Raw {
            stream,
            pending: Vec::new(),
        }
    }

    /// Wraps a connected socket.
    pub fn from_stream(stream: TcpStream) -> Raw {
        Raw {
            stream,
            pending: Vec::new(),
        }
    }

    /// Sends bytes (an error, such as a reset by the server, is returned, not a panic).
    pub fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads one complete RESP2/RESP3 reply and returns its exact bytes.
    ///
    /// # Panics
    /// When the connection closes or nothing complete arrives within 30 s.
    pub fn reply(&mut self) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(len) = reply_len(&self.pending) {
                return self.pending.drain(..len).collect();
            }
            assert!(
                Instant::now() < deadline,
                "no complete reply: {:?}",
                self.text()
            );
            let mut buf = [0u8; 65536];
            match self.stream.read(&mut buf) {
                Ok(0) => panic!("connection closed before a reply: {:?}", self.text()),
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if is_timeout(&e) => {}
                Err(e) => panic!("read: {e}; got {:?}", self.text()),
            }
        }
    }

    /// Sends `request` and returns the reply as text.
    pub fn call(&mut self, request: &str) -> String {
        self.send(request.as_bytes()).expect("send");
        String::from_utf8_lossy(&self.reply()).into_owned()
    }

    /// Sends `request` and returns the reply as text, or `None` when the server closes the connection first
    /// (SHUTDOWN, QUIT, a limit).
    pub fn call_or_closed(&mut self, request: &str) -> Option<String> {
        self.send(request.as_bytes()).ok()?;
        match self.watch(Duration::from_secs(30)) {
            Outcome::Closed(bytes) if bytes.is_empty() => None,
            Outcome::Closed(bytes) | Outcome::Open(bytes) => {
                Some(String::from_utf8_lossy(&bytes).into_owned())
            }
        }
    }

    /// Reads for up to `wait`, stopping early when the peer closes the connection.
    pub fn watch(&mut self, wait: Duration) -> Outcome {
        self.watch_for(usize::MAX, wait)
    }

    /// Like [`Raw::watch`], but also stops as soon as `len` bytes have arrived (then `Outcome::Open`).
    pub fn watch_for(&mut self, len: usize, wait: Duration) -> Outcome {
        let deadline = Instant::now() + wait;
        let mut got = std::mem::take(&mut self.pending);
        let mut buf = [0u8; 65536];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || got.len() >= len {
                return Outcome::Open(got);
            }
            let _ = self
                .stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))));
            match self.stream.read(&mut buf) {
                Ok(0) => return Outcome::Closed(got),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if is_timeout(&e) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Outcome::Closed(got),
            }
        }
    }

    /// Whether the peer closes the connection within `wait` (bytes it sends meanwhile are dropped).
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        matches!(self.watch(wait), Outcome::Closed(_))
    }

    /// Closes with a TCP RST instead of a FIN (`SO_LINGER` with a zero timeout).
    pub fn reset(self) {
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: setsockopt on an open socket with a correctly sized `linger`.
        unsafe {
            libc::setsockopt(
                self.stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
        drop(self.stream);
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.pending).into_owned()
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// The length of the first complete reply in `buf`, if it is all there.
fn reply_len(buf: &[u8]) -> Option<usize> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
    let after = line_end + 2;
    // Only a length header is read as text: a simple string or error may hold any bytes but CR/LF.
    let header = || std::str::from_utf8(&buf[1..line_end]).ok();
    match buf.first()? {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Some(after),
        b'$' | b'!' | b'=' => {
            let len: i64 = header()?.parse().ok()?;
            if len < 0 {
                return Some(after);
            }
            let end = after + len as usize + 2;
            (buf.len() >= end).then_some(end)
        }
        b'*' | b'>' | b'~' | b'%' | b'|' => {
            let count: i64 = header()?.parse().ok()?;
            let items = if matches!(buf[0], b'%' | b'|') {
                count * 2
            } else {
                count
            };
            let mut at = after;
            for _ in 0..items.max(0) {
                at += reply_len(&buf[at..])?;
            }
            Some(at)
        }
        _ => Some(after),
    }
}

/// A field of `INFO <section>` through a `redis` connection (`None` when absent).
pub fn info_field(conn: &mut redis::Connection, section: &str, field: &str) -> Option<String> {
    let info: String = redis::cmd("INFO").arg(section).query(conn).ok()?;
    let prefix = format!("{field}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::reply_len;

    #[test]
    fn reply_len_needs_whole_replies() {
        assert_eq!(reply_len(b"+OK\r\n+x"), Some(5));
        assert_eq!(reply_len(b"$3\r\nab"), None);
        assert_eq!(reply_len(b"$3\r\nabc\r\n"), Some(9));
        assert_eq!(reply_len(b"*2\r\n$1\r\na\r\n:1\r\n"), Some(15));
        assert_eq!(reply_len(b"*2\r\n$1\r\na\r\n"), None);
        assert_eq!(reply_len(b"%1\r\n+a\r\n+b\r\n"), Some(12));
        assert_eq!(reply_len(b"$-1\r\n"), Some(5));
        assert_eq!(reply_len(b"-ERR '\xff'\r\n+"), Some(10));
    }
}
