//! Shared by the busy-script tests: a raw RESP connection that reads whole replies, waits, and the
//! side-by-side comparison with redis-server.
#![allow(dead_code)]

use crate::common::reference::RedisProcess;
use crate::common::Server;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A raw RESP connection that reads whole replies.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        Conn {
            reader: BufReader::new(stream),
        }
    }

    /// Sends one command (as a RESP array).
    pub fn send(&mut self, args: &[&str]) {
        self.send_pipeline(&[args]);
    }

    /// Sends several commands in one write, so the server reads them in one batch (two writes may arrive
    /// in two reads on a loaded machine, and the first command is then answered before the second runs).
    pub fn send_pipeline(&mut self, commands: &[&[&str]]) {
        let mut out = String::new();
        for args in commands {
            out.push_str(&format!("*{}\r\n", args.len()));
            for a in *args {
                out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
            }
        }
        self.reader.get_mut().write_all(out.as_bytes()).unwrap();
    }

    /// Reads one complete reply, as its bytes.
    pub fn read(&mut self) -> String {
        let mut line = String::new();
        if self.reader.read_line(&mut line).unwrap_or(0) == 0 {
            return "<closed>".into();
        }
        let mut out = line.clone();
        let n = || line[1..].trim_end().parse::<i64>().unwrap_or(-1);
        match line.as_bytes()[0] {
            b'$' if n() >= 0 => {
                let mut buf = vec![0u8; n() as usize + 2];
                self.reader.read_exact(&mut buf).unwrap();
                out.push_str(&String::from_utf8_lossy(&buf));
            }
            b'*' => {
                for _ in 0..n().max(0) {
                    out.push_str(&self.read());
                }
            }
            _ => {}
        }
        out
    }

    /// A reply if one comes within `wait`, else `<nothing>`.
    pub fn try_read(&mut self, wait: Duration) -> String {
        self.reader.get_ref().set_read_timeout(Some(wait)).unwrap();
        let got = if self.reader.fill_buf().is_ok_and(|b| !b.is_empty()) {
            self.reader
                .get_ref()
                .set_read_timeout(Some(Duration::from_secs(60)))
                .unwrap();
            self.read()
        } else {
            "<nothing>".to_string()
        };
        self.reader
            .get_ref()
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        got
    }

    pub fn call(&mut self, args: &[&str]) -> String {
        self.send(args);
        self.read()
    }
}

/// The reference server, or `None` (the test is skipped) when `redis-server` is not installed.
pub fn reference() -> Option<RedisProcess> {
    let r = RedisProcess::start(&[]);
    if r.is_none() {
        eprintln!("redis-server not available: skipping the comparison");
    }
    r
}

/// Waits until a PING from `conn` is refused with `-BUSY` (the script passed the threshold).
pub fn wait_busy(conn: &mut Conn) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = conn.call(&["PING"]);
        if reply.starts_with("-BUSY") || Instant::now() > deadline {
            return reply;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until a PING from `conn` is answered `+PONG` (the script ended).
pub fn wait_pong(conn: &mut Conn) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = conn.call(&["PING"]);
        if reply == "+PONG\r\n" || Instant::now() > deadline {
            return reply;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `FUNCTION STATS` with its `duration_ms` value blanked (it is a time).
pub fn blank_duration(reply: String) -> String {
    match reply.find("duration_ms\r\n:") {
        Some(at) => {
            let start = at + "duration_ms\r\n:".len();
            let end = start + reply[start..].find("\r\n").unwrap();
            format!("{}N{}", &reply[..start], &reply[end..])
        }
        None => reply,
    }
}

/// Runs `scenario` against Zedis and redis-server and asserts the transcripts are identical.
pub fn compare(zedis_args: &[&str], scenario: impl Fn(u16) -> Vec<String>) -> Vec<String> {
    let zedis = Server::start(zedis_args);
    let ours = scenario(zedis.port);
    if let Some(redis) = reference() {
        let theirs = scenario(redis.port);
        assert_eq!(ours, theirs, "zedis (left) and redis-server (right) differ");
    }
    ours
}

/// One field of an INFO section, read through `conn`.
pub fn info(conn: &mut Conn, section: &str, field: &str) -> String {
    let text = conn.call(&["INFO", section]);
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or("")
        .to_string()
}

/// Waits (wide margin) until `cond` holds.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}
