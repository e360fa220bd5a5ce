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

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

mod debug_load;
mod info;
mod lifecycle;
mod load;
mod multipart;
mod rewrite;
mod timestamp;
mod writer;

pub use info::info;
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
    /// An fdatasync runs in the thread (Redis's `aofFsyncInProgress`: the `aof-write-pending-fsync` event).
    syncing: AtomicBool,
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
    /// `DEBUG AOF-FLUSH-SLEEP`: µs slept before each write of buffered commands (tests widen races with it).
    pub flush_sleep_us: u64,
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
            flush_sleep_us: 0,
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

    /// Whether the everysec thread is in an fdatasync now.
    pub fn fsync_in_progress(&self) -> bool {
        self.fsync
            .as_ref()
            .is_some_and(|f| f.syncing.load(Ordering::Relaxed))
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
}
