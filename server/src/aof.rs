//! AOF persistence: the append-only file writer, its fsync policies, loading at startup, and the rewrite.
//!
//! Format: RESP multibulk commands in one file, `dir/appendfilename` (`appendonly.aof`). A real Redis 7.0
//! started with `--appendonly yes` on that directory finds the file with no `appendonlydir` next to it and
//! upgrades it to its multi-part layout, using it as the base: it loads the same dataset.
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
//! Rewrite (BGREWRITEAOF, automatic growth trigger, CONFIG SET appendonly yes): `fork()`; the child walks the
//! copy-on-write keyspace with `zedis_keyspace::dump` into `temp-rewriteaof-bg-<pid>.aof` and `_exit`s; the parent
//! keeps every command logged meanwhile in a rewrite buffer, and when `waitpid(WNOHANG)` in the cron sees the
//! child succeed, appends that buffer, fsyncs, renames the temp file over the AOF atomically and continues on it.
//!
//! Fork safety: the only other thread is the everysec fsync thread. In its loop it only sleeps, reads an atomic,
//! locks a `Mutex` and calls fdatasync: it never allocates, so it cannot hold the allocator's lock when the
//! fork happens, and the child never touches that mutex. The child therefore may allocate (glibc's malloc is
//! also reset in the child by fork) and uses only the keyspace, a buffered file and `_exit`.

use crate::server::{unix_ms, Core};
use crate::table::{Command, DISK_ERROR_DENIED, WRITE};
use crate::Strategy;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zedis_budget::{Component, GlobalBudget};
use zedis_client_pool::ClientSlots;
use zedis_resp::{reply, ParserLimits, RequestParser};

/// Bytes read per read call while loading.
const LOAD_CHUNK_BYTES: usize = 1 << 20;
/// Output buffer of the rewrite child.
const REWRITE_BUFFER_BYTES: usize = 1 << 20;
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

/// A rewrite child in flight.
struct Rewrite {
    pid: libc::pid_t,
    temp: PathBuf,
    started: Instant,
    /// Everything logged since the fork, appended to the child's file when it is done.
    diff: Vec<u8>,
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
    path: PathBuf,
    /// Commands of this loop turn not yet written. Only used while `state == On`.
    buf: Vec<u8>,
    /// Database of the last SELECT written (None: the next command writes one).
    selected_db: Option<usize>,
    /// Bytes in the file.
    pub current_size: u64,
    /// Size after the last rewrite or load (the auto-rewrite growth base).
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
}

