//! Full resyncs as Redis 7.0 schedules them, and `repl-diskless-sync yes`: the RDB streamed to the replicas'
//! sockets without touching the disk.
//!
//! A replica needing a full resync first waits for a fork (`wait_bgsave_start`; INFO shows `wait_bgsave`).
//! [`Core::repl_start_pending_fork`] (called after PSYNC/SYNC, every cron second and when a child exits) forks
//! when no RDB child runs and, with diskless sync, once the longest-waiting replica waited
//! `repl-diskless-sync-delay` seconds or `repl-diskless-sync-max-replicas` are waiting (Redis's
//! `replicationStartPendingFork`). Every waiting replica gets `+FULLRESYNC <replid> <offset>` with the fork's
//! offset. The child writes to disk (`persist/child.rs`, served by `bgsave.rs`) unless diskless sync is on
//! and every one of them announced `capa eof`.
//!
//! A diskless child writes `$EOF:<40 random hex chars>\r\n`, the RDB and the same 40 characters to a pipe.
//! The parent reads the pipe (polled as [`RDB_PIPE`]) in 64 KiB pieces and queues each piece, as one shared
//! frame, to every replica of the transfer, writing at once; it reads the next piece only when all of
//! them took the previous one, so a slow replica slows the transfer and no output grows without bound
//! (Redis's `rdbPipeReadHandler`). A replica that disconnects leaves the others going; when none is left the
//! child is killed. When the pipe ends and the child exited with success, each replica waits for its first
//! `REPLCONF ACK` (sent once it loaded), then gets the stream written since the fork (held for it, bounded by
//! the `replica` output limit, as Redis's output buffer) and is online: a replica reading `$EOF:` finds the mark only at the end of a read, so nothing may follow it
//! early (Redis's `repl_start_cmd_stream_on_ack`). Replicas arriving meanwhile wait for the next fork.

use crate::client::Frame;
use crate::server::{cached_ms, Core};
use crate::Strategy;
use mio::unix::SourceFd;
use mio::{Interest, Token};
use std::io::{ErrorKind, Read};
use std::rc::Rc;
use zedis_budget::Component;
use zedis_client_pool::ClientSlots;

/// The poll token of the diskless child's pipe (next to the server's other fixed tokens).
pub const RDB_PIPE: Token = Token(usize::MAX - 3);

/// Bytes read from the pipe at a time.
const PIPE_CHUNK_BYTES: usize = 64 * 1024;

impl<S: Strategy> Core<S> {
    /// Replicas in a diskless transfer.
    fn repl_diskless_targets(&self) -> Vec<usize> {
        self.repl_replicas_where(|l| l.waiting_bgsave && l.diskless)
    }

    /// Replicas whose link matches `pred`.
    pub(super) fn repl_replicas_where(
        &self,
        pred: impl Fn(&super::ReplicaLink) -> bool,
    ) -> Vec<usize> {
        self.engine
            .repl
            .replicas
            .iter()
            .copied()
            .filter(|&ck| {
                self.clients
                    .get(ck)
                    .and_then(|c| c.replica.as_ref())
                    .is_some_and(&pred)
            })
            .collect()
    }

    /// Polls the pipe of the diskless child just forked.
    pub fn repl_pipe_register(&mut self) {
        let fd = self
            .engine
            .persist
            .child
            .as_ref()
            .and_then(|c| c.socket.as_ref())
            .and_then(|s| s.pipe.as_ref())
            .map(std::os::fd::AsRawFd::as_raw_fd);
        if let Some(fd) = fd {
            let registered =
                self.net
                    .poll
                    .registry()
                    .register(&mut SourceFd(&fd), RDB_PIPE, Interest::READABLE);
            if let Err(e) = registered {
                zedis_deploy::warning!("Can't poll the diskless child's pipe: {e}");
            }
        }
    }

    /// Stops polling and closes the diskless child's pipe (the child then gets EPIPE).
    pub fn repl_pipe_close(&mut self) {
        let pipe = self
            .engine
            .persist
            .child
            .as_mut()
            .and_then(|c| c.socket.as_mut())
            .and_then(|s| s.pipe.take());
        if let Some(pipe) = pipe {
            let fd = std::os::fd::AsRawFd::as_raw_fd(&pipe);
            let _ = self.net.poll.registry().deregister(&mut SourceFd(&fd));
        }
    }

    /// The pipe is readable (its end included).
    pub fn repl_rdb_pipe_event(&mut self) {
        self.repl_pipe_pump();
    }

