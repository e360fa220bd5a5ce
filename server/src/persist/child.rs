//! The one forked child that writes an RDB: BGSAVE, the save points and a replica's full resync all start
//! (or join) it. It writes `dir/temp-<pid>.rdb` with the replication AUX fields and the function libraries;
//! when it exits with success the parent renames the file to `dir/dbfilename` (so a replication RDB is a save
//! too, as Redis's disk-based sync) and serves the replicas waiting for it (`repl/bgsave.rs`).
//!
//! Fork safety is the AOF rewrite's (see `aof.rs`): the child only walks the copy-on-write keyspace, writes a
//! buffered file, logs its line and `_exit`s.

use crate::repl::rdb::ReplAux;
use crate::server::{unix_ms, Core};
use crate::Strategy;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use zedis_budget::GlobalBudget;
use zedis_keyspace::persist::rdb_file::AuxInfo;

/// Output buffer of the child.
const CHILD_BUFFER_BYTES: usize = 1 << 20;

/// A running RDB child.
#[derive(Debug)]
pub struct RdbChild {
    /// The child's pid.
    pub pid: libc::pid_t,
    /// The file it writes (`dir/temp-<pid>.rdb`).
    pub temp: PathBuf,
    /// `master_repl_offset` when it was forked: the RDB holds exactly the data up to it.
    pub offset: u64,
    /// When it was forked.
    pub started: Instant,
    /// Changes counted when it was forked (subtracted from the counter when it succeeds).
    dirty_before: u64,
    /// Whether a replica may be served this RDB: the replication backlog existed at the fork, so the
    /// stream since the fork offset is in it (a BGSAVE forked before the first replica is not joinable:
    /// the writes after it reached no backlog).
    pub joinable: bool,
}

/// What an RDB written now holds besides the keys: its header fields, the replication fields and the
/// function libraries' code.
pub struct Snapshot {
    /// `redis-ver`, `ctime`, `used-mem`...
    pub aux: AuxInfo,
    /// `repl-stream-db`, `repl-id`, `repl-offset`.
    pub repl: ReplAux,
    /// Each function library's code, as FUNCTION DUMP holds it.
    pub functions: Vec<Vec<u8>>,
}

/// Writes the RDB of `snapshot` and `ks` to `out`.
pub fn write_rdb<A: zedis_kv_pool::KvAllocator, W: Write>(
    ks: &zedis_keyspace::Keyspace<A>,
    out: W,
    snapshot: &Snapshot,
    now_ms: i64,
) -> Result<W, zedis_rdb::RdbError> {
    let functions: Vec<&[u8]> = snapshot.functions.iter().map(Vec::as_slice).collect();
    crate::repl::rdb::save(ks, out, &snapshot.aux, &snapshot.repl, &functions, now_ms)
}

/// Writes the RDB to `path` and fsyncs it (in the child, and for SAVE through a temporary file).
pub fn write_rdb_file<A: zedis_kv_pool::KvAllocator>(
    ks: &zedis_keyspace::Keyspace<A>,
    path: &Path,
    snapshot: &Snapshot,
    now_ms: i64,
) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let out = std::io::BufWriter::with_capacity(CHILD_BUFFER_BYTES, file);
    let out = write_rdb(ks, out, snapshot, now_ms).map_err(std::io::Error::other)?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
}

impl<S: Strategy> Core<S> {
    /// `dir/dbfilename`.
    pub fn rdb_path(&self) -> PathBuf {
        Path::new(self.config.get("dir")).join(self.config.get("dbfilename"))
    }

    /// What an RDB made now holds besides the keys.
    pub fn rdb_snapshot(&self, now_ms: i64) -> Snapshot {
        Snapshot {
            aux: AuxInfo {
                redis_ver: crate::REDIS_VERSION.into(),
                redis_bits: 64,
                ctime_secs: now_ms / 1000,
                used_mem_bytes: self.budget.used() as u64,
                aof_base: false,
            },
            repl: self.repl_rdb_aux(),
            functions: crate::scripting_cmds::library_codes(self),
        }
    }

    /// Whether an RDB child or an AOF rewrite child runs (Redis's `hasActiveChildProcess`).
    pub fn child_active(&self) -> bool {
        self.engine.persist.child.is_some() || self.engine.aof.rewrite_in_progress()
    }

