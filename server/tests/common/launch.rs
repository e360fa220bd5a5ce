//! The one way the server tests start the real `zedis-server` binary: [`Launch`] builds its command line,
//! then either [`Launch::spawn`]s it as a [`Proc`] killed by PID on drop (the caller waits for what "ready"
//! means for it: a TCP port in [`super::Server::start`], a Unix socket, a systemd notification), or runs it
//! to its exit at startup ([`Launch::exit_output`], for configurations the server must refuse).

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use zedis_testkit::{run_with_input, Proc};

/// A `zedis-server` command line, not started yet.
pub struct Launch {
    cmd: Command,
}

impl Launch {
    /// `zedis-server args...`, its standard output and error discarded.
    pub fn new<S: AsRef<OsStr>>(args: &[S]) -> Launch {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zedis-server"));
        cmd.args(args).stdout(Stdio::null()).stderr(Stdio::null());
        Launch { cmd }
    }

    /// More arguments.
    pub fn args<S: AsRef<OsStr>>(mut self, args: &[S]) -> Launch {
        self.cmd.args(args);
        self
    }

    /// Appends `ZEDIS_TEST_ARGS` (whitespace separated), so the suite runs under each memory strategy.
    pub fn test_args(mut self) -> Launch {
        if let Ok(extra) = std::env::var("ZEDIS_TEST_ARGS") {
            self.cmd.args(extra.split_whitespace());
        }
        self
    }

    /// An environment variable for the server.
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Launch {
        self.cmd.env(key, value);
        self
    }

    /// Its working directory (where it reads and writes `./dump.rdb`).
    pub fn dir(mut self, dir: &Path) -> Launch {
        self.cmd.current_dir(dir);
        self
    }

    /// Starts it without waiting for anything; `port` is what the returned [`Proc`] reports (0 for none).
    ///
    /// # Panics
    /// When the binary cannot be spawned.
    pub fn spawn(mut self, port: u16) -> Proc {
        let child = self.cmd.spawn().expect("spawn zedis-server");
        Proc { child, port }
    }

    /// Runs it expecting it to exit by itself within `timeout` (a refused configuration): whether it exited
    /// with success, and its log (standard output, where the log goes without `logfile`, as Redis's) followed
    /// by its standard error (early configuration errors).
    ///
    /// # Panics
    /// When it is still running after `timeout` (it is killed first).
    pub fn exit_output(mut self, timeout: Duration) -> (bool, String) {
        let out = run_with_input(&mut self.cmd, b"", timeout);
        (out.success, out.stdout + &out.stderr)
    }
}