    /// Relays the pipe to the transfer's replicas while they keep up (see the module docs). Also called
    /// each loop turn, to resume after a replica's output drained.
    pub fn repl_pipe_pump(&mut self) {
        let mut chunk = Vec::new();
        loop {
            let piping = self
                .engine
                .persist
                .child
                .as_ref()
                .and_then(|c| c.socket.as_ref())
                .is_some_and(|s| s.pipe.is_some());
            if !piping {
                return;
            }
            let targets = self.repl_diskless_targets();
            if targets.is_empty() {
                zedis_deploy::warning!(
                    "Diskless rdb transfer, last replica dropped, killing fork child."
                );
                return self.rdb_child_kill();
            }
            let busy = targets
                .iter()
                .any(|&ck| self.clients.get(ck).is_some_and(|c| c.output_len() > 0));
            if busy {
                return;
            }
            chunk.resize(PIPE_CHUNK_BYTES, 0);
            let read = {
                let Some(pipe) = self
                    .engine
                    .persist
                    .child
                    .as_mut()
                    .and_then(|c| c.socket.as_mut())
                    .and_then(|s| s.pipe.as_mut())
                else {
                    return;
                };
                pipe.read(&mut chunk)
            };
            match read {
                Ok(0) => {
                    // The child wrote everything (or died): it is reaped by `rdb_child_check`.
                    self.repl_pipe_close();
                    return;
                }
                Ok(n) => {
                    chunk.truncate(n);
                    let frame = Rc::new(Frame::new(std::mem::take(&mut chunk), Component::Clients));
                    for ck in targets {
                        if let Some(client) = self.clients.get_mut(ck) {
                            client.push_shared(&frame);
                        }
                        self.write_client(ck);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    zedis_deploy::warning!("Diskless rdb transfer, read error from the child: {e}");
                    self.repl_pipe_close();
                    return;
                }
            }
        }
    }

    /// The diskless child was reaped (its pipe read to the end) with wait `status`.
    pub fn repl_diskless_child_done(&mut self, status: i32, offset: u64) {
        let ok = if libc::WIFSIGNALED(status) {
            zedis_deploy::warning!(
                "Background transfer terminated by signal {}",
                libc::WTERMSIG(status)
            );
            false
        } else if libc::WEXITSTATUS(status) != 0 {
            zedis_deploy::warning!("Background transfer error");
            false
        } else {
            zedis_deploy::notice!("Background RDB transfer terminated with success");
            true
        };
        if !ok {
            self.repl_diskless_transfer_failed();
            return self.repl_start_pending_fork(cached_ms());
        }
        let now = cached_ms();
        for ck in self.repl_diskless_targets() {
            if let Some(client) = self.clients.get_mut(ck) {
                zedis_deploy::notice!(
                    "Streamed RDB transfer with replica {} succeeded (socket). Waiting for REPLCONF ACK from replica to enable streaming",
                    client.addr
                );
                if let Some(link) = client.replica.as_mut() {
                    link.waiting_bgsave = false;
                    link.diskless = false;
                    link.stream_on_ack = Some(offset);
                    link.ack_ms = now;
                }
            }
        }
        self.repl_start_pending_fork(now);
    }

    /// The first `REPLCONF ACK` of replica `ck` after its diskless payload: the stream held since the fork
    /// goes out and the replica is online.
    pub(super) fn repl_start_stream_on_ack(&mut self, ck: usize) {
        let waiting = self
            .clients
            .get_mut(ck)
            .and_then(|c| c.replica.as_mut())
            .and_then(|l| l.stream_on_ack.take());
        if waiting.is_none() {
            return;
        }
        let tail = self.repl_take_held(ck);
        if let Some(client) = self.clients.get_mut(ck) {
            if !tail.is_empty() {
                client.push_shared(&Rc::new(Frame::new(tail, Component::Clients)));
            }
            if let Some(link) = client.replica.as_mut() {
                link.online = true;
            }
        }
        self.queue_write(ck);
    }

    /// The diskless child failed or was stopped: its replicas are dropped (they sync again).
    pub fn repl_diskless_transfer_failed(&mut self) {
        let targets = self.repl_diskless_targets();
        if !targets.is_empty() {
            zedis_deploy::warning!("SYNC failed. BGSAVE child returned an error");
        }
        self.net.closing.extend(targets);
    }

    /// Forks for the replicas waiting for one when it is time (see the module docs); `now_ms` is the
    /// clock the diskless delay is measured with.
    pub fn repl_start_pending_fork(&mut self, now_ms: i64) {
        self.repl_start_fork(now_ms, false);
    }

    /// As [`Core::repl_start_pending_fork`]; `force` skips the diskless delay (a replica that cannot or
    /// need not wait for it arrived).
    pub(super) fn repl_start_fork(&mut self, now_ms: i64, force: bool) {
        if self.engine.persist.child.is_some() {
            return;
        }
        let waiting = self.repl_replicas_where(|l| l.wait_bgsave_start);
        if waiting.is_empty() {
            return;
        }
        let diskless_on = self.config.flag("repl-diskless-sync");
        if diskless_on && !force {
            let longest_ms = waiting
                .iter()
                .filter_map(|&ck| self.clients.get(ck)?.replica.as_ref())
                .map(|l| now_ms - l.wait_start_ms)
                .max()
                .unwrap_or(0);
            let delay_s = self.config.int("repl-diskless-sync-delay");
            let max_replicas = self.config.int("repl-diskless-sync-max-replicas");
            let enough = max_replicas > 0 && waiting.len() as i64 >= max_replicas;
            if longest_ms / 1000 < delay_s && !enough {
                return;
            }
        }
        let all_eof = waiting.iter().all(|&ck| {
            self.clients
                .get(ck)
                .and_then(|c| c.replica.as_ref())
                .is_some_and(|l| l.capa_eof)
        });
        let socket = diskless_on && all_eof;
        // The RDB must hold exactly the stream up to the fork offset.
        self.repl_flush();
        zedis_deploy::notice!(
            "Starting BGSAVE for SYNC with target: {}",
            if socket { "replicas sockets" } else { "disk" }
        );
        let mark = socket.then(|| {
            let mut mark = [0u8; 40];
            mark.copy_from_slice(super::new_replid().as_bytes());
            mark
        });
        if self.rdb_fork_to(mark).is_err() {
            if socket {
                zedis_deploy::warning!("BGSAVE for replication failed");
                self.net.closing.extend(waiting);
            } else {
                self.repl_sync_in_memory(&waiting);
            }
            return;
        }
        let offset = self
            .engine
            .persist
            .child
            .as_ref()
            .map_or(self.engine.repl.master_repl_offset, |c| c.offset);
        for ck in waiting {
            self.repl_setup_full_resync(ck, offset, socket);
        }
    }

    /// Replica `ck` is served the RDB forked at `offset`: `+FULLRESYNC` (PSYNC only), then it waits for
    /// the child's end (`bgsave.rs`, or this file's pipe with `diskless`).
    pub(super) fn repl_setup_full_resync(&mut self, ck: usize, offset: u64, diskless: bool) {
        let replid = self.engine.repl.replid.clone();
        let Some(client) = self.clients.get_mut(ck) else {
            return;
        };
        let Some(link) = client.replica.as_mut() else {
            return;
        };
        link.wait_bgsave_start = false;
        link.waiting_bgsave = true;
        link.online = false;
        link.diskless = diskless;
        if !link.pre_psync {
            let line = format!("+FULLRESYNC {replid} {offset}\r\n").into_bytes();
            client.push_shared(&Rc::new(Frame::new(line, Component::Clients)));
            self.queue_write(ck);
        }
    }

    /// When fork fails: each replica's RDB made in memory at once, sent with `+FULLRESYNC` at the current
    /// offset; the replicas are online at once.
    pub(super) fn repl_sync_in_memory(&mut self, cks: &[usize]) {
        let rdb = match self.repl_rdb_now() {
            Ok(rdb) => rdb,
            Err(e) => {
                zedis_deploy::warning!("Can't produce the RDB for a replica: {e}");
                self.net.closing.extend(cks.iter().copied());
                return;
            }
        };
        // The new replicas' stream starts with a SELECT, as Redis's `slaveseldb = -1`.
        self.engine.repl.stream_db = None;
        let offset = self.engine.repl.master_repl_offset;
        let replid = self.engine.repl.replid.clone();
        let now = crate::server::unix_ms();
        for &ck in cks {
            let Some(client) = self.clients.get_mut(ck) else {
                continue;
            };
            let Some(link) = client.replica.as_mut() else {
                continue;
            };
            let mut payload = Vec::new();
            if !link.pre_psync {
                payload.extend_from_slice(format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes());
            }
            payload.extend_from_slice(format!("${}\r\n", rdb.len()).as_bytes());
            payload.extend_from_slice(&rdb);
            link.wait_bgsave_start = false;
            link.online = true;
            link.ack_ms = now;
            let frame = Rc::new(Frame::new(payload, Component::Clients));
            link.rdb_frame = Some(Rc::downgrade(&frame));
            client.push_shared(&frame);
            self.queue_write(ck);
        }
    }
}
