//! A `zedis-server` or `redis-server` process for one test: started on a free 127.0.0.1 port with its files in
//! a directory the test chooses and its log in a file of its own, killed by PID on drop.

use crate::wire::Raw;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use zedis_testkit::{free_port, TempDir};

/// How long a server may take to answer after it was spawned (loading a dataset on a loaded machine).
const START_WAIT: Duration = Duration::from_secs(90);

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `zedis-server`, the binary under test.
    Zedis,
    /// `redis-server` 7.0.15, the reference.
    Redis,
}

impl Kind {
    /// A name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Zedis => "zedis",
            Kind::Redis => "redis",
        }
    }

    /// Both kinds, Redis only when it is installed (a note is printed otherwise).
    pub fn available() -> Vec<Kind> {
        if redis_available() {
            vec![Kind::Zedis, Kind::Redis]
        } else {
            eprintln!("note: redis-server not found: the comparison with Redis is skipped");
            vec![Kind::Zedis]
        }
    }
}

/// Why a server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// It exited before answering.
    #[error("{kind} exited at startup ({status}); log:\n{log}")]
    Exited {
        /// Which server.
        kind: &'static str,
        /// Its exit status.
        status: ExitStatus,
        /// What it printed.
        log: String,
    },
    /// It neither answered nor exited in time.
    #[error("{kind} did not answer within {secs} s; log:\n{log}")]
    Timeout {
        /// Which server.
        kind: &'static str,
        /// The wait.
        secs: u64,
        /// What it printed.
        log: String,
    },
}

/// Whether `redis-server` is installed.
pub fn redis_available() -> bool {
    zedis_testkit::installed("redis-server")
}

/// The `zedis-server` binary: `$ZEDIS_SERVER_BIN`, else `<workspace>/target/debug/zedis-server`.
///
/// # Panics
/// When it does not exist, with a message saying how to build it.
pub fn zedis_binary() -> PathBuf {
    let path = std::env::var_os("ZEDIS_SERVER_BIN").map_or_else(
        || {
            let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
                || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
                PathBuf::from,
            );
            target.join("debug/zedis-server")
        },
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "zedis-server binary not found at {}: run `cargo build -p zedis-server` first \
         (`bash scripts/faults.sh` does), or set ZEDIS_SERVER_BIN",
        path.display()
    );
    path
}

/// The command line of `kind` on `port` with its files in `dir`, plus `args`.
fn command(kind: Kind, port: u16, dir: &Path, args: &[String]) -> Command {
    // Both start without save points or AOF (Redis 7.0's defaults have save points); `args` may turn them on.
    let mut cmd = match kind {
        Kind::Zedis => Command::new(zedis_binary()),
        Kind::Redis => Command::new("redis-server"),
    };
    cmd.args(["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"]);
    cmd.current_dir(dir)
        .args(["--port", &port.to_string()])
        .arg("--dir")
        .arg(dir)
        .args(args);
    cmd
}

/// A running server, killed by PID on drop.
pub struct ServerProcess {
    child: Child,
    /// Which server.
    pub kind: Kind,
    /// Its port.
    pub port: u16,
    dir: PathBuf,
    args: Vec<String>,
    /// Holds the log file (stdout and stderr of every start, appended).
    logs: TempDir,
}

