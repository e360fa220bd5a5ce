//! AOF persistence: the append-only file writer, its fsync policies, loading at startup, and the rewrite.
//!
//! Format: Redis 7's multi-part directory (`aof/multipart.rs`): `dir/appenddirname` holds a base file (an RDB
//! with `aof-use-rdb-preamble yes`), incr files of RESP multibulk commands, and a manifest; a redis-server 7.0
//! loads it and Zedis loads redis-server's. A pre-7.0 single `dir/appendfilename` is moved in as the base.
//!
//! What is logged: after each command that wrote (`fx.dirty > 0`), the keys that expired or were evicted along the
//! way as `DEL`, then the command's deterministic form (`fx.rewritten`) or its argv, with a `SELECT n` whenever
//! the database differs from the last one written. The active expire cycle and eviction log their `DEL`s too.
//!
//! Durability: commands are buffered during a loop turn and written once per turn, before replies are sent
//! (`aof_before_sleep`). With `always` the write is followed by an fdatasync, so a reply never leaves before its
//! command is on disk (group commit, as Redis's beforeSleep). With `everysec` a background thread fdatasyncs once
//! a second; with `no` the OS decides. A failed write keeps the bytes buffered and refuses writes with Redis's
//! `-MISCONF` error until a retry succeeds; with `always` the process exits instead, as Redis does, because the
//! replies of the failed turn are already computed and nothing unsynced may be acknowledged.
//!
//! Rewrite (BGREWRITEAOF, automatic growth trigger, CONFIG SET appendonly yes): writes move to a new incr file,
//! then `fork()`; the child writes the copy-on-write keyspace as the new base (an RDB, or commands through
//! `zedis_keyspace::dump`) into `temp-rewriteaof-bg-<pid>.aof` and `_exit`s; when `waitpid(WNOHANG)` in the cron
//! sees it succeed, the file becomes the base and the incr files it covers are deleted (`aof/multipart.rs`).
//!
//! Fork safety: the only other thread is the everysec fsync thread. In its loop it only sleeps, reads an atomic,
//! locks a `Mutex` and calls fdatasync: it never allocates, so it cannot hold the allocator's lock when the
//! fork happens, and the child never touches that mutex. The child therefore may allocate (glibc's malloc is
//! also reset in the child by fork) and uses only the keyspace, a buffered file and `_exit`.

use crate::server::Core;
use crate::table::{Command, DISK_ERROR_DENIED, WRITE};
use crate::Strategy;
use std::fs::File;
#[cfg(test)]
use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zedis_budget::{Component, GlobalBudget};

mod load;
mod multipart;
mod rewrite;
mod timestamp;

pub use rewrite::bgrewriteaof;

/// Capacity kept by the per-turn buffer when it empties.
const BUF_KEEP_BYTES_MAX: usize = 64 * 1024;

/// `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// fdatasync after each loop turn's write, before replies are sent.
    Always,
    /// fdatasync once a second in a background thread.
    EverySec,
    /// Left to the OS.
    No,
}

