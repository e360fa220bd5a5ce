//! A blocking raw RESP client: sends commands as RESP arrays, returns each reply's exact bytes and its
//! decoded [`Frame`] (RESP2 and RESP3), with a wide read timeout.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use zedis_resp::{encode_command, parse_frame, Frame};

/// How long one reply may take before the read panics (the machine is loaded).
const READ_WAIT: Duration = Duration::from_secs(60);

/// A raw RESP connection to a server on 127.0.0.1.
pub struct RespClient {
    stream: TcpStream,
    /// Bytes read and not yet consumed by a reply.
    buf: Vec<u8>,
}

impl RespClient {
    /// Connects to 127.0.0.1:`port` with a 60 s read timeout.
    ///
    /// # Panics
    /// When the connection is refused.
    pub fn connect(port: u16) -> RespClient {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(READ_WAIT)).expect("timeout");
        RespClient {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends one command (not reading its reply).
    pub fn send(&mut self, args: &[&[u8]]) {
        let mut out = Vec::new();
        encode_command(&mut out, args);
        self.stream.write_all(&out).expect("write");
    }

    /// Reads one reply: its exact bytes and its frame.
    ///
    /// # Panics
    /// On invalid RESP, a closed connection or a read timeout.
    pub fn read_raw(&mut self) -> (Vec<u8>, Frame) {
        loop {
            if let Some((frame, used)) = parse_frame(&self.buf).expect("valid RESP") {
                let raw: Vec<u8> = self.buf.drain(..used).collect();
                return (raw, frame);
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads one more reply (a pushed pub/sub message, the next reply of a pipeline).
    pub fn read_frame(&mut self) -> Frame {
        self.read_raw().1
    }

    /// Sends one command and returns its reply's frame.
    pub fn call(&mut self, args: &[&[u8]]) -> Frame {
        self.send(args);
        self.read_frame()
    }

    /// Sends one command given as text arguments and returns its reply's frame.
    pub fn cmd(&mut self, args: &[&str]) -> Frame {
        self.call(&bytes_of(args))
    }

    /// Sends one command given as text arguments and returns its reply's exact bytes.
    pub fn raw(&mut self, args: &[&str]) -> Vec<u8> {
        self.send(&bytes_of(args));
        self.read_raw().0
    }

    /// Sends a command given as one line split on single spaces (`"CLUSTER SETSLOT 5 NODE id"`).
    pub fn line(&mut self, line: &str) -> Frame {
        let args: Vec<&str> = line.split(' ').collect();
        self.cmd(&args)
    }

    /// The reply to `line` as text (a bulk, simple or verbatim string).
    ///
    /// # Panics
    /// When the reply is of another type.
    pub fn text(&mut self, line: &str) -> String {
        match self.line(line) {
            Frame::Bulk(b) | Frame::Simple(b) => String::from_utf8_lossy(&b).into_owned(),
            Frame::Verbatim { text, .. } => String::from_utf8_lossy(&text).into_owned(),
            other => panic!("unexpected reply to {line}: {other:?}"),
        }
    }

    /// This connection's local `ip:port`, as the server sees its peer.
    pub fn local_addr(&self) -> String {
        self.stream.local_addr().expect("addr").to_string()
    }

    /// The socket, for tests that need it raw (timeouts, shutdown).
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }
}

/// Text arguments as byte slices.
fn bytes_of<'a>(args: &[&'a str]) -> Vec<&'a [u8]> {
    args.iter().map(|a| a.as_bytes()).collect()
}
