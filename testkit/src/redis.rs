//! A real `redis-server` (7.0.15, the reference) for side-by-side and interop tests: on 127.0.0.1, on a free
//! port, with its files (and its log) in a temporary directory, killed by PID on drop.
//!
//! ```no_run
//! use zedis_testkit::RedisServer;
//! // `redis-server --port P --bind 127.0.0.1 --save '' --appendonly no --dir D --logfile redis.log`
//! let Some(redis) = RedisServer::start(&["--enable-debug-command", "yes"]) else {
//!     return; // not installed: the test skips
//! };
//! let mut client = redis.client();
//! ```

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::client::RespClient;
use crate::ports::{free_port, free_port_pair};
use crate::process::wait_listening;
use crate::tempdir::TempDir;

/// How long a starting redis-server may take to accept connections (the machine is loaded).
const START_WAIT: Duration = Duration::from_secs(30);
/// Tries, each on another free port, before giving up (a port taken between the check and the bind).
const START_TRIES: usize = 5;

/// A spawned `redis-server`, killed by PID on drop; its temporary directory (when it made one) removed then.
pub struct RedisServer {
    child: Child,
    /// The port it listens on (the TLS port when the arguments open `{port}` themselves).
    pub port: u16,
    /// Its working directory: `--dir`, the log file and any file written before the start.
    pub dir: PathBuf,
    /// The temporary directory it owns (`None` when the caller gave the directory).
    _owned_dir: Option<TempDir>,
}

/// How to start a [`RedisServer`]: `RedisServer::builder().args(...).start()`.
#[derive(Default)]
pub struct RedisBuilder {
    args: Vec<String>,
    bus_port: bool,
    port_in_args: bool,
    port: Option<u16>,
    dir: Option<PathBuf>,
    files: Vec<(String, Vec<u8>)>,
}

impl RedisBuilder {
    /// Arguments after the defaults; `{dir}` and `{port}` in an argument are replaced by the directory and
    /// the chosen port.
    pub fn args<S: AsRef<str>>(mut self, args: &[S]) -> RedisBuilder {
        self.args
            .extend(args.iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Picks a port P with P + 10000 free too (a cluster node's bus port).
    pub fn bus_port(mut self) -> RedisBuilder {
        self.bus_port = true;
        self
    }

    /// Listens on `port` itself, one try (to restart a server where its replicas look for it).
    pub fn port(mut self, port: u16) -> RedisBuilder {
        self.port = Some(port);
        self
    }

    /// Leaves `--port` out: the arguments open `{port}` themselves (`--port 0 --tls-port {port}`).
    pub fn port_in_args(mut self) -> RedisBuilder {
        self.port_in_args = true;
        self
    }

    /// Uses `dir` (kept on drop) instead of a temporary directory of its own.
    pub fn dir(mut self, dir: &Path) -> RedisBuilder {
        self.dir = Some(dir.to_path_buf());
        self
    }

    /// Writes `name` with `contents` into the directory before the start (a nodes.conf, an ACL file).
    pub fn file(mut self, name: &str, contents: impl AsRef<[u8]>) -> RedisBuilder {
        self.files
            .push((name.to_string(), contents.as_ref().to_vec()));
        self
    }

    /// Starts it and waits (30 s) until it accepts connections, trying up to five free ports (one try on a
    /// port given with [`RedisBuilder::port`]). `Err` says why (not installed, exited with its log, did not
    /// listen).
    pub fn start(self) -> Result<RedisServer, String> {
        let mut last = String::from("not tried");
        let tries = if self.port.is_some() { 1 } else { START_TRIES };
        for _ in 0..tries {
            let port = match self.port {
                Some(port) => port,
                None if self.bus_port => free_port_pair().ok_or("no free port pair")?,
                None => free_port(),
            };
            let (owned, dir) = match &self.dir {
                Some(dir) => (None, dir.clone()),
                None => {
                    let temp = TempDir::new("redis");
                    let path = temp.0.clone();
                    (Some(temp), path)
                }
            };
            for (name, contents) in &self.files {
                std::fs::write(dir.join(name), contents).map_err(|e| format!("{name}: {e}"))?;
            }
            match self.spawn(port, &dir) {
                Ok(child) => {
                    return Ok(RedisServer {
                        child,
                        port,
                        dir,
                        _owned_dir: owned,
                    })
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// One try on `port`.
    fn spawn(&self, port: u16, dir: &Path) -> Result<Child, String> {
        let dir_text = dir.to_string_lossy();
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| {
                a.replace("{dir}", &dir_text)
                    .replace("{port}", &port.to_string())
            })
            .collect();
        let mut cmd = Command::new("redis-server");
        if !self.port_in_args {
            cmd.args(["--port", &port.to_string()]);
        }
        let mut child = cmd
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", &dir_text, "--logfile", "redis.log"])
            .args(&args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("redis-server not started: {e}"))?;
        match wait_listening(&mut child, port, START_WAIT) {
            Ok(()) => return Ok(child),
            Err(Some(status)) => {
                let log = std::fs::read_to_string(dir.join("redis.log")).unwrap_or_default();
                return Err(format!("redis-server exited ({status}): {log}"));
            }
            Err(None) => {}
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(format!("redis-server did not listen on {port}"))
    }
}

impl RedisServer {
    /// The builder, for a bus port, a given directory, files written first or a port opened by the arguments.
    pub fn builder() -> RedisBuilder {
        RedisBuilder::default()
    }

    /// Starts `redis-server --port P --bind 127.0.0.1 --save '' --appendonly no --dir D --logfile redis.log`
    /// plus `args` (`{dir}` replaced by D); `None` when it is missing or does not come up (the reason is
    /// printed: the test skips).
    pub fn start(args: &[&str]) -> Option<RedisServer> {
        RedisServer::builder()
            .args(args)
            .start()
            .map_err(|e| eprintln!("note: reference redis-server unavailable: {e}"))
            .ok()
    }

    /// A new raw RESP connection to it.
    pub fn client(&self) -> RespClient {
        RespClient::connect(self.port)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (up to `timeout`) for it to exit by itself (after a SHUTDOWN); whether it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        crate::process::wait_exit(&mut self.child, timeout).is_some()
    }

    /// A file of its directory as text (empty when missing), e.g. `nodes.conf`.
    pub fn read_file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    /// Its log so far, for failure messages.
    pub fn log(&self) -> String {
        self.read_file("redis.log")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