impl FsyncPolicy {
    fn parse(name: &str) -> FsyncPolicy {
        match name {
            "always" => FsyncPolicy::Always,
            "no" => FsyncPolicy::No,
            _ => FsyncPolicy::EverySec,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Off,
    /// Turned on at run time: commands go only to the rewrite buffer until the first rewrite is in place.
    WaitRewrite,
    On,
}

/// A rewrite child in flight (writes meanwhile go to the incr file opened before the fork).
struct Rewrite {
    pid: libc::pid_t,
    /// The new base the child writes.
    temp: PathBuf,
    started: Instant,
}

/// State shared with the everysec fsync thread.
struct FsyncShared {
    /// A duplicate of the AOF descriptor (None while there is no file).
    file: Mutex<Option<File>>,
    everysec: AtomicBool,
    /// errno of the last background fdatasync, 0 when it succeeded.
    errno: AtomicI32,
}

/// The AOF writer and rewrite state.
pub struct Aof {
    state: State,
    policy: FsyncPolicy,
    file: Option<File>,
    /// The file appended to: the last incr file of the directory.
    path: PathBuf,
    /// The AOF directory and its manifest (`aof/multipart.rs`), once the AOF is on or being turned on.
    parts: Option<multipart::Parts>,
    /// Commands of this loop turn not yet written. Only used while `state == On`.
    buf: Vec<u8>,
    /// Database of the last SELECT written (None: the next command writes one).
    selected_db: Option<usize>,
    /// Bytes in the file appended to.
    pub current_size: u64,
    /// Size of the whole AOF after the last rewrite or load (the auto-rewrite growth base).
    pub base_size: u64,
    rewrite: Option<Rewrite>,
    /// A rewrite is to be started by the cron (a previous attempt failed while turning the AOF on).
    pub rewrite_scheduled: bool,
    /// Duration of the last rewrite, -1 if none.
    pub last_rewrite_time_sec: i64,
    /// Whether the last rewrite succeeded.
    pub last_bgrewrite_ok: bool,
    /// Rewrites started.
    pub rewrites: u64,
    /// errno of the failed write, until a write succeeds.
    write_errno: Option<i32>,
    fsync: Option<Arc<FsyncShared>>,
    /// Bytes charged to the budget as persistence (buffers' capacity).
    charged_bytes: usize,
    /// When a scheduled rewrite may be retried.
    retry_at: Option<Instant>,
    /// Startup is done: from now on `appendonly yes` means turning the AOF on at run time.
    started: bool,
    /// `aof-timestamp-enabled` and the last `#TS:` second written.
    pub timestamps: timestamp::Timestamps,
}

impl Default for Aof {
    fn default() -> Self {
        Aof {
            state: State::Off,
            policy: FsyncPolicy::EverySec,
            file: None,
            path: PathBuf::from("appendonly.aof"),
            parts: None,
            buf: Vec::new(),
            selected_db: None,
            current_size: 0,
            base_size: 0,
            rewrite: None,
            rewrite_scheduled: false,
            last_rewrite_time_sec: -1,
            last_bgrewrite_ok: true,
            rewrites: 0,
            write_errno: None,
            fsync: None,
            charged_bytes: 0,
            retry_at: None,
            started: false,
            timestamps: Default::default(),
        }
    }
}

/// `strerror(errno)`.
fn strerror(errno: i32) -> String {
    // SAFETY: strerror returns a valid NUL-terminated string for any errno.
    unsafe { std::ffi::CStr::from_ptr(libc::strerror(errno)) }
        .to_string_lossy()
        .into_owned()
}

fn errno_of(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

/// Appends `argv` as a RESP multibulk.
fn encode(out: &mut Vec<u8>, argv: &[&[u8]]) {
    zedis_resp::encode_command(out, argv);
}

impl Aof {
    /// Whether `appendonly` is in effect (including while waiting for the first rewrite).
    pub fn enabled(&self) -> bool {
        self.state != State::Off
    }

    /// Whether the AOF is being turned on and its first rewrite has not finished (Redis's
    /// `AOF_WAIT_REWRITE`): the files do not hold the dataset yet.
    pub fn waiting_first_rewrite(&self) -> bool {
        self.state == State::WaitRewrite
    }

    /// Whether a rewrite child is running.
    pub fn rewrite_in_progress(&self) -> bool {
        self.rewrite.is_some()
    }

    /// Bytes of the whole AOF: the base and every incr file (INFO `aof_current_size`).
    pub fn total_size(&self) -> u64 {
        self.parts.as_ref().map_or(0, |p| p.sealed_bytes) + self.current_size
    }

    /// Seconds the running rewrite has taken, -1 if none.
    pub fn current_rewrite_time_sec(&self) -> i64 {
        self.rewrite
            .as_ref()
            .map_or(-1, |r| r.started.elapsed().as_secs() as i64)
    }

    /// errno of the write or background fsync failure that blocks writes, if any.
    pub fn failure_errno(&self) -> Option<i32> {
        if self.state == State::Off {
            return None;
        }
        self.write_errno.or_else(|| {
            let errno = self.fsync.as_ref()?.errno.load(Ordering::Relaxed);
            (errno != 0).then_some(errno)
        })
    }

    /// Redis's error for writes while the AOF cannot be written (without the leading `-`).
    pub fn misconf_error(&self) -> Option<String> {
        self.failure_errno().map(|errno| {
            format!(
                "MISCONF Errors writing to the AOF file: {}",
                strerror(errno)
            )
        })
    }

    /// Logs one command executed in `db`.
    pub fn feed(&mut self, db: usize, argv: &[&[u8]]) {
        // While the AOF is being turned on, commands go to the temporary incr file once the rewrite runs.
        if self.state == State::Off || (self.state == State::WaitRewrite && self.file.is_none()) {
            return;
        }
        self.timestamps
            .annotate(&mut self.buf, crate::server::cached_ms() / 1000);
        if self.selected_db != Some(db) {
            let mut text = itoa::Buffer::new();
            encode(&mut self.buf, &[b"SELECT", text.format(db).as_bytes()]);
            self.selected_db = Some(db);
        }
        encode(&mut self.buf, argv);
    }

    /// Where the next fed command will start (the second field is kept for the callers: 0).
    pub fn mark(&self) -> (usize, usize) {
        (self.buf.len(), 0)
    }

    /// Wraps everything fed since `mark` in MULTI/EXEC (a script's commands, as Redis propagates them).
    pub fn wrap_in_multi(&mut self, mark: (usize, usize)) {
        let mut multi = Vec::new();
        encode(&mut multi, &[b"MULTI"]);
        let mut exec = Vec::new();
        encode(&mut exec, &[b"EXEC"]);
        if self.state != State::Off && mark.0 < self.buf.len() {
            self.buf.splice(mark.0..mark.0, multi.iter().copied());
            self.buf.extend_from_slice(&exec);
        }
    }

    /// Writes the buffered commands. On failure the unwritten bytes stay buffered (a partial write is undone with
    /// ftruncate when possible) and `write_errno` is set until a later call succeeds.
    fn write_buf(&mut self) -> Result<(), i32> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut written = 0;
        let mut failure = None;
        while written < self.buf.len() {
            match file.write(&self.buf[written..]) {
                Ok(0) => {
                    failure = Some(libc::ENOSPC);
                    break;
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    failure = Some(errno_of(&e));
                    break;
                }
            }
        }
        let Some(errno) = failure else {
            self.current_size += written as u64;
            self.buf.clear();
            self.buf.shrink_to(BUF_KEEP_BYTES_MAX);
            if self.write_errno.take().is_some() {
                zedis_deploy::warning!("AOF write error looks solved, Redis can write again.");
            }
            return Ok(());
        };
        if written > 0 {
            // Never leave half a command in the file: cut it back, or if that fails keep only the rest.
            if file.set_len(self.current_size).is_err() {
                self.current_size += written as u64;
                self.buf.drain(..written);
            }
        }
        if self.write_errno.is_none() {
            zedis_deploy::warning!("Error writing to the AOF file: {}", strerror(errno));
        }
        self.write_errno = Some(errno);
        Err(errno)
    }

    fn install_file(&mut self, file: File) {
        if let Some(shared) = &self.fsync {
            let mut guard = shared.file.lock().unwrap_or_else(|e| e.into_inner());
            *guard = file.try_clone().ok();
            shared.errno.store(0, Ordering::Relaxed);
        }
        self.file = Some(file);
        self.selected_db = None;
    }

    fn close_file(&mut self) {
        if let Some(shared) = &self.fsync {
            *shared.file.lock().unwrap_or_else(|e| e.into_inner()) = None;
            shared.errno.store(0, Ordering::Relaxed);
        }
        if let Some(file) = self.file.take() {
            let _ = file.sync_data();
        }
    }

    /// Starts the everysec thread once; afterwards it follows `policy` through an atomic.
    fn ensure_fsync_thread(&mut self) {
        let everysec = self.policy == FsyncPolicy::EverySec;
        if let Some(shared) = &self.fsync {
            shared.everysec.store(everysec, Ordering::Relaxed);
            return;
        }
        let shared = Arc::new(FsyncShared {
            file: Mutex::new(self.file.as_ref().and_then(|f| f.try_clone().ok())),
            everysec: AtomicBool::new(everysec),
            errno: AtomicI32::new(0),
        });
        let theirs = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("aof-fsync".into())
            .spawn(move || fsync_loop(&theirs));
        if spawned.is_ok() {
            self.fsync = Some(shared);
        }
    }

    /// Charges the buffers' capacity to the budget as persistence memory.
    fn recharge(&mut self, budget: &zedis_budget::Budget) {
        let bytes = self.buf.capacity();
        if bytes > self.charged_bytes {
            budget.reserve(Component::Persistence, bytes - self.charged_bytes);
        } else {
            budget.release(Component::Persistence, self.charged_bytes - bytes);
        }
        self.charged_bytes = bytes;
    }
}

/// The everysec thread: allocation-free (see the module docs on fork safety).
fn fsync_loop(shared: &FsyncShared) {
    loop {
        std::thread::sleep(Duration::from_secs(1));
        if !shared.everysec.load(Ordering::Relaxed) {
            continue;
        }
        let guard = shared.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(file) = guard.as_ref() {
            // SAFETY: the descriptor is owned by `file`, alive while the guard is held.
            let errno = if unsafe { libc::fdatasync(file.as_raw_fd()) } == 0 {
                0
            } else {
                std::io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(libc::EIO)
            };
            shared.errno.store(errno, Ordering::Relaxed);
        }
    }
}

impl<S: Strategy> Core<S> {
    /// Startup: loads the AOF when `appendonly yes`, then opens it for appending. Called before the loop runs.
    pub fn aof_startup(&mut self) -> anyhow::Result<()> {
        self.engine.aof.policy = FsyncPolicy::parse(self.config.get("appendfsync"));
        self.engine.aof.started = true;
        if !self.config.flag("appendonly") {
            return Ok(());
        }
        self.aof_open_dir()?;
        self.engine.aof.state = State::On;
        self.engine.aof.ensure_fsync_thread();
        Ok(())
    }

    /// Logs the keys deleted by expiry/eviction in `fx` (and a whole-keyspace eviction flush) as DEL/FLUSHALL.
    /// Called only by `Core::drain_effects`.
    pub fn aof_log_deletions(&mut self) {
        if !self.propagating() {
            return;
        }
        if self.engine.fx.flushed {
            self.propagate(0, &[b"FLUSHALL"]);
        }
        let expired = std::mem::take(&mut self.engine.fx.expired);
        for (db, key) in &expired {
            self.propagate(*db, &[b"DEL", key]);
        }
        self.engine.fx.expired = expired;
        self.engine.aof.recharge(self.budget);
    }

    /// After a command ran in `db`: its deletions, then itself (deterministic form) if it wrote. Called only by
    /// `Core::drain_effects`.
    pub fn aof_log_command(&mut self, db: usize, argv: &[&[u8]]) {
        if !self.propagating() {
            return;
        }
        // Only eviction empties the whole keyspace as a side effect, and it never runs inside a command
        // (`Core::reclaim` drains as housekeeping): here `fx.flushed` is FLUSHALL itself, logged below.
        let expired = std::mem::take(&mut self.engine.fx.expired);
        for (db, key) in &expired {
            self.propagate(*db, &[b"DEL", key]);
        }
        self.engine.fx.expired = expired;
        if self.engine.fx.dirty == 0 {
            return;
        }
        match self.engine.fx.rewritten.take() {
            Some(commands) => {
                for command in &commands {
                    let argv: Vec<&[u8]> = command.iter().map(|a| a.as_slice()).collect();
                    self.propagate(db, &argv);
                }
                self.engine.fx.rewritten = Some(commands);
            }
            None => self.propagate(db, argv),
        }
        self.engine.aof.recharge(self.budget);
    }

    /// Redis's `-MISCONF` refusal for writes (and PING) while the AOF cannot be written.
    pub fn aof_denies(&self, cmd: &Command<S>) -> Option<String> {
        if !cmd.has(WRITE | DISK_ERROR_DENIED) {
            return None;
        }
        self.rdb_misconf()
            .or_else(|| self.engine.aof.misconf_error())
    }

    /// Before replies are sent: writes this turn's commands, and with `always` fdatasyncs them.
    pub fn aof_before_sleep(&mut self) {
        if self.engine.aof.state == State::Off || self.engine.aof.buf.is_empty() {
            return;
        }
        let always = self.engine.aof.policy == FsyncPolicy::Always;
        match self.engine.aof.write_buf() {
            Err(_) if always => {
                zedis_deploy::warning!("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
                std::process::exit(1);
            }
            Err(_) => {}
            Ok(()) if always => {
                if let Some(Err(e)) = self.engine.aof.file.as_ref().map(File::sync_data) {
                    zedis_deploy::warning!("Can't persist AOF for fsync error when the AOF fsync policy is 'always': {e}. Exiting...");
                    std::process::exit(1);
                }
            }
            Ok(()) => {}
        }
        self.engine.aof.recharge(self.budget);
    }

    /// Cron: retries a failed write, reaps a finished rewrite child, starts scheduled or automatic rewrites.
    pub fn aof_cron(&mut self) {
        if self.engine.aof.write_errno.is_some() {
            let _ = self.engine.aof.write_buf();
        }
        if let Some(pid) = self.engine.aof.rewrite.as_ref().map(|r| r.pid) {
            let mut status = 0;
            // SAFETY: plain waitpid on our own child.
            let reaped = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if reaped == pid {
                let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
                self.aof_rewrite_done(ok);
            }
            return;
        }
        let retry_due = self
            .engine
            .aof
            .retry_at
            .is_none_or(|at| Instant::now() >= at);
        if self.engine.aof.rewrite_scheduled && retry_due && self.engine.persist.child.is_none() {
            self.engine.aof.rewrite_scheduled = false;
            let _ = self.aof_start_rewrite();
            return;
        }
        let percentage = self.settings.aof_rewrite_percentage;
        let min_size = self.settings.aof_rewrite_min_bytes;
        let (current, base) = (
            self.engine.aof.total_size(),
            self.engine.aof.base_size.max(1),
        );
        if self.engine.aof.state == State::On && percentage > 0 && current > min_size {
            let growth = (current * 100 / base).saturating_sub(100);
            if growth >= percentage {
                zedis_deploy::notice!("Starting automatic rewriting of AOF on {growth}% growth");
                let _ = self.aof_start_rewrite();
            }
        }
    }

    /// Applies `appendonly` and `appendfsync` after startup and CONFIG SET.
    pub fn aof_apply_config(&mut self) {
        let policy = FsyncPolicy::parse(self.config.get("appendfsync"));
        self.engine.aof.policy = policy;
        self.engine.aof.timestamps.enabled = self.config.flag("aof-timestamp-enabled");
        if let Some(shared) = &self.engine.aof.fsync {
            shared
                .everysec
                .store(policy == FsyncPolicy::EverySec, Ordering::Relaxed);
        }
        let wanted = self.config.flag("appendonly");
        match (self.engine.aof.state, wanted) {
            (State::Off, true) if self.engine.aof.started => {
                // As Redis's startAppendOnly: the current dataset first goes to the file through a rewrite.
                self.engine.aof.state = State::WaitRewrite;
                self.engine.aof.ensure_fsync_thread();
                if let Err(e) = self.aof_start_rewrite() {
                    zedis_deploy::warning!("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation: {e}");
                    self.engine.aof.rewrite_scheduled = true;
                }
            }
            (State::On | State::WaitRewrite, false) => self.aof_stop(),
            _ => {}
        }
    }

    /// CONFIG SET appendonly no: flush, close, and abandon a running rewrite.
    fn aof_stop(&mut self) {
        let _ = self.engine.aof.write_buf();
        self.engine.aof.buf.clear();
        self.engine.aof.close_file();
        self.aof_kill_rewrite();
        self.engine.aof.state = State::Off;
        self.engine.aof.parts = None;
        self.engine.aof.rewrite_scheduled = false;
        self.engine.aof.write_errno = None;
        self.engine.aof.recharge(self.budget);
    }

    /// Shutdown: everything buffered goes to disk.
    pub fn aof_shutdown(&mut self) {
        self.aof_kill_rewrite();
        if self.engine.aof.state == State::On {
            let _ = self.engine.aof.write_buf();
            if let Some(file) = &self.engine.aof.file {
                let _ = file.sync_data();
            }
        }
    }
}

/// The AOF part of INFO persistence.
pub fn info(aof: &Aof, out: &mut String) {
    use std::fmt::Write as _;
    let _ = write!(
        out,
        "aof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\naof_last_rewrite_time_sec:{}\r\naof_current_rewrite_time_sec:{}\r\naof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\naof_rewrites_consecutive_failures:0\r\naof_last_write_status:{}\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
        u8::from(aof.enabled()),
        u8::from(aof.rewrite_in_progress()),
        u8::from(aof.rewrite_scheduled),
        aof.last_rewrite_time_sec,
        aof.current_rewrite_time_sec(),
        if aof.last_bgrewrite_ok { "ok" } else { "err" },
        aof.rewrites,
        if aof.failure_errno().is_some() { "err" } else { "ok" },
    );
    if aof.enabled() {
        let _ = write!(
            out,
            "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:{}\r\naof_buffer_length:{}\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:0\r\n",
            aof.total_size(),
            aof.base_size,
            u8::from(aof.rewrite_scheduled),
            aof.buf.len(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_selects_once_per_db_change() {
        let mut aof = Aof {
            state: State::On,
            ..Aof::default()
        };
        aof.feed(0, &[b"SET", b"a", b"1"]);
        aof.feed(0, &[b"DEL", b"a"]);
        aof.feed(2, &[b"SET", b"b", b"2"]);
        assert_eq!(
            aof.buf,
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\nDEL\r\n$1\r\na\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"
        );
    }

    #[test]
    fn failed_write_keeps_bytes_and_reports_misconf() {
        let Ok(full) = OpenOptions::new().append(true).open("/dev/full") else {
            return;
        };
        let mut aof = Aof {
            state: State::On,
            ..Aof::default()
        };
        aof.file = Some(full);
        aof.feed(0, &[b"SET", b"a", b"1"]);
        let len = aof.buf.len();
        assert_eq!(aof.write_buf(), Err(libc::ENOSPC));
        assert_eq!(aof.buf.len(), len, "nothing acknowledged is dropped");
        assert_eq!(
            aof.misconf_error().as_deref(),
            Some("MISCONF Errors writing to the AOF file: No space left on device")
        );
        // The disk recovers: the same bytes are written and writes are accepted again.
        let dir = std::env::temp_dir().join(format!("zedis-aof-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("appendonly.aof");
        aof.file = Some(File::create(&path).unwrap());
        assert_eq!(aof.write_buf(), Ok(()));
        assert_eq!(aof.misconf_error(), None);
        assert_eq!(std::fs::read(&path).unwrap().len(), len);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
