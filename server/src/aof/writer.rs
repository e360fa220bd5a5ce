//! The AOF writer: commands buffered per loop turn, written once per turn, the everysec fsync thread, and the
//! budget charge of the buffers.

use super::{encode, errno_of, strerror, Aof, FsyncPolicy, FsyncShared, State, BUF_KEEP_BYTES_MAX};
use std::fs::File;
#[cfg(test)]
use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zedis_budget::{Component, GlobalBudget};

impl Aof {
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
    pub(super) fn write_buf(&mut self) -> Result<(), i32> {
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

    pub(super) fn install_file(&mut self, file: File) {
        if let Some(shared) = &self.fsync {
            let mut guard = shared.file.lock().unwrap_or_else(|e| e.into_inner());
            *guard = file.try_clone().ok();
            shared.errno.store(0, Ordering::Relaxed);
        }
        self.file = Some(file);
        self.selected_db = None;
    }

    pub(super) fn close_file(&mut self) {
        if let Some(shared) = &self.fsync {
            *shared.file.lock().unwrap_or_else(|e| e.into_inner()) = None;
            shared.errno.store(0, Ordering::Relaxed);
        }
        if let Some(file) = self.file.take() {
            let _ = file.sync_data();
        }
    }

    /// Starts the everysec thread once; afterwards it follows `policy` through an atomic.
    pub(super) fn ensure_fsync_thread(&mut self) {
        let everysec = self.policy == FsyncPolicy::EverySec;
        if let Some(shared) = &self.fsync {
            shared.everysec.store(everysec, Ordering::Relaxed);
            return;
        }
        let shared = Arc::new(FsyncShared {
            file: Mutex::new(self.file.as_ref().and_then(|f| f.try_clone().ok())),
            everysec: AtomicBool::new(everysec),
            errno: AtomicI32::new(0),
            syncing: AtomicBool::new(false),
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
    pub(super) fn recharge(&mut self, budget: &zedis_budget::Budget) {
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
            shared.syncing.store(true, Ordering::Relaxed);
            // SAFETY: the descriptor is owned by `file`, alive while the guard is held.
            let synced = unsafe { libc::fdatasync(file.as_raw_fd()) } == 0;
            shared.syncing.store(false, Ordering::Relaxed);
            let errno = if synced {
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
