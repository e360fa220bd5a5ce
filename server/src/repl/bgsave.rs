//! The RDB of a full resync, made by the forked RDB child (`crate::persist::child`, the same child BGSAVE and
//! the save points use) so the event loop keeps serving while it is written.
//!
//! When the child is forked (`diskless.rs` decides when) a replica needing a full resync gets `+FULLRESYNC
//! <replid> <offset>` with the offset at which the child was forked (a replica arriving while a disk child
//! forked for replication runs shares it and its offset). The replica then waits (`state=wait_bgsave`, kept alive with a newline a second, as Redis does) and receives no stream.
//! When the child exits, its file is read and sent as `$<len>` and the payload, followed by the stream
//! written since the fork offset (held for each waiting replica, bounded by the `replica` output limit, as
//! Redis accumulates it in the replica's output buffer); the replica is then online. If the fork fails, the RDB is made in memory at once
//! (`diskless.rs`'s `repl_sync_in_memory`).

use super::rdb::ReplAux;
use crate::client::Frame;
use crate::server::{cached_ms, unix_ms, Core};
use crate::Strategy;
use std::rc::Rc;
use zedis_budget::Component;
use zedis_client_pool::ClientSlots;

impl<S: Strategy> Core<S> {
    /// Whether a replica waits for the RDB child.
    pub fn repl_any_waiting_bgsave(&self) -> bool {
        self.engine.repl.replicas.iter().any(|&ck| {
            self.clients
                .get(ck)
                .and_then(|c| c.replica.as_ref())
                .is_some_and(|l| l.waiting_bgsave)
        })
    }

    /// The RDB child exited: its file (`None` when it failed) goes to the replicas waiting for it.
    pub fn repl_bgsave_done(&mut self, rdb: Option<Vec<u8>>) {
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
                    .is_some_and(|l| l.waiting_bgsave && !l.diskless)
            })
            .collect();
        if waiting.is_empty() {
            return;
        }
        let Some(rdb) = rdb else {
            zedis_deploy::warning!("SYNC failed. BGSAVE child returned an error");
            self.net.closing.extend(waiting);
            return;
        };
        let mut payload = format!("${}\r\n", rdb.len()).into_bytes();
        payload.extend_from_slice(&rdb);
        drop(rdb);
        let frame = Rc::new(Frame::new(payload, Component::Clients));
        let now = cached_ms();
        for ck in waiting {
            let held = self.repl_take_held(ck);
            if let Some(client) = self.clients.get_mut(ck) {
                client.push_shared(&frame);
                if !held.is_empty() {
                    client.push_shared(&Rc::new(Frame::new(held, Component::Clients)));
                }
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

    /// Once a second: a newline to each replica waiting for a fork or for its RDB file, so that it does
    /// not time out (never to one receiving a diskless payload: it would corrupt it).
    pub fn repl_bgsave_keepalive(&mut self) {
        for ck in self.engine.repl.replicas.clone() {
            let waiting = self
                .clients
                .get(ck)
                .and_then(|c| c.replica.as_ref())
                .is_some_and(|l| l.wait_bgsave_start || (l.waiting_bgsave && !l.diskless));
            if waiting {
                self.reply(ck, |out, _| out.push(b'\n'));
                self.queue_write(ck);
            }
        }
    }

    /// The RDB made in memory at once (when fork is not possible).
    pub fn repl_rdb_now(&self) -> Result<Vec<u8>, String> {
        let now = unix_ms();
        let snapshot = self.rdb_snapshot(now);
        crate::persist::child::write_rdb(&self.engine.ks, Vec::new(), &snapshot, now)
            .map_err(|e| e.to_string())
    }

    /// The replication AUX fields of an RDB made now: the database our stream continues in (our master
    /// client's on a replica), our id and offset.
    pub fn repl_rdb_aux(&self) -> ReplAux {
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
