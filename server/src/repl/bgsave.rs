//! The RDB of a full resync, made by a forked child so the event loop keeps serving while it is written.
//!
//! PSYNC/SYNC that needs a full resync answers `+FULLRESYNC <replid> <offset>` at once, with the offset at
//! which the child was forked (a replica arriving while a child runs shares it and its offset). The replica
//! then waits (`state=wait_bgsave`, kept alive with a newline a second, as Redis does) and receives no stream.
//! When the child exits, its file is read and sent as `$<len>` and the payload, followed by the stream since
//! the fork offset taken from the backlog; the replica is then online. If the backlog no longer reaches back
//! that far, the replica is dropped and syncs again. If the fork fails, the RDB is made in memory at once.
//!
//! Fork safety is the AOF rewrite's (see `aof.rs`): the child only walks the copy-on-write keyspace, writes a
//! buffered file and `_exit`s.

use super::rdb::ReplAux;
use crate::client::Frame;
use crate::server::{cached_ms, unix_ms, Core};
use crate::Strategy;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;
use zedis_budget::{Component, GlobalBudget};
use zedis_client_pool::ClientSlots;
use zedis_keyspace::persist::rdb_file::AuxInfo;

/// Output buffer of the child.
const CHILD_BUFFER_BYTES: usize = 1 << 20;

/// A child writing the RDB for waiting replicas.
#[derive(Debug)]
pub struct ReplSave {
    pid: libc::pid_t,
    temp: PathBuf,
    /// `master_repl_offset` when the child was forked: the RDB holds exactly the data up to it.
    pub offset: u64,
    started: Instant,
}

impl<S: Strategy> Core<S> {
    /// The header fields of an RDB made now.
    fn repl_aux(&self, now_ms: i64) -> AuxInfo {
        AuxInfo {
            redis_ver: crate::REDIS_VERSION.into(),
            redis_bits: 64,
            ctime_secs: now_ms / 1000,
            used_mem_bytes: self.budget.used() as u64,
            aof_base: false,
        }
    }

