//! Test helpers: a real `redis-server` (the reference) started on a free port with its files in a temp dir and
//! killed by PID, and a raw RESP client that returns both the reply bytes and the parsed frame.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zedis_resp::{encode_command, parse_frame, Frame};

/// A spawned `redis-server`, killed by PID on drop; its working directory removed then.
pub struct RedisProcess {
    child: Child,
    /// Its port.
    pub port: u16,
    dir: std::path::PathBuf,
}

impl RedisProcess {
    /// Starts `redis-server --save '' --appendonly no` plus `args`; `None` when it is missing or fails.
    pub fn start(args: &[&str]) -> Option<RedisProcess> {
        for attempt in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .ok()?
                .local_addr()
                .ok()?
                .port();
            let dir = std::env::temp_dir().join(format!(
                "zedis-observe-{}-{port}-{attempt}",
                std::process::id()
            ));
            std::fs::create_dir_all(&dir).ok()?;
            let child = Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .args(["--bind", "127.0.0.1", "--dir", &dir.to_string_lossy()])
                .args(["--enable-debug-command", "yes"])
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()?;
            let mut process = RedisProcess { child, port, dir };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(process);
                }
                if let Ok(Some(_)) = process.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        None
    }

    /// A new connection to it.
    pub fn client(&self) -> Client {
        Client::connect(self.port)
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts the reference or skips the test (prints why) when `redis-server` is not installed.
#[macro_export]
macro_rules! reference_or_skip {
    ($($arg:expr),*) => {
        match common::RedisProcess::start(&[$($arg),*]) {
            Some(redis) => redis,
            None => {
                eprintln!("redis-server not available: skipped");
                return;
            }
        }
    };
}

/// A raw RESP connection.
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Connects to 127.0.0.1:`port`.
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends a command.
    pub fn send(&mut self, args: &[&[u8]]) {
        let mut out = Vec::new();
        encode_command(&mut out, args);
        self.stream.write_all(&out).expect("write");
    }

    /// Reads one reply: its exact bytes and its frame.
    pub fn read_raw(&mut self) -> (Vec<u8>, Frame) {
        loop {
            if let Some((frame, used)) = parse_frame(&self.buf).expect("valid RESP") {
                let raw: Vec<u8> = self.buf.drain(..used).collect();
                return (raw, frame);
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends a command and returns the reply's bytes.
    pub fn raw(&mut self, args: &[&str]) -> Vec<u8> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send(&args);
        self.read_raw().0
    }

    /// Sends a command and returns the reply's frame.
    pub fn cmd(&mut self, args: &[&str]) -> Frame {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send(&args);
        self.read_raw().1
    }

    /// This connection's local `ip:port`, as the server sees its peer.
    pub fn local_addr(&self) -> String {
        self.stream.local_addr().expect("addr").to_string()
    }
}

/// Parses one frame from bytes our crate produced.
pub fn frame_of(bytes: &[u8]) -> Frame {
    let (frame, used) = parse_frame(bytes).expect("valid").expect("complete");
    assert_eq!(used, bytes.len(), "one frame exactly");
    frame
}

/// The integer in a frame.
pub fn int(frame: &Frame) -> i64 {
    match frame {
        Frame::Integer(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

/// The elements of an array frame.
pub fn items(frame: &Frame) -> &[Frame] {
    match frame {
        Frame::Array(items) => items,
        other => panic!("not an array: {other:?}"),
    }
}

/// The bulk bytes of a frame.
pub fn bulk(frame: &Frame) -> &[u8] {
    match frame {
        Frame::Bulk(b) => b,
        Frame::Verbatim { text, .. } => text,
        other => panic!("not a bulk: {other:?}"),
    }
}

impl Client {
    /// The server's clock in whole seconds (TIME).
    pub fn unix_s(&mut self) -> i64 {
        let reply = self.cmd(&["TIME"]);
        std::str::from_utf8(bulk(&items(&reply)[0]))
            .unwrap()
            .parse()
            .unwrap()
    }

    /// A field of INFO `section`.
    pub fn info_field(&mut self, section: &str, field: &str) -> String {
        let reply = self.cmd(&["INFO", section]);
        let text = String::from_utf8_lossy(bulk(&reply)).into_owned();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_owned))
            .unwrap_or_default()
    }

    /// Runs `args` until the server's second is the same before and after; returns the reply bytes and that
    /// second, so a reply computed from "now" can be recomputed.
    pub fn raw_at_stable_second(&mut self, args: &[&str]) -> (Vec<u8>, i64) {
        loop {
            let before = self.unix_s();
            let raw = self.raw(args);
            if self.unix_s() == before {
                return (raw, before);
            }
        }
    }
}