    /// Forks the RDB child (Redis's `rdbSaveBackground`). The caller checked that none runs.
    pub fn rdb_fork(&mut self) -> std::io::Result<()> {
        let now = unix_ms();
        let snapshot = self.rdb_snapshot(now);
        let dir = PathBuf::from(self.config.get("dir"));
        self.engine.persist.saves += 1;
        self.engine.persist.last_bgsave_try_s = now / 1000;
        let fork_started = Instant::now();
        // SAFETY: see the module docs; the child only writes the RDB and `_exit`s.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            let e = std::io::Error::last_os_error();
            self.engine.persist.last_bgsave_ok = false;
            zedis_deploy::warning!(
                "Can't save in background: fork: {}",
                zedis_deploy::os_text(&e)
            );
            return Err(e);
        }
        if pid == 0 {
            // SAFETY: default dispositions and an exit that runs none of the parent's destructors.
            unsafe {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                libc::signal(libc::SIGTERM, libc::SIG_DFL);
                crate::proctitle::show(&self.config, "zedis-rdb-bgsave");
                let temp = dir.join(format!("temp-{}.rdb", std::process::id()));
                let code = match write_rdb_file(&self.engine.ks, &temp, &snapshot, now) {
                    Ok(()) => {
                        zedis_deploy::notice!("DB saved on disk");
                        0
                    }
                    Err(e) => {
                        zedis_deploy::warning!("Write error saving DB on disk: {e}");
                        let _ = std::fs::remove_file(&temp);
                        1
                    }
                };
                libc::_exit(code);
            }
        }
        self.observe_fork(fork_started);
        zedis_deploy::notice!("Background saving started by pid {pid}");
        self.engine.persist.child = Some(RdbChild {
            pid,
            temp: dir.join(format!("temp-{pid}.rdb")),
            offset: self.engine.repl.master_repl_offset,
            started: Instant::now(),
            dirty_before: self.engine.stats.changes_since_save,
            joinable: self.engine.repl.backlog.is_some(),
        });
        // The stream after the fork offset starts with a SELECT (Redis's `slaveseldb = -1`), so a replica
        // served this RDB continues in the right database.
        self.engine.repl.stream_db = None;
        Ok(())
    }

    /// Each loop turn while a child runs: when it has exited, installs its file and serves the replicas
    /// waiting for it (Redis's `backgroundSaveDoneHandlerDisk` and `updateSlavesWaitingBgsave`).
    pub fn rdb_child_check(&mut self) {
        let Some(pid) = self.engine.persist.child.as_ref().map(|c| c.pid) else {
            return;
        };
        let mut status = 0;
        // SAFETY: plain waitpid on our own child.
        let reaped = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if reaped != pid {
            return;
        }
        let Some(child) = self.engine.persist.child.take() else {
            return;
        };
        let path = self.rdb_path();
        let p = &mut self.engine.persist;
        p.last_bgsave_time_s = child.started.elapsed().as_secs() as i64;
        let ok = if libc::WIFSIGNALED(status) {
            let signal = libc::WTERMSIG(status);
            zedis_deploy::warning!("Background saving terminated by signal {signal}");
            let unlink_started = Instant::now();
            let _ = std::fs::remove_file(&child.temp);
            crate::observe::latency_since(
                &mut self.engine.observe,
                zedis_observe::latency::events::RDB_UNLINK_TEMP_FILE,
                unlink_started,
            );
            // SIGUSR1 is Redis's way to stop a child without an error.
            if signal != libc::SIGUSR1 {
                p.last_bgsave_ok = false;
            }
            false
        } else if libc::WEXITSTATUS(status) != 0 {
            zedis_deploy::warning!("Background saving error");
            p.last_bgsave_ok = false;
            false
        } else if let Err(e) = std::fs::rename(&child.temp, &path) {
            zedis_deploy::warning!(
                "Error moving temp DB file {} on the final destination {} (in server root dir {}): {}",
                child.temp.display(),
                path.display(),
                std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default(),
                zedis_deploy::os_text(&e)
            );
            let _ = std::fs::remove_file(&child.temp);
            p.last_bgsave_ok = false;
            false
        } else {
            zedis_deploy::notice!("Background saving terminated with success");
            p.last_bgsave_ok = true;
            p.lastsave_s = unix_ms() / 1000;
            let stats = &mut self.engine.stats;
            stats.changes_since_save = stats.changes_since_save.saturating_sub(child.dirty_before);
            true
        };
        let rdb = if ok && self.repl_any_waiting_bgsave() {
            std::fs::read(&path).ok()
        } else {
            None
        };
        self.repl_bgsave_done(rdb, child.offset);
    }

    /// Stops a running RDB child and removes its file (SHUTDOWN, Redis's `killRDBChild`).
    pub fn rdb_child_kill(&mut self) {
        if let Some(child) = self.engine.persist.child.take() {
            // SAFETY: signalling and reaping our own child.
            unsafe {
                libc::kill(child.pid, libc::SIGUSR1);
                libc::waitpid(child.pid, std::ptr::null_mut(), 0);
            }
            let _ = std::fs::remove_file(&child.temp);
            self.repl_bgsave_done(None, child.offset);
        }
    }
}
