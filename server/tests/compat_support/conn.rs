//! One connection to one server that reads whole RESP reply frames as raw bytes, with deadlines.

use super::compare::escape;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use zedis_resp::frame::{encode_command, parse_frame};

/// How long one reply may take.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a read did not produce a frame.
#[derive(Debug)]
pub enum ReadFail {
    /// The peer closed; what had arrived.
    Closed(Vec<u8>),
    /// No whole frame in time; what had arrived.
    Timeout(Vec<u8>),
    /// A socket error.
    Io(String),
    /// Bytes that are not RESP.
    Bad(String),
}

impl std::fmt::Display for ReadFail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadFail::Closed(b) => write!(f, "<connection closed; partial {}>", escape(b)),
            ReadFail::Timeout(b) => write!(f, "<timeout; partial {}>", escape(b)),
            ReadFail::Io(e) => write!(f, "<io error {e}>"),
            ReadFail::Bad(e) => write!(f, "<unparsable reply: {e}>"),
        }
    }
}

/// One connection to one server, with its unread input.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Connects to `port` on 127.0.0.1.
    pub fn open(port: u16) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_millis(100)))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
        })
    }

    /// Sends bytes.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), ReadFail> {
        self.stream
            .write_all(bytes)
            .map_err(|e| ReadFail::Io(e.to_string()))
    }

    /// Reads more input; `Ok(false)` on EOF.
    fn fill(&mut self, deadline: Instant) -> Result<bool, ReadFail> {
        let mut chunk = [0u8; 16384];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(true);
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if Instant::now() >= deadline {
                        return Err(ReadFail::Timeout(std::mem::take(&mut self.buf)));
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(false),
                Err(e) => return Err(ReadFail::Io(e.to_string())),
            }
        }
    }

    /// Reads one complete reply frame and returns its raw bytes.
    pub fn read_frame(&mut self) -> Result<Vec<u8>, ReadFail> {
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            match parse_frame(&self.buf) {
                Ok(Some((_, used))) => return Ok(self.buf.drain(..used).collect()),
                Ok(None) => {}
                Err(e) => return Err(ReadFail::Bad(format!("{e}: {}", escape(&self.buf)))),
            }
            if !self.fill(deadline)? {
                return Err(ReadFail::Closed(std::mem::take(&mut self.buf)));
            }
        }
    }

    /// After a command that must not be answered: waits `wait` for stray input and returns the frame that
    /// arrived, or an empty vector when nothing did.
    pub fn poll_stray(&mut self, wait: Duration) -> Result<Vec<u8>, ReadFail> {
        let deadline = Instant::now() + wait;
        let _ = self.stream.set_read_timeout(Some(Duration::from_millis(5)));
        let mut chunk = [0u8; 16384];
        while self.buf.is_empty() && Instant::now() < deadline {
            match self.stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(ReadFail::Io(e.to_string())),
            }
        }
        let _ = self
            .stream
            .set_read_timeout(Some(Duration::from_millis(100)));
        if self.buf.is_empty() {
            return Ok(Vec::new());
        }
        self.read_frame()
    }

    /// Sends `ECHO token` and discards frames until its echo arrives; returns how many were discarded.
    pub fn resync(&mut self, token: &str) -> Result<usize, ReadFail> {
        self.send(&encode(&[b"ECHO".to_vec(), token.as_bytes().to_vec()]))?;
        let expected = format!("${}\r\n{token}\r\n", token.len()).into_bytes();
        let mut discarded = 0;
        while self.read_frame()? != expected {
            discarded += 1;
        }
        Ok(discarded)
    }

    /// Reads everything until the server closes the connection.
    pub fn read_to_close(&mut self) -> Result<Vec<u8>, ReadFail> {
        let deadline = Instant::now() + READ_TIMEOUT;
        while self.fill(deadline)? {}
        Ok(std::mem::take(&mut self.buf))
    }
}

/// Encodes a command as a RESP multibulk (the protocol crate's client-side encoder).
pub fn encode(args: &[Vec<u8>]) -> Vec<u8> {
    let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let mut out = Vec::new();
    encode_command(&mut out, &args);
    out
}
