//! Child processes: spawned and killed by PID on drop, run to completion with a deadline, and checks that a
//! program is installed; polling with wide margins; finding a Python with redis-py.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

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
        wait_listening(&mut proc.child, port, Duration::from_secs(20)).ok()?;
        Some(proc)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (up to `timeout`) for the process to exit by itself; its status, or `None` while it still runs.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        wait_exit(&mut self.child, timeout)
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

/// Waits (up to `timeout`, polling every 20 ms) until 127.0.0.1:`port` accepts a connection while `child` runs.
/// `Err(Some(status))` when the child exited first, `Err(None)` when the time ran out (the child is left
/// running).
pub fn wait_listening(
    child: &mut Child,
    port: u16,
    timeout: Duration,
) -> Result<(), Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Some(status));
        }
        if Instant::now() >= deadline {
            return Err(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (up to `timeout`, polling every 20 ms) for `child` to exit; its status, or `None` while it runs.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a program is on the PATH (silently).
pub fn installed(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether a program is on the PATH; prints a note when it is not (the tests that need it skip).
pub fn have(program: &str) -> bool {
    let found = installed(program);
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

/// What a finished command printed.
pub struct Output {
    /// Exit success.
    pub success: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `cmd` with `stdin` as its input and collects its output; kills it and panics if it outlives
/// `timeout`.
///
/// # Panics
/// When it cannot be spawned or does not finish in time.
pub fn run_with_input(cmd: &mut Command, stdin: &[u8], timeout: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut input = child.stdin.take().expect("piped stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out_reader = read_all(child.stdout.take().expect("piped stdout"));
    let err_reader = read_all(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = writer.join();
    let text = |reader: std::thread::JoinHandle<Vec<u8>>| {
        String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned()
    };
    Output {
        success: status.success(),
        stdout: text(out_reader),
        stderr: text(err_reader),
    }
}

/// Reads a pipe to its end on a thread of its own (so a full stdout never blocks the child's stderr).
fn read_all(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}