impl ServerProcess {
    /// Starts `kind` with its files in `dir` and extra `args` and waits until it answers PING.
    pub fn start(kind: Kind, dir: &Path, args: &[&str]) -> Result<ServerProcess, StartError> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let logs = TempDir::new(&format!("{}-log", kind.name()));
        let (child, port) = spawn_answering(kind, dir, &args, &logs.join("log"))?;
        Ok(ServerProcess {
            child,
            kind,
            port,
            dir: dir.to_path_buf(),
            args,
            logs,
        })
    }

    /// Runs `kind` expecting it to refuse to start: waits for its exit and returns the status and its log.
    ///
    /// # Panics
    /// When it answers PING instead, or neither exits nor answers in time.
    pub fn start_refused(kind: Kind, dir: &Path, args: &[&str]) -> (ExitStatus, String) {
        match ServerProcess::start(kind, dir, args) {
            Ok(_) => panic!("{} started although it should refuse", kind.name()),
            Err(StartError::Exited { status, log, .. }) => (status, log),
            Err(e) => panic!("{e}"),
        }
    }

    /// SIGKILLs the process (if still running) and starts it again with the same directory and arguments.
    pub fn restart(&mut self) -> Result<(), StartError> {
        self.kill9();
        let (child, port) =
            spawn_answering(self.kind, &self.dir, &self.args, &self.logs.join("log"))?;
        self.child = child;
        self.port = port;
        Ok(())
    }

    /// Its process id.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.pid(), signal) };
    }

    /// SIGKILL, then reaps it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether it is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for it to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Everything it printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.logs.join("log")).unwrap_or_default()
    }

    /// Its resident set size in bytes (`VmRSS` of `/proc/<pid>/status`), 0 if gone.
    pub fn rss_bytes(&self) -> u64 {
        crate::sample::rss_of(self.pid())
    }

    /// How many file descriptors it has open.
    pub fn fd_count(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid())).map_or(0, |d| d.count())
    }

    /// A `redis` crate connection with 60 s read and write timeouts.
    pub fn conn(&self) -> redis::Connection {
        let client =
            redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).expect("redis client");
        let conn = client.get_connection().expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        conn.set_write_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        conn
    }

    /// A raw socket to it (10 s read timeout).
    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Spawns `kind` on free ports until one answers as this process (five tries).
fn spawn_answering(
    kind: Kind,
    dir: &Path,
    args: &[String],
    log: &Path,
) -> Result<(Child, u16), StartError> {
    let mut last = None;
    for _ in 0..5 {
        let port = free_port();
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("open log");
        let err = out.try_clone().expect("log fd");
        let mut child = command(kind, port, dir, args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", kind.name()));
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(log).unwrap_or_default();
                if log.contains("Address already in use") {
                    last = Some(StartError::Exited {
                        kind: kind.name(),
                        status,
                        log,
                    });
                    break;
                }
                return Err(StartError::Exited {
                    kind: kind.name(),
                    status,
                    log,
                });
            }
            match answers_as(port, child.id()) {
                Some(true) => return Ok((child, port)),
                Some(false) => {
                    // Another process owns the port: try another one.
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                None => {}
            }
            if started.elapsed() > START_WAIT {
                let _ = child.kill();
                let _ = child.wait();
                return Err(StartError::Timeout {
                    kind: kind.name(),
                    secs: START_WAIT.as_secs(),
                    log: std::fs::read_to_string(log).unwrap_or_default(),
                });
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
    Err(last.unwrap_or(StartError::Timeout {
        kind: kind.name(),
        secs: 0,
        log: "no free port answered".into(),
    }))
}

/// `Some(true)` when the server on `port` answers PING and is process `pid`, `Some(false)` when another process
/// answers, `None` while nothing answers yet (or it is still loading).
fn answers_as(port: u16, pid: u32) -> Option<bool> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(b"PING\r\nINFO server\r\n").ok()?;
    let mut text = Vec::new();
    let mut buf = [0u8; 8192];
    let needle = format!("process_id:{pid}\r\n");
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
        if text.len() < 7 {
            continue;
        }
        let seen = String::from_utf8_lossy(&text);
        if !seen.starts_with("+PONG\r\n") {
            // -LOADING and the like: not ready yet; anything else is not a server we started.
            // (A password refuses PING and INFO: a live child on the port is then taken as ours.)
            return if seen.starts_with("-NOAUTH") {
                Some(true)
            } else if seen.starts_with('-') {
                None
            } else {
                Some(false)
            };
        }
        if seen.contains(&needle) {
            return Some(true);
        }
        if seen.contains("process_id:") && seen.contains("\r\n\r\n") {
            return Some(false);
        }
    }
    None
}
