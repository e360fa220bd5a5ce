//! Starts a real `zedis-server` on a free port for a test, and talks to it with the `redis` crate or raw bytes.
//!
//! `ZEDIS_TEST_ARGS` (whitespace separated) is appended to every server's command line, so the whole suite
//! can run under each memory strategy: `ZEDIS_TEST_ARGS="--allocator system" cargo test -p zedis-server`.
//!
//! Layout: [`Server`] here (started through [`launch::Launch`], the one place that spawns the binary),
//! connections and waits ([`connect`], [`connect_when_ready`], [`wait_for_within`]), [`Raw`] bytes and
//! [`TempDir`]; [`reference`] a redis-server (testkit's, under its old name); [`aof`] what the AOF tests
//! share; [`encodings`] a key per type and encoding; [`replication`] datasets and sync waits; [`tools`] redis-cli, openssl and reply shortcuts.
#![allow(dead_code)]

pub mod aof;
pub mod encodings;
pub mod fake_master;
pub mod launch;
pub mod reference;
pub mod replication;
pub mod side_by_side;
pub mod tools;

use launch::Launch;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use zedis_testkit::{free_port, Proc};

/// A running server, killed by PID on drop.
pub struct Server {
    /// The process (declared first: it is killed before its directory is removed).
    process: Proc,
    /// Its port.
    pub port: u16,
    /// Its working directory, fresh per server: a `dump.rdb` saved or left by one test never reaches another
    /// (the server loads `./dump.rdb` at startup, as Redis does).
    _cwd: TempDir,
}

impl Server {
    /// Starts a server with extra flags (and `ZEDIS_TEST_ARGS`) and waits until it answers.
    pub fn start(args: &[&str]) -> Server {
        for _ in 0..5 {
            let port = free_port();
            let cwd = TempDir::new("cwd");
            let mut process = Launch::new(&["--port", &port.to_string()])
                .args(args)
                .test_args()
                .dir(&cwd.0)
                .spawn(port);
            if answers_as(&mut process, Duration::from_secs(20)) {
                return Server {
                    process,
                    port,
                    _cwd: cwd,
                };
            }
        }
        panic!("zedis-server did not start");
    }

    /// A `redis` crate connection.
    pub fn conn(&self) -> redis::Connection {
        connect(self.port)
    }

    /// A raw socket.
    pub fn raw(&self) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Raw { stream }
    }

    /// Its process id (for signals).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.process.child.try_wait(), Ok(None))
    }

    /// Waits for the process to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        self.process.wait_exit(timeout).is_some()
    }
}

/// Waits until `process` answers on its port (true), or exits, or the port turns out to be another
/// process's, or `timeout` passes (false).
fn answers_as(process: &mut Proc, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", process.port)) {
            // Another process may own a port picked as free: make sure it is our server.
            // (A password or protected mode refuses INFO: then a live child is ours.)
            return match answered_by(stream, process.pid()) {
                Some(true) => true,
                None => matches!(process.child.try_wait(), Ok(None)),
                Some(false) => false,
            };
        }
        if let Ok(Some(_)) = process.child.try_wait() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A `redis` crate connection to 127.0.0.1:`port`.
pub fn connect(port: u16) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .unwrap()
        .get_connection()
        .unwrap()
}

/// A connection once the server on `port` answers PING (a redis-server loading its files answers
/// `-LOADING` until it is done); panics after 60 s.
pub fn connect_when_ready(port: u16) -> redis::Connection {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut conn) = client.get_connection() {
            if cmd(&mut conn, &["PING"]).is_ok() {
                return conn;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the server on port {port} did not answer PING"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls `cond` (every 50 ms) until it holds; panics naming `what` after `timeout`.
pub fn wait_for_within(what: &str, timeout: Duration, cond: impl FnMut() -> bool) {
    assert!(
        zedis_testkit::wait_until(timeout, cond),
        "timed out waiting for {what}"
    );
}

/// Whether the server behind `stream` is process `pid` (from INFO server's process_id).
/// `None` when the server refused to say (an error reply).
fn answered_by(mut stream: TcpStream, pid: u32) -> Option<bool> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    if stream.write_all(b"INFO server\r\n").is_err() {
        return Some(false);
    }
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    let needle = format!("process_id:{pid}\r\n");
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
        let seen = String::from_utf8_lossy(&text);
        if seen.starts_with('-') {
            return None;
        }
        if seen.contains(&needle) {
            return Some(true);
        }
        if seen.contains("\r\n\r\n") || seen.contains("# Clients") {
            break;
        }
    }
    if text.is_empty() {
        None
    } else {
        Some(false)
    }
}

/// A raw protocol connection.
pub struct Raw {
    /// The socket.
    pub stream: TcpStream,
}

impl Raw {
    /// Sends bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Reads until exactly `expected.len()` bytes arrived and returns them as text (for readable asserts).
    pub fn read_exact_len(&mut self, len: usize) -> String {
        let mut buf = vec![0u8; len];
        let mut got = 0;
        while got < len {
            match self.stream.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                // A signal to this test process (a child exiting) interrupts the read: retry it.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => panic!("read: {e} after {:?}", String::from_utf8_lossy(&buf[..got])),
            }
        }
        String::from_utf8_lossy(&buf[..got]).into_owned()
    }

    /// Reads `expected.len()` bytes and asserts they are `expected`.
    pub fn expect(&mut self, expected: &str) {
        let got = self.read_exact_len(expected.len());
        assert_eq!(got, expected);
    }

    /// Sends `request` and asserts the reply is exactly `expected`.
    pub fn roundtrip(&mut self, request: &str, expected: &str) {
        self.send(request.as_bytes());
        let got = self.read_exact_len(expected.len());
        assert_eq!(got, expected, "request {request:?}");
    }

    /// Reads until the peer closes; returns everything.
    pub fn read_to_close(&mut self) -> String {
        let mut out = Vec::new();
        let _ = self.stream.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// Runs a command and returns the `redis::Value`.
pub fn cmd(conn: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(conn)
}

/// Runs a command expected to fail and returns the error text as Redis sent it (`CODE message`).
pub fn err(conn: &mut redis::Connection, args: &[&str]) -> String {
    match cmd(conn, args) {
        Ok(v) => panic!("{args:?} should fail, got {v:?}"),
        Err(e) => {
            let code = e.code().unwrap_or("").to_string();
            let detail = e.detail().unwrap_or("").to_string();
            if code.is_empty() {
                detail
            } else if detail.is_empty() {
                code
            } else {
                format!("{code} {detail}")
            }
        }
    }
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates it (`name` appears in the directory name).
    pub fn new(name: &str) -> TempDir {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "zedis-test-{name}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// Its path as text (for `--dir`).
    pub fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }

    /// A pre-7.0 single-file AOF in it (default `appendfilename`), which the server moves into its
    /// `appendonlydir` at startup.
    pub fn aof(&self) -> PathBuf {
        self.0.join("appendonly.aof")
    }

    /// The first incr file of the AOF directory: where a server started on an empty directory appends.
    pub fn aof_incr(&self) -> PathBuf {
        self.0
            .join("appendonlydir")
            .join("appendonly.aof.1.incr.aof")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
