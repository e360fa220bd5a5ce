//! One fuzzer connection (raw bytes and decoded frames, pipelining, a reply deadline) and the printable forms
//! of bytes and commands a failure report shows.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use zedis_resp::{encode_command, parse_frame, Frame};

/// How long one reply may take (the machine is shared and loaded).
pub const REPLY_WAIT_MAX: Duration = Duration::from_secs(20);

/// One connection with its unread input.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Connects to 127.0.0.1:`port` (no Nagle delay; reads poll every 200 ms up to [`REPLY_WAIT_MAX`]).
    ///
    /// # Panics
    /// When the connection is refused.
    pub fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("read timeout");
        stream.set_nodelay(true).expect("nodelay");
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends a command and reads one reply: its raw bytes and its decoded frame.
    pub fn call(&mut self, args: &[Vec<u8>]) -> Result<(Vec<u8>, Frame), String> {
        self.send(&[args])?;
        self.read()
    }

    /// Sends commands in one write (a pipeline).
    pub fn send(&mut self, commands: &[&[Vec<u8>]]) -> Result<(), String> {
        let mut out = Vec::new();
        for args in commands {
            let parts: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            encode_command(&mut out, &parts);
        }
        self.stream.write_all(&out).map_err(|e| e.to_string())
    }

    /// Reads one reply.
    pub fn read(&mut self) -> Result<(Vec<u8>, Frame), String> {
        let deadline = Instant::now() + REPLY_WAIT_MAX;
        let mut chunk = [0u8; 16384];
        loop {
            match parse_frame(&self.buf) {
                Ok(Some((frame, used))) => return Ok((self.buf.drain(..used).collect(), frame)),
                Ok(None) => {}
                Err(e) => return Err(format!("unparsable reply {e}: {}", escape(&self.buf))),
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(format!("connection closed; partial {}", escape(&self.buf))),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if Instant::now() >= deadline {
                        return Err(format!("timeout; partial {}", escape(&self.buf)));
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }
}

/// Printable text for bytes: ASCII as is, other bytes (and CR/LF, backslash) as `\xNN`.
pub fn escape(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

/// A command as one readable line.
pub fn show(args: &[Vec<u8>]) -> String {
    args.iter()
        .map(|a| format!("\"{}\"", escape(a)))
        .collect::<Vec<_>>()
        .join(" ")
}
