//! What Zedis's integration tests share, so each crate's tests do not carry their own copy: free loopback
//! ports, temporary directories removed on drop, child processes (redis-server, redis-sentinel, zedis-server)
//! killed by PID on drop, polling with wide margins, and finding a Python that has redis-py.
//!
//! A dev-dependency only; nothing here is used by a production binary.
#![deny(missing_docs)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Polls `cond` every 50 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// A spawned process, killed (SIGKILL) by its PID and reaped on drop.
pub struct Proc {
    /// The child.
    pub child: Child,
    /// Its TCP port, if it listens on one.
    pub port: u16,
}

impl Proc {
    /// Spawns `program args...` with output discarded and waits (20 s) until `port` accepts connections.
    pub fn spawn(program: &str, args: &[String], port: u16, dir: &Path) -> Option<Proc> {
        Proc::spawn_logged(program, args, port, dir, None)
    }

    /// As [`Proc::spawn`], with stdout and stderr appended to `log` when given.
    pub fn spawn_logged(
        program: &str,
        args: &[String],
        port: u16,
        dir: &Path,
        log: Option<&Path>,
    ) -> Option<Proc> {
        let output = || -> Option<Stdio> {
            Some(match log {
                Some(path) => std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .ok()?
                    .into(),
                None => Stdio::null(),
            })
        };
        let child = Command::new(program)
            .args(args)
            .current_dir(dir)
            .stdout(output()?)
            .stderr(output()?)
            .spawn()
            .ok()?;
        let mut proc = Proc { child, port };
        let up = wait_until(Duration::from_secs(20), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        if !up || matches!(proc.child.try_wait(), Ok(Some(_))) {
            return None;
        }
        Some(proc)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL now and reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Whether a program is on the PATH; prints a note when it is not (the tests that need it skip).
pub fn have(program: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!("note: {program} not found; the tests that need it are skipped");
    }
    found
}

/// Strings from literals.
pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A Python interpreter that can `import redis` (`$ZEDIS_PYTHON`, the venv `scripts/test.sh` makes in
/// `target/pyenv`, or `python3`).
pub fn python_with_redis() -> Option<String> {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut candidates: Vec<String> = Vec::new();
    if let Ok(python) = std::env::var("ZEDIS_PYTHON") {
        candidates.push(python);
    }
    if let Ok(target) = std::env::var("CARGO_TARGET_DIR") {
        candidates.push(format!("{target}/pyenv/bin/python"));
    }
    candidates.push(
        workspace
            .join("target/pyenv/bin/python")
            .to_string_lossy()
            .into_owned(),
    );
    candidates.push("python3".into());
    candidates.into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import redis"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// A temporary directory, removed with its contents on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh, empty directory under the system's temporary directory; `tag` names it for debugging.
    pub fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!("zedis-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        TempDir(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
