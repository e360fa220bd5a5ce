//! `daemonize yes`: Redis's `daemonize()` (fork, the parent exits, `setsid`, stdin/stdout/stderr to
//! /dev/null), with one improvement a service manager can rely on: the parent does not exit at once but
//! waits on a pipe until the child calls [`Daemon::ready`] (it is listening), then exits 0; if the child dies
//! or drops the handle first, the parent exits 1. So `zedis-server zedis.conf && redis-cli ping` works, and
//! systemd's `Type=forking` sees a failed start as a failure. Redis's parent exits 0 before the child has
//! bound anything.
//!
//! Call order in `main`: parse the configuration, [`crate::log::init`] (so a bad `logfile` is refused in the
//! foreground, and the child inherits the descriptor), then [`daemonize`] before any thread exists (a fork
//! keeps only the calling thread), then bind, write the pidfile, and [`Daemon::ready`]. As in Redis,
//! `supervised` other than `no` turns daemonizing off.

use crate::DeployError;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The daemon child's side of the readiness pipe.
#[derive(Debug)]
pub struct Daemon {
    /// The write end; writing one byte and closing it lets the waiting parent exit 0.
    ready: Option<OwnedFd>,
}

impl Daemon {
    /// Tells the parent the server is up (listening): it exits 0. Later calls do nothing.
    pub fn ready(&mut self) {
        if let Some(fd) = self.ready.take() {
            // SAFETY: writes one byte from a valid buffer to our own pipe descriptor.
            unsafe { libc::write(fd.as_raw_fd(), b"1".as_ptr().cast(), 1) };
        }
    }
}

/// The number of threads of this process (Linux: the entries of /proc/self/task); 1 when unknown.
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(1, |dir| dir.count())
}

/// Forks into the background. Returns in the child only (a new session, stdio on /dev/null, the logger's
/// pid updated); the parent waits for [`Daemon::ready`] and exits with 0, or 1 if the child never got there.
/// Refused when other threads are running.
pub fn daemonize() -> Result<Daemon, DeployError> {
    let threads = thread_count();
    if threads > 1 {
        return Err(DeployError::Threads(threads));
    }
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 returns.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(DeployError::Daemonize(io::Error::last_os_error()));
    }
    // SAFETY: pipe2 succeeded, so both are open descriptors that nothing else owns.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: single-threaded (checked above), so the child's copy of the process is consistent.
    match unsafe { libc::fork() } {
        -1 => Err(DeployError::Daemonize(io::Error::last_os_error())),
        0 => {
            drop(read);
            become_session_leader()?;
            crate::log::set_main_pid();
            Ok(Daemon { ready: Some(write) })
        }
        _child => {
            drop(write);
            std::process::exit(wait_for_ready(&read));
        }
    }
}

/// The parent's wait: 0 if the child wrote its byte, 1 if the pipe closed first.
fn wait_for_ready(read: &OwnedFd) -> i32 {
    let mut byte = [0u8; 1];
    loop {
        // SAFETY: reads at most one byte into a valid buffer from our pipe.
        let n = unsafe { libc::read(read.as_raw_fd(), byte.as_mut_ptr().cast(), 1) };
        match n {
            1 => return 0,
            -1 if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => continue,
            _ => return 1,
        }
    }
}

/// `setsid()` and stdin/stdout/stderr on /dev/null, as Redis's `daemonize()` does.
fn become_session_leader() -> Result<(), DeployError> {
    // SAFETY: setsid has no memory preconditions; in a fresh child it cannot fail with EPERM.
    if unsafe { libc::setsid() } < 0 {
        return Err(DeployError::Daemonize(io::Error::last_os_error()));
    }
    // SAFETY: a literal path; the descriptor is checked and only dup2'd onto the standard ones.
    unsafe {
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR, 0);
        if fd != -1 {
            libc::dup2(fd, libc::STDIN_FILENO);
            libc::dup2(fd, libc::STDOUT_FILENO);
            libc::dup2(fd, libc::STDERR_FILENO);
            if fd > libc::STDERR_FILENO {
                libc::close(fd);
            }
        }
    }
    Ok(())
}