    /// Starts (or joins) a background save for replica `ck`; returns the offset its RDB corresponds to.
    /// None: fork failed (the caller makes the RDB in memory).
    pub fn repl_bgsave_for(&mut self, ck: usize) -> Option<u64> {
        if let Some(save) = &self.engine.repl.save {
            let offset = save.offset;
            self.repl_mark_waiting(ck);
            return Some(offset);
        }
        let dir = PathBuf::from(self.config.get("dir"));
        let temp = dir.join(format!("temp-repl-{}.rdb", std::process::id()));
        let now = unix_ms();
        let aux = self.repl_aux(now);
        let repl_aux = self.repl_rdb_aux();
        // SAFETY: see the module docs; the child only writes the RDB and `_exit`s.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            eprintln!(
                "# Can't fork for the replication RDB: {}",
                std::io::Error::last_os_error()
            );
            return None;
        }
        if pid == 0 {
            // SAFETY: default dispositions and an exit that runs none of the parent's destructors.
            unsafe {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                libc::signal(libc::SIGTERM, libc::SIG_DFL);
                let code =
                    i32::from(write_rdb(&self.engine.ks, &aux, &repl_aux, &temp, now).is_err());
                libc::_exit(code);
            }
        }
        let offset = self.engine.repl.master_repl_offset;
        eprintln!("# Starting BGSAVE for SYNC with target: disk (pid {pid}, offset {offset})");
        self.engine.repl.save = Some(ReplSave {
            pid,
            temp,
            offset,
            started: Instant::now(),
        });
        // The stream after the fork offset starts with a SELECT (Redis's `slaveseldb = -1`).
        self.engine.repl.stream_db = None;
        self.repl_mark_waiting(ck);
        Some(offset)
    }

    fn repl_mark_waiting(&mut self, ck: usize) {
        if let Some(link) = self.clients.get_mut(ck).and_then(|c| c.replica.as_mut()) {
            link.online = false;
            link.waiting_bgsave = true;
        }
    }

    /// Each loop turn while a child runs: when it exits, serves its RDB to the waiting replicas.
    pub fn repl_bgsave_check(&mut self) {
        let Some(pid) = self.engine.repl.save.as_ref().map(|s| s.pid) else {
            return;
        };
        let mut status = 0;
        // SAFETY: plain waitpid on our own child.
        let reaped = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if reaped != pid {
            return;
        }
        let Some(save) = self.engine.repl.save.take() else {
            return;
        };
        let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
        let rdb = if ok {
            std::fs::read(&save.temp).ok()
        } else {
            None
        };
        let _ = std::fs::remove_file(&save.temp);
        let waiting: Vec<usize> = self
            .engine
            .repl
            .replicas
            .iter()
            .copied()
            .filter(|&ck| {
                self.clients
                    .get(ck)
                    .and_then(|c| c.replica.as_ref())
                    .is_some_and(|l| l.waiting_bgsave)
            })
            .collect();
        let Some(rdb) = rdb else {
            eprintln!("# Background RDB for replication failed: dropping the waiting replicas");
            self.net.closing.extend(waiting);
            return;
        };
        eprintln!(
            "# Background RDB for replication done in {} ms ({} bytes, offset {})",
            save.started.elapsed().as_millis(),
            rdb.len(),
            save.offset
        );
        let tail = self
            .engine
            .repl
            .backlog
            .as_ref()
            .and_then(|b| b.since(save.offset));
        let Some(tail) = tail else {
            eprintln!("# The backlog no longer holds the stream since the RDB: dropping the waiting replicas");
            self.net.closing.extend(waiting);
            return;
        };
        let mut payload = format!("${}\r\n", rdb.len()).into_bytes();
        payload.extend_from_slice(&rdb);
        drop(rdb);
        payload.extend_from_slice(&tail);
        let frame = Rc::new(Frame::new(payload, Component::Clients));
        let now = cached_ms();
        for ck in waiting {
            if let Some(client) = self.clients.get_mut(ck) {
                client.push_shared(&frame);
                if let Some(link) = client.replica.as_mut() {
                    link.rdb_frame = Some(Rc::downgrade(&frame));
                    link.waiting_bgsave = false;
                    link.online = true;
                    link.ack_ms = now;
                }
            }
            self.queue_write(ck);
        }
    }

    /// Once a second: a newline to each replica waiting for its RDB, so that it does not time out.
    pub fn repl_bgsave_keepalive(&mut self) {
        if self.engine.repl.save.is_none() {
            return;
        }
        for ck in self.engine.repl.replicas.clone() {
            let waiting = self
                .clients
                .get(ck)
                .and_then(|c| c.replica.as_ref())
                .is_some_and(|l| l.waiting_bgsave);
            if waiting {
                self.reply(ck, |out, _| out.push(b'\n'));
                self.queue_write(ck);
            }
        }
    }

    /// Shutdown: stop a running child and remove its file.
    pub fn repl_bgsave_kill(&mut self) {
        if let Some(save) = self.engine.repl.save.take() {
            // SAFETY: signalling and reaping our own child.
            unsafe {
                libc::kill(save.pid, libc::SIGKILL);
                libc::waitpid(save.pid, std::ptr::null_mut(), 0);
            }
            let _ = std::fs::remove_file(&save.temp);
        }
    }

    /// The RDB made in memory at once (when fork is not possible).
    pub fn repl_rdb_now(&self) -> Result<Vec<u8>, String> {
        let now = unix_ms();
        let (aux, repl_aux) = (self.repl_aux(now), self.repl_rdb_aux());
        super::rdb::save(&self.engine.ks, Vec::new(), &aux, &repl_aux, now)
            .map_err(|e| e.to_string())
    }

    /// The replication AUX fields of an RDB made now: the database our stream continues in (our master
    /// client's on a replica), our id and offset.
    fn repl_rdb_aux(&self) -> ReplAux {
        let master_db = match self.engine.repl.master.as_ref().map(|l| &l.state) {
            Some(super::replica::LinkState::Connected(ck)) => self.clients.get(*ck).map(|c| c.db),
            _ => None,
        };
        ReplAux {
            stream_db: master_db.or(self.engine.repl.stream_db).unwrap_or(0),
            replid: self.engine.repl.replid.clone(),
            offset: self.engine.repl.master_repl_offset,
        }
    }
}

/// Writes the RDB to `path` (in the child).
fn write_rdb<A: zedis_kv_pool::KvAllocator>(
    ks: &zedis_keyspace::Keyspace<A>,
    aux: &AuxInfo,
    repl_aux: &ReplAux,
    path: &Path,
    now_ms: i64,
) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let out = std::io::BufWriter::with_capacity(CHILD_BUFFER_BYTES, file);
    let out = super::rdb::save(ks, out, aux, repl_aux, now_ms).map_err(std::io::Error::other)?;
    out.into_inner().map_err(|e| e.into_error())?;
    Ok(())
}