impl Default for Aof {
    fn default() -> Self {
        Aof {
            state: State::Off,
            policy: FsyncPolicy::EverySec,
            file: None,
            path: PathBuf::from("appendonly.aof"),
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

    /// Whether a rewrite child is running.
    pub fn rewrite_in_progress(&self) -> bool {
        self.rewrite.is_some()
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
        if self.state == State::Off && self.rewrite.is_none() {
            return;
        }
        let start = self.buf.len();
        if self.selected_db != Some(db) {
            let mut text = itoa::Buffer::new();
            encode(&mut self.buf, &[b"SELECT", text.format(db).as_bytes()]);
            self.selected_db = Some(db);
        }
        encode(&mut self.buf, argv);
        if let Some(rewrite) = &mut self.rewrite {
            rewrite.diff.extend_from_slice(&self.buf[start..]);
        }
        if self.state != State::On {
            self.buf.truncate(start);
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
                eprintln!("# AOF write error looks solved, Redis can write again.");
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
            eprintln!("# Error writing to the AOF file: {}", strerror(errno));
        }
        self.write_errno = Some(errno);
        Err(errno)
    }

    /// Opens `path` for appending and makes it the AOF.
    fn open(&mut self, path: &Path) -> std::io::Result<()> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        self.current_size = file.metadata()?.len();
        self.install_file(file);
        Ok(())
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
        let bytes = self.buf.capacity() + self.rewrite.as_ref().map_or(0, |r| r.diff.capacity());
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

/// Writes the keyspace dump to `path` (in the rewrite child).
fn write_dump<A: zedis_kv_pool::KvAllocator>(
    ks: &zedis_keyspace::Keyspace<A>,
    path: &Path,
    now_ms: i64,
) -> std::io::Result<()> {
    let file = File::create(path)?;
    let mut out = std::io::BufWriter::with_capacity(REWRITE_BUFFER_BYTES, file);
    let mut scratch = Vec::new();
    let mut result = Ok(());
    zedis_keyspace::dump::for_each_command(ks, now_ms, |argv| {
        if result.is_err() {
            return;
        }
        scratch.clear();
        encode(&mut scratch, argv);
        result = out.write_all(&scratch);
    });
    result?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
}

/// fsyncs a directory so that a rename in it is durable.
fn sync_dir(path: &Path) {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Ok(dir) = File::open(dir.unwrap_or(Path::new("."))) {
        let _ = dir.sync_all();
    }
}

/// Why loading stopped.
fn load_error(path: &Path, offset: u64, what: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "Bad file format reading the append only file {}: {what} at byte offset {offset}. Make a backup of the file, then truncate or repair it from that offset.",
        path.display()
    )
}

impl<S: Strategy> Core<S> {
    fn aof_path(&self) -> PathBuf {
        Path::new(self.config.get("dir")).join(self.config.get("appendfilename"))
    }

    /// Startup: loads the AOF when `appendonly yes`, then opens it for appending. Called before the loop runs.
    pub fn aof_startup(&mut self) -> anyhow::Result<()> {
        self.aof.policy = FsyncPolicy::parse(self.config.get("appendfsync"));
        self.aof.started = true;
        if !self.config.flag("appendonly") {
            return Ok(());
        }
        let path = self.aof_path();
        self.aof_load(&path)?;
        self.aof.open(&path)?;
        self.aof.path = path;
        self.aof.base_size = self.aof.current_size;
        self.aof.state = State::On;
        self.aof.ensure_fsync_thread();
        Ok(())
    }

    /// Replays the file at `path` (absent: nothing to do). A truncated last command is cut off (with
    /// `aof-load-truncated yes`) or refused; anything else malformed stops with its byte offset.
    fn aof_load(&mut self, path: &Path) -> anyhow::Result<()> {
        let mut file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => anyhow::bail!("Can't open the append only file {}: {e}", path.display()),
        };
        let started = Instant::now();
        let mut parser = RequestParser::new(ParserLimits {
            bulk_bytes_max: 1 << 40,
            inline_bytes_max: 64 * 1024,
            multibulk_len_max: i32::MAX as usize,
        });
        let mut buf: Vec<u8> = Vec::with_capacity(LOAD_CHUNK_BYTES);
        let mut buf_offset: u64 = 0;
        let mut in_command = false;
        let mut db = 0;
        let (mut commands, mut errors) = (0u64, 0u64);
        let mut out = Vec::new();
        loop {
            let len = buf.len();
            let wanted = parser.bytes_wanted().unwrap_or(0);
            buf.resize(len + LOAD_CHUNK_BYTES.max(wanted.saturating_sub(len)), 0);
            let n = loop {
                match file.read(&mut buf[len..]) {
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            buf.truncate(len + n);
            if n == 0 {
                break;
            }
            let mut pos = 0;
            while pos < buf.len() {
                if !in_command && buf[pos] != b'*' {
                    return Err(load_error(path, buf_offset + pos as u64, "expected '*'"));
                }
                match parser.parse(&mut buf[pos..]) {
                    Ok(None) => {
                        in_command = true;
                        break;
                    }
                    Ok(Some(consumed)) => {
                        in_command = false;
                        let data = &buf[pos..];
                        let argv: Vec<&[u8]> =
                            parser.args().iter().map(|s| &data[s.clone()]).collect();
                        if !argv.is_empty() {
                            match self.load_command(&mut db, &argv, &mut out) {
                                Ok(true) => {}
                                Ok(false) => errors += 1,
                                Err(what) => {
                                    return Err(load_error(path, buf_offset + pos as u64, &what))
                                }
                            }
                            commands += 1;
                        }
                        pos += consumed;
                    }
                    Err(e) => {
                        return Err(load_error(path, buf_offset + pos as u64, &e.reply_text()))
                    }
                }
            }
            buf.drain(..pos);
            buf_offset += pos as u64;
        }
        if !buf.is_empty() {
            if !self.config.flag("aof-load-truncated") {
                anyhow::bail!(
                    "Unexpected end of file reading the append only file {} at byte offset {buf_offset}. You can: 1) Make a backup of your AOF file, then truncate it at that offset. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.",
                    path.display()
                );
            }
            eprintln!(
                "# !!! Warning: short read while loading the AOF file {}!!!",
                path.display()
            );
            eprintln!(
                "# AOF {} loaded anyway because aof-load-truncated is enabled: truncated from {} to {buf_offset} bytes",
                path.display(),
                buf_offset + buf.len() as u64
            );
            file.set_len(buf_offset)?;
        }
        if errors > 0 {
            eprintln!("# {errors} commands of the AOF replied an error while loading (skipped)");
        }
        eprintln!(
            "# DB loaded from append only file: {:.3} seconds ({commands} commands, {} keys)",
            started.elapsed().as_secs_f64(),
            self.ks.total_keys()
        );
        Ok(())
    }

    /// Logs the keys deleted by expiry/eviction in `fx` (and a whole-keyspace eviction flush) as DEL/FLUSHALL.
    /// Called only by `Core::drain_effects`.
    pub fn aof_log_deletions(&mut self) {
        if !self.aof.enabled() && !self.aof.rewrite_in_progress() {
            return;
        }
        if self.fx.flushed {
            self.aof.feed(0, &[b"FLUSHALL"]);
        }
        for (db, key) in &self.fx.expired {
            self.aof.feed(*db, &[b"DEL", key]);
        }
        self.aof.recharge(self.budget);
    }

    /// After a command ran in `db`: its deletions, then itself (deterministic form) if it wrote. Called only by
    /// `Core::drain_effects`.
    pub fn aof_log_command(&mut self, db: usize, argv: &[&[u8]]) {
        if !self.aof.enabled() && !self.aof.rewrite_in_progress() {
            return;
        }
        if !self.fx.expired.is_empty() || self.fx.flushed {
            self.aof_log_deletions();
        }
        if self.fx.dirty == 0 {
            return;
        }
        match self.fx.rewritten.take() {
            Some(commands) => {
                for command in &commands {
                    let argv: Vec<&[u8]> = command.iter().map(|a| a.as_slice()).collect();
                    self.aof.feed(db, &argv);
                }
                self.fx.rewritten = Some(commands);
            }
            None => self.aof.feed(db, argv),
        }
        self.aof.recharge(self.budget);
    }

    /// Redis's `-MISCONF` refusal for writes (and PING) while the AOF cannot be written.
    pub fn aof_denies(&self, cmd: &Command<S>) -> Option<String> {
        if !cmd.has(WRITE | DISK_ERROR_DENIED) {
            return None;
        }
        self.aof.misconf_error()
    }

    /// Before replies are sent: writes this turn's commands, and with `always` fdatasyncs them.
    pub fn aof_before_sleep(&mut self) {
        if self.aof.state != State::On || self.aof.buf.is_empty() {
            return;
        }
        let always = self.aof.policy == FsyncPolicy::Always;
        match self.aof.write_buf() {
            Err(_) if always => {
                eprintln!("# Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
                std::process::exit(1);
            }
            Err(_) => {}
            Ok(()) if always => {
                if let Some(Err(e)) = self.aof.file.as_ref().map(File::sync_data) {
                    eprintln!("# Can't persist AOF for fsync error when the AOF fsync policy is 'always': {e}. Exiting...");
                    std::process::exit(1);
                }
            }
            Ok(()) => {}
        }
        self.aof.recharge(self.budget);
    }

    /// Cron: retries a failed write, reaps a finished rewrite child, starts scheduled or automatic rewrites.
    pub fn aof_cron(&mut self) {
        if self.aof.write_errno.is_some() {
            let _ = self.aof.write_buf();
        }
        if let Some(pid) = self.aof.rewrite.as_ref().map(|r| r.pid) {
            let mut status = 0;
            // SAFETY: plain waitpid on our own child.
            let reaped = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if reaped == pid {
                let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
                self.aof_rewrite_done(ok);
            }
            return;
        }
        let retry_due = self.aof.retry_at.is_none_or(|at| Instant::now() >= at);
        if self.aof.rewrite_scheduled && retry_due {
            self.aof.rewrite_scheduled = false;
            let _ = self.aof_start_rewrite();
            return;
        }
        let percentage = self.config.int("auto-aof-rewrite-percentage") as u64;
        let min_size = self.config.int("auto-aof-rewrite-min-size") as u64;
        let (current, base) = (self.aof.current_size, self.aof.base_size.max(1));
        if self.aof.state == State::On && percentage > 0 && current > min_size {
            let growth = (current * 100 / base).saturating_sub(100);
            if growth >= percentage {
                eprintln!("# Starting automatic rewriting of AOF on {growth}% growth");
                let _ = self.aof_start_rewrite();
            }
        }
    }

    /// Forks the rewrite child. Err: Redis's error text.
    pub fn aof_start_rewrite(&mut self) -> Result<(), String> {
        if self.aof.rewrite.is_some() {
            return Err("ERR Background append only file rewriting already in progress".into());
        }
        let path = if self.aof.file.is_some() {
            self.aof.path.clone()
        } else {
            self.aof_path()
        };
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let temp = dir.join(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
        let now_ms = unix_ms();
        let fork_started = Instant::now();
        // SAFETY: see the module docs on fork safety; the child only dumps the keyspace and `_exit`s.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            let e = std::io::Error::last_os_error();
            self.aof.last_bgrewrite_ok = false;
            return Err(format!(
                "ERR Can't rewrite append only file in background: fork: {e}"
            ));
        }
        if pid == 0 {
            // SAFETY: resetting dispositions and exiting without running the parent's destructors.
            unsafe {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                libc::signal(libc::SIGTERM, libc::SIG_DFL);
                let code = match write_dump(&self.ks, &temp, now_ms) {
                    Ok(()) => 0,
                    Err(_) => 1,
                };
                libc::_exit(code);
            }
        }
        eprintln!(
            "# Background append only file rewriting started by pid {pid} (fork took {} us)",
            fork_started.elapsed().as_micros()
        );
        self.aof.path = path;
        self.aof.rewrites += 1;
        self.aof.rewrite = Some(Rewrite {
            pid,
            temp,
            started: Instant::now(),
            diff: Vec::new(),
        });
        // The rewrite buffer must start with a SELECT of its own.
        self.aof.selected_db = None;
        Ok(())
    }

    /// The child exited: install its file (plus the rewrite buffer) or drop it.
    fn aof_rewrite_done(&mut self, child_ok: bool) {
        let Some(rewrite) = self.aof.rewrite.take() else {
            return;
        };
        self.aof.last_rewrite_time_sec = rewrite.started.elapsed().as_secs() as i64;
        let installed = child_ok && self.aof_install_rewrite(&rewrite).is_ok();
        self.aof.last_bgrewrite_ok = installed;
        if installed {
            eprintln!("# Background AOF rewrite finished successfully");
        } else {
            let _ = std::fs::remove_file(&rewrite.temp);
            eprintln!("# Background AOF rewrite failed");
            if self.aof.state == State::WaitRewrite {
                self.aof.rewrite_scheduled = true;
                self.aof.retry_at = Some(Instant::now() + Duration::from_secs(1));
            }
        }
        self.aof.recharge(self.budget);
    }

    fn aof_install_rewrite(&mut self, rewrite: &Rewrite) -> std::io::Result<()> {
        let mut file = OpenOptions::new().append(true).open(&rewrite.temp)?;
        file.write_all(&rewrite.diff)?;
        file.sync_data()?;
        // The old file gets this turn's bytes too (they are also in the diff) so that it stays complete until
        // the rename; then the buffer restarts on the new file.
        let _ = self.aof.write_buf();
        std::fs::rename(&rewrite.temp, &self.aof.path)?;
        sync_dir(&self.aof.path);
        self.aof.buf.clear();
        let size = file.metadata()?.len();
        let selected = self.aof.selected_db;
        if self.aof.state == State::Off {
            return Ok(());
        }
        self.aof.install_file(file);
        // The diff ended with the same SELECT state as the stream it copied.
        self.aof.selected_db = selected;
        self.aof.current_size = size;
        self.aof.base_size = size;
        self.aof.write_errno = None;
        if self.aof.state == State::WaitRewrite {
            self.aof.rewrite_scheduled = false;
        }
        self.aof.state = State::On;
        Ok(())
    }

    /// Applies `appendonly` and `appendfsync` after startup and CONFIG SET.
    pub fn aof_apply_config(&mut self) {
        let policy = FsyncPolicy::parse(self.config.get("appendfsync"));
        self.aof.policy = policy;
        if let Some(shared) = &self.aof.fsync {
            shared
                .everysec
                .store(policy == FsyncPolicy::EverySec, Ordering::Relaxed);
        }
        let wanted = self.config.flag("appendonly");
        match (self.aof.state, wanted) {
            (State::Off, true) if self.aof.started => {
                // As Redis's startAppendOnly: the current dataset first goes to the file through a rewrite.
                self.aof.path = self.aof_path();
                self.aof.state = State::WaitRewrite;
                self.aof.ensure_fsync_thread();
                if let Err(e) = self.aof_start_rewrite() {
                    eprintln!("# Redis needs to enable the AOF but can't trigger a background AOF rewrite operation: {e}");
                    self.aof.rewrite_scheduled = true;
                }
            }
            (State::On | State::WaitRewrite, false) => self.aof_stop(),
            _ => {}
        }
    }

    /// CONFIG SET appendonly no: flush, close, and abandon a running rewrite.
    fn aof_stop(&mut self) {
        let _ = self.aof.write_buf();
        self.aof.buf.clear();
        self.aof.close_file();
        self.aof_kill_rewrite();
        self.aof.state = State::Off;
        self.aof.rewrite_scheduled = false;
        self.aof.write_errno = None;
        self.aof.recharge(self.budget);
    }

    fn aof_kill_rewrite(&mut self) {
        if let Some(rewrite) = self.aof.rewrite.take() {
            // SAFETY: our own child.
            unsafe {
                libc::kill(rewrite.pid, libc::SIGKILL);
                libc::waitpid(rewrite.pid, std::ptr::null_mut(), 0);
            }
            let _ = std::fs::remove_file(&rewrite.temp);
        }
    }

    /// Shutdown: everything buffered goes to disk.
    pub fn aof_shutdown(&mut self) {
        self.aof_kill_rewrite();
        if self.aof.state == State::On {
            let _ = self.aof.write_buf();
            if let Some(file) = &self.aof.file {
                let _ = file.sync_data();
            }
        }
    }
}

/// BGREWRITEAOF.
pub fn bgrewriteaof<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    match core.aof_start_rewrite() {
        Ok(()) => {
            if let Some(client) = core.clients.get_mut(ck) {
                reply::simple(
                    client.out.vec_mut(),
                    b"Background append only file rewriting started",
                );
                client.out.recharge();
            }
        }
        Err(e) => core.reply_error(ck, e.as_bytes()),
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
            aof.current_size,
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
