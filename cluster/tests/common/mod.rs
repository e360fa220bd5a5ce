//! A real `redis-server --cluster-enabled yes` for interop tests: free port P (and P+10000 for its bus), its
//! files in a private temp dir, killed by PID on drop; plus a minimal RESP client.
#![allow(dead_code)]

pub mod bus_node;
pub mod zedis_node;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zedis_resp::{encode_command, parse_frame, Frame};

/// A spawned cluster-mode `redis-server`.
pub struct RedisNode {
    child: Child,
    /// Client port; the bus listens on `port + 10000`.
    pub port: u16,
    dir: PathBuf,
}

/// A free port P with P + 10000 free too (client port and bus port).
pub fn free_pair() -> Option<u16> {
    for _ in 0..50 {
        let l = TcpListener::bind("127.0.0.1:0").ok()?;
        let port = l.local_addr().ok()?.port();
        if !(1024..=55000).contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port + 10000)).is_ok() {
            return Some(port);
        }
    }
    None
}

impl RedisNode {
    /// Starts a cluster-enabled node (`None` when redis-server is missing or does not come up).
    pub fn start(extra: &[&str]) -> Option<RedisNode> {
        Self::start_with_conf(extra, None)
    }

    /// As `start`, with `conf` written as its nodes.conf before it starts.
    pub fn start_with_conf(extra: &[&str], conf: Option<&str>) -> Option<RedisNode> {
        for attempt in 0..5 {
            let port = free_pair()?;
            let dir = std::env::temp_dir().join(format!(
                "zedis-cluster-test-{}-{port}-{attempt}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).ok()?;
            if let Some(conf) = conf {
                std::fs::write(dir.join("nodes.conf"), conf).ok()?;
            }
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .args(["--cluster-enabled", "yes"])
                .args([
                    "--cluster-config-file",
                    &dir.join("nodes.conf").to_string_lossy(),
                ])
                .args(["--dir", &dir.to_string_lossy()])
                .args(["--logfile", &dir.join("redis.log").to_string_lossy()])
                .args(extra)
                .current_dir(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()?;
            let mut node = RedisNode { child, port, dir };
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(node);
                }
                if let Ok(Some(_)) = node.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        None
    }

    /// A client connection to its client port.
    pub fn client(&self) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    /// Its nodes.conf as written now.
    pub fn nodes_conf(&self) -> String {
        std::fs::read_to_string(self.dir.join("nodes.conf")).unwrap_or_default()
    }

    /// Its log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }
}

impl Drop for RedisNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A blocking RESP client.
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Sends one command and reads its reply.
    pub fn call(&mut self, args: &[&[u8]]) -> Frame {
        let mut out = Vec::new();
        encode_command(&mut out, args);
        self.stream.write_all(&out).expect("write");
        loop {
            if let Some((frame, used)) = parse_frame(&self.buf).expect("valid reply") {
                self.buf.drain(..used);
                return frame;
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads one more reply (a pushed pub/sub message).
    pub fn read_frame(&mut self) -> Frame {
        loop {
            if let Some((frame, used)) = parse_frame(&self.buf).expect("valid reply") {
                self.buf.drain(..used);
                return frame;
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends a command given as one string split on spaces; returns its reply.
    pub fn cmd(&mut self, line: &str) -> Frame {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        self.call(&args)
    }

    /// A bulk or simple reply as text.
    pub fn text(&mut self, line: &str) -> String {
        match self.cmd(line) {
            Frame::Bulk(b) | Frame::Simple(b) => String::from_utf8_lossy(&b).into_owned(),
            Frame::Verbatim { text, .. } => String::from_utf8_lossy(&text).into_owned(),
            other => panic!("unexpected reply to {line}: {other:?}"),
        }
    }
}
